"""Hostile traces through the summary: a real trace cut at any offset, with bits and bytes
flipped, and with records, header and footer values replaced by other msgpack types (nil,
bools, floats with nan and inf, 64-bit extremes, strings, binary, maps, arrays), dropped or
added.

Whatever the file holds, ``summarise`` and ``compare_deploys`` return a summary that is strict
JSON (no nan), or raise ``TraceFormatError``: nothing else, within bounded time and memory. The
fast per-kind checks of the summary's loop and the explanations of its errors agree.
"""

from __future__ import annotations

import functools
import json
import math
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import msgpack
from hypothesis import event, given
from hypothesis import strategies as st

from sporadic.description import load_text
from sporadic.errors import TraceFormatError
from sporadic.simulation import Simulation
from sporadic.traces.checks import passes, record_problem
from sporadic.traces.deploys import compare_deploys
from sporadic.traces.reader import TraceReader
from sporadic.traces.summary import summarise
from tests.fuzz.budget import FUZZ
from tests.helpers import ROOT

WASM = ROOT / "examples" / "wasm"
# Every kind the summary reads, and most of the others: jobs and switches, budgets, a WebAssembly
# partition's log lines, a deploy's thread_new and deploy records, IPC and notifications.
DESCRIPTION = f"""
[system]
name = "fuzzed"
duration = "25ms"

[[partition]]
name = "control"
priority = 100
budget = "300us"
period = "1ms"
release = {{ period = "1ms" }}
job = {{ compute = "350us" }}

[[partition]]
name = "nbody"
priority = 10
budget = "5ms"
period = "10ms"
release = {{ period = "10ms" }}
job = {{ wasm = "{WASM / "nbody.wasm"}", args = ["5"] }}

[agent]

[[deploy]]
at = "2ms"
wasm = "{WASM / "hello.wasm"}"
"""

MAX_SECONDS = 20.0  # a hang, not a slow machine
MAX_TRACED_BYTES = 128 * 1024 * 1024  # the reader's buffer is at most 64 MiB

INTS = [0, 1, -1, 2**63 - 1, 2**63, 2**64 - 1, -(2**63), 255, 256, 27]
FLOATS = [math.nan, math.inf, -math.inf, 1.5, -0.0, 1e308]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(INTS),
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from(FLOATS),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.binary(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-5, 5)), inner, max_size=4),
    ),
    max_leaves=6,
)


@functools.cache
def real_trace() -> bytes:
    """The bytes of a finished run of DESCRIPTION (made once per session)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "real.trace"
        Simulation(load_text(DESCRIPTION, "<fuzz>"), path).run()
        return path.read_bytes()


@functools.cache
def real_objects() -> tuple[dict[str, Any], list[list[Any]], dict[str, Any]]:
    """The header, records and footer of the real trace, as plain msgpack data."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(real_trace())
    objects = list(unpacker)
    return objects[0], objects[1:-1], objects[-1]


@functools.cache
def header_length() -> int:
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(real_trace())
    unpacker.skip()
    return unpacker.tell()


def consume(data: bytes) -> str:
    """Summarise ``data`` as a trace file, both ways, under time and memory bounds; what it
    came to (for hypothesis's statistics). Any exception but TraceFormatError fails."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzzed.trace"
        path.write_bytes(data)
        tracemalloc.start()
        started = time.perf_counter()
        try:
            errors, truncated = [], False
            for compute in (summarise, compare_deploys, _checked):
                try:
                    result = compute(path)
                    json.dumps(result, allow_nan=False)
                    truncated = truncated or result.get("truncated", False)
                except TraceFormatError as e:
                    assert str(e).startswith(str(path)), e
                    errors.append(str(e))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert time.perf_counter() - started < MAX_SECONDS
        assert peak < MAX_TRACED_BYTES
    # The summary's inlined checks and TraceReader.checked() (compare_deploys) agree, but for
    # what each refuses to hold: job samples in 64 bits, times in int64 arrays.
    if not any("fit in 64" in e for e in errors):
        assert len(errors) in (0, 3) and len(set(errors)) <= 1, errors
    return "refused" if errors else "truncated" if truncated else "summarised"


def _checked(path: Path) -> dict[str, Any]:
    """TraceReader.checked() to the end: whether it found the trace truncated (which the
    summary's own loop must find alike)."""
    with TraceReader(path) as reader:
        for _ in reader.checked():
            pass
        summary = summarise(path)
        assert reader.truncated == summary["truncated"]
        if reader.truncated:  # a cut trace ends at its last whole record
            assert summary["duration"] == (reader.last_time or 0)
        return {"truncated": reader.truncated}


# where a change goes: a fraction of the records' bytes, or (one time in five) of the header's
places = st.tuples(st.sampled_from([False] * 4 + [True]), st.floats(0, 1, exclude_max=True))


def _offset(place: tuple[bool, float]) -> int:
    in_header, where = place
    size, header = len(real_trace()), header_length()
    return int(where * header) if in_header else header + int(where * (size - header))


@FUZZ
@given(
    data=st.data(),
    flips=st.lists(st.tuples(places, st.integers(0, 7)), max_size=6),
    writes=st.lists(st.tuples(places, st.integers(0, 255)), max_size=3),
)
def test_cut_and_flipped_traces_summarise_or_are_refused(
    data: st.DataObject,
    flips: list[tuple[tuple[bool, float], int]],
    writes: list[tuple[tuple[bool, float], int]],
) -> None:
    trace = bytearray(real_trace())
    for place, bit in flips:
        trace[_offset(place)] ^= 1 << bit
    for place, byte in writes:
        trace[_offset(place)] = byte
    cut = data.draw(st.integers(0, len(trace)), label="cut")
    event(consume(bytes(trace[:cut])))


def _mutate(record: list[Any], how: str, index: int, value: Any) -> list[Any]:
    record = list(record)
    i = index % (len(record) + 1)
    if how == "replace" and i < len(record):
        record[i] = value
    elif how == "drop" and i < len(record):
        del record[i]
    elif how == "add":
        record.insert(i, value)
    return record


mutations = st.lists(
    st.tuples(
        st.floats(0, 1, exclude_max=True),
        st.sampled_from(["replace", "replace", "drop", "add"]),
        st.integers(0, 10),
        st.one_of(st.integers(-2, 2**20), values),  # often still a valid record
    ),
    min_size=1,
    max_size=4,
)


@FUZZ
@given(
    mutations=mutations,
    header_change=st.one_of(
        st.none(),
        st.tuples(st.sampled_from(["threads", "scs", "duration", "seed", "time_unit"]), values),
        st.tuples(st.sampled_from(["id", "name", "kind", "home"]), values),
    ),
    footer_change=st.one_of(
        st.none(), st.tuples(st.sampled_from(["end", "records", "counts", "footer"]), values)
    ),
)
def test_records_header_and_footer_with_other_values_summarise_or_are_refused(
    mutations: list[tuple[float, str, int, Any]],
    header_change: tuple[str, Any] | None,
    footer_change: tuple[str, Any] | None,
) -> None:
    header, records, footer = real_objects()
    header, records, footer = dict(header), list(records), dict(footer)
    for where, how, index, value in mutations:
        at = int(where * len(records))
        records[at] = _mutate(records[at], how, index, value)
    if header_change is not None:
        key, value = header_change
        if key in ("id", "name", "kind"):
            header["threads"] = [dict(t) for t in header["threads"]]
            header["threads"][-1][key] = value
        elif key == "home":
            header["scs"] = [{**sc, "home": value} for sc in header["scs"]]
        else:
            header[key] = value
    if footer_change is not None:
        footer[footer_change[0]] = footer_change[1]
    stream = [header, *records, footer]
    event(consume(b"".join(msgpack.packb(obj, use_bin_type=True) for obj in stream)))


@FUZZ
@given(
    changes=st.lists(
        st.tuples(
            st.floats(0, 1, exclude_max=True),
            st.integers(1, 9),
            st.one_of(st.sampled_from(INTS), st.integers(-(2**63), 2**64 - 1)),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_records_with_other_ints_summarise_or_overflow(
    changes: list[tuple[float, int, int]],
) -> None:
    """Any int in place of an int keeps the trace valid: it summarises, unless a job's time
    no longer fits the summary's 64 bits."""
    header, records, footer = real_objects()
    records = list(records)
    for where, index, value in changes:
        at = int(where * len(records))
        if index < len(records[at]) and type(records[at][index]) is int:
            records[at] = _mutate(records[at], "replace", index, value)
    stream = [header, *records, footer]
    data = b"".join(msgpack.packb(obj, use_bin_type=True) for obj in stream)
    event(consume(data))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ints.trace"
        path.write_bytes(data)
        try:
            summarise(path)
        except TraceFormatError as e:
            assert "does not fit in 64 bits" in str(e), e


@FUZZ
@given(
    base=st.integers(0, 10**6),
    mutations=st.lists(
        st.tuples(st.sampled_from(["replace", "drop", "add"]), st.integers(0, 10), values),
        max_size=2,
    ),
)
def test_fast_checks_and_explanations_agree(
    base: int, mutations: list[tuple[str, int, Any]]
) -> None:
    """The summary's loop refuses exactly the records whose problem its errors can name."""
    _, records, _ = real_objects()
    record = records[base % len(records)]
    for how, index, value in mutations:
        record = _mutate(record, how, index, value)
    as_read = msgpack.unpackb(
        msgpack.packb(record, use_bin_type=True), raw=False, use_list=False, strict_map_key=False
    )
    problem = record_problem(as_read)
    event("valid" if problem is None else "invalid")
    assert passes(as_read) == (problem is None), problem
