"""System-call dispatch: one handler per syscall action type (``handleSyscall``).

A handler finds the objects the call names (``InvalidCapability`` when one is of the wrong
type), runs the invocation's ``decode_*`` check and then its ``invoke_*`` step; an seL4 error
becomes the syscall's result and a ``syscall_error`` record instead of an exception.
"""

from __future__ import annotations

from collections.abc import Callable
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


def _wait(k: Scheduler, cur: TCB, a: syscalls.Wait) -> None:
    if isinstance(a.ntfn, Endpoint):
        receive_ipc(k, cur, a.ntfn, True, None, a)
    else:
        receive_signal(k, cur, _check(a.ntfn, Notification, "notification"), True, a)


def _poll(k: Scheduler, cur: TCB, a: syscalls.Poll) -> None:
    if isinstance(a.ntfn, Endpoint):
        receive_ipc(k, cur, a.ntfn, False, None, a)
    else:
        receive_signal(k, cur, _check(a.ntfn, Notification, "notification"), False, a)


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


def _guarded(fn: Callable[[Scheduler, TCB, Any], None]) -> Callable[[Scheduler, TCB, Any], None]:
    """Turn a KernelError into the syscall's result (the seL4 error name) and a trace record."""

    def handler(k: Scheduler, cur: TCB, action: Any) -> None:
        try:
            fn(k, cur, action)
        except KernelError as e:
            cur.result = e.error
            k.sink((ev.SYSCALL_ERROR, k.now, cur.id, type(action).__name__, e.error))

    return handler


HANDLERS: dict[type, Callable[[Scheduler, TCB, Any], None]] = {
    syscalls.Yield: handle_yield,
    syscalls.Signal: _guarded(_signal),
    syscalls.Wait: _guarded(_wait),
    syscalls.Poll: _guarded(_poll),
    syscalls.Suspend: _guarded(_suspend),
    syscalls.Resume: _guarded(_resume),
    syscalls.SetPriority: _guarded(_set_priority),
    syscalls.Configure: _guarded(_configure),
    syscalls.Bind: _guarded(_bind),
    syscalls.Unbind: _guarded(_unbind),
    syscalls.Consumed: _guarded(_consumed),
    syscalls.YieldTo: _guarded(_yield_to),
    syscalls.Recv: _guarded(_recv),
    syscalls.Send: _guarded(_send),
    syscalls.NBSend: _guarded(_nbsend),
    syscalls.Call: _guarded(_call),
    syscalls.NBSendRecv: _guarded(_nbsend_recv),
    syscalls.NBSendWait: _guarded(_nbsend_recv),
    syscalls.BindNotification: _guarded(_bind_notification),
    syscalls.UnbindNotification: _guarded(_unbind_notification),
    syscalls.Reply: _guarded(_reply),
    syscalls.ReplyRecv: _guarded(_reply_recv),
    syscalls.Exit: _exit,
}
