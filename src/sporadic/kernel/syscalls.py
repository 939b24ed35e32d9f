"""What a program yields: user-level actions and system calls.

A thread's program is a generator (as in SimPy): it yields an action, the kernel carries it out
and resumes the generator with the result. ``Compute`` and ``Probe``/``Mark`` stay at user level
(no kernel entry); everything else is a system call, which enters the kernel, passes the MIN_BUDGET
check of the slowpath first, and may be re-executed later if that check fails.

Results: ``Wait``/``Poll`` give the notification word, ``Recv``/``ReplyRecv`` a ``Message``,
``Consumed``/``YieldTo`` the consumed time in ns, invocations ``None`` or the seL4 error name
(``"RangeError"``, ``"IllegalOperation"``, ...). All durations are integer nanoseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sporadic.units import INF

__all__ = [
    "INF",
    "Bind",
    "BindNotification",
    "Call",
    "NBSend",
    "NBSendRecv",
    "NBSendWait",
    "Send",
    "UnbindNotification",
    "Compute",
    "Configure",
    "Consumed",
    "Mark",
    "Poll",
    "Probe",
    "Recv",
    "Reply",
    "ReplyRecv",
    "Resume",
    "SetPriority",
    "Signal",
    "Spin",
    "Suspend",
    "Unbind",
    "Wait",
    "Yield",
    "YieldTo",
]


class Compute:
    """Run for ``ns`` of CPU time (across preemptions). User level: no kernel entry."""

    __slots__ = ("ns",)

    def __init__(self, ns: int) -> None:
        if ns < 0:
            raise ValueError(f"compute time must be >= 0, got {ns}")
        self.ns = ns

    def __repr__(self) -> str:
        return f"Compute({self.ns})"


def Spin() -> Compute:  # noqa: N802 - reads as an action, like the others
    """Compute forever, never entering the kernel: only the budget timer stops it."""
    return Compute(INF)


class Probe:
    """Call ``fn(t)`` at user level when the program reaches this point (t = its CPU time)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[int], Any]) -> None:
        self.fn = fn


class Mark:
    """Write a MARK record (a user-level timestamp) with a label and a value."""

    __slots__ = ("label", "value")

    def __init__(self, label: str, value: int | str = 0) -> None:
        self.label = label
        self.value = value


class Syscall:
    __slots__ = ()


class Yield(Syscall):
    """``seL4_Yield``: give up the rest of the head refill."""

    __slots__ = ()


class Signal(Syscall):
    __slots__ = ("ntfn", "badge")

    def __init__(self, ntfn: Any, badge: int = 1) -> None:
        self.ntfn = ntfn
        self.badge = badge


class Wait(Syscall):
    """``seL4_Wait``: blocking wait on a notification (returns its word) or a receive on an
    endpoint without a reply object (returns a ``Message``; a Call to it makes the caller
    Inactive)."""

    __slots__ = ("ntfn",)

    def __init__(self, ntfn: Any) -> None:
        self.ntfn = ntfn


class Poll(Syscall):
    """Non-blocking ``Wait``: a notification's word or 0; on an endpoint a ``Message`` (badge 0
    when nothing was there)."""

    __slots__ = ("ntfn",)

    def __init__(self, ntfn: Any) -> None:
        self.ntfn = ntfn


class Suspend(Syscall):
    __slots__ = ("tcb",)

    def __init__(self, tcb: Any) -> None:
        self.tcb = tcb


class Resume(Syscall):
    __slots__ = ("tcb",)

    def __init__(self, tcb: Any) -> None:
        self.tcb = tcb


class SetPriority(Syscall):
    __slots__ = ("tcb", "prio")

    def __init__(self, tcb: Any, prio: int) -> None:
        self.tcb = tcb
        self.prio = prio


class Configure(Syscall):
    """``seL4_SchedControl_ConfigureFlags``. ``sc`` may be any object: a non-SC target gives
    ``InvalidCapability`` as in seL4."""

    __slots__ = ("sc", "budget", "period", "extra_refills", "badge", "sporadic")

    def __init__(
        self,
        sc: Any,
        budget: int,
        period: int,
        extra_refills: int = 0,
        badge: int = 0,
        sporadic: bool = False,
    ) -> None:
        self.sc = sc
        self.budget = budget
        self.period = period
        self.extra_refills = extra_refills
        self.badge = badge
        self.sporadic = sporadic


class Bind(Syscall):
    """``seL4_SchedContext_Bind`` to a thread or a notification."""

    __slots__ = ("sc", "target")

    def __init__(self, sc: Any, target: Any) -> None:
        self.sc = sc
        self.target = target


class Unbind(Syscall):
    __slots__ = ("sc",)

    def __init__(self, sc: Any) -> None:
        self.sc = sc


class Consumed(Syscall):
    __slots__ = ("sc",)

    def __init__(self, sc: Any) -> None:
        self.sc = sc


class YieldTo(Syscall):
    __slots__ = ("sc",)

    def __init__(self, sc: Any) -> None:
        self.sc = sc


class Recv(Syscall):
    """Receive on an endpoint with the thread's own reply object."""

    __slots__ = ("ep",)

    def __init__(self, ep: Any) -> None:
        self.ep = ep


class Reply(Syscall):
    """``seL4_Send`` on a reply cap: the thread's own reply object, or ``via`` another thread's
    (a timeout handler answering a server's client, TIMEOUTFAULT0002).

    For a fault, ``label == 0`` restarts the faulted thread and any other label stops it."""

    __slots__ = ("label", "words", "via")

    def __init__(self, label: int = 0, words: tuple[int, ...] = (), via: Any = None) -> None:
        self.label = label
        self.words = words
        self.via = via


class Send(Syscall):
    """``seL4_Send``: blocking send with a badge; never donates."""

    __slots__ = ("ep", "badge", "label", "words")

    def __init__(
        self, ep: Any, badge: int = 0, label: int = 0, words: tuple[int, ...] = ()
    ) -> None:
        self.ep = ep
        self.badge = badge
        self.label = label
        self.words = words


class NBSend(Send):
    """``seL4_NBSend``: dropped when nobody is receiving."""

    __slots__ = ()


class Call(Send):
    """``seL4_Call``: send and wait for the reply (a ``Message``); donates the caller's SC to a
    passive receiver."""

    __slots__ = ()


class NBSendRecv(Syscall):
    """``seL4_NBSendRecv``: a non-blocking send to ``dest`` that donates one way, then a receive
    on ``src`` with the reply object. ``NBSendWait`` receives without one."""

    __slots__ = ("dest", "src", "badge", "label", "words")

    def __init__(
        self, dest: Any, src: Any, badge: int = 0, label: int = 0, words: tuple[int, ...] = ()
    ) -> None:
        self.dest = dest
        self.src = src
        self.badge = badge
        self.label = label
        self.words = words


class NBSendWait(NBSendRecv):
    __slots__ = ()


class BindNotification(Syscall):
    """``seL4_TCB_BindNotification``: signals reach the thread while it receives on an
    endpoint."""

    __slots__ = ("tcb", "ntfn")

    def __init__(self, tcb: Any, ntfn: Any) -> None:
        self.tcb = tcb
        self.ntfn = ntfn


class UnbindNotification(Syscall):
    __slots__ = ("tcb",)

    def __init__(self, tcb: Any) -> None:
        self.tcb = tcb


class ReplyRecv(Syscall):
    __slots__ = ("ep", "label", "words")

    def __init__(self, ep: Any, label: int = 0, words: tuple[int, ...] = ()) -> None:
        self.ep = ep
        self.label = label
        self.words = words


class Exit(Syscall):
    """The program returned: the thread stops (made Inactive), as a thread without a fault
    handler does in MCS."""

    __slots__ = ()
