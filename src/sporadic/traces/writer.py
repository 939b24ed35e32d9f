"""Streaming msgpack trace writer.

The kernel's records reach it one by one (:meth:`TraceWriter.emit`) or a slice at a time
(:meth:`TraceWriter.emit_batch`: one ``pack`` call for the batch, its kinds counted by
``kinds.count_kinds``). It packs into one reusable buffer and writes it out in large chunks:
memory stays flat however long the simulation runs. The layout it produces is documented in
``docs/trace-format.md``.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, BinaryIO, NoReturn, Self

import msgpack

from sporadic.records import NAMES
from sporadic.traces.kinds import count_kinds

FORMAT = "sporadic-trace"
VERSION = 1
FLUSH_THRESHOLD = 64 * 1024
RESERVED_HEADER_KEYS = frozenset({"format", "version", "time_unit", "kinds", "footer"})
# Limits that keep every object the writer writes readable (the reader takes objects up to
# 64 MiB, MAX_OBJECT_BYTES in reader.py): a string or binary value in a record longer than
# MAX_STRING_BYTES is cut to at most that many bytes, its end replaced by CUT_MARK; a record
# still over MAX_RECORD_BYTES after that, or a header over it, is refused (ValueError).
MAX_STRING_BYTES = 1024 * 1024
MAX_RECORD_BYTES = 16 * 1024 * 1024
CUT_MARK = " [... {} more bytes]"
BATCH_SLICE = 4096  # records packed at once by emit_batch: a slice with a long string is rare


class _ClosedCounts:
    """Stands in for the count list after close, so a late ``emit`` fails loudly for free."""

    def __getitem__(self, kind: int) -> NoReturn:
        raise ValueError("emit() on a closed TraceWriter")


class TraceWriter:
    """Writes a header, then one msgpack array per record, then a footer map on close.

    ``file`` is a path (opened and later closed by the writer) or a binary file object (written
    to and flushed, but left open for its owner). ``header`` carries the caller's metadata, e.g.
    ``system``, ``threads``, ``seed`` and ``duration``; the format keys are added here.
    """

    def __init__(self, file: str | os.PathLike[str] | BinaryIO, header: dict[str, Any]) -> None:
        clash = RESERVED_HEADER_KEYS.intersection(header)
        if clash:
            raise ValueError(f"header keys {sorted(clash)} are reserved by the trace format")
        self._packer = msgpack.Packer(use_bin_type=True, autoreset=True)
        self._pack = self._packer.pack
        self._buf = bytearray()
        self._counts: list[int] | _ClosedCounts = [0] * len(NAMES)
        self._closed = False
        self._total = 0
        full = {
            "format": FORMAT,
            "version": VERSION,
            "time_unit": "ns",
            **header,
            "kinds": {name: code for code, name in enumerate(NAMES)},
        }
        packed_header = self._pack(full)
        if len(packed_header) > MAX_RECORD_BYTES:
            raise ValueError(
                f"the trace header is {len(packed_header)} bytes, over the trace format's "
                f"limit of {MAX_RECORD_BYTES}"
            )
        if isinstance(file, str | os.PathLike):
            self._file: BinaryIO = open(file, "wb")  # noqa: SIM115 - closed in close()/__exit__
            self._owns_file = True
        else:
            self._file = file
            self._owns_file = False
        self._buf += packed_header

    @property
    def buffered(self) -> int:
        """Bytes packed but not yet handed to the file; bounded by the flush threshold."""
        return len(self._buf)

    @property
    def records(self) -> int:
        """Records emitted so far."""
        return self._total if self._closed else sum(self._counts)

    @property
    def closed(self) -> bool:
        return self._closed

    def emit(self, record: tuple) -> None:
        """Append one ``(kind, t, *values)`` record; the kernel's hot path."""
        self._counts[record[0]] += 1
        packed = self._pack(record)
        if len(packed) > MAX_STRING_BYTES:  # only then can a string be over the limit
            packed = _pack_large(self._pack, record)
        buf = self._buf
        buf += packed
        if len(buf) > FLUSH_THRESHOLD:
            self._file.write(buf)
            # A fresh buffer, not clear(): the file object may keep the old one or a view of it.
            self._buf = bytearray()

    def emit_batch(self, records: list[tuple]) -> None:
        """Append many records at once (a slice from the record bus): one ``pack`` call for the
        whole list, whose array header is then dropped, leaving the records back to back
        exactly as ``emit`` would have written them."""
        if not records:
            return
        counts = self._counts
        if not isinstance(counts, list):
            raise ValueError("emit_batch() on a closed TraceWriter")
        count_kinds(records, counts)
        pack = self._pack
        buf = self._buf
        for start in range(0, len(records), BATCH_SLICE):
            part = records[start : start + BATCH_SLICE]
            packed = pack(part)
            if len(packed) > MAX_STRING_BYTES:  # a long string, perhaps: record by record
                for record in part:
                    one = pack(record)
                    buf += _pack_large(pack, record) if len(one) > MAX_STRING_BYTES else one
                continue
            n = len(part)
            head = 1 if n < 16 else 3 if n < 0x10000 else 5  # fixarray, array 16, array 32
            buf += memoryview(packed)[head:]
        if len(buf) > FLUSH_THRESHOLD:
            self._file.write(buf)
            self._buf = bytearray()

    def close(self, end: int, extra: dict[str, Any] | None = None) -> None:
        """Write the footer (``end`` = simulated end time in ns, plus the ``extra`` keys, e.g.
        ``interrupted``) and release the file.

        Calling it again is a no-op, so error paths may close unconditionally.
        """
        if self._closed:
            return
        counts = self._counts
        assert isinstance(counts, list)  # replaced only once closed
        footer = {
            "footer": True,
            "end": end,
            "records": sum(counts),
            "counts": {NAMES[kind]: n for kind, n in enumerate(counts) if n},
            **(extra or {}),
        }
        self._buf += self._pack(footer)
        self._finish()

    def abandon(self) -> None:
        """The run failed: keep every record written so far, but no footer, so that readers
        see a truncated trace (and can read it up to its last record)."""
        if not self._closed:
            self._finish()

    def _finish(self) -> None:
        """Flush what is buffered and close (or flush) the file, footer or not."""
        self._total = self.records
        self._closed = True
        self._counts = _ClosedCounts()
        try:
            if self._buf:
                self._file.write(self._buf)
                self._buf = bytearray()
            if not self._owns_file:
                self._file.flush()
        finally:
            if self._owns_file:
                self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """On error keep the records but omit the footer, so readers see a truncated trace.

        Leaving the block cleanly without ``close(end)`` is a bug in the caller (the writer
        cannot know the simulated end time), so the file is closed unfinished and it is reported.
        """
        if self._closed:
            return
        self._finish()
        if exc_type is None:
            raise RuntimeError(
                "TraceWriter context exited without close(end); the trace has no footer"
            )


def _pack_large(pack: Any, record: tuple) -> bytes:
    """A record that packs to more than MAX_STRING_BYTES, its long strings cut; refused if it
    is still over MAX_RECORD_BYTES (many long values: nothing the simulator writes)."""
    packed = pack(cut_strings(record))
    if len(packed) > MAX_RECORD_BYTES:
        kind = NAMES[record[0]] if 0 <= record[0] < len(NAMES) else f"kind {record[0]}"
        raise ValueError(
            f"a {kind} record of {len(packed)} bytes, its strings cut to {MAX_STRING_BYTES} "
            f"bytes, is over the trace format's limit of {MAX_RECORD_BYTES} bytes per record"
        )
    return packed


def cut_strings(value: Any) -> Any:
    """``value`` with every string or binary value of more than MAX_STRING_BYTES (UTF-8) cut
    to at most that, ending in CUT_MARK with the number of bytes cut; arrays and maps are cut
    inside, the rest is kept as it is."""
    if isinstance(value, str):
        if len(value) * 4 <= MAX_STRING_BYTES:  # short enough whatever its characters
            return value
        data = value.encode("utf-8", "surrogatepass")
        if len(data) <= MAX_STRING_BYTES:
            return value
        kept = data[: _kept_bytes(len(data))].decode("utf-8", "ignore")
        cut = len(data) - len(kept.encode("utf-8", "surrogatepass"))
        return kept + CUT_MARK.format(cut)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if len(data) <= MAX_STRING_BYTES:
            return value
        kept_bytes = data[: _kept_bytes(len(data))]
        return kept_bytes + CUT_MARK.format(len(data) - len(kept_bytes)).encode()
    if isinstance(value, tuple | list):
        return type(value)(cut_strings(item) for item in value)
    if isinstance(value, dict):
        return {cut_strings(key): cut_strings(item) for key, item in value.items()}
    return value


def _kept_bytes(size: int) -> int:
    """How many bytes of a ``size``-byte value stay, so that they and the mark fit the limit."""
    return MAX_STRING_BYTES - len(CUT_MARK.format(size))
