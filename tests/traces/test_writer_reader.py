"""Round trips through TraceWriter/TraceReader, truncation and rejection of non-traces."""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sporadic import records as events
from sporadic.records import (
    BLOCK,
    BUDGET_EXHAUSTED,
    DEADLINE_MISS,
    JOB_END,
    JOB_RELEASE,
    JOB_START,
    LOG,
    MARK,
    POSTPONE,
    PREEMPT,
    REFILL_RELEASE,
    SWITCH,
    SYSCALL_ERROR,
    THREAD_EXIT,
    TIMEOUT_FAULT,
    WAKE,
)
from sporadic.traces import TraceFormatError, TraceReader, TraceWriter
from sporadic.traces.writer import FLUSH_THRESHOLD

HEADER = {
    "system": {"name": "demo", "cpus": 1, "partitions": [{"name": "ctl", "budget_us": 300}]},
    "threads": [
        {"id": 0, "name": "idle"},
        {"id": 1, "name": "ctl", "priority": 200},
        {"id": 2, "name": "logger", "priority": 100},
    ],
    "seed": 7,
    "duration": 3_000_000,
}

RECORDS = [
    (JOB_RELEASE, 0, 1, 0, 1_000_000),
    (SWITCH, 0, 0, 1),
    (JOB_START, 0, 1, 0),
    (MARK, 150_000, 1, "sensor", 42),
    (JOB_END, 300_000, 1, 0),
    (BLOCK, 300_000, 1, 2),
    (SWITCH, 300_000, 1, 2),
    (LOG, 310_000, 2, "hello, ünïcode"),
    (SYSCALL_ERROR, 320_000, 2, "Send", "InvalidCapability"),
    (BUDGET_EXHAUSTED, 400_000, 2, 5),
    (POSTPONE, 400_000, 2, 5, 900_000),
    (SWITCH, 400_000, 2, 0),
    (REFILL_RELEASE, 900_000, 2, 5),
    (SWITCH, 900_000, 0, 2),
    (JOB_RELEASE, 1_000_000, 1, 1, 2_000_000),
    (WAKE, 1_000_000, 1),
    (PREEMPT, 1_000_000, 2, 1),
    (SWITCH, 1_000_000, 2, 1),
    (JOB_START, 1_000_000, 1, 1),
    (TIMEOUT_FAULT, 1_400_000, 1, 4, 0xBEEF, 400_000),
    (DEADLINE_MISS, 2_000_000, 1, 1, 2_000_000),
    (THREAD_EXIT, 2_500_000, 2),
]

EXPECTED_COUNTS = {
    "job_release": 2,
    "job_start": 2,
    "job_end": 1,
    "deadline_miss": 1,
    "switch": 5,
    "preempt": 1,
    "block": 1,
    "wake": 1,
    "budget_exhausted": 1,
    "postpone": 1,
    "refill_release": 1,
    "timeout_fault": 1,
    "mark": 1,
    "syscall_error": 1,
    "thread_exit": 1,
    "log": 1,
}


class Crash(Exception):
    """Stands for the simulation dying before it could close the trace."""


def write_trace(path: Path, records: list[tuple], end: int | None = 3_000_000) -> None:
    """Write ``records``; ``end=None`` leaves the file without a footer, as a crash would."""
    with contextlib.suppress(Crash), TraceWriter(path, HEADER) as writer:
        for record in records:
            writer.emit(record)
        if end is None:
            raise Crash
        writer.close(end)


def read_all(path: Path) -> tuple[TraceReader, list[tuple]]:
    with TraceReader(path) as reader:
        return reader, list(reader)


def test_round_trip_records_header_and_footer(tmp_path: Path) -> None:
    path = tmp_path / "run.trace"
    write_trace(path, RECORDS)

    reader, records = read_all(path)

    assert records == RECORDS
    assert reader.header == {
        "format": "sporadic-trace",
        "version": 1,
        "time_unit": "ns",
        **HEADER,
        "kinds": {name: code for code, name in enumerate(events.NAMES)},
    }
    assert reader.header["kinds"]["job_release"] == 0
    assert reader.header["kinds"]["log"] == 16
    assert reader.footer == {
        "footer": True,
        "end": 3_000_000,
        "records": 22,
        "counts": EXPECTED_COUNTS,
    }
    assert reader.truncated is False
    assert reader.last_time == 2_500_000
    assert reader.thread_names == {0: "idle", 1: "ctl", 2: "logger"}


def test_header_is_first_object_and_records_are_arrays(tmp_path: Path) -> None:
    path = tmp_path / "run.trace"
    write_trace(path, RECORDS[:2])

    objects = list(msgpack.Unpacker(io.BytesIO(path.read_bytes()), raw=False))

    assert objects[0]["format"] == "sporadic-trace"
    assert objects[1:] == [
        [JOB_RELEASE, 0, 1, 0, 1_000_000],
        [SWITCH, 0, 0, 1],
        {"footer": True, "end": 3_000_000, "records": 2, "counts": {"job_release": 1, "switch": 1}},
    ]


def test_file_object_is_flushed_but_left_open(tmp_path: Path) -> None:
    path = tmp_path / "run.trace"
    write_trace(path, RECORDS)
    sink = io.BytesIO()

    writer = TraceWriter(sink, HEADER)
    for record in RECORDS:
        writer.emit(record)
    writer.close(3_000_000)

    assert not sink.closed
    assert sink.getvalue() == path.read_bytes()


def test_close_is_idempotent_and_emit_after_close_fails(tmp_path: Path) -> None:
    path = tmp_path / "run.trace"
    writer = TraceWriter(path, HEADER)
    writer.emit(RECORDS[0])
    writer.close(10)
    size = path.stat().st_size

    writer.close(20)

    assert writer.closed
    assert path.stat().st_size == size
    with pytest.raises(ValueError, match="closed TraceWriter"):
        writer.emit(RECORDS[1])
    reader, records = read_all(path)
    assert records == [RECORDS[0]]
    assert reader.footer == {
        "footer": True,
        "end": 10,
        "records": 1,
        "counts": {"job_release": 1},
    }


def test_exception_in_context_keeps_records_without_footer(tmp_path: Path) -> None:
    path = tmp_path / "run.trace"

    with pytest.raises(RuntimeError, match="kernel panic"), TraceWriter(path, HEADER) as writer:
        for record in RECORDS[:5]:
            writer.emit(record)
        raise RuntimeError("kernel panic")

    reader, records = read_all(path)
    assert records == RECORDS[:5]
    assert reader.footer is None
    assert reader.truncated is True
    assert reader.last_time == 300_000


def test_context_closed_explicitly_has_footer(tmp_path: Path) -> None:
    path = tmp_path / "run.trace"

    with TraceWriter(path, HEADER) as writer:
        writer.emit(RECORDS[0])
        writer.close(500)

    reader, records = read_all(path)
    assert records == [RECORDS[0]]
    assert reader.footer is not None
    assert reader.footer["end"] == 500


def test_context_left_without_close_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "run.trace"

    with pytest.raises(RuntimeError, match="without close"), TraceWriter(path, HEADER) as writer:
        writer.emit(RECORDS[0])

    reader, records = read_all(path)
    assert records == [RECORDS[0]]
    assert reader.truncated is True


def test_reserved_header_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\['format', 'version'\]"):
        TraceWriter(tmp_path / "x.trace", {"format": "mine", "version": 9})
    assert not (tmp_path / "x.trace").exists()


def test_records_filters_by_kind(tmp_path: Path) -> None:
    path = tmp_path / "run.trace"
    write_trace(path, RECORDS)

    with TraceReader(path) as reader:
        selected = list(reader.records(JOB_RELEASE, JOB_END))

    assert selected == [
        (JOB_RELEASE, 0, 1, 0, 1_000_000),
        (JOB_END, 300_000, 1, 0),
        (JOB_RELEASE, 1_000_000, 1, 1, 2_000_000),
    ]
    assert reader.truncated is False


def test_iteration_resumes_after_break_and_ends_once(tmp_path: Path) -> None:
    path = tmp_path / "run.trace"
    write_trace(path, RECORDS)

    with TraceReader(path) as reader:
        first = []
        for record in reader:
            first.append(record)
            if len(first) == 3:
                break
        assert reader.truncated is False
        assert reader.last_time == 0
        rest = list(reader)
        again = list(reader)

    assert first + rest == RECORDS
    assert again == []
    assert reader.truncated is False
    assert reader.footer is not None


def test_truncation_at_every_byte_offset(tmp_path: Path) -> None:
    full = tmp_path / "full.trace"
    write_trace(full, RECORDS)
    data = full.read_bytes()
    packed = [msgpack.packb(record, use_bin_type=True) for record in RECORDS]
    footer_len = len(
        msgpack.packb(
            {"footer": True, "end": 3_000_000, "records": 22, "counts": EXPECTED_COUNTS},
            use_bin_type=True,
        )
    )
    header_end = len(data) - footer_len - sum(map(len, packed))
    ends = []
    position = header_end
    for chunk in packed:
        position += len(chunk)
        ends.append(position)
    assert ends[-1] + footer_len == len(data)

    cut_path = tmp_path / "cut.trace"
    for cut in range(header_end, len(data)):
        cut_path.write_bytes(data[:cut])
        whole = sum(1 for end in ends if end <= cut)

        reader, records = read_all(cut_path)

        assert records == RECORDS[:whole], cut
        assert reader.truncated is True, cut
        assert reader.footer is None, cut
        assert reader.last_time == (RECORDS[whole - 1][1] if whole else None), cut

    for cut in range(header_end):
        cut_path.write_bytes(data[:cut])
        with pytest.raises(TraceFormatError, match=re.escape(str(cut_path))):
            TraceReader(cut_path)


def test_truncation_inside_a_large_trace(tmp_path: Path) -> None:
    path = tmp_path / "big.trace"
    records = [(SWITCH, 1_000 * i, i % 3, (i + 1) % 3) for i in range(20_000)]
    write_trace(path, records)
    data = path.read_bytes()
    header_len = len(msgpack.packb(TraceReader(path).header, use_bin_type=True))
    ends = []
    position = header_len
    for record in records:
        position += len(msgpack.packb(record, use_bin_type=True))
        ends.append(position)
    cut = ends[len(ends) // 2] + 1  # one byte into the record after the middle one
    whole = sum(1 for end in ends if end <= cut)
    assert ends[whole - 1] < cut < ends[whole]
    path.write_bytes(data[:cut])

    reader, got = read_all(path)

    assert got == records[:whole]
    assert reader.truncated is True
    assert reader.last_time == 1_000 * (whole - 1)


@pytest.mark.parametrize(
    "garbage",
    [b"\xc1", b"\xc1\x00\x01\x02", b"\x91" * 5000 + b"\x01", b"\x07", b"\x81\x91\x01\x02"],
    ids=["never-used-byte", "never-used-then-more", "too-deep", "bare-int", "map-not-footer"],
)
def test_garbage_after_records_reads_as_truncated(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "run.trace"
    write_trace(path, RECORDS[:4], end=None)
    path.write_bytes(path.read_bytes() + garbage + msgpack.packb(RECORDS[4]))

    reader, records = read_all(path)

    assert records == RECORDS[:4]
    assert reader.truncated is True
    assert reader.last_time == 150_000


def not_a_trace(path: Path, detail: str) -> AbstractContextManager[Any]:
    """Expect the exact TraceFormatError message for ``path``."""
    message = f"{path} is not a sporadic trace: {detail}"
    return pytest.raises(TraceFormatError, match=f"^{re.escape(message)}$")


def test_empty_file_is_not_a_trace(tmp_path: Path) -> None:
    path = tmp_path / "empty.trace"
    path.write_bytes(b"")
    with not_a_trace(path, "the file is empty"):
        TraceReader(path)


def test_incomplete_header_is_not_a_trace(tmp_path: Path) -> None:
    path = tmp_path / "cut.trace"
    path.write_bytes(msgpack.packb({"format": "sporadic-trace", "version": 1})[:-3])
    with not_a_trace(path, "its header is incomplete"):
        TraceReader(path)


def test_json_file_is_not_a_trace(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"format": "sporadic-trace", "version": 1}))
    # '{' is 0x7b, which msgpack reads as the positive integer 123.
    with not_a_trace(path, "first object is an int: 123"):
        TraceReader(path)


def test_map_without_format_is_not_a_trace(tmp_path: Path) -> None:
    path = tmp_path / "other.msgpack"
    path.write_bytes(msgpack.packb({"version": 1, "threads": []}))
    with not_a_trace(path, "first object is a map with format=None, expected 'sporadic-trace'"):
        TraceReader(path)


def test_array_first_is_not_a_trace(tmp_path: Path) -> None:
    path = tmp_path / "records-only.trace"
    path.write_bytes(msgpack.packb(RECORDS[0]))
    with not_a_trace(path, "first object is an array: [0, 0, 1, 0, 1000000]"):
        TraceReader(path)


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_are_not_a_trace(tmp_path: Path, seed: int) -> None:
    path = tmp_path / f"random-{seed}.bin"
    path.write_bytes(random.Random(seed).randbytes(256))
    with pytest.raises(TraceFormatError, match=f"^{re.escape(str(path))} is not a sporadic trace"):
        TraceReader(path)


def test_undecodable_first_byte_is_not_a_trace(tmp_path: Path) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(b"\xc1\x00\x00")
    with not_a_trace(path, "it does not start with a msgpack object (FormatError)"):
        TraceReader(path)


def test_newer_version_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "future.trace"
    path.write_bytes(msgpack.packb({"format": "sporadic-trace", "version": 2, "time_unit": "ns"}))
    with pytest.raises(TraceFormatError, match=r"version 2 is newer .* supports version 1"):
        TraceReader(path)


def test_invalid_version_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "odd.trace"
    path.write_bytes(msgpack.packb({"format": "sporadic-trace", "version": "1"}))
    with pytest.raises(TraceFormatError, match=r"invalid trace format version '1'"):
        TraceReader(path)


values = st.lists(
    st.one_of(st.integers(min_value=-1000, max_value=1000), st.text(max_size=8)),
    max_size=4,
)
steps = st.lists(
    st.tuples(st.integers(0, len(events.NAMES) - 1), st.integers(0, 10**9), values),
    max_size=60,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_any_records_round_trip(tmp_path: Path, steps: list) -> None:
    records = []
    t = 0
    for kind, dt, vals in steps:
        t += dt
        records.append((kind, t, *vals))
    path = tmp_path / "prop.trace"

    write_trace(path, records, end=t + 1)
    reader, got = read_all(path)

    assert got == records
    assert reader.truncated is False
    assert reader.footer == {
        "footer": True,
        "end": t + 1,
        "records": len(records),
        "counts": dict(Counter(events.NAMES[r[0]] for r in records)),
    }


class CountingSink(io.RawIOBase):
    """A write-only file that keeps sizes, not bytes."""

    def __init__(self) -> None:
        self.writes: list[int] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.writes.append(len(data))
        return len(data)


def test_writer_memory_is_bounded() -> None:
    sink = CountingSink()
    writer = TraceWriter(sink, HEADER)
    records = [
        (SWITCH, 1_000 * i, i % 7, (i + 1) % 7)
        if i % 5
        else (LOG, 1_000 * i, 3, f"line {i} of output")
        for i in range(200)
    ]
    largest = max(len(msgpack.packb(r, use_bin_type=True)) for r in records)
    peak = 0
    for i in range(200_000):
        writer.emit(records[i % 200])
        peak = max(peak, writer.buffered)
    writer.close(200_000_000)

    assert peak <= FLUSH_THRESHOLD + largest
    assert writer.buffered == 0
    assert len(sink.writes) > 30
    assert max(sink.writes) <= FLUSH_THRESHOLD + largest
    assert sum(sink.writes) > 200_000 * 5
