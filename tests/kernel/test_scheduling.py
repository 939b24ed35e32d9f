"""Kernel scenarios from docs/mcs-semantics.md: the ready-queue rules of 4.5, sections 3 and 2.7
(constant bandwidth versus sporadic), 6 (Yield), 7.1 (configure), 7.6 (suspend/resume),
9 (timeout faults), 11 (domains) and 12 (entry cost, timer precision).

Every expectation is an exact time in ns, an order or a count, worked out by hand from the spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sporadic import records as ev
from sporadic.errors import KernelError, SeL4Error
from sporadic.kernel import (
    Compute,
    Configure,
    Kernel,
    Mark,
    Message,
    Poll,
    Probe,
    Recv,
    ReplyRecv,
    Resume,
    SetPriority,
    Signal,
    Spin,
    Suspend,
    Wait,
    Yield,
    bind,
    configure,
)
from sporadic.kernel.objects import TCB
from sporadic.scheduler.domains import DomainSchedule
from sporadic.scheduler.states import BLOCKED_ON_SEND, INACTIVE
from tests.helpers import MS, US, S, Sim, spin


def seq(*actions: Any) -> Iterator[Any]:
    """A program that performs ``actions`` in order, then spins."""
    for a in actions:  # noqa: UP028 - `yield from` would forward send() to a tuple iterator
        yield a
    yield Spin()


def ms(*pairs: tuple[float, float]) -> list[tuple[int, int]]:
    return [(round(a * MS), round(b * MS)) for a, b in pairs]


# ============================================================================ 4.5 ready queues


def test_preempted_thread_goes_to_head_and_keeps_its_slice() -> None:
    """4.5 row 1: preempted -> head of its queue, keeping its remaining head budget (2.6: an RR
    thread keeps the rest of its slice)."""
    sim = Sim()
    k = sim.k
    n = k.create_notification("n")
    seen: list[Any] = []
    sim.thread(
        "H",
        200,
        seq(
            Wait(n),
            Probe(lambda t: seen.append((t, k.ready.queue(0, 100)))),
            Compute(1 * MS),
            Wait(n),
        ),
        100 * MS,
        100 * MS,
    )
    l1 = sim.thread("L1", 100, spin(), 5 * MS, 5 * MS)
    l2 = sim.thread("L2", 100, spin(), 5 * MS, 5 * MS)
    sim.signal_at(1 * MS, n)
    k.run(int(1.5 * MS))
    assert seen == [(1 * MS, [l1, l2])]
    assert l1.sc.refills == [[0, 4 * MS], [0, 1 * MS]]  # RR: head = rest, tail = consumed
    k.run(12 * MS)
    assert sim.switches() == [
        (0, "idle", "H"),
        (0, "H", "L1"),
        (1 * MS, "L1", "H"),
        (2 * MS, "H", "L1"),
        (6 * MS, "L1", "L2"),
        (11 * MS, "L2", "L1"),
    ]
    assert sim.records(ev.PREEMPT)[0] == (1 * MS, l1.id, k.thread_by_name("H").id)


def test_equal_priority_woken_thread_goes_to_tail() -> None:
    """4.5 row 2: a thread woken at the current thread's priority goes to the tail; the current
    thread continues."""
    sim = Sim()
    k = sim.k
    n = k.create_notification("n")
    seen: list[Any] = []
    sim.thread("B", 100, seq(Wait(n)), 5 * MS, 5 * MS)
    sim.thread(
        "A",
        100,
        seq(Compute(1 * MS), Signal(n), Probe(lambda t: seen.append(k.ready.queue(0, 100)))),
        5 * MS,
        5 * MS,
    )
    sim.thread("C", 100, spin(), 5 * MS, 5 * MS)
    k.run(16 * MS)
    assert [t.name for t in seen[0]] == ["C", "B"]
    assert sim.switches() == [
        (0, "idle", "B"),
        (0, "B", "A"),
        (5 * MS, "A", "C"),
        (10 * MS, "C", "B"),
        (15 * MS, "B", "A"),
    ]


def test_lower_priority_woken_thread_goes_to_head() -> None:
    """4.5 row 3: a thread woken below the current priority goes to the head of its queue,
    ahead of older equal-priority threads."""
    sim = Sim()
    k = sim.k
    nh = k.create_notification("nh")
    n = k.create_notification("n")
    seen: list[Any] = []
    sim.thread(
        "H",
        200,
        seq(
            Wait(nh),
            Signal(n),
            Probe(lambda t: seen.append([x.name for x in k.ready.queue(0, 100)])),
            Compute(1 * MS),
            Wait(nh),
        ),
        100 * MS,
        100 * MS,
    )
    sim.thread("L1", 100, seq(Wait(n)), 5 * MS, 5 * MS)
    sim.thread("L2", 100, spin(), 5 * MS, 5 * MS)
    sim.signal_at(1 * MS, nh)
    k.run(3 * MS)
    assert seen == [["L1", "L2"]]
    assert sim.switches() == [
        (0, "idle", "H"),
        (0, "H", "L1"),
        (0, "L1", "L2"),
        (1 * MS, "L2", "H"),
        (2 * MS, "H", "L1"),
    ]


def test_threads_woken_in_one_entry_run_lifo() -> None:
    """4.5 row 4 and 4.2: three threads released by one awaken() (release queue FIFO on equal
    times) end up LIFO: the last released runs first."""
    sim = Sim()
    k = sim.k
    a = sim.thread("A", 100, seq(Yield()), 1 * MS, 10 * MS)
    b = sim.thread("B", 100, seq(Yield()), 1 * MS, 10 * MS)
    c = sim.thread("C", 100, seq(Yield()), 1 * MS, 10 * MS)
    k.run(5 * MS)
    assert k.release.snapshot() == [a, b, c]
    assert [r[3] for r in sim.records(ev.POSTPONE)] == [10 * MS] * 3
    k.run(14 * MS)
    assert sim.switches() == [
        (0, "idle", "A"),
        (0, "A", "B"),
        (0, "B", "C"),
        (0, "C", "idle"),
        (10 * MS, "idle", "C"),
        (11 * MS, "C", "B"),
        (12 * MS, "B", "A"),
        (13 * MS, "A", "idle"),
    ]


def test_periodic_spinner_share_scenario_1() -> None:
    """4.5 row "exhausted, next refill not ready" (scenario 1): T goes to the release queue at
    each expiry, is released at 10k ms and preempts B; T runs exactly [10k, 10k+1) ms."""
    sim = Sim()
    k = sim.k
    t = sim.thread("T", 100, spin(), 1 * MS, 10 * MS)
    sim.thread("B", 50, spin(), 5 * MS, 5 * MS)
    k.run(5 * MS)
    assert k.release.snapshot() == [t]
    assert t.sc.refills == [[10 * MS, 1 * MS]]
    k.run(50 * MS)
    assert sim.intervals("T", 50 * MS) == [(10 * i * MS, (10 * i + 1) * MS) for i in range(5)]
    assert sim.intervals("B", 50 * MS) == [((10 * i + 1) * MS, 10 * (i + 1) * MS) for i in range(5)]
    tid = t.id
    assert sim.records(ev.POSTPONE) == [
        ((10 * i + 1) * MS, tid, t.sc.id, 10 * (i + 1) * MS) for i in range(5)
    ]
    assert sim.records(ev.REFILL_RELEASE) == [(10 * i * MS, tid, t.sc.id) for i in range(1, 5)]


def test_round_robin_exhaustion_goes_to_tail_with_full_slice() -> None:
    """2.6 and 4.5 row "exhausted, next refill ready": RR slice end refills at once and
    appends to the tail (scenario 2 shape)."""
    sim = Sim()
    k = sim.k
    a = sim.thread("A", 100, spin(), 5 * MS, 5 * MS)
    sim.thread("B", 100, spin(), 5 * MS, 5 * MS)
    k.run(7 * MS)
    assert a.sc.refills == [[0, 5 * MS], [0, 0]]
    assert k.ready.queue(0, 100) == [a]
    assert k.release.snapshot() == []
    k.run(20 * MS)
    assert sim.intervals("A", 20 * MS) == ms((0, 5), (10, 15))
    assert sim.intervals("B", 20 * MS) == ms((5, 10), (15, 20))


def _sporadic_tail_case(last: Any) -> tuple[Sim, TCB, TCB]:
    """T (sporadic, 5/10 ms, 3 refills) runs 0..2, H runs 2..12; T then has [{2,3},{10,2}] and
    1 ms of its 3 ms compute left."""
    sim = Sim()
    k = sim.k
    n = k.create_notification("n")
    sim.thread("H", 200, seq(Wait(n), Compute(10 * MS), Wait(n)), 100 * MS, 100 * MS)
    t = sim.thread(
        "T", 100, seq(Compute(3 * MS), *last), 5 * MS, 10 * MS, extra_refills=1, sporadic=True
    )
    ell = sim.thread("L", 100, spin(), 1 * MS, 100 * MS)
    sim.signal_at(2 * MS, n)
    return sim, t, ell


def test_sporadic_exhaustion_with_ready_next_refill_goes_to_tail() -> None:
    """3.5/4.5: exhausted with the next refill already ready -> tail of the queue (sporadic SC:
    no unblock check on resume, so [{2,3},{10,2}] is charged 3 at 15 -> [{10,5}], ready)."""
    sim, t, ell = _sporadic_tail_case(())
    k = sim.k
    k.run(int(15.5 * MS))
    assert t.sc.refills == [[10 * MS, 5 * MS]]
    assert k.ready.queue(0, 100) == [t]
    assert k.cur is ell and k.release.snapshot() == []
    k.run(27 * MS)
    # at 21 the single refill {20,5} is already ready: T goes on (no sliding window)
    assert sim.switches() == [
        (0, "idle", "H"),
        (0, "H", "T"),
        (2 * MS, "T", "H"),
        (12 * MS, "H", "T"),
        (15 * MS, "T", "L"),
        (16 * MS, "L", "T"),
        (26 * MS, "T", "idle"),
    ]


def test_sporadic_yield_with_ready_next_refill_goes_to_tail() -> None:
    """6 and 4.5 "yield": T yields at 13; the whole head {2,3} is charged (not just the 1 ms
    used) -> [{10,5}], ready -> tail, behind L."""
    sim, t, ell = _sporadic_tail_case((Yield(),))
    k = sim.k
    k.run(21 * MS)
    assert sim.switches() == [
        (0, "idle", "H"),
        (0, "H", "T"),
        (2 * MS, "T", "H"),
        (12 * MS, "H", "T"),
        (13 * MS, "T", "L"),
        (14 * MS, "L", "T"),
        (19 * MS, "T", "idle"),
        (20 * MS, "idle", "T"),
    ]
    assert sim.records(ev.PREEMPT) == [(2 * MS, t.id, k.thread_by_name("H").id)]


def test_round_robin_yield_goes_to_tail_with_fresh_slice() -> None:
    """2.6/6: an RR Yield refills the slice at once and appends the thread to the tail."""
    sim = Sim()
    k = sim.k
    sim.thread("A", 100, seq(Compute(1 * MS), Yield()), 5 * MS, 5 * MS)
    sim.thread("B", 100, spin(), 5 * MS, 5 * MS)
    k.run(17 * MS)
    assert sim.intervals("A", 17 * MS) == ms((0, 1), (6, 11), (16, 17))
    assert sim.intervals("B", 17 * MS) == ms((1, 6), (11, 16))
    # a yield is not a preemption; the slice ends at 6, 11 and 16 are
    assert [r[0] for r in sim.records(ev.PREEMPT)] == [6 * MS, 11 * MS, 16 * MS]


def test_set_priority_of_queued_thread_moves_it_to_head() -> None:
    """4.5 "setPriority": dequeue, change priority (here: to the same one), head of the new
    queue, rescheduleRequired."""
    sim = Sim()
    k = sim.k
    a = sim.thread("A", 100, spin(), 5 * MS, 5 * MS)
    b = sim.thread("B", 100, spin(), 5 * MS, 5 * MS)
    seen: list[Any] = []
    sim.thread(
        "C",
        150,
        seq(
            Compute(1 * MS),
            SetPriority(b, 100),
            Probe(lambda t: seen.append(k.ready.queue(0, 100))),
            Compute(1 * MS),
            Wait(k.create_notification("never")),
        ),
        10 * MS,
        10 * MS,
        mcp=255,
    )
    k.run(3 * MS)
    assert seen == [[b, a]]
    assert sim.switches() == [(0, "idle", "C"), (2 * MS, "C", "B")]


def test_set_priority_raising_a_queued_thread_preempts() -> None:
    """4.5 "setPriority": a queued thread raised above the caller runs at once."""
    sim = Sim()
    k = sim.k
    a = sim.thread("A", 100, spin(), 5 * MS, 5 * MS)
    sim.thread("C", 150, seq(Compute(1 * MS), SetPriority(a, 200)), 10 * MS, 10 * MS, mcp=255)
    k.run(3 * MS)
    assert a.prio == 200
    assert sim.switches() == [(0, "idle", "C"), (1 * MS, "C", "A")]
    assert k.ready.queue(0, 150) == [k.thread_by_name("C")]


def test_set_priority_of_current_thread_to_queued_level_keeps_running() -> None:
    """4.5 "setPriority" on the current thread: it goes to the HEAD of the new queue, so it
    is chosen again ahead of the equal-priority threads already queued."""
    sim = Sim()
    k = sim.k
    sim.thread("A", 100, spin(), 5 * MS, 5 * MS)
    c = k.create_thread("C", 150, mcp=255)
    c.program = seq(Compute(1 * MS), SetPriority(c, 100), Compute(1 * MS), Mark("after"))
    sc = k.create_sc("C")
    configure(k, sc, 10 * MS, 10 * MS)
    bind(k, sc, c)
    k.start(c)
    k.run(3 * MS)
    assert sim.marks("after") == [(2 * MS, 0)]
    assert sim.switches() == [(0, "idle", "C")]
    assert c.prio == 100


def test_set_priority_above_mcp_is_range_error() -> None:
    """10: a new priority above the authority's MCP -> RangeError."""
    sim = Sim()
    k = sim.k
    a = sim.thread("A", 100, spin(), 5 * MS, 5 * MS)
    out: list[Any] = []

    def program() -> Iterator[Any]:
        out.append((yield SetPriority(a, 201)))
        out.append((yield SetPriority(a, 120)))

    c = sim.thread("C", 150, program(), 10 * MS, 10 * MS, mcp=200)
    k.run(1 * MS)
    assert out == ["RangeError", None]
    assert sim.records(ev.SYSCALL_ERROR) == [(0, c.id, "SetPriority", "RangeError")]


def test_domain_expiry_parks_current_at_head_without_charging() -> None:
    """4.5 last row and 11: at domain end the current thread goes to the head of its queue and
    keeps the rest of its (RR) slice; the next domain is chosen."""
    sim = Sim(domain_schedule=DomainSchedule([(0, 10 * MS), (1, 10 * MS)]))
    k = sim.k
    x = sim.thread("X", 100, spin(), 3 * MS, 3 * MS, domain=1)
    y = sim.thread("Y", 100, spin(), 3 * MS, 3 * MS, domain=1)
    k.run(25 * MS)
    assert k.ready.queue(1, 100) == [y, x]
    assert y.sc.refills[0][1] == 2 * MS and y.sc.refills[1][1] == 1 * MS
    k.run(52 * MS)
    assert sim.switches() == [
        (10 * MS, "idle", "X"),
        (13 * MS, "X", "Y"),
        (16 * MS, "Y", "X"),
        (19 * MS, "X", "Y"),
        (20 * MS, "Y", "idle"),
        (30 * MS, "idle", "Y"),
        (32 * MS, "Y", "X"),
        (35 * MS, "X", "Y"),
        (38 * MS, "Y", "X"),
        (40 * MS, "X", "idle"),
        (50 * MS, "idle", "X"),
        (51 * MS, "X", "Y"),
    ]
    assert [r[1] for r in sim.records(ev.DOMAIN_SWITCH)] == [0, 1, 0, 1, 0, 1]
    assert [r[0] for r in sim.records(ev.DOMAIN_SWITCH)] == [
        0,
        10 * MS,
        20 * MS,
        30 * MS,
        40 * MS,
        50 * MS,
    ]
    assert sim.records(ev.BUDGET_EXHAUSTED)[:4] == [
        (13 * MS, x.id, x.sc.id),
        (16 * MS, y.id, y.sc.id),
        (19 * MS, x.id, x.sc.id),
        (32 * MS, y.id, y.sc.id),
    ]


# ============================================================================ 2.7 / 2.8-3


def _preempted_2_to_6(sporadic: bool) -> Sim:
    sim = Sim()
    k = sim.k
    n = k.create_notification("n")
    sim.thread("H", 200, seq(Wait(n), Compute(4 * MS), Wait(n)), 100 * MS, 100 * MS)
    sim.thread("T", 100, spin(), 5 * MS, 10 * MS, extra_refills=1, sporadic=sporadic)
    sim.signal_at(2 * MS, n)
    k.run(30 * MS)
    return sim


def test_constant_bandwidth_slides_refill_on_switch_in() -> None:
    """2.7/2.8-3 constant bandwidth: unblock check at 6 -> [{6,3},{10,2}]; exhausted at 9 ->
    [{10,2},{16,3}]: runs 10..12, then 16..19, and so on."""
    sim = _preempted_2_to_6(False)
    assert sim.intervals("T", 30 * MS) == ms((0, 2), (6, 9), (10, 12), (16, 19), (20, 22), (26, 29))
    t = sim.k.thread_by_name("T")
    assert [r[3] for r in sim.records(ev.POSTPONE)] == [
        10 * MS,
        16 * MS,
        20 * MS,
        26 * MS,
        30 * MS,
    ]
    assert t.sc.refills == [[30 * MS, 2 * MS], [36 * MS, 3 * MS]]


def test_sporadic_flag_does_not_slide_on_preemption() -> None:
    """2.7/2.8-3 sporadic: no shift at 6; exhausted at 9 -> [{10,5}]: runs 10..15."""
    sim = _preempted_2_to_6(True)
    assert sim.intervals("T", 30 * MS) == ms((0, 2), (6, 9), (10, 15), (20, 25))


def test_sporadic_flag_applies_unblock_check_on_wake_up() -> None:
    """2.7: a sporadic SC gets the unblock check when its thread is released from a blocked
    state (here a signal at 6): [{2,3},{10,2}] -> [{6,3},{10,2}], so it runs like 2.8-3's
    constant-bandwidth case: 6..9, 10..12, 16..19."""
    sim = Sim()
    k = sim.k
    n = k.create_notification("n")
    sim.thread(
        "T", 100, seq(Compute(2 * MS), Wait(n)), 5 * MS, 10 * MS, extra_refills=1, sporadic=True
    )
    sim.signal_at(6 * MS, n)
    k.run(20 * MS)
    assert sim.intervals("T", 20 * MS) == ms((0, 2), (6, 9), (10, 12), (16, 19))


def test_syscall_below_min_budget_is_retried_after_refill() -> None:
    """3.3/5: a syscall made with less than MIN_BUDGET of head capacity is not performed: the
    thread is charged (leftover 10 us merged: head {9.99 ms, 1 ms}), postponed, and the Signal
    is re-executed when it next runs, at 9.99 ms."""
    sim = Sim()
    k = sim.k
    n = k.create_notification("n")
    sim.thread("W", 200, seq(Wait(n), Mark("woken"), Wait(n)), 10 * MS, 10 * MS)
    t = sim.thread("T", 100, seq(Compute(990 * US), Signal(n)), 1 * MS, 10 * MS)
    k.run(5 * MS)
    assert t.sc.refills == [[9990 * US, 1 * MS]]
    assert sim.records(ev.BUDGET_EXHAUSTED) == [(990 * US, t.id, t.sc.id)]
    assert sim.records(ev.POSTPONE) == [(990 * US, t.id, t.sc.id, 9990 * US)]
    assert sim.marks("woken") == []
    k.run(12 * MS)
    assert sim.marks("woken") == [(9990 * US, 0)]
    assert sim.intervals("T", 12 * MS) == [(0, 990 * US), (9990 * US, 10990 * US)]


# ============================================================================ 6 Yield


def test_periodic_yielder_scenario_4() -> None:
    """6/scenario 4 (SCHED0012): budget 0.2 s, period 1 s, loop {counter++; Yield}: Yield
    charges the whole head, so the counter increments once per second, first at t = 0."""
    sim = Sim()
    k = sim.k

    def program() -> Iterator[Any]:
        counter = 0
        while True:
            counter += 1
            yield Mark("counter", counter)
            yield Yield()

    t = sim.thread("T", 100, program(), 200 * MS, 1 * S)
    k.run(int(0.5 * S))
    assert t.sc.refills == [[1 * S, 200 * MS]]
    k.run(int(5.5 * S))
    assert sim.marks("counter") == [(i * S, i + 1) for i in range(6)]
    assert [r[0] for r in sim.records(ev.POSTPONE)] == [i * S for i in range(6)]
    assert sim.records(ev.TIMEOUT_FAULT) == []


def test_yield_reports_only_time_really_used() -> None:
    """6: Yield charges the full head refill but sets scConsumed to the time really used."""
    sim = Sim()
    k = sim.k
    seen: list[Any] = []

    def program() -> Iterator[Any]:
        while True:
            yield Compute(10 * MS)
            yield Yield()
            sc = k.thread_by_name("T").sc
            yield Probe(
                lambda t, sc=sc: seen.append((t, sc.consumed, [list(r) for r in sc.refills]))
            )

    sim.thread("T", 100, program(), 200 * MS, 1 * S)
    k.run(int(2.5 * S))
    assert seen == [
        (1 * S, 10 * MS, [[1 * S, 200 * MS]]),
        (2 * S, 20 * MS, [[2 * S, 200 * MS]]),
    ]
    assert sim.intervals("T", int(2.5 * S)) == [
        (0, 10 * MS),
        (1 * S, 1 * S + 10 * MS),
        (2 * S, 2 * S + 10 * MS),
    ]


# ============================================================================ 7.1 configure


def test_configure_errors_scenario_23_in_sel4_order() -> None:
    """7.1/scenario 23: range checks (budget, period vs MAX and MIN_BUDGET, budget > period)
    come before the SC-cap check, which comes before the extra-refills check."""
    sim = Sim(max_period=100 * S)
    k = sim.k
    sc = k.create_sc("target")
    small = k.create_sc("small", size_bits=7)
    ntfn = k.create_notification("not-an-sc")
    calls = [
        Configure(sc, 5000 * US, 5000 * US),
        Configure(sc, 0, 5000 * US),
        Configure(sc, 5000 * US, 0),
        Configure(sc, 6000 * US, 5000 * US),
        Configure(sc, 1 * US, 5000 * US),
        Configure(sc, 20 * US, 5000 * US),
        Configure(ntfn, 5000 * US, 10000 * US),
        Configure(ntfn, 0, 5000 * US),  # RangeError before InvalidCapability
        Configure(ntfn, 200 * S, 300 * S),  # budget > MAX_PERIOD
        Configure(sc, 1 * MS, 200 * S),  # period > MAX_PERIOD
        Configure(ntfn, 1 * MS, 5 * MS, extra_refills=99),  # cap check before refills
        Configure(small, 1 * MS, 5 * MS, extra_refills=1),  # 2^7 bytes: no extra refills
        Configure(small, 1 * MS, 5 * MS, extra_refills=0),
        Configure(sc, 1 * MS, 5 * MS, extra_refills=8),  # 2^8 bytes: 8 extra refills fit
        Configure(sc, 1 * MS, 5 * MS, extra_refills=9),
    ]
    out: list[Any] = []

    def program() -> Iterator[Any]:
        for c in calls:
            out.append((yield c))

    ctl = sim.thread("ctl", 200, program(), 10 * MS, 10 * MS)
    k.run(1 * MS)
    r, ic = "RangeError", "InvalidCapability"
    expected = [None, r, r, r, r, None, ic, r, r, r, ic, r, None, None, r]
    assert out == expected
    assert sim.records(ev.SYSCALL_ERROR) == [
        (0, ctl.id, "Configure", e) for e in expected if e is not None
    ]
    assert sc.refill_max == 10 and small.refill_max == 2


def test_boot_time_configure_raises_kernel_error() -> None:
    """7.1: the boot-time invocation raises KernelError with the seL4 error name."""
    k = Kernel()
    sc = k.create_sc("sc")
    with pytest.raises(KernelError) as e:
        configure(k, sc, 10 * US, 5 * MS)
    assert e.value.error is SeL4Error.RangeError
    with pytest.raises(KernelError) as e:
        configure(k, k.create_notification("n"), 1 * MS, 5 * MS)
    assert e.value.error is SeL4Error.InvalidCapability
    configure(k, sc, 5 * MS, 5 * MS)
    assert sc.period == 0 and sc.refills == [[0, 5 * MS], [0, 0]]  # budget == period: RR


def test_reconfigure_runnable_thread_uses_refill_update() -> None:
    """7.1/2.2: reconfiguring a runnable (preempted) thread's SC keeps only the head {2,3}
    and adds the remainder 1 ms at 2 + 10: [{2,3},{12,1}]; T runs 2..5 then 12..16."""
    sim = Sim()
    k = sim.k
    n = k.create_notification("n")
    seen: list[Any] = []
    t = k.create_thread("T", 100, program=spin())
    tsc = k.create_sc("T")
    configure(k, tsc, 5 * MS, 10 * MS)
    bind(k, tsc, t)
    sim.thread(
        "H",
        200,
        seq(
            Wait(n),
            Configure(tsc, 4 * MS, 10 * MS),
            Probe(lambda now: seen.append([list(r) for r in tsc.refills])),
            Wait(n),
        ),
        100 * MS,
        100 * MS,
    )
    k.start(t)
    sim.signal_at(2 * MS, n)
    k.run(30 * MS)
    assert seen == [[[2 * MS, 3 * MS], [12 * MS, 1 * MS]]]
    assert sim.intervals("T", 30 * MS) == ms((0, 2), (2, 5), (12, 16), (22, 26))


def test_reconfigure_blocked_thread_uses_refill_new() -> None:
    """7.1/2.1/15: reconfiguring a blocked thread's SC gives a full fresh budget at now."""
    sim = Sim()
    k = sim.k
    n = k.create_notification("n")
    n2 = k.create_notification("n2")
    seen: list[Any] = []
    t = k.create_thread("T", 100, program=seq(Compute(2 * MS), Wait(n2)))
    tsc = k.create_sc("T")
    configure(k, tsc, 5 * MS, 10 * MS)
    bind(k, tsc, t)
    sim.thread(
        "H",
        200,
        seq(
            Wait(n),
            Configure(tsc, 4 * MS, 10 * MS),
            Probe(lambda now: seen.append([list(r) for r in tsc.refills])),
            Signal(n2),
            Wait(n),
        ),
        100 * MS,
        100 * MS,
    )
    k.start(t)
    sim.signal_at(3 * MS, n)
    k.run(20 * MS)
    assert seen == [[[3 * MS, 4 * MS]]]
    assert sim.intervals("T", 20 * MS) == ms((0, 2), (3, 7), (13, 17))


def test_reconfigure_thread_waiting_in_release_queue_keeps_future_head() -> None:
    """7.1/2.2: a thread in the release queue is still runnable, so refill_update applies: the
    future head {10,2} is kept and the extra 1 ms comes at 20; T is postponed again."""
    sim = Sim()
    k = sim.k
    n = k.create_notification("n")
    seen: list[Any] = []
    t = k.create_thread("T", 100, program=spin())
    tsc = k.create_sc("T")
    configure(k, tsc, 2 * MS, 10 * MS)
    bind(k, tsc, t)
    sim.thread(
        "H",
        200,
        seq(
            Wait(n),
            Configure(tsc, 3 * MS, 10 * MS),
            Probe(lambda now: seen.append(([list(r) for r in tsc.refills], k.release.snapshot()))),
            Wait(n),
        ),
        100 * MS,
        100 * MS,
    )
    k.start(t)
    sim.signal_at(5 * MS, n)
    k.run(30 * MS)
    assert seen == [([[10 * MS, 2 * MS], [20 * MS, 1 * MS]], [t])]
    # at 12: used {20,2} merges with {20,1} -> [{20,3}]
    assert sim.intervals("T", 30 * MS) == ms((0, 2), (10, 12), (20, 23))


def test_reconfigure_own_sc_trims_head_but_keeps_old_deadline() -> None:
    """7.1/2.2/3.8: configuring the current thread's own SC commits its time, then keeps only
    the head {2,3} trimmed to 1 ms. Nothing in 3.8 reprograms the timer here, so T runs on to
    the old deadline (5 ms) and handle_overrun (2.4a) charges the 3 ms: head {2,1} moves three
    periods, to 32 ms."""
    sim = Sim()
    k = sim.k
    t = k.create_thread("T", 100)
    tsc = k.create_sc("T")
    configure(k, tsc, 5 * MS, 10 * MS)
    bind(k, tsc, t)
    t.program = seq(Compute(2 * MS), Configure(tsc, 1 * MS, 10 * MS))
    k.start(t)
    k.run(10 * MS)
    assert tsc.refills == [[32 * MS, 1 * MS]]
    assert sim.records(ev.POSTPONE) == [(5 * MS, t.id, tsc.id, 32 * MS)]
    k.run(45 * MS)
    assert sim.intervals("T", 45 * MS) == ms((0, 5), (32, 33), (42, 43))


# ============================================================================ 7.6 suspend/resume


def test_suspend_resume_cannot_add_budget_scenario_8() -> None:
    """7.6/scenario 8 (SCHED0016): after 10 rounds of Suspend -> Resume -> Yield the worker's
    state stays 1: Resume puts it straight back in the release queue."""
    sim = Sim()
    k = sim.k
    state = [0]

    def worker() -> Iterator[Any]:
        while True:
            state[0] += 1
            yield Mark("state", state[0])
            yield Yield()

    w = sim.thread("W", 100, worker(), 1 * S, 600 * S)

    def controller() -> Iterator[Any]:
        for _ in range(10):
            yield Suspend(w)
            yield Resume(w)
            yield Yield()
        yield Mark("done")
        yield Wait(k.create_notification("never"))

    sim.thread("C", 50, controller(), 5 * MS, 5 * MS)
    k.run(10 * S)
    assert state[0] == 1
    assert sim.marks("done") == [(0, 0)]
    assert k.release.snapshot() == [w]
    assert w.sc.refills == [[600 * S, 1 * S]]
    assert len(sim.records(ev.POSTPONE)) == 11  # the Yield, then each Resume
    k.run(601 * S)
    assert sim.marks("state") == [(0, 1), (600 * S, 2)]


# ============================================================================ 9 timeout faults


def _timeout_scenario(label: int, handler_waits: bool = True) -> tuple[Sim, TCB, list[Any]]:
    """Scenario 9: spinner S (budget 1 ms, period 2 ms, SC badge 1) with a timeout endpoint
    (cap badge 7); handler H replies with ``label``."""
    sim = Sim()
    k = sim.k
    ep = k.create_endpoint("tfep")
    got: list[Any] = []

    def handler() -> Iterator[Any]:
        msg = yield Recv(ep)
        while True:
            yield Probe(lambda t, m=msg: got.append((t, m)))
            msg = yield ReplyRecv(ep, label=label)

    if handler_waits:
        sim.thread("H", 200, handler(), 10 * MS, 10 * MS)
    s = k.create_thread("S", 100, program=spin())
    sc = k.create_sc("S")
    configure(k, sc, 1 * MS, 2 * MS, badge=1)
    bind(k, sc, s)
    s.timeout_handler = ep
    s.timeout_badge = 7
    k.start(s)
    return sim, s, got


def test_timeout_fault_every_period_scenario_9() -> None:
    """9/scenario 9: label Timeout, data = SC badge 1, consumed = 1 ms; replying with label 0
    restarts S, which waits for its refill: one fault every 2 ms, at 1, 3, 5, 7, 9 ms."""
    sim, s, got = _timeout_scenario(0)
    k = sim.k
    k.run(10 * MS)
    times = [(2 * i + 1) * MS for i in range(5)]
    assert got == [(t, Message(7, 6, (1, 1 * MS))) for t in times]
    assert sim.records(ev.TIMEOUT_FAULT) == [(t, s.id, s.sc.id, 1, 1 * MS) for t in times]
    assert sim.intervals("S", 10 * MS) == [(2 * i * MS, (2 * i + 1) * MS) for i in range(5)]
    # after the reply S waits in the release queue, with its exhausted refill moved on
    assert [r[3] for r in sim.records(ev.POSTPONE)] == [(2 * i + 2) * MS for i in range(5)]


def test_timeout_fault_reply_nonzero_label_stops_thread() -> None:
    """9: a reply with label != 0 makes the faulted thread Inactive: exactly one fault."""
    sim, s, got = _timeout_scenario(1)
    sim.k.run(10 * MS)
    assert got == [(1 * MS, Message(7, 6, (1, 1 * MS)))]
    assert s.state == INACTIVE
    assert sim.intervals("S", 10 * MS) == [(0, 1 * MS)]


def test_timeout_fault_without_waiting_handler_blocks_on_send() -> None:
    """9: no handler waiting -> the thread is BlockedOnSend on the tfep, keeps its SC and is
    not in the release queue."""
    sim, s, got = _timeout_scenario(0, handler_waits=False)
    k = sim.k
    k.run(10 * MS)
    assert s.state == BLOCKED_ON_SEND
    assert s.sc is not None and not s.in_release_queue
    assert len(sim.records(ev.TIMEOUT_FAULT)) == 1
    assert sim.intervals("S", 10 * MS) == [(0, 1 * MS)]


def test_late_handler_receives_queued_timeout_fault() -> None:
    """8.3/9: a fault sent while no handler waits is picked up by a later Recv (consumed still
    1 ms); after the reply S's refill is ready, so it runs at once and faults again 1 ms later."""
    sim = Sim()
    k = sim.k
    ep = k.create_endpoint("tfep")
    n = k.create_notification("n")
    got: list[Any] = []

    def handler() -> Iterator[Any]:
        yield Wait(n)
        msg = yield Recv(ep)
        while True:
            yield Probe(lambda t, m=msg: got.append((t, m)))
            msg = yield ReplyRecv(ep, label=0)

    sim.thread("H", 200, handler(), 10 * MS, 10 * MS)
    s = k.create_thread("S", 100, program=spin())
    sc = k.create_sc("S")
    configure(k, sc, 1 * MS, 2 * MS, badge=1)
    bind(k, sc, s)
    s.timeout_handler = ep
    s.timeout_badge = 7
    k.start(s)
    sim.signal_at(5 * MS, n)
    k.run(9 * MS)
    msg = Message(7, 6, (1, 1 * MS))
    assert got == [(5 * MS, msg), (6 * MS, msg), (8 * MS, msg)]
    assert sim.intervals("S", 9 * MS) == ms((0, 1), (5, 6), (7, 8))


def test_no_timeout_fault_for_round_robin_sc() -> None:
    """3.5/9: RR SCs never raise timeout faults; the slice is refilled and the thread goes on."""
    sim = Sim()
    k = sim.k
    ep = k.create_endpoint("tfep")
    s = sim.thread("S", 100, spin(), 1 * MS, 1 * MS)
    s.timeout_handler = ep
    k.run(int(5.5 * MS))
    assert sim.records(ev.TIMEOUT_FAULT) == []
    assert [r[0] for r in sim.records(ev.BUDGET_EXHAUSTED)] == [i * MS for i in range(1, 6)]
    assert sim.intervals("S", int(5.5 * MS)) == [(0, int(5.5 * MS))]


def test_no_timeout_fault_on_yield() -> None:
    """6/9: Yield never raises a timeout fault, even with a handler: the thread is postponed."""
    sim = Sim()
    k = sim.k
    ep = k.create_endpoint("tfep")

    def program() -> Iterator[Any]:
        while True:
            yield Compute(500 * US)
            yield Yield()

    s = sim.thread("S", 100, program(), 1 * MS, 2 * MS)
    s.timeout_handler = ep
    k.run(5 * MS)
    assert sim.records(ev.TIMEOUT_FAULT) == []
    assert sim.records(ev.POSTPONE) == [
        (int(0.5 * MS), s.id, s.sc.id, 2 * MS),
        (int(2.5 * MS), s.id, s.sc.id, 4 * MS),
        (int(4.5 * MS), s.id, s.sc.id, 6 * MS),
    ]


def test_no_handler_means_postponed() -> None:
    """3.5/9: without a timeout handler the exhausted thread is postponed, no fault."""
    sim = Sim()
    k = sim.k
    s = sim.thread("S", 100, spin(), 1 * MS, 2 * MS, badge=1)
    k.run(6 * MS)
    assert sim.records(ev.TIMEOUT_FAULT) == []
    assert sim.intervals("S", 6 * MS) == ms((0, 1), (2, 3), (4, 5))
    assert sim.records(ev.POSTPONE)[0] == (1 * MS, s.id, s.sc.id, 2 * MS)


# ============================================================================ 11 domains


def test_domain_scenario_24() -> None:
    """11/scenario 24: X (domain 1, budget 3 / period 5 ms) spins; it runs only in domain-1
    windows, at most 3 ms per 5 ms; at the window end it is parked at the head of its queue
    and its refills keep maturing while domain 0 runs."""
    sim = Sim(domain_schedule=DomainSchedule([(0, 10 * MS), (1, 10 * MS)]))
    k = sim.k
    x = sim.thread("X", 100, spin(), 3 * MS, 5 * MS, domain=1)
    k.run(25 * MS)
    assert k.ready.queue(1, 100) == [x]
    assert x.sc.refills == [[20 * MS, 3 * MS]]
    k.run(60 * MS)
    assert sim.intervals("X", 60 * MS) == ms(
        (10, 13), (15, 18), (30, 33), (35, 38), (50, 53), (55, 58)
    )


def test_domain_zero_thread_runs_only_in_its_windows() -> None:
    """11: with a thread in each domain, each runs only in its own windows; the current thread
    is not charged a timeslice end at a domain switch (RR head keeps the rest)."""
    sim = Sim(domain_schedule=DomainSchedule([(0, 4 * MS), (1, 6 * MS)]))
    k = sim.k
    sim.thread("A", 100, spin(), 50 * MS, 50 * MS, domain=0)
    sim.thread("B", 10, spin(), 50 * MS, 50 * MS, domain=1)
    k.run(20 * MS)
    assert sim.intervals("A", 20 * MS) == ms((0, 4), (10, 14))
    assert sim.intervals("B", 20 * MS) == ms((4, 10), (14, 20))
    assert sim.records(ev.BUDGET_EXHAUSTED) == []
    assert k.thread_by_name("A").sc.refills[0][1] == 42 * MS


def test_domain_time_within_min_budget_ends_the_window_early() -> None:
    """11/3.3: at an entry leaving <= MIN_BUDGET of domain time, the domain ends at once and the
    syscall is not performed but re-executed when the thread next runs."""
    sim = Sim(domain_schedule=DomainSchedule([(0, 10 * MS), (1, 10 * MS)]))
    k = sim.k
    n = k.create_notification("n")

    def program() -> Iterator[Any]:
        yield Compute(10 * MS - 10 * US)
        word = yield Poll(n)
        yield Mark("polled", word)
        yield Spin()

    sim.thread("A", 100, program(), 50 * MS, 50 * MS, domain=0)
    sim.thread("B", 100, spin(), 50 * MS, 50 * MS, domain=1)
    k.run(25 * MS)
    end0 = 10 * MS - 10 * US
    assert [r[0] for r in sim.records(ev.DOMAIN_SWITCH)] == [0, end0, end0 + 10 * MS]
    assert sim.switches() == [(0, "idle", "A"), (end0, "A", "B"), (end0 + 10 * MS, "B", "A")]
    assert sim.marks("polled") == [(end0 + 10 * MS, 0)]


# ============================================================================ 12 timer and costs


def _entry_cost_case(cost: int) -> Sim:
    """A (budget 1 ms, period 10 ms) spins; H wakes at 0.5 ms and blocks again at once."""
    sim = Sim(entry_cost=cost)
    k = sim.k
    n = k.create_notification("n")

    def h() -> Iterator[Any]:
        while True:
            yield Wait(n)

    sim.thread("H", 200, h(), 10 * MS, 10 * MS)
    sim.thread("A", 100, spin(), 1 * MS, 10 * MS)
    sim.signal_at(500 * US, n)
    k.run(12 * MS)
    return sim


def test_kernel_entry_cost_is_charged_to_the_next_sc() -> None:
    """3.1/12: the kernel's run time after an entry is charged to the SC current at the next
    entry: H's wake-up entry (10 us) is charged to H, its Wait entry (10 us) to A, so A's
    budget ends 10 us later than with a zero-cost kernel."""
    free = _entry_cost_case(0)
    assert free.switches() == [
        (0, "idle", "H"),
        (0, "H", "A"),
        (500 * US, "A", "H"),
        (500 * US, "H", "A"),
        (1 * MS, "A", "idle"),
        (10 * MS, "idle", "A"),
        (11 * MS, "A", "idle"),
    ]
    costly = _entry_cost_case(10 * US)
    assert costly.switches() == [
        (0, "idle", "H"),
        (0, "H", "A"),
        (500 * US, "A", "H"),
        (510 * US, "H", "A"),
        (1010 * US, "A", "idle"),
        (10 * MS, "idle", "A"),
        (10500 * US, "A", "idle"),
        (10510 * US, "idle", "A"),
        (11010 * US, "A", "idle"),
    ]
    assert costly.k.thread_by_name("H").sc.consumed == 10 * US


def test_timer_precision_example_2() -> None:
    """12/2.8-2: deadlines are programmed prec early; the leftover head (prec < MIN_BUDGET) is
    merged into the next refill, so the budget moves prec earlier each period. An early release
    IRQ finds nothing ready and is programmed again in the past; it fires again until the
    refill is ready, with or without kernel time passing in between."""
    for entry_cost in (0, 1 * US):
        _precision_example(2 * US, entry_cost)


def _precision_example(prec: int, entry_cost: int) -> None:
    sim = Sim(timer_precision=prec, entry_cost=entry_cost)
    k = sim.k
    t = sim.thread("T", 100, spin(), 2 * MS, 10 * MS)
    k.run(5 * MS)
    assert t.sc.refills == [[10 * MS - prec, 2 * MS]]
    k.run(25 * MS)
    assert [r[0] for r in sim.records(ev.BUDGET_EXHAUSTED)] == [
        2 * MS - prec,
        12 * MS - 2 * prec,
        22 * MS - 3 * prec,
    ]
    assert [r[3] for r in sim.records(ev.POSTPONE)] == [
        10 * MS - prec,
        20 * MS - 2 * prec,
        30 * MS - 3 * prec,
    ]
    assert sim.intervals("T", 25 * MS) == [
        (0, 2 * MS - prec),
        (10 * MS - prec, 12 * MS - 2 * prec),
        (20 * MS - 2 * prec, 22 * MS - 3 * prec),
    ]
