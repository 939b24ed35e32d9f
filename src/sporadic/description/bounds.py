"""What a description file may hold at all, checked on the text and on the parsed TOML before
any table is read.

tomllib reads any size, any nesting and any integer, and Python holds them; the simulator does
not: a trace is msgpack (integers of 64 bits), numpy draws need finite floats, the script reader
recurses into loops, and tomllib itself recurses into arrays and takes quadratic memory on a long
dotted key. Checking every value here once, with its path, means ``check`` refuses what ``run``
would crash on, and no reader needs its own guard against hostile sizes.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from sporadic.description.fields import FieldReader
from sporadic.errors import DescriptionError
from sporadic.units import INT64_MAX, INT64_MIN, WORD_MAX

MAX_TEXT = 16 * 1024 * 1024  # bytes of a description or side file
MAX_NESTING = 100  # tables and arrays inside each other
MAX_LOOPS = 32  # loops inside loops in a script
MAX_DOTTED = 64  # parts of one dotted key (tomllib's memory grows with their square)
WORDS = {"badge", "timeout_badge"}  # seL4 words: 0..2^64-1
# a key part and its dot, possessive; a match starts only where a chain of them starts (not after
# a key character, a quote or a dot), so that the search stays linear on 16 MiB of words or of
# 63-part keys (it took seconds on 100k characters without)
_KEY_PART = r"(?:[A-Za-z0-9_-]++|\"(?:[^\"\\\n]|\\.)*+\"|'[^'\n]*+')[ \t]*+\.[ \t]*+"
_START = r"(?<![A-Za-z0-9_\-\"'.])(?<!\.[ \t])(?<!\.[ \t]{2})"
_DOTTED = re.compile(rf"{_START}(?:{_KEY_PART}){{{MAX_DOTTED}}}")


def read_capped(path: str | Path, what: str = "a description") -> str:
    """The text of a regular file of at most ``MAX_TEXT`` bytes, read without reading more.

    ``/dev/zero`` or a FIFO would be read until memory runs out, a huge file would be read whole
    before anything looked at it: both are refused by their kind and size, and at most one byte
    over the cap is ever read (the file may grow after its size was taken).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the open
    except OSError as e:
        raise DescriptionError(str(path), None, "", f"cannot read: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DescriptionError(
                str(path), None, "", f"not a regular file ({what} is read whole)"
            )
        size = info.st_size
        if size <= MAX_TEXT:
            data = f.read(MAX_TEXT + 1)
            size = len(data)
        if size > MAX_TEXT:
            raise DescriptionError(
                str(path), None, "", f"{size} bytes, above the 16 MiB {what} may have"
            )
    try:  # newlines as text mode reads them (\r\n and \r become \n), as before the cap
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise DescriptionError(str(path), None, "", "not a UTF-8 text file") from None


def check_text(text: str, path: str) -> None:
    """Refuse what tomllib cannot read in bounded memory: a dotted key of too many parts."""
    m = _DOTTED.search(text)
    if m is not None:
        line = text.count("\n", 0, m.start()) + 1
        raise DescriptionError(path, line, "", f"a dotted key of more than {MAX_DOTTED} parts")


def check_values(fields: FieldReader, data: dict) -> None:
    """Every value of the parsed file: nesting, loops, integers and floats within bounds.

    The walk is iterative, so that no nesting depth can overflow Python's stack here.
    """
    stack: list[tuple[Any, tuple, int]] = [(data, (), 0)]
    while stack:
        value, path, loops = stack.pop()
        if isinstance(value, dict | list):
            if len(path) >= MAX_NESTING:
                _fail(fields, data, path, f"nested deeper than {MAX_NESTING} tables and arrays")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                inner = loops + (key == "loop" and isinstance(value, dict))
                if inner > MAX_LOOPS:
                    _fail(fields, data, (*path, key), f"loops nested deeper than {MAX_LOOPS}")
                stack.append((item, (*path, key), inner))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            _check_int(fields, data, path, value)
        elif isinstance(value, float) and not math.isfinite(value):
            _fail(fields, data, path, f"{value} is not a finite number")


def _check_int(fields: FieldReader, data: dict, path: tuple, value: int) -> None:
    """An integer must fit what the trace writes for it: a word, an int64 mark, or either."""
    key = path[-1] if path else ""
    lo, hi = INT64_MIN, WORD_MAX
    if key in WORDS:
        lo = 0
    elif key == "value":  # a mark's value: a trace field of int64
        hi = INT64_MAX
    if not lo <= value <= hi:
        shown = str(value) if len(str(value)) <= 30 else f"{str(value)[:20]}…"
        _fail(fields, data, path, f"{shown} is outside {lo}..{hi}")


def _fail(fields: FieldReader, data: dict, path: tuple, message: str) -> None:
    """Raise at the line of ``path``'s table and key: ``partition "a": job.script[0]: ...``."""
    top = path[0] if path else ""
    index = path[1] if len(path) > 1 and isinstance(path[1], int) else None
    rest = path[2:] if index is not None else path[1:]
    if index is not None:
        entry = data[top][index]
        name = entry.get("name") if isinstance(entry, dict) else None
        label = f'{top} "{name}"' if isinstance(name, str) else f"{top} #{index + 1}"
        loc: tuple = (top, index, label)
    elif rest:
        loc = (top, 0, f"[{top}]")
    else:
        loc = ("", 0, "top level")
        rest = path
    field = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in rest[:8]).lstrip(".")
    if len(rest) > 8:
        field += "…"
    first = next((k for k in rest if isinstance(k, str)), None)
    line = fields.lines.find(loc[0], loc[1], first)
    raise DescriptionError(fields.path, line, loc[2], f"{field}: {message}" if field else message)


__all__ = ["MAX_LOOPS", "MAX_NESTING", "MAX_TEXT", "check_text", "check_values", "read_capped"]
