"""Terminal rendering of a trace summary (the dict :func:`summarise` returns)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us"))
MAX_LOG_LINES = 20


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
    console = console or Console()
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
            name,
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
            console.print(
                f"  {format_ns(entry['t']):>9}  {entry['task']}: {entry['line']}",
                markup=False,
                highlight=False,
            )
        if len(logs) > MAX_LOG_LINES:
            console.print(f"  ... {len(logs) - MAX_LOG_LINES} more (all of them in --json)")


def render_deploys(result: dict[str, Any], console: Console | None = None) -> None:
    """Print the deploy windows, then one row per task: its jobs released inside a window and
    outside every window side by side (the dict :func:`compare_deploys` returns)."""
    console = console or Console()
    windows = result["windows"]
    if windows:
        console.print(
            f"[bold]deploy windows[/bold] ({len(windows)}, from the request to the module's"
            " start, or to its error or stop)"
        )
        for window in windows:
            console.print(
                f"  {window['name']}: {format_ns(window['start'])} - {format_ns(window['end'])}"
                f" ({format_ns(window['end'] - window['start'])})",
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
        table.add_row(name, *cells)
    console.print(table)
