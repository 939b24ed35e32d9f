"""Timelines of who ran when, from the real kernel's output and from a simulation, compared.

Both become the same thing: intervals ``(thread, start, end)`` in ns from the scenario's start,
merged per thread across gaps the real threads cannot see (``GAP_NS``: a thread's own timing
loop only notices that it did not run when the counter jumps by more than that), and marks
``(thread, label, t)``. Two timelines agree when the same threads run in the same order, every
switch is within ``SWITCH_TOLERANCE_NS`` of its counterpart, every thread's CPU time within
``CPU_TOLERANCE_NS``, and every mark within ``SWITCH_TOLERANCE_NS``; docs/validation.md says
why those numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sporadic.description import System
from sporadic.description.profiles import PROFILES
from sporadic.records import MARK, SWITCH
from sporadic.simulation import Simulation
from sporadic.validation.scenario import Scenario

GAP_NS = 4992  # the root task's GAP_TICKS, 312 ticks of 16 ns
SWITCH_TOLERANCE_NS = 10_000
CPU_TOLERANCE_NS = 20_000
PROFILE = "qemu-arm-virt"


@dataclass
class Timeline:
    intervals: list[tuple[str, int, int]] = field(default_factory=list)
    marks: list[tuple[str, str, int]] = field(default_factory=list)

    def cpu(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, start, end in self.intervals:
            out[name] = out.get(name, 0) + end - start
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "intervals": [list(iv) for iv in self.intervals],
            "marks": [list(m) for m in self.marks],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Timeline:
        return cls([tuple(iv) for iv in d["intervals"]], [tuple(m) for m in d["marks"]])


def _merged(intervals: list[tuple[str, int, int]], end: int) -> list[tuple[str, int, int]]:
    """Per thread, intervals closer than GAP_NS joined; clipped to ``end``; by start time."""
    last: dict[str, list[int]] = {}
    out: list[list[Any]] = []
    for name, s, e in sorted(intervals, key=lambda iv: (iv[1], iv[2])):
        s, e = min(s, end), min(e, end)
        prev = last.get(name)
        if prev is not None and s - prev[2] <= GAP_NS:
            prev[2] = max(prev[2], e)
            continue
        row = [name, s, e]
        last[name] = row
        out.append(row)
    return [(n, s, e) for n, s, e in out if e > s or s < end]


def parse_real(output: str, scn: Scenario) -> Timeline:
    """The root task's ``SCN`` lines as a timeline."""
    ivs, marks = [], []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0] != "SCN":
            continue
        if parts[1] == "IV":
            ivs.append((scn.threads[int(parts[2])], int(parts[3]), int(parts[4])))
        elif parts[1] == "MK":
            marks.append((scn.threads[int(parts[2])], scn.labels[int(parts[3])], int(parts[4])))
        elif parts[1] == "LOST":
            raise ValueError(f"the root task's buffers overflowed: {line}")
    end = scn.duration_us * 1000
    return Timeline(_merged(ivs, end), sorted(m for m in marks if m[2] < end))


def with_profile(system: System) -> System:
    """``system`` with the real platform's kernel profile, unless it names one itself."""
    if system.kernel.profile is not None:
        return system
    kernel = dataclasses.replace(system.kernel, profile=PROFILE, **PROFILES[PROFILE])
    return dataclasses.replace(system, kernel=kernel)


def simulate(system: System) -> Timeline:
    """The simulator's timeline of ``system`` under the real platform's profile."""
    sim = Simulation(with_profile(system))
    sim.run()
    names = {t.id: t.name for t in sim.kernel.threads}
    idle = sim.kernel.idle.id
    ivs, marks = [], []
    running, since = idle, 0
    for r in sim.records:
        if r[0] == SWITCH:
            if running != idle:
                ivs.append((names[running], since, r[1]))
            running, since = r[3], r[1]
        elif r[0] == MARK:
            marks.append((names[r[2]], r[3], r[1]))
    end = system.duration
    if running != idle:
        ivs.append((names[running], since, end))
    return Timeline(_merged(ivs, end), sorted(m for m in marks if m[2] < end))
