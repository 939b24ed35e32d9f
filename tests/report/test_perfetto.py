"""The Perfetto conversion: tracks, slices, instants and budget counters of a hand-made trace,
read back with the same protobuf classes the converter writes with."""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from sporadic import records as ev
from sporadic.errors import SporadicError, TraceFormatError
from sporadic.report.perfetto import PerfettoStats, protos, write_perfetto
from sporadic.simulation import Simulation, load
from sporadic.traces.reader import TraceReader
from sporadic.traces.writer import TraceWriter

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END, INSTANT, COUNTER = 1, 2, 3, 4

HEADER = {
    "system": {"name": "tiny"},
    "threads": [
        {"id": 0, "name": "idle", "kind": "idle", "priority": 0, "domain": 0},
        {"id": 1, "name": "ctl", "kind": "partition", "priority": 200, "domain": 0},
        {"id": 2, "name": "bg", "kind": "partition", "priority": 10, "domain": 0},
    ],
    "scs": [
        {"id": 0, "name": "ctl", "budget": 300, "period": 1000, "extra_refills": 0,
         "sporadic": False, "home": 1},
        {"id": 1, "name": "bg", "budget": 200, "period": 0, "extra_refills": 0,
         "sporadic": False, "home": 2},
    ],
    "seed": 0,
    "duration": 2500,
}  # fmt: skip

# ctl (SC 300 per 1000) runs 0-100 and 1000-1250; bg (round-robin SC, 200 slices) runs
# 100-600 on its own SC and 800-850 on ctl's; a module made at 1500 runs 1500-1600 and traps.
RECORDS = [
    (ev.SWITCH, 0, 0, 1, 0),
    (ev.JOB_RELEASE, 0, 1, 1, 1000),
    (ev.JOB_START, 0, 1, 1),
    (ev.JOB_END, 100, 1, 1),
    (ev.SWITCH, 100, 1, 2, 1),
    (ev.SWITCH, 600, 2, 0, -1),
    (ev.SWITCH, 800, 0, 2, 0),
    (ev.SWITCH, 850, 2, 0, -1),
    (ev.JOB_RELEASE, 1000, 1, 2, 2000),
    (ev.SWITCH, 1000, 0, 1, 0),
    (ev.JOB_START, 1000, 1, 2),
    (ev.BUDGET_EXHAUSTED, 1250, 1, 0),
    (ev.TIMEOUT_FAULT, 1250, 1, 0, 7, 550),
    (ev.SWITCH, 1250, 1, 0, -1),
    (ev.THREAD_NEW, 1500, 3, "mod", "module", 50, 0, 2, 100, 1000),
    (ev.SWITCH, 1500, 0, 3, 2),
    (ev.FAULT, 1600, 3, 1, "unreachable executed"),
    (ev.SWITCH, 1600, 3, 0, -1),
    (ev.DEADLINE_MISS, 2000, 1, 2, 2000),
]


def write_trace(path: Path, records: list[tuple], end: int | None = 2500) -> Path:
    """A trace of ``records``; ``end`` None leaves it without a footer (truncated)."""
    writer = TraceWriter(path, HEADER)
    for record in records:
        writer.emit(record)
    if end is None:
        writer.abandon()
    else:
        writer.close(end)
    return path


class Decoded:
    """A Perfetto trace file read back: track names, and each track's events in order."""

    def __init__(self, path: Path) -> None:
        self.trace = protos().Trace.FromString(path.read_bytes())
        self.names: dict[int, str] = {}
        self.events: defaultdict[str, list[Any]] = defaultdict(list)
        for packet in self.trace.packet:
            assert packet.trusted_packet_sequence_id == 1
            if packet.HasField("track_descriptor"):
                self.names[packet.track_descriptor.uuid] = packet.track_descriptor.name
            else:
                name = self.names[packet.track_event.track_uuid]
                self.events[name].append((packet.timestamp, packet.track_event))

    @property
    def tracks(self) -> list[str]:
        return list(self.names.values())

    def slices(self, track: str) -> list[tuple[str, int]]:
        """("B"/"E", t) of the track's slice events."""
        kinds = {BEGIN: "B", END: "E"}
        return [(kinds[e.type], t) for t, e in self.events[track] if e.type in kinds]

    def slice_names(self, track: str) -> list[str]:
        return [e.name for _, e in self.events[track] if e.type == BEGIN]

    def instants(self, track: str) -> list[str]:
        return [e.name for _, e in self.events[track] if e.type == INSTANT]

    def counter(self, track: str) -> list[tuple[int, int]]:
        return [(t, e.counter_value) for t, e in self.events[track] if e.type == COUNTER]

    def count(self, kind: int) -> int:
        return sum(e.type == kind for events in self.events.values() for _, e in events)


@pytest.fixture
def converted(tmp_path: Path) -> tuple[Decoded, PerfettoStats]:
    stats = write_perfetto(write_trace(tmp_path / "t.trace", RECORDS), tmp_path / "t.pftrace")
    return Decoded(tmp_path / "t.pftrace"), stats


def test_perfetto_has_a_root_track_then_a_track_per_thread_and_a_counter_per_sc(
    converted: tuple[Decoded, PerfettoStats],
) -> None:
    decoded, _ = converted
    assert decoded.tracks == [
        "tiny",
        "idle",
        "ctl",
        "bg",
        "ctl budget left",
        "bg timeslice left",
        "mod",
        "mod budget left",
    ]
    descriptors = [
        p.track_descriptor for p in decoded.trace.packet if p.HasField("track_descriptor")
    ]
    assert [d.parent_uuid for d in descriptors[1:]] == [1] * 7
    # each SC's counter sorts right below its thread
    ranks = {d.name: d.sibling_order_rank for d in descriptors[1:]}
    assert ranks == {
        "idle": 0,
        "ctl": 2,
        "ctl budget left": 3,
        "bg": 4,
        "bg timeslice left": 5,
        "mod": 6,
        "mod budget left": 7,
    }
    assert [d.HasField("counter") for d in descriptors] == [False] * 4 + [True] * 2 + [False, True]


def test_perfetto_slices_follow_the_switches_and_close_at_the_end(
    converted: tuple[Decoded, PerfettoStats],
) -> None:
    decoded, _ = converted
    assert decoded.slices("ctl") == [("B", 0), ("E", 100), ("B", 1000), ("E", 1250)]
    assert decoded.slices("bg") == [("B", 100), ("E", 600), ("B", 800), ("E", 850)]
    assert decoded.slices("mod") == [("B", 1500), ("E", 1600)]
    assert decoded.slices("idle") == [
        ("B", 600), ("E", 800), ("B", 850), ("E", 1000),
        ("B", 1250), ("E", 1500), ("B", 1600), ("E", 2500),
    ]  # fmt: skip
    assert decoded.slice_names("bg") == ["running", "running (SC ctl)"]
    assert decoded.count(BEGIN) == decoded.count(END) == 9


def test_perfetto_instants_mark_releases_misses_exhaustions_and_faults(
    converted: tuple[Decoded, PerfettoStats],
) -> None:
    decoded, _ = converted
    assert decoded.instants("ctl") == [
        "release",
        "release",
        "budget exhausted",
        "timeout fault",
        "deadline miss",
    ]
    assert decoded.instants("mod") == ["fault"]
    assert decoded.instants("bg") == decoded.instants("idle") == []
    notes = {  # the last event of each name
        e.name: {a.name: a.int_value or a.string_value for a in e.debug_annotations}
        for _, e in decoded.events["ctl"] + decoded.events["mod"]
        if e.type == INSTANT
    }
    assert notes == {
        "release": {"job": 2, "deadline": 2000},
        "budget exhausted": {"sc": "ctl"},
        "timeout fault": {"sc": "ctl", "consumed_ns": 550},
        "deadline miss": {"job": 2, "deadline": 2000},
        "fault": {"job": 1, "message": "unreachable executed"},
    }


def test_perfetto_budget_counters_return_each_stretch_one_period_after_it_began(
    converted: tuple[Decoded, PerfettoStats],
) -> None:
    decoded, _ = converted
    # 100 used at 0-100 comes back at 1000, 50 used by bg at 800-850 at 1800, 250 at 2000
    assert decoded.counter("ctl budget left") == [
        (0, 300), (100, 200), (850, 150), (1000, 250), (1250, 0), (1800, 50), (2000, 300),
    ]  # fmt: skip
    # a 200 timeslice from 100: whole again at 300 and 500, 100 left when bg stops at 600
    assert decoded.counter("bg timeslice left") == [(0, 200), (300, 200), (500, 200), (600, 100)]
    assert decoded.counter("mod budget left") == [(1500, 100), (1600, 0), (2500, 100)]


def test_perfetto_stats_count_what_was_written(converted: tuple[Decoded, PerfettoStats]) -> None:
    decoded, stats = converted
    assert stats == PerfettoStats(packets=46, tracks=8, slices=9, instants=6, counter_samples=14)
    assert len(decoded.trace.packet) == 46
    timestamps = [p.timestamp for p in decoded.trace.packet if p.HasField("track_event")]
    assert timestamps == sorted(timestamps)


def test_perfetto_of_a_truncated_trace_ends_at_its_last_record(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "cut.trace", RECORDS[:6], end=None)
    write_perfetto(trace, tmp_path / "cut.pftrace")
    decoded = Decoded(tmp_path / "cut.pftrace")
    assert decoded.slices("idle") == [("B", 600), ("E", 600)]
    assert decoded.slices("bg") == [("B", 100), ("E", 600)]


def test_perfetto_refuses_a_file_that_is_not_a_trace_and_writes_nothing(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.trace"
    bogus.write_bytes(b"\x93\x01\x02\x03")
    with pytest.raises(TraceFormatError, match="is not a sporadic trace"):
        write_perfetto(bogus, tmp_path / "out.pftrace")
    assert not (tmp_path / "out.pftrace").exists()


def test_perfetto_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.trace", RECORDS)
    size = trace.stat().st_size
    with pytest.raises(
        SporadicError, match="t.trace: the Perfetto trace would overwrite its input"
    ):
        write_perfetto(trace, tmp_path / "." / "t.trace")
    assert trace.stat().st_size == size


def test_perfetto_of_a_simulation_has_one_slice_per_switch(tmp_path: Path) -> None:
    trace = tmp_path / "vehicle.trace"
    system = load(ROOT / "examples" / "vehicle" / "vehicle.toml")
    Simulation(system, trace, until=20_000_000).run()
    with TraceReader(trace) as reader:
        kinds = [record[0] for record in reader]
    stats = write_perfetto(trace, tmp_path / "vehicle.pftrace")
    decoded = Decoded(tmp_path / "vehicle.pftrace")
    assert decoded.tracks[:7] == [
        "vehicle",
        "idle",
        "watchdog",
        "fusion",
        "control",
        "planner",
        "logger",
    ]
    assert decoded.count(BEGIN) == decoded.count(END) == kinds.count(ev.SWITCH) == 51
    assert decoded.count(INSTANT) == stats.instants == 26 + 5  # releases, exhaustions
    assert decoded.instants("control") == ["release"] * 20
    assert min(v for t, v in decoded.counter("control budget left")) >= 0


@pytest.mark.skipif(
    not os.environ.get("SPORADIC_TRACE_PROCESSOR"),
    reason="set SPORADIC_TRACE_PROCESSOR to a trace_processor_shell (never downloaded here)",
)
def test_perfetto_trace_processor_loads_the_trace(
    converted: tuple[Decoded, PerfettoStats], tmp_path: Path
) -> None:
    from perfetto.trace_processor import TraceProcessor, TraceProcessorConfig

    binary = shutil.which(os.environ["SPORADIC_TRACE_PROCESSOR"])
    config = TraceProcessorConfig(bin_path=binary)
    with TraceProcessor(trace=str(tmp_path / "t.pftrace"), config=config) as tp:
        slices = next(iter(tp.query("select count(*) as n from slice where dur > 0"))).n
        counters = next(iter(tp.query("select count(*) as n from counter"))).n
    assert (slices, counters) == (9, 14)
