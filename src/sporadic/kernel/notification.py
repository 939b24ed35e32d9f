"""Notifications: signal, wait, poll (spec/mcs-semantics.md section 8.6).

A notification is a binary semaphore with a word: signals to an active notification OR their
badges together, so several signals before a wait are seen as one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sporadic.kernel.objects import (
    BLOCKED_ON_NOTIFICATION,
    BLOCKED_ON_RECEIVE,
    NTFN_ACTIVE,
    NTFN_IDLE,
    NTFN_WAITING,
    RUNNING,
    TCB,
    Notification,
    insert_by_priority,
)

if TYPE_CHECKING:
    from sporadic.kernel.kernel import Kernel


def send_signal(k: Kernel, ntfn: Notification, badge: int) -> None:
    state = ntfn.state
    if state == NTFN_IDLE:
        t = ntfn.bound_tcb
        if t is not None and t.state == BLOCKED_ON_RECEIVE:
            from sporadic.kernel.tcb import cancel_ipc

            cancel_ipc(k, t)
            t.blocked_action = None
            k.set_state(t, RUNNING)
            t.result = badge
            k.possible_switch_to(t)
            _sporadic_unblock(k, t)
        else:
            ntfn.state = NTFN_ACTIVE
            ntfn.badge = badge
    elif state == NTFN_WAITING:
        dest = ntfn.queue.pop(0)
        if not ntfn.queue:
            ntfn.state = NTFN_IDLE
        dest.waiting_on = None
        dest.blocked_action = None
        k.set_state(dest, RUNNING)
        dest.result = badge
        k.possible_switch_to(dest)
        _sporadic_unblock(k, dest)
    else:
        ntfn.badge |= badge


def _sporadic_unblock(k: Kernel, t: TCB) -> None:
    sc = t.sc
    if sc is not None and sc.sporadic and sc is not k.cur_sc:
        k.unblock_check(sc)


def receive_signal(k: Kernel, t: TCB, ntfn: Notification, blocking: bool, action: object) -> None:
    if ntfn.state == NTFN_ACTIVE:
        t.result = ntfn.badge
        ntfn.badge = 0
        ntfn.state = NTFN_IDLE
    elif blocking:
        t.waiting_on = ntfn
        t.blocked_action = action
        k.set_state(t, BLOCKED_ON_NOTIFICATION)
        insert_by_priority(ntfn.queue, t)
        ntfn.state = NTFN_WAITING
    else:
        t.result = 0
