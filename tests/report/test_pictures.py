"""The Gantt and the distributions of small hand-made traces: the numbers each picture draws
(exact), then the PNG files (valid, of the documented pixel size, with the bars in them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib", reason="the report extra (matplotlib) is not installed")

from matplotlib.image import imread  # noqa: E402 - after the importorskip

from sporadic.records import (  # noqa: E402
    BUDGET_EXHAUSTED,
    DEADLINE_MISS,
    DEPLOY,
    FAULT,
    JOB_END,
    JOB_RELEASE,
    JOB_START,
    POSTPONE,
    PREEMPT,
    REFILL_RELEASE,
    SWITCH,
    THREAD_NEW,
    TIMEOUT_FAULT,
)
from sporadic.report.pictures import (  # noqa: E402
    PALETTE,
    Bar,
    Mark,
    TaskSamples,
    Window,
    distribution_data,
    distributions,
    draw_gantt,
    gantt,
    gantt_data,
)
from sporadic.traces.writer import TraceWriter  # noqa: E402

US, MS = 1_000, 1_000_000

# As the simulator writes it: a partition (ctl) calls a passive server (srv, no SC of its own),
# a script thread (bg) runs out of budget; a module (mod) is deployed during the run.
HEADER: dict[str, Any] = {
    "system": {"name": "demo", "path": "demo.toml"},
    "threads": [
        {"id": 0, "name": "idle", "kind": "idle", "priority": 0, "domain": 0},
        {"id": 1, "name": "ctl", "kind": "partition", "priority": 200, "domain": 0},
        {"id": 2, "name": "srv", "kind": "pd", "priority": 150, "domain": 0},
        {"id": 3, "name": "bg", "kind": "thread", "priority": 10, "domain": 0},
    ],
    "scs": [
        {
            "id": 0,
            "name": "ctl",
            "budget": 500 * US,
            "period": MS,
            "extra_refills": 0,
            "sporadic": False,
            "home": 1,
        },
        {
            "id": 1,
            "name": "bg",
            "budget": 200 * US,
            "period": 500 * US,
            "extra_refills": 0,
            "sporadic": False,
            "home": 3,
        },
    ],  # fmt: skip
    "seed": 7,
    "duration": 3 * MS,
}

RECORDS: list[tuple] = [
    (JOB_RELEASE, 0, 1, 1, 1 * MS),
    (SWITCH, 0, 0, 1, 0),
    (JOB_START, 0, 1, 1),
    (SWITCH, 100 * US, 1, 2, 0),  # srv runs on ctl's SC
    (SWITCH, 300 * US, 2, 1, 0),
    (JOB_END, 400 * US, 1, 1),
    (SWITCH, 400 * US, 1, 3, 1),
    (BUDGET_EXHAUSTED, 600 * US, 3, 1),
    (POSTPONE, 600 * US, 3, 1, 900 * US),
    (SWITCH, 600 * US, 3, 0, -1),
    (REFILL_RELEASE, 900 * US, 3, 1),
    (SWITCH, 900 * US, 0, 3, 1),
    (JOB_RELEASE, 1 * MS, 1, 2, 2 * MS),
    (PREEMPT, 1 * MS, 3, 1),
    (SWITCH, 1 * MS, 3, 1, 0),
    (JOB_START, 1 * MS, 1, 2),
    (TIMEOUT_FAULT, 1400 * US, 1, 0, 0, 400 * US),
    (SWITCH, 1400 * US, 1, 3, 1),
    (DEPLOY, 1500 * US, "mod", "request", {"request": 1, "size": 10, "source": "script"}),
    (DEADLINE_MISS, 2 * MS, 1, 2, 2 * MS),
    (THREAD_NEW, 2100 * US, 4, "mod", "module", 20, 0, 2, MS, 10 * MS),
    (DEPLOY, 2100 * US, "mod", "instantiate", {"thread": 4, "cost": 0, "request": 1}),
    (DEPLOY, 2100 * US, "mod", "start", {"thread": 4, "request": 1}),
    (SWITCH, 2200 * US, 3, 4, 2),
    (FAULT, 2300 * US, 4, 0, "unreachable executed"),
    (SWITCH, 2300 * US, 4, 0, -1),
]


def write_trace(
    path: Path,
    records: list[tuple] = RECORDS,
    header: dict[str, Any] = HEADER,
    end: int | None = 3 * MS,
) -> Path:
    """A trace as the simulator writes it; ``end=None`` leaves it truncated (no footer)."""
    writer = TraceWriter(path, header)
    for record in records:
        writer.emit(record)
    if end is None:
        writer.abandon()
    else:
        writer.close(end)
    return path


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's signature and IHDR chunk, refusing anything else."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def pixels_of(path: Path, colour: str) -> int:
    """How many pixels of the PNG are exactly ``colour`` (#rrggbb)."""
    rgb = (imread(path)[:, :, :3] * 255).round().astype(int)
    want = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return int((rgb == want).all(axis=-1).sum())


def test_gantt_data_holds_bars_by_sc_markers_and_deploy_windows(tmp_path: Path) -> None:
    data = gantt_data(write_trace(tmp_path / "demo.trace"))
    assert (data.system, data.start, data.end, data.truncated) == ("demo", 0, 3 * MS, False)
    assert data.rows == [(1, "ctl"), (2, "srv"), (3, "bg"), (4, "mod")]
    assert data.scs == {0: "ctl", 1: "bg", 2: "mod"}
    assert data.bars == [
        Bar(1, 0, 100 * US, 0),
        Bar(2, 100 * US, 300 * US, 0),  # the passive server in its client's colour
        Bar(1, 300 * US, 400 * US, 0),
        Bar(3, 400 * US, 600 * US, 1),
        Bar(3, 900 * US, 1 * MS, 1),
        Bar(1, 1 * MS, 1400 * US, 0),
        Bar(3, 1400 * US, 2200 * US, 1),
        Bar(4, 2200 * US, 2300 * US, 2),
    ]
    assert data.throttled == [Bar(3, 600 * US, 900 * US, 1)]
    assert data.releases == [Mark(1, 0), Mark(1, 1 * MS)]
    assert data.deadlines == [Mark(1, 1 * MS), Mark(1, 2 * MS)]
    assert data.misses == [Mark(1, 2 * MS)]
    assert data.exhaustions == [Mark(3, 600 * US)]
    assert data.faults == [Mark(1, 1400 * US), Mark(4, 2300 * US)]
    assert data.deploys == [Window("mod", 1500 * US, 2100 * US)]
    assert data.notes == []


def test_gantt_data_clips_to_its_window_and_keeps_earlier_jobs_deadlines(tmp_path: Path) -> None:
    data = gantt_data(write_trace(tmp_path / "demo.trace"), start=500 * US, end=1200 * US)
    assert (data.start, data.end) == (500 * US, 1200 * US)
    assert data.bars == [
        Bar(3, 500 * US, 600 * US, 1),
        Bar(3, 900 * US, 1 * MS, 1),
        Bar(1, 1 * MS, 1200 * US, 0),
    ]
    assert data.rows == [(1, "ctl"), (2, "srv"), (3, "bg")]  # mod is made after the window
    assert data.releases == [Mark(1, 1 * MS)]
    assert data.deadlines == [Mark(1, 1 * MS)]  # job 1, released at 0 before the window
    assert data.throttled == [Bar(3, 600 * US, 900 * US, 1)]
    assert (data.misses, data.faults, data.deploys) == ([], [], [])
    assert data.notes == ["showing 700us of a 3ms run"]


def test_gantt_data_draws_a_deploy_still_in_flight_to_the_windows_end(tmp_path: Path) -> None:
    data = gantt_data(write_trace(tmp_path / "demo.trace"), start=1 * MS, end=1800 * US)
    assert data.deploys == [Window("mod", 1500 * US, 1800 * US)]


def test_gantt_data_defaults_to_the_first_100ms_and_stops_reading_there(tmp_path: Path) -> None:
    # 300 ms of two threads taking turns every 10 ms, cut (no footer) at 250 ms: a window
    # that read past 100 ms would have met the cut and said "truncated".
    header = {**HEADER, "duration": 300 * MS}
    records = [(SWITCH, t * 10 * MS, 1 + t % 2, 2 - t % 2, (t + 1) % 2) for t in range(26)]
    data = gantt_data(write_trace(tmp_path / "long.trace", records, header, end=None))
    assert (data.start, data.end, data.truncated) == (0, 100 * MS, False)
    assert len(data.bars) == 10
    assert data.bars[0] == Bar(2, 0, 10 * MS, 1)
    assert data.bars[-1] == Bar(1, 90 * MS, 100 * MS, 0)
    assert data.notes == ["showing 100ms of a 300ms run", "no job released in this window"]


def test_gantt_data_of_a_truncated_trace_ends_at_its_last_record(tmp_path: Path) -> None:
    cut = write_trace(tmp_path / "cut.trace", RECORDS[:18], end=None)  # up to 1.4 ms
    data = gantt_data(cut)
    assert (data.end, data.truncated) == (1400 * US, True)
    assert data.bars[-1] == Bar(1, 1 * MS, 1400 * US, 0)
    assert data.notes == ["truncated trace: the run stopped at 1.4ms"]


def test_gantt_data_of_a_trace_cut_inside_a_record_keeps_the_whole_records(
    tmp_path: Path,
) -> None:
    whole = write_trace(tmp_path / "whole.trace").read_bytes()
    cut = tmp_path / "cut.trace"
    cut.write_bytes(whole[: len(whole) - 40])  # the footer and part of the last records
    data = gantt_data(cut)
    assert data.truncated is True
    assert data.bars[:3] == [
        Bar(1, 0, 100 * US, 0),
        Bar(2, 100 * US, 300 * US, 0),
        Bar(1, 300 * US, 400 * US, 0),
    ]


def test_gantt_data_of_a_window_after_the_run_is_empty_with_a_note(tmp_path: Path) -> None:
    data = gantt_data(write_trace(tmp_path / "demo.trace"), start=5 * MS, end=6 * MS)
    assert (data.start, data.end, data.bars, data.releases) == (5 * MS, 5 * MS, [], [])
    assert data.notes == [
        "the run ended before 5ms",
        "no thread ran in this window",
        "no job released in this window",
    ]
    assert png_size(gantt(tmp_path / "demo.trace", tmp_path / "after.png", 5 * MS)) == (1200, 420)


def test_gantt_data_refuses_an_empty_window(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="window is empty"):
        gantt_data(write_trace(tmp_path / "demo.trace"), start=2 * MS, end=2 * MS)


def test_gantt_png_is_1200_wide_and_45px_a_row_with_the_sc_colours(tmp_path: Path) -> None:
    out = gantt(write_trace(tmp_path / "demo.trace"), tmp_path / "demo.png")
    assert out == tmp_path / "demo.png"
    assert png_size(out) == (1200, 420)  # 2.4 in + 4 rows of 0.45 in, at 100 dpi
    assert pixels_of(out, PALETTE[0]) > 1000  # ctl's SC: ctl and srv
    assert pixels_of(out, PALETTE[1]) > 1000  # bg's SC
    assert pixels_of(out, "#d62728") > 10  # the deadline miss


def test_gantt_of_a_trace_with_no_records_is_drawn_with_a_note(tmp_path: Path) -> None:
    empty = write_trace(tmp_path / "empty.trace", [])
    data = gantt_data(empty)
    assert data.notes == ["no thread ran in this window", "no job released in this window"]
    assert png_size(gantt(empty, tmp_path / "empty.png")) == (1200, 375)  # the 3 header rows


def test_gantt_of_a_truncated_trace_is_drawn(tmp_path: Path) -> None:
    cut = write_trace(tmp_path / "cut.trace", RECORDS[:18], end=None)
    assert png_size(gantt(cut, tmp_path / "cut.png")) == (1200, 375)  # mod not made: 3 rows


def test_gantt_draws_names_with_dollars_as_text_not_mathtext(tmp_path: Path) -> None:
    threads = [dict(t) for t in HEADER["threads"]]
    threads[1]["name"] = r"$\notacommand{$ ctl"
    header = {**HEADER, "threads": threads, "system": {"name": "$$"}}
    fig = draw_gantt(gantt_data(write_trace(tmp_path / "dollars.trace", header=header)))
    fig.canvas.draw()  # mathtext would raise ValueError on \notacommand
    labels = [text.get_text() for text in fig.axes[0].get_yticklabels()]
    assert labels == [r"$\notacommand{$ ctl", "srv", "bg", "mod"]


def test_distribution_data_has_the_summarys_samples_per_task(tmp_path: Path) -> None:
    data = distribution_data(write_trace(tmp_path / "demo.trace"))
    assert (data.system, data.truncated) == ("demo", False)
    assert data.tasks == [TaskSamples("ctl", jobs=2, misses=1, latency=[0, 0], response=[400 * US])]


def test_distributions_png_has_one_row_of_plots_per_task(tmp_path: Path) -> None:
    records = [
        *RECORDS[:6],
        (JOB_RELEASE, 450 * US, 3, 1, 2 * MS),
        (JOB_START, 500 * US, 3, 1),
        (JOB_END, 520 * US, 3, 1),
    ]
    records.sort(key=lambda r: r[1])
    trace = write_trace(tmp_path / "two.trace", records)
    assert [task.name for task in distribution_data(trace).tasks] == ["ctl", "bg"]
    out = distributions(trace, tmp_path / "two.png")
    assert png_size(out) == (1200, 540)  # 1 in + 2 tasks of 2.2 in, at 100 dpi


def test_distributions_of_a_trace_without_jobs_is_a_note(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "nojobs.trace", [r for r in RECORDS if r[0] == SWITCH])
    assert distribution_data(trace).tasks == []
    assert png_size(distributions(trace, tmp_path / "nojobs.png")) == (1200, 320)


def test_distributions_of_a_truncated_trace_keeps_the_jobs_before_the_cut(
    tmp_path: Path,
) -> None:
    trace = write_trace(tmp_path / "cut.trace", RECORDS[:13], end=None)  # job 2 released
    data = distribution_data(trace)
    assert data.truncated is True
    assert data.tasks == [TaskSamples("ctl", jobs=2, misses=0, latency=[0], response=[400 * US])]
    assert png_size(distributions(trace, tmp_path / "cut.png")) == (1200, 320)
