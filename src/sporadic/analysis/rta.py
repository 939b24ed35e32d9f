"""Response-time analysis for fixed-priority preemptive scheduling (Joseph and Pandya; Audsley
et al.): the reference the simulator is checked against.

``R = C + sum over higher-priority j of I_j(R)``, iterated to a fixed point, with the classic
``I_j(R) = ceil(R / T_j) * C_j``. A task whose scheduling context throttles it (budget ``B_j``
below period ``P_j``, constant bandwidth: at most ``B_j`` in any window of ``P_j``) interferes at
most ``ceil(R / P_j) * B_j``, so ``I_j`` is the smaller of the two: this is what budgets buy the
tasks below. Exact integers, no floats. Priorities must be distinct.
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
    budget: int | None = None  # the SC's budget and period, when it throttles the task
    budget_period: int | None = None

    def interference(self, window: int) -> int:
        """The most CPU this task can take from lower priorities in ``window``."""
        jobs = -(-window // self.period) * self.wcet
        if self.budget is None or self.budget_period is None:
            return jobs
        return min(jobs, -(-window // self.budget_period) * self.budget)


def response_times(tasks: list[Task]) -> dict[str, int | None]:
    """Worst-case response time of each task, or None where it exceeds the deadline."""
    prios = [t.priority for t in tasks]
    if len(set(prios)) != len(prios):
        raise ValueError("response-time analysis needs distinct priorities")
    out: dict[str, int | None] = {}
    for task in tasks:
        higher = [h for h in tasks if h.priority > task.priority]
        r = task.wcet + sum(h.interference(1) for h in higher)
        while True:
            nxt = task.wcet + sum(h.interference(r) for h in higher)
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
