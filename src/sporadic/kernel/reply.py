"""Reply objects and the call stack of donated SCs (``src/object/reply.c``;
docs/mcs-semantics.md section 8.4).

A Call to a passive server pushes the caller's reply object on the SC's call stack and donates
the SC; the reply pops it and gives the SC back, so the budget follows the chain of calls and
returns along it.
"""

from __future__ import annotations

from sporadic import records as ev
from sporadic.kernel.objects import TCB, Reply, SchedContext
from sporadic.scheduler.core import Scheduler
from sporadic.scheduler.states import BLOCKED_ON_REPLY, INACTIVE


def sched_context_donate(k: Scheduler, sc: SchedContext, to: TCB) -> None:
    """Move ``sc`` from its holder to ``to``; no refill changes, no unblock check."""
    frm = sc.tcb
    if frm is not None:
        k.ready.dequeue(frm)
        k.release_remove(frm)
        frm.sc = None
        if frm is k.cur or frm is k.action:
            k.reschedule_required()
    sc.tcb = to
    to.sc = sc
    k.sink((ev.DONATE, k.now, sc.id, -1 if frm is None else frm.id, to.id))


def reply_push(k: Scheduler, caller: TCB, callee: TCB, reply: Reply, can_donate: bool) -> None:
    sc = caller.sc
    reply.tcb = caller
    caller.reply = reply
    caller.waiting_on = reply
    k.set_state(caller, BLOCKED_ON_REPLY)
    if sc is not None and callee.sc is None and can_donate:
        old = sc.reply
        reply.prev = old
        if old is not None:
            old.next = reply
        reply.next = sc
        sc.reply = reply
        sched_context_donate(k, sc, callee)


def _unlink(k: Scheduler, reply: Reply, t: TCB) -> None:
    """``reply_unlink``: the thread and the reply object forget each other; it is Inactive."""
    reply.tcb = None
    t.reply = None
    t.waiting_on = None
    k.set_state(t, INACTIVE)


def reply_pop(k: Scheduler, reply: Reply, t: TCB) -> None:
    """Pop the head of the call stack; the SC goes back to ``t`` unless it has got another."""
    _unlink(k, reply, t)
    sc = reply.next
    prev = reply.prev
    reply.prev = reply.next = None
    if isinstance(sc, SchedContext):
        sc.reply = prev
        if prev is not None:
            prev.next = sc
        if t.sc is None:
            sched_context_donate(k, sc, t)


def reply_remove(k: Scheduler, reply: Reply, t: TCB) -> None:
    """Remove ``reply`` from its call stack: pop it at the head, else cut the chain there."""
    nxt = reply.next
    if isinstance(nxt, SchedContext):
        reply_pop(k, reply, t)
        return
    if nxt is not None:
        nxt.prev = None
    if reply.prev is not None:
        reply.prev.next = None
    reply.prev = reply.next = None
    _unlink(k, reply, t)


def reply_remove_tcb(k: Scheduler, t: TCB) -> None:
    """Cancel the call of ``t`` (BlockedOnReply): it leaves the stack, the SC stays put."""
    reply = t.reply
    assert reply is not None  # BlockedOnReply: the thread holds its reply object
    nxt = reply.next
    if isinstance(nxt, SchedContext):
        nxt.reply = None
    elif nxt is not None:
        nxt.prev = None
    prev = reply.prev
    if prev is not None:
        prev.next = None
    reply.prev = reply.next = None
    _unlink(k, reply, t)


def reply_unlink_receiver(reply: Reply, t: TCB) -> None:
    """A receiver that waited with ``reply`` got its message or was cancelled."""
    reply.tcb = None
    t.reply = None
