"""Scheduling-context invocations: SchedControl_ConfigureFlags, Bind, Unbind, Consumed, YieldTo
(``src/object/schedcontrol.c``, ``src/object/schedcontext.c``; docs/mcs-semantics.md section 7).

As in seL4, each invocation is a ``decode_*`` step that checks the arguments and raises the seL4
error, and an ``invoke_*`` step that acts and cannot fail. The plain names (``configure``,
``bind``) are both steps, for the calls a root task makes at boot.
"""

from __future__ import annotations

from typing import Any

from sporadic.errors import KernelError, SeL4Error
from sporadic.kernel.objects import TCB, Notification, SchedContext
from sporadic.scheduler.core import Scheduler
from sporadic.scheduler.refills import (
    is_active,
    is_released,
    is_sporadic,
    refill_new,
    refill_update,
)
from sporadic.scheduler.states import INACTIVE

MIN_REFILLS = 2
SC_CORE_BYTES = 96  # sizeof(sched_context_t) on 64-bit: 2^7 bytes hold exactly 2 refills
REFILL_BYTES = 16


def refill_absolute_max(size_bits: int) -> int:
    return ((1 << size_bits) - SC_CORE_BYTES) // REFILL_BYTES


def size_bits_for(extra_refills: int) -> int:
    """The smallest SC object that holds ``extra_refills`` beyond the minimum two."""
    bits = 7
    while refill_absolute_max(bits) - MIN_REFILLS < extra_refills:
        bits += 1
    return bits


def decode_configure(k: Scheduler, sc: Any, budget: int, period: int, extra_refills: int) -> None:
    """``decodeSchedControl_ConfigureFlags``: the argument checks, in seL4's order."""
    if budget > k.max_period:
        raise KernelError(SeL4Error.RangeError, f"budget {budget} ns exceeds MAX_PERIOD")
    if period > k.max_period:
        raise KernelError(SeL4Error.RangeError, f"period {period} ns exceeds MAX_PERIOD")
    if budget < k.min_budget:
        raise KernelError(
            SeL4Error.RangeError, f"budget {budget} ns is below MIN_BUDGET {k.min_budget}"
        )
    if period < k.min_budget:
        raise KernelError(
            SeL4Error.RangeError, f"period {period} ns is below MIN_BUDGET {k.min_budget}"
        )
    if budget > period:
        raise KernelError(SeL4Error.RangeError, f"budget {budget} ns exceeds period {period} ns")
    if not isinstance(sc, SchedContext):
        raise KernelError(SeL4Error.InvalidCapability, "the target is not a scheduling context")
    if extra_refills < 0 or extra_refills > refill_absolute_max(sc.size_bits) - MIN_REFILLS:
        raise KernelError(
            SeL4Error.RangeError,
            f"extra_refills {extra_refills} does not fit an SC of 2^{sc.size_bits} bytes",
        )


def invoke_configure(
    k: Scheduler,
    sc: SchedContext,
    budget: int,
    period: int,
    extra_refills: int,
    badge: int,
    sporadic: bool,
) -> None:
    """``invokeSchedControl_ConfigureFlags``. ``budget == period`` makes a round-robin SC.
    Reconfiguring the SC of a runnable thread keeps only its head refill (``refill_update``);
    any other SC gets a full budget now."""
    t = sc.tcb
    if t is not None:
        k.release_remove(t)
        k.ready.dequeue(t)
        if sc is k.cur_sc:
            k.commit_time()
    now = k.now
    if budget == period:
        refill_new(sc, MIN_REFILLS, budget, 0, now)
    elif is_active(sc) and t is not None and k.runnable(t):
        refill_update(sc, period, budget, extra_refills + MIN_REFILLS, now)
    else:
        refill_new(sc, extra_refills + MIN_REFILLS, budget, period, now)
    sc.budget = budget
    if t is not None:
        k.sched_context_resume(sc)
        if k.runnable(t) and t is not k.cur:
            k.possible_switch_to(t)
        if t is k.cur:
            k.reschedule_required()
    sc.badge = badge
    sc.sporadic = sporadic


def configure(
    k: Scheduler,
    sc: Any,
    budget: int,
    period: int,
    extra_refills: int = 0,
    badge: int = 0,
    sporadic: bool = False,
) -> None:
    """``SchedControl_ConfigureFlags`` as a root task makes it at boot: checked, then done."""
    decode_configure(k, sc, budget, period, extra_refills)
    invoke_configure(k, sc, budget, period, extra_refills, badge, sporadic)


def decode_bind(k: Scheduler, sc: Any, target: Any) -> None:
    """``decodeSchedContext_Bind``."""
    if not isinstance(sc, SchedContext):
        raise KernelError(
            SeL4Error.InvalidCapability, "the first argument is not a scheduling context"
        )
    if isinstance(target, Notification):
        if sc.notification is not None or target.sc is not None:
            raise KernelError(SeL4Error.IllegalOperation, "already bound")
        return
    if not isinstance(target, TCB):
        raise KernelError(
            SeL4Error.InvalidCapability, "bind target is neither a thread nor a notification"
        )
    if sc.tcb is not None or target.sc is not None:
        raise KernelError(SeL4Error.IllegalOperation, "the SC or the thread is already bound")
    blocked = not k.runnable(target) and target.state != INACTIVE
    if blocked and not is_released(sc, k.now):
        raise KernelError(
            SeL4Error.IllegalOperation, "binding an unreleased SC to a blocked thread"
        )


def invoke_bind(k: Scheduler, sc: SchedContext, target: TCB | Notification) -> None:
    """``schedContext_bindNtfn`` or ``schedContext_bindTCB``."""
    if isinstance(target, Notification):
        sc.notification = target
        target.sc = sc
        return
    sc.tcb = target
    target.sc = sc
    sc.home = target
    if is_sporadic(sc) and is_active(sc) and sc is not k.cur_sc:
        k.unblock_check(sc)
    k.sched_context_resume(sc)
    if k.schedulable(target):
        k.ready.enqueue(target)
        k.reschedule_required()


def bind(k: Scheduler, sc: Any, target: Any) -> None:
    """``SchedContext_Bind`` at boot: checked, then done."""
    decode_bind(k, sc, target)
    invoke_bind(k, sc, target)


def decode_unbind(k: Scheduler, sc: Any) -> None:
    """``decodeSchedContext_Unbind``."""
    if not isinstance(sc, SchedContext):
        raise KernelError(SeL4Error.InvalidCapability, "not a scheduling context")
    if sc.tcb is not None and sc.tcb is k.cur:
        raise KernelError(SeL4Error.IllegalOperation, "cannot unbind the SC of the current thread")


def invoke_unbind(k: Scheduler, sc: SchedContext) -> None:
    """``invokeSchedContext_Unbind``: from its thread, its notification and its call stack."""
    t = sc.tcb
    if t is not None:
        k.ready.dequeue(t)
        k.release_remove(t)
        t.sc = None
        sc.tcb = None
    if sc.notification is not None:
        sc.notification.sc = None
        sc.notification = None
    if sc.reply is not None:  # schedContext_unbindReply: the call stack no longer leads here
        sc.reply.next = None
        sc.reply = None


def consumed(sc: SchedContext) -> int:
    """``SchedContext_Consumed``: committed time since the last report, in ns; resets it."""
    c = sc.consumed
    sc.consumed = 0
    return c


def decode_yield_to(k: Scheduler, caller: TCB, sc: Any) -> None:
    """``decodeSchedContext_YieldTo``."""
    if not isinstance(sc, SchedContext):
        raise KernelError(SeL4Error.InvalidCapability, "not a scheduling context")
    t = sc.tcb
    if t is None:
        raise KernelError(SeL4Error.IllegalOperation, "the SC has no thread")
    if t is caller:
        raise KernelError(SeL4Error.IllegalOperation, "cannot YieldTo one's own SC")
    if t.prio > caller.mcp:
        raise KernelError(SeL4Error.IllegalOperation, "target priority above the caller's MCP")


def invoke_yield_to(k: Scheduler, caller: TCB, sc: SchedContext) -> None:
    """``invokeSchedContext_YieldTo``: a lower-priority target is only requeued; otherwise the
    caller waits, queued, until the target's SC is next charged (``complete_yield_to``)."""
    t = sc.tcb
    assert t is not None  # decode_yield_to refused an SC without a thread
    if sc.yield_from is not None:
        complete_yield_to(k, sc.yield_from)
    k.sched_context_resume(sc)
    if k.schedulable(t):
        if t.prio < caller.prio:
            k.ready.dequeue(t)
            k.ready.enqueue(t)
            caller.result = consumed(sc)
        else:
            caller.yield_to = sc
            sc.yield_from = caller
            k.ready.dequeue(t)
            k.ready.enqueue(caller)
            k.ready.enqueue(t)
            k.reschedule_required()
    else:
        caller.result = consumed(sc)


def complete_yield_to(k: Scheduler, yielder: TCB) -> None:
    sc = yielder.yield_to
    if sc is not None:
        yielder.result = consumed(sc)
        sc.yield_from = None
        yielder.yield_to = None
