"""summarise() on handcrafted traces, and its rendering."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from rich.console import Console

from sporadic.records import (
    BUDGET_EXHAUSTED,
    DEADLINE_MISS,
    JOB_END,
    JOB_RELEASE,
    JOB_START,
    LOG,
    PREEMPT,
    SWITCH,
)
from sporadic.traces import TraceReader, TraceWriter, render_summary, summarise
from sporadic.traces.metrics import STAT_KEYS
from sporadic.traces.table import format_ns

IDLE, CTL, SENSOR, LOGGER = 0, 1, 2, 3

# Header order differs from id order and from first appearance: tasks follow the header.
HEADER = {
    "system": {"name": "two-tasks"},
    "threads": [
        {"id": IDLE, "name": "idle"},
        {"id": SENSOR, "name": "sensor"},
        {"id": CTL, "name": "ctl"},
        {"id": LOGGER, "name": "logger"},
    ],
    # logger runs on ctl's SC (as a passive server on a donated SC would): charged to ctl
    "scs": [{"id": 4, "name": "ctl", "home": CTL}, {"id": 7, "name": "sensor", "home": SENSOR}],
    "seed": 1,
    "duration": 3_200,
}

LOGS = [{"t": 700, "task": "logger", "line": "tick"}]

# ctl: period 1000, jobs released at 0, 1000, 2000; job 2 never completes.
# sensor: period 1500, jobs released at 0, 1500; job 1 is released while job 0 still runs.
# logger: no jobs, so not a task, but it takes CPU time.
RECORDS = [
    (JOB_RELEASE, 0, CTL, 0, 1_000),
    (JOB_RELEASE, 0, SENSOR, 0, 1_500),
    (SWITCH, 0, IDLE, CTL, 4),
    (JOB_START, 10, CTL, 0),
    (JOB_END, 200, CTL, 0),
    (SWITCH, 200, CTL, SENSOR, 7),
    (JOB_START, 230, SENSOR, 0),
    (BUDGET_EXHAUSTED, 600, SENSOR, 7),
    (SWITCH, 600, SENSOR, LOGGER, 4),
    (LOG, 700, LOGGER, "tick"),
    (SWITCH, 800, LOGGER, SENSOR, 7),
    (JOB_RELEASE, 1_000, CTL, 1, 2_000),
    (PREEMPT, 1_000, SENSOR, CTL),  # inside sensor job 0: counted
    (SWITCH, 1_000, SENSOR, CTL, 4),
    (JOB_START, 1_050, CTL, 1),
    (JOB_END, 1_400, CTL, 1),
    (PREEMPT, 1_400, CTL, SENSOR),  # ctl has no job in progress: not counted
    (SWITCH, 1_400, CTL, SENSOR, 7),
    (JOB_RELEASE, 1_500, SENSOR, 1, 3_000),
    (DEADLINE_MISS, 1_500, SENSOR, 0, 1_500),
    (JOB_END, 1_700, SENSOR, 0),
    (JOB_START, 1_700, SENSOR, 1),
    (JOB_RELEASE, 2_000, CTL, 2, 3_000),
    (PREEMPT, 2_000, SENSOR, CTL),  # inside sensor job 1: counted
    (SWITCH, 2_000, SENSOR, CTL, 4),
    (JOB_START, 2_100, CTL, 2),
    (BUDGET_EXHAUSTED, 2_300, CTL, 4),
    (SWITCH, 2_300, CTL, SENSOR, 7),
    (JOB_END, 2_600, SENSOR, 1),
    (SWITCH, 2_600, SENSOR, IDLE, -1),
    (SWITCH, 2_900, IDLE, CTL, 4),
    (PREEMPT, 2_950, CTL, LOGGER),  # inside ctl job 2: counted
    (SWITCH, 2_950, CTL, LOGGER, 4),
    (DEADLINE_MISS, 3_000, CTL, 2, 3_000),
]

# ctl     latency  [10, 50, 100]   response [200, 400]
# sensor  latency  [230, 200]      response [1700, 1100]
# ctl cpu 0-200, 1000-1400, 2000-2300, 2900-2950; sensor 200-600, 800-1000, 1400-2000, 2300-2600.
SENSOR_FULL = {
    "jobs": 2,
    "misses": 1,
    "latency": {
        "min": 200,
        "mean": 215,
        "p50": 200,
        "p90": 230,
        "p99": 230,
        "p999": 230,
        "max": 230,
        "std": 15,
    },
    "response": {
        "min": 1_100,
        "mean": 1_400,
        "p50": 1_100,
        "p90": 1_700,
        "p99": 1_700,
        "p999": 1_700,
        "max": 1_700,
        "std": 300,
    },
    "latency_jitter": 30,
    "response_jitter": 600,
    "latency_std": 15,
    "response_std": 300,
    "cpu": 1_500,
    # per job window: [0, 1500) 200-600, 800-1000, 1400-1500; [1500, end) 1500-2000, 2300-2600
    "cpu_window": {
        "min": 700,
        "mean": 750,
        "p50": 700,
        "p90": 800,
        "p99": 800,
        "p999": 800,
        "max": 800,
        "std": 50,
    },
    "charged": 1_500,
    "preemptions": 2,
    "budget_exhaustions": 1,
    # job 0 missed its deadline of 1500 and ended at 1700
    "tardiness": {"count": 1, "max": 200, "mean": 200},
}
CTL_FULL = {
    "jobs": 3,
    "misses": 1,
    # mean 160/3 = 53.3; population std sqrt(12200/9) = 36.8
    "latency": {
        "min": 10,
        "mean": 53,
        "p50": 50,
        "p90": 100,
        "p99": 100,
        "p999": 100,
        "max": 100,
        "std": 37,
    },
    "response": {
        "min": 200,
        "mean": 300,
        "p50": 200,
        "p90": 400,
        "p99": 400,
        "p999": 400,
        "max": 400,
        "std": 100,
    },
    "latency_jitter": 90,
    "response_jitter": 200,
    "latency_std": 37,
    "response_std": 100,
    "cpu": 950,
    # per job window: [0, 1000) 200; [1000, 2000) 400; [2000, end) 300 + 50 (also cut at 3000)
    "cpu_window": {
        "min": 200,
        "mean": 317,
        "p50": 350,
        "p90": 400,
        "p99": 400,
        "p999": 400,
        "max": 400,
        "std": 85,
    },
    "charged": 950 + 450,
    "preemptions": 1,
    "budget_exhaustions": 1,
    "served": 450,  # logger on ctl's SC: 600-800 and 2950-3200
    # job 2 missed its deadline but never ended: no tardiness
    "tardiness": {"count": 0, "max": None, "mean": None},
}


class Crash(Exception):
    """Stands for the simulation dying before it could close the trace."""


def write(path: Path, records: list[tuple], end: int | None, header: dict = HEADER) -> Path:
    """A trace file; ``end=None`` leaves it without a footer, as a crashed run would."""
    with contextlib.suppress(Crash), TraceWriter(path, header) as writer:
        for record in records:
            writer.emit(record)
        if end is None:
            raise Crash
        writer.close(end)
    return path


def summary_of(path: Path) -> dict:
    with TraceReader(path) as reader:
        return summarise(reader)


def test_two_tasks_exact_summary(tmp_path: Path) -> None:
    summary = summary_of(write(tmp_path / "run.trace", RECORDS, end=3_200))

    assert summary == {
        "tasks": {"sensor": SENSOR_FULL, "ctl": CTL_FULL},
        "duration": 3_200,
        "truncated": False,
        "logs": LOGS,
    }
    assert list(summary["tasks"]) == ["sensor", "ctl"]
    assert json.loads(json.dumps(summary)) == summary


def test_truncated_trace_ends_at_last_record(tmp_path: Path) -> None:
    summary = summary_of(write(tmp_path / "run.trace", RECORDS, end=None))

    # The tasks' own intervals closed before t=3000; only logger's last one, on ctl's SC, is
    # cut to 2950-3000, so ctl is charged 200 less.
    assert summary == {
        "tasks": {
            "sensor": SENSOR_FULL,
            "ctl": {**CTL_FULL, "charged": 950 + 200 + 50, "served": 250},
        },
        "duration": 3_000,
        "truncated": True,
        "logs": LOGS,
    }


def test_truncated_mid_run_closes_running_interval(tmp_path: Path) -> None:
    cut = RECORDS.index((JOB_RELEASE, 1_500, SENSOR, 1, 3_000)) + 1
    summary = summary_of(write(tmp_path / "run.trace", RECORDS[:cut], end=None))

    assert summary == {
        "tasks": {
            "sensor": {
                "jobs": 2,
                "misses": 0,
                "latency": dict.fromkeys(STAT_KEYS, 230) | {"std": 0},
                "response": dict.fromkeys(STAT_KEYS),
                "latency_jitter": 0,
                "response_jitter": None,
                "latency_std": 0,
                "response_std": None,
                # 200-600, 800-1000, and 1400 to the last record at 1500.
                "cpu": 700,
                # the window of job 1, released at the last record, is empty
                "cpu_window": {
                    "min": 0,
                    "mean": 350,
                    "p50": 0,
                    "p90": 700,
                    "p99": 700,
                    "p999": 700,
                    "max": 700,
                    "std": 350,
                },
                "charged": 700,
                "preemptions": 1,
                "budget_exhaustions": 1,
                "tardiness": {"count": 0, "max": None, "mean": None},
            },
            "ctl": {
                "jobs": 2,
                "misses": 0,
                "latency": {
                    "min": 10,
                    "mean": 30,
                    "p50": 10,
                    "p90": 50,
                    "p99": 50,
                    "p999": 50,
                    "max": 50,
                    "std": 20,
                },
                "response": {
                    "min": 200,
                    "mean": 300,
                    "p50": 200,
                    "p90": 400,
                    "p99": 400,
                    "p999": 400,
                    "max": 400,
                    "std": 100,
                },
                "latency_jitter": 40,
                "response_jitter": 200,
                "latency_std": 20,
                "response_std": 100,
                "cpu": 600,
                "cpu_window": {
                    "min": 200,
                    "mean": 300,
                    "p50": 200,
                    "p90": 400,
                    "p99": 400,
                    "p999": 400,
                    "max": 400,
                    "std": 100,
                },
                "charged": 600 + 200,  # logger ran 600-800 on ctl's SC
                "preemptions": 0,
                "budget_exhaustions": 0,
                "served": 200,
                "tardiness": {"count": 0, "max": None, "mean": None},
            },
        },
        "duration": 1_500,
        "truncated": True,
        "logs": LOGS,
    }


def test_percentiles_are_nearest_rank(tmp_path: Path) -> None:
    # 200 jobs with latencies 1..200 (shuffled order), response = latency + 1000.
    latencies = [(i * 37) % 200 + 1 for i in range(200)]
    records = []
    for job, lat in enumerate(latencies):
        release = job * 10_000
        records += [
            (JOB_RELEASE, release, CTL, job, release + 5_000),
            (JOB_START, release + lat, CTL, job),
            (JOB_END, release + lat + 1_000, CTL, job),
        ]
    summary = summary_of(write(tmp_path / "run.trace", records, end=2_000_000))

    ctl = summary["tasks"]["ctl"]
    # nearest rank of 200: p90 the 180th, p99 the 198th, p999 the 200th (ceil(199.8))
    assert ctl["latency"] == {
        "min": 1,
        "mean": 100,
        "p50": 100,
        "p90": 180,
        "p99": 198,
        "p999": 200,
        "max": 200,
        "std": 58,
    }
    assert ctl["response"] == {
        "min": 1_001,
        "mean": 1_100,
        "p50": 1_100,
        "p90": 1_180,
        "p99": 1_198,
        "p999": 1_200,
        "max": 1_200,
        "std": 58,
    }
    assert ctl["latency_jitter"] == 199
    # population std of 1..200 = sqrt((200**2 - 1) / 12) = 57.73
    assert ctl["latency_std"] == 58
    assert ctl["response_std"] == 58
    assert ctl["cpu"] == 0


def test_no_records_means_no_tasks(tmp_path: Path) -> None:
    assert summary_of(write(tmp_path / "empty.trace", [], end=5_000)) == {
        "tasks": {},
        "duration": 5_000,
        "truncated": False,
        "logs": [],
    }
    assert summary_of(write(tmp_path / "cut.trace", [], end=None)) == {
        "tasks": {},
        "duration": 0,
        "truncated": True,
        "logs": [],
    }


def test_unknown_and_duplicate_thread_names(tmp_path: Path) -> None:
    header = {"threads": [{"id": 1, "name": "worker"}, {"id": 2, "name": "worker"}]}
    records = [
        (JOB_RELEASE, 0, 9, 0, 100),
        (JOB_RELEASE, 0, 2, 0, 100),
        (JOB_RELEASE, 0, 1, 0, 100),
    ]
    summary = summary_of(write(tmp_path / "run.trace", records, end=100, header=header))

    assert list(summary["tasks"]) == ["worker", "worker#2", "thread-9"]
    assert [task["jobs"] for task in summary["tasks"].values()] == [1, 1, 1]


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (None, "-"),
        (0, "0ns"),
        (999, "999ns"),
        (1_000, "1us"),
        (1_234, "1.23us"),
        (12_345, "12.3us"),
        (412_000, "412us"),
        (999_600, "1ms"),
        (1_250_000, "1.25ms"),
        (10_000_000, "10ms"),
        (2_500_000_000, "2.5s"),
        (-1_500, "-1.5us"),
    ],
)
def test_format_ns(ns: int | None, text: str) -> None:
    assert format_ns(ns) == text


def test_render_summary(tmp_path: Path) -> None:
    summary = summary_of(write(tmp_path / "run.trace", RECORDS, end=None))
    console = Console(record=True, width=240, color_system=None)

    render_summary(summary, console)

    text = console.export_text()
    sensor_row = next(line for line in text.splitlines() if "sensor" in line)
    cells = [cell.strip() for cell in sensor_row.split("│")[1:-1]]
    assert cells == [
        "sensor",
        "2",
        "1",
        "200ns",
        "200ns",
        "230ns",
        "230ns",
        "30ns",
        "1.1us",
        "1.1us",
        "1.7us",
        "1.7us",
        "600ns",
        "1.5us",
        "1.5us",
        "2",
        "1",
    ]
    assert "simulated 3us" in text
    assert "TRUNCATED trace" in text
    assert "logger" not in text.split("program output")[0]  # not a task
    assert "700ns  logger: tick" in text


def test_render_summary_complete_trace_has_no_warning(tmp_path: Path) -> None:
    summary = summary_of(write(tmp_path / "run.trace", RECORDS, end=3_200))
    console = Console(record=True, width=240, color_system=None)

    render_summary(summary, console)

    text = console.export_text()
    assert "simulated 3.2us" in text
    assert "TRUNCATED" not in text
