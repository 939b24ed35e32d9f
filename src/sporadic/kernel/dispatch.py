"""System-call dispatch: one handler per syscall action type (``handleSyscall``).

A handler finds the objects the call names (``InvalidCapability`` when one is of the wrong
type), runs the invocation's ``decode_*`` check and then its ``invoke_*`` step. A ``KernelError``
it raises is the syscall's seL4 error: the kernel entry makes it the result and a
``syscall_error`` record.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sporadic import records as ev
from sporadic.errors import KernelError, SeL4Error
from sporadic.kernel import schedcontext, syscalls
from sporadic.kernel.endpoint import do_reply_transfer, own_reply, receive_ipc, send_ipc
from sporadic.kernel.notification import (
    decode_bind_notification,
    invoke_bind_notification,
    receive_signal,
    send_signal,
    unbind_notification,
)
from sporadic.kernel.objects import TCB, Endpoint, Message, Notification, SchedContext
from sporadic.kernel.tcb import decode_set_priority, invoke_set_priority, restart, suspend
from sporadic.scheduler.core import Scheduler


def _check(obj: Any, kind: type, what: str) -> Any:
    if not isinstance(obj, kind):
        raise KernelError(SeL4Error.InvalidCapability, f"{obj!r} is not a {what}")
    return obj


def handle_yield(k: Scheduler, cur: TCB, action: syscalls.Yield) -> None:
    """Charge the whole head refill; report only the time really used."""
    sc = k.cur_sc
    real = sc.consumed + k.consumed
    k.charge_budget(sc.refills[0][1], False)
    sc.consumed = real
    k.yielded = True


def _signal(k: Scheduler, cur: TCB, a: syscalls.Signal) -> None:
    send_signal(k, _check(a.ntfn, Notification, "notification"), a.badge, cur)


def _receive(blocking: bool, k: Scheduler, cur: TCB, a: syscalls.Wait | syscalls.Poll) -> None:
    """Wait and Poll take a notification, or an endpoint (a receive without a reply object)."""
    obj = a.ntfn
    if isinstance(obj, Notification):
        receive_signal(k, cur, obj, blocking, a)
    elif isinstance(obj, Endpoint):
        receive_ipc(k, cur, obj, blocking, None, a)
    else:
        raise KernelError(SeL4Error.InvalidCapability, f"{obj!r} is not a notification")


def _message(a: syscalls.Send | syscalls.NBSendRecv) -> Message:
    return Message(a.badge, a.label, tuple(a.words))


def _send(k: Scheduler, cur: TCB, a: syscalls.Send) -> None:
    ep = _check(a.ep, Endpoint, "endpoint")
    send_ipc(k, cur, ep, _message(a), blocking=True, do_call=False, can_donate=False, action=a)


def _nbsend(k: Scheduler, cur: TCB, a: syscalls.NBSend) -> None:
    ep = _check(a.ep, Endpoint, "endpoint")
    send_ipc(k, cur, ep, _message(a), blocking=False, do_call=False, can_donate=False)


def _call(k: Scheduler, cur: TCB, a: syscalls.Call) -> None:
    ep = _check(a.ep, Endpoint, "endpoint")
    cur.blocked_action = a
    send_ipc(k, cur, ep, _message(a), blocking=True, do_call=True, can_donate=True, action=a)


def _nbsend_recv(k: Scheduler, cur: TCB, a: syscalls.NBSendRecv) -> None:
    dest = _check(a.dest, Endpoint, "endpoint")
    src = _check(a.src, Endpoint, "endpoint")
    send_ipc(k, cur, dest, _message(a), blocking=False, do_call=False, can_donate=True)
    reply = None if isinstance(a, syscalls.NBSendWait) else own_reply(cur)
    receive_ipc(k, cur, src, True, reply, syscalls.Recv(src) if reply else syscalls.Wait(src))


def _bind_notification(k: Scheduler, cur: TCB, a: syscalls.BindNotification) -> None:
    t = _check(a.tcb, TCB, "thread")
    ntfn = _check(a.ntfn, Notification, "notification")
    decode_bind_notification(t, ntfn)
    invoke_bind_notification(t, ntfn)


def _unbind_notification(k: Scheduler, cur: TCB, a: syscalls.UnbindNotification) -> None:
    unbind_notification(_check(a.tcb, TCB, "thread"))


def _suspend(k: Scheduler, cur: TCB, a: syscalls.Suspend) -> None:
    suspend(k, _check(a.tcb, TCB, "thread"))


def _resume(k: Scheduler, cur: TCB, a: syscalls.Resume) -> None:
    restart(k, _check(a.tcb, TCB, "thread"))


def _set_priority(k: Scheduler, cur: TCB, a: syscalls.SetPriority) -> None:
    t = _check(a.tcb, TCB, "thread")
    decode_set_priority(cur, a.prio)
    invoke_set_priority(k, t, a.prio)


def _configure(k: Scheduler, cur: TCB, a: syscalls.Configure) -> None:
    schedcontext.decode_configure(k, a.sc, a.budget, a.period, a.extra_refills)
    schedcontext.invoke_configure(k, a.sc, a.budget, a.period, a.extra_refills, a.badge, a.sporadic)


def _bind(k: Scheduler, cur: TCB, a: syscalls.Bind) -> None:
    schedcontext.decode_bind(k, a.sc, a.target)
    schedcontext.invoke_bind(k, a.sc, a.target)


def _unbind(k: Scheduler, cur: TCB, a: syscalls.Unbind) -> None:
    schedcontext.decode_unbind(k, a.sc)
    schedcontext.invoke_unbind(k, a.sc)


def _consumed(k: Scheduler, cur: TCB, a: syscalls.Consumed) -> None:
    cur.result = schedcontext.consumed(_check(a.sc, SchedContext, "SC"))


def _yield_to(k: Scheduler, cur: TCB, a: syscalls.YieldTo) -> None:
    schedcontext.decode_yield_to(k, cur, a.sc)
    schedcontext.invoke_yield_to(k, cur, a.sc)


def _recv(k: Scheduler, cur: TCB, a: syscalls.Recv) -> None:
    receive_ipc(k, cur, _check(a.ep, Endpoint, "endpoint"), True, own_reply(cur), a)


def _reply(k: Scheduler, cur: TCB, a: syscalls.Reply) -> None:
    owner = cur if a.via is None else _check(a.via, TCB, "thread")
    do_reply_transfer(k, cur, own_reply(owner), a.label, a.words)


def _reply_recv(k: Scheduler, cur: TCB, a: syscalls.ReplyRecv) -> None:
    ep = _check(a.ep, Endpoint, "endpoint")
    reply = own_reply(cur)
    do_reply_transfer(k, cur, reply, a.label, a.words)
    receive_ipc(k, cur, ep, True, reply, syscalls.Recv(ep))


def _exit(k: Scheduler, cur: TCB, a: syscalls.Exit) -> None:
    k.sink((ev.THREAD_EXIT, k.now, cur.id))
    suspend(k, cur)


HANDLERS: dict[type, Callable[[Scheduler, TCB, Any], None]] = {
    syscalls.Yield: handle_yield,
    syscalls.Signal: _signal,
    syscalls.Wait: partial(_receive, True),
    syscalls.Poll: partial(_receive, False),
    syscalls.Suspend: _suspend,
    syscalls.Resume: _resume,
    syscalls.SetPriority: _set_priority,
    syscalls.Configure: _configure,
    syscalls.Bind: _bind,
    syscalls.Unbind: _unbind,
    syscalls.Consumed: _consumed,
    syscalls.YieldTo: _yield_to,
    syscalls.Recv: _recv,
    syscalls.Send: _send,
    syscalls.NBSend: _nbsend,
    syscalls.Call: _call,
    syscalls.NBSendRecv: _nbsend_recv,
    syscalls.NBSendWait: _nbsend_recv,
    syscalls.BindNotification: _bind_notification,
    syscalls.UnbindNotification: _unbind_notification,
    syscalls.Reply: _reply,
    syscalls.ReplyRecv: _reply_recv,
    syscalls.Exit: _exit,
}
