"""Kernel objects: threads (TCBs), scheduling contexts, notifications, endpoints, reply objects.

Plain slotted classes: the event loop touches their fields millions of times, so they carry no
behaviour of their own. The rules that change them live in the modules named after the seL4 source
files that hold those rules (``schedcontext``, ``notification``, ``endpoint``, ``tcb``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from sporadic.scheduler.states import INACTIVE, STATE_NAMES

# Notification states.
NTFN_IDLE = 0
NTFN_WAITING = 1
NTFN_ACTIVE = 2

# Message labels of fault IPC (libsel4's seL4_Fault_* for the ones we raise).
FAULT_TIMEOUT = 6

Program = Generator[Any, Any, Any]


class SchedContext:
    """``sched_context_t``. ``refills`` is a list of ``[rTime, rAmount]``; ``refill_max == 0``
    means the SC is not configured yet."""

    __slots__ = (
        "id",
        "name",
        "refills",
        "refill_max",
        "period",
        "budget",
        "consumed",
        "tcb",
        "badge",
        "sporadic",
        "yield_from",
        "notification",
        "reply",
        "size_bits",
        "home",
    )

    def __init__(self, sc_id: int, name: str, size_bits: int = 8) -> None:
        self.id = sc_id
        self.name = name
        self.refills: list[list[int]] = [[0, 0]]
        self.refill_max = 0
        self.period = 0
        self.budget = 0
        self.consumed = 0
        self.tcb: TCB | None = None
        self.badge = 0
        self.sporadic = False
        self.yield_from: TCB | None = None
        self.notification: Notification | None = None
        self.reply: Reply | None = None
        self.size_bits = size_bits
        self.home: TCB | None = None  # the thread it was bound to: who its time is charged to

    def __repr__(self) -> str:
        return f"<SC {self.name} refills={self.refills} period={self.period}>"


class TCB:
    """A thread. Besides seL4's fields it carries the program it runs and where that program is.

    ``remaining`` is the CPU time left in the current compute action (0: the program must be
    advanced; ``INF``: it spins). ``retry`` is a syscall cut short by the budget check at kernel
    entry or interrupted by Resume, to be executed again when the thread next runs.
    """

    __slots__ = (
        "id",
        "name",
        "prio",
        "mcp",
        "domain",
        "state",
        "sc",
        "queued",
        "in_release_queue",
        "program",
        "remaining",
        "retry",
        "blocked_action",
        "result",
        "fault",
        "timeout_handler",
        "timeout_badge",
        "bound_notification",
        "yield_to",
        "reply",
        "own_reply",
        "waiting_on",
        "message",
        "send_call",
        "send_grant",
    )

    def __init__(self, tid: int, name: str, prio: int, mcp: int, domain: int) -> None:
        self.id = tid
        self.name = name
        self.prio = prio
        self.mcp = mcp
        self.domain = domain
        self.state = INACTIVE
        self.sc: SchedContext | None = None
        self.queued = False
        self.in_release_queue = False
        self.program: Program | None = None
        self.remaining = 0
        self.retry: Any = None
        self.blocked_action: Any = None
        self.result: Any = None
        self.fault: Any = None
        self.timeout_handler: Endpoint | None = None
        self.timeout_badge = 0
        self.bound_notification: Notification | None = None
        self.yield_to: SchedContext | None = None
        self.reply: Reply | None = None
        self.own_reply: Reply | None = None
        self.waiting_on: Any = None
        self.message: Message | None = None  # what a thread blocked on send will deliver
        self.send_call = False  # the blocked send is a Call
        self.send_grant = True  # the cap allows Grant or GrantReply

    def __repr__(self) -> str:
        return f"<TCB {self.name} prio={self.prio} {STATE_NAMES[self.state]}>"


class Notification:
    """``since`` is when an idle notification became active: what a late receiver's message
    reports as its send time."""

    __slots__ = ("id", "name", "state", "badge", "queue", "bound_tcb", "sc", "since")

    def __init__(self, nid: int, name: str) -> None:
        self.id = nid
        self.name = name
        self.state = NTFN_IDLE
        self.since = 0
        self.badge = 0
        self.queue: list[TCB] = []
        self.bound_tcb: TCB | None = None
        self.sc: SchedContext | None = None


class Endpoint:
    """An endpoint: one queue of blocked senders or of blocked receivers, by priority."""

    __slots__ = ("id", "name", "send_queue", "recv_queue")

    def __init__(self, eid: int, name: str) -> None:
        self.id = eid
        self.name = name
        self.send_queue: list[TCB] = []
        self.recv_queue: list[TCB] = []


class Reply:
    """A reply object: ``tcb`` is the caller blocked on it, or the receiver waiting with it.

    ``prev``/``next`` link the call stack of a donated SC: ``next`` is the reply toward the
    head, or the SC itself when this reply is the head (``replyNext`` with ``isHead``).
    """

    __slots__ = ("name", "tcb", "prev", "next")

    def __init__(self, name: str) -> None:
        self.name = name
        self.tcb: TCB | None = None
        self.prev: Reply | None = None
        self.next: Reply | SchedContext | None = None


class Message:
    """What a receive returns: the endpoint badge, the label and the message words.

    ``sent`` is the simulated time of the transfer (simulator metadata, not part of equality).
    """

    __slots__ = ("badge", "label", "words", "sent")

    def __init__(self, badge: int, label: int, words: tuple[int, ...], sent: int = 0) -> None:
        self.badge = badge
        self.label = label
        self.words = words
        self.sent = sent

    def __repr__(self) -> str:
        return f"Message(badge={self.badge}, label={self.label}, words={self.words})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.badge, self.label, self.words) == (
            other.badge,
            other.label,
            other.words,
        )

    __hash__ = None  # type: ignore[assignment]


class TimeoutFault:
    """A pending timeout fault: the badge of the SC that ran out when it was raised."""

    __slots__ = ("badge",)

    def __init__(self, badge: int) -> None:
        self.badge = badge


def insert_by_priority(queue: list[TCB], t: TCB) -> None:
    """``tcbAppend`` for endpoint and notification queues: after the last waiter whose priority
    is >= ``t.prio``, so the queue is by priority and FIFO within one."""
    i = len(queue)
    while i > 0 and queue[i - 1].prio < t.prio:
        i -= 1
    queue.insert(i, t)
