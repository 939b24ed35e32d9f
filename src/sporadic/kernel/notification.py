"""Notifications: signal, wait, poll, bound notifications and notification-bound SCs
(``src/object/notification.c``; docs/mcs-semantics.md section 8.6).

A notification is a binary semaphore with a word: signals to an active notification OR their
badges together, so several signals before a wait are seen as one. An SC bound to a
notification is lent to the thread that receives a signal and taken back when that thread
blocks again: this is how a passive Microkit PD runs its ``notified`` handler.
"""

from __future__ import annotations

from sporadic import records as ev
from sporadic.errors import KernelError, SeL4Error
from sporadic.kernel.objects import (
    NTFN_ACTIVE,
    NTFN_IDLE,
    NTFN_WAITING,
    TCB,
    Message,
    Notification,
    insert_by_priority,
)
from sporadic.kernel.reply import sched_context_donate
from sporadic.kernel.tcb import cancel_ipc
from sporadic.scheduler.core import Scheduler
from sporadic.scheduler.refills import is_sporadic
from sporadic.scheduler.states import BLOCKED_ON_NOTIFICATION, BLOCKED_ON_RECEIVE, RUNNING


def maybe_donate_sched_context(k: Scheduler, t: TCB, ntfn: Notification) -> None:
    if t.sc is None:
        sc = ntfn.sc
        if sc is not None and sc.tcb is None:
            sched_context_donate(k, sc, t)
            k.sched_context_resume(sc)


def maybe_return_sched_context(k: Scheduler, ntfn: Notification, t: TCB) -> None:
    """A thread blocking again gives the notification's SC back and becomes passive."""
    sc = ntfn.sc
    if sc is not None and sc is t.sc:
        t.sc = None
        sc.tcb = None
        k.sink((ev.DONATE, k.now, sc.id, t.id, -1))
        if t is k.cur:
            k.reschedule_required()


def _wake(k: Scheduler, t: TCB, ntfn: Notification, badge: int, as_message: bool) -> None:
    k.set_state(t, RUNNING)
    t.result = Message(badge, 0, (), k.now) if as_message else badge
    maybe_donate_sched_context(k, t, ntfn)
    if k.schedulable(t):
        k.possible_switch_to(t)
    sc = t.sc
    if is_sporadic(sc) and sc is not k.cur_sc:
        k.unblock_check(sc)


def send_signal(k: Scheduler, ntfn: Notification, badge: int, sender: TCB | None = None) -> None:
    state = ntfn.state
    woken = -1
    if state == NTFN_IDLE:
        t = ntfn.bound_tcb
        if t is not None and t.state == BLOCKED_ON_RECEIVE:
            cancel_ipc(k, t)
            t.blocked_action = None
            _wake(k, t, ntfn, badge, True)
            woken = t.id
        else:
            ntfn.state = NTFN_ACTIVE
            ntfn.badge = badge
            ntfn.since = k.now
    elif state == NTFN_WAITING:
        dest = ntfn.queue.pop(0)
        if not ntfn.queue:
            ntfn.state = NTFN_IDLE
        dest.waiting_on = None
        dest.blocked_action = None
        _wake(k, dest, ntfn, badge, False)
        woken = dest.id
    else:
        ntfn.badge |= badge
    if sender is not None:
        k.sink((ev.SIGNAL, k.now, sender.id, ntfn.id, woken))


def receive_signal(
    k: Scheduler, t: TCB, ntfn: Notification, blocking: bool, action: object
) -> None:
    if ntfn.state == NTFN_ACTIVE:
        t.result = ntfn.badge
        ntfn.badge = 0
        ntfn.state = NTFN_IDLE
        maybe_donate_sched_context(k, t, ntfn)
        sc = t.sc
        if sc is not k.cur_sc and is_sporadic(sc):
            k.unblock_check(sc)
    elif blocking:
        t.waiting_on = ntfn
        t.blocked_action = action
        k.set_state(t, BLOCKED_ON_NOTIFICATION)
        insert_by_priority(ntfn.queue, t)
        ntfn.state = NTFN_WAITING
        maybe_return_sched_context(k, ntfn, t)
    else:
        t.result = 0


def complete_signal(k: Scheduler, ntfn: Notification, t: TCB) -> None:
    """A receive on an endpoint finds the bound notification active: take its word."""
    t.result = Message(ntfn.badge, 0, (), ntfn.since)
    ntfn.badge = 0
    ntfn.state = NTFN_IDLE
    maybe_donate_sched_context(k, t, ntfn)
    sc = t.sc
    if is_sporadic(sc) and sc is ntfn.sc and sc is not k.cur_sc:
        k.unblock_check(sc)


def decode_bind_notification(t: TCB, ntfn: Notification) -> None:
    """``decodeBindNotification``: neither side may be bound already."""
    if t.bound_notification is not None or ntfn.bound_tcb is not None:
        raise KernelError(SeL4Error.IllegalOperation, "thread or notification already bound")


def invoke_bind_notification(t: TCB, ntfn: Notification) -> None:
    """``bindNotification``."""
    t.bound_notification = ntfn
    ntfn.bound_tcb = t


def bind_notification(t: TCB, ntfn: Notification) -> None:
    """``TCB_BindNotification`` at boot: checked, then done."""
    decode_bind_notification(t, ntfn)
    invoke_bind_notification(t, ntfn)


def unbind_notification(t: TCB) -> None:
    ntfn = t.bound_notification
    if ntfn is not None:
        ntfn.bound_tcb = None
        t.bound_notification = None
