"""The kernel state, the scheduler core and the discrete-event loop (single core, MCS).

``schedule``, ``possible_switch_to``, ``charge_budget``, ``commit_time``, ``set_next_interrupt``
and the kernel entries follow spec/mcs-semantics.md sections 3-5 and 13 line by line. Object
invocations live in the modules named after seL4's files and call back into this core.

The loop is synchronous over integer nanoseconds: at each step the next event is the earliest of
the programmed kernel timer (budget end, release-queue head, domain end), a device timer, and the
end of the running thread's current compute action. Kernel entries take ``entry_cost`` ns (default
0); that time is charged to whichever SC is current at the next entry, as in seL4.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from sporadic import records as ev
from sporadic.errors import SimulationError
from sporadic.kernel.dispatch import HANDLERS
from sporadic.kernel.endpoint import handle_timeout
from sporadic.kernel.objects import (
    BLOCKED_ON_NOTIFICATION,
    BLOCKED_ON_RECEIVE,
    BLOCKED_ON_REPLY,
    BLOCKED_ON_SEND,
    IDLE,
    INACTIVE,
    RESTART,
    RUNNING,
    TCB,
    Endpoint,
    Notification,
    SchedContext,
)
from sporadic.kernel.schedcontext import complete_yield_to
from sporadic.kernel.syscalls import INF, Compute, Exit, Mark, Probe
from sporadic.scheduler.domains import DomainSchedule
from sporadic.scheduler.queues import NUM_PRIORITIES, ReadyQueues, ReleaseQueue
from sporadic.scheduler.refills import refill_budget_check, refill_new, refill_unblock_check

# Scheduler actions other than a candidate thread.
RESUME_CURRENT = "resume"
CHOOSE_NEW = "choose"

DEFAULT_MIN_BUDGET = 20_000  # 2 * 10 us kernel WCET (spec section 12)
DEFAULT_MAX_PERIOD = 1 << 56  # ns; MAX_PERIOD_US is platform-defined and far above any test
MAX_ZERO_TIME_STEPS = 100_000  # steps at one instant before we call it a livelock

_RUNNABLE = (False, True, True, False, False, False, False, False)  # indexed by state


def _discard(record: tuple) -> None:
    """The sink of a kernel without a trace."""


class Kernel:
    """One simulated core running seL4 MCS.

    Build threads, SCs and notifications with the ``create_*`` methods, set them up with the
    boot-time calls (as a root task would), then ``run(until)``; ``run`` may be called again with
    a later time to continue. ``sink`` receives every trace record ``(kind, t, *values)``.
    """

    def __init__(
        self,
        *,
        min_budget: int = DEFAULT_MIN_BUDGET,
        entry_cost: int = 0,
        timer_precision: int = 0,
        max_period: int = DEFAULT_MAX_PERIOD,
        domain_schedule: DomainSchedule | None = None,
        sink: Callable[[tuple], Any] | None = None,
    ) -> None:
        if min_budget < 1:
            raise ValueError("min_budget must be at least 1 ns: with 0 exhaustion is never seen")
        if entry_cost < 0 or timer_precision < 0:
            raise ValueError("entry_cost and timer_precision must be >= 0")
        self.min_budget = min_budget
        self.entry_cost = entry_cost
        self.precision = timer_precision
        self.max_period = max_period
        self.sink = sink or _discard

        self.domains = domain_schedule
        self.num_domains = domain_schedule.num_domains if domain_schedule else 1
        self.cur_domain, self.domain_time = domain_schedule.current() if domain_schedule else (0, 0)

        self.now = 0  # ksCurTime: time of the latest kernel entry
        self.hw = 0  # how far the current user context has run
        self.consumed = 0  # ksConsumed
        self.reprogram = True  # ksReprogram
        self.action: Any = CHOOSE_NEW  # ksSchedulerAction
        self.deadline = INF  # the programmed kernel timer
        self.ready = ReadyQueues(self.num_domains)
        self.release = ReleaseQueue()
        self.timers: list[tuple[int, int, int, Callable[[int], Any]]] = []
        self._timer_seq = 0
        self.yielded = False
        self.booted = False
        self._stuck = 0

        self.threads: list[TCB] = []
        self.scs: list[SchedContext] = []
        self.notifications: list[Notification] = []
        self.endpoints: list[Endpoint] = []
        self.idle = self.create_thread("idle", prio=0, mcp=0)
        self.idle.state = IDLE
        self.idle.remaining = INF
        self.idle_sc = SchedContext(-1, "idle")
        refill_new(self.idle_sc, 2, INF, 0, 0)
        self.idle.sc = self.idle_sc
        self.idle_sc.tcb = self.idle
        self.cur = self.idle
        self.cur_sc = self.idle_sc

        self._handlers = HANDLERS

    # ----------------------------------------------------------------- object creation

    def create_thread(
        self,
        name: str,
        prio: int,
        *,
        mcp: int | None = None,
        domain: int = 0,
        program: Any = None,
    ) -> TCB:
        if not 0 <= prio < NUM_PRIORITIES:
            raise ValueError(f"thread {name!r}: priority {prio} is outside 0..{NUM_PRIORITIES - 1}")
        if not 0 <= domain < self.num_domains:
            raise ValueError(f"thread {name!r}: domain {domain} is not in the domain schedule")
        t = TCB(len(self.threads), name, prio, prio if mcp is None else mcp, domain)
        t.program = program
        self.threads.append(t)
        return t

    def create_sc(self, name: str, size_bits: int = 8) -> SchedContext:
        sc = SchedContext(len(self.scs), name, size_bits)
        self.scs.append(sc)
        return sc

    def create_notification(self, name: str) -> Notification:
        n = Notification(len(self.notifications), name)
        self.notifications.append(n)
        return n

    def create_endpoint(self, name: str) -> Endpoint:
        e = Endpoint(len(self.endpoints), name)
        self.endpoints.append(e)
        return e

    def add_timer(self, t: int, irq: int, callback: Callable[[int], Any]) -> None:
        """Arm a device timer: at ``t`` an interrupt enters the kernel and runs ``callback(t)``
        (typically a signal to a notification). Timers due at the same instant are taken in
        ``irq`` order, after the kernel's own timer."""
        self._timer_seq += 1
        heapq.heappush(self.timers, (t, irq, self._timer_seq, callback))

    # ----------------------------------------------------------------- predicates

    def schedulable(self, t: TCB) -> bool:
        """``isSchedulable``: runnable, with an active SC, not waiting for a refill."""
        sc = t.sc
        return (
            _RUNNABLE[t.state] and sc is not None and sc.refill_max > 0 and not t.in_release_queue
        )

    def runnable(self, t: TCB) -> bool:
        """``isRunnable``: Running or Restart."""
        return _RUNNABLE[t.state]

    def ready_and_sufficient(self, sc: SchedContext) -> bool:
        head = sc.refills[0]
        return head[0] <= self.now and head[1] >= self.min_budget

    # ----------------------------------------------------------------- thread state

    def set_state(self, t: TCB, state: int) -> None:
        """``setThreadState`` with ``scheduleTCB``, and the BLOCK/WAKE trace records."""
        old = t.state
        t.state = state
        if _RUNNABLE[state]:
            if not _RUNNABLE[old] and t is not self.idle:
                self.sink((ev.WAKE, self.now, t.id))
        elif _RUNNABLE[old]:
            self.sink((ev.BLOCK, self.now, t.id, state))
        if t is self.cur and self.action is RESUME_CURRENT and not self.schedulable(t):
            self.action = CHOOSE_NEW

    # ----------------------------------------------------------------- scheduler (section 4)

    def reschedule_required(self) -> None:
        a = self.action
        if a is not RESUME_CURRENT and a is not CHOOSE_NEW and self.schedulable(a):
            self.ready.enqueue(a)
        self.action = CHOOSE_NEW

    def possible_switch_to(self, t: TCB) -> None:
        if t.sc is None or t.in_release_queue:
            return
        if t.domain != self.cur_domain:
            self.ready.enqueue(t)
        elif self.action is not RESUME_CURRENT:
            self.reschedule_required()
            self.ready.enqueue(t)
        else:
            self.action = t

    def postpone(self, sc: SchedContext) -> None:
        t = sc.tcb
        self.ready.dequeue(t)
        self.release.enqueue(t)
        self.reprogram = True
        self.sink((ev.POSTPONE, self.now, t.id, sc.id, sc.refills[0][0]))

    def unblock_check(self, sc: SchedContext) -> None:
        """``refill_unblock_check`` with its side effect on ``ksReprogram``."""
        if refill_unblock_check(sc, self.now):
            self.reprogram = True

    def release_remove(self, t: TCB) -> None:
        if self.release.remove(t):
            self.reprogram = True

    def sched_context_resume(self, sc: SchedContext | None) -> None:
        """``schedContext_resume``: postpone a schedulable thread whose head is not usable."""
        if (
            sc is not None
            and sc.tcb is not None
            and self.schedulable(sc.tcb)
            and not self.ready_and_sufficient(sc)
        ):
            self.postpone(sc)

    def _awaken(self) -> None:
        while (t := self.release.pop_ready(self.now)) is not None:
            self.sink((ev.REFILL_RELEASE, self.now, t.id, t.sc.id))
            self.possible_switch_to(t)
            self.reprogram = True

    def _switch_to(self, t: TCB) -> None:
        """``switchToThread`` / ``switchToIdleThread`` plus the SWITCH/PREEMPT records."""
        cur = self.cur
        if t is not self.idle:
            self.ready.dequeue(t)
        if t is cur:
            return
        now = self.now
        sink = self.sink
        if cur is not self.idle and not self.yielded and self.schedulable(cur):
            sink((ev.PREEMPT, now, cur.id, t.id))
        sc = t.sc
        sink((ev.SWITCH, now, cur.id, t.id, -1 if sc is None or t is self.idle else sc.id))
        self.cur = t

    def _choose_thread(self) -> None:
        if self.num_domains > 1 and self.domain_time == 0:
            self._next_domain()
        t = self.ready.highest(self.cur_domain)
        self._switch_to(self.idle if t is None else t)

    def _next_domain(self) -> None:
        self.cur_domain, self.domain_time = self.domains.advance()
        self.reprogram = True
        self.sink((ev.DOMAIN_SWITCH, self.now, self.cur_domain))

    def schedule(self) -> None:
        if self.release.keys and self.release.keys[0][0] <= self.now:
            self._awaken()
        if self.num_domains > 1 and self.domain_time == 0:
            self.reprogram = True
            self.reschedule_required()
        action = self.action
        if action is not RESUME_CURRENT:
            cur = self.cur
            sc = cur.sc
            was_runnable = (
                _RUNNABLE[cur.state]
                and sc is not None
                and sc.refill_max > 0
                and not cur.in_release_queue
            )
            if was_runnable:
                self.ready.enqueue(cur)
            if action is CHOOSE_NEW:
                self._choose_thread()
            else:
                cand = action
                fastfail = cur is self.idle or cand.prio < cur.prio
                if fastfail and not self.ready.is_highest_prio(self.cur_domain, cand.prio):
                    self.ready.enqueue(cand)
                    self.action = CHOOSE_NEW
                    self._choose_thread()
                elif was_runnable and cand.prio == cur.prio:
                    self.ready.append(cand)
                    self.action = CHOOSE_NEW
                    self._choose_thread()
                else:
                    self._switch_to(cand)
        self.action = RESUME_CURRENT
        self._switch_sched_context()
        if self.reprogram:
            self._set_next_interrupt()
            self.reprogram = False

    def _switch_sched_context(self) -> None:
        sc = self.cur.sc
        if sc is not self.cur_sc:
            self.reprogram = True
            if not sc.sporadic:
                refill_unblock_check(sc, self.now)
        if self.reprogram:
            self.commit_time()
        self.cur_sc = sc

    def _set_next_interrupt(self) -> None:
        now = self.now
        t = now + self.cur.sc.refills[0][1]
        if self.num_domains > 1 and now + self.domain_time < t:
            t = now + self.domain_time
        if self.release.keys and self.release.keys[0][0] < t:
            t = self.release.keys[0][0]
        deadline = t - self.precision
        if deadline <= now < t:
            # Programmed in the past, the IRQ would fire again at once until ``t``; with a
            # zero-time kernel nothing happens in between, so one interrupt at ``t`` is the same.
            deadline = t
        self.deadline = deadline

    # ----------------------------------------------------------------- time (section 3)

    def _update_timestamp(self, t: int) -> None:
        c = t - self.now
        self.now = t
        self.consumed += c
        if self.num_domains > 1:
            self.domain_time = (
                0 if c + self.min_budget >= self.domain_time else self.domain_time - c
            )

    def commit_time(self) -> None:
        sc = self.cur_sc
        consumed = self.consumed
        if sc.refill_max > 0 and sc is not self.idle_sc:
            if consumed > 0:
                if sc.period == 0:
                    sc.refills[0][1] -= consumed
                    sc.refills[1][1] += consumed
                else:
                    refill_budget_check(sc, consumed, self.min_budget)
            sc.consumed += consumed
        self.consumed = 0

    def check_budget(self) -> bool:
        sc = self.cur_sc
        if sc is not self.idle_sc:
            head = sc.refills[0][1]
            consumed = self.consumed
            if consumed > head or head - consumed < self.min_budget:
                self.sink((ev.BUDGET_EXHAUSTED, self.now, self.cur.id, sc.id))
                self.charge_budget(consumed, True)
                return False
        return not (self.num_domains > 1 and self.domain_time == 0)

    def charge_budget(self, consumed: int, can_timeout_fault: bool) -> None:
        sc = self.cur_sc
        if sc is not self.idle_sc:
            if sc.period == 0:
                r = sc.refills
                r[0][1] += r[1][1]
                r[1][1] = 0
            else:
                refill_budget_check(sc, consumed, self.min_budget)
            sc.consumed += consumed
        self.consumed = 0
        cur = self.cur
        if self.schedulable(cur):
            self._end_timeslice(can_timeout_fault)
            self.reschedule_required()
            self.reprogram = True

    def _end_timeslice(self, can_timeout_fault: bool) -> None:
        cur = self.cur
        sc = self.cur_sc
        if can_timeout_fault and sc.period != 0 and cur.timeout_handler is not None:
            handle_timeout(self, cur)
        elif self.ready_and_sufficient(sc):
            self.ready.append(cur)
        else:
            self.postpone(sc)

    # ----------------------------------------------------------------- kernel entries

    def _syscall_entry(self, cur: TCB, action: Any, handler: Callable[..., None]) -> None:
        t = self.hw
        self._update_timestamp(t)
        self.yielded = False
        if self.check_budget():
            handler(self, cur, action)
        else:
            cur.retry = action
            if _RUNNABLE[cur.state]:
                cur.state = RESTART
        self.schedule()
        cur = self.cur
        if cur.yield_to is not None or cur.state == RESTART:
            self._activate()
        self.hw = t + self.entry_cost

    def _irq_entry(self, t: int, callback: Callable[[int], Any] | None) -> None:
        self._update_timestamp(t)
        self.yielded = False
        self.check_budget()
        if callback is None:
            self.reprogram = True
        else:
            callback(t)
        self.schedule()
        cur = self.cur
        if cur.yield_to is not None or cur.state == RESTART:
            self._activate()
        self.hw = t + self.entry_cost

    def _activate(self) -> None:
        cur = self.cur
        if cur.yield_to is not None:
            complete_yield_to(self, cur)
        if cur.state == RESTART:
            cur.state = RUNNING

    # ----------------------------------------------------------------- the loop

    def boot(self) -> None:
        """Start: threads made runnable at boot are queued in creation order (tail), then the
        first schedule runs at t = 0."""
        if self.booted:
            return
        self.booted = True
        if self.num_domains > 1:
            self.sink((ev.DOMAIN_SWITCH, 0, self.cur_domain))
        self.action = CHOOSE_NEW
        self.reprogram = True
        self.schedule()

    def start(self, t: TCB) -> None:
        """Boot-time ``Resume``: make ``t`` runnable; it is queued at the tail (creation order)."""
        if self.booted:
            raise SimulationError("start() is for boot time; use the Resume syscall while running")
        t.state = RUNNING
        if self.schedulable(t):
            if self.ready_and_sufficient(t.sc):
                self.ready.append(t)
            else:
                self.release.enqueue(t)

    def run(self, until: int) -> int:
        """Simulate up to (not including) ``until`` ns; returns the time reached."""
        if not self.booted:
            self.boot()
        handlers_compute = Compute
        idle = self.idle
        timers = self.timers
        while True:
            cur = self.cur
            if cur.remaining == 0 and cur is not idle:
                self._step_program(cur, handlers_compute)
                continue
            hw = self.hw
            t = self.deadline
            if timers and timers[0][0] < t:
                t = timers[0][0]
            if t < hw:
                t = hw
            rem = cur.remaining
            if rem < INF:
                done = hw + rem
                if done <= t:  # a compute that ends as an interrupt arrives completes first
                    if done >= until:
                        cur.remaining = rem - (until - hw)
                        self.hw = until
                        return until
                    cur.remaining = 0
                    self.hw = done
                    self._stuck = 0
                    continue
            if t >= until:
                if rem < INF:
                    cur.remaining = rem - (until - hw)
                self.hw = until
                return until
            if rem < INF:
                cur.remaining = rem - (t - hw)
            if t > hw:
                self._stuck = 0
            else:
                self._stuck += 1
                if self._stuck > MAX_ZERO_TIME_STEPS:
                    raise SimulationError(
                        f"interrupt storm at t={t} ns: the kernel timer keeps firing without "
                        "time passing (check timer_precision and min_budget)"
                    )
            self.hw = t
            if t >= self.deadline:
                self._irq_entry(t, None)
            else:
                _, _, _, callback = heapq.heappop(timers)
                self._irq_entry(t, callback)

    def _step_program(self, cur: TCB, compute_type: type) -> None:
        """Advance ``cur``'s program by one action at its current time (zero simulated time)."""
        self._stuck += 1
        if self._stuck > MAX_ZERO_TIME_STEPS:
            raise SimulationError(
                f"thread {cur.name!r} makes no progress at t={self.hw} ns: its program keeps "
                "acting without computing (add a compute step, or a kernel entry_cost)"
            )
        action = cur.retry
        if action is not None:
            cur.retry = None
        else:
            program = cur.program
            if program is None:
                action = Exit()
            else:
                try:
                    action = program.send(cur.result)
                except StopIteration:
                    action = Exit()
                cur.result = None
        kind = type(action)
        if kind is compute_type:
            cur.remaining = action.ns
        elif kind is Probe:
            action.fn(self.hw)
        elif kind is Mark:
            self.sink((ev.MARK, self.hw, cur.id, action.label, action.value))
        else:
            handler = self._handlers.get(kind)
            if handler is None:
                raise SimulationError(f"thread {cur.name!r} yielded {action!r}, which is no action")
            self._syscall_entry(cur, action, handler)

    # ----------------------------------------------------------------- inspection

    def thread_by_name(self, name: str) -> TCB:
        for t in self.threads:
            if t.name == name:
                return t
        raise KeyError(name)


__all__ = [
    "BLOCKED_ON_NOTIFICATION",
    "BLOCKED_ON_RECEIVE",
    "BLOCKED_ON_REPLY",
    "BLOCKED_ON_SEND",
    "CHOOSE_NEW",
    "INACTIVE",
    "Kernel",
    "RESUME_CURRENT",
]
