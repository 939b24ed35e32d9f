"""Timelines of who ran when, from the real kernel's output and from a simulation, compared.

Both become the same thing: intervals ``(thread, start, end)`` in ns from the scenario's start
and marks ``(thread, label, t)``. ``Timeline.view`` merges a thread's runs across gaps shorter
than ``MERGE_NS`` (a thread's own timing loop only notices that it did not run when the counter
jumps by more than ``GAP_NS``); ``compare`` holds two views against the tolerances defined
here, and docs/validation.md says why those numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sporadic.description import Action, Distribution, SCParams, System, Thread
from sporadic.description.profiles import PROFILES
from sporadic.errors import ValidationError
from sporadic.records import MARK, SWITCH
from sporadic.simulation import Simulation
from sporadic.validation.scenario import MARGIN_US, ROOT_BUDGET_US, Scenario

GAP_NS = 4992  # the root task's GAP_TICKS, 312 ticks of 16 ns
MERGE_NS = 2 * GAP_NS  # runs this close are one run on both sides: a few short preemptions
# in a row add up to more than GAP_NS on one side and to less on the other
SWITCH_TOLERANCE_NS = 10_000
CPU_TOLERANCE_NS = 20_000
CPU_PER_RUN_NS = 1500  # a run starts after a kernel path of 0.5-1.1 us, modelled as one cost
PROFILE = "qemu-arm-virt"


@dataclass
class Timeline:
    """Who ran when and the marks, as recorded up to ``end``; ``setup`` is the real root task's
    steps before the start, ns before it: ``cfg``/``res`` per thread (SC configured, thread
    resumed) and ``root`` (its own SC configured to sleep), which a simulation replays
    (``simulate``). ``view()`` is what two timelines are compared on."""

    intervals: list[tuple[str, int, int]] = field(default_factory=list)
    marks: list[tuple[str, str, int]] = field(default_factory=list)
    setup: dict[str, Any] = field(default_factory=dict)
    end: int = 0

    def view(self) -> Timeline:
        """Runs merged across short gaps and marks, up to a tolerance before the end."""
        horizon = self.end - SWITCH_TOLERANCE_NS
        marks = sorted((m for m in self.marks if m[2] < horizon), key=lambda m: m[2])
        return Timeline(_merged(self.intervals, horizon), marks, self.setup, self.end)

    def cpu(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, start, end in self.intervals:
            out[name] = out.get(name, 0) + end - start
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "end": self.end,
            "setup": self.setup,
            "intervals": [list(iv) for iv in self.intervals],
            "marks": [list(m) for m in self.marks],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Timeline:
        intervals = [(n, s, e) for n, s, e in d["intervals"]]
        marks = [(n, lbl, t) for n, lbl, t in d["marks"]]
        return cls(intervals, marks, d["setup"], d["end"])


def _merged(intervals: list[tuple[str, int, int]], end: int) -> list[tuple[str, int, int]]:
    """Per thread, intervals closer than MERGE_NS joined, by start time, cut at ``end`` (a
    tolerance before the real end: a run that starts just before it on one side may start just
    after it on the other)."""
    last: dict[str, list[int]] = {}
    out: list[list[Any]] = []
    for name, s, e in sorted(intervals, key=lambda iv: (iv[1], iv[2])):
        s, e = min(s, end), min(e, end)
        prev = last.get(name)
        if prev is not None and s - prev[2] <= MERGE_NS:
            prev[2] = max(prev[2], e)
            continue
        row = [name, s, e]
        last[name] = row
        out.append(row)
    return [(n, s, e) for n, s, e in out if s < end]


def parse_real(output: str, scn: Scenario) -> Timeline:
    """The root task's ``SCN`` lines as a timeline."""
    ivs, marks = [], []
    n = len(scn.threads)
    setup: dict[str, Any] = {"cfg": [0] * n, "res": [0] * n, "root": 0}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0] != "SCN":
            continue
        if parts[1] in ("CFG", "RES"):
            setup[parts[1].lower()][int(parts[2])] = int(parts[3])
        elif parts[1] == "ROOT":
            setup["root"] = int(parts[2])
        elif parts[1] == "IV":
            ivs.append((scn.threads[int(parts[2])], int(parts[3]), int(parts[4])))
        elif parts[1] == "MK":
            marks.append((scn.threads[int(parts[2])], scn.labels[int(parts[3])], int(parts[4])))
        elif parts[1] == "LOST":
            raise ValidationError(f"the root task's buffers overflowed: {line}")
    end = scn.duration_us * 1000
    return Timeline(ivs, marks, setup, end)


def with_profile(system: System) -> System:
    """``system`` with the real platform's kernel profile, unless it names one itself."""
    if system.kernel.profile is not None:
        return system
    kernel = dataclasses.replace(system.kernel, profile=PROFILE, **PROFILES[PROFILE])
    return dataclasses.replace(system, kernel=kernel)


ROOT = "(root task)"


def _fixed(ns: int) -> Action:
    return Action("compute", {"time": Distribution("fixed", (max(0, ns),))})


def replay_setup(system: System, setup: dict[str, Any]) -> tuple[System, int]:
    """``system`` booted as the real root task boots it: a thread of priority 255 on a 5 ms
    round-robin SC (seL4's boot thread) configures every SC and resumes every thread (in
    reverse) at the times the real one did, then configures its own SC and yields to sleep.
    Returns the system and the simulated time at which the scenario starts (real time 0)."""
    steps: list[tuple[int, Action]] = []
    for i, t in enumerate(system.threads):
        sc = t.sc
        args = {
            "target": t.name,
            "budget": sc.budget,
            "period": sc.period,
            "extra_refills": sc.extra_refills,
            "badge": 0,
            "sporadic": sc.sporadic,
        }
        steps.append((setup["cfg"][i], Action("configure", args)))
    for i in reversed(range(len(system.threads))):
        if system.threads[i].start:
            steps.append((setup["res"][i], Action("resume", {"target": system.threads[i].name})))
    sleep = {
        "target": ROOT,
        "budget": ROOT_BUDGET_US * 1000,
        "period": system.duration + MARGIN_US * 1000,
        "extra_refills": 0,
        "badge": 0,
        "sporadic": False,
    }
    steps.append((setup["root"], Action("configure", sleep)))
    steps.append((0, Action("yield", {})))
    # between two of the root task's clock reads lies its last syscall's kernel path too
    path = system.kernel.syscall_latency + system.kernel.entry_cost
    first = steps[0][0]
    script, now = [], 0
    for k, (before, action) in enumerate(steps):
        script += [_fixed(first - before - now - (path if k else 0)), action]
        now = max(now, first - before)
    root = Thread(ROOT, 255, 255, sc=SCParams(5_000_000, 5_000_000), script=tuple(script))
    threads = tuple(dataclasses.replace(t, start=False) for t in system.threads)
    booted = dataclasses.replace(system, threads=(root, *threads), duration=system.duration + first)
    return booted, first


def simulate(system: System, setup: dict[str, Any] | None = None) -> Timeline:
    """The simulator's timeline of ``system`` under the real platform's profile, its boot
    replaying the real root task's ``setup`` when given."""
    offset = 0
    run = with_profile(system)
    if setup:
        run, offset = replay_setup(run, setup)
    sim = Simulation(run)
    kernel = sim.kernel
    # each record with the kernel's ``hw`` at that moment: inside a kernel entry, that is when
    # the thread that entered stopped running user code (its svc, or the interrupt)
    records: list[tuple[tuple, int, bool]] = []
    sim.built.set_sink(lambda record: records.append((record, kernel.hw, kernel.fast)))
    end = sim.system.duration  # the kernel's loop itself: Simulation.run would batch the sink
    kernel.run(end)
    sim.built.finish(end)
    names = {t.id: t.name for t in kernel.threads}
    idle = kernel.idle.id
    ivs, marks = [], []
    running, since = idle, 0
    syscall = run.kernel.syscall_latency
    for r, stopped, fast in records:
        if r[0] == SWITCH:
            # a thread that never got back to user mode before an interrupt took it away did
            # not run (stopped before it started, or at that instant by an interrupt); one that
            # made a syscall did, if only for no time
            interrupted = not fast and r[1] - stopped != syscall
            ran = stopped > since or (stopped == since and not interrupted)
            if running != idle and ran:
                ivs.append((names[running], since - offset, stopped - offset))
            # the thread switched to runs once the kernel has returned: entry_cost after the
            # clock read, or fastpath_cost after the trap (the fastpath reads no clock)
            cost = run.kernel.fastpath_cost if fast else run.kernel.entry_cost
            running, since = r[3], r[1] + cost
        elif r[0] == MARK:
            marks.append((names[r[2]], r[3], r[1] - offset))
    end = system.duration
    if running != idle:
        ivs.append((names[running], since - offset, end))
    ivs = [(n, max(0, a), b) for n, a, b in ivs if n != ROOT and b >= 0]
    return Timeline(ivs, [m for m in marks if m[2] >= 0], {}, end)
