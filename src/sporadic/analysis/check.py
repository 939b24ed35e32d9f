"""Schedulability of a description's periodic partitions by response-time analysis.

The reference a simulation can be compared with: each partition with a periodic release and a
job whose worst case is known (a compute step: fixed, or the upper bound of its distribution)
becomes a task; priorities must be distinct. Two analyses: the classic one (budgets ignored) and
one where each throttling SC bounds what its partition can take from those below. A partition
whose own budget is below its WCET is flagged: its jobs will be cut by the kernel.

``bounds.task_bounds`` is the fuller analysis (blocking by protected calls, PDs and their
notify chains, any deadlines, and whether each SC can throttle its own jobs); this one is what
``sporadic check`` prints as a table.
"""

from __future__ import annotations

from dataclasses import dataclass

from sporadic.analysis.rta import Task, response_times
from sporadic.analysis.workload import upper_bound
from sporadic.description import Action, System


@dataclass(frozen=True)
class Verdict:
    name: str
    wcet: int | None
    response: int | None  # classic RTA; None: unschedulable, or not analysable (see ``note``)
    with_budgets: int | None = None  # RTA with every throttling SC bounding its interference
    note: str = ""


def wcet(job: tuple[Action, ...]) -> int | None:
    """Worst case of a job made of compute steps; None when it does anything else."""
    total = 0
    for a in job:
        if a.op != "compute":
            return None
        total += upper_bound(a.args["time"])
    return total


def analyse(system: System) -> list[Verdict]:
    periodic = [p for p in system.partitions if p.release is not None]
    known = {p.name: (wcet(p.job) if p.wasm is None else None) for p in periodic}
    prios = [p.priority for p in periodic]
    if len(set(prios)) != len(prios):
        return [Verdict(p.name, known[p.name], None, None, "equal priorities") for p in periodic]
    tasks = [
        Task(p.name, known[p.name], p.release.period, p.release.deadline, p.priority)
        for p in periodic
        if known[p.name] is not None
    ]
    throttled = [
        Task(
            t.name,
            t.wcet,
            t.period,
            t.deadline,
            t.priority,
            *((p.sc.budget, p.sc.period) if p.sc.budget < p.sc.period else (None, None)),
        )
        for t, p in zip(tasks, periodic, strict=False)
    ]
    # Partitions without releases (fault handlers) run when events come; only a throttling SC
    # bounds them, so they enter the budget-aware analysis as a budget per period.
    sporadic_sources = [
        Task(p.name, p.sc.budget, p.sc.period, p.sc.period, p.priority, p.sc.budget, p.sc.period)
        for p in system.partitions
        if p.release is None and p.sc.budget < p.sc.period
    ]
    unbounded = [
        p.name for p in system.partitions if p.release is None and p.sc.budget >= p.sc.period
    ]
    results = response_times(tasks) if len(tasks) == len(periodic) else {}
    all_prios = [t.priority for t in throttled + sporadic_sources]
    bounded = {}
    if results and not unbounded and len(set(all_prios)) == len(all_prios):
        bounded = response_times(throttled + sporadic_sources)
    verdicts = []
    for p in periodic:
        w = known[p.name]
        if w is None:
            verdicts.append(Verdict(p.name, None, None, None, "WCET unknown (script or wasm job)"))
            continue
        if not results:
            verdicts.append(Verdict(p.name, w, None, None, "another task's WCET is unknown"))
            continue
        note = "budget below WCET" if p.sc.budget != p.sc.period and p.sc.budget < w else ""
        if not bounded:
            note = (note + "; " if note else "") + "a handler without a budget is unbounded"
        verdicts.append(Verdict(p.name, w, results[p.name], bounded.get(p.name), note))
    return verdicts
