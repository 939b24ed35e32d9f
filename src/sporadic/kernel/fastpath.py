"""The IPC fastpath (``src/fastpath/fastpath.c``; docs/mcs-semantics.md section 5).

seL4 takes a ``Call`` to a passive server waiting with a reply object, and a ``ReplyRecv`` that
gives the SC back to a caller able to run at once, through a path of its own. The fastpath does
the same IPC and donation as the slowpath, but it does not read the clock (``updateTimestamp``),
does not check the budget (``checkBudgetRestart``), releases nothing and programs no timer: it
switches straight to the other thread. The time it takes is charged, with everything else, at
the next kernel entry that reads the clock, to the same SC (the SC moves with the IPC).

So the one thing that differs in scheduling: a thread with less than ``MIN_BUDGET`` left still
makes its call, where the slowpath would have ended its timeslice first. Each check below is
one of ``fastpath_call``'s or ``fastpath_reply_recv``'s ``slowpath(...)`` exits that sporadic's
objects can reach.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sporadic.kernel.endpoint import own_reply
from sporadic.kernel.objects import NTFN_ACTIVE, TCB, Endpoint
from sporadic.kernel.syscalls import Call, ReplyRecv
from sporadic.scheduler.core import RESUME_CURRENT, Scheduler

# n_msgRegisters on aarch64: a longer message goes through the slowpath (fastpath_mi_check)
FAST_MESSAGE_WORDS = 4


def call_target(k: Scheduler, cur: TCB, a: Call) -> TCB | None:
    """``fastpath_call``'s checks: the passive receiver the call switches to, or None."""
    ep = a.ep
    if type(ep) is not Endpoint or not ep.recv_queue or len(a.words) > FAST_MESSAGE_WORDS:
        return None
    dest = ep.recv_queue[0]
    if dest.sc is not None or dest.reply is None:
        return None
    if dest.prio < cur.prio and not k.ready.is_highest_prio(k.cur_domain, dest.prio):
        return None
    if k.num_domains > 1 and dest.domain != k.cur_domain:
        return None
    return dest


def reply_recv_target(k: Scheduler, cur: TCB, a: ReplyRecv) -> TCB | None:
    """``fastpath_reply_recv``'s checks: the caller the reply switches to, or None."""
    ep = a.ep
    if type(ep) is not Endpoint or ep.send_queue or len(a.words) > FAST_MESSAGE_WORDS:
        return None
    ntfn = cur.bound_notification
    if ntfn is not None and ntfn.state == NTFN_ACTIVE:
        return None
    reply = own_reply(cur)
    caller = reply.tcb
    # the reply must head the call stack of the SC the current thread runs on
    if caller is None or reply.next is not cur.sc or caller.fault is not None:
        return None
    if not k.ready.is_highest_prio(k.cur_domain, caller.prio):
        return None
    if k.num_domains > 1 and caller.domain != k.cur_domain:
        return None
    if caller.sc is not None:
        return None
    return caller


TARGETS: dict[type, Callable[[Scheduler, TCB, Any], TCB | None]] = {
    Call: call_target,
    ReplyRecv: reply_recv_target,
}


def fastpath_entry(
    k: Any, cur: TCB, action: Any, handler: Callable[..., None], dest: TCB, cost: int
) -> None:
    """The fastpath on kernel ``k``: the IPC, then a switch to ``dest``, ``cost`` ns from the
    trap to ``dest``'s first instruction. ``ksCurTime`` keeps its value; the records carry
    the time of the trap."""
    t = k.hw
    now = k.now
    k.now = t
    k.fast = True
    handler(k, cur, action)
    k.switch_to(dest)
    k.action = RESUME_CURRENT
    k.fast = False
    k.now = now
    k.hw = t + cost


__all__ = ["FAST_MESSAGE_WORDS", "TARGETS", "call_target", "fastpath_entry", "reply_recv_target"]
