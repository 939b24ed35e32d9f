"""Hostile traces: each invalid record, header or footer is one exact TraceFormatError naming the
file, the record's index and byte offset, and `sporadic report` prints it on one line and exits
2; the writer cuts what the reader could not take; the summary keeps a bounded log."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import msgpack
import pytest

from sporadic import records as ev
from sporadic.cli import main
from sporadic.traces import TraceFormatError, TraceReader, TraceWriter, summarise
from sporadic.traces.checks import FIELDS
from sporadic.traces.deploys import compare_deploys
from sporadic.traces.reader import MAX_OBJECT_BYTES
from sporadic.traces.summary import MAX_LOG_LINE, MAX_LOGS
from sporadic.traces.writer import MAX_RECORD_BYTES, MAX_STRING_BYTES

HEADER: dict[str, Any] = {
    "format": "sporadic-trace",
    "version": 1,
    "time_unit": "ns",
    "threads": [{"id": 0, "name": "idle", "kind": "idle"}, {"id": 1, "name": "ctl"}],
    "scs": [{"id": 4, "name": "ctl", "home": 1}],
    "kinds": {name: code for code, name in enumerate(ev.NAMES)},
}
FOOTER = {"footer": True, "end": 1_000, "records": 0, "counts": {}}
GOOD = [(ev.JOB_RELEASE, 0, 1, 0, 500), (ev.SWITCH, 0, 0, 1, 4), (ev.JOB_START, 10, 1, 0)]
INT = "an int"


def raw_trace(
    path: Path,
    records: list[Any],
    footer: Any = FOOTER,
    header: dict[str, Any] | None = None,
) -> list[int]:
    """Write a trace byte by byte with msgpack (no checks); the byte offset of each record."""
    data = bytearray(msgpack.packb(HEADER if header is None else header, use_bin_type=True))
    offsets = []
    for record in records:
        offsets.append(len(data))
        data += msgpack.packb(record, use_bin_type=True)
    if footer is not None:
        data += msgpack.packb(footer, use_bin_type=True)
    path.write_bytes(bytes(data))
    return offsets


def refused(message: str) -> Any:
    return pytest.raises(TraceFormatError, match=f"^{re.escape(message)}$")


# The audit's minimal cases, each after three good records: (bad record, what is wrong).
BAD_RECORDS = [
    ([4, 0], "switch", "expected 5 values, got 2"),
    ([1, 1.5, 1, 1], "job_start", f"t is a float: 1.5, expected {INT}"),
    ([0, 0, {"a": 1}, 1, 5], "job_release", f"thread is a map: {{...}}, expected {INT}"),
    ([16, 0, 1, b"\x00"], "log", "line is binary data: b'\\x00', expected a string"),
    ([4, 5, 0, 1, 4, 9], "switch", "expected 5 values, got 6"),
    ([4, 5, 0, True, 4], "switch", f"to_thread is a bool: True, expected {INT}"),
    ([4, 5, 0, None, 4], "switch", f"to_thread is nil: None, expected {INT}"),
    ([2, 5, "1", 0], "job_end", f"thread is a string: '1', expected {INT}"),
    ([5, 5, 1, 2.0], "preempt", f"by_thread is a float: 2.0, expected {INT}"),
    ([8, 5, 1, [4]], "budget_exhausted", f"sc is an array: [4], expected {INT}"),
    ([6, 5, 1, "asleep"], "block", f"state is a string: 'asleep', expected {INT}"),
    ([9, 5, 1, 4], "postpone", "expected 5 values, got 4"),
    ([24, 5, 1, 0, None], "fault", "message is nil: None, expected a string"),
    (
        [3, 5, 1, 0, math.nan],
        "deadline_miss",
        f"absolute_deadline is a float: nan, expected {INT}",
    ),
    ([13, 5, 1, 7, 0], "mark", "label is an int: 7, expected a string"),
    ([25, 5, 9, "m", "module", 1, 0, 3], "thread_new", "expected 10 values, got 8"),
    ([26, 5, "m", "request", [1, 2]], "deploy", "info is an array: [1, 2], expected a map"),
    (
        [26, 5, "m", "request", {"args": [1]}],
        "deploy",
        "info's args is an array: [1], expected an array of strings",
    ),
    ([40, "x", 1], "kind 40", f"t is a string: 'x', expected {INT}"),
]


@pytest.mark.parametrize(("bad", "kind", "problem"), BAD_RECORDS, ids=lambda v: str(v)[:30])
def test_invalid_record_is_reported_with_its_index_and_offset(
    tmp_path: Path, bad: list, kind: str, problem: str
) -> None:
    path = tmp_path / "bad.trace"
    offsets = raw_trace(path, [*GOOD, bad, *GOOD])

    with refused(f"{path}: record 3 at byte {offsets[3]} is not a valid {kind} record: {problem}"):
        summarise(path)
    with refused(f"{path}: record 3 at byte {offsets[3]} is not a valid {kind} record: {problem}"):
        compare_deploys(path)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ([], "an empty array, expected [kind, t, value...]"),
        (["switch", 0, 0, 1, 4], "its kind is a string: 'switch', expected an int"),
        ([300, 0], "its kind 300 is not a record kind code (0 to 255)"),
        ([-1, 0, 1], "its kind -1 is not a record kind code (0 to 255)"),
        ([1.0, 0, 1, 0], "its kind is a float: 1.0, expected an int"),
    ],
)
def test_record_with_a_bad_kind_is_reported(tmp_path: Path, bad: list, problem: str) -> None:
    path = tmp_path / "bad.trace"
    offsets = raw_trace(path, [*GOOD, bad])
    with refused(f"{path}: record 3 at byte {offsets[3]} is not a valid record: {problem}"):
        summarise(path)


def test_the_first_invalid_record_is_reported_even_of_a_kind_the_summary_ignores(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.trace"
    offsets = raw_trace(path, [*GOOD, (ev.BLOCK, 20, 1, "asleep"), [4, 0]])
    with refused(
        f"{path}: record 3 at byte {offsets[3]} is not a valid block record: "
        f"state is a string: 'asleep', expected {INT}"
    ):
        summarise(path)


def test_latency_beyond_64_bits_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "far.trace"
    offsets = raw_trace(path, [(ev.JOB_RELEASE, 0, 1, 0, 5), (ev.JOB_START, 2**64 - 1, 1, 0)])
    with refused(
        f"{path}: record 1 at byte {offsets[1]} is not a valid job_start record: "
        f"the job's latency of {2**64 - 1} ns does not fit in 64 bits"
    ):
        summarise(path)


def test_newer_kinds_and_unknown_threads_are_read_leniently(tmp_path: Path) -> None:
    path = tmp_path / "new.trace"
    raw_trace(path, [(200, 5, "anything", {"x": 1.5}), (ev.JOB_RELEASE, 7, 9, 0, 100)])

    summary = summarise(path)

    assert list(summary["tasks"]) == ["thread-9"]
    assert summary["tasks"]["thread-9"]["jobs"] == 1
    assert summary["duration"] == 1_000 and summary["truncated"] is False


@pytest.mark.parametrize(
    ("footer", "problem"),
    [
        ({"footer": True}, "it has no end"),
        ({"footer": True, "end": "x", "records": 0}, f"end is a string: 'x', expected {INT}"),
        (
            {"footer": True, "end": math.nan, "records": 0},
            f"end is a float: nan, expected {INT}",
        ),
        ({"footer": True, "end": 5, "records": 1.5}, f"records is a float: 1.5, expected {INT}"),
        (
            {"footer": True, "end": 5, "records": 3, "counts": {"switch": "3"}},
            "counts maps a string: 'switch' to a string: '3', expected a name to an int",
        ),
    ],
)
def test_invalid_footer_is_reported_with_its_offset(
    tmp_path: Path, footer: dict, problem: str
) -> None:
    path = tmp_path / "bad.trace"
    offsets = raw_trace(path, GOOD, footer=footer)
    at = offsets[-1] + len(msgpack.packb(GOOD[-1]))
    with refused(f"{path}: invalid footer at byte {at}: {problem}"):
        summarise(path)
    with refused(f"{path}: invalid footer at byte {at}: {problem}"), TraceReader(path) as reader:
        list(reader)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"threads": 5}, "threads is an int: 5, expected an array of maps"),
        ({"threads": [{}]}, "threads[0] has no id"),
        ({"threads": [{"id": 1}]}, "threads[0] has no name"),
        (
            {"threads": [{"id": "1", "name": "a"}]},
            f"threads[0].id is a string: '1', expected {INT}",
        ),
        ({"threads": [{"id": 1, "name": 2}]}, "threads[0].name is an int: 2, expected a string"),
        (
            {"threads": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]},
            "threads[1].id 1 is already the id of threads[0]",
        ),
        ({"scs": [{"id": 4, "home": 1.5}]}, f"scs[0].home is a float: 1.5, expected {INT}"),
        ({"scs": "none"}, "scs is a string: 'none', expected an array of maps"),
        ({"duration": math.inf}, f"duration is a float: inf, expected {INT}"),
        ({"time_unit": "us"}, "time_unit is 'us', expected 'ns'"),
    ],
)
def test_invalid_header_is_reported(tmp_path: Path, change: dict, problem: str) -> None:
    path = tmp_path / "bad.trace"
    raw_trace(path, GOOD, header={**HEADER, **change})
    with refused(f"{path}: invalid header: {problem}"):
        TraceReader(path)


def test_deeply_nested_header_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "deep.trace"
    deep: Any = 0
    for _ in range(1000):
        deep = [deep]
    raw_trace(path, GOOD, header={**HEADER, "system": {"x": deep}})
    with refused(f"{path}: invalid header: it is nested too deeply"):
        TraceReader(path)


def test_objects_that_are_not_records_end_the_trace_as_truncated(tmp_path: Path) -> None:
    path = tmp_path / "cut.trace"
    raw_trace(path, [*GOOD, b"\x04\x05\x00\x01\x04", {0: 4, 1: 5, 2: 0, 3: 1, 4: 4}], footer=None)

    summary = summarise(path)

    assert summary["truncated"] is True
    assert summary["duration"] == 10  # the last record's t
    assert summary["tasks"]["ctl"]["latency"]["max"] == 10


# ------------------------------------------------------------------------- sporadic report


@pytest.mark.parametrize("options", [[], ["--json"], ["--deploys"]])
def test_report_prints_one_line_and_exits_2(tmp_path: Path, capsys, options: list[str]) -> None:
    path = tmp_path / "bad.trace"
    offsets = raw_trace(path, [*GOOD, [16, 0, 1, b"\x00"]])

    assert main(["report", str(path), *options]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"sporadic: error: {path}: record 3 at byte {offsets[3]} is not a valid log record: "
        "line is binary data: b'\\x00', expected a string\n"
    )


def test_report_json_of_a_valid_trace_is_strict_json(tmp_path: Path, capsys) -> None:
    path = tmp_path / "ok.trace"
    raw_trace(path, [*GOOD, (ev.LOG, 20, 1, "hi"), (ev.JOB_END, 30, 1, 0)])

    assert main(["report", str(path), "--json"]) == 0

    summary = json.loads(capsys.readouterr().out, parse_constant=pytest.fail)
    assert summary["tasks"]["ctl"]["response"]["max"] == 30
    assert summary["logs"] == [{"t": 20, "task": "ctl", "line": "hi"}]


# ----------------------------------------------------------------------- writer and limits


def write(path: Path, records: list[tuple], batch: bool = False) -> None:
    with TraceWriter(path, {"threads": HEADER["threads"]}) as writer:
        if batch:
            writer.emit_batch(records)
        else:
            for record in records:
                writer.emit(record)
        writer.close(1_000)


@pytest.mark.parametrize("batch", [False, True], ids=["emit", "emit_batch"])
def test_strings_over_the_limit_are_cut_and_the_trace_reads_back(
    tmp_path: Path, batch: bool
) -> None:
    """A 65 MiB log line and a 65 MiB mark label (beyond the reader's 64 MiB) come back cut to
    1 MiB with the marker; a 1 MiB line comes back whole."""
    huge = "x" * (65 * 1024 * 1024)
    exact = "y" * MAX_STRING_BYTES
    path = tmp_path / "big.trace"
    write(
        path,
        [(ev.LOG, 1, 1, huge), (ev.MARK, 2, 1, huge, 7), (ev.LOG, 3, 1, exact), *GOOD],
        batch=batch,
    )

    with TraceReader(path) as reader:
        records = list(reader.checked())

    kept = MAX_STRING_BYTES - len(" [... 68157440 more bytes]")  # room for the longest mark
    mark = f" [... {len(huge) - kept} more bytes]"
    assert mark == " [... 67108890 more bytes]"
    assert records[0] == (ev.LOG, 1, 1, "x" * kept + mark)
    assert len(records[0][3].encode()) == MAX_STRING_BYTES
    assert records[1] == (ev.MARK, 2, 1, "x" * kept + mark, 7)
    assert records[2] == (ev.LOG, 3, 1, exact)
    assert records[3:] == GOOD
    assert reader.truncated is False and reader.footer is not None
    assert summarise(path)["tasks"]["ctl"]["latency"]["max"] == 10


def test_largest_record_the_writer_allows_reads_back(tmp_path: Path) -> None:
    """A deploy request whose args are 15 strings of 1 MiB (cut to 1 MiB each) is just under the
    16 MiB record limit, far below the reader's 64 MiB; one more is refused."""
    arg = "a" * (2 * MAX_STRING_BYTES)
    info = {"request": 1, "size": 3, "sha256": "s", "args": [arg] * 15, "source": "script"}
    path = tmp_path / "largest.trace"
    write(path, [(ev.DEPLOY, 5, "m", "request", info)])

    assert 15 * MAX_STRING_BYTES < path.stat().st_size < MAX_RECORD_BYTES
    assert MAX_RECORD_BYTES * 4 == MAX_OBJECT_BYTES
    (entry,) = summarise(path)["deploys"]
    assert len(entry["args"]) == 15
    assert {len(a.encode()) for a in entry["args"]} == {MAX_STRING_BYTES}

    too_big = {**info, "args": [arg] * 16}
    with (
        pytest.raises(
            ValueError,
            match=r"^a deploy record of 16777356 bytes, its strings cut to 1048576 bytes, is "
            r"over the trace format's limit of 16777216 bytes per record$",
        ),
        TraceWriter(tmp_path / "over.trace", {}) as writer,
    ):
        writer.emit((ev.DEPLOY, 5, "m", "request", too_big))


def test_header_over_the_record_limit_is_refused(tmp_path: Path) -> None:
    message = "the trace header is 16777574 bytes, over the trace format's limit of 16777216"
    with pytest.raises(ValueError, match=f"^{message}$"):
        TraceWriter(tmp_path / "h.trace", {"system": {"blob": "z" * MAX_RECORD_BYTES}})


def test_object_beyond_the_reader_limit_ends_the_trace(tmp_path: Path) -> None:
    """What another writer might write: a 65 MiB line is more than the reader takes, so the trace
    reads as truncated just before it."""
    path = tmp_path / "other.trace"
    raw_trace(path, [*GOOD, (ev.LOG, 20, 1, "z" * (65 * 1024 * 1024)), (ev.JOB_END, 30, 1, 0)])

    summary = summarise(path)

    assert summary["truncated"] is True and summary["duration"] == 10
    assert summary["tasks"]["ctl"]["latency"]["max"] == 10


def test_summary_keeps_the_first_log_lines_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "chatty.trace"
    lines = [(ev.LOG, i, 1, f"line {i}") for i in range(MAX_LOGS + 234)]
    lines[1] = (ev.LOG, 1, 1, "w" * (MAX_LOG_LINE + 10))
    write(path, lines)

    summary = summarise(path)

    assert len(summary["logs"]) == MAX_LOGS == 1000
    assert summary["logs_omitted"] == 234
    assert summary["logs"][0] == {"t": 0, "task": "ctl", "line": "line 0"}
    assert summary["logs"][1]["line"] == "w" * 4096 + " [... 10 more characters]"
    assert summary["logs"][-1] == {"t": 999, "task": "ctl", "line": "line 999"}


def test_validity_field_names_match_the_kinds_table() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "trace-format.md").read_text()
    table = re.findall(r"^\|\s*(\d+)\s*\|\s*`(\w+)`\s*\|\s*`([^`]*)`", doc, re.M)
    assert [(int(code), name) for code, name, _ in table] == list(enumerate(ev.NAMES))
    for (code, _, values), fields in zip(table, FIELDS, strict=True):
        assert [v.strip() for v in values.split(",")] == [name for name, _ in fields], code
