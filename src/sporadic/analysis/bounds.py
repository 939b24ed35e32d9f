"""Per-task response-time bounds of a description, and whether each task is schedulable.

``task_bounds(system)`` answers, for each periodic partition and each interrupt-driven (or
notify-driven) protection domain, in ns:

- ``wcet``: its job's (handler's) worst case, protected calls into servers included;
- ``bound``: the classic response-time bound (budgets ignored, as if every SC were round
  robin), with blocking from protected calls, release jitter along notify chains and Microkit
  ``init`` handlers as a one-shot load; None when above the deadline (or unknown);
- ``bound_with_budgets``: the bound when the SCs are taken into account: an SC that can fall
  behind its releases interferes by its budget alone (at most ``budget`` in any window of its
  ``period``), and the task's own SC must never throttle its jobs; None otherwise;
- ``schedulable``: True when ``bound_with_budgets`` meets the deadline, False when the analysis
  cannot show it, None when it cannot tell (unknown WCET, threads above, kernel costs...);
- ``note``: why a value is None, or what the analysis leaves out.

Assumptions, all safe for the bounds: releases are synchronous (offsets ignored; the
synchronous release is the critical instant) and kernel costs zero. Deadlines may be shorter or
longer than periods: every job of the busy period is checked (``response_time``), except for a
PD's handler and, with budgets, a throttling SC, which must finish each job before the next
release (a PD's notifications coalesce; the budget argument below is per job). A PD without a
deadline is checked against its period.

When an SC cannot throttle its own jobs (docs/mcs-semantics.md section 2): a round-robin SC
(budget = period) never does. A throttling one needs its period at most the release period and
``budget >= WCET + MIN_BUDGET`` (the kernel throttles an SC whose head refill falls below
MIN_BUDGET at any kernel entry, even with work left that would fit). With the sporadic flag set
that is enough: refills return one period after the release. In constant-bandwidth mode (flag
clear, seL4's default) refills return one period after each switch-in, so a job that starts
late delays the next one; the used budget is back for the next job when
``budget >= bound + WCET`` (the tail refill is then merged in when that job starts).

Blocking: a passive server runs at its own priority on its caller's SC. A lower-priority task's
protected call into a server whose priority is at or above the task's can hold the processor for
the server's longest handler, at most once per job (the immediate priority ceiling protocol's
argument: once the task is ready, no lower one starts a new call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sporadic.analysis.fixed_priority import Interferer, Job, response_time
from sporadic.analysis.workload import Task, Workload, workload
from sporadic.description import SCParams, System

__all__ = ["KERNEL_COSTS", "task_bounds"]

KERNEL_COSTS = (
    "entry_cost",
    "irq_latency",
    "idle_irq_latency",
    "syscall_latency",
    "fastpath_cost",
    "timer_precision",
)
CBS = "constant-bandwidth"


@dataclass(frozen=True)
class _Result:
    bound: int | None
    unknown: bool = False  # None because something is not known, not because it misses
    note: str = ""


def _unknown(note: str) -> _Result:
    return _Result(None, True, note)


class _Pass:
    """One analysis of every task: classic (``budgets`` False) or with the SCs."""

    def __init__(self, wl: Workload, min_budget: int, budgets: bool) -> None:
        self.wl = wl
        self.tasks = wl.tasks
        self.min_budget = min_budget
        self.budgets = budgets
        self.owners: dict[str, list[int]] = {}
        self.sc: dict[str, SCParams] = {}
        for i, t in enumerate(self.tasks):
            self.owners.setdefault(t.name, []).append(i)
            self.sc[t.name] = t.sc
        self.rounds = 4 * len(self.tasks) + 8

    def run(self) -> list[_Result]:
        """Iterate the jitter of notified tasks (holistic analysis) to a fixed point."""
        jitter: list[int | None] = [0] * len(self.tasks)
        for _ in range(self.rounds):
            results = self.round(jitter)
            new = [self.jitter(t, jitter, results) for t in self.tasks]
            if new == jitter:
                return results
            jitter = new
        return [_unknown("a cycle of notifies: the jitter does not settle")] * len(self.tasks)

    def jitter(self, t: Task, jitter: list[int | None], results: list[_Result]) -> int | None:
        """A notified task's release jitter: its notifier's latest notify (own jitter plus
        response) less its earliest (the best case up to the notify)."""
        if t.source is None:
            return 0
        before, bound = jitter[t.source], results[t.source].bound
        if before is None or bound is None:
            return None
        return max(0, before + bound - t.source_best)

    def round(self, jitter: list[int | None]) -> list[_Result]:
        results: list[_Result | None] = [None] * len(self.tasks)
        for i in sorted(range(len(self.tasks)), key=lambda i: -self.tasks[i].priority):
            results[i] = self.respond(i, jitter, results)
        return results  # type: ignore[return-value]

    def respond(self, i: int, jitter: list[int | None], done: list[_Result | None]) -> _Result:
        t = self.tasks[i]
        if self.wl.problems:
            return _unknown("; ".join(self.wl.problems))
        if t.wcet is None:
            return _unknown(f"WCET unknown: {t.why}")
        if jitter[i] is None:
            notifier = self.tasks[t.source].name if t.source is not None else "?"
            return _unknown(f"{notifier}, which notifies it, has no bound")
        if self.wl.thread_priority >= t.priority:
            return _unknown("a [[thread]] at or above its priority is not analysed")
        base = self.blocking(t)
        if isinstance(base, _Result):
            return base
        interferers = self.interferers(i, jitter, done)
        if isinstance(interferers, _Result):
            return interferers
        # one job at a time: a PD's events coalesce, and a throttling SC's argument is per job
        single = t.pd or (self.budgets and t.sc.budget < t.sc.period)
        deadline = t.period if t.deadline is None else t.deadline
        w = response_time(t.wcet, base, interferers, t.period, deadline, jitter[i], single)
        if w is None:
            why = " (or before its next release)" if single else ""
            return _Result(None, False, f"misses: no bound within its deadline{why}")
        if self.budgets:
            reason = self.throttles(t.name, w) or self.held_server(t)
            if reason:
                return _Result(None, False, reason)
        return _Result(w)

    def blocking(self, t: Task) -> int | _Result:
        """Longest protected call a lower task can make at or above ``t``'s priority, plus the
        ``init`` handlers at or above it (each runs once)."""
        prio = self.wl.priorities
        longest = 0
        for server in self.wl.servers.values():
            if server.priority < t.priority:
                continue
            if not any(prio[c] < t.priority for c in server.callers):
                continue
            if server.longest is None:
                return _unknown(f"server {server.name!r}'s handlers have no known worst case")
            longest = max(longest, server.longest)
        once = 0
        for pd, cost in self.wl.once.items():
            if prio[pd] >= t.priority:
                if cost is None:
                    return _unknown(f"{pd}'s init has no known worst case")
                once += cost
        return longest + once

    def interferers(
        self, i: int, jitter: list[int | None], done: list[_Result | None]
    ) -> list[Interferer] | _Result:
        """Every SC at or above task ``i``'s priority, with what bounds it."""
        t = self.tasks[i]
        out = []
        for name, members in self.owners.items():
            others = [j for j in members if j != i and self.tasks[j].priority >= t.priority]
            if not others:
                continue
            sc = self.sc[name]
            cap = (sc.budget, sc.period) if self.budgets and sc.budget < sc.period else None
            jobs_bound = not self.budgets or name == t.name or self.keeps_up(name, done)
            jobs = []
            for j in others:
                other = self.tasks[j]
                if other.wcet is None or jitter[j] is None:
                    jobs_bound = False
                    continue
                jobs.append(Job(other.wcet, other.period, jitter[j]))
            if not jobs_bound and cap is None:
                return _unknown(f"{name} above it has no known worst case")
            out.append(Interferer(tuple(jobs), cap, jobs_bound))
        if self.budgets:
            for name, priority, sc in self.wl.handlers:
                if priority < t.priority:
                    continue
                if sc.budget >= sc.period:
                    return _unknown(f"fault handler {name!r} above it has no budget to bound it")
                out.append(Interferer((), (sc.budget, sc.period), False))
        return out

    def keeps_up(self, name: str, done: list[_Result | None]) -> bool:
        """Whether ``name``'s jobs bound what it takes: a round-robin SC never throttles; a
        throttling one keeps up when each of its tasks has a bound this pass (``respond``
        gives none where the SC could throttle the job). Otherwise a throttled job's work can
        be carried into a busy window that starts while it waits for its refill, and only the
        budget bounds it."""
        sc = self.sc[name]
        if sc.budget >= sc.period:
            return True
        results = [done[j] for j in self.owners[name]]
        return all(r is not None and r.bound is not None for r in results)

    def may_throttle(self, name: str) -> str | None:
        """Why ``name``'s SC could throttle its jobs whatever its response time (``CBS``:
        only if its response time is too long for its budget)."""
        sc = self.sc[name]
        if sc.budget >= sc.period:
            return None
        members = [self.tasks[j] for j in self.owners[name]]
        if any(m.wcet is None for m in members):
            return "its SC throttles and its WCET is unknown"
        wcet = sum(m.wcet for m in members)  # type: ignore[misc]
        period = min(m.period for m in members)
        if sc.period > period:
            return f"its SC period {sc.period} ns is longer than its release period {period} ns"
        if sc.budget < wcet + self.min_budget:
            return (
                f"budget {sc.budget} ns is below WCET + MIN_BUDGET ({wcet} + {self.min_budget}"
                " ns): the kernel can throttle a job"
            )
        return None if sc.sporadic else CBS

    def throttles(self, name: str, bound: int) -> str | None:
        """Why ``name``'s own SC can delay a job that the busy window bounds by ``bound``."""
        reason = self.may_throttle(name)
        if reason != CBS:
            return reason
        sc = self.sc[name]
        wcet = sum(self.tasks[j].wcet for j in self.owners[name])  # type: ignore[misc]
        if sc.budget >= bound + wcet:
            return None
        return (
            f"constant-bandwidth SC (sporadic = false): budget {sc.budget} ns is below bound + "
            f"WCET ({bound} + {wcet} ns), so a late start can delay the next job's refill"
        )

    def held_server(self, t: Task) -> str | None:
        """A server that ``t`` or a task above it calls, and that a caller with a throttling
        SC can leave stranded on an empty budget (then the others wait for its refill)."""
        calls = {
            (s, task.name) for task in self.tasks if task.priority >= t.priority for s in task.calls
        }
        for server, caller in sorted(calls):
            for other in sorted(self.wl.servers[server].callers - {caller}):
                if other in self.sc and self.may_throttle(other) is not None:
                    return f"server {server!r} can be held by {other!r} out of budget"
        return None


def _largest(bounds: list[int | None], task: Task, count: int) -> int | None:
    """The bound of a partition or PD: the largest of its tasks'. A PD with several event
    sources gets them in one notification word, and each handler run of a word counts from
    the word's first event (the notification's activation), which can precede its own event by
    as long as the PD can take to come back to its receive: at most its largest bound."""
    if None in bounds:
        return None
    top = max(bounds)  # type: ignore[type-var]
    return 2 * top if task.pd and count > 1 else top


def _kernel_costs(system: System) -> list[str]:
    return [k for k in KERNEL_COSTS if getattr(system.kernel, k)]


def task_bounds(system: System) -> dict[str, dict[str, Any]]:
    """Each task's ``wcet``, ``bound``, ``bound_with_budgets``, ``schedulable`` and ``note``
    (module docstring), keyed by partition or PD name in description order."""
    wl = workload(system)
    classic = _Pass(wl, system.kernel.min_budget, budgets=False).run()
    budgeted = _Pass(wl, system.kernel.min_budget, budgets=True).run()
    costs = _kernel_costs(system)
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(t.name for t in wl.tasks):
        idx = [i for i, t in enumerate(wl.tasks) if t.name == name]
        first = wl.tasks[idx[0]]
        wcets = [wl.tasks[i].wcet for i in idx]
        bound = _largest([classic[i].bound for i in idx], first, len(idx))
        with_budgets = _largest([budgeted[i].bound for i in idx], first, len(idx))
        notes = [budgeted[i].note for i in idx] + [classic[i].note for i in idx]
        schedulable: bool | None = with_budgets is not None
        if any(budgeted[i].unknown for i in idx):
            schedulable = None
        note = next((n for n in notes if n), "")
        late = with_budgets is not None and with_budgets > (first.deadline or with_budgets)
        if late:  # only a PD's bound, grown by coalescing (``_largest``), can be
            schedulable, note = False, "misses: coalesced notifications count from the first"
        if costs and schedulable is not None:
            schedulable = None
            note = f"{note}; " * bool(note) + f"kernel costs ({', '.join(costs)}) not modelled"
        out[name] = {
            "wcet": None if None in wcets else max(wcets),  # type: ignore[type-var]
            "bound": bound,
            "bound_with_budgets": with_budgets,
            "schedulable": schedulable,
            "note": note,
        }
    return out
