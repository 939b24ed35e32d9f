"""Streaming msgpack trace reader.

Traces can be far larger than memory and may be cut short (a crashed or killed simulation), so
the reader decodes one object at a time and treats a missing footer as "truncated" rather than
as an error: every whole record before the cut is still usable. A trace can also be hostile, so
the header and the footer are checked on reading and ``checked()`` checks every record against
its kind (``checks.py``); what is wrong is reported as a ``TraceFormatError`` naming the file,
the record's index and its byte offset.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Self

import msgpack

from sporadic.errors import TraceFormatError
from sporadic.traces.checks import (
    CHECKS,
    Invalid,
    describe,
    footer_problem,
    header_problem,
    record_name,
    record_problem,
    short_repr,
)
from sporadic.traces.writer import FORMAT, VERSION

MAX_OBJECT_BYTES = 64 * 1024 * 1024
READ_SIZE = 64 * 1024

# What a corrupt stream can raise from the unpacker: FormatError, StackError, BufferFull,
# UnicodeDecodeError or "exceeds max_str_len" (ValueErrors), or TypeError for an unhashable
# map key.
_DECODE_ERRORS = (msgpack.UnpackException, ValueError, TypeError)


class RecordProblem(Exception):
    """Raised by a reader's consumer on a valid record it still cannot use (a job's latency
    beyond 64 bits): the reader reports it with the record's place, as an invalid record."""


def _listify(obj: Any) -> Any:
    """Turn the tuples the unpacker makes for arrays back into lists (header data only)."""
    if isinstance(obj, tuple):
        return [_listify(item) for item in obj]
    if isinstance(obj, dict):
        return {key: _listify(value) for key, value in obj.items()}
    return obj


def _unpacker(file: Any) -> msgpack.Unpacker:
    return msgpack.Unpacker(
        file,
        raw=False,
        use_list=False,
        strict_map_key=False,
        max_buffer_size=MAX_OBJECT_BYTES,
        read_size=READ_SIZE,
    )


class TraceReader:
    """Reads and checks the header on open, then yields records as ``(kind, t, *values)``.

    Iteration is a single streaming pass over the file; breaking out and iterating again resumes
    where it stopped. Plain iteration yields every array of at least two values unchecked (any
    kind, so tools can read traces of newer kinds); ``checked()`` yields only valid records.
    Once the pass has reached the end, ``footer`` holds the (checked) footer map or None,
    ``truncated`` tells whether the footer was missing, and ``last_time`` is the ``t`` of the last
    whole record read (None if there was none).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.footer: dict[str, Any] | None = None
        self.truncated = False
        self.last_time: int | None = None
        self._ended = False
        self._file = open(self.path, "rb")  # noqa: SIM115 - closed in close()/__exit__
        try:
            self._unpacker = _unpacker(self._file)
            self.header: dict[str, Any] = self._read_header()
        except BaseException:
            self._file.close()
            raise

    def _read_header(self) -> dict[str, Any]:
        prefix = f"{self.path} is not a sporadic trace"
        try:
            first = self._unpacker.unpack()
        except msgpack.OutOfData:
            what = "the file is empty" if self._file.tell() == 0 else "its header is incomplete"
            raise TraceFormatError(f"{prefix}: {what}") from None
        except _DECODE_ERRORS as exc:
            raise TraceFormatError(
                f"{prefix}: it does not start with a msgpack object ({type(exc).__name__})"
            ) from None
        if not isinstance(first, dict):
            raise TraceFormatError(f"{prefix}: first object is {describe(first)}")
        if first.get("format") != FORMAT:
            found = short_repr(first.get("format"), 60)
            raise TraceFormatError(
                f"{prefix}: first object is a map with format={found}, expected {FORMAT!r}"
            )
        version = first.get("version")
        if type(version) is not int or version < 1:
            raise TraceFormatError(f"{self.path}: invalid trace format version {version!r}")
        if version > VERSION:
            raise TraceFormatError(
                f"{self.path}: trace format version {version} is newer than this reader, "
                f"which supports version {VERSION}"
            )
        try:
            header = _listify(first)
            problem = header_problem(header)
        except RecursionError:
            problem = "it is nested too deeply"
        if problem is not None:
            raise TraceFormatError(f"{self.path}: invalid header: {problem}")
        return header

    @property
    def thread_names(self) -> dict[int, str]:
        """Thread id -> name, from the header's ``threads`` table."""
        return {thread["id"]: thread["name"] for thread in self.header.get("threads", ())}

    def __iter__(self) -> Iterator[tuple]:
        if self._ended:
            return
        last_time = self.last_time
        try:
            for obj in self._unpacker:
                if type(obj) is tuple and len(obj) >= 2:
                    last_time = obj[1]
                    yield obj
                elif isinstance(obj, dict) and obj.get("footer") is True:
                    self._set_footer(obj)
                    return
                else:
                    break
        except _DECODE_ERRORS:
            pass
        finally:
            self.last_time = last_time
        # Out of data, or bytes that are not a record: whatever follows cannot be trusted.
        self.truncated = True
        self._ended = True

    def checked(self) -> Iterator[tuple]:
        """The records, each checked against its kind: the first invalid one raises
        ``TraceFormatError`` naming its index and byte offset. Kinds newer than this reader
        are yielded too (their values unchecked)."""
        checks = CHECKS
        record: Any = None
        obj: Any = None
        try:
            for obj in self.stream():
                if type(obj) is not tuple:
                    break
                record = obj
                checks[record[0]](*record)
                yield record
        except Exception as exc:
            self.end_pass(record, None, exc)
        else:
            self.end_pass(record, None if obj is record else obj)

    def stream(self) -> Iterable[Any]:
        """The raw objects after those already read, for a consumer's own loop (the summary's):
        it must check each record with ``CHECKS`` and end with :meth:`end_pass`, as
        :meth:`checked` does."""
        return () if self._ended else self._unpacker

    def end_pass(self, last: tuple | None, stop: Any, exc: BaseException | None = None) -> None:
        """A consumer's loop over :meth:`stream` ended: ``last`` is the last array it read
        (None if none), ``stop`` the object that is not an array it stopped at (None if the
        stream ran out), ``exc`` what it raised, if anything. Record the footer or the
        truncation, or raise ``TraceFormatError`` for an invalid record or footer."""
        if self._ended:  # the pass began at the end: nothing was read
            return
        if last is not None:
            problem = _problem(last, exc)
            if problem is not None:
                index, offset = self.locate(self._unpacker.tell())
                kind = record_name(last)
                what = f"a valid {kind} record" if kind else "a valid record"
                raise TraceFormatError(
                    f"{self.path}: record {index} at byte {offset} is not {what}: {problem}"
                ) from None
            if exc is not None and (
                isinstance(exc, Invalid) or not isinstance(exc, _DECODE_ERRORS)
            ):
                # a valid record its consumer refused or failed on: a bug, not the trace's
                raise RuntimeError(f"{self.path}: record {last!r:.200} failed") from exc
            self.last_time = last[1]
        if isinstance(stop, dict) and stop.get("footer") is True:
            self._set_footer(stop)
            return
        # Out of data, or bytes that are not a record: whatever follows cannot be trusted.
        self.truncated = True
        self._ended = True

    def _set_footer(self, footer: dict[str, Any]) -> None:
        problem = footer_problem(footer)
        if problem is not None:
            _, offset = self.locate(self._unpacker.tell())
            raise TraceFormatError(f"{self.path}: invalid footer at byte {offset}: {problem}")
        self.footer = footer
        self._ended = True

    def locate(self, end: int) -> tuple[int, int]:
        """(index, byte offset) of the object after the header that ends at byte ``end``,
        found by a second pass over the file (errors only: the main pass counts nothing)."""
        with open(self.path, "rb") as file:
            unpacker = _unpacker(file)
            unpacker.skip()
            index = 0
            while True:
                start = unpacker.tell()
                unpacker.skip()
                if unpacker.tell() >= end:
                    return index, start
                index += 1

    def records(self, *kinds: int) -> Iterator[tuple]:
        """Records of the given kinds only (all records when none are given)."""
        if not kinds:
            yield from self
            return
        wanted = frozenset(kinds)
        for record in self:
            if record[0] in wanted:
                yield record

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _problem(record: tuple, exc: BaseException | None) -> str | None:
    """What is wrong with the record a loop stopped on: invalid, or refused by its consumer."""
    if isinstance(exc, RecordProblem):
        return str(exc)
    if exc is None:
        return None
    try:
        return record_problem(record)
    except RecursionError:
        return "it is nested too deeply"


def read_trace(path: str | os.PathLike[str]) -> TraceReader:
    """Open a trace: its header is read at once, its records stream as it is iterated."""
    return TraceReader(path)
