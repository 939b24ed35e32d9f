"""Thread invocations: Suspend, Resume (``restart``), SetPriority, and IPC cancellation
(docs/mcs-semantics.md sections 4.5, 7.6 and 10)."""

from __future__ import annotations

from sporadic.errors import KernelError, SeL4Error
from sporadic.kernel.objects import NTFN_IDLE, TCB, insert_by_priority
from sporadic.kernel.reply import reply_remove_tcb
from sporadic.scheduler.core import Scheduler
from sporadic.scheduler.refills import is_sporadic
from sporadic.scheduler.states import (
    BLOCKED_ON_NOTIFICATION,
    BLOCKED_ON_RECEIVE,
    BLOCKED_ON_REPLY,
    BLOCKED_ON_SEND,
    INACTIVE,
    RESTART,
    RUNNING,
)

_STOPPED = frozenset(
    (INACTIVE, BLOCKED_ON_RECEIVE, BLOCKED_ON_SEND, BLOCKED_ON_REPLY, BLOCKED_ON_NOTIFICATION)
)


def cancel_ipc(k: Scheduler, t: TCB) -> None:
    """``cancelIPC``: take ``t`` out of whatever it is blocked in and make it Inactive; a
    caller waiting for a reply is cut out of the call stack (its SC stays where it is).
    Cancelling IPC also cancels a pending fault."""
    t.fault = None
    state = t.state
    obj = t.waiting_on
    if state == BLOCKED_ON_NOTIFICATION:
        obj.queue.remove(t)
        if not obj.queue:
            obj.state = NTFN_IDLE
    elif state == BLOCKED_ON_SEND:
        obj.send_queue.remove(t)
        t.message = None
    elif state == BLOCKED_ON_RECEIVE:
        obj.recv_queue.remove(t)
        if t.reply is not None:
            t.reply.tcb = None
            t.reply = None
    elif state == BLOCKED_ON_REPLY:
        reply_remove_tcb(k, t)
        return
    else:
        return
    t.waiting_on = None
    k.set_state(t, INACTIVE)


def suspend(k: Scheduler, t: TCB) -> None:
    cancel_ipc(k, t)
    t.blocked_action = None
    k.set_state(t, INACTIVE)
    k.ready.dequeue(t)
    k.release_remove(t)
    if t.yield_to is not None:
        t.yield_to.yield_from = None
        t.yield_to = None


def restart(k: Scheduler, t: TCB) -> None:
    """Resume a stopped thread. A thread stopped inside a blocking syscall re-executes it, and a
    thread whose head refill lies in the future goes straight back to the release queue, so
    suspend/resume cannot gain budget (SCHED0016)."""
    if t.state not in _STOPPED:
        return
    blocked = t.blocked_action if t.state != INACTIVE else None
    cancel_ipc(k, t)
    t.blocked_action = None
    t.fault = None
    k.set_state(t, RESTART)
    sc = t.sc
    if is_sporadic(sc) and sc is not k.cur_sc:
        k.unblock_check(sc)
    k.sched_context_resume(sc)
    if blocked is not None:
        t.retry = blocked
    if k.schedulable(t):
        k.possible_switch_to(t)


def decode_set_priority(caller: TCB, prio: int) -> None:
    """``decodeSetPriority``: a thread may give no priority above its own MCP."""
    if not 0 <= prio <= caller.mcp:
        raise KernelError(
            SeL4Error.RangeError, f"priority {prio} exceeds the caller's MCP {caller.mcp}"
        )


def invoke_set_priority(k: Scheduler, t: TCB, prio: int) -> None:
    """``setPriority``: requeue a queued or running thread at its new priority (head), or move
    a blocked one within its IPC queue."""
    state = t.state
    if state in (RUNNING, RESTART):
        if t.queued or t is k.cur:
            k.ready.dequeue(t)
            t.prio = prio
            k.ready.enqueue(t)
            k.reschedule_required()
        else:
            t.prio = prio
    elif state in (BLOCKED_ON_RECEIVE, BLOCKED_ON_SEND, BLOCKED_ON_NOTIFICATION):
        queue = (
            t.waiting_on.queue
            if state == BLOCKED_ON_NOTIFICATION
            else (
                t.waiting_on.recv_queue if state == BLOCKED_ON_RECEIVE else t.waiting_on.send_queue
            )
        )
        queue.remove(t)
        t.prio = prio
        insert_by_priority(queue, t)
    else:
        t.prio = prio
