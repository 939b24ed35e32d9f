"""Reading the fields of a TOML description: where they are and what they hold.

``SourceLines`` finds the line of a table or key in the text; ``FieldReader`` reads typed values
and raises a ``DescriptionError`` naming the file, the line and the field when one is wrong.
"""

from __future__ import annotations

import math
import re
import reprlib
from typing import Any

from sporadic.description.model import Distribution, KernelSettings, SCParams
from sporadic.errors import DescriptionError
from sporadic.units import INF, MAX_PERIOD, WORD_MAX, parse_duration, parse_size

# An SC object is at most 2^47 bytes (seL4_MaxUntypedBits on 64-bit): 96 bytes of sched_context_t
# and 16 per refill, less the two every SC has
MAX_EXTRA_REFILLS = ((1 << 47) - 96) // 16 - 2
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60


def short(value: Any) -> str:
    """``repr(value)`` cut short: a message quotes a value, not 16 MiB of it."""
    return _SHORT.repr(value)


class SourceLines:
    """Finds the line of a key inside the n-th ``[[table]]`` or a ``[table]`` of the source.

    tomllib does not report positions of values, so this scans the text: good enough to point a
    person at the right line, which is all it is for.
    """

    _header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.sections: list[tuple[str, int, int]] = []  # (name, index, first line)
        counts: dict[str, int] = {}
        for no, line in enumerate(self.lines, 1):
            m = self._header.match(line)
            if m:
                name = m.group(2)
                idx = counts.get(name, 0)
                counts[name] = idx + 1
                self.sections.append((name, idx, no))

    def find(self, table: str, index: int, key: str | None = None) -> int | None:
        """The line of ``key`` in the ``index``-th ``table`` (the table's own line if the key is
        not found there; None if the table is not)."""
        start = None
        end = len(self.lines) + 1
        for i, (name, idx, no) in enumerate(self.sections):
            if name == table and idx == index:
                start = no
                if i + 1 < len(self.sections):
                    end = self.sections[i + 1][2]
                break
        if start is None:
            return None
        if key is None:
            return start
        top = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        inline = re.compile(rf"[{{,]\s*\"?{re.escape(key)}\"?\s*=")
        for pat in (top, inline):
            for no in range(start + 1, end):
                if pat.search(self.lines[no - 1]):
                    return no
        return start


class FieldReader:
    """Typed reads of one description's tables, with errors that point at the field's line.

    Every method takes ``loc`` = (table, index, label): the table's name and its index among
    tables of that name locate the line; the label starts the message (``partition "x"``). The
    section readers and the Microkit workload loader build on it.
    """

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = SourceLines(text)

    def error(self, loc: tuple, key: str | None, where: str, msg: str) -> None:
        """Raise for the table at ``loc`` = (table, index, label), pointing at ``key``'s line."""
        raise DescriptionError(self.path, self.lines.find(loc[0], loc[1], key), where, msg)

    # -- typed getters: each takes the table's location so errors can point at it

    def get(self, d: dict, key: str, kind: type | tuple, default: Any, loc: tuple) -> Any:
        """``d[key]`` if it has the TOML type ``kind`` (a bool is not an int), else ``default``."""
        if key not in d:
            return default
        v = d[key]
        if kind is int and isinstance(v, bool) or not isinstance(v, kind):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            self.error(loc, key, loc[2], f"{key}: expected {names}, got {short(v)}")
        return v

    def bounded(self, d: dict, key: str, default: Any, loc: tuple, lo: int, hi: int) -> Any:
        """``d[key]`` as an int in ``lo..hi`` (what the kernel or a trace can hold)."""
        v = self.get(d, key, int, default, loc)
        if v is not None and not lo <= v <= hi:
            self.error(loc, key, loc[2], f"{key}: {v} is outside {lo}..{hi}")
        return v

    def duration(self, d: dict, key: str, default: Any, loc: tuple) -> Any:
        """``d[key]`` as integer nanoseconds ("500us", "1ms", ...), else ``default``."""
        if key not in d:
            return default
        try:
            return parse_duration(d[key])
        except ValueError as e:
            self.error(loc, key, loc[2], f"{key}: {e}")
            raise  # pragma: no cover - error() raises

    def size(self, d: dict, key: str, default: int, loc: tuple) -> int:
        """``d[key]`` as bytes ("64MiB", ...), else ``default``."""
        if key not in d:
            return default
        try:
            return parse_size(d[key])
        except ValueError as e:
            self.error(loc, key, loc[2], f"{key}: {e}")

    def unknown(self, d: dict, allowed: set[str], loc: tuple) -> None:
        """Reject keys outside ``allowed``: a misspelt field must not be silently ignored."""
        for key in d:
            if key not in allowed:
                self.error(
                    loc,
                    key,
                    loc[2],
                    f"unknown field {key!r} (known: {', '.join(sorted(allowed))})",
                )

    def distribution(self, value: Any, key: str, loc: tuple) -> Distribution:
        """An execution time: a duration, or a seeded law over durations."""
        try:
            if isinstance(value, str):
                return Distribution("fixed", (parse_duration(value),))
            if not isinstance(value, dict) or len(value) != 1 and "choice" not in value:
                raise ValueError(
                    "expected a duration, or one of { uniform = [lo, hi] }, "
                    "{ normal = [mean, std] }, { exponential = mean }, { choice = [...] }"
                )
            if "uniform" in value:
                lo, hi = (parse_duration(v) for v in _pair(value["uniform"]))
                if lo > hi:
                    raise ValueError(f"uniform bounds are reversed: {lo} > {hi} ns")
                return Distribution("uniform", (lo, hi))
            if "normal" in value:
                mean, std = (parse_duration(v) for v in _pair(value["normal"]))
                if mean + 6 * std >= INF:
                    raise ValueError("normal: mean + 6 std is 2^62 ns or more")
                return Distribution("normal", (mean, std, 0, mean + 6 * std))
            if "exponential" in value:
                mean = parse_duration(value["exponential"])
                if 20 * mean >= INF:
                    raise ValueError("exponential: 20 times the mean is 2^62 ns or more")
                return Distribution("exponential", (mean, 0, 20 * mean))
            if "choice" in value:
                extra = set(value) - {"choice", "weights"}
                if extra:
                    raise ValueError(f"unknown keys {sorted(extra)} next to choice")
                choices = value["choice"]
                if not isinstance(choices, list) or not choices:
                    raise ValueError("choice needs a non-empty list of durations")
                vals = tuple(parse_duration(v) for v in choices)
                weights = value.get("weights", [1.0] * len(vals))
                if (
                    not isinstance(weights, list)
                    or len(weights) != len(vals)
                    or any(not isinstance(w, int | float) or w < 0 for w in weights)
                    or sum(weights) <= 0
                ):
                    raise ValueError("weights must be one non-negative number per choice")
                total = float(sum(weights))
                if not all(map(math.isfinite, weights)) or not math.isfinite(total):
                    raise ValueError("weights must be finite, and so must their sum")
                return Distribution("choice", vals, tuple(float(w) / total for w in weights))
            raise ValueError(f"unknown distribution {short(next(iter(value)))}")
        except ValueError as e:
            self.error(loc, key, loc[2], f"{key}: {e}")
            raise  # pragma: no cover

    def sc_params(self, d: dict, loc: tuple, default_budget: int | None) -> SCParams:
        """Scheduling-context parameters; the period defaults to the budget (a full CPU share)."""
        budget = self.duration(d, "budget", default_budget, loc)
        period = self.duration(d, "period", budget, loc)
        extra = self.get(d, "extra_refills", int, 0, loc)
        sporadic = self.get(d, "sporadic", bool, False, loc)
        badge = self.bounded(d, "badge", 0, loc, 0, WORD_MAX)
        if budget is None:
            self.error(loc, None, loc[2], "budget: missing")
        for key, value in (("budget", budget), ("period", period)):
            if value > MAX_PERIOD:
                self.error(
                    loc,
                    key,
                    loc[2],
                    f"{key}: {value} ns is above MAX_PERIOD {MAX_PERIOD} ns "
                    "(seL4 rejects it with RangeError)",
                )
        if budget > period:
            self.error(loc, "budget", loc[2], f"budget: {budget} ns exceeds the period {period} ns")
        if extra < 0:
            self.error(loc, "extra_refills", loc[2], "extra_refills: must be >= 0")
        if extra > MAX_EXTRA_REFILLS:
            self.error(
                loc,
                "extra_refills",
                loc[2],
                f"extra_refills: {extra} is more than the {MAX_EXTRA_REFILLS} an SC holds",
            )
        return SCParams(budget, period, extra, sporadic, badge)

    def check_sc_against_kernel(self, sc: SCParams, kernel: KernelSettings, loc: tuple) -> None:
        """Reject what the kernel would refuse at configuration time, before simulating."""
        for key in ("budget", "period"):
            if getattr(sc, key) < kernel.min_budget:
                self.error(
                    loc,
                    key,
                    loc[2],
                    f"{key}: {getattr(sc, key)} ns is below MIN_BUDGET {kernel.min_budget} ns "
                    "(seL4 rejects it with RangeError)",
                )

    def priority(self, d: dict, loc: tuple, limit: int) -> int:
        """A required priority in 0..``limit``."""
        if "priority" not in d:
            self.error(loc, None, loc[2], "priority: missing")
        prio = self.get(d, "priority", int, 0, loc)
        if not 0 <= prio <= limit:
            self.error(loc, "priority", loc[2], f"priority: {prio} is outside 0..{limit}")
        return prio


def _pair(v: Any) -> tuple[Any, Any]:
    """The two bounds of a ``[lo, hi]`` or ``[mean, std]`` list."""
    if not isinstance(v, list) or len(v) != 2:
        raise ValueError(f"expected two values, got {v!r}")
    return v[0], v[1]


__all__ = ["FieldReader", "SourceLines"]
