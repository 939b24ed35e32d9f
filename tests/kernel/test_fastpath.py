"""The IPC fastpath (``src/fastpath/fastpath.c``: ``fastpath_call``, ``fastpath_reply_recv``).

A client C (priority 10; 1 ms / 10 ms) calls a passive server S (priority 20), which computes
5 us and answers with ReplyRecv. Both IPCs meet every fastpath check, so they skip the clock
read and the budget check and switch straight to the other thread.
"""

from __future__ import annotations

from typing import Any

from sporadic import records as ev
from sporadic.kernel import Call, Compute, Mark, Recv, ReplyRecv, Resume, Spin, Wait
from sporadic.kernel.fastpath import FAST_MESSAGE_WORDS
from tests.helpers import MS, US, Sim, prog

SLOW = 176 + 600  # syscall_latency + entry_cost: a slowpath from trap to the next thread


def _client_server(
    before_call: int, words: tuple[int, ...] = (1,), server_sc: bool = False, **kw: Any
) -> Sim:
    sim = Sim(**kw)
    ep = sim.ep("ep")
    server = prog(
        Recv(ep), Mark("in"), Compute(5 * US), Mark("reply"), ReplyRecv(ep, words=(2,)), Spin()
    )
    if server_sc:
        sim.thread("S", 20, server, 1 * MS, 10 * MS)
    else:
        sim.server("S", 20, server)
    client = prog(Compute(before_call), Mark("call"), Call(ep, words=words), Mark("back"), Spin())
    c = sim.thread("C", 10, client, 1 * MS, 10 * MS, start=False)
    sim.root(Resume(c))
    return sim


def _marks(sim: Sim) -> dict[str, int]:
    return {r[2]: r[0] for r in sim.records(ev.MARK)}


def test_fastpath_call_with_less_than_min_budget_left_is_made_without_a_budget_check() -> None:
    """fastpath_call has no checkBudgetRestart: C calls with 10 us of its 1 ms left (below
    MIN_BUDGET, 20 us). The call goes through at 990 us, S runs on C's SC, replies at 995 us,
    and the budget runs out at 1000 us on the timer, not at the call."""
    sim = _client_server(990 * US)
    sim.k.run(5 * MS)
    assert [r[0] for r in sim.records(ev.BUDGET_EXHAUSTED)] == [1000 * US]
    assert sim.donations()[-2:] == [(990 * US, "C", "C", "S"), (995 * US, "C", "S", "C")]


def test_without_the_fastpath_the_same_call_ends_the_timeslice_first() -> None:
    """handleSyscall's checkBudgetRestart (slowpath): 10 us < MIN_BUDGET, so C's timeslice
    ends at 990 us. refill_budget_check merges the 10 us left into the next refill, which then
    starts 10 us early (at 9.99 ms), and the call is made again then."""
    sim = _client_server(990 * US, fastpath=False)
    sim.k.run(10500 * US)
    assert [r[0] for r in sim.records(ev.BUDGET_EXHAUSTED)] == [990 * US]
    assert sim.donations()[-2:] == [(9990 * US, "C", "C", "S"), (9995 * US, "C", "S", "C")]


def test_fastpath_leaves_ks_cur_time_at_the_last_clock_read() -> None:
    """The fastpath calls no updateTimestamp: after the call at 100 us and the reply at 105 us,
    the kernel's time is still that of root's last syscall (0), while the records carry the
    times of the traps."""
    sim = _client_server(100 * US)
    sim.k.run(102 * US)
    assert sim.k.now == 0
    assert [(r[0], sim.name(r[1])) for r in sim.records(ev.IPC_CALL)] == [(100 * US, "C")]
    sim.k.run(1 * MS)
    assert sim.k.now == 0
    assert sim.records(ev.IPC_REPLY)[-1][:2] == (105 * US, sim.k.thread_by_name("S").id)


def test_slowpath_call_reads_the_clock() -> None:
    sim = _client_server(100 * US, fastpath=False)
    sim.k.run(102 * US)
    assert sim.k.now == 100 * US


def test_fastpath_cost_runs_from_the_trap_to_the_other_threads_first_instruction() -> None:
    """With fastpath_cost 500 ns, S starts 500 ns after C's trap and C 500 ns after S's."""
    sim = _client_server(100 * US, fastpath_cost=500, entry_cost=600, syscall_latency=176)
    sim.k.run(1 * MS)
    m = _marks(sim)
    assert (m["in"] - m["call"], m["back"] - m["reply"]) == (500, 500)


def test_a_message_longer_than_the_fast_registers_takes_the_slowpath() -> None:
    """fastpath_mi_check: more than n_msgRegisters (4 on aarch64) words go the slow way."""
    words = tuple(range(FAST_MESSAGE_WORDS + 1))
    sim = _client_server(
        100 * US, words=words, fastpath_cost=500, entry_cost=600, syscall_latency=176
    )
    sim.k.run(1 * MS)
    m = _marks(sim)
    assert (m["in"] - m["call"], m["back"] - m["reply"]) == (SLOW, 500)


def test_a_call_to_a_server_with_its_own_sc_takes_the_slowpath() -> None:
    """fastpath_call: ``dest->tcbSchedContext != NULL`` goes to the slowpath; so does the reply,
    since the caller still holds its SC (``caller->tcbSchedContext != NULL``)."""
    sim = _client_server(
        100 * US, server_sc=True, fastpath_cost=500, entry_cost=600, syscall_latency=176
    )
    sim.k.run(1 * MS)
    m = _marks(sim)
    assert (m["in"] - m["call"], m["back"] - m["reply"]) == (SLOW, SLOW)


def test_a_call_down_to_a_server_below_a_ready_thread_takes_the_slowpath() -> None:
    """fastpath_call: dest below the caller and not isHighestPrio goes to the slowpath, whose
    schedule runs the ready thread H (15, woken at 50 us) before the server S (12)."""
    sim = Sim()
    ep = sim.ep("ep")
    go = sim.k.create_notification("go")
    sim.server("S", 12, prog(Recv(ep), Spin()))
    c = sim.thread("C", 30, prog(Compute(100 * US), Call(ep)), 1 * MS, 10 * MS, start=False)
    h = sim.thread("H", 15, prog(Wait(go), Spin()), 1 * MS, 10 * MS, start=False)
    sim.root(Resume(h), Resume(c))
    sim.signal_at(50 * US, go)
    sim.k.run(1 * MS)
    assert sim.switches()[-1] == (100 * US, "C", "H")
    assert sim.k.now == 100 * US


def test_reply_recv_with_a_caller_queued_takes_the_slowpath() -> None:
    """fastpath_reply_recv: ``endpoint state == Send`` goes to the slowpath, which reads the
    clock. C1 calls S at 0 (fastpath); C2 (30), woken at 2 us, calls while S computes and is
    queued; S's ReplyRecv at 5 us returns C1's SC and receives C2's call with C2's SC."""
    sim = Sim()
    ep = sim.ep("ep")
    go = sim.k.create_notification("go")
    sim.server("S", 20, prog(Recv(ep), Compute(5 * US), ReplyRecv(ep), Spin()))
    c1 = sim.thread("C1", 10, prog(Call(ep), Spin()), 1 * MS, 10 * MS, start=False)
    c2 = sim.thread("C2", 30, prog(Wait(go), Call(ep), Spin()), 1 * MS, 10 * MS, start=False)
    sim.root(Resume(c2), Resume(c1))
    sim.signal_at(2 * US, go)
    sim.k.run(1 * MS)
    assert sim.k.now == 5 * US
    assert sim.donations() == [
        (0, "C1", "C1", "S"),
        (5 * US, "C1", "S", "C1"),
        (5 * US, "C2", "C2", "S"),
    ]
