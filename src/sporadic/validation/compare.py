"""Two timelines held against each other: the first divergence, or agreement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sporadic.validation.timeline import (
    CPU_PER_RUN_NS,
    CPU_TOLERANCE_NS,
    SWITCH_TOLERANCE_NS,
    Timeline,
)

CONTEXT = 3  # intervals shown on each side of a divergence


@dataclass
class Comparison:
    """The verdict, the first divergence (and the index of the real interval it is at), CPU per
    thread on both sides, and the largest difference between matched switches."""

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
            "tolerance_ns": {
                "switch": SWITCH_TOLERANCE_NS,
                "cpu": CPU_TOLERANCE_NS,
                "cpu_per_run": CPU_PER_RUN_NS,
            },
        }


def compare(real: Timeline, sim: Timeline) -> Comparison:
    """Each thread runs the same number of times on both sides, each run's start and end within
    tolerance of its counterpart's, CPU per thread within tolerance, the same marks at times
    within tolerance; the earliest thing that is not is the divergence. Matching per thread
    lets two events closer than the tolerance come in either order, as they may when the two
    sides' clocks differ by the harness's offsets (docs/validation.md)."""
    real, sim = real.view(), sim.view()
    names = sorted(set(real.cpu()) | set(sim.cpu()))
    rcpu, scpu = real.cpu(), sim.cpu()
    result = Comparison(True, cpu={n: (rcpu.get(n, 0), scpu.get(n, 0)) for n in names})
    result.intervals = max(len(real.intervals), len(sim.intervals))
    first: tuple[int, int, str] | None = None  # (time, index in the real timeline, what)
    for name in names:
        mine = [(i, iv) for i, iv in enumerate(real.intervals) if iv[0] == name]
        theirs = [(i, iv) for i, iv in enumerate(sim.intervals) if iv[0] == name]
        for k in range(max(len(mine), len(theirs))):
            r = mine[k] if k < len(mine) else None
            s = theirs[k] if k < len(theirs) else None
            if r is None or s is None:
                at, index = (r or s)[1][1], (r or s)[0]
                what = f"run {k} of {name}: real {_show(r and r[1])}, simulated {_show(s and s[1])}"
            else:
                worst = max(abs(r[1][1] - s[1][1]), abs(r[1][2] - s[1][2]))
                result.worst_switch_ns = max(result.worst_switch_ns, worst)
                if worst <= SWITCH_TOLERANCE_NS:
                    continue
                at, index = min(r[1][1], s[1][1]), r[0]
                what = (
                    f"run {k} of {name}: real {_show(r[1])}, simulated {_show(s[1])}: "
                    f"{worst} ns apart (tolerance {SWITCH_TOLERANCE_NS} ns)"
                )
            if first is None or at < first[0]:
                first = (at, index, what)
            break
    if first is not None:
        return _diverged(result, first[1], first[2])
    for name, (r_ns, s_ns) in result.cpu.items():
        runs = sum(1 for iv in real.intervals if iv[0] == name)
        tolerance = CPU_TOLERANCE_NS + CPU_PER_RUN_NS * runs
        if abs(r_ns - s_ns) > tolerance:
            return _diverged(
                result,
                None,
                f"CPU time of {name}: real {r_ns} ns, simulated {s_ns} ns "
                f"(tolerance {tolerance} ns over {runs} runs)",
            )
    return _compare_marks(result, real, sim)


def _compare_marks(result: Comparison, real: Timeline, sim: Timeline) -> Comparison:
    for name in sorted({m[0] for m in real.marks} | {m[0] for m in sim.marks}):
        mine = [m for m in real.marks if m[0] == name]
        theirs = [m for m in sim.marks if m[0] == name]
        for k in range(max(len(mine), len(theirs))):
            r = mine[k] if k < len(mine) else None
            s = theirs[k] if k < len(theirs) else None
            if r is None or s is None or r[1] != s[1]:
                return _diverged(result, None, f"mark {k} of {name}: real {r}, simulated {s}")
            if abs(r[2] - s[2]) > SWITCH_TOLERANCE_NS:
                return _diverged(
                    result,
                    None,
                    f"mark {k} of {name} ({r[1]}): real {r[2]} ns, simulated {s[2]} ns",
                )
    return result


def _diverged(result: Comparison, index: int | None, what: str) -> Comparison:
    result.agree = False
    result.index = index
    result.divergence = what
    return result


def _show(iv: tuple[str, int, int] | None) -> str:
    return "nothing" if iv is None else f"{iv[0]} {iv[1] / 1000:.3f}-{iv[2] / 1000:.3f} us"


def context(real: Timeline, sim: Timeline, index: int | None) -> list[str]:
    """Both timelines side by side around interval ``index`` (the start when None)."""
    real, sim = real.view(), sim.view()
    i = index or 0
    lo, hi = max(0, i - CONTEXT), i + CONTEXT + 1
    lines = [f"{'':>4}  {'real':<34}simulated"]
    for k in range(lo, min(hi, max(len(real.intervals), len(sim.intervals)))):
        r = real.intervals[k] if k < len(real.intervals) else None
        s = sim.intervals[k] if k < len(sim.intervals) else None
        mark = ">>" if k == index else "  "
        lines.append(f"{mark}{k:>3}  {_show(r):<34}{_show(s)}")
    return lines
