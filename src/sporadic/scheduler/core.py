"""The scheduling core of one seL4 MCS core: choosing, switching, charging and releasing.

``Scheduler`` holds the per-core state of docs/mcs-semantics.md section 1.3 (``ksCurThread``,
``ksCurSC``, ``ksCurTime``, ``ksConsumed``, ``ksSchedulerAction``, ``ksReprogram``, the ready and
release queues, the domain schedule) and the functions of ``src/kernel/thread.c`` and
``include/kernel/thread.h`` that change it, line by line: ``schedule``, ``possibleSwitchTo``,
``rescheduleRequired``, ``setThreadState``/``scheduleTCB``, ``postpone``, ``awaken``,
``switchSchedContext``, ``setNextInterrupt``, ``updateTimestamp``, ``commitTime``, ``checkBudget``,
``chargeBudget``, ``endTimeslice`` (sections 3 and 4). Budget arithmetic is in ``refills``.

It knows threads and SCs only by the fields it reads (as the queues do), so it sits below the
kernel objects; the kernel (``sporadic.kernel.kernel.Kernel``) extends it with objects, kernel
entries and the event loop. A timeout fault is the one rule that needs IPC: the kernel passes
``handle_timeout`` in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sporadic.records import (
    BLOCK,
    BUDGET_EXHAUSTED,
    DOMAIN_SWITCH,
    POSTPONE,
    PREEMPT,
    REFILL_RELEASE,
    SWITCH,
    WAKE,
)
from sporadic.scheduler.domains import DomainSchedule
from sporadic.scheduler.queues import ReadyQueues, ReleaseQueue
from sporadic.scheduler.refills import (
    charge_timeslice,
    is_round_robin,
    refill_commit,
    refill_ready,
    refill_sufficient,
    refill_switch_check,
    refill_unblock_check,
)
from sporadic.scheduler.states import RUNNABLE
from sporadic.units import INF

# Scheduler actions other than a candidate thread (``ksSchedulerAction``).
RESUME_CURRENT = "resume"
CHOOSE_NEW = "choose"

Sink = Callable[[tuple], Any]


class Scheduler:
    """The scheduling state of one core and the rules that change it.

    ``idle`` and ``idle_sc`` are the idle thread and its SC; ``sink`` receives every trace
    record. ``handle_timeout(scheduler, thread)`` delivers a timeout fault (``handleTimeout``).
    """

    def __init__(
        self,
        idle: Any,
        idle_sc: Any,
        *,
        min_budget: int,
        timer_precision: int,
        max_period: int,
        domain_schedule: DomainSchedule | None,
        sink: Sink,
        handle_timeout: Callable[[Scheduler, Any], None],
    ) -> None:
        self.min_budget = min_budget
        self.precision = timer_precision
        self.max_period = max_period
        self.sink = sink
        self.handle_timeout = handle_timeout

        self.domains = domain_schedule
        self.num_domains = domain_schedule.num_domains if domain_schedule else 1
        self.cur_domain, self.domain_time = domain_schedule.current() if domain_schedule else (0, 0)

        self.now = 0  # ksCurTime: time of the latest kernel entry
        self.consumed = 0  # ksConsumed
        self.reprogram = True  # ksReprogram
        self.action: Any = CHOOSE_NEW  # ksSchedulerAction
        self.deadline = INF  # the programmed kernel timer
        self.ready = ReadyQueues(self.num_domains)
        self.release = ReleaseQueue()
        self.yielded = False
        self.idle = idle
        self.idle_sc = idle_sc
        self.cur = idle
        self.cur_sc = idle_sc

    # ----------------------------------------------------------------- predicates (1.4)

    def schedulable(self, t: Any) -> bool:
        """``isSchedulable``: runnable, with an active SC, not waiting for a refill."""
        sc = t.sc  # sc.refill_max > 0 is is_active(sc), spelled out on the hottest path
        return RUNNABLE[t.state] and sc is not None and sc.refill_max > 0 and not t.in_release_queue

    def runnable(self, t: Any) -> bool:
        """``isRunnable``: Running or Restart."""
        return RUNNABLE[t.state]

    def ready_and_sufficient(self, sc: Any) -> bool:
        """``refill_ready(sc) && refill_sufficient(sc, 0)``: the head can be used now."""
        return refill_ready(sc, self.now) and refill_sufficient(sc, 0, self.min_budget)

    # ----------------------------------------------------------------- thread state

    def set_state(self, t: Any, state: int) -> None:
        """``setThreadState`` with ``scheduleTCB``, and the BLOCK/WAKE trace records."""
        old = t.state
        t.state = state
        if RUNNABLE[state]:
            if not RUNNABLE[old] and t is not self.idle:
                self.sink((WAKE, self.now, t.id))
        elif RUNNABLE[old]:
            self.sink((BLOCK, self.now, t.id, state))
        if t is self.cur and self.action is RESUME_CURRENT and not self.schedulable(t):
            self.action = CHOOSE_NEW

    # ----------------------------------------------------------------- choosing (section 4)

    def reschedule_required(self) -> None:
        a = self.action
        if a is not RESUME_CURRENT and a is not CHOOSE_NEW and self.schedulable(a):
            self.ready.enqueue(a)
        self.action = CHOOSE_NEW

    def possible_switch_to(self, t: Any) -> None:
        if t.sc is None or t.in_release_queue:
            return
        if t.domain != self.cur_domain:
            self.ready.enqueue(t)
        elif self.action is not RESUME_CURRENT:
            self.reschedule_required()
            self.ready.enqueue(t)
        else:
            self.action = t

    def schedule(self) -> None:
        release = self.release.keys
        if release and release[0][0] <= self.now:
            self.awaken()
        if self.num_domains > 1 and self.domain_time == 0:
            self.reprogram = True
            self.reschedule_required()
        action = self.action
        if action is not RESUME_CURRENT:
            cur = self.cur
            sc = cur.sc  # isSchedulable(cur), inline: this is the hottest call site
            was_runnable = (
                RUNNABLE[cur.state]
                and sc is not None
                and sc.refill_max > 0
                and not cur.in_release_queue
            )
            if was_runnable:
                self.ready.enqueue(cur)
            if action is CHOOSE_NEW:
                self.choose_thread()
            else:
                cand = action
                fastfail = cur is self.idle or cand.prio < cur.prio
                if fastfail and not self.ready.is_highest_prio(self.cur_domain, cand.prio):
                    self.ready.enqueue(cand)
                    self.action = CHOOSE_NEW
                    self.choose_thread()
                elif was_runnable and cand.prio == cur.prio:
                    self.ready.append(cand)
                    self.action = CHOOSE_NEW
                    self.choose_thread()
                else:
                    self.switch_to(cand)
        self.action = RESUME_CURRENT
        self.switch_sched_context()
        if self.reprogram:
            self.set_next_interrupt()
            self.reprogram = False

    def choose_thread(self) -> None:
        if self.num_domains > 1 and self.domain_time == 0:
            self.next_domain()
        t = self.ready.highest(self.cur_domain)
        self.switch_to(self.idle if t is None else t)

    def next_domain(self) -> None:
        assert self.domains is not None  # only called with more than one domain
        self.cur_domain, self.domain_time = self.domains.advance()
        self.reprogram = True
        self.sink((DOMAIN_SWITCH, self.now, self.cur_domain))

    def switch_to(self, t: Any) -> None:
        """``switchToThread`` / ``switchToIdleThread`` plus the SWITCH/PREEMPT records."""
        cur = self.cur
        if t.queued:
            self.ready.dequeue(t)
        if t is cur:
            return
        now = self.now
        sink = self.sink
        if cur is not self.idle and not self.yielded and self.schedulable(cur):
            sink((PREEMPT, now, cur.id, t.id))
        sc = t.sc
        sink((SWITCH, now, cur.id, t.id, -1 if sc is None or t is self.idle else sc.id))
        self.cur = t

    def switch_sched_context(self) -> None:
        sc = self.cur.sc
        if sc is not self.cur_sc:
            self.reprogram = True
            refill_switch_check(sc, self.now)
        if self.reprogram:
            self.commit_time()
        self.cur_sc = sc

    def set_next_interrupt(self) -> None:
        now = self.now
        t = now + self.cur.sc.refills[0][1]
        if self.num_domains > 1 and now + self.domain_time < t:
            t = now + self.domain_time
        release = self.release.keys
        if release and release[0][0] < t:
            t = release[0][0]
        deadline = t - self.precision
        if deadline <= now < t:
            # Programmed in the past, the IRQ would fire again at once until ``t``; with a
            # zero-time kernel nothing happens in between, so one interrupt at ``t`` is the same.
            deadline = t
        self.deadline = deadline

    # ----------------------------------------------------------------- releasing (4.2, 7.2)

    def postpone(self, sc: Any) -> None:
        t = sc.tcb
        self.ready.dequeue(t)
        self.release.enqueue(t)
        self.reprogram = True
        self.sink((POSTPONE, self.now, t.id, sc.id, sc.refills[0][0]))

    def unblock_check(self, sc: Any) -> None:
        """``refill_unblock_check`` with its side effect on ``ksReprogram``."""
        if refill_unblock_check(sc, self.now):
            self.reprogram = True

    def release_remove(self, t: Any) -> None:
        if self.release.remove(t):
            self.reprogram = True

    def sched_context_resume(self, sc: Any) -> None:
        """``schedContext_resume``: postpone a schedulable thread whose head is not usable."""
        if (
            sc is not None
            and sc.tcb is not None
            and self.schedulable(sc.tcb)
            and not self.ready_and_sufficient(sc)
        ):
            self.postpone(sc)

    def awaken(self) -> None:
        while (t := self.release.pop_ready(self.now)) is not None:
            self.sink((REFILL_RELEASE, self.now, t.id, t.sc.id))
            self.possible_switch_to(t)
            self.reprogram = True

    # ----------------------------------------------------------------- charging (section 3)

    def update_timestamp(self, t: int) -> None:
        c = t - self.now
        self.now = t
        self.consumed += c
        if self.num_domains > 1:
            self.domain_time = (
                0 if c + self.min_budget >= self.domain_time else self.domain_time - c
            )

    def commit_time(self) -> None:
        consumed = self.consumed
        if consumed > 0:  # with nothing consumed there is nothing to charge or count
            sc = self.cur_sc
            if sc is not self.idle_sc:
                refill_commit(sc, consumed, self.min_budget)
            self.consumed = 0

    def check_budget(self) -> bool:
        sc = self.cur_sc
        if sc is not self.idle_sc and not refill_sufficient(sc, self.consumed, self.min_budget):
            self.sink((BUDGET_EXHAUSTED, self.now, self.cur.id, sc.id))
            self.charge_budget(self.consumed, True)
            return False
        return not (self.num_domains > 1 and self.domain_time == 0)

    def charge_budget(self, consumed: int, can_timeout_fault: bool) -> None:
        sc = self.cur_sc
        if sc is not self.idle_sc:
            charge_timeslice(sc, consumed, self.min_budget)
            sc.consumed += consumed
        self.consumed = 0
        cur = self.cur
        if self.schedulable(cur):
            self.end_timeslice(can_timeout_fault)
            self.reschedule_required()
            self.reprogram = True

    def end_timeslice(self, can_timeout_fault: bool) -> None:
        cur = self.cur
        sc = self.cur_sc
        if can_timeout_fault and not is_round_robin(sc) and cur.timeout_handler is not None:
            self.handle_timeout(self, cur)
        elif self.ready_and_sufficient(sc):
            self.ready.append(cur)
        else:
            self.postpone(sc)
