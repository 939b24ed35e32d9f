"""The task-set generators: utilisations that sum to the target and keep their bounds, the
known distributions of UUniFast and RandFixedSum, periods, deadlines, budgets, MIN_BUDGET, and
the same text for the same seed."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from sporadic.analysis.bounds import task_bounds
from sporadic.description import load_text
from sporadic.experiments import utilisations as utils
from sporadic.experiments.generate import (
    GENERATORS,
    MIN_BUDGET,
    generate,
    hyperperiod,
    set_duration,
    task_set,
    utilisation_of,
)
from tests.helpers import MS, US


def _exact(tasks) -> Fraction:
    return sum(Fraction(t.wcet, t.period) for t in tasks)


@pytest.mark.parametrize("generator", GENERATORS)
def test_utilisation_sums_to_the_target_within_rounding(generator: str) -> None:
    """Each WCET is round(u x T) in ns, so the sum is off by at most n x 0.5 ns / T_min; the
    lower bound 0.01 keeps every WCET above MIN_BUDGET (0.01 x 10 ms = 100 us): no clamp."""
    for seed in range(20):
        tasks = task_set(8, 0.75, generator, ("10ms", "100ms"), seed=seed, bounds=(0.01, 0.5))
        assert abs(_exact(tasks) - Fraction(3, 4)) <= Fraction(8, 2 * 10 * MS), seed
        assert all(0.01 - 1e-6 <= t.wcet / t.period <= 0.5 + 1e-6 for t in tasks), seed


@pytest.mark.parametrize("generator", GENERATORS)
def test_upper_bounds_hold_when_they_bind(generator: str) -> None:
    """Five tasks of at most 0.3 each summing to 1.2: the bound cuts deep into the simplex."""
    for seed in range(10):
        tasks = task_set(5, 1.2, generator, ("10ms", "10ms"), seed=seed, bounds=(0.0, 0.3))
        assert max(t.wcet for t in tasks) <= 3 * MS
        assert abs(_exact(tasks) - Fraction(6, 5)) <= Fraction(5, 2 * 10 * MS)


def test_periods_are_log_uniform_multiples_of_the_granularity() -> None:
    tasks = task_set(200, 0.5, periods=("1ms", "100ms"), granularity="1ms", seed=3)
    periods = [t.period for t in tasks]
    assert min(periods) >= 1 * MS and max(periods) <= 100 * MS
    assert all(p % MS == 0 for p in periods)
    # log-uniform: about half of the periods below sqrt(1 x 101) ms = 10 ms
    below = sum(p < 10 * MS for p in periods) / len(periods)
    assert 0.38 < below < 0.62


def test_harmonic_periods_divide_each_other() -> None:
    tasks = task_set(10, 0.6, periods=("1ms", "64ms"), harmonic=True, seed=4)
    periods = sorted({t.period for t in tasks})
    assert all(p in {MS << k for k in range(7)} for p in periods)
    assert all(b % a == 0 for a, b in zip(periods, periods[1:], strict=False))
    assert hyperperiod(tasks) == periods[-1]


def test_constrained_deadlines_and_deadline_monotonic_priorities() -> None:
    tasks = task_set(12, 0.7, deadlines="constrained", seed=5)
    assert all(t.wcet <= t.deadline <= t.period for t in tasks)
    assert any(t.deadline < t.period for t in tasks)
    ordered = sorted(tasks, key=lambda t: -t.priority)
    assert [t.deadline for t in ordered] == sorted(t.deadline for t in tasks)
    assert [t.priority for t in ordered] == list(range(254, 242, -1))


def test_budgets_are_wcet_times_margin_plus_headroom_capped_at_the_period() -> None:
    tasks = task_set(6, 0.9, budget_margin=1.5, seed=6)
    for t in tasks:
        want = min(t.period, math.ceil(t.wcet * 3 / 2) + MIN_BUDGET)
        assert t.budget == want
    bare = task_set(6, 0.9, budget_margin=1.0, budget_headroom=0, seed=6)
    assert [t.budget for t in bare] == [max(MIN_BUDGET, t.wcet) for t in bare]


def test_wcets_below_min_budget_are_clamped_up_to_it() -> None:
    """Four tasks sharing U = 0.004 over periods of 1-2 ms: each draws a WCET of a few us, the
    kernel cannot enforce a budget under 20 us, so each becomes 20 us and the realised
    utilisation is the sum of 20 us / T."""
    tasks = task_set(4, 0.004, periods=("1ms", "2ms"), seed=7)
    assert [t.wcet for t in tasks] == [MIN_BUDGET] * 4
    assert utilisation_of(tasks) == pytest.approx(sum(20 * US / t.period for t in tasks))
    assert utilisation_of(tasks) > 0.04


def test_cfs_draws_above_min_budget_instead_of_clamping() -> None:
    """With per-task lower bounds of MIN_BUDGET / T the cfs generator needs no clamp."""
    tasks = task_set(4, 0.2, "cfs", periods=("1ms", "2ms"), seed=7)
    assert all(t.wcet >= MIN_BUDGET for t in tasks)
    assert abs(_exact(tasks) - Fraction(1, 5)) <= Fraction(4, 2 * MS)


def test_same_seed_same_text_byte_for_byte() -> None:
    for generator in GENERATORS:
        a = generate(10, 0.8, generator, deadlines="constrained", seed=11)
        b = generate(10, 0.8, generator, deadlines="constrained", seed=11)
        assert a == b
        assert a != generate(10, 0.8, generator, deadlines="constrained", seed=12)


def test_the_text_is_a_description_the_analysis_reads() -> None:
    text = generate(5, 0.5, periods=("10ms", "10ms"), seed=1, duration="2 hyperperiods")
    system = load_text(text)
    assert system.duration == 2 * 10 * MS + 10 * MS  # 2 hyperperiods + the longest deadline
    assert [p.priority for p in system.partitions] == [254, 253, 252, 251, 250]
    assert all(p.sc.sporadic and p.release.offset == 0 for p in system.partitions)
    bounds = task_bounds(system)
    # five tasks sharing one 10 ms period at U = 0.5: each fits after those above it
    assert [b["schedulable"] for b in bounds.values()] == [True] * 5
    assert "# realised utilisation 0.500000" in text


def test_set_duration() -> None:
    tasks = task_set(3, 0.5, periods=("2ms", "8ms"), harmonic=True, seed=2)
    h, d = hyperperiod(tasks), max(t.deadline for t in tasks)
    assert set_duration("hyperperiod", tasks, None) == h + d
    assert set_duration("3 hyperperiods", tasks, None) == 3 * h + d
    assert set_duration("hyperperiod", tasks, "1ms") == 1 * MS
    assert set_duration("5ms", tasks, "1s") == 5 * MS


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"generator": "dirichlet"}, "generator"),
        ({"deadlines": "arbitrary"}, "deadlines"),
        ({"periods": ("10us", "1ms")}, "MIN_BUDGET"),
        ({"periods": ("1500us", "3ms"), "granularity": "1ms"}, "multiple"),
        ({"budget_margin": 0}, "budget_margin"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        task_set(4, 0.5, **kwargs)


def test_uunifast_marginal_is_beta_1_n_minus_1() -> None:
    """UUniFast is uniform over the simplex {u_i >= 0, sum u_i = U}: each u_i / U follows
    Beta(1, n - 1) (Bini and Buttazzo 2005). 4000 draws, n = 5: Kolmogorov-Smirnov against that
    law, and the mean 1/n and variance (n - 1) / (n^2 (n + 1)) = 4/150."""
    rng = np.random.default_rng(2024)
    draws = np.array([utils.uunifast(rng, 5, 1.0) for _ in range(4000)])
    for column in (0, 4):
        assert stats.kstest(draws[:, column], stats.beta(1, 4).cdf).pvalue > 0.01
    assert draws[:, 0].mean() == pytest.approx(0.2, abs=0.01)
    assert draws[:, 0].var() == pytest.approx(4 / 150, rel=0.1)
    assert np.allclose(draws.sum(axis=1), 1.0)


def test_randfixedsum_is_uniform_like_uunifast_and_respects_common_bounds() -> None:
    """Without binding bounds RandFixedSum is uniform over the same simplex (Beta(1, n - 1)
    marginals); with bounds [0.1, 0.6] and n = 5, sum 2, its marginal matches rejection
    sampling from the simplex (two-sample Kolmogorov-Smirnov)."""
    rng = np.random.default_rng(7)
    free = np.array([utils.randfixedsum(rng, 5, 1.0, 0.0, 1.0) for _ in range(3000)])
    assert stats.kstest(free[:, 2], stats.beta(1, 4).cdf).pvalue > 0.01
    bounded = np.array([utils.randfixedsum(rng, 5, 2.0, 0.1, 0.6) for _ in range(3000)])
    assert bounded.min() >= 0.1 and bounded.max() <= 0.6
    assert np.allclose(bounded.sum(axis=1), 2.0)
    reference = []
    while len(reference) < 3000:
        u = rng.dirichlet(np.ones(5)) * 1.5 + 0.1
        if u.max() <= 0.6:
            reference.append(u[0])
    assert stats.ks_2samp(bounded[:, 0], reference).pvalue > 0.01


def test_cfs_keeps_per_task_bounds_and_is_uniform_within_them() -> None:
    """ConvolutionalFixedSum with different bounds per task: every draw inside its box, and
    the first marginal matches rejection sampling of the same region."""
    rng = np.random.default_rng(9)
    lo, hi = [0.05, 0.0, 0.1, 0.0], [0.3, 0.5, 0.4, 0.6]
    draws = np.array([utils.cfs(rng, 4, 1.0, lo, hi) for _ in range(2000)])
    assert (draws >= np.array(lo) - 1e-9).all() and (draws <= np.array(hi) + 1e-9).all()
    reference = []
    while len(reference) < 2000:
        u = rng.dirichlet(np.ones(4)) * (1.0 - sum(lo)) + np.array(lo)
        if (u <= np.array(hi)).all():
            reference.append(u[1])
    assert stats.ks_2samp(draws[:, 1], reference).pvalue > 0.01
