"""Endpoints, reply objects and fault IPC, as far as timeout faults need them
(spec/mcs-semantics.md sections 8.2-8.5 and 9).

A timeout fault is sent like a Call on the thread's timeout endpoint: a handler waiting with a
reply object receives the fault message and the faulted thread blocks on that reply; replying
with label 0 restarts it. Timeout faults never donate the SC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sporadic.kernel import events as ev
from sporadic.kernel.objects import (
    BLOCKED_ON_RECEIVE,
    BLOCKED_ON_REPLY,
    BLOCKED_ON_SEND,
    FAULT_TIMEOUT,
    INACTIVE,
    RESTART,
    RUNNING,
    TCB,
    Endpoint,
    Message,
    Reply,
    TimeoutFault,
    insert_by_priority,
)

if TYPE_CHECKING:
    from sporadic.kernel.kernel import Kernel


def own_reply(t: TCB) -> Reply:
    if t.own_reply is None:
        t.own_reply = Reply(f"{t.name}.reply")
    return t.own_reply


def _fault_message(k: Kernel, sender: TCB, badge: int) -> Message:
    """The timeout-fault message: ``(scBadge at raise time, consumed ns)``. Producing it resets
    the SC's consumed time, as ``setMRs_fault`` does."""
    sc = sender.sc
    consumed = 0
    if sc is not None:
        consumed = sc.consumed
        sc.consumed = 0
    return Message(badge, FAULT_TIMEOUT, (sender.fault.badge, consumed), k.now)


def handle_timeout(k: Kernel, t: TCB) -> None:
    sc = t.sc
    t.fault = TimeoutFault(sc.badge)
    k.sink((ev.TIMEOUT_FAULT, k.now, t.id, sc.id, sc.badge, sc.consumed))
    send_fault_ipc(k, t, t.timeout_handler, t.timeout_badge)


def send_fault_ipc(k: Kernel, t: TCB, ep: Endpoint, badge: int) -> None:
    if ep.recv_queue:
        dest = ep.recv_queue.pop(0)
        reply = dest.reply
        dest.reply = None
        if reply is not None:
            reply.tcb = None
        dest.result = _fault_message(k, t, badge)
        if reply is not None:
            reply_push(k, t, reply)
        else:
            k.set_state(t, INACTIVE)
        dest.waiting_on = None
        dest.blocked_action = None
        k.set_state(dest, RUNNING)
        sc = dest.sc
        if sc is not None and sc.sporadic and sc is not k.cur_sc:
            k.unblock_check(sc)
        k.possible_switch_to(dest)
    else:
        t.waiting_on = ep
        t.message = Message(badge, FAULT_TIMEOUT, ())
        k.set_state(t, BLOCKED_ON_SEND)
        insert_by_priority(ep.send_queue, t)


def reply_push(k: Kernel, caller: TCB, reply: Reply) -> None:
    reply.tcb = caller
    caller.reply = reply
    caller.waiting_on = reply
    k.set_state(caller, BLOCKED_ON_REPLY)


def reply_remove(k: Kernel, reply: Reply, caller: TCB) -> None:
    """Unlink ``caller`` from ``reply``; it is Inactive until its final state is set."""
    reply.tcb = None
    caller.reply = None
    caller.waiting_on = None
    k.set_state(caller, INACTIVE)


def receive_ipc(k: Kernel, t: TCB, ep: Endpoint, action: Any) -> None:
    reply = own_reply(t)
    holder = reply.tcb
    if holder is not None and holder is not t and holder.state == BLOCKED_ON_REPLY:
        reply_remove(k, reply, holder)
    if ep.send_queue:
        sender = ep.send_queue.pop(0)
        sender.waiting_on = None
        sc = sender.sc
        if sc is not None and sc.sporadic and sc is not k.cur_sc:
            k.unblock_check(sc)
        t.result = _fault_message(k, sender, sender.message.badge)
        sender.message = None
        reply_push(k, sender, reply)
    else:
        t.waiting_on = ep
        t.blocked_action = action
        t.reply = reply
        reply.tcb = t
        k.set_state(t, BLOCKED_ON_RECEIVE)
        insert_by_priority(ep.recv_queue, t)


def do_reply_transfer(k: Kernel, t: TCB, label: int, words: tuple[int, ...]) -> None:
    reply = own_reply(t)
    r = reply.tcb
    if r is None or r.state != BLOCKED_ON_REPLY:
        return
    reply_remove(k, reply, r)
    sc = r.sc
    if sc is not None and sc.sporadic and sc is not k.cur_sc:
        k.unblock_check(sc)
    fault = r.fault
    if fault is None:
        r.result = Message(0, label, tuple(words), k.now)
        k.set_state(r, RUNNING)
    else:
        r.fault = None
        k.set_state(r, RESTART if label == 0 else INACTIVE)
    if sc is not None and r.state in (RUNNING, RESTART):
        if k.ready_and_sufficient(sc):
            k.possible_switch_to(r)
        elif r.timeout_handler is not None and not isinstance(fault, TimeoutFault):
            handle_timeout(k, r)
        else:
            k.postpone(sc)


__all__ = [
    "BLOCKED_ON_RECEIVE",
    "do_reply_transfer",
    "handle_timeout",
    "receive_ipc",
    "reply_push",
    "reply_remove",
    "send_fault_ipc",
]
