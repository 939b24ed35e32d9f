"""The SC predicates and the charging steps of ``scheduler/refills.py``, each against the seL4
function it follows (``include/kernel/sporadic.h``, ``include/kernel/thread.h``,
``src/kernel/thread.c``; docs/mcs-semantics.md sections 1.4, 2.6 and 3)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sporadic.scheduler.refills import (
    charge_timeslice,
    is_active,
    is_released,
    is_round_robin,
    is_sporadic,
    refill_capacity,
    refill_commit,
    refill_new,
    refill_sufficient,
    refill_switch_check,
)
from tests.helpers import MIN_BUDGET, MS


class SC:
    """The fields the rules read: refills, refill_max, period, sporadic, consumed."""

    def __init__(self, budget: int, period: int, *, sporadic: bool = False, now: int = 0) -> None:
        self.refills: list[list[int]] = [[0, 0]]
        self.refill_max = 0
        self.period = 0
        self.sporadic = sporadic
        self.consumed = 0
        if budget:
            refill_new(self, 2, budget, 0 if budget == period else period, now)


def test_is_sporadic_is_sc_sporadic_none_safe() -> None:
    """sporadic.h:sc_sporadic: ``sc != NULL && sc->scSporadic``."""
    assert is_sporadic(None) is False
    assert is_sporadic(SC(2 * MS, 10 * MS)) is False
    assert is_sporadic(SC(2 * MS, 10 * MS, sporadic=True)) is True


def test_is_active_is_sc_active() -> None:
    """sporadic.h:sc_active: ``scRefillMax > 0``; an unconfigured SC is not active."""
    assert is_active(SC(0, 0)) is False
    assert is_active(SC(2 * MS, 10 * MS)) is True


def test_is_round_robin_is_period_zero() -> None:
    """thread.h:isRoundRobin: budget == period is stored as period 0."""
    assert is_round_robin(SC(5 * MS, 5 * MS)) is True
    assert is_round_robin(SC(2 * MS, 10 * MS)) is False


def test_is_released_needs_active_and_ready_head() -> None:
    """sporadic.h:sc_released: active, and the head's rTime is not after now."""
    sc = SC(2 * MS, 10 * MS, now=5 * MS)
    assert is_released(sc, 4 * MS) is False
    assert is_released(sc, 5 * MS) is True
    assert is_released(SC(0, 0), 5 * MS) is False


@given(head=st.integers(0, 10**9), usage=st.integers(0, 2 * 10**9))
def test_sufficient_is_capacity_at_least_min_budget(head: int, usage: int) -> None:
    """sporadic.h:refill_sufficient is ``refill_capacity(sc, usage) >= MIN_BUDGET``."""
    sc = SC(0, 0)
    sc.refills = [[0, head]]
    assert refill_sufficient(sc, usage, MIN_BUDGET) == (refill_capacity(sc, usage) >= MIN_BUDGET)


def test_commit_of_a_round_robin_sc_moves_usage_from_head_to_tail() -> None:
    """thread.h:commitTime, isRoundRobin branch: head -= consumed, tail += consumed."""
    sc = SC(5 * MS, 5 * MS)
    refill_commit(sc, 2 * MS, MIN_BUDGET)
    assert sc.refills == [[0, 3 * MS], [0, 2 * MS]]
    assert sc.consumed == 2 * MS


def test_commit_of_a_sporadic_sc_goes_through_refill_budget_check() -> None:
    """thread.h:commitTime, otherwise refill_budget_check: the head slides on by what was
    used and the used time is scheduled one period later."""
    sc = SC(2 * MS, 10 * MS)
    refill_commit(sc, 500_000, MIN_BUDGET)
    assert sc.refills == [[500_000, 1_500_000], [10 * MS, 500_000]]
    assert sc.consumed == 500_000


def test_commit_leaves_an_inactive_sc_alone() -> None:
    """thread.h:commitTime charges only ``sc_active`` SCs."""
    sc = SC(0, 0)
    refill_commit(sc, 2 * MS, MIN_BUDGET)
    assert (sc.refills, sc.consumed) == ([[0, 0]], 0)


def test_timeslice_end_of_a_round_robin_sc_refills_the_head() -> None:
    """thread.c:chargeBudget, isRoundRobin branch: head += tail, tail = 0."""
    sc = SC(5 * MS, 5 * MS)
    sc.refills = [[0, 10_000], [0, 4_990_000]]
    charge_timeslice(sc, 10_000, MIN_BUDGET)
    assert sc.refills == [[0, 5 * MS], [0, 0]]


def test_timeslice_end_of_a_sporadic_sc_goes_through_refill_budget_check() -> None:
    """thread.c:chargeBudget, otherwise refill_budget_check: a whole-head overrun moves the
    single refill one period on."""
    sc = SC(2 * MS, 10 * MS)
    charge_timeslice(sc, 2 * MS, MIN_BUDGET)
    assert sc.refills == [[10 * MS, 2 * MS]]


def test_switch_check_brings_a_constant_bandwidth_head_forward() -> None:
    """thread.c:switchSchedContext: ``sc_constant_bandwidth`` SCs get refill_unblock_check, so
    a ready head is slid to now and merged with refills it now overlaps."""
    sc = SC(2 * MS, 10 * MS)
    sc.refill_max = 3
    sc.refills = [[1 * MS, 1 * MS], [2 * MS, 1 * MS]]
    refill_switch_check(sc, 3 * MS)
    assert sc.refills == [[3 * MS, 2 * MS]]


def test_switch_check_leaves_a_sporadic_sc_alone() -> None:
    """thread.c:switchSchedContext skips sporadic SCs: their check happens at wake-up."""
    sc = SC(2 * MS, 10 * MS, sporadic=True)
    sc.refill_max = 3
    sc.refills = [[1 * MS, 1 * MS], [2 * MS, 1 * MS]]
    refill_switch_check(sc, 3 * MS)
    assert sc.refills == [[1 * MS, 1 * MS], [2 * MS, 1 * MS]]
