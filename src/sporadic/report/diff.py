"""Compare two traces task by task, to catch a timing regression between two runs.

Each task of both traces is compared on its summary (``sporadic.traces.summarise``): jobs,
misses, latency and response p99 and max, and cpu. A task is *worse* when one of the metrics
chosen by ``fail_on`` increased beyond the tolerance:

- ``fail_on`` names metrics: ``misses``, ``p99`` (latency and response p99), ``max`` (latency
  and response max), ``cpu``, or one exactly: ``latency.p99``, ``latency.max``,
  ``response.p99``, ``response.max``. ``jobs`` is shown but never fails: a different count of
  jobs means a different run length, not a slower system.
- ``tolerance`` None: any increase is worse. A percentage (``"5%"``): a duration is worse
  above ``base * 1.05``; misses are worse when they grow by more than 5% of the new trace's
  jobs (rounded down: 5% of 30 jobs lets 1 more miss through). A duration (``"10us"``): a
  duration is worse above ``base + 10us``; misses take no duration tolerance, so any increase
  in misses is worse.
- A metric without samples on either side (``null`` in the summary: no job started, or none
  completed) is not compared. Tasks in only one trace are listed as added or removed; they
  are never worse.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sporadic.traces.summary import summarise
from sporadic.traces.table import format_ns, printable
from sporadic.units import parse_duration

METRICS = (
    "jobs",
    "misses",
    "latency.p99",
    "latency.max",
    "response.p99",
    "response.max",
    "cpu",
)
GROUPS = {
    "misses": ("misses",),
    "p99": ("latency.p99", "response.p99"),
    "max": ("latency.max", "response.max"),
    "cpu": ("cpu",),
    **{name: (name,) for name in METRICS if "." in name},
}
COUNTS = ("jobs", "misses")  # the metrics that count, rather than measure time
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")


def label(metric: str) -> str:
    """``latency.p99`` -> ``latency p99``."""
    return metric.replace(".", " ")


def expand_fail_on(fail_on: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The metrics ``fail_on`` names, in METRICS order; ``"misses,p99"`` works too."""
    names = fail_on.split(",") if isinstance(fail_on, str) else list(fail_on)
    chosen: set[str] = set()
    for name in (n.strip() for n in names):
        if name not in GROUPS:
            raise ValueError(f"cannot fail on {name!r}: choose among {', '.join(GROUPS)}")
        chosen.update(GROUPS[name])
    return tuple(m for m in METRICS if m in chosen)


@dataclass(frozen=True)
class Tolerance:
    """How much a metric may grow before it counts as worse (module docstring)."""

    text: str | None = None
    percent: Decimal | None = None
    ns: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> Tolerance:
        if text is None:
            return cls()
        m = _PERCENT.match(text)
        if m:
            return cls(text.strip(), percent=Decimal(m.group(1)))
        try:
            return cls(text.strip(), ns=parse_duration(text))
        except ValueError:
            raise ValueError(
                f'tolerance {text!r} is neither a percentage ("5%") nor a duration ("10us")'
            ) from None

    def exceeded(self, metric: str, base: int, new: int, new_jobs: int) -> bool:
        """Whether ``new`` is worse than ``base`` by more than this tolerance."""
        if metric == "misses":
            allowed = int(self.percent * new_jobs // 100) if self.percent is not None else 0
            return new > base + allowed
        if self.percent is not None:
            return new * 100 > base * (100 + self.percent)
        return new > base + (self.ns or 0)


def _show(metric: str, value: int | None) -> str:
    return str(value) if metric in COUNTS and value is not None else format_ns(value)


def _change(metric: str, base: int, new: int) -> str:
    """``+50%``, or the absolute change where a percentage says nothing (from 0, counts)."""
    if metric in COUNTS or base == 0:
        delta = new - base
        text = str(abs(delta)) if metric in COUNTS else format_ns(abs(delta))
        return f"{'+' if delta >= 0 else '-'}{text}"
    percent = Fraction(new - base, base) * 100
    digits = 0 if abs(percent) >= 10 else 1
    text = f"{float(abs(percent)):.{digits}f}".removesuffix(".0")
    return f"{'+' if percent >= 0 else '-'}{text}%"


@dataclass(frozen=True)
class Regression:
    """One metric of one task that got worse; ``str()`` is the line to print."""

    task: str
    metric: str
    base: int
    new: int

    @property
    def change(self) -> str:
        return _change(self.metric, self.base, self.new)

    def __str__(self) -> str:
        base, new = _show(self.metric, self.base), _show(self.metric, self.new)
        return f"{self.task}: {label(self.metric)} {base} -> {new} ({self.change})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "metric": self.metric,
            "base": self.base,
            "new": self.new,
            "change": self.change,
            "message": str(self),
        }


@dataclass
class DiffResult:
    """Two traces compared: per task, each metric's (base, new); and what got worse."""

    base: str
    new: str
    fail_on: tuple[str, ...]
    tolerance: Tolerance
    tasks: dict[str, dict[str, tuple[int | None, int | None]]] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    worse: list[Regression] = field(default_factory=list)
    duration: tuple[int, int] = (0, 0)
    truncated: tuple[bool, bool] = (False, False)

    @property
    def ok(self) -> bool:
        """No chosen metric of any task got worse beyond the tolerance."""
        return not self.worse

    def to_dict(self) -> dict[str, Any]:
        """The comparison as plain JSON values, for ``--json``."""
        return {
            "base": self.base,
            "new": self.new,
            "fail_on": list(self.fail_on),
            "tolerance": self.tolerance.text,
            "ok": self.ok,
            "duration": {"base": self.duration[0], "new": self.duration[1]},
            "truncated": {"base": self.truncated[0], "new": self.truncated[1]},
            "tasks": {
                name: {m: {"base": b, "new": n} for m, (b, n) in metrics.items()}
                for name, metrics in self.tasks.items()
            },
            "added": list(self.added),
            "removed": list(self.removed),
            "worse": [regression.to_dict() for regression in self.worse],
        }

    def render(self, console: Console) -> None:
        """A table of every common task's metrics, base -> new, then the verdict."""
        title = f"{escape(printable(self.base))} -> {escape(printable(self.new))}"
        table = Table(title=title)
        table.add_column("task", style="bold")
        for metric in METRICS:
            table.add_column(label(metric).replace("latency", "lat").replace("response", "resp"))
        bad = {(r.task, r.metric) for r in self.worse}
        for name, metrics in self.tasks.items():
            cells = []
            for metric, (base, new) in metrics.items():
                text = _show(metric, base)
                if new != base:
                    text += f" → {_show(metric, new)}"
                if (name, metric) in bad:
                    text = f"[bold red]{text}[/]"
                elif metric != "jobs" and None not in (base, new) and new < base:
                    text = f"[green]{text}[/]"
                cells.append(text)
            table.add_row(escape(printable(name)), *cells)
        console.print(table)
        if self.duration[0] != self.duration[1]:
            console.print(
                f"[yellow]note:[/] the runs differ in length: {format_ns(self.duration[0])}"
                f" -> {format_ns(self.duration[1])}"
            )
        for side, flag in zip(("base", "new"), self.truncated, strict=True):
            if flag:
                console.print(f"[yellow]note:[/] the {side} trace is truncated")
        for what, names in (("only in the new trace", self.added), ("removed", self.removed)):
            if names:
                console.print(f"{what}: {escape(printable(', '.join(names)))}")
        criteria = ", ".join(label(m) for m in self.fail_on) or "nothing"
        tolerance = f", tolerance {escape(self.tolerance.text)}" if self.tolerance.text else ""
        if self.ok:
            console.print(f"[green]no regression[/] (fail on {criteria}{tolerance})")
            return
        count = len(self.worse)
        noun = "regression" if count == 1 else "regressions"
        console.print(f"[bold red]{count} {noun}[/] (fail on {criteria}{tolerance}):")
        for regression in self.worse:
            console.print(f"  {escape(printable(regression))}")


def _metrics(task: dict[str, Any]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for metric in METRICS:
        group, _, key = metric.partition(".")
        out[metric] = task[group][key] if key else task[group]
    return out


def diff(
    base_trace: str | os.PathLike[str],
    new_trace: str | os.PathLike[str],
    fail_on: str | tuple[str, ...] | list[str] = ("misses", "p99", "max"),
    tolerance: str | None = None,
) -> DiffResult:
    """Compare ``new_trace`` against ``base_trace`` task by task (rules in the module
    docstring). Raises ValueError for an unknown ``fail_on`` name or a malformed tolerance."""
    chosen = expand_fail_on(fail_on)
    allowance = Tolerance.parse(tolerance)
    base, new = summarise(base_trace), summarise(new_trace)
    result = DiffResult(
        base=os.fspath(base_trace),
        new=os.fspath(new_trace),
        fail_on=chosen,
        tolerance=allowance,
        added=[name for name in new["tasks"] if name not in base["tasks"]],
        removed=[name for name in base["tasks"] if name not in new["tasks"]],
        duration=(base["duration"], new["duration"]),
        truncated=(base["truncated"], new["truncated"]),
    )
    for name, task in base["tasks"].items():
        if name not in new["tasks"]:
            continue
        before, after = _metrics(task), _metrics(new["tasks"][name])
        result.tasks[name] = {m: (before[m], after[m]) for m in METRICS}
        for metric in chosen:
            b, n = before[metric], after[metric]
            comparable = b is not None and n is not None
            if comparable and allowance.exceeded(metric, b, n, after["jobs"] or 0):
                result.worse.append(Regression(name, metric, b, n))
    return result
