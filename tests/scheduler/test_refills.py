"""Refill arithmetic, docs/mcs-semantics.md section 2, on hand-built SC-like objects.

Times are integer ns; ``MS``/``US`` keep the worked examples of 2.8 readable.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sporadic.scheduler.refills import (
    refill_budget_check,
    refill_capacity,
    refill_new,
    refill_ready,
    refill_sufficient,
    refill_unblock_check,
    refill_update,
    schedule_used,
)
from tests.helpers import MIN_BUDGET, MS, US


class SC:
    """The three fields section 2 works on."""

    def __init__(self, refills: list[list[int]], period: int, refill_max: int = 2) -> None:
        self.refills = [list(r) for r in refills]
        self.period = period
        self.refill_max = refill_max


def new_sc(budget: int, period: int, max_refills: int = 2, now: int = 0) -> SC:
    sc = SC([[0, 0]], 0, 0)
    refill_new(sc, max_refills, budget, period, now)
    return sc


# ----------------------------------------------------------------------------- 1.4 predicates


def test_capacity_clamps_at_zero() -> None:
    """1.4 refill_capacity: head amount minus usage, 0 when usage exceeds the head."""
    sc = SC([[0, 5 * MS]], 10 * MS)
    assert refill_capacity(sc, 2 * MS) == 3 * MS
    assert refill_capacity(sc, 5 * MS) == 0
    assert refill_capacity(sc, 6 * MS) == 0


def test_sufficient_is_capacity_at_least_min_budget() -> None:
    """1.4 refill_sufficient: capacity >= MIN_BUDGET, with the boundary included."""
    sc = SC([[0, 5 * MS]], 10 * MS)
    assert refill_sufficient(sc, 5 * MS - MIN_BUDGET, MIN_BUDGET)
    assert not refill_sufficient(sc, 5 * MS - MIN_BUDGET + 1, MIN_BUDGET)
    assert not refill_sufficient(sc, 6 * MS, MIN_BUDGET)
    assert refill_sufficient(sc, 0, MIN_BUDGET)


def test_ready_is_head_time_not_after_now() -> None:
    """1.4 refill_ready: head.rTime <= now."""
    sc = SC([[10 * MS, 2 * MS]], 10 * MS)
    assert not refill_ready(sc, 10 * MS - 1)
    assert refill_ready(sc, 10 * MS)
    assert refill_ready(sc, 11 * MS)


# ----------------------------------------------------------------------------- 2.1 refill_new


def test_refill_new_sporadic_gives_full_budget_now() -> None:
    """2.1: one refill {now, budget}; period and max are stored."""
    sc = new_sc(5 * MS, 10 * MS, max_refills=3, now=7 * MS)
    assert sc.refills == [[7 * MS, 5 * MS]]
    assert sc.period == 10 * MS
    assert sc.refill_max == 3


def test_refill_new_round_robin_adds_empty_tail() -> None:
    """2.1/2.6: period 0 (round robin) gets the empty tail {now, 0}."""
    sc = new_sc(5 * MS, 0, now=3 * MS)
    assert sc.refills == [[3 * MS, 5 * MS], [3 * MS, 0]]
    assert sc.period == 0


def test_refill_new_discards_previous_refills() -> None:
    """2.1: reconfiguring with refill_new drops any pending refills."""
    sc = SC([[2 * MS, 3 * MS], [10 * MS, 2 * MS]], 10 * MS)
    refill_new(sc, 2, 4 * MS, 20 * MS, 5 * MS)
    assert sc.refills == [[5 * MS, 4 * MS]]


# ----------------------------------------------------------------------------- 2.2 refill_update


def test_refill_update_trims_a_large_head() -> None:
    """2.2: head >= new budget -> the head alone, trimmed; a past rTime moves to now."""
    sc = SC([[2 * MS, 3 * MS], [10 * MS, 2 * MS]], 10 * MS)
    refill_update(sc, 20 * MS, 1 * MS, 4, 4 * MS)
    assert sc.refills == [[4 * MS, 1 * MS]]
    assert (sc.period, sc.refill_max) == (20 * MS, 4)


def test_refill_update_adds_remainder_one_new_period_after_head() -> None:
    """2.2: head < new budget -> remainder refill at head.rTime + new period."""
    sc = SC([[2 * MS, 3 * MS], [10 * MS, 2 * MS]], 10 * MS)
    refill_update(sc, 10 * MS, 4 * MS, 2, 2 * MS)
    assert sc.refills == [[2 * MS, 3 * MS], [12 * MS, 1 * MS]]


def test_refill_update_keeps_a_future_head_time() -> None:
    """2.2: a head in the future keeps its rTime (only a past one is moved to now)."""
    sc = SC([[10 * MS, 2 * MS]], 10 * MS)
    refill_update(sc, 10 * MS, 5 * MS, 2, 4 * MS)
    assert sc.refills == [[10 * MS, 2 * MS], [20 * MS, 3 * MS]]


def test_refill_update_remainder_may_be_below_min_budget() -> None:
    """2.2 note: the remainder refill may be smaller than MIN_BUDGET."""
    sc = SC([[0, 5 * MS - 5 * US]], 10 * MS)
    refill_update(sc, 10 * MS, 5 * MS, 2, 0)
    assert sc.refills == [[0, 5 * MS - 5 * US], [10 * MS, 5 * US]]


# ----------------------------------------------------------------------------- 2.3 schedule_used


def test_schedule_used_merges_adjacent() -> None:
    """2.3: tail end == new rTime -> merged into the tail."""
    sc = SC([[0, 1 * MS], [10 * MS, 2 * MS]], 10 * MS)
    schedule_used(sc, 12 * MS, 3 * MS)
    assert sc.refills == [[0, 1 * MS], [10 * MS, 5 * MS]]


def test_schedule_used_merges_overlapping() -> None:
    """2.3: tail end > new rTime -> merged (the tail keeps its rTime)."""
    sc = SC([[0, 1 * MS], [10 * MS, 2 * MS]], 10 * MS)
    schedule_used(sc, 11 * MS, 1 * MS)
    assert sc.refills == [[0, 1 * MS], [10 * MS, 3 * MS]]


def test_schedule_used_appends_when_there_is_room() -> None:
    """2.3: a gap and room -> plain append."""
    sc = SC([[0, 1 * MS], [10 * MS, 2 * MS]], 10 * MS, refill_max=3)
    schedule_used(sc, 13 * MS, 1 * MS)
    assert sc.refills == [[0, 1 * MS], [10 * MS, 2 * MS], [13 * MS, 1 * MS]]


def test_schedule_used_full_buffer_delays_the_tail() -> None:
    """2.3: full buffer -> the tail is pushed so that it ends where the new refill would end;
    nothing is dropped."""
    sc = SC([[4 * MS, 3 * MS], [10 * MS, 1 * MS]], 10 * MS, refill_max=2)
    schedule_used(sc, 13 * MS, 1 * MS)
    assert sc.refills == [[4 * MS, 3 * MS], [12 * MS, 2 * MS]]
    assert sum(a for _, a in sc.refills) == 5 * MS


# ----------------------------------------------------------------------------- 2.4 budget check


def test_budget_check_single_refill_overrun_moves_head_one_period() -> None:
    """2.4(a): single refill fully used -> rTime += period (example 2.8-1)."""
    sc = new_sc(2 * MS, 10 * MS)
    refill_budget_check(sc, 2 * MS, MIN_BUDGET)
    assert sc.refills == [[10 * MS, 2 * MS]]


def test_budget_check_single_refill_overrun_of_several_periods() -> None:
    """2.4(a): the overrun loop moves a single refill once per whole head amount used."""
    sc = new_sc(2 * MS, 10 * MS)
    refill_budget_check(sc, 5 * MS, MIN_BUDGET)
    # two whole heads (rTime += 2 periods), then a partial charge of 1 ms.
    assert sc.refills == [[21 * MS, 1 * MS], [30 * MS, 1 * MS]]


def test_budget_check_pops_whole_heads_and_schedules_them_used() -> None:
    """2.4(a): with several refills a fully used head is popped and re-added one period
    after its rTime."""
    sc = SC([[0, 2 * MS], [6 * MS, 3 * MS]], 10 * MS, refill_max=3)
    refill_budget_check(sc, 2 * MS, MIN_BUDGET)
    assert sc.refills == [[6 * MS, 3 * MS], [10 * MS, 2 * MS]]


def test_budget_check_partial_slides_head_and_returns_used_one_period_later() -> None:
    """2.4(b): used {head.rTime + period, usage}; head slides forward by usage."""
    sc = new_sc(5 * MS, 10 * MS)
    refill_budget_check(sc, 2 * MS, MIN_BUDGET)
    assert sc.refills == [[2 * MS, 3 * MS], [10 * MS, 2 * MS]]


def test_budget_check_used_time_comes_back_after_head_rtime_not_now() -> None:
    """2.4 key property: the used refill is at head.rTime + period even if the head was
    ready long before "now" (no unblock check in between)."""
    sc = SC([[0, 5 * MS]], 10 * MS)
    refill_budget_check(sc, 2 * MS, MIN_BUDGET)  # charged at, say, t = 9 ms
    assert sc.refills == [[2 * MS, 3 * MS], [10 * MS, 2 * MS]]


def test_budget_check_merges_small_head_into_next() -> None:
    """2.4(c): a head below MIN_BUDGET merges into the next refill, which starts earlier by the
    leftover and so ends at the same time."""
    sc = SC([[0, 5 * MS], [10 * MS, 5 * MS]], 10 * MS, refill_max=3)
    refill_budget_check(sc, 5 * MS - 10 * US, MIN_BUDGET)
    # partial: used {10ms, 5ms-10us} merges into the tail {10ms,5ms} -> {10ms, 10ms-10us};
    # head {5ms-10us, 10us} < MIN_BUDGET -> merged: {10ms-10us, 10ms}.
    assert sc.refills == [[10 * MS - 10 * US, 10 * MS]]


def test_incremental_charging_equals_one_charge() -> None:
    """2.4: charging in several steps merges adjacent used refills into one."""
    a = new_sc(5 * MS, 10 * MS, max_refills=4)
    b = new_sc(5 * MS, 10 * MS, max_refills=4)
    refill_budget_check(a, 3 * MS, MIN_BUDGET)
    for _ in range(3):
        refill_budget_check(b, 1 * MS, MIN_BUDGET)
    assert a.refills == b.refills == [[3 * MS, 2 * MS], [10 * MS, 3 * MS]]


# ----------------------------------------------------------------------------- 2.5 unblock check


def test_unblock_check_slides_ready_head_to_now() -> None:
    """2.5: a ready head moves to now; returns True (ksReprogram)."""
    sc = SC([[2 * MS, 3 * MS], [10 * MS, 2 * MS]], 10 * MS)
    assert refill_unblock_check(sc, 6 * MS)
    assert sc.refills == [[6 * MS, 3 * MS], [10 * MS, 2 * MS]]


def test_unblock_check_merges_overlapping_refills() -> None:
    """2.5: refills that now overlap the slid head are merged into it, rTime = now."""
    sc = SC([[2 * MS, 3 * MS], [10 * MS, 2 * MS], [14 * MS, 1 * MS]], 10 * MS, refill_max=3)
    assert refill_unblock_check(sc, 9 * MS)
    # head {9,3} ends at 12 >= 10 -> {9,5}; ends at 14 >= 14 -> {9,6}.
    assert sc.refills == [[9 * MS, 6 * MS]]


def test_unblock_check_stops_at_first_non_overlapping_refill() -> None:
    """2.5: merging stops at a refill that starts after the head ends."""
    sc = SC([[2 * MS, 3 * MS], [10 * MS, 2 * MS], [20 * MS, 1 * MS]], 10 * MS, refill_max=3)
    refill_unblock_check(sc, 8 * MS)
    assert sc.refills == [[8 * MS, 5 * MS], [20 * MS, 1 * MS]]


def test_unblock_check_leaves_future_head_alone() -> None:
    """2.5: head not ready -> nothing happens, returns False."""
    sc = SC([[10 * MS, 2 * MS], [16 * MS, 3 * MS]], 10 * MS)
    assert not refill_unblock_check(sc, 9 * MS)
    assert sc.refills == [[10 * MS, 2 * MS], [16 * MS, 3 * MS]]


def test_unblock_check_is_noop_for_round_robin() -> None:
    """2.5/2.6: no-op for round-robin SCs."""
    sc = new_sc(5 * MS, 0)
    assert not refill_unblock_check(sc, 7 * MS)
    assert sc.refills == [[0, 5 * MS], [0, 0]]


# ----------------------------------------------------------------------------- 2.8 worked examples


def test_example_1_exact_timer() -> None:
    """2.8-1: budget 2, period 10; overrun at 2 -> head {10, 2}; 20% steady state."""
    sc = new_sc(2 * MS, 10 * MS)
    for k in range(5):
        start = sc.refills[0][0]
        assert start == 10 * MS * k
        refill_unblock_check(sc, start)  # released at start, switched in
        refill_budget_check(sc, 2 * MS, MIN_BUDGET)  # exhausted 2 ms later
        assert sc.refills == [[10 * MS * (k + 1), 2 * MS]]


def test_example_2_early_timer_moves_budget_by_prec() -> None:
    """2.8-2: the IRQ arrives prec early: used {10, 2-prec}; head {2-prec, prec} < MIN_BUDGET
    merges -> {10-prec, 2}. The budget is kept, moved by prec."""
    prec = 2 * US
    sc = new_sc(2 * MS, 10 * MS)
    usage = 2 * MS - prec
    assert not refill_sufficient(sc, usage, MIN_BUDGET)  # so the kernel charges it
    refill_budget_check(sc, usage, MIN_BUDGET)
    assert sc.refills == [[10 * MS - prec, 2 * MS]]


def test_example_3_constant_bandwidth() -> None:
    """2.8-3, constant bandwidth: [{2,3},{10,2}] -> unblock at 6 -> [{6,3},{10,2}] ->
    exhausted at 9 -> [{10,2},{16,3}]; then runs 10..12 and 16..19."""
    sc = new_sc(5 * MS, 10 * MS)
    refill_budget_check(sc, 2 * MS, MIN_BUDGET)
    assert sc.refills == [[2 * MS, 3 * MS], [10 * MS, 2 * MS]]
    refill_unblock_check(sc, 6 * MS)
    assert sc.refills == [[6 * MS, 3 * MS], [10 * MS, 2 * MS]]
    refill_budget_check(sc, 3 * MS, MIN_BUDGET)
    assert sc.refills == [[10 * MS, 2 * MS], [16 * MS, 3 * MS]]
    refill_unblock_check(sc, 10 * MS)
    refill_budget_check(sc, 2 * MS, MIN_BUDGET)  # runs 10..12
    assert sc.refills == [[16 * MS, 3 * MS], [20 * MS, 2 * MS]]
    refill_unblock_check(sc, 16 * MS)
    refill_budget_check(sc, 3 * MS, MIN_BUDGET)  # runs 16..19
    assert sc.refills == [[20 * MS, 2 * MS], [26 * MS, 3 * MS]]


def test_example_3_sporadic() -> None:
    """2.8-3, sporadic: no shift at 6; exhausted at 9 -> [{10,5}]: runs 10..15."""
    sc = new_sc(5 * MS, 10 * MS)
    refill_budget_check(sc, 2 * MS, MIN_BUDGET)
    refill_budget_check(sc, 3 * MS, MIN_BUDGET)
    assert sc.refills == [[10 * MS, 5 * MS]]


def test_example_4_fragmentation_with_full_buffer() -> None:
    """2.8-4: run 0..1, block -> [{1,4},{10,1}]; wake at 3 -> {3,4}; run 1 and block ->
    used {13,1}, buffer full, tail not adjacent -> [{4,3},{12,2}]."""
    sc = new_sc(5 * MS, 10 * MS, max_refills=2)
    refill_budget_check(sc, 1 * MS, MIN_BUDGET)
    assert sc.refills == [[1 * MS, 4 * MS], [10 * MS, 1 * MS]]
    refill_unblock_check(sc, 3 * MS)
    assert sc.refills == [[3 * MS, 4 * MS], [10 * MS, 1 * MS]]
    refill_budget_check(sc, 1 * MS, MIN_BUDGET)
    assert sc.refills == [[4 * MS, 3 * MS], [12 * MS, 2 * MS]]


# ----------------------------------------------------------------------------- properties


def check_invariants(sc: SC, budget: int) -> None:
    """Section 1.1 invariants."""
    r = sc.refills
    assert sum(a for _, a in r) == budget
    assert 1 <= len(r) <= sc.refill_max
    assert r[0][1] >= MIN_BUDGET
    for (t0, a0), (t1, _) in zip(r, r[1:], strict=False):
        assert t0 + a0 <= t1


@st.composite
def charge_sequences(draw: st.DrawFn) -> tuple[int, int, int, list[tuple[str, int]]]:
    period = draw(st.integers(MIN_BUDGET, 50 * MS))
    budget = draw(st.integers(MIN_BUDGET, period))
    max_refills = draw(st.integers(2, 6))
    ops = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["run", "idle", "exhaust"]),
                st.integers(0, 2 * period),
            ),
            max_size=40,
        )
    )
    return budget, period, max_refills, ops


@settings(max_examples=300, deadline=None)
@given(charge_sequences(), st.booleans())
def test_refill_invariants_hold_under_random_charges(
    case: tuple[int, int, int, list[tuple[str, int]]], sporadic: bool
) -> None:
    """1.1 invariants under 2.4/2.5: sum == budget, ordered, non-overlapping, len <= max,
    head >= MIN_BUDGET, for any charge (usage <= head, from a ready head) and unblock checks
    at increasing times."""
    budget, period, max_refills, ops = case
    sc = new_sc(budget, period, max_refills)
    now = 0
    for op, x in ops:
        if op == "idle":
            now += x
            refill_unblock_check(sc, now)
        else:
            head = sc.refills[0]
            if head[0] > now:  # wait for the release
                now = head[0]
            if not sporadic:
                refill_unblock_check(sc, now)  # constant bandwidth: check at switch-in
            head = sc.refills[0]
            usage = head[1] if op == "exhaust" else min(x, head[1])
            now += usage
            refill_budget_check(sc, usage, MIN_BUDGET)
        check_invariants(sc, budget)
