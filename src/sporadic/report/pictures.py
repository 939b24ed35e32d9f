"""Pictures of a trace: a Gantt chart of who ran when, and latency/response distributions.

Each picture is computed in two steps, so tests can check what a picture holds without reading
pixels: ``gantt_data``/``distribution_data`` read the trace in one streaming pass into plain
numbers, and ``draw_gantt``/``draw_distributions`` turn those into a matplotlib figure. Traces
can be larger than memory, so the Gantt keeps only the records of its time window (the first
``DEFAULT_WINDOW``, 100 ms, unless ``start``/``end`` are given) and stops reading after it; the
distributions keep one number per job, as the summary does. Figures use matplotlib's object API
on the Agg canvas, never pyplot: no global state, no display needed.
"""

from __future__ import annotations

import io
import os
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sporadic.records import (
    BUDGET_EXHAUSTED,
    DEADLINE_MISS,
    DEPLOY,
    FAULT,
    JOB_END,
    JOB_RELEASE,
    JOB_START,
    POSTPONE,
    REFILL_RELEASE,
    SWITCH,
    THREAD_NEW,
    TIMEOUT_FAULT,
)
from sporadic.traces.reader import TraceReader
from sporadic.traces.summary import DeployLog, add_thread, task_names, thread_table
from sporadic.traces.table import format_ns, shorten

DEFAULT_WINDOW = 100_000_000  # ns the Gantt shows when no end is given
DPI = 100
WIDTH_IN = 12.0  # 1200 px wide
GANTT_BASE_IN, GANTT_ROW_IN = 2.4, 0.45  # height: title, axis and legend, plus one per row
DIST_BASE_IN, DIST_TASK_IN = 1.0, 2.2  # height: title, plus one pair of plots per task
MAX_TASKS = 12  # distributions drawn; a note says how many more there were
LABEL_CHARS = 32  # of a name on a picture
# Colours of the SCs: tab10 without its red, which marks deadline misses
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a",
    "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
)  # fmt: skip
NO_SC = "#444444"


class Bar(NamedTuple):
    """``thread`` ran (or, for ``throttled``, waited in the release queue) on ``sc``."""

    thread: int
    start: int
    end: int
    sc: int


class Mark(NamedTuple):
    thread: int
    t: int


class Window(NamedTuple):
    """A deploy from its request to its module's start (or error, or stop)."""

    name: str
    start: int
    end: int


@dataclass
class GanttData:
    """What the Gantt of ``[start, end]`` draws, in ns; ``rows`` are (thread id, name), top
    first: the header's threads, then those made during the run (idle left out)."""

    system: str
    start: int
    end: int
    duration: int | None  # the run's (footer's end, or the header's), for "100ms of a 2s run"
    rows: list[tuple[int, str]]
    scs: dict[int, str]  # SC id -> name: the header's, then thread_new's
    bars: list[Bar] = field(default_factory=list)
    throttled: list[Bar] = field(default_factory=list)
    releases: list[Mark] = field(default_factory=list)
    deadlines: list[Mark] = field(default_factory=list)
    misses: list[Mark] = field(default_factory=list)
    exhaustions: list[Mark] = field(default_factory=list)
    faults: list[Mark] = field(default_factory=list)
    deploys: list[Window] = field(default_factory=list)
    truncated: bool = False  # the trace stopped without its footer inside the window

    @property
    def notes(self) -> list[str]:
        """What a reader of the picture should know that the bars do not say."""
        notes = []
        if self.truncated:
            notes.append(f"truncated trace: the run stopped at {format_ns(self.end)}")
        elif self.duration is not None and self.end < self.duration:
            notes.append(
                f"showing {format_ns(self.end - self.start)} of a {format_ns(self.duration)} run"
            )
        if self.end <= self.start:
            notes.append(f"the run ended before {format_ns(self.start)}")
        if not self.bars:
            notes.append("no thread ran in this window")
        if not self.releases:
            notes.append("no job released in this window")
        return notes


class _GanttReader:
    """Folds records into a ``GanttData``, keeping only what falls in its window."""

    def __init__(self, header: dict[str, Any], start: int, end: int) -> None:
        system = header.get("system")
        name = system.get("name") if isinstance(system, dict) else None
        duration = header.get("duration")
        self.threads = thread_table(header)
        self.idle = {tid for tid, (_, kind) in self.threads.items() if kind == "idle"}
        rows = [(tid, str(name)) for tid, (name, kind) in self.threads.items() if kind != "idle"]
        scs = {sc["id"]: str(sc.get("name", sc["id"])) for sc in header.get("scs", ())}
        self.data = GanttData(
            system=str(name if name is not None else "?"),
            start=start,
            end=end,
            duration=duration if isinstance(duration, int) else None,
            rows=rows,
            scs=scs,
        )
        self.known = {tid for tid, _ in rows}
        self.deploys = DeployLog()
        self.queued: dict[int, tuple[int, int, int]] = {}  # thread -> (since, sc, ready time)
        self.running = -1
        self.running_sc = -1
        self.since = 0

    def _row(self, thread: int) -> bool:
        """Whether ``thread`` has a row, making one for an id no table named."""
        if thread in self.idle or not isinstance(thread, int) or thread < 0:
            return False
        if thread not in self.known:
            self.known.add(thread)
            self.data.rows.append((thread, f"thread-{thread}"))
        return True

    def _interval(self, into: list[Bar], thread: int, start: int, end: int, sc: int) -> None:
        lo, hi = max(start, self.data.start), min(end, self.data.end)
        if hi > lo and self._row(thread):
            into.append(Bar(thread, lo, hi, sc))

    def _mark(self, into: list[Mark], thread: int, t: Any) -> None:
        if isinstance(t, int) and self.data.start <= t <= self.data.end and self._row(thread):
            into.append(Mark(thread, t))

    def feed(self, record: tuple) -> None:
        kind, t = record[0], record[1]
        data = self.data
        if kind == SWITCH:
            self._interval(data.bars, self.running, self.since, t, self.running_sc)
            self.running, self.since = record[3], t
            self.running_sc = record[4] if len(record) > 4 else -1
        elif kind == JOB_RELEASE:
            self._mark(data.releases, record[2], t)
            if len(record) > 4:
                self._mark(data.deadlines, record[2], record[4])
        elif kind == DEADLINE_MISS:
            self._mark(data.misses, record[2], t)
        elif kind == BUDGET_EXHAUSTED:
            self._mark(data.exhaustions, record[2], t)
        elif kind in (TIMEOUT_FAULT, FAULT):
            self._mark(data.faults, record[2], t)
        elif kind == POSTPONE:
            self.queued[record[2]] = (t, record[3], record[4])
        elif kind == REFILL_RELEASE:
            since, sc, _ = self.queued.pop(record[2], (t, -1, t))
            self._interval(data.throttled, record[2], since, t, sc)
        elif kind == THREAD_NEW:
            home: dict[int, int] = {}
            add_thread(self.threads, home, record)
            for sc in home:
                data.scs[sc] = str(record[3])
            thread, name = record[2], str(record[3])
            if thread in self.known:
                data.rows = [(tid, name if tid == thread else old) for tid, old in data.rows]
            else:
                self.known.add(thread)
                data.rows.append((thread, name))
        elif kind == DEPLOY:
            self.deploys.feed(t, record[2], record[3], record[4] if len(record) > 4 else None)

    def finish(self, stop: int, truncated: bool) -> GanttData:
        """Close what is still open at ``stop`` (the window's end or the trace's)."""
        data = self.data
        data.end = max(min(data.end, stop), data.start)
        data.truncated = truncated
        self._interval(data.bars, self.running, self.since, data.end, self.running_sc)
        for thread, (since, sc, ready) in self.queued.items():
            self._interval(data.throttled, thread, since, ready, sc)
        for deploy in self.deploys.deploys:
            ends = [t for t in (deploy.started, deploy.failed, deploy.stopped) if t is not None]
            lo, hi = max(deploy.requested, data.start), min(min(ends, default=data.end), data.end)
            if hi >= lo:
                data.deploys.append(Window(str(deploy.name), lo, hi))
        return data


def gantt_data(
    trace_path: str | os.PathLike[str], start: int | None = None, end: int | None = None
) -> GanttData:
    """The Gantt's numbers for ``[start, end]`` ns (default: the first 100 ms), from one
    streaming pass that stops at the first record after ``end``."""
    start = 0 if start is None else start
    end = start + DEFAULT_WINDOW if end is None else end
    if end <= start:
        raise ValueError(f"the Gantt's window is empty: start {start} ns, end {end} ns")
    with TraceReader(trace_path) as reader:
        fold = _GanttReader(reader.header, start, end)
        for record in reader:
            if record[1] > end:
                return fold.finish(end, truncated=False)
            fold.feed(record)
        if reader.footer is not None:
            run_end = reader.footer.get("end")
            if isinstance(run_end, int):
                fold.data.duration = run_end  # what the run lasted, not what was asked
            return fold.finish(run_end if isinstance(run_end, int) else end, truncated=False)
        return fold.finish(reader.last_time or 0, truncated=True)


def _new_figure(height_in: float) -> Figure:
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _label(text: object) -> str:
    return shorten(text, LABEL_CHARS)


def draw_gantt(data: GanttData) -> Figure:
    """One row per thread: execution bars coloured by the SC they ran on, markers for
    releases, deadlines, misses, exhaustions and faults, deploy windows shaded."""
    rows = max(len(data.rows), 1)
    fig = _new_figure(GANTT_BASE_IN + GANTT_ROW_IN * rows)
    ax = fig.add_subplot()
    y = {tid: i for i, (tid, _) in enumerate(data.rows)}
    ms = 1e-6
    colours = {sc: PALETTE[i % len(PALETTE)] for i, sc in enumerate(data.scs)}
    handles: list[Any] = []
    for window in data.deploys:
        ax.axvspan(window.start * ms, window.end * ms, color="#fff2a8", zorder=0)
        ax.text(
            window.start * ms, -0.88, f" deploy {_label(window.name)}", fontsize=8,
            va="top", ha="left", parse_math=False, clip_on=True,
        )  # fmt: skip
    if data.deploys:
        handles.append(Patch(color="#fff2a8", label="deploy (request to start)"))
    if data.throttled:
        by_row: defaultdict[int, list[tuple[float, float]]] = defaultdict(list)
        for bar in data.throttled:
            by_row[y[bar.thread]].append((bar.start * ms, (bar.end - bar.start) * ms))
        for i, spans in by_row.items():
            ax.broken_barh(spans, (i - 0.08, 0.16), facecolors="#c8c8c8", zorder=1)
        handles.append(Patch(color="#c8c8c8", label="in the release queue"))
    groups: defaultdict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for bar in data.bars:
        groups[y[bar.thread], bar.sc].append((bar.start * ms, (bar.end - bar.start) * ms))
    for (i, sc), spans in groups.items():
        colour = colours.get(sc, NO_SC)
        # the edge keeps a bar narrower than a pixel visible as a hairline
        ax.broken_barh(
            spans, (i - 0.3, 0.6), facecolors=colour, edgecolor=colour, linewidth=0.6, zorder=2
        )
    used = {bar.sc for bar in data.bars}
    for sc, name in data.scs.items():
        if sc in used:
            handles.append(Patch(color=colours[sc], label=f"on SC {_label(name)}"))
    if used - set(data.scs):
        handles.append(Patch(color=NO_SC, label="on no known SC"))
    markers = (
        (data.releases, 0.36, "^", "#222222", 6, "release"),
        (data.deadlines, -0.36, "v", "#222222", 6, "deadline"),
        (data.exhaustions, 0.0, "|", "#000000", 14, "budget exhausted"),
        (data.faults, 0.0, "*", "#e000e0", 11, "fault"),
        (data.misses, 0.0, "x", "#d62728", 10, "deadline miss"),
    )
    for marks, dy, shape, colour, size, label in markers:
        if not marks:
            continue
        xs = [m.t * ms for m in marks]
        ys = [y[m.thread] + dy for m in marks]
        ax.plot(xs, ys, linestyle="none", marker=shape, color=colour, markersize=size,
                markeredgewidth=2 if shape in "x|" else 1, zorder=3, clip_on=False)  # fmt: skip
        handles.append(Line2D([], [], linestyle="none", marker=shape, color=colour,
                              markersize=size, markeredgewidth=2 if shape in "x|" else 1,
                              label=label))  # fmt: skip
    ax.set_yticks(range(len(data.rows)), labels=[_label(name) for _, name in data.rows])
    for text in ax.get_yticklabels():
        text.set_parse_math(False)
    ax.set_ylim(rows - 0.5, -0.9 if data.deploys else -0.6)
    ax.set_xlim(data.start * ms, max(data.end, data.start + 1) * ms)
    ax.set_xlabel("simulated time (ms)")
    ax.grid(axis="x", color="#e0e0e0", zorder=0)
    ax.set_axisbelow(True)
    ax.set_title(
        f"{_label(data.system)}: who ran when, {data.start * ms:g} to {data.end * ms:g} ms",
        parse_math=False,
    )
    if data.notes:
        ax.text(0.995, 0.01, "; ".join(data.notes), transform=ax.transAxes, ha="right",
                va="bottom", fontsize=8, color="#a00000", parse_math=False,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})  # fmt: skip
    if handles:
        legend = fig.legend(handles=handles, loc="outside lower center",
                            ncols=min(len(handles), 6), fontsize=8, frameon=False)  # fmt: skip
        for text in legend.get_texts():
            text.set_parse_math(False)
    return fig


@dataclass
class TaskSamples:
    """One task's per-job latency and response times (ns), as the summary computes them."""

    name: str
    jobs: int
    misses: int
    latency: list[int]
    response: list[int]


@dataclass
class DistributionData:
    system: str
    tasks: list[TaskSamples]
    truncated: bool


def distribution_data(trace_path: str | os.PathLike[str]) -> DistributionData:
    """Per task, latency (start - release) and response (end - release) of each job, in one
    streaming pass with the summary's rules, tasks in the summary's order."""
    with TraceReader(trace_path) as reader:
        threads = thread_table(reader.header)
        system = reader.header.get("system")
        home: dict[int, int] = {}
        releases: defaultdict[int, int] = defaultdict(int)
        misses: defaultdict[int, int] = defaultdict(int)
        latency: defaultdict[int, array] = defaultdict(lambda: array("q"))
        response: defaultdict[int, array] = defaultdict(lambda: array("q"))
        open_jobs: defaultdict[int, dict[int, int]] = defaultdict(dict)
        for record in reader:
            kind = record[0]
            if kind == JOB_RELEASE:
                releases[record[2]] += 1
                open_jobs[record[2]][record[3]] = record[1]
            elif kind == JOB_START:
                released = open_jobs[record[2]].get(record[3])
                if released is not None:
                    latency[record[2]].append(record[1] - released)
            elif kind == JOB_END:
                released = open_jobs[record[2]].pop(record[3], None)
                if released is not None:
                    response[record[2]].append(record[1] - released)
            elif kind == DEADLINE_MISS:
                misses[record[2]] += 1
            elif kind == THREAD_NEW:
                add_thread(threads, home, record)
        truncated = reader.truncated
    names = {tid: name for tid, (name, _) in threads.items()}
    tasks = [
        TaskSamples(name, releases[tid], misses[tid], list(latency[tid]), list(response[tid]))
        for tid, name in task_names(names, releases).items()
    ]
    name = system.get("name") if isinstance(system, dict) else None
    return DistributionData(str(name if name is not None else "?"), tasks, truncated)


def _nearest_rank(ordered: np.ndarray, percent: int) -> int:
    rank = -(-percent * len(ordered) // 100)
    return int(ordered[max(rank, 1) - 1])


def _histogram(ax: Any, samples: list[int], what: str, task: TaskSamples) -> None:
    """A histogram in the unit that suits its largest sample, p50/p99/max marked."""
    jobs = f"{len(samples)} job" + ("" if len(samples) == 1 else "s")
    ax.set_title(f"{_label(task.name)}: {what} ({jobs})", fontsize=9,
                 parse_math=False)  # fmt: skip
    if not samples:
        ax.text(0.5, 0.5, f"no {what} samples", transform=ax.transAxes, ha="center",
                va="center", color="#a00000")  # fmt: skip
        ax.set_yticks([])
        return
    ordered = np.sort(np.asarray(samples, dtype=np.int64))
    scale, unit = next(
        ((s, u) for s, u in ((1_000_000, "ms"), (1_000, "us")) if ordered[-1] >= 10 * s),
        (1, "ns"),
    )
    low, high = ordered[0] / scale, ordered[-1] / scale
    if low == high:  # one value: a bar one unit wide, not a range of fractions of a ns
        ax.text(0.02, 0.9, f"all {len(ordered)}: {format_ns(int(ordered[0]))}", fontsize=8,
                transform=ax.transAxes)  # fmt: skip
        low, high = low - 1, high + 1
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    bins = 40 if ordered[0] < ordered[-1] else 41  # an odd count centres the single value
    counts, _, _ = ax.hist(ordered / scale, bins=bins, range=(low, high), color="#1f77b4")
    nonzero = counts[counts > 0]
    if len(nonzero) and nonzero.max() > 20 * nonzero.min():
        ax.set_yscale("log")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for percent, style in ((50, "--"), (99, ":")):
        value = _nearest_rank(ordered, percent)
        ax.axvline(value / scale, color="#222222", linestyle=style, linewidth=1,
                   label=f"p{percent} {format_ns(value)}")  # fmt: skip
    ax.axvline(ordered[-1] / scale, color="#d62728", linewidth=1,
               label=f"max {format_ns(int(ordered[-1]))}")  # fmt: skip
    ax.set_xlabel(f"{what} ({unit})", fontsize=8)
    ax.set_ylabel("jobs", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, loc="upper right")


def draw_distributions(data: DistributionData) -> Figure:
    """For each task (up to ``MAX_TASKS``) a latency and a response-time histogram."""
    shown = data.tasks[:MAX_TASKS]
    fig = _new_figure(DIST_BASE_IN + DIST_TASK_IN * max(len(shown), 1))
    notes = []
    if data.truncated:
        notes.append("truncated trace: only the jobs before the cut")
    if len(data.tasks) > len(shown):
        notes.append(f"first {len(shown)} of {len(data.tasks)} tasks")
    title = f"{_label(data.system)}: latency and response time per task"
    fig.suptitle(title + (f"\n({'; '.join(notes)})" if notes else ""), parse_math=False)
    if not shown:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no jobs in this trace: nothing to plot", ha="center", va="center",
                transform=ax.transAxes, color="#a00000")  # fmt: skip
        return fig
    axes = fig.subplots(len(shown), 2, squeeze=False)
    for task, (left, right) in zip(shown, axes, strict=True):
        _histogram(left, task.latency, "latency", task)
        _histogram(right, task.response, "response", task)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes, for pages that inline their pictures."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def gantt(
    trace_path: str | os.PathLike[str],
    out_png: str | os.PathLike[str],
    start: int | None = None,
    end: int | None = None,
) -> Path:
    """Draw the Gantt of ``[start, end]`` ns of a trace (default: its first 100 ms, which
    bounds the memory it takes) into ``out_png``; returns the path written."""
    out = Path(out_png)
    out.write_bytes(png_bytes(draw_gantt(gantt_data(trace_path, start, end))))
    return out


def distributions(trace_path: str | os.PathLike[str], out_png: str | os.PathLike[str]) -> Path:
    """Draw each task's latency and response-time histograms into ``out_png``; returns it."""
    out = Path(out_png)
    out.write_bytes(png_bytes(draw_distributions(distribution_data(trace_path))))
    return out
