"""System-call dispatch: one handler per syscall action type (``handleSyscall``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sporadic.kernel import events as ev
from sporadic.kernel import schedcontext, syscalls
from sporadic.kernel.endpoint import do_reply_transfer, receive_ipc
from sporadic.kernel.notification import receive_signal, send_signal
from sporadic.kernel.objects import TCB, Endpoint, KernelError, Notification
from sporadic.kernel.tcb import restart, set_priority, suspend

if TYPE_CHECKING:
    from sporadic.kernel.kernel import Kernel


def _check(obj: Any, kind: type, what: str) -> Any:
    if not isinstance(obj, kind):
        raise KernelError("InvalidCapability", f"{obj!r} is not a {what}")
    return obj


def handle_yield(k: Kernel, cur: TCB, action: syscalls.Yield) -> None:
    """Charge the whole head refill; report only the time really used."""
    sc = k.cur_sc
    real = sc.consumed + k.consumed
    k.charge_budget(sc.refills[0][1], False)
    sc.consumed = real
    k.yielded = True


def _signal(k: Kernel, cur: TCB, a: syscalls.Signal) -> None:
    send_signal(k, _check(a.ntfn, Notification, "notification"), a.badge)


def _wait(k: Kernel, cur: TCB, a: syscalls.Wait) -> None:
    receive_signal(k, cur, _check(a.ntfn, Notification, "notification"), True, a)


def _poll(k: Kernel, cur: TCB, a: syscalls.Poll) -> None:
    receive_signal(k, cur, _check(a.ntfn, Notification, "notification"), False, a)


def _suspend(k: Kernel, cur: TCB, a: syscalls.Suspend) -> None:
    suspend(k, _check(a.tcb, TCB, "thread"))


def _resume(k: Kernel, cur: TCB, a: syscalls.Resume) -> None:
    restart(k, _check(a.tcb, TCB, "thread"))


def _set_priority(k: Kernel, cur: TCB, a: syscalls.SetPriority) -> None:
    set_priority(k, cur, _check(a.tcb, TCB, "thread"), a.prio)


def _configure(k: Kernel, cur: TCB, a: syscalls.Configure) -> None:
    schedcontext.configure(k, a.sc, a.budget, a.period, a.extra_refills, a.badge, a.sporadic)


def _bind(k: Kernel, cur: TCB, a: syscalls.Bind) -> None:
    schedcontext.bind(k, a.sc, a.target)


def _unbind(k: Kernel, cur: TCB, a: syscalls.Unbind) -> None:
    schedcontext.unbind(k, a.sc)


def _consumed(k: Kernel, cur: TCB, a: syscalls.Consumed) -> None:
    cur.result = schedcontext.consumed(_check(a.sc, schedcontext.SchedContext, "SC"))


def _yield_to(k: Kernel, cur: TCB, a: syscalls.YieldTo) -> None:
    schedcontext.yield_to(k, cur, a.sc)


def _recv(k: Kernel, cur: TCB, a: syscalls.Recv) -> None:
    receive_ipc(k, cur, _check(a.ep, Endpoint, "endpoint"), a)


def _reply(k: Kernel, cur: TCB, a: syscalls.Reply) -> None:
    do_reply_transfer(k, cur, a.label, a.words)


def _reply_recv(k: Kernel, cur: TCB, a: syscalls.ReplyRecv) -> None:
    ep = _check(a.ep, Endpoint, "endpoint")
    do_reply_transfer(k, cur, a.label, a.words)
    receive_ipc(k, cur, ep, syscalls.Recv(ep))


def _exit(k: Kernel, cur: TCB, a: syscalls.Exit) -> None:
    k.sink((ev.THREAD_EXIT, k.now, cur.id))
    suspend(k, cur)


def _guarded(fn: Callable[[Kernel, TCB, Any], None]) -> Callable[[Kernel, TCB, Any], None]:
    """Turn a KernelError into the syscall's result (the seL4 error name) and a trace record."""

    def handler(k: Kernel, cur: TCB, action: Any) -> None:
        try:
            fn(k, cur, action)
        except KernelError as e:
            cur.result = e.name
            k.sink((ev.SYSCALL_ERROR, k.now, cur.id, type(action).__name__, e.name))

    return handler


HANDLERS: dict[type, Callable[[Kernel, TCB, Any], None]] = {
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
    syscalls.Reply: _guarded(_reply),
    syscalls.ReplyRecv: _guarded(_reply_recv),
    syscalls.Exit: _exit,
}
