"""Durations with units ("250us", "10ms", "1.5s") to integer nanoseconds, and back; sizes in bytes.

Decimal arithmetic, never floats: "0.1ms" is exactly 100000 ns.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MAX_PERIOD = 1 << 56  # ns: the longest SC period the kernel takes (docs/mcs-semantics.md 12)
MIN_BUDGET = 20_000  # ns: 2 * the 10 us kernel WCET, seL4's default (docs/mcs-semantics.md 12)
INF = 1 << 62  # "forever" in ns: larger than any simulated time, still an int
# What a trace (msgpack) and numpy hold: every integer of a description is within one of these
MAX_SEED = (1 << 63) - 1  # numpy takes any seed >= 0; this keeps the header's seed an int64
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
WORD_MAX = (1 << 64) - 1  # an seL4 word: badges, message words
MAX_SIZE = INT64_MAX  # bytes: wasmtime's limits are signed 64-bit
UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "min": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ns|us|µs|ms|s|min|h)\s*$")
_SIZE = re.compile(r"\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*")
_SIZE_UNITS = {"B": 1, None: 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def parse_duration(text: object) -> int:
    """Parse a duration string; raise ValueError saying what is expected."""
    if not isinstance(text, str):
        raise ValueError(f'expected a duration string with a unit such as "250us", got {text!r}')
    m = _DURATION.match(text)
    if not m:
        raise ValueError(
            f"{text!r} is not a duration: write a number and one of ns, us, ms, s, min, h"
            ' (e.g. "250us")'
        )
    try:
        value = Decimal(m.group(1)) * UNITS[m.group(2)]
    except InvalidOperation as e:  # pragma: no cover - the regex admits only valid numbers
        raise ValueError(f"{text!r} is not a number") from e
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number of nanoseconds")
    if value >= INF:
        raise ValueError(f"{text!r} is 2^62 ns (146 years) or more, longer than a simulation holds")
    return int(value)


def format_duration(ns: int) -> str:
    """The shortest exact spelling of ``ns`` with a unit, for resolved descriptions."""
    for unit in ("s", "ms", "us"):
        scale = UNITS[unit]
        if ns % scale == 0 and ns != 0:
            return f"{ns // scale}{unit}"
    return f"{ns}ns"


def parse_size(value: object) -> int:
    """A size in bytes: a positive int, or a string such as "16MiB" (B, KiB, MiB, GiB)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_SIZE:
        return value
    m = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f'a size such as "16MiB" or bytes, got {value!r}')
    if len(m.group(1)) > 20:  # more digits than any size below 2^64: do not convert them
        raise ValueError(f"{value!r} is above {MAX_SIZE} bytes")
    size = int(m.group(1)) * _SIZE_UNITS[m.group(2)]
    if size > MAX_SIZE:
        raise ValueError(f"{value!r} is above {MAX_SIZE} bytes")
    return size
