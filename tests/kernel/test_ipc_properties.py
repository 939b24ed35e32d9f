"""Properties of random call patterns over passive servers (docs/mcs-semantics.md 8.2-8.5,
8.7, 2.7).

A system: 1-3 clients with random priorities and constant-bandwidth SCs (budget < period)
loop {compute, Call}; each calls one entry of a line of 1-3 passive servers S0 -> S1 -> ...
Server i computes a random time per request, then (if its ``forward`` flag is set) calls
server i+1, then answers with ReplyRecv. Budgets run out inside servers (no timeout handlers:
the server is postponed holding the client's SC, 8.7), calls queue on busy servers and are
picked up by ReplyRecv with the caller's SC. Servers become passive the sel4test way: they
reach their first Recv on an SC of their own, which a priority-0 root thread then unbinds.

Properties:
(a) no thread runs without an SC: every SWITCH to a non-idle thread names an SC, and at every
    probe (before each compute, after each call returns) the running thread holds one that
    is bound to it; a server only ever runs on a client's SC, with a non-empty call stack;
(b) the SC goes back on every reply: each IPC_REPLY is followed at once by the DONATE of the
    SC from the replier to the caller, and every client, when its call returns, holds its
    own SC with an empty call stack;
(c) constant bandwidth (2.7) holds across donation: the CPU given to a client plus every
    server running on its SC never exceeds its budget in any window of length period.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sporadic import records as ev
from sporadic.kernel import Kernel, bind, configure
from sporadic.kernel.objects import TCB, Endpoint, SchedContext
from sporadic.kernel.syscalls import Call, Compute, Probe, Recv, ReplyRecv, Resume, Unbind
from tests.helpers import MIN_BUDGET, MS, US, busiest_window, prog

HORIZON = 40 * MS


@st.composite
def systems(draw: st.DrawFn) -> dict[str, Any]:
    n_servers = draw(st.integers(1, 3))
    servers = [
        {
            "prio": draw(st.integers(10, 60)),
            "compute": draw(st.integers(20 * US, 2 * MS)),
            "forward": i < n_servers - 1 and draw(st.booleans()),
        }
        for i in range(n_servers)
    ]
    clients = []
    for _ in range(draw(st.integers(1, 3))):
        period = draw(st.integers(500 * US, 10 * MS))
        clients.append(
            {
                "prio": draw(st.integers(10, 60)),
                "budget": draw(st.integers(MIN_BUDGET, period - 1)),
                "period": period,
                "extra": draw(st.integers(0, 2)),
                "compute": draw(st.integers(10 * US, 2 * MS)),
                "entry": draw(st.integers(0, n_servers - 1)),
            }
        )
    return {"servers": servers, "clients": clients}


class Checker:
    """Collects violations seen by the probes (asserting inside a program would only stop the
    generator, so probes record and the test asserts afterwards)."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.errors: list[str] = []
        self.returns = 0
        self.client_scs: set[int] = set()

    def running_with_sc(self, t: TCB, server: bool) -> Probe:
        def check(now: int) -> None:
            k = self.k
            sc = k.cur.sc
            if k.cur is not t or sc is None or sc.tcb is not t:
                self.errors.append(f"{now}: {t.name} runs without its SC bound ({sc!r})")
            elif server and (sc.id not in self.client_scs or sc.reply is None):
                self.errors.append(f"{now}: server {t.name} runs on {sc.name}, not a call stack")

        return Probe(check)

    def call_returned(self, t: TCB, home: SchedContext) -> Probe:
        def check(now: int) -> None:
            self.returns += 1
            if t.sc is not home or home.tcb is not t or home.reply is not None:
                self.errors.append(f"{now}: {t.name} returned without its own SC ({t.sc!r})")

        return Probe(check)


def build(
    system: dict[str, Any], fastpath: bool = True
) -> tuple[Kernel, list[tuple], Checker, list[TCB]]:
    recs: list[tuple] = []
    k = Kernel(sink=recs.append, fastpath=fastpath)
    chk = Checker(k)
    eps: list[Endpoint] = [k.create_endpoint(f"e{i}") for i in range(len(system["servers"]))]

    def server_prog(i: int, t: TCB) -> Iterator[Any]:
        spec = system["servers"][i]
        yield Recv(eps[i])
        while True:
            yield chk.running_with_sc(t, True)
            yield Compute(spec["compute"])
            if spec["forward"]:
                yield Call(eps[i + 1])
                yield chk.running_with_sc(t, True)
            yield ReplyRecv(eps[i])

    def client_prog(spec: dict[str, Any], t: TCB, home: SchedContext) -> Iterator[Any]:
        while True:
            yield chk.running_with_sc(t, False)
            yield Compute(spec["compute"])
            yield Call(eps[spec["entry"]])
            yield chk.call_returned(t, home)

    passive = []
    for i, spec in enumerate(system["servers"]):
        t = k.create_thread(f"S{i}", spec["prio"])
        sc = k.create_sc(f"S{i}")
        configure(k, sc, 1 * MS, 1 * MS)
        bind(k, sc, t)
        t.program = server_prog(i, t)
        k.start(t)
        passive.append(sc)
    clients = []
    for j, spec in enumerate(system["clients"]):
        t = k.create_thread(f"C{j}", spec["prio"])
        sc = k.create_sc(f"C{j}")
        configure(k, sc, spec["budget"], spec["period"], extra_refills=spec["extra"])
        bind(k, sc, t)
        t.program = client_prog(spec, t, sc)
        clients.append(t)
        chk.client_scs.add(sc.id)
    root = k.create_thread("root", 0)
    sc = k.create_sc("root")
    configure(k, sc, 1 * MS, 1 * MS)
    bind(k, sc, root)
    root.program = prog(*(Unbind(s) for s in passive), *(Resume(c) for c in clients))
    k.start(root)
    k.run(HORIZON)
    return k, recs, chk, clients


def sc_intervals(recs: list[tuple], end: int) -> dict[int, list[tuple[int, int]]]:
    """Execution intervals per SC id. The SC the CPU runs on changes at a SWITCH (to that
    record's SC) and at a DONATE to or from the running thread without a SWITCH (a ReplyRecv
    that returns one SC and picks up a queued caller's in the same syscall)."""
    out: dict[int, list[tuple[int, int]]] = {}
    cur_thread, cur_sc, since = -1, -1, 0

    def close(t: int) -> None:
        if cur_sc >= 0 and t > since:
            out.setdefault(cur_sc, []).append((since, t))

    for r in recs:
        kind, t = r[0], r[1]
        if kind == ev.SWITCH:
            close(t)
            cur_thread, cur_sc, since = r[3], r[4], t
        elif kind == ev.DONATE and cur_thread >= 0 and cur_thread in (r[3], r[4]):
            close(t)
            cur_sc = r[2] if r[4] == cur_thread else -1
            since = t
    close(end)
    return out


@settings(max_examples=60, deadline=None)
@given(systems())
def test_no_thread_runs_without_an_sc(system: dict[str, Any]) -> None:
    """(a) Every SWITCH to a non-idle thread carries an SC id, and every probe found the
    running thread holding an SC bound to it (servers: a client's SC with a call stack)."""
    k, recs, chk, _ = build(system)
    assert chk.errors == []
    for r in recs:
        if r[0] == ev.SWITCH and r[3] != k.idle.id:
            assert r[4] >= 0, r
    # the running thread at the end holds an SC too
    assert k.cur is k.idle or (k.cur.sc is not None and k.cur.sc.tcb is k.cur)


@settings(max_examples=60, deadline=None)
@given(systems())
def test_every_reply_returns_the_sc_to_its_caller(system: dict[str, Any]) -> None:
    """(b) Each IPC_REPLY (replier, caller) is followed by DONATE (sc, replier, caller), the SC
    being the one at the root of the call chain; each client's call returns on its own SC."""
    k, recs, chk, clients = build(system)
    assert chk.errors == []
    replies = 0
    for i, r in enumerate(recs):
        if r[0] != ev.IPC_REPLY:
            continue
        replies += 1
        nxt = recs[i + 1]
        assert nxt[0] == ev.DONATE and nxt[1] == r[1] and nxt[3:] == (r[2], r[3]), (r, nxt)
        assert k.scs[nxt[2]].home in clients
    # every return a client saw was a reply; every reply to a client was seen unless the run
    # ended first (the client was woken but had not yet run)
    to_clients = sum(1 for r in recs if r[0] == ev.IPC_REPLY and k.threads[r[3]] in clients)
    assert to_clients - len(clients) <= chk.returns <= to_clients
    # every reply answers a call made earlier: no more replies than calls
    assert replies <= sum(1 for r in recs if r[0] == ev.IPC_CALL)


@pytest.mark.parametrize("fastpath", [True, False], ids=["fastpath", "slowpath"])
@settings(max_examples=60, deadline=None)
@given(system=systems())
def test_constant_bandwidth_holds_across_donation(system: dict[str, Any], fastpath: bool) -> None:
    """(c) 2.7 with donation: per client SC, the time any thread ran on it (the client, or
    servers on the donated SC) never exceeds the budget in a window of length period.
    Windows are checked at each interval start, where a sliding window's maximum is. It holds
    with the IPC fastpath too, which skips the budget check: the budget timer still ends the
    SC's time on schedule."""
    k, recs, chk, clients = build(system, fastpath)
    assert chk.errors == []
    per_sc = sc_intervals(recs, HORIZON)
    for spec, c in zip(system["clients"], clients, strict=True):
        home = next(s for s in k.scs if s.home is c)
        s, used = busiest_window(per_sc.get(home.id, []), spec["period"])
        assert used <= spec["budget"], (spec, s, used)
    # the records' attribution agrees exactly with the kernel's accounting: committed time,
    # plus, for the SC running at the end, what is not committed yet (section 3)
    for sc in k.scs:
        if sc.home in clients:
            ran = sum(b - a for a, b in per_sc.get(sc.id, []))
            pending = k.consumed + (HORIZON - k.now) if sc is k.cur_sc else 0
            assert ran == sc.consumed + pending, (sc, ran)
