"""summarise()'s faults, aborts, IPC blocking and server time, on hand-made traces."""

from __future__ import annotations

from pathlib import Path

from sporadic.records import (
    BLOCK,
    FAULT,
    JOB_ABORT,
    JOB_RELEASE,
    SWITCH,
    TIMEOUT_FAULT,
    WAKE,
)
from sporadic.scheduler.states import (
    BLOCKED_ON_NOTIFICATION,
    BLOCKED_ON_RECEIVE,
    BLOCKED_ON_REPLY,
    BLOCKED_ON_SEND,
)
from sporadic.traces import TraceWriter, summarise
from sporadic.traces.summary import IPC_BLOCKS

IDLE, CTL, SENSOR, SERVER = 0, 1, 2, 3
CTL_SC, SENSOR_SC = 4, 7
HEADER = {
    "system": {"name": "faults"},
    "threads": [
        {"id": IDLE, "name": "idle"},
        {"id": CTL, "name": "ctl"},
        {"id": SENSOR, "name": "sensor"},
        {"id": SERVER, "name": "server"},
    ],
    "scs": [
        {"id": CTL_SC, "name": "ctl", "home": CTL},
        {"id": SENSOR_SC, "name": "sensor", "home": SENSOR},
    ],
    "seed": 1,
}
RELEASES = [(JOB_RELEASE, 0, CTL, 0, 5_000), (JOB_RELEASE, 0, SENSOR, 0, 5_000)]


def summary_of(path: Path, records: list[tuple], end: int) -> dict:
    with TraceWriter(path, HEADER) as writer:
        writer.emit_batch(RELEASES + records)
        writer.close(end)
    return summarise(path)


def counts(task: dict) -> tuple[int, int, int]:
    """(faults, timeout_faults, aborted); the summary leaves out a count that is 0."""
    return task.get("faults", 0), task.get("timeout_faults", 0), task.get("aborted", 0)


def test_faults_timeout_faults_and_aborts_are_counted_per_task_and_listed(
    tmp_path: Path,
) -> None:
    summary = summary_of(
        tmp_path / "t",
        [
            (FAULT, 100, CTL, 0, "trap: unreachable"),
            (JOB_ABORT, 100, CTL, 0),
            (TIMEOUT_FAULT, 200, SENSOR, SENSOR_SC, 3, 1_500),
            (FAULT, 300, SERVER, 0, "fuel exhausted"),  # not a task: listed, not counted
        ],
        end=1_000,
    )

    assert counts(summary["tasks"]["ctl"]) == (1, 0, 1)
    assert counts(summary["tasks"]["sensor"]) == (0, 1, 0)
    assert "faults" not in summary["tasks"]["sensor"]  # a zero count is left out
    assert summary["faults"] == [
        {"t": 100, "task": "ctl", "message": "trap: unreachable"},
        {"t": 200, "task": "sensor", "message": "timeout fault (badge 3, 1500 ns consumed)"},
        {"t": 300, "task": "server", "message": "fuel exhausted"},
    ]
    assert "faults_omitted" not in summary


def test_only_the_first_ten_faults_are_listed_and_the_rest_counted(tmp_path: Path) -> None:
    faults = [(FAULT, 10 * i, CTL, i, f"trap {i}") for i in range(8)]
    faults += [(TIMEOUT_FAULT, 100 + i, CTL, CTL_SC, i, 7) for i in range(4)]
    summary = summary_of(tmp_path / "t", faults, end=1_000)

    assert counts(summary["tasks"]["ctl"]) == (8, 4, 0)
    assert len(summary["faults"]) == 10
    assert summary["faults"][-1] == {
        "t": 101,
        "task": "ctl",
        "message": "timeout fault (badge 1, 7 ns consumed)",
    }
    assert summary["faults_omitted"] == 2


def test_ipc_block_states_are_receive_send_and_reply() -> None:
    assert IPC_BLOCKS == (BLOCKED_ON_RECEIVE, BLOCKED_ON_SEND, BLOCKED_ON_REPLY)


def test_blocked_ipc_runs_from_an_ipc_block_to_the_next_wake(tmp_path: Path) -> None:
    summary = summary_of(
        tmp_path / "t",
        [
            (BLOCK, 100, CTL, BLOCKED_ON_RECEIVE),
            (WAKE, 400, CTL),  # 300
            (BLOCK, 500, CTL, BLOCKED_ON_NOTIFICATION),  # not IPC: not counted
            (WAKE, 600, CTL),
            (BLOCK, 700, CTL, BLOCKED_ON_REPLY),
            (BLOCK, 750, CTL, BLOCKED_ON_SEND),  # already blocked: the interval began at 700
            (WAKE, 900, CTL),  # 200
            (WAKE, 920, SENSOR),  # a wake with no IPC block: nothing
            (BLOCK, 950, SENSOR, BLOCKED_ON_SEND),  # never woken: until the end, 50
        ],
        end=1_000,
    )

    assert summary["tasks"]["ctl"]["blocked_ipc"] == 300 + 200
    assert summary["tasks"]["sensor"]["blocked_ipc"] == 50


def test_served_is_the_time_other_threads_ran_on_the_tasks_sc(tmp_path: Path) -> None:
    summary = summary_of(
        tmp_path / "t",
        [
            (SWITCH, 0, IDLE, CTL, CTL_SC),  # ctl on its own SC 0-100
            (SWITCH, 100, CTL, SERVER, CTL_SC),  # server on ctl's SC 100-350
            (SWITCH, 350, SERVER, SENSOR, SENSOR_SC),  # sensor on its own 350-400
            (SWITCH, 400, SENSOR, SERVER, SENSOR_SC),  # server on sensor's SC 400-450
            (SWITCH, 450, SERVER, IDLE, -1),  # idle 450-480: nobody's
            (SWITCH, 480, IDLE, SERVER, CTL_SC),  # server on ctl's SC to the end, 480-500
        ],
        end=500,
    )

    ctl, sensor = summary["tasks"]["ctl"], summary["tasks"]["sensor"]
    assert (ctl["cpu"], ctl["charged"], ctl["served"]) == (100, 370, 250 + 20)
    assert (sensor["cpu"], sensor["charged"], sensor["served"]) == (50, 100, 50)


def test_a_quiet_task_and_summary_leave_the_zero_keys_out(tmp_path: Path) -> None:
    summary = summary_of(tmp_path / "t", [(SWITCH, 0, IDLE, CTL, CTL_SC)], end=100)

    ctl = summary["tasks"]["ctl"]
    new_keys = {"served", "blocked_ipc", "faults", "timeout_faults", "aborted"}
    assert new_keys & set(ctl) == set()
    assert "faults" not in summary
    assert "faults_omitted" not in summary
