"""Per-task latency, response time, jitter and CPU per job window, and the use of each SC's
budget per period, from one streaming pass over a trace.

Memory grows with the jobs and the runs, not the other records: three int64s per job (latency,
response, release time), three per run of a task or on a budgeted SC (windows.py), an entry per
job still open, per thread made during the run and per deploy request, and at most MAX_LOGS log
lines and MAX_FAULTS fault messages of MAX_LOG_LINE characters, so summaries of traces larger
than memory are possible (docs/trace-format.md, *Limits*). Each record is checked against its
kind first.
"""

from __future__ import annotations

import os
from array import array
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sporadic.records import (
    BLOCK,
    BUDGET_EXHAUSTED,
    DEADLINE_MISS,
    DEPLOY,
    FAULT,
    JOB_ABORT,
    JOB_END,
    JOB_RELEASE,
    JOB_START,
    LOG,
    PREEMPT,
    SWITCH,
    THREAD_NEW,
    TIMEOUT_FAULT,
    WAKE,
)
from sporadic.traces.checks import CHECKS, INT_ARITY, Invalid
from sporadic.traces.deploylog import Deploy, DeployLog, add_thread, thread_table
from sporadic.traces.metrics import check_histogram, histogram, stats, tardiness
from sporadic.traces.reader import RecordProblem, TraceReader
from sporadic.traces.windows import Budgets, add_run, clamp_time, cpu_windows

LEGACY_KEYS = ("min", "mean", "p50", "p99", "max")  # the blocks of compare_deploys
MAX_LOGS = 1000  # log lines the summary keeps; it counts the rest in "logs_omitted"
MAX_FAULTS = 10  # faults the summary lists; it counts the rest in "faults_omitted"
TIMEOUT_MESSAGE = "timeout fault (badge {}, {} ns consumed)"
IPC_BLOCKS = (3, 4, 5)  # BlockedOnReceive, BlockedOnSend, BlockedOnReply (kernel.tcb)
MAX_LOG_LINE = 4096  # characters of a kept line; a longer one is cut and marked
LINE_CUT = " [... {} more characters]"
_OVERFLOW = "the job's {} of {} ns does not fit in 64 bits"
__all__ = ["Deploy", "DeployLog", "add_thread", "summarise", "task_names", "thread_table"]


def _stats(samples: array) -> tuple[dict[str, int | None], int | None, int | None]:
    """(min/mean/p50/p99/max, jitter, population std) as ``compare_deploys`` reports them."""
    block, jitter, std = stats(samples)
    return {key: block[key] for key in LEGACY_KEYS}, jitter, std


def summarise(
    trace: TraceReader | str | os.PathLike[str],
    histogram_ns: int | None = None,
    histogram_max: int = 100,
    window: tuple[int, int] | None = None,
    tasks: Collection[str] | None = None,
    windows: bool = True,
) -> dict[str, Any]:
    """The per-task summary of a trace (shape in docs/trace-format.md), from a path or by
    consuming an open reader in one streaming pass.

    A task is a thread with at least one job release; tasks are listed in header thread order.
    Every record is checked against its kind (``TraceFormatError`` for the first invalid one).
    ``histogram_ns`` adds latency and response histograms of ``histogram_max`` buckets that
    wide; ``window=(start, end)`` keeps only the jobs released in [start, end) (and the SC
    periods that start in it), and ``tasks`` only the tasks of those names (and their SCs).
    ``windows=False`` leaves out what only the JSON shows, each task's ``cpu_window`` and the
    ``scs``: the table of a small run then never imports numpy.
    """
    if histogram_ns is not None:
        check_histogram(histogram_ns, histogram_max)
    if window is not None:
        start, end = window
        if type(start) is not int or type(end) is not int or end < start:
            raise ValueError(f"window must be two ints (start, end), start <= end: {window!r}")
    if not isinstance(trace, TraceReader):
        with TraceReader(trace) as reader:
            return summarise(reader, histogram_ns, histogram_max, window, tasks, windows)
    reader = trace
    state = _State(reader.header, window)
    _scan(reader, state)
    summary = state.result(reader, histogram_ns, histogram_max, windows)
    if tasks is not None:
        wanted = set(tasks)
        for key in ("tasks", "histograms"):
            if key in summary:
                summary[key] = {k: v for k, v in summary[key].items() if k in wanted}
        if "scs" in summary:  # an SC of one of the tasks, or named as one
            scs = summary["scs"].items()
            summary["scs"] = {k: v for k, v in scs if k in wanted or v["home"] in wanted}
    return summary


class _State:
    """What the summary keeps during its pass: per thread, its counters, job samples and
    release times (24 bytes a job), runs (24 bytes each) and the jobs still open; the first log
    lines; the deploys."""

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
        # the part of ``charged`` another thread ran: a passive server's time for this client
        self.served: defaultdict[int, int] = defaultdict(int)
        self.faults: defaultdict[int, int] = defaultdict(int)
        self.timeout_faults: defaultdict[int, int] = defaultdict(int)
        self.aborted: defaultdict[int, int] = defaultdict(int)
        self.fault_list: list[tuple[int, int, str]] = []  # the first MAX_FAULTS (t, thread, text)
        self.faults_omitted = 0
        # thread -> ns blocked on IPC so far; thread -> t of the IPC block its next wake ends
        self.blocked_ipc: defaultdict[int, int] = defaultdict(int)
        self.blocked_since: dict[int, int] = {}
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
        # for the CPU per job window and the use of SCs per period (windows.py): per thread,
        # its release times, and its runs as (since, t, sc), 24 bytes a run: those of a task
        # (a thread released so far) or on a budgeted SC (not the idle thread's, say); the SCs
        # with a budget, and the times of their exhaustions
        self.release_times: defaultdict[int, array] = defaultdict(lambda: array("q"))
        self.runs: dict[int, array] = {}
        self.budgets = Budgets(header, {tid: name for tid, (name, _) in self.threads.items()})
        self.running: int | None = None
        self.running_sc = -1
        self.since = 0

    @property
    def _optional(self) -> tuple[tuple[str, dict[int, int]], ...]:
        """The task keys the summary gives only when non-zero, with their counters."""
        return (
            ("served", self.served),
            ("blocked_ipc", self.blocked_ipc),
            ("faults", self.faults),
            ("timeout_faults", self.timeout_faults),
            ("aborted", self.aborted),
        )

    def result(
        self,
        reader: TraceReader,
        histogram_ns: int | None = None,
        histogram_max: int = 100,
        windows: bool = True,
    ) -> dict[str, Any]:
        """The summary, once the pass has reached the end of the trace."""
        if reader.footer is not None:
            duration = reader.footer["end"]
        else:
            duration = reader.last_time if reader.last_time is not None else 0
        if self.running is not None:
            self.cpu[self.running] += duration - self.since
            owner = self.home.get(self.running_sc, -1)
            self.charged[owner] += duration - self.since
            if owner != self.running:
                self.served[owner] += duration - self.since
            if self.running in self.runs or self.running_sc in self.budgets.scs:
                runs = self.runs.setdefault(self.running, array("q"))
                add_run(runs, self.since, duration, self.running_sc)
        for thread, since in self.blocked_since.items():  # still blocked: until the end
            self.blocked_ipc[thread] += duration - since
        tasks: dict[str, Any] = {}
        hists: dict[str, Any] = {}
        names = {tid: name for tid, (name, _) in self.threads.items()}
        for thread, name in task_names(names, self.releases).items():
            lat, lat_jitter, lat_std = stats(self.latency[thread])
            resp, resp_jitter, resp_std = stats(self.response[thread])
            window: dict[str, Any] = {}
            if windows:
                released, runs = self.release_times[thread], self.runs.get(thread, array("q"))
                window["cpu_window"] = stats(cpu_windows(released, runs, duration, self.window))[0]
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
                **window,
                "charged": self.charged[thread],
                "preemptions": self.preemptions[thread],
                "budget_exhaustions": self.exhaustions[thread],
                "tardiness": tardiness(self.tardy[thread]),
            }
            for key, counts in self._optional:  # only where non-zero: older summaries match
                if counts.get(thread):
                    tasks[name][key] = counts[thread]
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
        for key in ("engine", "timing"):  # a run of modules: which engine, fuel or measured
            value = (reader.footer or {}).get(key, reader.header.get(key))  # the footer's: later
            if isinstance(value, str):
                summary[key] = value
        if self.fault_list:
            summary["faults"] = [
                {"t": t, "task": names.get(tid, f"thread-{tid}"), "message": message}
                for t, tid, message in self.fault_list
            ]
        if self.faults_omitted:
            summary["faults_omitted"] = self.faults_omitted
        if histogram_ns is not None:
            summary["histograms"] = hists
        if self.logs_omitted:
            summary["logs_omitted"] = self.logs_omitted
        if windows and self.budgets.scs:
            summary["scs"] = self.budgets.summary(self.runs, names, duration, self.window)
        threads = self.threads.values()
        if self.deploys.deploys or any(kind == "runner" for _, kind in threads):
            summary["deploys"] = [deploy.as_dict() for deploy in self.deploys.deploys]
        return summary


def _cut_line(line: str) -> str:
    """A log line as the summary keeps it: at most MAX_LOG_LINE characters and a marker."""
    if len(line) <= MAX_LOG_LINE:
        return line
    return line[:MAX_LOG_LINE] + LINE_CUT.format(len(line) - MAX_LOG_LINE)


def _tardy(samples: array, late_by: int) -> None:
    """Record a late job's tardiness; misses are rare, so this call costs nothing in the loop,
    and a tardiness past 64 bits is reported like an overflowing latency."""
    try:
        samples.append(late_by)
    except OverflowError:
        raise RecordProblem(_OVERFLOW.format("tardiness", late_by)) from None


def _note_fault(s: _State, t: int, thread: int, message: str) -> None:
    """Keep a fault for the summary's list, or count it as omitted: faults are rare, so a
    call per fault is affordable, and the list stays bounded whatever the trace holds."""
    if len(s.fault_list) < MAX_FAULTS:
        s.fault_list.append((t, thread, _cut_line(message)))
    else:
        s.faults_omitted += 1


def _scan(reader: TraceReader, s: _State) -> None:
    """The summary's pass: one loop over the raw stream, no function call per record. Each
    record is checked as ``checks.CHECKS`` would (its arity by unpacking, each value by
    ``type(v) is int``), inline because that is what keeps the loop as fast as it was before
    records were checked at all."""
    checks, int_arity = CHECKS, INT_ARITY
    releases, misses, preemptions = s.releases, s.misses, s.preemptions
    exhaustions, cpu, charged, home = s.exhaustions, s.cpu, s.charged, s.home
    latency, response, open_jobs, in_job = s.latency, s.response, s.open_jobs, s.in_job
    logs, served, blocked_ipc, blocked_since = s.logs, s.served, s.blocked_ipc, s.blocked_since
    window, window_jobs, tardy, late, ended = s.window, s.window_jobs, s.tardy, s.late, s.ended
    release_times, thread_runs, budgeted = s.release_times, s.runs, s.budgets.scs
    sc_exhaustions = s.budgets.exhaustions
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
                        owner = home.get(running_sc, -1)
                        charged[owner] += ran
                        if owner != running and owner != -1:  # -1: idle, no SC
                            served[owner] += ran
                        runs = thread_runs.get(running)  # a task's, or on a budgeted SC
                        if runs is None and running_sc in budgeted:
                            runs = thread_runs[running] = array("q")
                        if runs is not None:
                            try:
                                runs.append(since)
                                runs.append(t)
                                runs.append(running_sc)
                            except OverflowError:  # a value past int64
                                add_run(runs, since, t, running_sc)
                    running, running_sc, since = to, sc, t
                elif kind == JOB_RELEASE:
                    _, t, thread, job, deadline = record
                    if type(t) is not int or type(thread) is not int or type(job) is not int:
                        raise Invalid
                    if type(deadline) is not int:
                        raise Invalid
                    times = release_times[thread]  # all, in the window or not: each ends one
                    if not times:  # the thread's first: a task, whose runs count from now on
                        thread_runs.setdefault(thread, array("q"))
                    try:
                        times.append(t)
                    except OverflowError:
                        times.append(clamp_time(t))
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
                            _tardy(tardy[thread], t - late.pop((thread, job)))
                elif kind == DEADLINE_MISS:
                    _, t, thread, job, deadline = record
                    if type(t) is not int or type(thread) is not int or type(job) is not int:
                        raise Invalid
                    if type(deadline) is not int:
                        raise Invalid
                    if window is not None:
                        jobs = window_jobs.get(thread)
                        if jobs is None or not jobs[0] <= job <= jobs[1]:
                            continue
                    misses[thread] += 1
                    if job in open_jobs[thread]:
                        late[thread, job] = deadline
                    elif ended.get(thread, (None,))[0] == job:  # the miss follows its end
                        _tardy(tardy[thread], ended[thread][1] - deadline)
                else:  # a negative code
                    raise Invalid
            elif kind == PREEMPT:
                _, t, thread, by = record
                if type(t) is not int or type(thread) is not int or type(by) is not int:
                    raise Invalid
                if in_job[thread] > 0:
                    preemptions[thread] += 1
            elif kind == BLOCK:
                _, t, thread, state = record
                if type(t) is not int or type(thread) is not int or type(state) is not int:
                    raise Invalid
                if state in IPC_BLOCKS and thread not in blocked_since:
                    blocked_since[thread] = t
            elif kind == WAKE:
                _, t, thread = record
                if type(t) is not int or type(thread) is not int:
                    raise Invalid
                if blocked_since and thread in blocked_since:
                    blocked_ipc[thread] += t - blocked_since.pop(thread)
            elif kind == BUDGET_EXHAUSTED:
                _, t, thread, sc = record
                if type(t) is not int or type(thread) is not int or type(sc) is not int:
                    raise Invalid
                exhaustions[thread] += 1
                exhausted_at = sc_exhaustions.get(sc)
                if exhausted_at is not None:
                    try:
                        exhausted_at.append(t)
                    except OverflowError:
                        exhausted_at.append(clamp_time(t))
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
                s.budgets.thread_new(record)
            elif kind == DEPLOY:
                checks[kind](*record)
                s.deploys.feed(record[1], record[2], record[3], record[4])
            elif kind == JOB_ABORT:
                _, t, thread, job = record
                if type(t) is not int or type(thread) is not int or type(job) is not int:
                    raise Invalid
                s.aborted[thread] += 1
            elif kind == FAULT:
                checks[kind](*record)
                _, t, thread, _job, message = record
                s.faults[thread] += 1
                _note_fault(s, t, thread, message)
            elif kind == TIMEOUT_FAULT:
                checks[kind](*record)
                _, t, thread, _sc, badge, consumed = record
                s.timeout_faults[thread] += 1
                _note_fault(s, t, thread, TIMEOUT_MESSAGE.format(badge, consumed))
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
