"""Per-task latency, response time and jitter from one streaming pass over a trace.

Only bounded state is kept besides the per-job samples: the jobs currently open per thread,
the currently running thread, the thread table (the header's, plus threads made during the run)
and one entry per deploy request, so summaries of traces larger than memory are possible.
"""

from __future__ import annotations

import os
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from sporadic.records import (
    BUDGET_EXHAUSTED,
    DEADLINE_MISS,
    DEPLOY,
    JOB_END,
    JOB_RELEASE,
    JOB_START,
    LOG,
    PREEMPT,
    SWITCH,
    THREAD_NEW,
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


@dataclass
class Deploy:
    """One deploy request and the times of its phases (ns; None: the phase did not happen).

    Each time is that of the first record of the phase for this deploy. ``failed`` is the time
    of its ``error`` record and ``thread`` the id of the module's thread once instantiated.
    """

    name: str
    request: int | None
    sha256: str | None
    size: int | None
    args: list[str]
    source: str | None
    requested: int
    chunks: int = 0
    uploaded: int | None = None
    instantiated: int | None = None
    thread: int | None = None
    started: int | None = None
    exited: int | None = None
    exit_status: int | None = None
    stopped: int | None = None
    undeployed: int | None = None
    error: str | None = None
    failed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The entry of the summary's ``deploys`` list (docs/trace-format.md)."""
        return {
            "name": self.name,
            "request": self.request,
            "sha256": self.sha256,
            "size": self.size,
            "args": list(self.args),
            "source": self.source,
            "requested": self.requested,
            "chunks": self.chunks,
            "uploaded": self.uploaded,
            "instantiated": self.instantiated,
            "thread": self.thread,
            "started": self.started,
            "exited": self.exited,
            "exit_status": self.exit_status,
            "stopped": self.stopped,
            "undeployed": self.undeployed,
            "error": self.error,
        }


@dataclass
class DeployLog:
    """The deploys of a trace, fed its ``deploy`` records in order.

    Records are matched to their request by the ``request`` id of their info, except those
    that name the module's thread (``start``, ``exit``, ``stop``, ``undeploy``): these go to
    the deploy that made that thread, since a ``stop`` or ``start`` may come from a control
    request (or, for a hot deploy, the replacing request) and an ``exit`` carries no id.
    """

    deploys: list[Deploy] = field(default_factory=list)
    _by_request: dict[int, Deploy] = field(default_factory=dict)
    _by_thread: dict[int, Deploy] = field(default_factory=dict)

    def feed(self, t: int, module: str, phase: str, info: Any) -> None:
        info = info if isinstance(info, dict) else {}
        if phase == "request":
            deploy = Deploy(
                name=module,
                request=info.get("request"),
                sha256=info.get("sha256"),
                size=info.get("size"),
                args=list(info.get("args") or ()),
                source=info.get("source"),
                requested=t,
            )
            self.deploys.append(deploy)
            if deploy.request is not None:
                self._by_request[deploy.request] = deploy
            return
        request = info.get("request")
        by_request = self._by_request.get(request) if isinstance(request, int) else None
        thread = info.get("thread")
        if phase == "instantiate":
            if by_request is not None:
                if by_request.instantiated is None:
                    by_request.instantiated = t
                by_request.thread = thread
                if thread is not None:
                    self._by_thread[thread] = by_request
            return
        if phase in ("start", "exit", "stop", "undeploy"):
            deploy = self._by_thread.get(thread) if thread is not None else by_request
            if deploy is None or deploy.name != module:
                return
            if phase == "start":
                deploy.started = t if deploy.started is None else deploy.started
            elif phase == "exit":
                if deploy.started is not None and deploy.exited is None:
                    deploy.exited = t
                    deploy.exit_status = info.get("status")
            elif phase == "stop":
                deploy.stopped = t if deploy.stopped is None else deploy.stopped
            else:
                deploy.undeployed = t if deploy.undeployed is None else deploy.undeployed
            return
        if by_request is None:
            return
        if phase == "chunk":
            by_request.chunks += 1
        elif phase == "uploaded":
            by_request.uploaded = t if by_request.uploaded is None else by_request.uploaded
        elif phase == "error" and by_request.failed is None:
            by_request.failed = t
            by_request.error = str(info.get("message"))


def thread_table(header: dict[str, Any]) -> dict[int, tuple[str, str | None]]:
    """Thread id -> (name, kind) from the header's ``threads`` table."""
    return {t["id"]: (t["name"], t.get("kind")) for t in header.get("threads", ())}


def add_thread(
    threads: dict[int, tuple[str, str | None]], home: dict[int, int], record: tuple
) -> None:
    """Enter a ``thread_new`` record's thread in ``threads``, and its SC in ``home``."""
    _, _, thread, name, kind, *rest = record
    threads[thread] = (name, kind)
    if len(rest) > 2:  # priority, domain, sc, ...
        home[rest[2]] = thread


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
    # thread id -> (name, kind): the header's threads, then those made during the run.
    threads = thread_table(reader.header)
    deploys = DeployLog()
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
        elif kind == THREAD_NEW:
            add_thread(threads, home, record)
        elif kind == DEPLOY:
            deploys.feed(t, record[2], record[3], record[4] if len(record) > 4 else None)

    if reader.footer is not None:
        duration = reader.footer["end"]
    else:
        duration = reader.last_time if reader.last_time is not None else 0
    if running is not None:
        cpu[running] += duration - since
        charged[home.get(running_sc, -1)] += duration - since

    tasks: dict[str, Any] = {}
    names = {tid: name for tid, (name, _) in threads.items()}
    for thread, name in task_names(names, releases).items():
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
    summary: dict[str, Any] = {
        "tasks": tasks,
        "duration": duration,
        "truncated": reader.truncated,
        "logs": [
            {"t": t, "task": names.get(tid, f"thread-{tid}"), "line": line} for t, tid, line in logs
        ],
    }
    if deploys.deploys or any(kind == "runner" for _, kind in threads.values()):
        summary["deploys"] = [deploy.as_dict() for deploy in deploys.deploys]
    return summary


def task_names(known: dict[int, str], releases: dict[int, int]) -> dict[int, str]:
    """Task thread id -> unique display name, in the order of ``known`` (header order, then
    threads made during the run), unknown ids last."""
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
