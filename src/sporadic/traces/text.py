"""Text helpers for what the CLI prints: user text made printable, durations with a unit.

Plain strings only (no rich), so that building the command line and printing a line of output
cost no terminal-rendering import.
"""

from __future__ import annotations

import re

_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us"))
MAX_NAME = 64  # characters of a name a table shows; longer ones end in "…"
# C0 controls but the tab, DEL, and C1 controls (ESC is C0): what moves a terminal's cursor,
# clears its screen, sets its title or opens a hyperlink
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """``text`` with each control character as a visible escape (ESC as the 4 characters
    ``\\x1b``): names and module output come from files a user may not have written, and must
    not clear the screen, retitle the window or hide a line on the way to a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def shorten(text: object, limit: int = MAX_NAME) -> str:
    """``printable(text)`` cut to ``limit`` characters with "…": a 100k-character name must not
    stretch a table's column (nor take rich seconds to lay out)."""
    head = printable(str(text)[: limit + 1])  # each character prints as one or more
    return head if len(head) <= limit else head[: limit - 1] + "…"


def format_ns(ns: int | None) -> str:
    """A duration with a unit and about three significant digits: ``412us``, ``1.25ms``.

    Nanosecond counts are unreadable at a glance in a table of microsecond latencies and
    millisecond periods; ``-`` stands for "no samples".
    """
    if ns is None:
        return "-"
    if ns < 0:
        return "-" + format_ns(-ns)
    digits = len(str(ns))
    if digits > 3:
        # Round first so 999_600 becomes 1.00ms rather than 1000us.
        ns = round(ns, 3 - digits)
    for scale, unit in _UNITS:
        if ns >= scale:
            value = ns / scale
            if value >= 100:
                text = f"{value:.0f}"
            elif value >= 10:
                text = f"{value:.1f}"
            else:
                text = f"{value:.2f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return text + unit
    return f"{ns}ns"
