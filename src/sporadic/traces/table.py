"""Terminal rendering of a trace summary (the dict :func:`summarise` returns)."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us"))
MAX_LOG_LINES = 20
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


def plain(text: object, style: str = "", limit: int | None = MAX_NAME) -> Text:
    """User text as a rich ``Text``: never read as markup (``[/]``, ``[link=...]``), with its
    control characters escaped and, unless ``limit`` is None, cut to ``limit`` characters."""
    return Text(printable(text) if limit is None else shorten(text, limit), style=style)


def quiet_console(width: int | None = None) -> Console:
    """A console that does not highlight: rich's highlighter is quadratic on long user text
    (100k characters of a name took 50 s) and would colour numbers inside names."""
    return Console(highlight=False, width=width)


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


def render_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print one row per task with latency/response percentiles, jitter and counters."""
    console = console or quiet_console()
    caption = f"simulated {format_ns(summary['duration'])}"
    if summary["truncated"]:
        caption += " - [bold red]TRUNCATED trace[/]: the run did not finish"
    table = Table(title="Per-task summary", caption=caption, caption_justify="left")
    table.add_column("task", style="bold")
    for header in (
        "jobs",
        "misses",
        "lat min",
        "lat p50",
        "lat p99",
        "lat max",
        "lat jitter",
        "resp min",
        "resp p50",
        "resp p99",
        "resp max",
        "resp jitter",
        "cpu",
        "charged",
        "preempt.",
        "exhausted",
    ):
        table.add_column(header, justify="right")
    for name, task in summary["tasks"].items():
        lat = task["latency"]
        resp = task["response"]
        misses = str(task["misses"])
        table.add_row(
            plain(name),
            str(task["jobs"]),
            f"[red]{misses}[/]" if task["misses"] else misses,
            *(format_ns(lat[key]) for key in ("min", "p50", "p99", "max")),
            format_ns(task["latency_jitter"]),
            *(format_ns(resp[key]) for key in ("min", "p50", "p99", "max")),
            format_ns(task["response_jitter"]),
            format_ns(task["cpu"]),
            format_ns(task["charged"]),
            str(task["preemptions"]),
            str(task["budget_exhaustions"]),
        )
    console.print(table)
    logs = summary.get("logs", [])
    if logs:
        console.print(f"[bold]program output[/bold] ({len(logs)} lines)")
        for entry in logs[:MAX_LOG_LINES]:
            task, line = shorten(entry["task"]), printable(entry["line"])
            console.print(
                f"  {format_ns(entry['t']):>9}  {task}: {line}",
                markup=False,
                highlight=False,
            )
        if len(logs) > MAX_LOG_LINES:
            console.print(f"  ... {len(logs) - MAX_LOG_LINES} more (all of them in --json)")


def render_deploys(result: dict[str, Any], console: Console | None = None) -> None:
    """Print the deploy windows, then one row per task: its jobs released inside a window and
    outside every window side by side (the dict :func:`compare_deploys` returns)."""
    console = console or quiet_console()
    windows = result["windows"]
    if windows:
        console.print(
            f"[bold]deploy windows[/bold] ({len(windows)}, from the request to the module's"
            " start, or to its error or stop)"
        )
        for window in windows:
            start, end = window["start"], window["end"]
            console.print(
                f"  {shorten(window['name'])}: {format_ns(start)} - {format_ns(end)}"
                f" ({format_ns(end - start)})",
                markup=False,
                highlight=False,
            )
    else:
        console.print("no deploy windows: no deploy reached its start, error or stop")
    if not result["tasks"]:
        console.print("no tasks with jobs besides the modules")
        return
    table = Table(title="Jobs released during a deploy / outside")
    table.add_column("task", style="bold")
    for side in ("in", "out"):
        for header in ("jobs", "misses", "lat p99", "lat max", "resp max"):
            table.add_column(f"{header}\n{side}", justify="right")
    for name, task in result["tasks"].items():
        cells = []
        for side in ("inside", "outside"):
            part = task[side]
            misses = str(part["misses"])
            cells += [
                str(part["jobs"]),
                f"[red]{misses}[/]" if part["misses"] else misses,
                format_ns(part["latency"]["p99"]),
                format_ns(part["latency"]["max"]),
                format_ns(part["response"]["max"]),
            ]
        table.add_row(plain(name), *cells)
    console.print(table)
