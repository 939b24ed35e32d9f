"""The ``sporadic`` pytest fixture: simulate a description in a test, then assert on deadlines,
latencies and response times, so a timing regression fails a project's test suite.

::

    def test_control_loop(sporadic):
        run = sporadic.run("system.toml", until="200ms")
        run.assert_no_misses("control")
        run.assert_latency("control", p99_below="300us")
        assert run.tasks["control"].response.max < 800_000  # ns

pytest imports this module at startup for everyone who installed sporadic, so it imports
nothing beyond pytest until a test asks for a run: the simulator, numpy and the summary are
imported inside :meth:`Runner.run`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MAX_LISTED = 10  # jobs a failure message lists before "... and N more"


@pytest.fixture
def sporadic(tmp_path: Path) -> Runner:
    """Simulates descriptions into the test's ``tmp_path``: ``sporadic.run(path, until, seed)``."""
    return Runner(tmp_path)


def _ns(value: int | str, what: str) -> int:
    """A duration given as int nanoseconds or a string with a unit ("300us")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        from sporadic.units import parse_duration

        return parse_duration(value)
    raise TypeError(f"{what} must be ns (an int) or a duration such as '300us', not {value!r}")


def _ms(ns: int) -> str:
    """A point in simulated time, exact, in ms: ``12.0034ms``."""
    whole, part = divmod(ns, 1_000_000)
    return f"{whole}.{part:06d}".rstrip("0").rstrip(".") + "ms"


def _duration(ns: int | None) -> str:
    from sporadic.traces.table import format_ns

    return format_ns(ns)


class Runner:
    """The fixture's value: runs simulations whose traces land in the test's directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.runs = 0

    def run(
        self,
        path: str | os.PathLike[str],
        until: int | str | None = None,
        seed: int | None = None,
    ) -> RunResult:
        """Simulate the description at ``path`` (a relative path is from the current
        directory) for ``until`` (ns or "100ms"; default: its own duration) with ``seed``."""
        from sporadic.simulation import Simulation, load
        from sporadic.traces.summary import summarise

        self.runs += 1
        trace = self.directory / f"{Path(path).stem}-{self.runs}.trace"
        system = load(path)
        duration = None if until is None else _ns(until, "until")
        Simulation(system, trace, seed=seed, until=duration).run()
        return RunResult(trace, summarise(trace))


class Stats:
    """Part of a summary with attribute access: ``task.latency.p99``; nested maps are Stats."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            value = self._data[key]
        except KeyError:
            raise AttributeError(f"no {key!r}: one of {', '.join(self._data)}") from None
        return Stats(value) if isinstance(value, dict) else value

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        return Stats(value) if isinstance(value, dict) else value

    def as_dict(self) -> dict[str, Any]:
        return self._data

    def __repr__(self) -> str:
        return f"Stats({self._data!r})"


class UnknownTaskError(LookupError):
    """A task name that is not in the trace: the message lists those that are."""


class Tasks(dict[str, Stats]):
    """Task name -> Stats; a name that is not there raises UnknownTaskError, listing those
    that are, rather than a bare KeyError."""

    def __init__(self, trace: Path, summary_tasks: dict[str, Any]) -> None:
        super().__init__((name, Stats(task)) for name, task in summary_tasks.items())
        self.trace = trace

    def __missing__(self, name: str) -> Stats:
        known = ", ".join(self) or "none"
        raise UnknownTaskError(f"no task {name!r} in {self.trace}; its tasks: {known}")


@dataclass
class Job:
    """One job of a task, from the trace's job records (times in ns; None: did not happen)."""

    number: int
    release: int
    deadline: int | None = None
    start: int | None = None
    end: int | None = None
    missed: bool = False
    aborted: bool = False

    @property
    def latency(self) -> int | None:
        return None if self.start is None else self.start - self.release

    @property
    def response(self) -> int | None:
        return None if self.end is None else self.end - self.release


class RunResult:
    """A finished run: its trace, its summary, ``tasks[name]`` with attribute access, and
    assertions whose failures name the task and list the offending jobs."""

    def __init__(self, trace: Path, summary: dict[str, Any]) -> None:
        self.trace = trace
        self.summary = summary
        self.duration: int = summary["duration"]
        self.tasks = Tasks(trace, summary["tasks"])
        self._jobs: dict[str, list[Job]] | None = None

    def task(self, name: str) -> Stats:
        """``tasks[name]``, or an error that lists the tasks there are."""
        return self.tasks[name]

    def jobs(self, name: str) -> list[Job]:
        """Every job of task ``name`` in release order, read from the trace on first use."""
        self.task(name)
        if self._jobs is None:
            self._jobs = _read_jobs(self.trace)
        return self._jobs.get(name, [])

    def assert_no_misses(self, *names: str) -> None:
        """No job of the named tasks (all tasks when none are named) missed its deadline."""
        __tracebackhide__ = True
        failures = []
        for name in names or tuple(self.tasks):
            task = self.task(name)
            if task.misses:
                missed = [job for job in self.jobs(name) if job.missed]
                lines = [_miss_line(job) for job in missed]
                head = f"{name} missed {task.misses} of {task.jobs} deadlines:"
                failures.append("\n".join([head, *_listed(lines)]))
        if failures:
            raise AssertionError("\n".join([*failures, f"trace: {self.trace}"]))

    def assert_latency(
        self, name: str, p99_below: int | str | None = None, max_below: int | str | None = None
    ) -> None:
        """Task ``name``'s latency (release to first dispatch) p99 and/or max is below the
        bound: ns or a duration string ("300us")."""
        __tracebackhide__ = True
        self._assert_below(name, "latency", p99_below, max_below)

    def assert_response(
        self, name: str, p99_below: int | str | None = None, max_below: int | str | None = None
    ) -> None:
        """Task ``name``'s response time (release to completion) p99 and/or max is below the
        bound. Jobs that never completed have none: ``assert_no_misses`` catches them."""
        __tracebackhide__ = True
        self._assert_below(name, "response", p99_below, max_below)

    def _assert_below(
        self, name: str, what: str, p99: int | str | None, top: int | str | None
    ) -> None:
        __tracebackhide__ = True
        if p99 is None and top is None:
            raise TypeError(f"assert_{what} needs p99_below or max_below")
        stats = getattr(self.task(name), what)
        heads, bound = [], None
        for key, given in (("p99", p99), ("max", top)):
            if given is None:
                continue
            limit = _ns(given, f"{key}_below")
            value = stats[key]
            if value is None:
                heads.append(f"{name}: no {what} samples, so its {what} {key} is unknown")
            elif value >= limit:
                shown = given if isinstance(given, str) else _duration(limit)
                heads.append(f"{name}: {what} {key} is {_duration(value)}, not below {shown}")
                bound = limit if bound is None else min(bound, limit)
        if not heads:
            return
        lines = []
        if bound is not None:
            jobs = self.jobs(name)
            slow = [job for job in jobs if _at_least(getattr(job, what), bound)]
            lines.append(
                f"{len(slow)} of {len(jobs)} jobs have a {what} of {_duration(bound)} or more:"
            )
            lines += _listed([_job_line(job, what) for job in slow])
        raise AssertionError("\n".join([*heads, *lines, f"trace: {self.trace}"]))


def _at_least(value: int | None, bound: int) -> bool:
    return value is not None and value >= bound


def _listed(lines: list[str]) -> list[str]:
    """The first MAX_LISTED lines, indented, then how many were left out."""
    shown = [f"  {line}" for line in lines[:MAX_LISTED]]
    if len(lines) > MAX_LISTED:
        shown.append(f"  ... and {len(lines) - MAX_LISTED} more")
    return shown


def _job_line(job: Job, what: str) -> str:
    return (
        f"job {job.number} released at {_ms(job.release)}: {what} {_duration(getattr(job, what))}"
    )


def _miss_line(job: Job) -> str:
    deadline = "" if job.deadline is None else f", deadline {_ms(job.deadline)}"
    if job.response is not None:
        outcome = f"response {_duration(job.response)}"
    elif job.aborted:
        outcome = "aborted"
    else:
        outcome = "not completed"
    return f"job {job.number} released at {_ms(job.release)}{deadline}: {outcome}"


def _read_jobs(trace: Path) -> dict[str, list[Job]]:
    """Task name -> its jobs, named as ``summarise`` names tasks, in one pass over the trace."""
    from sporadic import records as ev
    from sporadic.traces.reader import TraceReader
    from sporadic.traces.summary import add_thread, task_names, thread_table

    jobs: dict[int, dict[int, Job]] = {}
    with TraceReader(trace) as reader:
        threads = thread_table(reader.header)
        home: dict[int, int] = {}
        for record in reader.records(
            ev.JOB_RELEASE, ev.JOB_START, ev.JOB_END, ev.DEADLINE_MISS, ev.JOB_ABORT, ev.THREAD_NEW
        ):
            kind, t = record[0], record[1]
            if kind == ev.THREAD_NEW:
                add_thread(threads, home, record)
                continue
            mine = jobs.setdefault(record[2], {})
            if kind == ev.JOB_RELEASE:
                mine[record[3]] = Job(record[3], t, deadline=record[4])
                continue
            job = mine.get(record[3])
            if job is None:
                continue
            if kind == ev.JOB_START and job.start is None:
                job.start = t
            elif kind == ev.JOB_END and job.end is None:
                job.end = t
            elif kind == ev.DEADLINE_MISS:
                job.missed = True
            elif kind == ev.JOB_ABORT:
                job.aborted = True
    releases = {tid: len(by_number) for tid, by_number in jobs.items() if by_number}
    names = task_names({tid: name for tid, (name, _) in threads.items()}, releases)
    return {names[tid]: list(jobs[tid].values()) for tid in names}
