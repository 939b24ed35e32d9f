"""Per-task latency, response time and jitter from one streaming pass over a trace.

Only bounded state is kept besides the per-job samples: the jobs currently open per thread and
the currently running thread, so summaries of traces larger than memory are possible.
"""

from __future__ import annotations

import os
from array import array
from collections import defaultdict
from fractions import Fraction
from typing import Any

import numpy as np

from sporadic.records import (
    BUDGET_EXHAUSTED,
    DEADLINE_MISS,
    JOB_END,
    JOB_RELEASE,
    JOB_START,
    LOG,
    PREEMPT,
    SWITCH,
)
from sporadic.traces.reader import TraceReader

STAT_KEYS = ("min", "mean", "p50", "p99", "max")


def _nearest_rank(ordered: np.ndarray, percent: int) -> int:
    """The smallest sample with at least ``percent``% of the samples at or below it."""
    rank = -(-percent * len(ordered) // 100)
    return int(ordered[max(rank, 1) - 1])


def _stats(samples: array) -> tuple[dict[str, int | None], int | None, int | None]:
    """(min/mean/p50/p99/max, jitter, population std), all None without samples."""
    if not samples:
        return dict.fromkeys(STAT_KEYS), None, None
    values = np.frombuffer(samples, dtype=np.int64)
    ordered = np.sort(values)
    total = sum(samples)
    stats: dict[str, int | None] = {
        "min": int(ordered[0]),
        "mean": round(Fraction(total, len(samples))),
        "p50": _nearest_rank(ordered, 50),
        "p99": _nearest_rank(ordered, 99),
        "max": int(ordered[-1]),
    }
    jitter = int(ordered[-1]) - int(ordered[0])
    std = int(round(float(np.std(values))))
    return stats, jitter, std


def summarise(trace: TraceReader | str | os.PathLike[str]) -> dict[str, Any]:
    """The per-task summary of a trace (shape in docs/trace-format.md), from a path or by
    consuming an open reader in one streaming pass.

    A task is a thread with at least one job release; tasks are listed in header thread order.
    """
    if not isinstance(trace, TraceReader):
        with TraceReader(trace) as reader:
            return summarise(reader)
    reader = trace
    releases: defaultdict[int, int] = defaultdict(int)
    misses: defaultdict[int, int] = defaultdict(int)
    preemptions: defaultdict[int, int] = defaultdict(int)
    exhaustions: defaultdict[int, int] = defaultdict(int)
    cpu: defaultdict[int, int] = defaultdict(int)
    # CPU time charged to each thread's own SC, whoever ran on it (a passive server on a
    # client's donated SC is charged to the client). SC id -> the thread it belongs to.
    charged: defaultdict[int, int] = defaultdict(int)
    home = {sc["id"]: sc.get("home", -1) for sc in reader.header.get("scs", ())}
    latency: defaultdict[int, array] = defaultdict(lambda: array("q"))
    response: defaultdict[int, array] = defaultdict(lambda: array("q"))
    # thread -> {job: release time}, for jobs released and not yet ended.
    open_jobs: defaultdict[int, dict[int, int]] = defaultdict(dict)
    # thread -> number of jobs started and not yet ended (preemptions count only inside a job).
    in_job: defaultdict[int, int] = defaultdict(int)
    logs: list[tuple[int, int, str]] = []
    running: int | None = None
    running_sc = -1
    since = 0

    for record in reader:
        kind = record[0]
        t = record[1]
        if kind == SWITCH:
            if running is not None:
                cpu[running] += t - since
                charged[home.get(running_sc, -1)] += t - since
            running = record[3]
            running_sc = record[4] if len(record) > 4 else -1
            since = t
        elif kind == JOB_RELEASE:
            thread = record[2]
            releases[thread] += 1
            open_jobs[thread][record[3]] = t
        elif kind == JOB_START:
            thread = record[2]
            in_job[thread] += 1
            released = open_jobs[thread].get(record[3])
            if released is not None:
                latency[thread].append(t - released)
        elif kind == JOB_END:
            thread = record[2]
            if in_job[thread] > 0:
                in_job[thread] -= 1
            released = open_jobs[thread].pop(record[3], None)
            if released is not None:
                response[thread].append(t - released)
        elif kind == PREEMPT:
            thread = record[2]
            if in_job[thread] > 0:
                preemptions[thread] += 1
        elif kind == DEADLINE_MISS:
            misses[record[2]] += 1
        elif kind == BUDGET_EXHAUSTED:
            exhaustions[record[2]] += 1
        elif kind == LOG:
            logs.append((t, record[2], record[3]))

    if reader.footer is not None:
        duration = reader.footer["end"]
    else:
        duration = reader.last_time if reader.last_time is not None else 0
    if running is not None:
        cpu[running] += duration - since
        charged[home.get(running_sc, -1)] += duration - since

    tasks: dict[str, Any] = {}
    for thread, name in _task_names(reader, releases).items():
        lat, lat_jitter, lat_std = _stats(latency[thread])
        resp, resp_jitter, resp_std = _stats(response[thread])
        tasks[name] = {
            "jobs": releases[thread],
            "misses": misses[thread],
            "latency": lat,
            "response": resp,
            "latency_jitter": lat_jitter,
            "response_jitter": resp_jitter,
            "latency_std": lat_std,
            "response_std": resp_std,
            "cpu": cpu[thread],
            "charged": charged[thread],
            "preemptions": preemptions[thread],
            "budget_exhaustions": exhaustions[thread],
        }
    names = reader.thread_names
    return {
        "tasks": tasks,
        "duration": duration,
        "truncated": reader.truncated,
        "logs": [
            {"t": t, "task": names.get(tid, f"thread-{tid}"), "line": line} for t, tid, line in logs
        ],
    }


def _task_names(reader: TraceReader, releases: dict[int, int]) -> dict[int, str]:
    """Task thread id -> unique display name, in header order, unknown ids last."""
    known = reader.thread_names
    order = [tid for tid in known if tid in releases]
    order += sorted(tid for tid in releases if tid not in known)
    names: dict[int, str] = {}
    used: set[str] = set()
    for tid in order:
        name = str(known.get(tid, f"thread-{tid}"))
        if name in used:
            name = f"{name}#{tid}"
        used.add(name)
        names[tid] = name
    return names
