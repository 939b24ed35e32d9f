"""Streaming msgpack trace reader.

Traces can be far larger than memory and may be cut short (a crashed or killed simulation), so
the reader decodes one object at a time and treats a missing footer as "truncated" rather than
as an error: every whole record before the cut is still usable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

import msgpack

from sporadic.errors import TraceFormatError
from sporadic.traces.writer import FORMAT, VERSION

MAX_OBJECT_BYTES = 64 * 1024 * 1024
READ_SIZE = 64 * 1024

# What a corrupt stream can raise from the unpacker: FormatError, StackError, BufferFull,
# UnicodeDecodeError (a ValueError), or TypeError for an unhashable map key.
_DECODE_ERRORS = (msgpack.UnpackException, ValueError, TypeError)


_TYPE_NAMES = {
    tuple: "an array",
    dict: "a map",
    int: "an int",
    float: "a float",
    bool: "a bool",
    str: "a string",
    bytes: "binary data",
    type(None): "nil",
}


def _describe(obj: object) -> str:
    """'an int: 123', in msgpack's terms, cut short for long values."""
    kind = _TYPE_NAMES.get(type(obj), type(obj).__name__)
    text = repr(_listify(obj))
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind}: {text}"


def _listify(obj: Any) -> Any:
    """Turn the tuples the unpacker makes for arrays back into lists (header data only)."""
    if isinstance(obj, tuple):
        return [_listify(item) for item in obj]
    if isinstance(obj, dict):
        return {key: _listify(value) for key, value in obj.items()}
    return obj


class TraceReader:
    """Reads the header on open, then yields records as ``(kind, t, *values)`` tuples.

    Iteration is a single streaming pass over the file; breaking out and iterating again resumes
    where it stopped. Once the pass has reached the end, ``footer`` holds the footer map (or
    None), ``truncated`` tells whether the footer was missing, and ``last_time`` is the ``t`` of
    the last whole record read (None if there was none).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.footer: dict[str, Any] | None = None
        self.truncated = False
        self.last_time: int | None = None
        self._ended = False
        self._file = open(self.path, "rb")  # noqa: SIM115 - closed in close()/__exit__
        try:
            self._unpacker = msgpack.Unpacker(
                self._file,
                raw=False,
                use_list=False,
                strict_map_key=False,
                max_buffer_size=MAX_OBJECT_BYTES,
                read_size=READ_SIZE,
            )
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
            raise TraceFormatError(f"{prefix}: first object is {_describe(first)}")
        if first.get("format") != FORMAT:
            raise TraceFormatError(
                f"{prefix}: first object is a map with format={first.get('format')!r}, "
                f"expected {FORMAT!r}"
            )
        version = first.get("version")
        if type(version) is not int or version < 1:
            raise TraceFormatError(f"{self.path}: invalid trace format version {version!r}")
        if version > VERSION:
            raise TraceFormatError(
                f"{self.path}: trace format version {version} is newer than this reader, "
                f"which supports version {VERSION}"
            )
        return _listify(first)

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
                    self.footer = obj
                    self._ended = True
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


def read_trace(path: str | os.PathLike[str]) -> TraceReader:
    """Open a trace: its header is read at once, its records stream as it is iterated."""
    return TraceReader(path)
