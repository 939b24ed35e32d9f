"""SchedContext invocations of docs/mcs-semantics.md section 7.3-7.5: Bind and its errors,
Unbind, Consumed, YieldTo, each with exact times."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sporadic import records as ev
from sporadic.kernel import (
    Bind,
    Compute,
    Consumed,
    Mark,
    Spin,
    Unbind,
    Wait,
    YieldTo,
    configure,
)
from tests.helpers import MS, Sim, prog


def marking(label: str, *actions: Any) -> Iterator[Any]:
    """Perform ``actions``, marking each result under ``label``; then spin."""
    for a in actions:
        result = yield a
        if not isinstance(a, Compute):
            yield Mark(label, result if isinstance(result, int) else str(result))
    yield Spin()


def test_yield_to_a_blocked_equal_priority_thread_answers_at_once_and_switches_nothing() -> None:
    """7.5: YieldTo the SC of a thread that is not schedulable (blocked) queues nothing: the
    caller keeps running and gets the target's consumed time at once, which resets it.

    Boot order T, C: T runs 0..2 ms and blocks on n; C runs from 2 ms, computes 1 ms and at
    3 ms yields to T's SC: answer 2 ms, no switch; C spins on to the end at 5 ms."""
    sim = Sim()
    k = sim.k
    n = k.create_notification("n")
    target = sim.thread("T", 100, prog(Compute(2 * MS), Wait(n)), 10 * MS, 10 * MS)
    sim.thread("C", 100, marking("c", Compute(1 * MS), YieldTo(target.sc)), 10 * MS, 10 * MS)
    k.run(5 * MS)
    assert sim.switches() == [(0, "idle", "T"), (2 * MS, "T", "C")]
    assert sim.marks("c") == [(3 * MS, 2 * MS)]
    assert k.cur.name == "C" and target.sc.consumed == 0


def test_yield_to_a_runnable_equal_priority_thread() -> None:
    sim = Sim()
    k = sim.k
    other = sim.thread("T", 100, prog(Compute(2 * MS), Spin()), 5 * MS, 5 * MS)
    sim.thread("C", 100, marking("c", Compute(1 * MS), YieldTo(other.sc)), 5 * MS, 5 * MS)
    k.run(12 * MS)
    # 0..2: T runs 2 ms of its compute then spins until its 5 ms slice ends at 5 ms; C runs
    # 5..6, yields to T: T goes ahead of C and runs its next slice 6..11; C then gets T's
    # consumed time since the last report: 5 ms (slice 1) + 5 ms (slice 2)
    assert sim.switches() == [(0, "idle", "T"), (5 * MS, "T", "C"), (6 * MS, "C", "T"),
                              (11 * MS, "T", "C")]  # fmt: skip
    assert sim.marks("c") == [(11 * MS, 10 * MS)]


def test_yield_to_a_lower_priority_thread_returns_at_once() -> None:
    sim = Sim()
    k = sim.k
    low = sim.thread("L", 10, prog(Spin()), 5 * MS, 5 * MS)
    sim.thread("C", 100, marking("c", Compute(1 * MS), YieldTo(low.sc)), 5 * MS, 10 * MS)
    k.run(3 * MS)
    # C (higher) runs first; L has consumed nothing; the answer is immediate
    assert sim.marks("c") == [(1 * MS, 0)]
    assert k.ready.queue(0, 10) == [low]  # moved to the head of its own queue
    assert k.cur.name == "C"


def test_yield_to_errors() -> None:
    sim = Sim()
    k = sim.k
    high = sim.thread("H", 200, prog(Spin()), 1 * MS, 10 * MS, mcp=200)
    own = k.create_sc("own")
    sim.thread(
        "C",
        100,
        marking("c", YieldTo(own), YieldTo(high.sc), YieldTo(k.create_notification("x"))),
        1 * MS,
        10 * MS,
    )
    k.run(30 * MS)
    # no bound thread; a target above the caller's MCP; not an SC
    assert [v for _, v in sim.marks("c")] == [
        "IllegalOperation",
        "IllegalOperation",
        "InvalidCapability",
    ]


def test_consumed_reports_committed_time_and_resets() -> None:
    """7.4: Consumed gives the SC's committed time (ns here; seL4 reports us) and resets it."""
    sim = Sim()
    k = sim.k
    go = k.create_notification("go")
    worker = sim.thread("W", 50, prog(Spin()), 10 * MS, 10 * MS)
    sim.thread(
        "C",
        100,
        marking("c", Consumed(worker.sc), Wait(go), Consumed(worker.sc), Consumed(worker.sc)),
        1 * MS,
        10 * MS,
    )
    sim.signal_at(3 * MS, go)
    k.run(4 * MS)
    # C first (higher): nothing consumed yet. W spins 0..3 ms; the signal at 3 ms switches to
    # C, which commits W's 3 ms; reading it resets it to 0.
    assert sim.marks("c") == [(0, 0), (3 * MS, 1), (3 * MS, 3 * MS), (3 * MS, 0)]


def test_bind_errors_and_unbind() -> None:
    """7.3: an SC with a thread, a thread with an SC, unbinding the current thread's SC."""
    sim = Sim()
    k = sim.k
    a = sim.thread("A", 50, prog(Spin()), 1 * MS, 10 * MS)
    spare = k.create_sc("spare")
    configure(k, spare, 1 * MS, 10 * MS)
    sim.thread(
        "C",
        100,
        marking("c", Bind(a.sc, a), Bind(spare, a), Unbind(a.sc), Bind(spare, a)),
        1 * MS,
        10 * MS,
    )
    k.run(5 * MS)
    results = [v for _, v in sim.marks("c")]
    assert results == ["IllegalOperation", "IllegalOperation", "None", "None"]
    assert a.sc is spare and spare.tcb is a
    assert [r for r in sim.recs if r[0] == ev.SYSCALL_ERROR][0][3] == "Bind"
