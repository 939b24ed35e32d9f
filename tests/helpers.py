"""What several test files share: time units, small programs, the execution-interval and
bandwidth-window computations, a kernel with shortcuts for the Python-API tests (``Sim``) and
a finished CLI run for the end-to-end scenario tests (``Run``, ``run_cli``, ``run_scenario``).

Import from here (``from tests.helpers import ...``); fixtures live in ``tests/conftest.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sporadic import records as ev
from sporadic.cli import main
from sporadic.kernel import TCB, Endpoint, Kernel, SchedContext, Spin, Unbind, bind, configure
from sporadic.kernel.notification import send_signal
from sporadic.traces.reader import TraceReader

US = 1_000
MS = 1_000_000
S = 1_000_000_000
MIN_BUDGET = 20 * US  # the section-12 default the kernel tests assume

ROOT = Path(__file__).resolve().parents[1]  # the repository
SCENARIOS = ROOT / "tests" / "scenarios"  # the sNN_*.toml files of docs/mcs-semantics.md section 14


# ================================================================================ programs


def prog(*actions: Any) -> Iterator[Any]:
    """A program that performs ``actions`` in order, then exits."""
    for a in actions:  # noqa: UP028 - `yield from` would forward send() to a tuple iterator
        yield a


def spin() -> Iterator[Any]:
    """A program that spins for ever (never enters the kernel)."""
    yield Spin()


# ============================================================ execution intervals, windows


def switches(recs: Iterable[tuple]) -> list[tuple[int, int, int]]:
    """(t, from thread id, to thread id) of every SWITCH record."""
    return [(r[1], r[2], r[3]) for r in recs if r[0] == ev.SWITCH]


def intervals(switched: Iterable[tuple[Any, ...]], who: Any, end: int) -> list[tuple[int, int]]:
    """[start, end) intervals during which ``who`` ran, from ``(t, from, to, ...)`` switches
    (threads named or numbered alike); an interval still open is closed at ``end``. Empty
    intervals are dropped."""
    out: list[tuple[int, int]] = []
    start = None
    for t, frm, to, *_ in switched:
        if frm == who and start is not None:
            if t > start:
                out.append((start, t))
            start = None
        if to == who:
            start = t
    if start is not None and end > start:
        out.append((start, end))
    return out


def busy(ivs: Iterable[tuple[int, int]], start: int, length: int) -> int:
    """How much of the window [start, start + length) the intervals ``ivs`` cover."""
    return sum(max(0, min(b, start + length) - max(a, start)) for a, b in ivs)


def busiest_window(
    ivs: list[tuple[int, int]], length: int, starts: Iterable[int] | None = None
) -> tuple[int, int]:
    """(start, busy time) of the busiest window of ``length`` among those beginning at
    ``starts`` (the first such window on a tie; ``(0, 0)`` without any).

    By default the windows begin at each interval start, which is where the maximum of a
    sliding window over a step function is reached: a constant-bandwidth check
    (docs/mcs-semantics.md 2.7) is ``busiest_window(ivs, period)[1] <= budget``."""
    best: tuple[int, int] | None = None
    for s in (a for a, _ in ivs) if starts is None else starts:
        used = busy(ivs, s, length)
        if best is None or used > best[1]:
            best = (s, used)
    return best or (0, 0)


# ======================================================================= the kernel, direct


class Sim:
    """A kernel with its records and shortcuts for building scenarios with the Python API.

    Passive servers are set up as sel4test does it: ``server`` gives the thread a 1 ms
    round-robin SC of its own to run to its first receive, then ``root`` (priority 0, so it
    runs after every other thread has blocked) unbinds those SCs and performs ``then`` (usually
    Resumes of clients created with ``start=False``)."""

    def __init__(self, **kw: Any) -> None:
        self.recs: list[tuple] = []
        self.k = Kernel(sink=self.recs.append, **kw)
        self.passive: list[SchedContext] = []

    # ------------------------------------------------------------------------- building

    def thread(
        self,
        name: str,
        prio: int,
        program: Iterator[Any] | None,
        budget: int | None = None,
        period: int | None = None,
        *,
        extra_refills: int = 0,
        sporadic: bool = False,
        badge: int = 0,
        domain: int = 0,
        mcp: int | None = None,
        start: bool = True,
    ) -> TCB:
        """Create a thread (boot order = call order); with a budget also configure and bind an
        SC (period defaults to the budget: round robin); with ``start``, start it."""
        k = self.k
        t = k.create_thread(name, prio, program=program, domain=domain, mcp=mcp)
        if budget is not None:
            sc = k.create_sc(name)
            configure(
                k,
                sc,
                budget,
                budget if period is None else period,
                extra_refills=extra_refills,
                badge=badge,
                sporadic=sporadic,
            )
            bind(k, sc, t)
        if start:
            k.start(t)
        return t

    def ep(self, name: str) -> Endpoint:
        return self.k.create_endpoint(name)

    def server(self, name: str, prio: int, program: Iterator[Any]) -> TCB:
        """A thread that becomes passive once root has run (see the class docstring)."""
        t = self.thread(name, prio, program, 1 * MS)
        self.passive.append(t.sc)
        return t

    def root(self, *then: Any) -> TCB:
        """Priority 0: unbind the passive threads' SCs, then ``then`` (usually Resumes)."""
        actions = [Unbind(sc) for sc in self.passive] + list(then)
        return self.thread("root", 0, prog(*actions), 100 * MS, mcp=255)

    def signal_at(self, t: int, ntfn: Any) -> None:
        """A device timer that signals ``ntfn`` at ``t``."""
        self.k.add_timer(t, 0, lambda now: send_signal(self.k, ntfn, 1))

    # -------------------------------------------------------------------------- reading

    def name(self, tid: int) -> str:
        """The thread's name; "-" for no thread (-1)."""
        return "-" if tid < 0 else self.k.threads[tid].name

    def records(self, kind: int) -> list[tuple]:
        """The records of one kind, without their kind."""
        return [r[1:] for r in self.recs if r[0] == kind]

    def switches(self, until: int | None = None) -> list[tuple[int, str, str]]:
        """(t, from, to) of every SWITCH (before ``until`` if given)."""
        return [
            (t, self.name(frm), self.name(to))
            for t, frm, to in switches(self.recs)
            if until is None or t < until
        ]

    def switches_sc(self) -> list[tuple[int, str, str]]:
        """(t, to, name of the SC it runs on) of every SWITCH."""
        return [
            (r[0], self.name(r[2]), "idle" if r[3] < 0 else self.k.scs[r[3]].name)
            for r in self.records(ev.SWITCH)
        ]

    def intervals(self, name: str, end: int) -> list[tuple[int, int]]:
        """Execution intervals of ``name`` from the SWITCH records, closed at ``end``."""
        return intervals(self.switches(), name, end)

    def donations(self) -> list[tuple[int, str, str, str]]:
        """(t, SC name, from, to) of every DONATE."""
        return [
            (r[0], self.k.scs[r[1]].name, self.name(r[2]), self.name(r[3]))
            for r in self.records(ev.DONATE)
        ]

    def replies(self) -> list[tuple[int, str, str]]:
        """(t, replier, caller) of every IPC_REPLY."""
        return [(r[0], self.name(r[1]), self.name(r[2])) for r in self.records(ev.IPC_REPLY)]

    def marks(self, label: str, *, with_thread: bool = False) -> list[tuple[Any, ...]]:
        """(t, value) of the MARK records of ``label``; (t, thread, value) ``with_thread``."""
        return [
            (r[0], self.name(r[1]), r[3]) if with_thread else (r[0], r[3])
            for r in self.records(ev.MARK)
            if r[2] == label
        ]


# ======================================================================= a CLI run, traced


@dataclass
class Run:
    """One finished ``sporadic run --json``: its JSON summary, the trace's header, records and
    footer, and the name tables of the header."""

    summary: dict
    header: dict
    records: list[tuple]
    footer: dict | None
    ids: dict[str, int]  # thread name -> id
    names: dict[int, str]  # thread id -> name (idle included)
    sc_names: dict[int, str]  # SC id -> name (its home thread's name), -1 -> "idle"

    @property
    def end(self) -> int:
        """The simulated end time from the footer."""
        assert self.footer is not None
        return self.footer["end"]

    def of(self, *kinds: int) -> list[tuple]:
        return [r for r in self.records if r[0] in kinds]

    def tid(self, name: str) -> int:
        return self.ids[name]

    def sc(self, name: str) -> int:
        """The id of the SC created for thread ``name``."""
        return next(i for i, n in self.sc_names.items() if n == name)

    def ep(self, name: str) -> int:
        return self.header["system"]["endpoints"].index(name)

    def ntfn(self, name: str) -> int:
        return self.header["system"]["notifications"].index(name)

    def switches(self, *, with_sc: bool = False) -> list[tuple[Any, ...]]:
        """(t, from, to) of every SWITCH record; (t, from, to, SC name) ``with_sc``."""
        return [
            (r[1], self.names[r[2]], self.names[r[3]], self.sc_names[r[4]])
            if with_sc
            else (r[1], self.names[r[2]], self.names[r[3]])
            for r in self.of(ev.SWITCH)
        ]

    def marks(self, label: str | None = None, *, with_label: bool = False) -> list[tuple[Any, ...]]:
        """(t, thread, value) of MARK records, optionally of one label only;
        (t, thread, label, value) ``with_label``."""
        return [
            (r[1], self.names[r[2]], r[3], r[4]) if with_label else (r[1], self.names[r[2]], r[4])
            for r in self.of(ev.MARK)
            if label is None or r[3] == label
        ]

    def mark_times(self, label: str) -> list[int]:
        return [m[0] for m in self.marks(label)]

    def intervals(self, name: str, end: int | None = None) -> list[tuple[int, int]]:
        """[start, end) intervals during which ``name`` was the running thread; the last one
        is closed at ``end`` (default: the footer's end time)."""
        return intervals(self.switches(), name, self.end if end is None else end)

    def cpu(self, name: str) -> int:
        return sum(b - a for a, b in self.intervals(name))

    def postpones(self, name: str) -> list[tuple[int, int]]:
        """(t, ready_time) of POSTPONE records of ``name``."""
        tid = self.ids[name]
        return [(r[1], r[4]) for r in self.of(ev.POSTPONE) if r[2] == tid]

    def donations(self) -> list[tuple[int, str, str, str]]:
        """(t, SC name, from, to) of DONATE records; "-" for a notification or nobody."""
        return [
            (r[1], self.sc_names[r[2]], self.names.get(r[3], "-"), self.names.get(r[4], "-"))
            for r in self.of(ev.DONATE)
        ]

    def ipc(self, kind: int) -> list[tuple[int, str, int, str]]:
        """(t, thread, endpoint, other thread or "-") of IPC_SEND/IPC_CALL/IPC_RECV records."""
        return [(r[1], self.names[r[2]], r[3], self.names.get(r[4], "-")) for r in self.of(kind)]

    def replies(self) -> list[tuple[int, str, str]]:
        return [(r[1], self.names[r[2]], self.names[r[3]]) for r in self.of(ev.IPC_REPLY)]

    def exits(self) -> list[tuple[int, str]]:
        return [(r[1], self.names[r[2]]) for r in self.of(ev.THREAD_EXIT)]


def run_cli(
    toml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str, out: str = "x"
) -> Run:
    """``sporadic run TOML -o TMP/OUT.trace --json EXTRA...``; it must succeed and leave a
    complete trace."""
    trace = tmp_path / f"{out}.trace"
    code = main(["run", str(toml), "-o", str(trace), "--json", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    with TraceReader(trace) as reader:
        records = list(reader)
        header = reader.header
        footer = reader.footer
        assert not reader.truncated
    names = {t["id"]: t["name"] for t in header["threads"]}
    sc_names = {c["id"]: c["name"] for c in header["scs"]}
    sc_names[-1] = "idle"
    ids = {n: i for i, n in names.items()}
    return Run(summary, header, records, footer, ids, names, sc_names)


Scenario = Callable[[str], Run]  # the type of the ``scenario`` fixture (tests/conftest.py)


def run_scenario(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``tests/scenarios/NAME.toml``, a thread-only description: no jobs, so no tasks in
    the summary, and the run is not truncated and ends at the duration."""
    run = run_cli(SCENARIOS / f"{name}.toml", tmp_path, capsys, out=name)
    assert run.summary["truncated"] is False
    assert run.summary["tasks"] == {}
    assert run.summary["duration"] == run.end == run.header["duration"]
    return run
