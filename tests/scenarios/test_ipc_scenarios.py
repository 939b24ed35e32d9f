"""IPC and donation scenarios of docs/mcs-semantics.md section 14 (11, 13-18), run end to end
through the CLI.

Each ``sNN_*.toml`` named here is one scenario; its comment block quotes the spec and gives the
timeline. Every test runs ``sporadic run FILE -o TRACE --json`` via ``cli.main``, reads the
trace back and checks exact orders and times (ns), derived by hand from the rules of sections
4.5, 5, 8 and 9 under the section-14 defaults: constant bandwidth, MIN_BUDGET = 20 us, exact
timer, zero-cost kernel. Marks, signals and IPC take no time; a thread without its own SC runs
only on a donated one.

Conventions of the derivations (docs/mcs-semantics.md 4.3-4.5, 8.2-8.5):
* boot queues threads in file order; the highest priority runs first;
* an IPC that wakes a thread while the current one blocks (Call, Recv, ReplyRecv) switches to
  the woken thread unless a ready thread has a strictly higher priority;
* a Call to a passive receiver waiting with a reply object donates the caller's SC (DONATE
  record), a reply gives it back; SWITCH records carry the SC the thread runs on.
"""

from __future__ import annotations

import pytest

from sporadic import records as ev
from tests.helpers import MS, US, Scenario

# ------------------------------------------------------------------------------ scenario 11


def test_s11_timeout_in_passive_server(scenario: Scenario) -> None:
    """TIMEOUTFAULT0002, first period: the handler answers the client for the faulted server.

    t=0: the handler (200) blocks in recv on tfep, the server (150) in recv on ep, the client
    (100) waits on go; root (10) unbinds the server and signals go: the client preempts root and
    calls at once; the server runs on the client's SC (budget 100 ms, period 101 ms, head
    {0, 100ms}).
    t=100ms: the budget timer: the head is used up -> single refill moved one period on,
    {101ms, 100ms}; the server has a timeout handler -> TIMEOUT_FAULT for the *server* with the
    client SC's badge 1 and 100 ms consumed (docs/mcs-semantics.md 8.7); it blocks on the
    handler's reply, the
    SC stays with it (timeout faults never donate). The handler marks MR Data (= 1) and replies
    [-1] through the server's reply object: the SC pops back to the client (8.5), whose head is
    not ready and which has no timeout handler -> postponed to 101 ms. root (preempted at 0)
    runs and exits; idle.
    t=101ms: the client is released, marks -1, calls again: the server is not receiving (it is
    faulted), so the call queues (receiver -1).
    """
    run = scenario("s11_timeout_in_passive_server")
    assert run.switches(with_sc=True) == [
        (0, "idle", "handler", "handler"),
        (0, "handler", "server", "server"),
        (0, "server", "client", "client"),
        (0, "client", "root", "root"),
        (0, "root", "client", "client"),
        (0, "client", "server", "client"),  # the server runs on the client's SC
        (100 * MS, "server", "handler", "handler"),
        (100 * MS, "handler", "root", "root"),
        (100 * MS, "root", "idle", "idle"),
        (101 * MS, "idle", "client", "client"),
        (101 * MS, "client", "idle", "idle"),
    ]
    server, client = run.tid("server"), run.tid("client")
    assert [r[1:] for r in run.of(ev.TIMEOUT_FAULT)] == [
        (100 * MS, server, run.sc("client"), 1, 100 * MS)
    ]
    assert run.ipc(ev.IPC_SEND) == [(100 * MS, "server", run.ep("tfep"), "handler")]
    assert run.ipc(ev.IPC_CALL) == [
        (0, "client", run.ep("ep"), "server"),
        (101 * MS, "client", run.ep("ep"), "-"),
    ]
    assert run.marks("request") == [(0, "server", 5)]
    assert run.marks("fault") == [(100 * MS, "handler", 1)]  # MR Data = the client SC's badge
    assert run.replies() == [(100 * MS, "handler", "client")]
    assert run.donations() == [
        (0, "client", "client", "server"),
        (100 * MS, "client", "server", "client"),
    ]
    assert [(r[1], r[4]) for r in run.of(ev.POSTPONE) if r[2] == client] == [(100 * MS, 101 * MS)]
    assert run.marks("reply") == [(101 * MS, "client", -1)]
    assert run.intervals("server", 150 * MS) == [(0, 100 * MS)]
    assert run.exits() == [(100 * MS, "root")]


# ------------------------------------------------------------------------------ scenario 13


def test_s13_reply_returns_the_sc_even_with_send_then_wait(scenario: Scenario) -> None:
    """IPC0016: ``seL4_Send(reply)`` + ``seL4_Wait`` cannot keep the client's SC.

    t=0: the server (11) blocks in recv on its own SC, the client (10) waits on go, root (1)
    unbinds the server and signals: the client preempts root and computes 1 ms.
    t=1ms: Call -> the server (waiting with a reply object) gets the client's SC (DONATE) and
    runs [1, 3) at its own priority 11.
    t=3ms: the reply pops the call stack: the SC goes back to the client (DONATE), the server
    stays Running but without an SC, so it cannot even reach its Wait; the client (the only
    schedulable thread above root) runs at once, marks 42, computes 1 ms.
    t=4ms: NBSend finds no receiver (the server never got to its Wait): dropped (receiver -1).
    The client exits, then root; the server never runs again.
    """
    run = scenario("s13_reply_returns_sc")
    assert run.switches(with_sc=True) == [
        (0, "idle", "server", "server"),
        (0, "server", "client", "client"),
        (0, "client", "root", "root"),
        (0, "root", "client", "client"),
        (1 * MS, "client", "server", "client"),
        (3 * MS, "server", "client", "client"),
        (4 * MS, "client", "root", "root"),
        (4 * MS, "root", "idle", "idle"),
    ]
    assert run.donations() == [
        (1 * MS, "client", "client", "server"),
        (3 * MS, "client", "server", "client"),
    ]
    assert run.replies() == [(3 * MS, "server", "client")]
    assert run.marks("request") == [(1 * MS, "server", 7)]
    assert run.marks("reply") == [(3 * MS, "client", 42)]
    assert run.marks("second") == []  # the server's Wait never happened
    assert run.ipc(ev.IPC_SEND) == [(4 * MS, "client", run.ep("ep"), "-")]
    assert run.intervals("server", 20 * MS) == [(1 * MS, 3 * MS)]
    assert run.exits() == [(4 * MS, "client"), (4 * MS, "root")]
    # the server is left Running without an SC: woken at 1 ms, never blocked again
    server = run.tid("server")
    assert [r[1] for r in run.of(ev.BLOCK) if r[2] == server] == [0]
    assert [r[1] for r in run.of(ev.WAKE) if r[2] == server] == [1 * MS]


# ------------------------------------------------------------------------------ scenario 14

CHAIN = ["client", "p1", "p2", "p3", "p4", "p5", "server"]


@pytest.mark.parametrize("variant", ["equal", "increasing", "decreasing"])
def test_s14_call_chain_through_five_passive_proxies(variant: str, scenario: Scenario) -> None:
    """IPC0011-0015: client -> p1..p5 -> server, all passive but the client, 10 round trips.

    Set-up at t=0: every chain thread blocks in its first recv on its own SC, highest priority
    first (file order on ties); root unbinds the six SCs and signals go; the client preempts
    root. Round k (k = 0..9): the client computes [2k, 2k+1) ms and calls p1; p_i computes
    100 us and calls p_{i+1} (p_i runs [2k+1+(i-1)/10, 2k+1+i/10) ms); the server runs
    [2k+1.5, 2k+2) ms and replies 46; p5..p1 pass the reply back with reply_recv at 2k+2 ms
    without computing, and the client marks p1's 41. Each call and reply is a direct switch:
    with increasing priorities the woken thread is higher; with equal ones ties go to the woken
    thread; with decreasing ones only root (10) is ready, below everyone
    (docs/mcs-semantics.md 4.5). So the
    timeline is the same for all three, and every SWITCH to a chain thread but the first one
    into each (its set-up) carries the client's SC. The client's 20 ms fit its 30 ms budget.
    """
    run = scenario(f"s14_call_chain_{variant}")
    prio = {t["name"]: t["priority"] for t in run.header["threads"]}
    order = {
        "equal": CHAIN,
        "increasing": CHAIN[::-1],
        "decreasing": CHAIN,
    }[variant]
    expected = [(0, "idle", order[0], order[0])]
    expected += [(0, a, b, b) for a, b in zip(order, order[1:], strict=False)]
    expected += [(0, order[-1], "root", "root"), (0, "root", "client", "client")]
    for k in range(10):
        base = 2 * k * MS
        for i in range(6):
            expected.append((base + MS + i * 100 * US, CHAIN[i], CHAIN[i + 1], "client"))
        for i in range(6, 0, -1):
            expected.append((base + 2 * MS, CHAIN[i], CHAIN[i - 1], "client"))
    expected += [(20 * MS, "client", "root", "root"), (20 * MS, "root", "idle", "idle")]
    assert run.switches(with_sc=True) == expected
    assert {
        "equal": [100] * 7,
        "increasing": list(range(100, 107)),
        "decreasing": list(range(106, 99, -1)),
    }[variant] == [prio[n] for n in CHAIN]

    # all 10 round trips: 6 calls down, 6 replies up, the SC donated there and back
    calls = run.ipc(ev.IPC_CALL)
    assert len(calls) == 60
    assert [(c[1], c[3]) for c in calls] == [(CHAIN[i], CHAIN[i + 1]) for i in range(6)] * 10
    assert [r[1:] for r in run.replies()] == [
        (CHAIN[i], CHAIN[i - 1]) for i in range(6, 0, -1)
    ] * 10
    donations = run.donations()
    assert len(donations) == 120
    assert {d[1] for d in donations} == {"client"}
    assert run.marks("reply") == [((2 * k + 2) * MS, "client", 41) for k in range(10)]
    assert run.exits() == [(20 * MS, "client"), (20 * MS, "root")]
    # each passive thread runs exactly its share: p_i 100 us per round, the server 500 us
    for i in range(1, 6):
        assert run.intervals(f"p{i}", 30 * MS) == [
            (2 * k * MS + MS + (i - 1) * 100 * US, 2 * k * MS + MS + i * 100 * US)
            for k in range(10)
        ]
    assert run.intervals("server", 30 * MS) == [
        (2 * k * MS + 1500 * US, (2 * k + 2) * MS) for k in range(10)
    ]


# ------------------------------------------------------------------------------ scenario 15


def test_s15_donation_to_a_lower_priority_server(scenario: Scenario) -> None:
    """IPC0027: the server keeps priority 1 while it runs on the client's (priority 2) SC.

    t=0: the client waits, the server blocks in recv, root (0) unbinds it and resumes noise
    (priority 2, 1 ms / 4 ms): noise preempts root and spins [0, 1).
    t=1ms: noise's head is used up -> {4ms, 1ms}, postponed; root signals go: the client
    preempts root and calls: the server (1) is above root (0), so the call switches to it
    directly; it runs [1, 4) on the client's SC.
    t=4ms: noise is released: priority 2 > 1, it preempts the server (PREEMPT record), which
    keeps the SC; noise spins [4, 5), is postponed to 8 ms.
    t=5ms: the server runs its last 1 ms; at 6 ms it replies 77: the SC goes back, the client
    (2) preempts the server's receive (it blocks), marks 77, exits; root exits at 6 ms.
    Then noise alone: [8, 9) ms.
    """
    run = scenario("s15_donation_to_low_prio_server")
    assert run.switches(with_sc=True) == [
        (0, "idle", "client", "client"),
        (0, "client", "server", "server"),
        (0, "server", "root", "root"),
        (0, "root", "noise", "noise"),
        (1 * MS, "noise", "root", "root"),
        (1 * MS, "root", "client", "client"),
        (1 * MS, "client", "server", "client"),
        (4 * MS, "server", "noise", "noise"),
        (5 * MS, "noise", "server", "client"),
        (6 * MS, "server", "client", "client"),
        (6 * MS, "client", "root", "root"),
        (6 * MS, "root", "idle", "idle"),
        (8 * MS, "idle", "noise", "noise"),
        (9 * MS, "noise", "idle", "idle"),
    ]
    assert run.intervals("server", 12 * MS) == [(1 * MS, 4 * MS), (5 * MS, 6 * MS)]
    preempts = [(r[1], run.names[r[2]], run.names[r[3]]) for r in run.of(ev.PREEMPT)]
    assert (4 * MS, "server", "noise") in preempts
    assert run.donations() == [
        (1 * MS, "client", "client", "server"),
        (6 * MS, "client", "server", "client"),
    ]
    assert run.marks("request") == [(1 * MS, "server", 1)]
    assert run.marks("reply") == [(6 * MS, "client", 77)]
    assert run.exits() == [(6 * MS, "client"), (6 * MS, "root")]


# ------------------------------------------------------------------------------ scenario 16


def test_s16_callers_are_served_by_priority(scenario: Scenario) -> None:
    """SCHED0007: calls made in the order c2, c0, c4, c1, c3 are received c4, c3, c2, c1, c0.

    Each signalled client preempts root (10) and calls; the endpoint has no receiver, so it is
    queued by priority, FIFO within one (docs/mcs-semantics.md 8.1). Root resumes the server
    (50): its recv
    takes the head (c4) at 0. The server computes 1 ms per request; its ReplyRecv at k ms
    replies to one client and, in the same syscall, receives the next queued one; the replied
    client (priority 10x > 50) preempts it, marks 99 and exits.
    """
    run = scenario("s16_ipc_priority_ordering")
    ep = run.ep("ep")
    assert run.ipc(ev.IPC_CALL) == [(0, c, ep, "-") for c in ("c2", "c0", "c4", "c1", "c3")]
    assert run.ipc(ev.IPC_RECV) == [(k * MS, "server", ep, f"c{4 - k}") for k in range(5)]
    assert run.marks("got") == [(k * MS, "server", 4 - k) for k in range(5)]
    assert run.marks("reply") == [((k + 1) * MS, f"c{4 - k}", 99) for k in range(5)]
    assert run.replies() == [((k + 1) * MS, "server", f"c{4 - k}") for k in range(5)]
    assert run.intervals("server", 10 * MS) == [(k * MS, (k + 1) * MS) for k in range(5)]
    assert run.exits() == [((k + 1) * MS, f"c{4 - k}") for k in range(5)] + [(5 * MS, "root")]
    # an active server keeps its own SC: no donation
    assert run.donations() == []


# ------------------------------------------------------------------------------ scenario 17


def test_s17_send_to_a_passive_server(scenario: Scenario) -> None:
    """IPC0017: NBSend delivers to the passive server without running it; Sends then block.

    See the timeline in the TOML. At 4 ms the bind puts the server (head of prio 10) on the CPU:
    its pending Wait result (5) is marked; its next Wait takes c1 (woken: priority 9 < 10, so it
    goes to the head of prio 9), the next c2 (head, ahead of c1), then it blocks: c2 runs
    before c1 (docs/mcs-semantics.md 4.5: a lower-priority thread woken goes to the head of its
    queue).
    """
    run = scenario("s17_send_to_passive_server")
    ep = run.ep("ep")
    assert run.ipc(ev.IPC_SEND) == [
        (1 * MS, "root", ep, "server"),  # delivered to the passive server
        (2 * MS, "c1", ep, "-"),  # blocks: the server cannot run to its next Wait
        (3 * MS, "c2", ep, "-"),
        (5 * MS, "root", ep, "server"),
        (6 * MS, "root", ep, "server"),
    ]
    assert run.ipc(ev.IPC_RECV) == [(4 * MS, "server", ep, "c1"), (4 * MS, "server", ep, "c2")]
    server = run.tid("server")
    assert [r[1] for r in run.of(ev.WAKE) if r[2] == server][:1] == [1 * MS]
    # woken at 1 ms but not run before the bind at 4 ms
    assert [s for s in run.switches(with_sc=True) if s[2] == "server"] == [
        (0, "idle", "server", "server"),
        (4 * MS, "root", "server", "server"),
        (5 * MS, "root", "server", "server"),
        (6 * MS, "root", "server", "server"),
    ]
    assert run.marks("got") == [
        (4 * MS, "server", 5),
        (4 * MS, "server", 1),
        (4 * MS, "server", 2),
        (5 * MS, "server", 3),
        (6 * MS, "server", 4),
    ]
    assert run.marks("sent") == [(4 * MS, "c2", 2), (4 * MS, "c1", 1)]
    assert run.marks("done") == [(6 * MS, "root", 0)]
    assert run.exits() == [
        (4 * MS, "c2"),
        (4 * MS, "c1"),
        (6 * MS, "server"),
        (6 * MS, "root"),
    ]
    assert run.of(ev.SYSCALL_ERROR) == []


# ------------------------------------------------------------------------------ scenario 18


def test_s18_notification_bound_sc_is_lent_and_returned(scenario: Scenario) -> None:
    """BIND006: a signal lends the notification's SC; waiting again gives it back.

    See the timeline in the TOML. DONATE records: from -1 (the notification) to the worker at
    each signal that finds it without an SC (1 ms, 5 ms), back to -1 at each wait (1.5 ms,
    4 ms). At 3.5 ms the worker runs on the same SC, bound to it by root at 2.5 ms: no
    donation, and the next wait still returns it to the notification (docs/mcs-semantics.md 8.6:
    maybeReturnSchedContext compares the notification's SC with the thread's).
    """
    run = scenario("s18_notification_bound_sc")
    assert run.donations() == [
        (1 * MS, "worker", "-", "worker"),
        (1500 * US, "worker", "worker", "-"),
        (4 * MS, "worker", "worker", "-"),
        (5 * MS, "worker", "-", "worker"),
    ]
    assert run.switches(with_sc=True) == [
        (0, "idle", "worker", "worker"),
        (0, "worker", "root", "root"),
        (1 * MS, "root", "worker", "worker"),
        (1500 * US, "worker", "root", "root"),
        (3500 * US, "root", "worker", "worker"),
        (4 * MS, "worker", "root", "root"),
        (5 * MS, "root", "worker", "worker"),
        (5 * MS, "worker", "root", "root"),
        (5 * MS, "root", "idle", "idle"),
    ]
    assert run.marks("sig") == [
        (1 * MS, "worker", 3),
        (3500 * US, "worker", 5),
        (5 * MS, "worker", 7),
    ]
    assert run.marks("bind_held") == [(1 * MS, "worker", -1)]  # the SC is bound to it now
    assert run.marks("bind") == [(2500 * US, "root", 0)]  # returned: binding succeeds
    worker = run.tid("worker")
    assert [r[1:] for r in run.of(ev.SYSCALL_ERROR)] == [
        (1 * MS, worker, "Bind", "IllegalOperation")
    ]
    assert [r[1:] for r in run.of(ev.SIGNAL)] == [
        (t, run.tid("root"), run.ntfn("n"), worker) for t in (1 * MS, 3500 * US, 5 * MS)
    ]
    assert run.exits() == [(5 * MS, "worker"), (5 * MS, "root")]
