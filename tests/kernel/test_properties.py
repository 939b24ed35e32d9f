"""Properties of whole runs on random task sets (docs/mcs-semantics.md 2.7 and 1.1).

* Constant bandwidth (2.7): every window of length ``period`` holds at most ``budget`` of a
  thread's execution. Windows are checked at each start of an execution interval, which is
  where the maximum of a sliding window over a step function is reached.
* Determinism: the same set-up gives the same records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sporadic.kernel import Compute, Kernel, Yield, bind, configure
from tests.helpers import MIN_BUDGET, MS, US, busiest_window, intervals, spin, switches


def yielder(computes: list[int]) -> Iterator[Any]:
    """Compute, yield, over and over, cycling through ``computes``."""
    while True:
        for c in computes:
            yield Compute(c)
            yield Yield()


def computer(computes: list[int]) -> Iterator[Any]:
    """Compute chunks, with a yield only after the last one of each round."""
    while True:
        for c in computes:
            yield Compute(c)
        yield Yield()


PROGRAMS = {"spin": lambda cs: spin(), "yield": yielder, "compute": computer}


@st.composite
def task_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 4))
    tasks = []
    for i in range(n):
        period = draw(st.integers(100 * US, 5 * MS))
        budget = draw(st.integers(MIN_BUDGET, period - 1))  # < period: not round robin
        tasks.append(
            {
                "name": f"T{i}",
                "prio": draw(st.sampled_from([100, 110, 120])),
                "budget": budget,
                "period": period,
                "extra": draw(st.integers(0, 3)),
                "kind": draw(st.sampled_from(sorted(PROGRAMS))),
                "computes": draw(st.lists(st.integers(10 * US, 3 * MS), min_size=1, max_size=3)),
            }
        )
    return tasks


HORIZON = 40 * MS


def simulate(tasks: list[dict[str, Any]]) -> tuple[Kernel, list[tuple]]:
    recs: list[tuple] = []
    k = Kernel(sink=recs.append)
    for spec in tasks:
        t = k.create_thread(
            spec["name"], spec["prio"], program=PROGRAMS[spec["kind"]](spec["computes"])
        )
        sc = k.create_sc(spec["name"])
        configure(k, sc, spec["budget"], spec["period"], extra_refills=spec["extra"])
        bind(k, sc, t)
        k.start(t)
    k.run(HORIZON)
    return k, recs


@settings(max_examples=60, deadline=None)
@given(task_sets())
def test_constant_bandwidth_never_exceeds_budget_in_any_period_window(
    tasks: list[dict[str, Any]],
) -> None:
    """2.7: with NoFlag SCs, no window of length period holds more than budget of execution."""
    k, recs = simulate(tasks)
    for spec, t in zip(tasks, k.threads[1:], strict=True):
        ivs = intervals(switches(recs), t.id, HORIZON)
        s, used = busiest_window(ivs, spec["period"])
        assert used <= spec["budget"], (spec, s, used)


@settings(max_examples=20, deadline=None)
@given(task_sets())
def test_identical_runs_give_identical_records(tasks: list[dict[str, Any]]) -> None:
    """Determinism: two runs of the same set-up produce the same record list."""
    _, first = simulate(tasks)
    _, second = simulate(tasks)
    assert first == second
