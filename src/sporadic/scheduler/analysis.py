"""Response-time analysis for fixed-priority preemptive scheduling (Joseph and Pandya; Audsley
et al.): the reference the simulator is checked against.

``R = C + sum over higher-priority j of ceil(R / T_j) * C_j``, iterated to a fixed point. Exact
integers, no floats. Tasks with equal priorities are not handled (RTA assumes distinct ones).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Task", "response_times", "rate_monotonic"]


@dataclass(frozen=True)
class Task:
    name: str
    wcet: int
    period: int
    deadline: int
    priority: int


def response_times(tasks: list[Task]) -> dict[str, int | None]:
    """Worst-case response time of each task, or None where it exceeds the deadline."""
    prios = [t.priority for t in tasks]
    if len(set(prios)) != len(prios):
        raise ValueError("response-time analysis needs distinct priorities")
    out: dict[str, int | None] = {}
    for task in tasks:
        higher = [h for h in tasks if h.priority > task.priority]
        r = task.wcet + sum(h.wcet for h in higher)
        while True:
            nxt = task.wcet + sum(-(-r // h.period) * h.wcet for h in higher)
            if nxt == r or nxt > task.deadline:
                break
            r = nxt
        out[task.name] = r if nxt <= task.deadline else None
    return out


def rate_monotonic(specs: list[tuple[str, int, int]], top: int = 200) -> list[Task]:
    """Tasks ``(name, wcet, period)`` with implicit deadlines and rate-monotonic priorities
    (shorter period, higher priority; ties broken by list order)."""
    order = sorted(range(len(specs)), key=lambda i: (specs[i][2], i))
    prio = {i: top - rank for rank, i in enumerate(order)}
    return [Task(n, c, p, p, prio[i]) for i, (n, c, p) in enumerate(specs)]
