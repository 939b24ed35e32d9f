"""Synthetic task sets as ordinary TOML descriptions, for schedulability experiments.

``generate(tasks, utilisation, ...)`` draws a set and returns the text of a description that
``sporadic run`` and ``sporadic check`` read like any other: one partition per task, released
periodically from t = 0 (synchronous release, the critical instant of fixed-priority
scheduling), running a fixed compute time equal to its WCET (the worst case, every job), with
deadline-monotonic priorities (rate-monotonic for implicit deadlines) and an MCS budget of
``WCET x budget_margin + budget_headroom`` per period (capped at the period: round robin).

Why the headroom (MIN_BUDGET, 20 us, by default) and the sporadic flag (on by default): the
kernel throttles an SC whose head refill falls below MIN_BUDGET at any kernel entry, so a
budget of exactly the WCET cuts a job that an interrupt finds near its end; and without the
flag (constant bandwidth, seL4's default) refills return a period after each switch-in, so
jobs that start late drift (docs/mcs-semantics.md section 2.7). With both, a set behaves as
response-time analysis assumes; ``budget_headroom=0`` or ``sporadic=False`` show the kernel's
effects instead (``analysis/bounds.py`` says which sets it can still vouch for).

In order: periods (log-uniform over ``[min, max + granularity)`` and rounded down to the
granularity, as Emberson, Stafford and Davis propose, WATERS 2010; or harmonic, ``min x 2^k``),
then utilisations (``utilisations.py``), then WCETs ``round(u x T)`` in ns, deadlines and
budgets. The kernel cannot enforce a budget below MIN_BUDGET (20 us): a WCET below it is
clamped up to it, which raises that task's utilisation above what was drawn; the header
comment of the description gives the realised total. The ``cfs`` generator avoids the clamp
where it can by drawing each utilisation above ``MIN_BUDGET / T``.

Everything comes from one ``numpy.random.Generator`` seeded with ``seed``: the same arguments
give the same text, byte for byte.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from sporadic.units import MIN_BUDGET, format_duration, parse_duration

if TYPE_CHECKING:  # numpy is imported when a set is drawn, not when the CLI starts
    import numpy as np

GENERATORS = ("uunifast-discard", "randfixedsum", "cfs")
DEADLINES = ("implicit", "constrained")
TOP_PRIORITY = 254
Duration = int | str


@dataclass(frozen=True)
class GeneratedTask:
    """One task of a generated set; times in ns."""

    name: str
    period: int
    wcet: int
    deadline: int
    priority: int
    budget: int
    sporadic: bool = True


def ns(value: Duration) -> int:
    """A duration given as ns (int) or as a string with a unit ("1ms")."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got {value!r}")
    return value if isinstance(value, int) else parse_duration(value)


def draw_periods(
    rng: np.random.Generator, n: int, lo: int, hi: int, granularity: int, harmonic: bool
) -> list[int]:
    """Log-uniform periods rounded down to ``granularity``, or harmonic ``lo x 2^k <= hi``."""
    if harmonic:
        top = int(math.floor(math.log2(hi / lo) + 1e-12))
        return [lo << int(k) for k in rng.integers(0, top + 1, size=n)]
    logs = rng.uniform(math.log(lo), math.log(hi + granularity), size=n)
    return [min(hi, max(lo, int(math.exp(x)) // granularity * granularity)) for x in logs]


def draw_utilisations(
    rng: np.random.Generator,
    generator: str,
    total: float,
    periods: list[int],
    bounds: tuple[float, float],
) -> np.ndarray:
    """One utilisation per task summing to ``total``, each within ``bounds`` (and at most 1)."""
    from sporadic.experiments import utilisations as utils

    n = len(periods)
    lo, hi = bounds[0], min(bounds[1], 1.0)
    if generator == "uunifast-discard":
        return utils.uunifast_discard(rng, n, total, [lo] * n, [hi] * n)
    if generator == "randfixedsum":
        return utils.randfixedsum(rng, n, total, lo, hi)
    floors = [max(lo, MIN_BUDGET / t) for t in periods]
    if sum(floors) >= total:  # MIN_BUDGET does not fit every task: draw freely, then clamp
        floors = [lo] * n
    return utils.cfs(rng, n, total, floors, [hi] * n)


def _scaled_up(value: int, margin: float) -> int:
    """``ceil(value x margin)``, exactly for a decimal margin."""
    return int((Decimal(value) * Decimal(str(margin))).to_integral_value(ROUND_CEILING))


def task_set(
    tasks: int,
    utilisation: float,
    generator: str = "uunifast-discard",
    periods: tuple[Duration, Duration] = ("1ms", "100ms"),
    harmonic: bool = False,
    deadlines: str = "implicit",
    budget_margin: float = 1.0,
    granularity: Duration | None = None,
    seed: int = 0,
    bounds: tuple[float, float] = (0.0, 1.0),
    budget_headroom: Duration = MIN_BUDGET,
    sporadic: bool = True,
) -> list[GeneratedTask]:
    """The tasks ``generate`` writes, highest priority first (see the module docstring).

    ``granularity`` defaults to 1 ms, or the shortest period when that is shorter.
    ``bounds``: the least and largest utilisation of one task. ``budget_headroom`` and
    ``sporadic``: see ``generate``.
    """
    if generator not in GENERATORS:
        raise ValueError(f"generator {generator!r}: one of {', '.join(GENERATORS)}")
    if deadlines not in DEADLINES:
        raise ValueError(f"deadlines {deadlines!r}: one of {', '.join(DEADLINES)}")
    if not 1 <= tasks <= TOP_PRIORITY + 1:
        raise ValueError(f"tasks: 1..{TOP_PRIORITY + 1} (one priority each), got {tasks}")
    if not 0 < utilisation <= tasks * min(bounds[1], 1.0):
        raise ValueError(f"utilisation {utilisation} is not in (0, {tasks} x the upper bound]")
    if budget_margin <= 0:
        raise ValueError(f"budget_margin must be > 0, got {budget_margin}")
    lo, hi = ns(periods[0]), ns(periods[1])
    grain = ns(granularity) if granularity is not None else min(1_000_000, lo)
    if not MIN_BUDGET <= lo <= hi or grain <= 0 or lo % grain:
        raise ValueError(
            f"periods ({lo}, {hi}) ns: need MIN_BUDGET {MIN_BUDGET} <= min <= max, and min a "
            f"multiple of the granularity {grain} ns"
        )
    headroom = ns(budget_headroom)
    if headroom < 0:
        raise ValueError(f"budget_headroom must be >= 0, got {headroom} ns")
    import numpy as np

    rng = np.random.default_rng(seed)
    period = draw_periods(rng, tasks, lo, hi, grain, harmonic)
    util = draw_utilisations(rng, generator, utilisation, period, bounds)
    wcet = [max(MIN_BUDGET, min(t, int(round(u * t)))) for u, t in zip(util, period, strict=True)]
    if deadlines == "implicit":
        deadline = list(period)
    else:  # uniform in [C, T] (Davis and Burns' constrained-deadline experiments)
        spread = zip(wcet, period, rng.random(tasks), strict=True)
        deadline = [c + int(r * (t - c)) for c, t, r in spread]
    order = sorted(range(tasks), key=lambda i: (deadline[i], period[i], i))
    width = len(str(tasks - 1))
    out = []
    for rank, i in enumerate(order):
        budget = _scaled_up(wcet[i], budget_margin) + headroom
        budget = min(period[i], max(MIN_BUDGET, budget))
        out.append(
            GeneratedTask(
                f"t{i:0{width}d}",
                period[i],
                wcet[i],
                deadline[i],
                TOP_PRIORITY - rank,
                budget,
                sporadic,
            )
        )
    return out


def hyperperiod(tasks: Sequence[GeneratedTask]) -> int:
    """The least common multiple of the periods, in ns."""
    return math.lcm(*(t.period for t in tasks))


_HYPER = re.compile(r"^\s*(?:(\d+)\s*(?:x|\*)?\s*)?hyperperiods?\s*$")


def set_duration(spec: Duration, tasks: Sequence[GeneratedTask], cap: Duration | None) -> int:
    """How long to simulate a set: a duration, or ``"hyperperiod"`` / ``"2 hyperperiods"``
    (that many hyperperiods of releases, plus the longest deadline so that the last jobs are
    judged), at most ``cap``."""
    m = _HYPER.match(spec) if isinstance(spec, str) else None
    if m:
        count = int(m.group(1) or 1)
        total = count * hyperperiod(tasks) + max(t.deadline for t in tasks)
    else:
        total = ns(spec)
    return min(total, ns(cap)) if cap is not None else total


def utilisation_of(tasks: Sequence[GeneratedTask]) -> float:
    """The realised total utilisation (after rounding and the MIN_BUDGET clamp)."""
    return float(sum(Fraction(t.wcet, t.period) for t in tasks))


def to_toml(tasks: Sequence[GeneratedTask], name: str, duration: int, seed: int, note: str) -> str:
    """The description of ``tasks``: one partition each, highest priority first."""
    lines = [
        f"# {note}",
        f"# realised utilisation {utilisation_of(tasks):.6f}, "
        f"hyperperiod {format_duration(hyperperiod(tasks))}",
        "",
        "[system]",
        f'name = "{name}"',
        f'duration = "{format_duration(duration)}"',
        f"seed = {seed}",
        "",
        "[kernel]",
        f'min_budget = "{format_duration(MIN_BUDGET)}"',
    ]
    for t in tasks:
        period = format_duration(t.period)
        release = f'period = "{period}"'
        if t.deadline != t.period:
            release += f', deadline = "{format_duration(t.deadline)}"'
        lines += [
            "",
            "[[partition]]",
            f'name = "{t.name}"',
            f"priority = {t.priority}",
            f'budget = "{format_duration(t.budget)}"',
            f'period = "{period}"',
            *([f"sporadic = {'true' if t.sporadic else 'false'}"] if t.budget < t.period else []),
            f"release = {{ {release} }}",
            f'job = {{ compute = "{format_duration(t.wcet)}" }}',
        ]
    return "\n".join(lines) + "\n"


def generate(
    tasks: int,
    utilisation: float,
    generator: str = "uunifast-discard",
    periods: tuple[Duration, Duration] = ("1ms", "100ms"),
    harmonic: bool = False,
    deadlines: str = "implicit",
    budget_margin: float = 1.0,
    granularity: Duration | None = None,
    seed: int = 0,
    bounds: tuple[float, float] = (0.0, 1.0),
    budget_headroom: Duration = MIN_BUDGET,
    sporadic: bool = True,
    duration: Duration = "hyperperiod",
    max_duration: Duration | None = "1s",
    name: str | None = None,
) -> str:
    """A random task set as the text of a TOML description (module docstring; the arguments
    are ``task_set``'s, and ``set_duration``'s for the simulated time)."""
    drawn = task_set(
        tasks,
        utilisation,
        generator,
        periods,
        harmonic,
        deadlines,
        budget_margin,
        granularity,
        seed,
        bounds,
        budget_headroom,
        sporadic,
    )
    note = (
        f"generated by sporadic.experiments: {generator}, {tasks} tasks, U = {utilisation}, "
        f"periods {periods[0]}..{periods[1]}{' harmonic' if harmonic else ''}, "
        f"{deadlines} deadlines, budget margin {budget_margin}, seed {seed}"
    )
    name = name or f"u{utilisation:.2f}-n{tasks}-s{seed}"
    return to_toml(drawn, name, set_duration(duration, drawn, max_duration), seed, note)


__all__ = [
    "DEADLINES",
    "GENERATORS",
    "MIN_BUDGET",
    "GeneratedTask",
    "generate",
    "hyperperiod",
    "set_duration",
    "task_set",
    "utilisation_of",
]
