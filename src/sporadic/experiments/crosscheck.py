"""One task set of a sweep: generate it, analyse it, simulate it, and hold each against the other.

The simulation runs every job at its WCET from a synchronous release, the analysis' own worst
case, so that on a set the analysis calls schedulable no job may miss and no response may
exceed its task's bound: anything else is a *violation*, a bug in one of the two (or a gap in
the analysis' model of the kernel), and the set's description is kept to replay it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sporadic import records as ev
from sporadic.analysis.bounds import task_bounds
from sporadic.description import load_text
from sporadic.experiments.generate import generate, set_duration, task_set, utilisation_of
from sporadic.simulation import Simulation

__all__ = ["SetSpec", "observe", "run_set", "set_name", "set_seed"]


@dataclass(frozen=True)
class SetSpec:
    """Which set of a sweep: its point (task count, utilisation), index and derived seed."""

    tasks: int
    utilisation: float
    index: int
    seed: int


def set_seed(seed: int, tasks: int, utilisation: float, index: int) -> int:
    """A set's seed from the sweep's seed and the set's coordinates, whoever runs it."""
    micro = int(round(utilisation * 1_000_000))
    state = np.random.SeedSequence([seed, tasks, micro, index]).generate_state(2, np.uint32)
    return (int(state[0]) << 31 | int(state[1]) >> 1) & ((1 << 63) - 1)


def set_name(spec: SetSpec) -> str:
    """``u0.80-n10-s3``: the file name of a kept description (``u0.625-...`` when two
    decimals would not tell the utilisation apart)."""
    u = f"{spec.utilisation:.2f}"
    if float(u) != spec.utilisation:
        u = f"{spec.utilisation:g}"
    return f"u{u}-n{spec.tasks}-s{spec.index}"


def observe(records: list[tuple], names: dict[int, str], end: int) -> dict[str, tuple[int, int]]:
    """Each task's (worst response, misses) in the records; a job still open at ``end`` counts
    with the time it has waited so far (its response is at least that).

    The simulation stops before it handles what happens at ``end``, and calls a job due at
    ``end`` and still open a miss; it may well complete at that very instant (at utilisation
    1 the last job of a hyperperiod does), so such a miss is left undecided, not counted."""
    released: dict[tuple[int, int], int] = {}
    worst: dict[str, int] = {}
    misses: dict[str, int] = {}
    for r in records:
        kind = r[0]
        if kind == ev.JOB_RELEASE:
            released[(r[2], r[3])] = r[1]
        elif kind == ev.JOB_END:
            t0 = released.pop((r[2], r[3]), None)
            if t0 is not None:
                name = names[r[2]]
                worst[name] = max(worst.get(name, 0), r[1] - t0)
        elif kind == ev.DEADLINE_MISS and (r[1] < end or r[4] < end):
            misses[names[r[2]]] = misses.get(names[r[2]], 0) + 1
    for (thread, _), t0 in released.items():
        name = names[thread]
        worst[name] = max(worst.get(name, 0), end - t0)
    return {n: (worst.get(n, 0), misses.get(n, 0)) for n in set(worst) | set(misses)}


def run_set(config: Any, spec: SetSpec) -> dict[str, Any]:
    """The row of one set (``sweep.COLUMNS``), plus its ``description`` when it is a violation.

    ``config`` is a ``sweep.SweepConfig``; everything here depends on it and ``spec`` only.
    """
    params = config.generator_args()
    drawn = task_set(spec.tasks, spec.utilisation, seed=spec.seed, **params)
    duration = set_duration(config.duration, drawn, config.max_duration)
    text = generate(
        spec.tasks,
        spec.utilisation,
        seed=spec.seed,
        duration=duration,
        max_duration=None,
        name=set_name(spec),
        **params,
    )
    system = load_text(text, f"{set_name(spec)}.toml")
    verdicts = task_bounds(system)
    schedulable = all(v["schedulable"] is True for v in verdicts.values())
    sim = Simulation(system, None)
    end = sim.run()
    names = {t["id"]: t["name"] for t in sim.built.thread_table()}
    seen = observe(sim.records, names, end)
    misses = sum(m for _, m in seen.values())
    ratios = []
    over = False
    for name, v in verdicts.items():
        bound = v["bound_with_budgets"]
        response = seen.get(name, (0, 0))[0]
        if bound:
            ratios.append(response / bound)
            over = over or response > bound
    violation = schedulable and (misses > 0 or over)
    row: dict[str, Any] = {
        "tasks": spec.tasks,
        "utilisation": spec.utilisation,
        "set": spec.index,
        "seed": spec.seed,
        "actual_utilisation": round(utilisation_of(drawn), 6),
        "duration": duration,
        "rta_schedulable": schedulable,
        "sim_misses": misses,
        "sim_worst_ratio": round(max(ratios), 6) if ratios else None,
        "violation": violation,
    }
    if violation:
        row["description"] = text
    return row
