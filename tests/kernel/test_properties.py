"""Properties of whole runs on random task sets (spec/mcs-semantics.md 2.7 and 1.1).

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

from sporadic import records as ev
from sporadic.kernel import Compute, Kernel, Spin, Yield, bind, configure

US = 1_000
MS = 1_000_000
MIN_BUDGET = 20 * US


def spinner() -> Iterator[Any]:
    yield Spin()


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


PROGRAMS = {"spin": lambda cs: spinner(), "yield": yielder, "compute": computer}


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


def intervals(recs: list[tuple], tid: int, end: int) -> list[tuple[int, int]]:
    out = []
    start = None
    for r in recs:
        if r[0] != ev.SWITCH:
            continue
        if r[2] == tid and start is not None:
            if r[1] > start:
                out.append((start, r[1]))
            start = None
        if r[3] == tid:
            start = r[1]
    if start is not None and end > start:
        out.append((start, end))
    return out


@settings(max_examples=60, deadline=None)
@given(task_sets())
def test_constant_bandwidth_never_exceeds_budget_in_any_period_window(
    tasks: list[dict[str, Any]],
) -> None:
    """2.7: with NoFlag SCs, no window of length period holds more than budget of execution."""
    k, recs = simulate(tasks)
    for spec, t in zip(tasks, k.threads[1:], strict=True):
        ivs = intervals(recs, t.id, HORIZON)
        period, budget = spec["period"], spec["budget"]
        for s, _ in ivs:
            used = sum(max(0, min(b, s + period) - max(a, s)) for a, b in ivs)
            assert used <= budget, (spec, s, used)


@settings(max_examples=20, deadline=None)
@given(task_sets())
def test_identical_runs_give_identical_records(tasks: list[dict[str, Any]]) -> None:
    """Determinism: two runs of the same set-up produce the same record list."""
    _, first = simulate(tasks)
    _, second = simulate(tasks)
    assert first == second
