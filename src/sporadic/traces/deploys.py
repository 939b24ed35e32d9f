"""The real-time tasks' jobs while modules were being deployed, against the rest of the run.

A deploy window runs from a deploy's request to the start of its module (to its error or stop
if it never started): the time the guest and the runner were busy with it. Each task's jobs are
split by whether their release falls inside any window, and each side gets its own latency and
response statistics, computed as in the summary (nearest-rank percentiles).
"""

from __future__ import annotations

import os
from array import array
from collections import defaultdict
from typing import Any

import numpy as np

from sporadic.records import DEADLINE_MISS, DEPLOY, JOB_END, JOB_RELEASE, JOB_START, THREAD_NEW
from sporadic.traces.reader import RecordProblem, TraceReader
from sporadic.traces.summary import DeployLog, _stats, add_thread, task_names, thread_table

NONE = -1  # a job that never started, or never ended
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class _Jobs:
    """One thread's jobs in release order: release time, latency, response (NONE when the job
    did not start or end), whether it missed its deadline; job id -> position."""

    __slots__ = ("latency", "missed", "position", "release", "response")

    def __init__(self) -> None:
        self.position: dict[int, int] = {}
        self.release = array("q")
        self.latency = array("q")
        self.response = array("q")
        self.missed = array("q")  # deadline_miss records of the job


def compare_deploys(trace: TraceReader | str | os.PathLike[str]) -> dict[str, Any]:
    """The deploy windows of a trace and, for every task with jobs that is not a deployed
    module, its jobs released inside any window against those released outside them, from a
    path or by consuming an open reader in one streaming pass::

        {"windows": [{"name", "start", "end"}, ...],
         "tasks": {TASK: {"inside": SIDE, "outside": SIDE}}}
        SIDE = {"jobs", "misses", "latency": {"min", "mean", "p50", "p99", "max"},
                "response": {...}}

    A window is [request, start] of a deploy, or [request, error or stop] if the module never
    started; a deploy with neither has none. Both ends are inclusive. Tasks and their names
    are the summary's; ``inside`` and ``outside`` add up to its ``jobs`` and ``misses``.
    """
    if not isinstance(trace, TraceReader):
        with TraceReader(trace) as reader:
            return compare_deploys(reader)
    reader = trace
    threads = thread_table(reader.header)
    home: dict[int, int] = {}
    deploys = DeployLog()
    jobs: defaultdict[int, _Jobs] = defaultdict(_Jobs)
    # (thread, t) of misses of jobs that were never released: placed by the miss's own time.
    stray_misses: list[tuple[int, int]] = []

    records = reader.checked()
    for record in records:
        try:
            kind = record[0]
            if not INT64_MIN <= record[1] <= INT64_MAX:  # times are kept in int64 arrays
                raise OverflowError
            if kind == JOB_RELEASE:
                mine = jobs[record[2]]
                mine.position[record[3]] = len(mine.release)
                mine.release.append(record[1])
                mine.latency.append(NONE)
                mine.response.append(NONE)
                mine.missed.append(0)
            elif kind == JOB_START:
                mine = jobs[record[2]]
                i = mine.position.get(record[3])
                if i is not None and mine.latency[i] == NONE and mine.response[i] == NONE:
                    mine.latency[i] = record[1] - mine.release[i]
            elif kind == JOB_END:
                mine = jobs[record[2]]
                i = mine.position.get(record[3])
                if i is not None and mine.response[i] == NONE:
                    mine.response[i] = record[1] - mine.release[i]
            elif kind == DEADLINE_MISS:
                mine = jobs[record[2]]
                i = mine.position.get(record[3])
                if i is None:
                    stray_misses.append((record[2], record[1]))
                else:
                    mine.missed[i] += 1
            elif kind == THREAD_NEW:
                add_thread(threads, home, record)
            elif kind == DEPLOY:
                deploys.feed(record[1], record[2], record[3], record[4])
        except OverflowError:  # a time or a difference beyond int64: unusable here
            records.throw(RecordProblem("its times do not fit in 64-bit signed integers"))

    windows = []
    for deploy in deploys.deploys:
        end = deploy.started
        if end is None:
            end = deploy.failed if deploy.failed is not None else deploy.stopped
        if end is not None:
            windows.append({"name": deploy.name, "start": deploy.requested, "end": end})

    def inside(times: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(times), dtype=bool)
        for window in windows:
            mask |= (times >= window["start"]) & (times <= window["end"])
        return mask

    names = {tid: name for tid, (name, _) in threads.items()}
    releases = {tid: len(mine.release) for tid, mine in jobs.items() if mine.release}
    tasks: dict[str, Any] = {}
    for tid, name in task_names(names, releases).items():
        if threads.get(tid, ("", None))[1] == "module":
            continue
        mine = jobs[tid]
        mask = inside(np.frombuffer(mine.release, dtype=np.int64))
        latency = np.frombuffer(mine.latency, dtype=np.int64)
        response = np.frombuffer(mine.response, dtype=np.int64)
        missed = np.frombuffer(mine.missed, dtype=np.int64)
        strays = inside(np.array([t for thread, t in stray_misses if thread == tid], np.int64))
        tasks[name] = {
            side: _side(selected, latency, response, int(missed[selected].sum() + stray.sum()))
            for side, selected, stray in (("inside", mask, strays), ("outside", ~mask, ~strays))
        }
    return {"windows": windows, "tasks": tasks}


def _side(
    selected: np.ndarray, latency: np.ndarray, response: np.ndarray, misses: int
) -> dict[str, Any]:
    """jobs, misses and latency/response statistics of the selected jobs."""
    return {
        "jobs": int(selected.sum()),
        "misses": misses,
        "latency": _stats(_samples(latency[selected]))[0],
        "response": _stats(_samples(response[selected]))[0],
    }


def _samples(values: np.ndarray) -> array:
    """The values that are samples (not NONE), as the summary keeps them."""
    samples = array("q")
    samples.frombytes(values[values != NONE].astype(np.int64).tobytes())
    return samples
