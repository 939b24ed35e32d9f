"""The busy-window recurrence of fixed-priority response-time analysis, in its general form.

``w = C + B + O + sum over interferers of demand(w)``, iterated from ``C + B + O`` to its least
fixed point (Joseph and Pandya 1986; Audsley, Burns, Richardson, Tindell and Wellings 1993):
``B`` is blocking (the longest stretch a lower-priority task can hold the processor at or above
this priority: here a protected call into a passive server, priority-ceiling style), ``O`` a
one-shot load (Microkit ``init`` handlers, which run once at boot), and each interferer's demand
in a window ``w`` is the least of what its jobs can ask, ``ceil((w + J) / T) x C`` with release
jitter ``J`` (Tindell and Clark 1994), and what its scheduling context lets it take,
``ceil(w / P) x B`` for a budget ``B`` every ``P``. Exact integers, no floats.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Interferer", "Job", "busy_window", "response_time"]


@dataclass(frozen=True)
class Job:
    """A stream of jobs: at most one every ``period``, released up to ``jitter`` late."""

    wcet: int
    period: int
    jitter: int = 0

    def demand(self, window: int) -> int:
        """The most these jobs can execute in ``window`` (carry-in through jitter)."""
        return -(-(window + self.jitter) // self.period) * self.wcet


@dataclass(frozen=True)
class Interferer:
    """Everything one scheduling context runs above a task: its job streams and, when the SC
    throttles, its budget. ``jobs_bound``: whether the jobs' demand bounds it at all (not when
    the SC can fall behind its releases: then only the budget does)."""

    jobs: tuple[Job, ...]
    budget: tuple[int, int] | None = None  # (budget, period): at most budget in any window
    jobs_bound: bool = True

    def demand(self, window: int) -> int:
        """The most this SC's thread can execute in ``window``."""
        by_jobs = sum(j.demand(window) for j in self.jobs) if self.jobs_bound else None
        if self.budget is None:
            if by_jobs is None:
                raise ValueError("an interferer needs its jobs or a budget to bound it")
            return by_jobs
        budget, period = self.budget
        by_budget = -(-window // period) * budget
        return by_budget if by_jobs is None else min(by_jobs, by_budget)


def busy_window(wcet: int, base: int, interferers: list[Interferer], limit: int) -> int | None:
    """The least ``w = wcet + base + sum demand(w)``, or None when it exceeds ``limit``."""
    w = wcet + base
    while w <= limit:
        nxt = wcet + base + sum(i.demand(w) for i in interferers)
        if nxt == w:
            return w
        w = nxt
    return None


MAX_JOBS = 10_000  # jobs of one busy period before the analysis gives up


def response_time(
    wcet: int,
    base: int,
    interferers: list[Interferer],
    period: int,
    deadline: int,
    jitter: int = 0,
    single: bool = False,
) -> int | None:
    """The worst response time over the jobs of a level-i busy period (Lehoczky 1990, with
    Tindell's release jitter), measured from each job's actual release; None when a job can
    miss ``deadline``, or when ``single`` and a job can still run at the next release.

    Job ``q`` is released at ``q x period - jitter`` at the earliest (job 0 at 0, after the
    largest jitter) and completes by ``w_q``, the least fixed point of ``(q + 1) x wcet + base
    + demand``; the busy period ends with the first job done before the next release.
    """
    worst = 0
    for q in range(MAX_JOBS):
        release = 0 if q == 0 else q * period - jitter
        w = busy_window((q + 1) * wcet, base, interferers, release + deadline)
        if w is None:
            return None
        worst = max(worst, w - release)
        if w <= (q + 1) * period - jitter:
            return worst
        if single:
            return None
    return None
