"""The summary's statistics are exact integers, the same whether Python or numpy sorts the
samples (traces/metrics.py: numpy only from NUMPY_FROM samples)."""

from __future__ import annotations

from array import array

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sporadic.traces import metrics
from sporadic.traces.metrics import population_std, stats

INT64 = st.integers(min_value=-(2**62), max_value=2**62)


def test_std_rounds_an_exact_half_to_even() -> None:
    assert population_std(array("q", [0, 1])) == 0  # 0.5 -> 0
    assert population_std(array("q", [0, 3])) == 2  # 1.5 -> 2
    assert population_std(array("q", [0, 5])) == 2  # 2.5 -> 2


def test_std_of_values_near_int64_is_exact() -> None:
    big = 2**62
    assert population_std(array("q", [big, -big])) == big
    assert population_std(array("q", [7] * 1000)) == 0


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=200))
def test_std_agrees_with_numpy_on_ordinary_samples(values: list[int]) -> None:
    expected = float(np.std(np.array(values, dtype=np.float64)))
    got = population_std(array("q", values))
    assert abs(got - expected) <= 0.5 + 1e-6 * expected


@settings(max_examples=100)
@given(st.lists(INT64, min_size=1, max_size=300))
def test_python_and_numpy_sorting_give_the_same_block(values: list[int]) -> None:
    samples = array("q", values)
    by_python = stats(samples)
    saved = metrics.NUMPY_FROM
    metrics.NUMPY_FROM = 0
    try:
        by_numpy = stats(samples)
    finally:
        metrics.NUMPY_FROM = saved
    assert by_python == by_numpy


def test_percentiles_are_nearest_rank() -> None:
    block, jitter, std = stats(array("q", range(1, 1001)))
    assert (block["p50"], block["p90"], block["p99"], block["p999"]) == (500, 900, 990, 999)
    assert (block["min"], block["max"], block["mean"], jitter, std) == (1, 1000, 500, 999, 289)
