"""CPU per job window and budget use per SC period, computed with numpy after the summary's pass.

The pass keeps, per thread, its release times (8 bytes a job) and its runs, from a ``switch``
to it to the next ``switch`` (``since, t, sc``: 24 bytes a run), those of a task (a thread with
a release so far) or on a budgeted SC. Times are clamped to [0, TIME_CAP] here, so that sums
fit int64.

A task's job windows run from each release to the next, in time order, the last to the end of
the trace: the trace records releases, not periods, so this holds for sporadic releases too, and
for periodic ones a window is the period. A release may be written after its time (a protection
domain's, at its job's dispatch); the windows follow the times, not the order of the records.

The trace records no refill either, so the periods of an SC are a fixed grid from its
configuration: [phase + k*period, phase + (k+1)*period), with phase 0 for the header's SCs
(configured at boot) and the ``thread_new`` record's ``t`` for an SC made during the run. In
constant-bandwidth mode (the sporadic flag clear, seL4's default) no window of length period
holds more than budget of execution (docs/mcs-semantics.md, 2.7), so no period of the grid can,
wherever the grid starts. With the flag set a period can hold more: a preempted sporadic SC
keeps its refill times, so time it used can come back within a period of its use. A full-budget
SC (round robin: period 0, or budget >= period) has no periods.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # imported where the windows are computed, when a summary asks for them
    import numpy as np

from sporadic.traces.metrics import weighted_stats

TIME_CAP = 1 << 61  # ns, 73 years: later times count as this, earlier than 0 as 0
_INT64 = (-(1 << 63), (1 << 63) - 1)


def clamp_time(t: int) -> int:
    """``t`` within [0, TIME_CAP]."""
    return 0 if t < 0 else TIME_CAP if t > TIME_CAP else t


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def add_run(runs: array, since: int, t: int, sc: int) -> None:
    """Append a run whose values do not all fit int64 (the loop's own appends failed, maybe
    after appending some of them): the times clamped, an SC id past int64 as no SC's."""
    del runs[len(runs) - len(runs) % 3 :]
    runs.extend((clamp_time(since), clamp_time(t), sc if _INT64[0] <= sc <= _INT64[1] else -1))


def cpu_windows(releases: array, runs: array, end: int, window: tuple[int, int] | None) -> array:
    """The CPU time of a thread in each of its job windows (``releases``: its release times;
    ``runs``: its runs as ``since, t, sc``; ``end``: the end of the trace), only those of the
    jobs released in [start, end) of ``window`` when given."""
    import numpy as np

    released = np.sort(np.frombuffer(releases, dtype=np.int64), kind="stable")  # O(n) if sorted
    starts = np.clip(released, 0, TIME_CAP)
    last = max(clamp_time(end), int(starts[-1])) if len(starts) else 0
    ran = np.diff(_covered(runs, np.append(starts, last)))  # window k: start k to start k + 1
    if window is not None:  # numpy >= 2 compares with any Python int, even past int64
        ran = ran[(released >= window[0]) & (released < window[1])]
    return array("q", ran.tobytes())


def _covered(runs: array, at: np.ndarray) -> np.ndarray:
    """How much of [0, t) the ``runs`` (``since, t, sc``, not overlapping) cover, for each
    time t of ``at`` (in order)."""
    import numpy as np

    pairs = np.clip(np.frombuffer(runs, dtype=np.int64).reshape(-1, 3)[:, :2], 0, TIME_CAP)
    since, length = pairs[:, 0], pairs[:, 1] - pairs[:, 0]
    if len(since) and not (np.all(length >= 0) and np.all(since[1:] >= since[:-1])):
        order = np.argsort(since, kind="stable")  # runs out of order: only a hand-made trace
        since, length = since[order], np.maximum(length[order], 0)
    if not len(since):
        return np.zeros(len(at), dtype=np.int64)
    before = np.concatenate(([0], np.cumsum(length)))  # covered before each run starts
    last = np.searchsorted(since, at) - 1  # the last run that starts before each time
    partial = np.minimum(at - since[last], length[last])
    return np.where(last >= 0, before[last] + partial, 0)


class _SC(NamedTuple):
    name: str
    home: int  # the thread the SC belongs to, -1 for none
    budget: int
    period: int
    phase: int  # when it was configured: the start of its period 0
    sporadic: bool


def _budgeted(budget: Any, period: Any) -> bool:
    """Whether an SC's budget and period make periods to count: not round robin (period 0,
    or budget >= period, which seL4 configures as round robin), and not absurd."""
    if type(budget) is not int or type(period) is not int:
        return False
    return 0 < budget < period <= TIME_CAP


class Budgets:
    """The budgeted SCs of a trace (``scs``) and the times of their ``budget_exhausted``
    records (``exhaustions``, which the summary's loop appends)."""

    def __init__(self, header: dict[str, Any], names: dict[int, str]) -> None:
        """The header's budgeted SCs, configured at boot (at 0); ``names``: thread names."""
        self.scs: dict[int, _SC] = {}
        self.exhaustions: dict[int, array] = {}
        for sc in header.get("scs", ()):
            budget, period, home = sc.get("budget"), sc.get("period"), sc.get("home")
            if _budgeted(budget, period):
                home = home if type(home) is int else -1
                name = sc.get("name")
                name = name if isinstance(name, str) else names.get(home, f"sc-{sc['id']}")
                self._add(sc["id"], _SC(name, home, budget, period, 0, sc.get("sporadic") is True))

    def _add(self, sc: int, entry: _SC) -> None:
        self.scs[sc] = entry
        self.exhaustions[sc] = array("q")

    def thread_new(self, record: tuple) -> None:
        """Enter the SC of a (checked) ``thread_new`` record, configured then: constant
        bandwidth, as the deploy agent's runner configures its modules' SCs."""
        _, t, thread, name, _, _, _, sc, budget, period = record
        if _budgeted(budget, period):
            self._add(sc, _SC(name, thread, budget, period, clamp_time(t), False))

    def summary(
        self,
        runs: dict[int, array],
        names: dict[int, str],
        duration: int,
        window: tuple[int, int] | None,
    ) -> dict[str, dict[str, Any]]:
        """The summary's ``scs``: per budgeted SC, by name (``name#id`` for a repeated one),
        ``home`` (the name of the thread it belongs to, None for none), its configuration, and
        its periods that start before ``duration`` (the last one cut by it) and, with
        ``window``, in [start, end): how many, the use per period, and the exhaustions.
        ``runs``: each thread's runs, ``since, t, sc``."""
        import numpy as np

        on_sc = _runs_by_sc(runs, self.scs)
        result: dict[str, dict[str, Any]] = {}
        for sc, entry in self.scs.items():
            name = entry.name if entry.name not in result else f"{entry.name}#{sc}"
            lo, hi = 0, _ceil_div(clamp_time(duration) - entry.phase, entry.period)
            if window is not None:
                lo = max(lo, _ceil_div(clamp_time(window[0]) - entry.phase, entry.period))
                hi = min(hi, _ceil_div(clamp_time(window[1]) - entry.phase, entry.period))
            values, counts = _per_period(on_sc[sc], entry.phase, entry.period, lo, hi)
            periods = max(hi - lo, 0)
            idle = periods - int(counts.sum())  # periods in which nothing ran on the SC
            if idle > 0:
                values, counts = np.append(values, 0), np.append(counts, idle)
            times = np.clip(np.frombuffer(self.exhaustions[sc], dtype=np.int64), 0, TIME_CAP)
            index = (times - entry.phase) // entry.period
            result[name] = {
                "home": names.get(entry.home) if entry.home != -1 else None,
                "budget": entry.budget,
                "period": entry.period,
                "sporadic": entry.sporadic,
                "periods": periods,
                "used": weighted_stats(values, counts),
                "exhausted": int(np.count_nonzero((index >= lo) & (index < hi))),
            }
        return result


def _runs_by_sc(runs: dict[int, array], scs: dict[int, _SC]) -> dict[int, np.ndarray]:
    """SC id -> the (since, t) of every run on it, whoever ran, for the SCs of ``scs``."""
    import numpy as np

    parts: dict[int, list[np.ndarray]] = {sc: [] for sc in scs}
    for thread_runs in runs.values():
        triples = np.frombuffer(thread_runs, dtype=np.int64).reshape(-1, 3)
        on = triples[:, 2]
        if len(on) and on.min() == on.max():  # the usual: all on the thread's own SC
            if int(on[0]) in parts:
                parts[int(on[0])].append(triples[:, :2])
            continue
        for sc in np.unique(on):
            if int(sc) in parts:
                parts[int(sc)].append(triples[on == sc, :2])
    empty = np.zeros((0, 2), dtype=np.int64)
    return {sc: np.concatenate(found) if found else empty for sc, found in parts.items()}


def _per_period(
    pairs: np.ndarray, phase: int, period: int, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """The time run in each period lo <= k < hi in which something ran, as (values, counts):
    one entry a period, but a stretch of whole periods run from end to end (a run longer than
    a period) as one entry of ``period`` ns with its count. The runs (``pairs`` of since, t)
    are split at the boundaries; a run's part before ``phase`` is dropped."""
    import numpy as np

    pairs = np.clip(pairs, phase, TIME_CAP)
    pairs = pairs[pairs[:, 1] > pairs[:, 0]]
    start, end = pairs[:, 0] - phase, pairs[:, 1] - phase  # from the grid's origin
    first, last = start // period, (end - 1) // period  # the periods of the first and last ns
    split = first < last
    index = np.concatenate((first, last[split]))
    amount = np.concatenate(
        (np.where(split, (first + 1) * period - start, end - start), (end - last * period)[split])
    )
    inside = (index >= lo) & (index < hi)
    index, amount = index[inside], amount[inside]
    order = np.argsort(index, kind="stable")
    index, amount = index[order], amount[order]
    heads = np.flatnonzero(np.r_[True, index[1:] != index[:-1]]) if len(index) else index
    values = np.add.reduceat(amount, heads) if len(index) else amount
    whole = np.minimum(last[split], hi) - np.maximum(first[split] + 1, lo)
    whole = whole[whole > 0]
    return (
        np.concatenate((values, np.full(len(whole), period, dtype=np.int64))),
        np.concatenate((np.ones(len(values), dtype=np.int64), whole)),
    )
