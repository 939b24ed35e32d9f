"""Comparing two traces: better, equal, worse and disjoint runs, tolerances, and the output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from sporadic import records as ev
from sporadic.report.diff import Tolerance, diff, expand_fail_on
from sporadic.traces.writer import TraceWriter

US = 1_000
Job = tuple[int, int | None]  # (latency, response) in us; response None: never completed


def job_trace(
    path: Path, tasks: dict[str, list[Job]], misses: dict[str, int] | None = None
) -> Path:
    """A trace of tasks whose job k is released at k ms (task i at +i*100us) and runs from
    its start to its end; the first ``misses[name]`` jobs of a task miss their deadline."""
    names = list(tasks)
    threads = [{"id": 0, "name": "idle", "kind": "idle", "priority": 0, "domain": 0}]
    threads += [
        {"id": i, "name": name, "kind": "partition", "priority": 100, "domain": 0}
        for i, name in enumerate(names, 1)
    ]
    records = []
    for tid, name in enumerate(names, 1):
        for job, (latency, response) in enumerate(tasks[name], 1):
            release = job * 1000 * US + tid * 100 * US
            deadline = release + 1000 * US
            records.append((ev.JOB_RELEASE, release, tid, job, deadline))
            records.append((ev.JOB_START, release + latency * US, tid, job))
            records.append((ev.SWITCH, release + latency * US, 0, tid, -1))
            if response is not None:
                records.append((ev.JOB_END, release + response * US, tid, job))
                records.append((ev.SWITCH, release + response * US, tid, 0, -1))
            if job <= (misses or {}).get(name, 0):
                records.append((ev.DEADLINE_MISS, deadline, tid, job, deadline))
    records.sort(key=lambda record: record[1])
    writer = TraceWriter(path, {"threads": threads, "scs": [], "duration": 10_000 * US})
    for record in records:
        writer.emit(record)
    writer.close(10_000 * US)
    return path


BASE = {"control": [(20, 150), (30, 200), (120, 300)]}
WORSE = {"control": [(20, 150), (30, 200), (180, 450)]}
NO_REGRESSION = (
    "no regression (fail on misses, latency p99, latency max, response p99, response max)"
)
ALL_WORSE = [
    "control: misses 0 -> 2 (+2)",
    "control: latency p99 120us -> 180us (+50%)",
    "control: latency max 120us -> 180us (+50%)",
    "control: response p99 300us -> 450us (+50%)",
    "control: response max 300us -> 450us (+50%)",
]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return job_trace(tmp_path / "base.trace", BASE)


@pytest.fixture
def worse(tmp_path: Path) -> Path:
    return job_trace(tmp_path / "worse.trace", WORSE, misses={"control": 2})


def rendered(result: object) -> list[str]:
    console = Console(file=io.StringIO(), width=200, color_system=None, highlight=False)
    result.render(console)  # type: ignore[attr-defined]
    return [line.rstrip() for line in console.file.getvalue().splitlines()]  # type: ignore[attr-defined]


def test_diff_of_a_trace_with_itself_is_ok_with_every_metric_unchanged(base: Path) -> None:
    result = diff(base, base)
    assert result.ok
    assert result.worse == [] and result.added == [] and result.removed == []
    assert result.tasks == {
        "control": {
            "jobs": (3, 3),
            "misses": (0, 0),
            "latency.p99": (120 * US, 120 * US),
            "latency.max": (120 * US, 120 * US),
            "response.p99": (300 * US, 300 * US),
            "response.max": (300 * US, 300 * US),
            "cpu": (480 * US, 480 * US),
        }
    }
    assert rendered(result)[-1] == NO_REGRESSION


def test_diff_of_a_faster_run_is_ok(tmp_path: Path, base: Path) -> None:
    faster = job_trace(tmp_path / "fast.trace", {"control": [(10, 100), (10, 100), (10, 100)]})
    result = diff(base, faster, fail_on="misses,p99,max,cpu")
    assert result.ok
    assert result.tasks["control"]["latency.max"] == (120 * US, 10 * US)
    assert result.tasks["control"]["cpu"] == (480 * US, 270 * US)


def test_diff_lists_each_chosen_metric_that_got_worse_with_its_change(
    base: Path, worse: Path
) -> None:
    result = diff(base, worse)
    assert not result.ok
    assert [str(r) for r in result.worse] == ALL_WORSE
    only_p99 = diff(base, worse, fail_on=["p99"])
    assert [str(r) for r in only_p99.worse] == [ALL_WORSE[1], ALL_WORSE[3]]
    cpu = diff(base, worse, fail_on="cpu")
    assert [str(r) for r in cpu.worse] == ["control: cpu 480us -> 570us (+19%)"]


def test_diff_percentage_tolerance_scales_durations_and_allows_misses_per_job(
    base: Path, worse: Path
) -> None:
    # +50% is not beyond 50%; 50% of 3 jobs lets 1 more miss through, not 2
    assert [str(r) for r in diff(base, worse, tolerance="50%").worse] == [ALL_WORSE[0]]
    assert [str(r) for r in diff(base, worse, tolerance="49.9%").worse] == ALL_WORSE
    assert diff(base, worse, tolerance="67%").ok


def test_diff_duration_tolerance_adds_to_durations_and_never_to_misses(
    base: Path, worse: Path
) -> None:
    result = diff(base, worse, tolerance="60us")
    assert [str(r) for r in result.worse] == [ALL_WORSE[0], ALL_WORSE[3], ALL_WORSE[4]]
    assert [str(r) for r in diff(base, worse, tolerance="59us").worse] == ALL_WORSE


def test_diff_of_disjoint_task_sets_lists_them_added_and_removed(
    tmp_path: Path, base: Path
) -> None:
    other = job_trace(tmp_path / "other.trace", {"logger": [(5, 50)], "control#2": [(1, 2)]})
    result = diff(base, other)
    assert result.ok
    assert result.tasks == {}
    assert result.added == ["logger", "control#2"]
    assert result.removed == ["control"]
    assert rendered(result)[-3:] == [
        "only in the new trace: logger, control#2",
        "removed: control",
        NO_REGRESSION,
    ]


def test_diff_from_zero_shows_the_absolute_change(tmp_path: Path) -> None:
    zero = job_trace(tmp_path / "zero.trace", {"control": [(0, 100)]})
    late = job_trace(tmp_path / "late.trace", {"control": [(5, 100)]})
    result = diff(zero, late, fail_on="p99")
    assert [str(r) for r in result.worse] == ["control: latency p99 0ns -> 5us (+5us)"]


def test_diff_does_not_compare_metrics_without_samples(tmp_path: Path) -> None:
    unfinished = job_trace(tmp_path / "a.trace", {"control": [(20, None)]})
    finished = job_trace(tmp_path / "b.trace", {"control": [(20, 900)]})
    result = diff(unfinished, finished)
    assert result.ok
    assert result.tasks["control"]["response.max"] == (None, 900 * US)


def test_diff_to_dict_is_json_with_each_regression(base: Path, worse: Path) -> None:
    data = json.loads(
        json.dumps(diff(base, worse, fail_on="misses,cpu", tolerance="10%").to_dict())
    )
    assert data["ok"] is False
    assert data["fail_on"] == ["misses", "cpu"]
    assert data["tolerance"] == "10%"
    assert data["duration"] == {"base": 10_000 * US, "new": 10_000 * US}
    assert data["tasks"]["control"]["latency.p99"] == {"base": 120 * US, "new": 180 * US}
    assert data["worse"] == [
        {
            "task": "control",
            "metric": "misses",
            "base": 0,
            "new": 2,
            "change": "+2",
            "message": "control: misses 0 -> 2 (+2)",
        },
        {
            "task": "control",
            "metric": "cpu",
            "base": 480 * US,
            "new": 570 * US,
            "change": "+19%",
            "message": "control: cpu 480us -> 570us (+19%)",
        },
    ]


def test_diff_render_shows_the_regressions_and_names_as_text(tmp_path: Path) -> None:
    base = job_trace(tmp_path / "a.trace", {"[red]x": [(10, 20)]})
    new = job_trace(tmp_path / "b.trace", {"[red]x": [(15, 20)]})
    lines = rendered(diff(base, new, fail_on="max", tolerance="1us"))
    assert any("[red]x" in line and "10us → 15us" in line for line in lines)
    assert lines[-2:] == [
        "1 regression (fail on latency max, response max, tolerance 1us):",
        "  [red]x: latency max 10us -> 15us (+50%)",
    ]


def test_diff_refuses_unknown_metrics_and_malformed_tolerances(base: Path) -> None:
    with pytest.raises(ValueError, match="cannot fail on 'jobs': choose among misses, p99, max"):
        diff(base, base, fail_on="misses,jobs")
    with pytest.raises(ValueError, match=r"tolerance '5 percent' is neither a percentage"):
        diff(base, base, tolerance="5 percent")


def test_expand_fail_on_orders_and_deduplicates_metrics() -> None:
    assert expand_fail_on("max,latency.max,misses") == ("misses", "latency.max", "response.max")
    assert Tolerance.parse("2.5%").percent is not None
    assert Tolerance.parse(" 10us ").ns == 10 * US
