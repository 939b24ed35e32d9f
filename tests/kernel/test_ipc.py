"""IPC and SC donation with the Python API (docs/mcs-semantics.md sections 4.5, 5, 8.1-8.7, 9).

Every expectation is an exact time in ns, an order, a state or an object identity, derived by
hand from the spec's rules (derivations in the docstrings). Defaults: constant bandwidth,
MIN_BUDGET = 20 us, exact timer, zero-cost kernel; IPC, marks and probes take no time.

A *passive* thread is set up as sel4test does it: it runs to its first receive on a 1 ms
round-robin SC of its own, then ``root`` (priority 0, so it runs after every other thread has
blocked) unbinds that SC and resumes the clients, which are created with ``start=False``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sporadic import records as ev
from sporadic.kernel import Message, configure
from sporadic.kernel.notification import send_signal
from sporadic.kernel.objects import FAULT_TIMEOUT, TCB, Endpoint
from sporadic.kernel.syscalls import (
    Bind,
    BindNotification,
    Call,
    Compute,
    Mark,
    NBSend,
    NBSendRecv,
    NBSendWait,
    Probe,
    Recv,
    Reply,
    ReplyRecv,
    Resume,
    Send,
    SetPriority,
    Spin,
    Unbind,
    Wait,
)
from sporadic.scheduler.states import (
    BLOCKED_ON_RECEIVE,
    BLOCKED_ON_REPLY,
    BLOCKED_ON_SEND,
    INACTIVE,
    RUNNING,
)
from tests.helpers import MS, US, Sim, prog


def no_donations(sim: Sim) -> None:
    assert sim.records(ev.DONATE) == []


# ============================================================================ 8.2 sendIPC


def test_send_never_donates_to_a_passive_server() -> None:
    """8.2, 5: ``Send``/``NBSend`` have canDonate = false. A Send to a passive server waiting
    with a reply object delivers the message (the server is Running) but gives it no SC, so it
    never runs; the sender does not block and keeps its SC.

    t=0: S blocks in Recv (own SC); root unbinds it and resumes C (50), which preempts root,
    Sends [3] (delivered to S: IPC_SEND receiver S) and computes [0, 2) ms; then NBSends [4]:
    nobody receives (S never ran its next Recv), dropped. C exits at 2 ms, root at 2 ms.
    """
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    got: list[Any] = []

    def server() -> Iterator[Any]:
        got.append((yield Recv(ep)))
        yield Compute(1 * MS)

    s = sim.server("S", 100, server())
    c = sim.thread(
        "C",
        50,
        prog(Send(ep, words=(3,)), Compute(2 * MS), NBSend(ep, words=(4,))),
        5 * MS,
        10 * MS,
        start=False,
    )
    sim.root(Resume(c))
    k.run(10 * MS)
    no_donations(sim)
    assert [(r[0], sim.name(r[1]), sim.name(r[3])) for r in sim.records(ev.IPC_SEND)] == [
        (0, "C", "S"),
        (2 * MS, "C", "-"),
    ]
    assert s.state == RUNNING and s.sc is None  # delivered, but passive: it never runs
    assert s.result == Message(0, 0, (3,))
    assert got == []
    assert c.sc is not None and c.sc.tcb is c
    assert sim.switches() == [
        (0, "idle", "S"),
        (0, "S", "root"),
        (0, "root", "C"),
        (2 * MS, "C", "root"),
        (2 * MS, "root", "idle"),
    ]


def test_send_to_an_active_server_does_not_donate_either() -> None:
    """8.2: with an SC of its own the woken receiver runs on it; Send keeps the sender's SC.

    S (100, own SC) blocks in Recv; C (50) Sends at 0: S preempts C (direct candidate, higher
    priority), marks on its own SC and blocks again; C continues.
    """
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    s = sim.thread("S", 100, prog(Recv(ep), Mark("got"), Recv(ep)), 1 * MS)
    sim.thread("C", 50, prog(Send(ep, words=(1,)), Mark("sent")), 5 * MS, 10 * MS)
    k.run(5 * MS)
    no_donations(sim)
    assert sim.switches_sc() == [
        (0, "S", "S"),
        (0, "C", "C"),
        (0, "S", "S"),
        (0, "C", "C"),
        (0, "idle", "idle"),
    ]
    assert sim.marks("got", with_thread=True) == [(0, "S", 0)]
    assert s.state == BLOCKED_ON_RECEIVE


def test_call_to_a_wait_receiver_makes_the_caller_inactive_without_donation() -> None:
    """8.2 and 15: a Call to a thread that receives with ``Wait`` (no reply object) makes the
    *caller* Inactive and donates nothing; the passive receiver is Running without an SC.

    t=0: S blocks in Wait(ep); root unbinds it and resumes C; C calls [1]: S gets the message
    (Running, no SC, so it never runs), C is Inactive and keeps its SC; root exits.
    """
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    s = sim.server("S", 100, prog(Wait(ep), Mark("got")))
    c = sim.thread("C", 50, prog(Call(ep, words=(1,)), Mark("reply")), 5 * MS, 10 * MS, start=False)
    sim.root(Resume(c))
    k.run(10 * MS)
    no_donations(sim)
    assert c.state == INACTIVE and c.sc is not None and c.sc.tcb is c
    assert s.state == RUNNING and s.sc is None and s.result == Message(0, 0, (1,))
    assert sim.marks("got") == [] and sim.marks("reply") == []
    assert [r[0] for r in sim.records(ev.BLOCK) if r[1] == c.id] == [0]
    assert sim.records(ev.IPC_REPLY) == []


def test_queued_call_received_with_wait_makes_the_caller_inactive() -> None:
    """8.3: the same rule from the receive side. C (50) calls first and queues (no receiver);
    root then resumes S (40, own SC), whose Wait takes the call: C is Inactive, S runs on its
    own SC and marks C's word."""
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    s = sim.thread("S", 40, prog(Wait(ep), Mark("got")), 1 * MS, start=False)
    c = sim.thread("C", 50, prog(Call(ep, words=(6,)), Mark("reply")), 5 * MS, 10 * MS, start=False)
    sim.root(Resume(c), Resume(s))
    k.run(5 * MS)
    no_donations(sim)
    assert [r[0] for r in sim.records(ev.IPC_CALL)] == [0]
    assert sim.records(ev.IPC_CALL)[0][3] == -1  # queued
    assert [(r[0], sim.name(r[1]), sim.name(r[3])) for r in sim.records(ev.IPC_RECV)] == [
        (0, "S", "C")
    ]
    assert c.state == INACTIVE
    assert sim.switches_sc()[-3:] == [(0, "S", "S"), (0, "root", "root"), (0, "idle", "idle")]
    assert sim.marks("reply") == []


def test_nbsendrecv_donates_one_way() -> None:
    """8.2 and 15: NBSendRecv/NBSendWait donate to a passive receiver, without a reply.

    t=0: root resumes C (50); C's NBSendRecv(ep, back): the send half gives C's SC to S (no
    call stack: ``sc.reply`` stays None), then C blocks receiving on ``back`` without an SC.
    S runs [0, 1) ms on C's SC; its NBSendWait(back, ep) donates the SC back to C (passive,
    waiting) and S blocks in Wait without one. C runs at 1 ms with [9].
    """
    sim = Sim()
    k = sim.k
    ep, back = sim.ep("ep"), sim.ep("back")
    seen: list[Any] = []
    holder: dict[str, TCB] = {}

    def server() -> Iterator[Any]:
        yield Recv(ep)
        c = holder["C"]
        yield Probe(lambda t: seen.append((t, "S", k.cur.sc is c_sc, c.sc, c_sc.reply)))
        yield Compute(1 * MS)
        yield NBSendWait(back, ep, words=(9,))

    def client() -> Iterator[Any]:
        m = yield NBSendRecv(ep, back, words=(1,))
        yield Probe(lambda t: seen.append((t, "C", m.words, holder["C"].sc is c_sc)))

    s = sim.server("S", 100, server())
    c = holder["C"] = sim.thread("C", 50, client(), 5 * MS, 10 * MS, start=False)
    c_sc = c.sc
    sim.root(Resume(c))
    k.run(5 * MS)
    assert sim.donations() == [(0, "C", "C", "S"), (1 * MS, "C", "S", "C")]
    assert seen == [(0, "S", True, None, None), (1 * MS, "C", (9,), True)]
    assert sim.records(ev.IPC_REPLY) == []
    assert s.state == BLOCKED_ON_RECEIVE and s.sc is None
    assert sim.intervals("S", 5 * MS) == [(0, 1 * MS)]


# ============================================================================ 8.1 queues


def _sender(ep: Endpoint, tag: int) -> Iterator[Any]:
    yield Send(ep, words=(tag,))
    yield Mark("sent", tag)


def _receiver(ep: Endpoint, n: int) -> Iterator[Any]:
    for _ in range(n):
        m = yield Recv(ep)
        yield Mark("got", m.words[0])


@pytest.mark.parametrize(
    ("reprioritise", "order"),
    [(False, [1, 3, 4, 0, 2]), (True, [0, 1, 3, 4, 2])],
)
def test_endpoint_send_queue_is_by_priority_fifo_within_one(
    reprioritise: bool, order: list[int]
) -> None:
    """8.1: senders a(5) b(7) c(5) d(7) e(6) block in that order; the receiver gets b, d, e,
    a, c (by priority, FIFO on ties). SetPriority(a, 9) while it is blocked reorders the
    queue (reorderEP): a comes first.

    Root resumes the senders one by one (each preempts root and blocks at 0), then (optionally
    raises a) resumes R (3, own SC). Each receive wakes a sender above R, which preempts it,
    marks and exits.
    """
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    prios = [5, 7, 5, 7, 6]
    senders = [
        sim.thread(n, p, _sender(ep, i), 1 * MS, start=False)
        for i, (n, p) in enumerate(zip("abcde", prios, strict=True))
    ]
    r = sim.thread("R", 3, _receiver(ep, 5), 1 * MS, start=False)
    then: list[Any] = [Resume(t) for t in senders]
    if reprioritise:
        then.append(SetPriority(senders[0], 9))
    sim.root(*then, Resume(r))
    k.run(1 * MS)
    assert [sim.name(r[1]) for r in sim.records(ev.IPC_SEND)] == list("abcde")
    assert [m[2] for m in sim.marks("got", with_thread=True)] == order
    assert [m[2] for m in sim.marks("sent", with_thread=True)] == order
    assert [sim.name(r[3]) for r in sim.records(ev.IPC_RECV)] == ["abcde"[i] for i in order]


def test_endpoint_receive_queue_is_by_priority_fifo_within_one() -> None:
    """8.1: receivers r1(5), r2(7), r3(7) block in that order; three NBSends from a lower
    thread reach r2, r3, r1."""
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    for name, p in (("r1", 5), ("r2", 7), ("r3", 7)):
        sim.thread(name, p, _receiver(ep, 1), 1 * MS, start=False)
    sender = sim.thread(
        "s", 2, prog(*(NBSend(ep, words=(i,)) for i in range(3))), 1 * MS, start=False
    )
    sim.root(*(Resume(t) for t in k.threads[1:4]), Resume(sender))
    k.run(1 * MS)
    assert sim.marks("got", with_thread=True) == [(0, "r2", 0), (0, "r3", 1), (0, "r1", 2)]


# ============================================================================ 8.4/8.5 replies


def test_reply_returns_the_sc_even_with_send_reply_then_wait() -> None:
    """8.5 (IPC0016): the server replies with ``Reply`` (``seL4_Send`` on its reply cap) and
    then wants to ``Wait`` keeping the SC; the reply pops the call stack, so the SC is the
    client's again and the server, Running without an SC, never reaches its Wait.

    t=0: C calls, S runs [0, 2) ms on C's SC; at 2 ms its reply gives the SC back; C (10) runs
    at once (S is not schedulable), sees [42], its SC and an empty call stack.
    """
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    seen: list[Any] = []
    s = sim.server("S", 11, prog(Recv(ep), Compute(2 * MS), Reply(words=(42,)), Wait(ep)))

    def client() -> Iterator[Any]:
        m = yield Call(ep, words=(7,))
        yield Probe(lambda t: seen.append((t, m.words, c.sc is c_sc, c_sc.reply, s.sc)))

    c = sim.thread("C", 10, client(), 5 * MS, 10 * MS, start=False)
    c_sc = c.sc
    sim.root(Resume(c))
    k.run(10 * MS)
    assert seen == [(2 * MS, (42,), True, None, None)]
    assert sim.donations() == [(0, "C", "C", "S"), (2 * MS, "C", "S", "C")]
    assert s.state == RUNNING and s.sc is None
    assert s.own_reply.tcb is None
    assert sim.intervals("S", 10 * MS) == [(0, 2 * MS)]


def test_reply_in_the_middle_of_a_chain_breaks_it() -> None:
    """8.4: A -> B -> C, C holds A's SC. H replies to A through B's reply object (not the head
    of the call stack): ``reply_remove`` cuts it out of the middle; A gets the message but no
    SC (Running, passive), the SC stays with C. When C replies to B, the SC pops to B; B's own
    reply then finds no caller (no IPC_REPLY), and B blocks in its receive still holding A's SC.

    t=0: A calls B (DONATE A->B), B computes [0, 1) and calls C (DONATE B->C), C computes 5 ms.
    t=3ms: a timer signals H (40, own SC), which preempts C and replies [-7] via B; exits.
    t=6ms: C's ReplyRecv answers B (DONATE C->B, head of the stack); B (20) runs, its ReplyRecv
    answers nobody and blocks. Root (preempted at 0) exits; A never runs again.
    """
    sim = Sim()
    k = sim.k
    e1, e2 = sim.ep("e1"), sim.ep("e2")
    gate = k.create_notification("gate")
    sim.thread("H", 40, None, 1 * MS)  # program set below: it needs B
    b = sim.server("B", 20, prog(Recv(e1), Compute(1 * MS), Call(e2), ReplyRecv(e1, words=(20,))))
    sim.server("C", 30, prog(Recv(e2), Compute(5 * MS), ReplyRecv(e2, words=(30,))))
    h = k.thread_by_name("H")
    h.program = prog(Wait(gate), Reply(words=(-7,), via=b))
    a = sim.thread(
        "A", 10, prog(Call(e1, words=(1,)), Mark("reply")), 50 * MS, 100 * MS, start=False
    )
    a_sc = a.sc
    sim.root(Resume(a))
    k.add_timer(3 * MS, 0, lambda now: send_signal(k, gate, 1))
    k.run(20 * MS)
    assert sim.donations() == [
        (0, "A", "A", "B"),
        (1 * MS, "A", "B", "C"),
        (6 * MS, "A", "C", "B"),
    ]
    assert sim.replies() == [(3 * MS, "H", "A"), (6 * MS, "C", "B")]
    assert a.state == RUNNING and a.sc is None and a.result == Message(0, 0, (-7,))
    assert sim.marks("reply") == []  # A never runs again
    assert b.state == BLOCKED_ON_RECEIVE and b.sc is a_sc and a_sc.tcb is b
    assert a_sc.reply is None
    assert sim.intervals("C", 20 * MS) == [(1 * MS, 3 * MS), (3 * MS, 6 * MS)]
    assert sim.switches()[-4:] == [
        (3 * MS, "H", "C"),
        (6 * MS, "C", "B"),
        (6 * MS, "B", "root"),
        (6 * MS, "root", "idle"),
    ]


def test_receiving_again_with_a_busy_reply_object_cuts_the_caller_out() -> None:
    """8.3: a passive server that receives again without replying reuses its reply object, on
    which C is blocked: ``cancelIPC`` cuts C out of the call stack (Inactive); the SC is not
    returned, it stays with S, which now blocks in Recv holding it.

    t=0: C calls, S runs [0, 1) ms on C's SC, then Recv(ep) again at 1 ms."""
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    s = sim.server("S", 20, prog(Recv(ep), Compute(1 * MS), Recv(ep)))
    c = sim.thread("C", 10, prog(Call(ep), Mark("reply")), 5 * MS, 10 * MS, start=False)
    c_sc = c.sc
    sim.root(Resume(c))
    k.run(10 * MS)
    assert c.state == INACTIVE and c.sc is None and c.reply is None
    assert s.state == BLOCKED_ON_RECEIVE and s.sc is c_sc and c_sc.tcb is s
    assert c_sc.reply is None and s.own_reply.tcb is s  # the reply now waits with S
    assert sim.donations() == [(0, "C", "C", "S")]
    assert sim.records(ev.IPC_REPLY) == [] and sim.marks("reply") == []
    assert [r[0] for r in sim.records(ev.BLOCK) if r[1] == c.id] == [0]  # never woken


def test_reply_recv_picks_up_a_queued_call_with_that_callers_sc() -> None:
    """8.3 and 8.5: C1 (10) calls passive S (20), which computes 2 ms on C1's SC. At 1 ms a
    timer wakes C2 (30), which preempts S and calls: S is not receiving, so C2 is queued. At
    2 ms S's ReplyRecv returns C1's SC (C1 becomes a candidate) and receives C2's queued call
    in the same syscall, with C2's SC (DONATE C2 -> S): S, now schedulable at 20 > 10, keeps
    the CPU (C1 goes to the head of 10) and computes [2, 4) ms on C2's SC. At 4 ms it replies
    to C2 (30), which runs, marks and exits; then C1 marks at 4 ms."""
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    gate = k.create_notification("gate")

    def server() -> Iterator[Any]:
        m = yield Recv(ep)
        while True:
            yield Compute(2 * MS)
            m = yield ReplyRecv(ep, words=(100 + m.words[0],))

    sim.server("S", 20, server())
    got: list[Any] = []

    def client(name: str, word: int, *before: Any) -> Iterator[Any]:
        for a in before:  # noqa: UP028 - see prog()
            yield a
        m = yield Call(ep, words=(word,))
        got.append((k.hw, name, m.words))

    sim.thread("C2", 30, client("C2", 2, Wait(gate)), 5 * MS, 10 * MS)
    c1 = sim.thread("C1", 10, client("C1", 1), 5 * MS, 10 * MS, start=False)
    sim.root(Resume(c1))
    k.add_timer(1 * MS, 0, lambda now: send_signal(k, gate, 1))
    k.run(10 * MS)
    assert got == [(4 * MS, "C2", (102,)), (4 * MS, "C1", (101,))]
    assert [(r[0], sim.name(r[1]), r[3]) for r in sim.records(ev.IPC_CALL)] == [
        (0, "C1", k.thread_by_name("S").id),
        (1 * MS, "C2", -1),  # queued: S is busy
    ]
    assert sim.donations() == [
        (0, "C1", "C1", "S"),
        (2 * MS, "C1", "S", "C1"),
        (2 * MS, "C2", "C2", "S"),
        (4 * MS, "C2", "S", "C2"),
    ]
    # S keeps the CPU at 2 ms (no SWITCH: same thread, new SC)
    assert sim.switches_sc() == [
        (0, "C2", "C2"),
        (0, "S", "S"),
        (0, "root", "root"),
        (0, "C1", "C1"),
        (0, "S", "C1"),
        (1 * MS, "C2", "C2"),
        (1 * MS, "S", "C1"),
        (4 * MS, "C2", "C2"),
        (4 * MS, "C1", "C1"),
        (4 * MS, "root", "root"),
        (4 * MS, "idle", "idle"),
    ]
    assert sim.intervals("S", 10 * MS) == [(0, 1 * MS), (1 * MS, 4 * MS)]
    # C1's SC was charged 2 ms (S's first request), C2's 2 ms (the second): committed at the
    # SC switch at 2 ms and at C2's switch-in at 4 ms
    assert k.thread_by_name("C2").sc.consumed == 2 * MS
    assert c1.sc.consumed == 2 * MS


def test_unbinding_a_donated_sc_cuts_its_call_stack() -> None:
    """7.3 and 8.4: ``SchedContext_Unbind`` also cuts ``scReply`` (the head reply's link to the
    SC). C calls passive S; at 1 ms H (200) unbinds C's SC from S and binds it to S again. S's
    reply at 3 ms is then no longer at the head of a call stack: C gets the message but not the
    SC (no DONATE at 3 ms), which stays with S; C never runs again."""
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    gate = k.create_notification("gate")
    h = sim.thread("H", 200, None, 1 * MS)
    s = sim.server("S", 20, prog(Recv(ep), Compute(3 * MS), Reply(words=(1,))))
    c = sim.thread("C", 10, prog(Call(ep), Mark("back")), 5 * MS, 10 * MS, start=False)
    c_sc = c.sc
    h.program = prog(Wait(gate), Unbind(c_sc), Bind(c_sc, s))
    sim.root(Resume(c))
    k.add_timer(1 * MS, 0, lambda now: send_signal(k, gate, 1))
    k.run(10 * MS)
    assert sim.replies() == [(3 * MS, "S", "C")]
    assert sim.donations() == [(0, "C", "C", "S")]
    assert c.state == RUNNING and c.sc is None and sim.marks("back") == []
    assert c_sc.tcb is s


# ============================================================================ 8.6 notifications


def test_passive_server_with_a_notification_sc_serves_signals_and_calls() -> None:
    """8.3 and 8.6 (a Microkit-style passive PD): S receives on ``ep`` with a bound
    notification that has an SC of its own (2 ms / 10 ms).

    t=0: S blocks in Recv on its set-up SC; root binds the notification to S, takes S's SC,
    binds ``nsc`` to the notification and resumes C (10), which computes 3 ms.
    t=1ms: a device signal (badge 3): S is BlockedOnReceive on ep, so its IPC is cancelled, it
    gets the badge and the notification's SC (DONATE from -1) and preempts C; it computes
    500 us; its next Recv gives the SC back (maybeReturnSchedContext, DONATE to -1).
    t=3.5ms: C (preempted for 500 us) calls: S has no SC, so C's SC is donated as usual; S
    computes 500 us and replies [9] at 4 ms; the SC goes back to C, which sees it; the
    final Recv has nothing to return."""
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    n = k.create_notification("n")
    nsc = k.create_sc("nsc")
    configure(k, nsc, 2 * MS, 10 * MS)
    log: list[Any] = []

    def server() -> Iterator[Any]:
        for _ in range(2):
            m = yield Recv(ep)
            log.append((k.hw, "S", m.badge, m.words, k.cur.sc.name))
            yield Compute(500 * US)
        yield ReplyRecv(ep, words=(9,))

    s = sim.server("S", 50, server())

    def client() -> Iterator[Any]:
        yield Compute(3 * MS)
        m = yield Call(ep, words=(4,))
        log.append((k.hw, "C", m.badge, m.words, k.cur.sc.name))

    c = sim.thread("C", 10, client(), 5 * MS, 10 * MS, start=False)
    sim.root(BindNotification(s, n), Bind(nsc, n), Resume(c))
    k.add_timer(1 * MS, 0, lambda now: send_signal(k, n, 3))
    k.run(10 * MS)
    assert log == [
        (1 * MS, "S", 3, (), "nsc"),
        (3500 * US, "S", 0, (4,), "C"),
        (4 * MS, "C", 0, (9,), "C"),
    ]
    assert sim.donations() == [
        (1 * MS, "nsc", "-", "S"),
        (1500 * US, "nsc", "S", "-"),
        (3500 * US, "C", "C", "S"),
        (4 * MS, "C", "S", "C"),
    ]
    assert sim.intervals("C", 10 * MS) == [(0, 1 * MS), (1500 * US, 3500 * US)]  # exits at 4
    assert s.state == BLOCKED_ON_RECEIVE and s.sc is None and nsc.tcb is None
    assert n.sc is nsc and nsc.notification is n


# ============================================================================ 8.7 budget expiry


def _expiry_setup(server_handler: bool) -> tuple[Sim, dict[str, Any]]:
    """C (10; 2 ms / 10 ms, badge 5, with a timeout handler CH) calls passive S (20), which
    computes 3 ms; optionally S has a timeout handler SH (badge 2). CH (60) and SH (50) have
    their own SCs and log what they receive."""
    sim = Sim()
    k = sim.k
    ep, cep, sep = sim.ep("ep"), sim.ep("cep"), sim.ep("sep")
    idle = k.create_notification("never")
    log: dict[str, Any] = {"SH": [], "CH": [], "C": []}

    def handler(name: str, tfep: Endpoint) -> Iterator[Any]:
        m = yield Recv(tfep)
        log[name].append((k.hw, m.badge, m.label, m.words))
        yield Wait(idle)  # not Recv again: that would cancel the faulted thread (8.3)

    sim.thread("CH", 60, handler("CH", cep), 1 * MS)
    sim.thread("SH", 50, handler("SH", sep), 1 * MS)
    s = sim.server("S", 20, prog(Recv(ep), Compute(3 * MS), ReplyRecv(ep, words=(1,))))

    def client() -> Iterator[Any]:
        m = yield Call(ep, words=(0,))
        log["C"].append((k.hw, m.words))

    c = sim.thread("C", 10, client(), 2 * MS, 10 * MS, badge=5, start=False)
    c.timeout_handler, c.timeout_badge = cep, 4
    if server_handler:
        s.timeout_handler, s.timeout_badge = sep, 2
    sim.root(Resume(c))
    return sim, {"log": log, "S": s, "C": c, "sc": c.sc}


def test_budget_expiry_in_a_passive_server_without_handler_postpones_the_server() -> None:
    """8.7 bullet 2: S runs [0, 2) ms on C's SC; at 2 ms the head is used up (single refill ->
    {10ms, 2ms}); S has no timeout handler, so S, holding the SC, goes to the release queue.
    The client's handler is not involved. At 10 ms S is released, finishes its last 1 ms and
    replies at 11 ms; the SC (head {10ms, 2ms}, 1 ms used) is ready, C runs at once."""
    sim, o = _expiry_setup(server_handler=False)
    k, sc = sim.k, o["sc"]
    k.run(5 * MS)
    s, c = o["S"], o["C"]
    assert s.in_release_queue and s.sc is sc and sc.refills == [[10 * MS, 2 * MS]]
    assert c.state == BLOCKED_ON_REPLY
    k.run(20 * MS)
    assert [(r[0], sim.name(r[1]), r[2], r[3]) for r in sim.records(ev.POSTPONE)] == [
        (2 * MS, "S", sc.id, 10 * MS)
    ]
    assert [(r[0], sim.name(r[1])) for r in sim.records(ev.REFILL_RELEASE)] == [(10 * MS, "S")]
    assert sim.intervals("S", 20 * MS) == [(0, 2 * MS), (10 * MS, 11 * MS)]
    assert o["log"] == {"SH": [], "CH": [], "C": [(11 * MS, (1,))]}
    assert sim.records(ev.TIMEOUT_FAULT) == []
    assert sim.donations() == [(0, "C", "C", "S"), (11 * MS, "C", "S", "C")]


def test_budget_expiry_in_a_passive_server_with_handler_faults_with_the_client_badge() -> None:
    """8.7 bullet 1: with a handler, the *server* faults at 2 ms: TIMEOUT_FAULT (S, C's SC,
    badge 5 = the client SC's badge, 2 ms consumed); SH receives endpoint badge 2 (S's tfep
    badge), label Timeout, MRs (5, 2 ms). S keeps the SC (never donated) and is not in the
    release queue; C stays BlockedOnReply; the client's handler sees nothing."""
    sim, o = _expiry_setup(server_handler=True)
    k, sc, s, c = sim.k, o["sc"], o["S"], o["C"]
    k.run(20 * MS)
    assert [(r[0], sim.name(r[1]), r[2], r[3], r[4]) for r in sim.records(ev.TIMEOUT_FAULT)] == [
        (2 * MS, "S", sc.id, 5, 2 * MS)
    ]
    assert o["log"] == {"SH": [(2 * MS, 2, FAULT_TIMEOUT, (5, 2 * MS))], "CH": [], "C": []}
    assert s.state == BLOCKED_ON_REPLY and s.sc is sc and not s.in_release_queue
    assert c.state == BLOCKED_ON_REPLY and c.sc is None
    assert sim.records(ev.POSTPONE) == []
    assert sim.donations() == [(0, "C", "C", "S")]
    assert sc.consumed == 0  # reset by the fault message


def test_reply_for_a_postponed_server_moves_the_postponement_to_the_client() -> None:
    """8.4, 8.5, 8.7: S (no handler) is in the release queue holding C's exhausted SC
    ({10ms, 2ms}) when H replies [-1] to C through S's reply object at 3 ms: the SC leaves S
    (DONATE S -> C, S leaves the release queue and stays Running without an SC), C has no
    handler and its head is not ready, so C is postponed to 10 ms, where it sees -1."""
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    gate = k.create_notification("gate")
    h = sim.thread("H", 40, None, 1 * MS)
    s = sim.server("S", 20, prog(Recv(ep), Compute(3 * MS), ReplyRecv(ep, words=(1,))))
    h.program = prog(Wait(gate), Reply(words=(-1,), via=s))
    got: list[Any] = []

    def client() -> Iterator[Any]:
        m = yield Call(ep)
        got.append((k.hw, m.words))

    c = sim.thread("C", 10, client(), 2 * MS, 10 * MS, start=False)
    c_sc = c.sc
    sim.root(Resume(c))
    k.add_timer(3 * MS, 0, lambda now: send_signal(k, gate, 1))
    k.run(2500 * US)
    assert s.in_release_queue and s.sc is c_sc
    k.run(20 * MS)
    assert [(r[0], sim.name(r[1]), r[3]) for r in sim.records(ev.POSTPONE)] == [
        (2 * MS, "S", 10 * MS),
        (3 * MS, "C", 10 * MS),
    ]
    assert sim.donations() == [(0, "C", "C", "S"), (3 * MS, "C", "S", "C")]
    assert [(r[0], sim.name(r[1])) for r in sim.records(ev.REFILL_RELEASE)] == [(10 * MS, "C")]
    assert got == [(10 * MS, (-1,))]
    assert s.state == RUNNING and s.sc is None and not s.in_release_queue
    assert sim.intervals("S", 20 * MS) == [(0, 2 * MS)]
    assert sim.records(ev.TIMEOUT_FAULT) == []


def test_timeout_fault_message_has_no_consumed_word_once_the_sc_is_gone() -> None:
    """9 (setMRs_fault): the timeout message carries the data word, then the consumed time
    only "provided the faulting thread still holds an SC when the message is delivered".

    S faults at 2 ms on C's SC (badge 5) while its handler H is not receiving: S is
    BlockedOnSend on the tfep and keeps the SC. At 3 ms H wakes, first answers C through S's
    reply object (the SC pops back to C, which is postponed to 10 ms), then receives S's
    queued fault: S holds no SC any more, so the message is the data word alone."""
    sim = Sim()
    k = sim.k
    ep, tfep = sim.ep("ep"), sim.ep("tfep")
    gate = k.create_notification("gate")
    log: list[Any] = []
    h = sim.thread("H", 200, None, 1 * MS)
    s = sim.server("S", 20, prog(Recv(ep), Spin()))
    s.timeout_handler, s.timeout_badge = tfep, 2

    def handler() -> Iterator[Any]:
        yield Wait(gate)
        yield Reply(words=(-1,), via=s)
        m = yield Recv(tfep)
        log.append((k.hw, m.badge, m.label, m.words))

    h.program = handler()
    c = sim.thread("C", 10, prog(Call(ep)), 2 * MS, 10 * MS, badge=5, start=False)
    c_sc = c.sc
    sim.root(Resume(c))
    k.add_timer(3 * MS, 0, lambda now: send_signal(k, gate, 1))
    k.run(2500 * US)
    assert s.state == BLOCKED_ON_SEND and s.sc is c_sc and not s.in_release_queue
    k.run(5 * MS)
    assert [(r[0], sim.name(r[1]), r[3]) for r in sim.records(ev.TIMEOUT_FAULT)] == [
        (2 * MS, "S", 5)
    ]
    assert [(r[0], sim.name(r[1]), r[3]) for r in sim.records(ev.IPC_SEND)] == [
        (2 * MS, "S", -1)  # nobody receiving on the tfep: S is queued
    ]
    assert sim.donations() == [(0, "C", "C", "S"), (3 * MS, "C", "S", "C")]
    assert log == [(3 * MS, 2, FAULT_TIMEOUT, (5,))]
    assert s.state == BLOCKED_ON_REPLY and s.sc is None


def test_client_gets_a_timeout_fault_at_reply_time_when_its_sc_is_exhausted() -> None:
    """8.5 and 8.7 bullet 3: the server's handler answers the client through the server's
    reply object at 2 ms. The SC goes back to C, but its head ({10ms, 2ms}) is not ready and C
    has a timeout handler, so C faults at once (its call was not a timeout fault):
    TIMEOUT_FAULT (C, C's SC, badge 5, 0 consumed: the server's fault message took it) to CH
    (endpoint badge 4). CH's reply (label 0) restarts C, which is postponed to 10 ms (no second
    fault: the answered fault was a timeout) and then sees the -1."""
    sim, o = _expiry_setup(server_handler=True)
    k, sc, s, c = sim.k, o["sc"], o["S"], o["C"]
    sh, ch = k.thread_by_name("SH"), k.thread_by_name("CH")
    log = o["log"]

    def sh_prog() -> Iterator[Any]:
        m = yield Recv(k.endpoints[2])
        log["SH"].append((k.hw, m.badge, m.label, m.words))
        yield Reply(words=(-1,), via=s)

    def ch_prog() -> Iterator[Any]:
        m = yield Recv(k.endpoints[1])
        log["CH"].append((k.hw, m.badge, m.label, m.words))
        yield Reply(0)

    sh.program, ch.program = sh_prog(), ch_prog()
    k.run(20 * MS)
    assert [(r[0], sim.name(r[1]), r[2], r[3], r[4]) for r in sim.records(ev.TIMEOUT_FAULT)] == [
        (2 * MS, "S", sc.id, 5, 2 * MS),
        (2 * MS, "C", sc.id, 5, 0),
    ]
    assert log == {
        "SH": [(2 * MS, 2, FAULT_TIMEOUT, (5, 2 * MS))],
        "CH": [(2 * MS, 4, FAULT_TIMEOUT, (5, 0))],
        "C": [(10 * MS, (-1,))],
    }
    assert sim.replies() == [(2 * MS, "SH", "C"), (2 * MS, "CH", "C")]
    assert [(r[0], sim.name(r[1]), r[3]) for r in sim.records(ev.POSTPONE)] == [
        (2 * MS, "C", 10 * MS)
    ]
    assert sim.donations() == [(0, "C", "C", "S"), (2 * MS, "C", "S", "C")]
    assert s.state == BLOCKED_ON_REPLY and s.sc is None  # still faulted, now passive
    assert c.sc is sc and c.state == INACTIVE  # it finished its program on its own SC


def test_nested_servers_the_proxy_faults_when_the_exhausted_sc_comes_back() -> None:
    """8.5 and 8.7 bullet 3, the nested case (TIMEOUTFAULT0003): C (10 ms / 20 ms, badge 1,
    no handler) -> passive proxy P (tfep badge 3) -> passive server S (tfep badge 2).

    t=0: C calls P; P computes 1 ms and calls S, which spins on C's SC [1, 10) ms.
    t=10ms: the head is used up ({20ms, 10ms}); S faults (badge 1, 10 ms consumed) to H1,
    the highest waiter on tfep. H1 answers P through S's reply object: the SC pops to P, whose
    head is not ready and which has a handler -> P faults at once (badge 1, 0 consumed): H2,
    the other waiter on tfep, receives it. H2 answers C through P's reply object: the SC pops
    to C (no handler) -> postponed to 20 ms, where C sees -1."""
    sim = Sim()
    k = sim.k
    e1, e2, tfep = sim.ep("e1"), sim.ep("e2"), sim.ep("tfep")
    never = k.create_notification("never")
    log: list[Any] = []

    def handler(name: str, via: str) -> Iterator[Any]:
        m = yield Recv(tfep)
        log.append((k.hw, name, m.badge, m.words))
        yield Reply(words=(-1,), via=k.thread_by_name(via))
        yield Wait(never)

    sim.thread("H1", 200, handler("H1", "S"), 1 * MS)
    sim.thread("H2", 190, handler("H2", "P"), 1 * MS)
    p = sim.server("P", 30, prog(Recv(e1), Compute(1 * MS), Call(e2), ReplyRecv(e1)))
    s = sim.server("S", 40, prog(Recv(e2), Spin()))
    p.timeout_handler, p.timeout_badge = tfep, 3
    s.timeout_handler, s.timeout_badge = tfep, 2

    def client() -> Iterator[Any]:
        m = yield Call(e1)
        log.append((k.hw, "C", m.words))

    c = sim.thread("C", 10, client(), 10 * MS, 20 * MS, badge=1, start=False)
    c_sc = c.sc
    sim.root(Resume(c))
    k.run(30 * MS)
    assert [(r[0], sim.name(r[1]), r[2], r[3], r[4]) for r in sim.records(ev.TIMEOUT_FAULT)] == [
        (10 * MS, "S", c_sc.id, 1, 10 * MS),
        (10 * MS, "P", c_sc.id, 1, 0),
    ]
    assert log == [
        (10 * MS, "H1", 2, (1, 10 * MS)),
        (10 * MS, "H2", 3, (1, 0)),
        (20 * MS, "C", (-1,)),
    ]
    assert sim.donations() == [
        (0, "C", "C", "P"),
        (1 * MS, "C", "P", "S"),
        (10 * MS, "C", "S", "P"),
        (10 * MS, "C", "P", "C"),
    ]
    assert sim.replies() == [(10 * MS, "H1", "P"), (10 * MS, "H2", "C")]
    assert [(r[0], sim.name(r[1]), r[3]) for r in sim.records(ev.POSTPONE)] == [
        (10 * MS, "C", 20 * MS)
    ]
    assert sim.intervals("S", 30 * MS) == [(1 * MS, 10 * MS)]
    assert p.state == BLOCKED_ON_REPLY and s.state == BLOCKED_ON_REPLY  # both still faulted


# ============================================================================ 4.5 direct switch


def test_ipc_direct_switch_ties_go_to_the_woken_thread() -> None:
    """4.5, "IPC direct switch": S, C and R all at 100 (RR SCs). S blocks in Recv at 0; C
    computes [0, 1) ms while R waits in the ready queue. C's Call switches straight to S
    (bypassing R, which is ready at the same priority); S's ReplyRecv at 2 ms switches straight
    back to C. R only runs when C exits at 3 ms."""
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    sim.thread("S", 100, prog(Recv(ep), Compute(1 * MS), ReplyRecv(ep)), 10 * MS)
    sim.thread("C", 100, prog(Compute(1 * MS), Call(ep), Compute(1 * MS)), 10 * MS)
    sim.thread("R", 100, prog(Compute(1 * MS)), 10 * MS)
    k.run(10 * MS)
    assert sim.switches() == [
        (0, "idle", "S"),
        (0, "S", "C"),
        (1 * MS, "C", "S"),
        (2 * MS, "S", "C"),
        (3 * MS, "C", "R"),
        (4 * MS, "R", "idle"),
    ]
    no_donations(sim)


@pytest.mark.parametrize(("r_prio", "first"), [(70, "R"), (50, "S"), (30, "S")])
def test_ipc_direct_switch_to_a_lower_priority_thread(r_prio: int, first: str) -> None:
    """4.4/4.5: C (100) calls S (50) while R is ready. The woken S is below C, so the fastfail
    check asks whether a ready thread is strictly above 50: R at 70 wins, R at 50 (a tie) or 30
    does not and S is switched to directly.

    Boot: S blocks in Recv, root (10) resumes C, which resumes R (queued: below C) and calls.
    S computes 1 ms and replies; R computes 1 ms."""
    sim = Sim()
    k = sim.k
    ep = sim.ep("ep")
    sim.thread("S", 50, prog(Recv(ep), Compute(1 * MS), ReplyRecv(ep)), 10 * MS)
    r = sim.thread("R", r_prio, prog(Compute(1 * MS)), 10 * MS, start=False)
    c = sim.thread("C", 100, prog(Resume(r), Call(ep)), 10 * MS, start=False)
    sim.root(Resume(c))
    k.run(10 * MS)
    after_call = [s for s in sim.switches() if s[1] == "C"]
    assert after_call[0] == (0, "C", first)
    if first == "R":
        assert sim.intervals("R", 10 * MS) == [(0, 1 * MS)]
        assert sim.intervals("S", 10 * MS) == [(1 * MS, 2 * MS)]
    else:
        assert sim.intervals("S", 10 * MS) == [(0, 1 * MS)]
        assert sim.intervals("R", 10 * MS) == [(1 * MS, 2 * MS)]


# ============================================================================ scenario 11


def test_s11_timeout_in_passive_server_repeats_every_period() -> None:
    """Scenario 11 / TIMEOUTFAULT0002 in full, with the register restore the description format
    cannot express (tests/scenarios/s11_timeout_in_passive_server.toml has the first period).

    The handler H (200) loops: receive the server's fault; reply [-1] to the client through
    the server's reply object; restore the server's registers (a new program: a Probe that
    rewrites the TCB, like TCB_WriteRegisters); bind the server's SC; ReplyRecv(ep) with label
    0 (restart) -> S runs its entry code on its own SC: NBSendRecv(ep, ep) reaches H (waiting
    on ep: "wait for server to init") and S blocks in Recv; H unbinds S's SC: passive again.

    Client C: 100 ms / 101 ms, badge 1, no handler, calls in a loop. Fault k is at
    100 + 101 k ms (S spins on C's whole 100 ms budget; the single refill moves one period on
    at each expiry, 101 ms after the previous release); the reply postpones C to 101 (k+1) ms,
    where it sees -1 and calls again.
    """
    sim = Sim()
    k = sim.k
    ep, tfep = sim.ep("ep"), sim.ep("tfep")
    faults: list[Any] = []
    replies: list[Any] = []
    inits: list[int] = []

    def server_entry() -> Iterator[Any]:
        yield NBSendRecv(ep, ep)
        yield Spin()

    s = sim.server("S", 150, server_entry())
    s_sc = s.sc
    s.timeout_handler, s.timeout_badge = tfep, 2

    def restore(t: int) -> None:
        s.program, s.remaining, s.result, s.retry = server_entry(), 0, None, None

    def handler() -> Iterator[Any]:
        while True:
            m = yield Recv(tfep)
            faults.append((k.hw, m.badge, m.label, m.words))
            yield Reply(words=(-1,), via=s)
            yield Probe(restore)
            yield Bind(s_sc, s)
            yield ReplyRecv(ep, label=0)  # restart S; wait for it to initialise
            inits.append(k.now)
            yield Unbind(s_sc)

    sim.thread("H", 200, handler(), 10 * MS)

    def client() -> Iterator[Any]:
        while True:
            m = yield Call(ep, words=(5,))
            replies.append((k.hw, m.words))

    c = sim.thread("C", 100, client(), 100 * MS, 101 * MS, badge=1, start=False)
    c_sc = c.sc
    sim.root(Resume(c))
    k.run(505 * MS)  # up to (not including) the client's sixth release
    fault_times = [100 * MS + 101 * MS * i for i in range(5)]
    assert faults == [(t, 2, FAULT_TIMEOUT, (1, 100 * MS)) for t in fault_times]
    assert inits == fault_times
    assert replies == [(101 * MS * (i + 1), (-1,)) for i in range(4)]
    assert [(r[0], sim.name(r[1]), r[3]) for r in sim.records(ev.TIMEOUT_FAULT)] == [
        (t, "S", 1) for t in fault_times
    ]
    # S runs exactly C's 100 ms per period on C's SC; its restarts on its own SC take no time
    assert sim.intervals("S", 505 * MS) == [(t - 100 * MS, t) for t in fault_times]
    on_own = [sw[0] for sw in sim.switches_sc() if sw[1] == "S" and sw[2] == "S"]
    assert on_own == [0, *fault_times]
    assert s.sc is None and s.state == BLOCKED_ON_RECEIVE  # passive again
    assert c.sc is c_sc and c.in_release_queue and c_sc.refills == [[505 * MS, 100 * MS]]
    k.run(506 * MS)
    assert replies[-1] == (505 * MS, (-1,))
    assert s.sc is c_sc and c.state == BLOCKED_ON_REPLY  # the sixth round has begun
