"""The simulated kernel: its objects, kernel entries and the discrete-event loop (one core, MCS).

``Kernel`` extends the scheduling core (``sporadic.scheduler.core.Scheduler``) with what a root
task and programs see: creating threads, SCs, notifications and endpoints, the boot-time calls,
and the kernel entries of ``src/api/syscall.c`` (docs/mcs-semantics.md sections 5 and 13): a
syscall passes the budget check first and is re-executed later if that check fails; an interrupt
runs its handler. Object invocations live in the modules named after seL4's files (``tcb``,
``schedcontext``, ``notification``, ``endpoint``, ``reply``), reached through ``dispatch``.

The loop is synchronous over integer nanoseconds: at each step the next event is the earliest of
the programmed kernel timer (budget end, release-queue head, domain end), a device timer, and the
end of the running thread's current compute action. Kernel entries take ``entry_cost`` ns (default
0); that time is charged to whichever SC is current at the next entry, as in seL4.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from sporadic.errors import KernelError, SimulationError
from sporadic.kernel.dispatch import HANDLERS
from sporadic.kernel.endpoint import handle_timeout
from sporadic.kernel.fastpath import TARGETS, fastpath_entry
from sporadic.kernel.objects import TCB, Endpoint, Notification, SchedContext
from sporadic.kernel.schedcontext import complete_yield_to
from sporadic.kernel.syscalls import Compute, Exit, Mark, Probe
from sporadic.records import DOMAIN_SWITCH, MARK, SYSCALL_ERROR
from sporadic.scheduler.core import CHOOSE_NEW, Scheduler
from sporadic.scheduler.domains import DomainSchedule
from sporadic.scheduler.queues import NUM_PRIORITIES
from sporadic.scheduler.refills import refill_new
from sporadic.scheduler.states import IDLE, RESTART, RUNNABLE, RUNNING
from sporadic.units import INF, MAX_PERIOD, MIN_BUDGET

DEFAULT_MAX_PERIOD = MAX_PERIOD  # ns; MAX_PERIOD_US is platform-defined and far above any test
MAX_ZERO_TIME_STEPS = 100_000  # steps at one instant before we call it a livelock


def _discard(record: tuple) -> None:
    """The sink of a kernel without a trace."""


class Kernel(Scheduler):
    """One simulated core running seL4 MCS.

    Build threads, SCs and notifications with the ``create_*`` methods, set them up with the
    boot-time calls (as a root task would), then ``run(until)``; ``run`` may be called again with
    a later time to continue. ``sink`` receives every trace record ``(kind, t, *values)``.
    """

    def __init__(
        self,
        *,
        min_budget: int = MIN_BUDGET,
        entry_cost: int = 0,
        irq_latency: int = 0,
        idle_irq_latency: int = 0,
        syscall_latency: int = 0,
        fastpath: bool = True,
        fastpath_cost: int = 0,
        timer_precision: int = 0,
        max_period: int = DEFAULT_MAX_PERIOD,
        domain_schedule: DomainSchedule | None = None,
        sink: Callable[[tuple], Any] | None = None,
    ) -> None:
        if min_budget < 1:
            raise ValueError("min_budget must be at least 1 ns: with 0 exhaustion is never seen")
        costs = (entry_cost, irq_latency, idle_irq_latency, syscall_latency, fastpath_cost)
        if min(*costs, timer_precision) < 0:
            raise ValueError("kernel costs and the timer precision must be >= 0")
        self.threads: list[TCB] = []
        self.scs: list[SchedContext] = []
        self.notifications: list[Notification] = []
        self.endpoints: list[Endpoint] = []
        idle = TCB(0, "idle", 0, 0, 0)
        idle.state = IDLE
        idle.remaining = INF
        self.threads.append(idle)
        idle_sc = SchedContext(-1, "idle")
        refill_new(idle_sc, 2, INF, 0, 0)
        idle.sc = idle_sc
        idle_sc.tcb = idle
        super().__init__(
            idle,
            idle_sc,
            min_budget=min_budget,
            timer_precision=timer_precision,
            max_period=max_period,
            domain_schedule=domain_schedule,
            sink=sink or _discard,
            handle_timeout=handle_timeout,
        )
        self.entry_cost = entry_cost
        self.irq_latency = irq_latency
        self.idle_irq_latency = idle_irq_latency
        self.syscall_latency = syscall_latency
        self.fastpath_cost = fastpath_cost
        self.fast = False  # inside a fastpath entry (its records carry the trap's time)
        self.hw = 0  # how far the current user context has run
        self.timers: list[tuple[int, int, int, Callable[[int], Any]]] = []
        self._timer_seq = 0
        self.booted = False
        self._stuck = 0
        self._handlers = HANDLERS
        self._fastpaths = TARGETS if fastpath else {}

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

    # ----------------------------------------------------------------- kernel entries

    def _syscall_entry(self, cur: TCB, action: Any, handler: Callable[..., None]) -> None:
        # the kernel reads the clock syscall_latency after the trap; the caller is charged for it
        t = self.hw + self.syscall_latency
        self.update_timestamp(t)
        self.yielded = False
        if self.check_budget():
            try:
                handler(self, cur, action)
            except KernelError as e:  # the invocation's seL4 error is the syscall's result
                cur.result = e.error
                self.sink((SYSCALL_ERROR, self.now, cur.id, type(action).__name__, e.error))
        else:
            cur.retry = action
            if RUNNABLE[cur.state]:
                cur.state = RESTART
        self.schedule()
        cur = self.cur
        if cur.yield_to is not None or cur.state == RESTART:
            self._activate()
        self.hw = t + self.entry_cost

    def _irq_entry(
        self, t: int, callback: Callable[[int], Any] | None, raised: int | None = None
    ) -> None:
        """An interrupt read by the kernel at ``t``; a device timer's ``callback`` gets the time
        it was ``raised`` at (its nominal time)."""
        self.update_timestamp(t)
        self.yielded = False
        self.check_budget()
        if callback is None:
            self.reprogram = True
        else:
            callback(t if raised is None else raised)
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
            self.sink((DOMAIN_SWITCH, 0, self.cur_domain))
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
            # The interrupt is raised at t; the kernel reads the time irq_latency later, and the
            # interrupted thread makes no progress in between but is charged for it.
            self.hw = t
            read = t + (self.idle_irq_latency if cur is idle else self.irq_latency)
            if t >= self.deadline:
                self._irq_entry(read, None)
            else:
                _, _, _, callback = heapq.heappop(timers)
                self._irq_entry(read, callback, t)

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
            self.sink((MARK, self.hw, cur.id, action.label, action.value))
        else:
            handler = self._handlers.get(kind)
            if handler is None:
                raise SimulationError(f"thread {cur.name!r} yielded {action!r}, which is no action")
            fast = self._fastpaths.get(kind)
            dest = None if fast is None else fast(self, cur, action)
            if dest is None:
                self._syscall_entry(cur, action, handler)
            else:
                fastpath_entry(self, cur, action, handler, dest, self.fastpath_cost)

    # ----------------------------------------------------------------- inspection

    def thread_by_name(self, name: str) -> TCB:
        for t in self.threads:
            if t.name == name:
                return t
        raise KeyError(name)


__all__ = ["Kernel"]
