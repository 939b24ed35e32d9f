"""Per-task latency, response time and jitter from one streaming pass over a trace.

Memory grows with the jobs, not the records: two int64 samples per job (latency, response), an
entry per job still open, per thread made during the run and per deploy request, and at most
MAX_LOGS log lines of MAX_LOG_LINE characters, so summaries of traces larger than memory are
possible (docs/trace-format.md, *Limits*). Each record is checked against its kind first.
"""

from __future__ import annotations

import os
from array import array
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

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
from sporadic.traces.checks import CHECKS, INT_ARITY, Invalid
from sporadic.traces.metrics import check_histogram, histogram, stats, tardiness
from sporadic.traces.reader import RecordProblem, TraceReader

LEGACY_KEYS = ("min", "mean", "p50", "p99", "max")  # the blocks of compare_deploys
MAX_LOGS = 1000  # log lines the summary keeps; it counts the rest in "logs_omitted"
MAX_LOG_LINE = 4096  # characters of a kept line; a longer one is cut and marked
LINE_CUT = " [... {} more characters]"
_OVERFLOW = "the job's {} of {} ns does not fit in 64 bits"


def _stats(samples: array) -> tuple[dict[str, int | None], int | None, int | None]:
    """(min/mean/p50/p99/max, jitter, population std) as ``compare_deploys`` reports them."""
    block, jitter, std = stats(samples)
    return {key: block[key] for key in LEGACY_KEYS}, jitter, std


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


def summarise(
    trace: TraceReader | str | os.PathLike[str],
    histogram_ns: int | None = None,
    histogram_max: int = 100,
    window: tuple[int, int] | None = None,
    tasks: Collection[str] | None = None,
) -> dict[str, Any]:
    """The per-task summary of a trace (shape in docs/trace-format.md), from a path or by
    consuming an open reader in one streaming pass.

    A task is a thread with at least one job release; tasks are listed in header thread order.
    Every record is checked against its kind (``TraceFormatError`` for the first invalid one).
    ``histogram_ns`` adds latency and response histograms of ``histogram_max`` buckets that
    wide; ``window=(start, end)`` keeps only the jobs released in [start, end), and ``tasks``
    only the tasks of those names.
    """
    if histogram_ns is not None:
        check_histogram(histogram_ns, histogram_max)
    if window is not None:
        start, end = window
        if type(start) is not int or type(end) is not int or end < start:
            raise ValueError(f"window must be two ints (start, end), start <= end: {window!r}")
    if not isinstance(trace, TraceReader):
        with TraceReader(trace) as reader:
            return summarise(reader, histogram_ns, histogram_max, window, tasks)
    reader = trace
    state = _State(reader.header, window)
    _scan(reader, state)
    summary = state.result(reader, histogram_ns, histogram_max)
    if tasks is not None:
        wanted = set(tasks)
        for key in ("tasks", "histograms"):
            if key in summary:
                summary[key] = {k: v for k, v in summary[key].items() if k in wanted}
    return summary


class _State:
    """What the summary keeps during its pass: per thread, its counters and job samples (16
    bytes a job) and the jobs still open; the first log lines; the deploys."""

    def __init__(self, header: dict[str, Any], window: tuple[int, int] | None = None) -> None:
        self.window = window
        # thread -> [first, last] job id released in the window: job ids grow with releases
        self.window_jobs: dict[int, list[int]] = {}
        # tardiness (end - absolute deadline) of late jobs that ended; a miss of a job still
        # open waits in ``late`` for its end; ``ended`` is each thread's last (job, end).
        self.tardy: defaultdict[int, array] = defaultdict(lambda: array("q"))
        self.late: dict[tuple[int, int], int] = {}
        self.ended: dict[int, tuple[int, int]] = {}
        self.releases: defaultdict[int, int] = defaultdict(int)
        self.misses: defaultdict[int, int] = defaultdict(int)
        self.preemptions: defaultdict[int, int] = defaultdict(int)
        self.exhaustions: defaultdict[int, int] = defaultdict(int)
        self.cpu: defaultdict[int, int] = defaultdict(int)
        # CPU time charged to each thread's own SC, whoever ran on it (a passive server on a
        # client's donated SC is charged to the client). SC id -> the thread it belongs to.
        self.charged: defaultdict[int, int] = defaultdict(int)
        self.home = {sc["id"]: sc.get("home", -1) for sc in header.get("scs", ())}
        # thread id -> (name, kind): the header's threads, then those made during the run.
        self.threads = thread_table(header)
        self.deploys = DeployLog()
        self.latency: defaultdict[int, array] = defaultdict(lambda: array("q"))
        self.response: defaultdict[int, array] = defaultdict(lambda: array("q"))
        # thread -> {job: release time}, for jobs released and not yet ended.
        self.open_jobs: defaultdict[int, dict[int, int]] = defaultdict(dict)
        # thread -> jobs started and not yet ended (preemptions count only inside a job).
        self.in_job: defaultdict[int, int] = defaultdict(int)
        self.logs: list[tuple[int, int, str]] = []
        self.logs_omitted = 0
        self.running: int | None = None
        self.running_sc = -1
        self.since = 0

    def result(
        self, reader: TraceReader, histogram_ns: int | None = None, histogram_max: int = 100
    ) -> dict[str, Any]:
        """The summary, once the pass has reached the end of the trace."""
        if reader.footer is not None:
            duration = reader.footer["end"]
        else:
            duration = reader.last_time if reader.last_time is not None else 0
        if self.running is not None:
            self.cpu[self.running] += duration - self.since
            self.charged[self.home.get(self.running_sc, -1)] += duration - self.since
        tasks: dict[str, Any] = {}
        hists: dict[str, Any] = {}
        names = {tid: name for tid, (name, _) in self.threads.items()}
        for thread, name in task_names(names, self.releases).items():
            lat, lat_jitter, lat_std = stats(self.latency[thread])
            resp, resp_jitter, resp_std = stats(self.response[thread])
            tasks[name] = {
                "jobs": self.releases[thread],
                "misses": self.misses[thread],
                "latency": lat,
                "response": resp,
                "latency_jitter": lat_jitter,
                "response_jitter": resp_jitter,
                "latency_std": lat_std,
                "response_std": resp_std,
                "cpu": self.cpu[thread],
                "charged": self.charged[thread],
                "preemptions": self.preemptions[thread],
                "budget_exhaustions": self.exhaustions[thread],
                "tardiness": tardiness(self.tardy[thread]),
            }
            if histogram_ns is not None:
                hists[name] = {
                    part: histogram(samples[thread], histogram_ns, histogram_max)
                    for part, samples in (("latency", self.latency), ("response", self.response))
                }
        summary: dict[str, Any] = {
            "tasks": tasks,
            "duration": duration,
            "truncated": reader.truncated,
            "logs": [
                {"t": t, "task": names.get(tid, f"thread-{tid}"), "line": line}
                for t, tid, line in self.logs
            ],
        }
        if histogram_ns is not None:
            summary["histograms"] = hists
        if self.logs_omitted:
            summary["logs_omitted"] = self.logs_omitted
        threads = self.threads.values()
        if self.deploys.deploys or any(kind == "runner" for _, kind in threads):
            summary["deploys"] = [deploy.as_dict() for deploy in self.deploys.deploys]
        return summary


def _cut_line(line: str) -> str:
    """A log line as the summary keeps it: at most MAX_LOG_LINE characters and a marker."""
    if len(line) <= MAX_LOG_LINE:
        return line
    return line[:MAX_LOG_LINE] + LINE_CUT.format(len(line) - MAX_LOG_LINE)


def _scan(reader: TraceReader, s: _State) -> None:
    """The summary's pass: one loop over the raw stream, no function call per record. Each
    record is checked as ``checks.CHECKS`` would (its arity by unpacking, each value by
    ``type(v) is int``), inline because that is what keeps the loop as fast as it was before
    records were checked at all."""
    checks, int_arity = CHECKS, INT_ARITY
    releases, misses, preemptions = s.releases, s.misses, s.preemptions
    exhaustions, cpu, charged, home = s.exhaustions, s.cpu, s.charged, s.home
    latency, response, open_jobs, in_job = s.latency, s.response, s.open_jobs, s.in_job
    logs = s.logs
    window, window_jobs, tardy, late, ended = s.window, s.window_jobs, s.tardy, s.late, s.ended
    running, running_sc, since = s.running, s.running_sc, s.since
    record: Any = None  # the last array read: the record in hand when something raises
    obj: Any = None
    try:
        for obj in reader.stream():
            if type(obj) is not tuple:
                break
            record = obj
            kind = record[0]
            if type(kind) is not int:
                raise Invalid
            if kind <= SWITCH:  # the job records and switches: most of a trace
                if kind == SWITCH:
                    _, t, frm, to, sc = record
                    if type(t) is not int or type(frm) is not int or type(to) is not int:
                        raise Invalid
                    if type(sc) is not int:
                        raise Invalid
                    if running is not None:
                        ran = t - since
                        cpu[running] += ran
                        charged[home.get(running_sc, -1)] += ran
                    running, running_sc, since = to, sc, t
                elif kind == JOB_RELEASE:
                    _, t, thread, job, deadline = record
                    if type(t) is not int or type(thread) is not int or type(job) is not int:
                        raise Invalid
                    if type(deadline) is not int:
                        raise Invalid
                    if window is not None:
                        if not window[0] <= t < window[1]:
                            continue
                        span = window_jobs.setdefault(thread, [job, job])
                        span[1] = job
                    releases[thread] += 1
                    open_jobs[thread][job] = t
                elif kind == JOB_START:
                    _, t, thread, job = record
                    if type(t) is not int or type(thread) is not int or type(job) is not int:
                        raise Invalid
                    in_job[thread] += 1
                    released = open_jobs[thread].get(job)
                    if released is not None:
                        try:
                            latency[thread].append(t - released)
                        except OverflowError:
                            problem = _OVERFLOW.format("latency", t - released)
                            raise RecordProblem(problem) from None
                elif kind == JOB_END:
                    _, t, thread, job = record
                    if type(t) is not int or type(thread) is not int or type(job) is not int:
                        raise Invalid
                    if in_job[thread] > 0:
                        in_job[thread] -= 1
                    released = open_jobs[thread].pop(job, None)
                    if released is not None:
                        try:
                            response[thread].append(t - released)
                        except OverflowError:
                            problem = _OVERFLOW.format("response", t - released)
                            raise RecordProblem(problem) from None
                        ended[thread] = (job, t)
                        if late and (thread, job) in late:
                            tardy[thread].append(t - late.pop((thread, job)))
                elif kind == DEADLINE_MISS:
                    _, t, thread, job, deadline = record
                    if type(t) is not int or type(thread) is not int or type(job) is not int:
                        raise Invalid
                    if type(deadline) is not int:
                        raise Invalid
                    if window is not None:
                        span = window_jobs.get(thread)
                        if span is None or not span[0] <= job <= span[1]:
                            continue
                    misses[thread] += 1
                    if job in open_jobs[thread]:
                        late[thread, job] = deadline
                    elif ended.get(thread, (None,))[0] == job:  # the miss follows its end
                        tardy[thread].append(ended[thread][1] - deadline)
                else:  # a negative code
                    raise Invalid
            elif kind == PREEMPT:
                _, t, thread, by = record
                if type(t) is not int or type(thread) is not int or type(by) is not int:
                    raise Invalid
                if in_job[thread] > 0:
                    preemptions[thread] += 1
            elif kind == BUDGET_EXHAUSTED:
                _, t, thread, sc = record
                if type(t) is not int or type(thread) is not int or type(sc) is not int:
                    raise Invalid
                exhaustions[thread] += 1
            elif kind == LOG:
                _, t, thread, line = record
                if type(t) is not int or type(thread) is not int or type(line) is not str:
                    raise Invalid
                if len(logs) < MAX_LOGS:  # cut as kept: 1000 lines of 1 MiB would be 1 GiB
                    logs.append((t, thread, _cut_line(line)))
                else:
                    s.logs_omitted += 1
            elif kind == THREAD_NEW:
                checks[kind](*record)
                add_thread(s.threads, home, record)
            elif kind == DEPLOY:
                checks[kind](*record)
                s.deploys.feed(record[1], record[2], record[3], record[4])
            else:  # kinds the summary skips, checked all the same
                n = int_arity[kind] if kind < len(int_arity) else 0
                if n == 4:  # block, refill_release, job_abort, ipc_reply
                    _, t, a, b = record
                    if type(t) is not int or type(a) is not int or type(b) is not int:
                        raise Invalid
                elif n == 3:  # wake, domain_switch, thread_exit
                    _, t, a = record
                    if type(t) is not int or type(a) is not int:
                        raise Invalid
                elif n == 5:  # postpone, IPC, signal, donate
                    _, t, a, b, c = record
                    if type(t) is not int or type(a) is not int or type(b) is not int:
                        raise Invalid
                    if type(c) is not int:
                        raise Invalid
                else:  # the rarer kinds: their check's function call is affordable
                    checks[kind](*record)
    except Exception as exc:
        reader.end_pass(record, None, exc)
    else:
        reader.end_pass(record, None if obj is record else obj)
    s.running, s.running_sc, s.since = running, running_sc, since


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
