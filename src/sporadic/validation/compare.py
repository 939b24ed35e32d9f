"""Two timelines held against each other: the first divergence, or agreement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sporadic.validation.timeline import (
    CPU_TOLERANCE_NS,
    SWITCH_TOLERANCE_NS,
    Timeline,
)

CONTEXT = 3  # intervals shown on each side of a divergence


@dataclass
class Comparison:
    agree: bool
    divergence: str | None = None
    index: int | None = None  # the first interval that differs
    cpu: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (real, simulated)
    worst_switch_ns: int = 0
    intervals: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "agree": self.agree,
            "divergence": self.divergence,
            "first_differing_interval": self.index,
            "intervals": self.intervals,
            "worst_switch_difference_ns": self.worst_switch_ns,
            "cpu_ns": {n: {"real": r, "simulated": s} for n, (r, s) in self.cpu.items()},
            "tolerance_ns": {"switch": SWITCH_TOLERANCE_NS, "cpu": CPU_TOLERANCE_NS},
        }


def compare(real: Timeline, sim: Timeline) -> Comparison:
    """Same threads in the same order, switches and marks within tolerance, CPU per thread
    within tolerance; the first thing that is not is the divergence."""
    names = sorted(set(real.cpu()) | set(sim.cpu()))
    rcpu, scpu = real.cpu(), sim.cpu()
    result = Comparison(True, cpu={n: (rcpu.get(n, 0), scpu.get(n, 0)) for n in names})
    result.intervals = max(len(real.intervals), len(sim.intervals))
    for i in range(result.intervals):
        r = real.intervals[i] if i < len(real.intervals) else None
        s = sim.intervals[i] if i < len(sim.intervals) else None
        if r is None or s is None or r[0] != s[0]:
            return _diverged(result, i, f"interval {i}: real {_show(r)}, simulated {_show(s)}")
        worst = max(abs(r[1] - s[1]), abs(r[2] - s[2]))
        result.worst_switch_ns = max(result.worst_switch_ns, worst)
        if worst > SWITCH_TOLERANCE_NS:
            return _diverged(
                result,
                i,
                f"interval {i}: real {_show(r)}, simulated {_show(s)}: "
                f"{worst} ns apart (tolerance {SWITCH_TOLERANCE_NS} ns)",
            )
    for name, (r_ns, s_ns) in result.cpu.items():
        if abs(r_ns - s_ns) > CPU_TOLERANCE_NS:
            return _diverged(
                result,
                None,
                f"CPU time of {name}: real {r_ns} ns, simulated {s_ns} ns "
                f"(tolerance {CPU_TOLERANCE_NS} ns)",
            )
    if [(n, lbl) for n, lbl, _ in real.marks] != [(n, lbl) for n, lbl, _ in sim.marks]:
        return _diverged(
            result,
            None,
            f"marks differ: real {len(real.marks)}, simulated "
            f"{len(sim.marks)}: {_first_mark_difference(real, sim)}",
        )
    for (n, lbl, rt), (_, _, st) in zip(real.marks, sim.marks, strict=True):
        if abs(rt - st) > SWITCH_TOLERANCE_NS:
            return _diverged(result, None, f"mark {lbl} of {n}: real {rt} ns, simulated {st} ns")
    return result


def _first_mark_difference(real: Timeline, sim: Timeline) -> str:
    for i, (r, s) in enumerate(zip(real.marks, sim.marks, strict=False)):
        if r[:2] != s[:2]:
            return f"mark {i}: real {r}, simulated {s}"
    i = min(len(real.marks), len(sim.marks))
    extra = real.marks[i:] or sim.marks[i:]
    return f"from mark {i} only one side has {extra[:3]}"


def _diverged(result: Comparison, index: int | None, what: str) -> Comparison:
    result.agree = False
    result.index = index
    result.divergence = what
    return result


def _show(iv: tuple[str, int, int] | None) -> str:
    return "nothing" if iv is None else f"{iv[0]} {iv[1] / 1000:.3f}-{iv[2] / 1000:.3f} us"


def context(real: Timeline, sim: Timeline, index: int | None) -> list[str]:
    """Both timelines side by side around interval ``index`` (the start when None)."""
    i = index or 0
    lo, hi = max(0, i - CONTEXT), i + CONTEXT + 1
    lines = [f"{'':>4}  {'real':<34}{'simulated':<34}"]
    for k in range(lo, min(hi, max(len(real.intervals), len(sim.intervals)))):
        r = real.intervals[k] if k < len(real.intervals) else None
        s = sim.intervals[k] if k < len(sim.intervals) else None
        mark = ">>" if k == index else "  "
        lines.append(f"{mark}{k:>3}  {_show(r):<34}{_show(s):<34}")
    return lines
