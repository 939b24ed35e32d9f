"""The per-task table's columns: which exist, which a terminal shows first, and how many fit.

The full table is ~170 characters wide; a terminal is often 80. Columns are dropped from the
right, never cut, so that a number or a header on screen is always whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

# Each column: its header (also its name for --columns) and the integer (or count) it shows.
Getter = Callable[[dict[str, Any]], int | None]
DURATIONS: dict[str, Getter] = {
    "lat min": lambda t: t["latency"]["min"],
    "lat p50": lambda t: t["latency"]["p50"],
    "lat p99": lambda t: t["latency"]["p99"],
    "lat max": lambda t: t["latency"]["max"],
    "lat jitter": lambda t: t["latency_jitter"],
    "resp min": lambda t: t["response"]["min"],
    "resp p50": lambda t: t["response"]["p50"],
    "resp p99": lambda t: t["response"]["p99"],
    "resp max": lambda t: t["response"]["max"],
    "resp jitter": lambda t: t["response_jitter"],
    "cpu": lambda t: t["cpu"],
    "charged": lambda t: t["charged"],
    "cpu win p99": lambda t: t.get("cpu_window", {}).get("p99"),
    "cpu win max": lambda t: t.get("cpu_window", {}).get("max"),
}
COUNTS: dict[str, Getter] = {
    "jobs": lambda t: t["jobs"],
    "misses": lambda t: t["misses"],
    "preempt": lambda t: t["preemptions"],
    "exhausted": lambda t: t["budget_exhaustions"],
    "faults": lambda t: t.get("faults", 0) + t.get("timeout_faults", 0),  # of either kind
    "timeout faults": lambda t: t.get("timeout_faults", 0),
    "aborted": lambda t: t.get("aborted", 0),
}
ALL = (
    "task",
    "jobs",
    "misses",
    *list(DURATIONS)[:10],
    "cpu",
    "charged",
    "preempt",
    "exhausted",
    "faults",
    "timeout faults",
    "aborted",
)
OPTIONAL = {"faults": "faults", "timeout faults": "timeout_faults", "aborted": "aborted"}
# only on request (--columns): the CPU time per job window, whose table would be too wide
EXTRA = ("cpu win p99", "cpu win max")
DEFAULT = ("task", "jobs", "misses", "lat p99", "lat max", "resp p99", "resp max", "cpu", "faults")


def wide(summary: dict[str, Any]) -> tuple[str, ...]:
    """Every column, the fault counts only when a task has some (the summary leaves zero counts
    out): ``render_summary``'s default, whose callers predate the fault columns."""
    tasks = summary["tasks"].values()
    return tuple(c for c in ALL if c not in OPTIONAL or any(OPTIONAL[c] in t for t in tasks))


def parse_columns(text: str) -> tuple[str, ...]:
    """A --columns list ("task,jobs,lat p99" or with dashes: "lat-p99"), checked against
    :data:`ALL` and :data:`EXTRA`; the task column always comes first."""
    names = [n.strip().replace("-", " ").replace("_", " ") for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL and n not in EXTRA]
    if unknown or not names:
        raise ValueError(
            f"unknown column {', '.join(map(repr, unknown)) or 'list'}: choose from "
            + ",".join(c.replace(" ", "-") for c in (*ALL, *EXTRA))
        )
    return ("task", *dict.fromkeys(n for n in names if n != "task"))


def value(column: str, task: dict[str, Any]) -> int | None:
    """The integer a cell shows (ns for durations), None for "no samples"."""
    getter = DURATIONS.get(column) or COUNTS[column]
    return getter(task)


def fit(widths: Sequence[int], limit: int) -> int:
    """How many of the columns (content ``widths``, in order) fit in ``limit`` characters of a
    rich box table: each column takes its content, a space each side and one rule; the first
    column is always kept."""
    used = 1
    for n, width in enumerate(widths):
        used += width + 3
        if used > limit and n > 0:
            return n
    return len(widths)


def to_csv(summary: dict[str, Any], columns: Sequence[str] = ALL) -> str:
    """A spreadsheet's view: one row per task, integer ns, empty for "no samples"."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.replace(" ", "_") for c in columns])
    for name, task in summary["tasks"].items():
        row: list[object] = [name]
        for column in columns[1:]:
            cell = value(column, task)
            row.append("" if cell is None else cell)
        writer.writerow(row)
    return out.getvalue()
