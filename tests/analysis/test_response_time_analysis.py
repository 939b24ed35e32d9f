"""Fixed-priority task sets with budget == period (round robin SCs, never throttled) and
rate-monotonic priorities: the simulator's worst response time equals response-time analysis
(synchronous release at t = 0 is the critical instant)."""

from __future__ import annotations

import pytest

from sporadic.analysis.rta import Task, rate_monotonic, response_times
from sporadic.description import load_text
from sporadic.simulation import Simulation
from sporadic.traces.reader import TraceReader
from sporadic.traces.summary import summarise
from tests.helpers import US


def test_textbook_example() -> None:
    """Burns & Wellings' classic set: C = 3, 3, 5; T = 7, 12, 20 -> R = 3, 6, 20."""
    tasks = rate_monotonic([("a", 3, 7), ("b", 3, 12), ("c", 5, 20)])
    assert response_times(tasks) == {"a": 3, "b": 6, "c": 20}


def test_unschedulable_task_is_none() -> None:
    tasks = rate_monotonic([("a", 5, 10), ("b", 6, 12)])
    assert response_times(tasks) == {"a": 5, "b": None}


def test_equal_priorities_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct"):
        response_times([Task("a", 1, 10, 10, 5), Task("b", 1, 10, 10, 5)])


def _description(specs: list[tuple[str, int, int]], duration: int) -> str:
    parts = []
    for task in rate_monotonic(specs):
        parts.append(
            f"""
[[partition]]
name = "{task.name}"
priority = {task.priority}
budget = "{task.period}us"
period = "{task.period}us"
release = {{ period = "{task.period}us" }}
job = {{ compute = "{task.wcet}us" }}
"""
        )
    return f'[system]\nname = "rta"\nduration = "{duration}us"\n' + "".join(parts)


TASK_SETS = [
    [("a", 1000, 4000), ("b", 2000, 6000), ("c", 3000, 12000)],
    [("a", 3000, 7000), ("b", 3000, 12000), ("c", 5000, 20000)],
    [("a", 200, 1000), ("b", 1500, 5000), ("c", 2500, 10000), ("d", 9000, 50000)],
    [("a", 500, 2000), ("b", 700, 3000), ("c", 900, 5000), ("d", 1000, 10000)],
]


@pytest.mark.parametrize("specs", TASK_SETS)
def test_simulated_worst_response_equals_rta(specs: list, tmp_path) -> None:
    expected = response_times(rate_monotonic(specs))
    hyper = 1
    for _, _, period in specs:
        from math import lcm

        hyper = lcm(hyper, period)
    system = load_text(_description(specs, hyper * 2))
    trace = tmp_path / "rta.trace"
    Simulation(system, trace).run()
    with TraceReader(trace) as reader:
        summary = summarise(reader)
    for name, r in expected.items():
        assert r is not None
        assert summary["tasks"][name]["response"]["max"] == r * US, name
        assert summary["tasks"][name]["misses"] == 0
