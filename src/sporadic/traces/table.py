"""Terminal rendering of a trace summary (the dict :func:`summarise` returns)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sporadic.traces.columns import DURATIONS, fit, value, wide
from sporadic.traces.text import MAX_NAME, format_ns, printable, shorten

MAX_LOG_LINES = 20
MAX_TASK = 24  # characters of a task name in the table: the numbers matter more
MAX_FAULTS = 5  # faults listed under the table; the summary keeps the first 10


def plain(text: object, style: str = "", limit: int | None = MAX_NAME) -> Text:
    """User text as a rich ``Text``: never read as markup (``[/]``, ``[link=...]``), with its
    control characters escaped and, unless ``limit`` is None, cut to ``limit`` characters."""
    return Text(printable(text) if limit is None else shorten(text, limit), style=style)


def quiet_console(width: int | None = None) -> Console:
    """A console that does not highlight: rich's highlighter is quadratic on long user text
    (100k characters of a name took 50 s) and would colour numbers inside names."""
    return Console(highlight=False, width=width)


def render_summary(
    summary: dict[str, Any],
    console: Console | None = None,
    columns: Sequence[str] | None = None,
    fit_width: bool = True,
) -> None:
    """Print one row per task (``columns``, by default all of them), dropping columns from the
    right that do not fit the console, and saying which; then faults and program output."""
    console = console or quiet_console()
    chosen = tuple(columns) if columns is not None else wide(summary)
    rows = [
        [shorten(name, MAX_TASK), *(_cell(c, task) for c in chosen[1:])]
        for name, task in summary["tasks"].items()
    ]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(chosen)]
    kept = fit(widths, console.width) if fit_width else len(chosen)
    caption = f"simulated {format_ns(summary['duration'])}"
    if "engine" in summary:  # modules ran: on which engine, and whether times are exact
        timing = shorten(str(summary.get("timing", "fuel")), 20)
        note = "; not reproducible byte for byte" if timing == "measured" else ""
        caption += escape(f", {shorten(summary['engine'], 40)} ({timing}{note})")
    if summary["truncated"]:
        caption += " - [bold red]TRUNCATED trace[/]: the run did not finish"
    table = Table(title="Per-task summary", caption=caption, caption_justify="left")
    for column in chosen[:kept]:
        table.add_column(
            column,
            justify="left" if column == "task" else "right",
            no_wrap=True,
            style="bold" if column == "task" else "",
        )
    for row in rows:
        cells: list[str | Text] = [Text(row[0])]
        for column, cell in zip(chosen[1:kept], row[1:kept], strict=False):
            red = column in ("misses", "faults") and cell != "0"
            cells.append(Text(cell, style="red" if red else ""))
        table.add_row(*cells)
    if not fit_width:
        console = quiet_console(max(console.width, sum(widths) + 3 * len(widths) + 1))
    console.print(table)
    left_out = chosen[kept:]
    if left_out:
        console.print(
            f"{len(left_out)} column{'s' if len(left_out) > 1 else ''} left out at "
            f"{console.width} columns: {', '.join(left_out)}; --wide or --columns to see them",
            markup=False,
        )
    _print_faults(summary.get("faults") or [], summary.get("faults_omitted", 0), console)
    _print_logs(summary.get("logs", []), console)


def _cell(column: str, task: dict[str, Any]) -> str:
    cell = value(column, task)
    return format_ns(cell) if column in DURATIONS else str(cell)


def _print_faults(faults: list[dict[str, Any]], omitted: int, console: Console) -> None:
    """The first faults, each with its time, task and message: why a job was aborted."""
    if not faults:
        return
    total = len(faults) + omitted
    console.print(f"[bold]faults[/bold] ({total}, the first {min(total, MAX_FAULTS)} below)")
    for entry in faults[:MAX_FAULTS]:
        message = entry.get("message") or entry.get("kind", "")
        console.print(
            f"  {format_ns(entry.get('t')):>9}  {shorten(entry.get('task', '?'))}: "
            f"{printable(message)}",
            markup=False,
            highlight=False,
        )


def _print_logs(logs: list[dict[str, Any]], console: Console) -> None:
    """Program output, each line once prefixed by its task (a line that already starts with
    ``task:`` keeps its own prefix, not a second one)."""
    if not logs:
        return
    console.print(f"[bold]program output[/bold] ({len(logs)} lines)")
    for entry in logs[:MAX_LOG_LINES]:
        task, line = shorten(entry["task"]), printable(entry["line"])
        text = line if line.startswith(f"{task}:") else f"{task}: {line}"
        console.print(f"  {format_ns(entry['t']):>9}  {text}", markup=False, highlight=False)
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
