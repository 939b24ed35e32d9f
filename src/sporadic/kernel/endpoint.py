"""Endpoints: sendIPC, receiveIPC, doReplyTransfer and timeout-fault delivery
(``src/object/endpoint.c``, ``src/api/faults.c``; docs/mcs-semantics.md sections 8 and 9).

Queues are by priority, FIFO within one. A Call (or a fault) to a receiver waiting with a reply
object pushes that reply on the caller's SC call stack and, if the receiver has no SC of its own,
donates the SC: a passive server runs at its own priority on its client's budget. ``Send`` never
donates; ``NBSendRecv``/``NBSendWait`` donate one way. Timeout faults never donate.
"""

from __future__ import annotations

from typing import Any

from sporadic import records as ev
from sporadic.kernel.notification import complete_signal, maybe_return_sched_context
from sporadic.kernel.objects import (
    FAULT_TIMEOUT,
    NTFN_ACTIVE,
    TCB,
    Endpoint,
    Message,
    Reply,
    TimeoutFault,
    insert_by_priority,
)
from sporadic.kernel.reply import (
    reply_push,
    reply_remove,
    reply_unlink_receiver,
    sched_context_donate,
)
from sporadic.kernel.tcb import cancel_ipc
from sporadic.scheduler.core import Scheduler
from sporadic.scheduler.refills import is_sporadic
from sporadic.scheduler.states import (
    BLOCKED_ON_RECEIVE,
    BLOCKED_ON_REPLY,
    BLOCKED_ON_SEND,
    INACTIVE,
    RESTART,
    RUNNING,
)


def own_reply(t: TCB) -> Reply:
    """The thread's reply object (one per thread, created on first use)."""
    if t.own_reply is None:
        t.own_reply = Reply(f"{t.name}.reply")
    return t.own_reply


def _transfer(k: Scheduler, sender: TCB, msg: Message) -> Message:
    """``doIPCTransfer``: a faulted sender delivers its fault message instead.

    The timeout-fault message is ``(scBadge at raise time, consumed ns)``; producing it resets
    the SC's consumed time, as ``setMRs_fault`` does. The consumed word is only there if the
    faulted thread still holds an SC when the message is delivered (docs/mcs-semantics.md
    section 9)."""
    fault = sender.fault
    if fault is None:
        return Message(msg.badge, msg.label, msg.words, k.now)
    sc = sender.sc
    if sc is None:
        return Message(msg.badge, FAULT_TIMEOUT, (fault.badge,), k.now)
    consumed = sc.consumed
    sc.consumed = 0
    return Message(msg.badge, FAULT_TIMEOUT, (fault.badge, consumed), k.now)


def _unblock(k: Scheduler, t: TCB) -> None:
    sc = t.sc
    if is_sporadic(sc) and sc is not k.cur_sc:
        k.unblock_check(sc)


def send_ipc(
    k: Scheduler,
    t: TCB,
    ep: Endpoint,
    msg: Message,
    *,
    blocking: bool,
    do_call: bool,
    can_donate: bool,
    can_grant: bool = True,
    action: Any = None,
) -> None:
    kind = ev.IPC_CALL if do_call else ev.IPC_SEND
    if ep.recv_queue:
        dest = ep.recv_queue.pop(0)
        dest.waiting_on = None
        dest.blocked_action = None
        k.sink((kind, k.now, t.id, ep.id, dest.id))
        dest.result = _transfer(k, t, msg)
        reply = dest.reply
        if reply is not None:
            reply_unlink_receiver(reply, dest)
        if do_call or t.fault is not None:
            if reply is not None and can_grant:
                reply_push(k, t, dest, reply, can_donate)
            else:
                k.set_state(t, INACTIVE)
        elif can_donate and dest.sc is None and t.sc is not None:
            sched_context_donate(k, t.sc, dest)
        k.set_state(dest, RUNNING)
        _unblock(k, dest)
        k.possible_switch_to(dest)
    elif blocking:
        k.sink((kind, k.now, t.id, ep.id, -1))
        t.waiting_on = ep
        t.message = msg
        t.send_call = do_call
        t.send_grant = can_grant
        t.blocked_action = action
        k.set_state(t, BLOCKED_ON_SEND)
        insert_by_priority(ep.send_queue, t)
    else:
        k.sink((kind, k.now, t.id, ep.id, -1))


def receive_ipc(
    k: Scheduler, t: TCB, ep: Endpoint, blocking: bool, reply: Reply | None, action: Any
) -> None:
    if reply is not None and reply.tcb is not None and reply.tcb is not t:
        cancel_ipc(k, reply.tcb)
    ntfn = t.bound_notification
    if ntfn is not None and ntfn.state == NTFN_ACTIVE:
        complete_signal(k, ntfn, t)
        return
    if ntfn is not None and blocking:
        maybe_return_sched_context(k, ntfn, t)
    if ep.send_queue:
        sender = ep.send_queue.pop(0)
        sender.waiting_on = None
        sender.blocked_action = None
        k.sink((ev.IPC_RECV, k.now, t.id, ep.id, sender.id))
        message = sender.message
        assert message is not None  # every BlockedOnSend thread holds its message
        t.result = _transfer(k, sender, message)
        sender.message = None
        _unblock(k, sender)
        if sender.send_call or sender.fault is not None:
            if sender.send_grant and reply is not None:
                can_donate = sender.sc is not None and not isinstance(sender.fault, TimeoutFault)
                reply_push(k, sender, t, reply, can_donate)
            else:
                k.set_state(sender, INACTIVE)
        else:
            k.set_state(sender, RUNNING)
            k.possible_switch_to(sender)
    elif blocking:
        t.waiting_on = ep
        t.blocked_action = action
        t.reply = reply
        if reply is not None:
            reply.tcb = t
        k.set_state(t, BLOCKED_ON_RECEIVE)
        insert_by_priority(ep.recv_queue, t)
    else:
        t.result = Message(0, 0, (), k.now)


def do_reply_transfer(
    k: Scheduler, t: TCB, reply: Reply, label: int, words: tuple[int, ...]
) -> None:
    """Reply through ``reply``: the SC returns to the caller, a fault reply restarts (label 0)
    or stops it, and a caller whose budget is gone is postponed or faults (section 8.5)."""
    r = reply.tcb
    if r is None or r.state != BLOCKED_ON_REPLY:
        return
    k.sink((ev.IPC_REPLY, k.now, t.id, r.id))
    fault = r.fault
    r.blocked_action = None
    reply_remove(k, reply, r)
    _unblock(k, r)
    if fault is None:
        r.result = Message(0, label, tuple(words), k.now)
        k.set_state(r, RUNNING)
    else:
        r.fault = None
        k.set_state(r, RESTART if label == 0 else INACTIVE)
    sc = r.sc
    if sc is not None and r.state in (RUNNING, RESTART):
        if k.ready_and_sufficient(sc):
            k.possible_switch_to(r)
        elif r.timeout_handler is not None and not isinstance(fault, TimeoutFault):
            handle_timeout(k, r)
        else:
            k.postpone(sc)


def handle_timeout(k: Scheduler, t: TCB) -> None:
    """Send the timeout fault of ``t`` (the thread running on the exhausted SC, which may be a
    server on a donated SC) to its timeout endpoint, like a Call that never donates."""
    sc = t.sc
    handler = t.timeout_handler
    assert sc is not None and handler is not None  # handle_budget_exhausted checked both
    t.fault = TimeoutFault(sc.badge)
    k.sink((ev.TIMEOUT_FAULT, k.now, t.id, sc.id, sc.badge, sc.consumed))
    send_ipc(
        k,
        t,
        handler,
        Message(t.timeout_badge, FAULT_TIMEOUT, ()),
        blocking=True,
        do_call=False,
        can_donate=False,
    )


__all__ = [
    "do_reply_transfer",
    "handle_timeout",
    "own_reply",
    "receive_ipc",
    "send_ipc",
]
