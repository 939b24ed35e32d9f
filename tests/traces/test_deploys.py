"""Deploys in a trace: the summary's ``deploys`` entries and its names for threads made during
the run, and compare_deploys() splitting the real-time jobs by the deploy windows."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from rich.console import Console

from sporadic import records as ev
from sporadic.description import load
from sporadic.simulation import Simulation
from sporadic.traces import TraceReader, TraceWriter, render_summary, summarise
from sporadic.traces.deploys import compare_deploys
from sporadic.traces.table import render_deploys
from tests.helpers import MS, ROOT

NBODY = ROOT / "examples" / "wasm" / "nbody.wasm"
HELLO = ROOT / "examples" / "wasm" / "hello.wasm"

# A 1 kHz control partition above the runner (priority 50): deploying does not delay it.
CONTROL = """
[system]
duration = "{duration}"
[[partition]]
name = "control"
priority = 100
budget = "200us"
period = "1ms"
release = {{ period = "1ms" }}
job = {{ compute = "150us" }}
[agent]
runner_budget = "{runner_budget}"
"""


def deploy(at: str, wasm: Path, *args: str) -> str:
    quoted = ", ".join(f'"{a}"' for a in args)
    return f'[[deploy]]\nat = "{at}"\nwasm = "{wasm}"\nargs = [{quoted}]\n'


def simulate(tmp_path: Path, text: str) -> Path:
    """Run the description ``text``; its trace."""
    desc = tmp_path / "d.toml"
    desc.write_text(text)
    trace = tmp_path / "d.trace"
    Simulation(load(desc), trace).run()
    return trace


def control(
    *deploys: str, duration: str = "100ms", runner_budget: str = "500us", extra: str = ""
) -> str:
    return CONTROL.format(duration=duration, runner_budget=runner_budget) + extra + "".join(deploys)


def deploy_records(trace: Path) -> list[tuple]:
    with TraceReader(trace) as reader:
        return [r for r in reader if r[0] in (ev.DEPLOY, ev.THREAD_NEW)]


def phase_times(records: list[tuple], phase: str) -> list[int]:
    return [r[1] for r in records if r[0] == ev.DEPLOY and r[3] == phase]


@pytest.fixture(scope="module")
def one_deploy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nbody (10 steps) deployed at 5 ms next to the 1 kHz control loop."""
    return simulate(tmp_path_factory.mktemp("one"), control(deploy("5ms", NBODY, "10")))


# ------------------------------------------------------------------------------ the summary


def test_deploy_entry_has_the_request_and_its_phase_times(one_deploy: Path) -> None:
    data = NBODY.read_bytes()
    records = deploy_records(one_deploy)
    (new,) = [r for r in records if r[0] == ev.THREAD_NEW]

    (entry,) = summarise(one_deploy)["deploys"]

    assert entry["name"] == "nbody"
    assert entry["request"] == 1
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["size"] == len(data) == 30_007
    assert entry["args"] == ["10"]
    assert entry["source"] == "script"
    assert entry["requested"] == 5 * MS
    assert entry["chunks"] == len(phase_times(records, "chunk")) > 1
    assert [entry["uploaded"]] == phase_times(records, "uploaded")
    assert [entry["instantiated"]] == phase_times(records, "instantiate")
    assert [entry["started"]] == phase_times(records, "start")
    assert [entry["exited"]] == phase_times(records, "exit")
    assert entry["started"] > entry["uploaded"] > entry["requested"]
    assert entry["exited"] > entry["started"] >= entry["instantiated"] > entry["uploaded"]
    assert entry["exit_status"] == 0
    assert entry["thread"] == new[2]
    assert (entry["stopped"], entry["undeployed"], entry["error"]) == (None, None, None)


def test_thread_new_threads_are_named_in_the_program_output(one_deploy: Path) -> None:
    summary = summarise(one_deploy)

    assert [(log["task"], log["line"]) for log in summary["logs"]] == [
        ("nbody", "-0.169075164"),
        ("nbody", "-0.169073022"),
    ]
    assert list(summary["tasks"]) == ["control"]  # the module has no jobs
    out = io.StringIO()
    render_summary(summary, Console(file=out, width=200))
    assert "nbody: -0.169075164" in out.getvalue()
    assert "thread-" not in out.getvalue()


def test_deploys_is_empty_with_an_agent_and_absent_without(tmp_path: Path) -> None:
    assert summarise(simulate(tmp_path, control(duration="5ms")))["deploys"] == []
    without = CONTROL.split("[agent]")[0].format(duration="5ms")
    assert "deploys" not in summarise(simulate(tmp_path, without))


def test_hot_deploy_stops_the_first_module(tmp_path: Path) -> None:
    """The same name again: the runner stops the running module (its ``stop`` record carries
    the replacing request's id) and starts the new one on a new thread."""
    trace = simulate(
        tmp_path,
        control(deploy("5ms", NBODY, "100000"), deploy("30ms", NBODY, "10")),
    )
    records = deploy_records(trace)
    (stop,) = [r for r in records if r[0] == ev.DEPLOY and r[3] == "stop"]
    assert stop[4]["request"] == 2

    summary = summarise(trace)
    first, second = summary["deploys"]

    assert (first["name"], first["request"], first["args"]) == ("nbody", 1, ["100000"])
    assert (second["name"], second["request"], second["args"]) == ("nbody", 2, ["10"])
    assert first["thread"] == stop[4]["thread"] != second["thread"]
    assert first["stopped"] == stop[1]
    assert first["started"] < second["requested"] < first["stopped"] <= second["instantiated"]
    assert (first["exited"], first["exit_status"]) == (None, None)  # 100000 steps: cut off
    assert second["stopped"] is None
    assert second["exited"] > second["started"]
    assert second["exit_status"] == 0
    assert [log["task"] for log in summary["logs"]] == ["nbody"] * 3

    result = compare_deploys(trace)
    assert result["windows"] == [
        {"name": "nbody", "start": 5 * MS, "end": first["started"]},
        {"name": "nbody", "start": 30 * MS, "end": second["started"]},
    ]
    assert result["tasks"]["control"]["inside"]["jobs"] == 2  # released at 5 ms and 30 ms
    assert result["tasks"]["control"]["outside"]["jobs"] == 98


def test_refused_deploy_has_its_error_and_a_window_to_it(tmp_path: Path) -> None:
    trace = simulate(
        tmp_path,
        control(
            deploy("5ms", NBODY, "100000"),
            deploy("20ms", HELLO),
            duration="50ms",
            extra="max_modules = 1\n",
        ),
    )
    (failed,) = phase_times(deploy_records(trace), "error")

    first, second = summarise(trace)["deploys"]

    assert first["error"] is None and first["started"] is not None
    assert second["name"] == "hello"
    assert second["error"] == "too many modules: the runner holds at most 1"
    assert second["uploaded"] is not None
    assert (second["instantiated"], second["started"], second["thread"]) == (None, None, None)
    assert compare_deploys(trace)["windows"][1] == {
        "name": "hello",
        "start": 20 * MS,
        "end": failed,
    }


# ---------------------------------------------------------------------- compare_deploys


def test_control_jobs_split_by_the_deploy_window(one_deploy: Path) -> None:
    summary = summarise(one_deploy)
    (entry,) = summary["deploys"]

    result = compare_deploys(one_deploy)

    assert result["windows"] == [{"name": "nbody", "start": 5 * MS, "end": entry["started"]}]
    assert entry["started"] < 6 * MS  # the window holds one release, at 5 ms
    ctl = result["tasks"]["control"]
    assert list(result["tasks"]) == ["control"]
    assert (ctl["inside"]["jobs"], ctl["outside"]["jobs"]) == (1, 99)
    assert ctl["inside"]["jobs"] + ctl["outside"]["jobs"] == summary["tasks"]["control"]["jobs"]
    assert ctl["inside"]["misses"] + ctl["outside"]["misses"] == 0
    # Above the runner, control is not disturbed: released, started at once, 150 us of work.
    for side in ("inside", "outside"):
        assert ctl[side]["latency"] == {"min": 0, "mean": 0, "p50": 0, "p99": 0, "max": 0}
        assert ctl[side]["response"]["max"] == 150_000


def test_a_runner_above_control_delays_the_jobs_inside_the_window(tmp_path: Path) -> None:
    """The runner at priority 150 spends 2 ms instantiating: the control job released at 6 ms
    waits until the module has started."""
    trace = simulate(
        tmp_path,
        control(
            deploy("5ms", NBODY, "10"),
            runner_budget="3ms",
            extra='runner_priority = 150\ninstantiate_base = "2ms"\n',
        ),
    )
    summary = summarise(trace)
    (entry,) = summary["deploys"]
    started = entry["started"]
    assert 7 * MS < started < 8 * MS

    result = compare_deploys(trace)
    ctl = result["tasks"]["control"]

    assert result["windows"] == [{"name": "nbody", "start": 5 * MS, "end": started}]
    assert (ctl["inside"]["jobs"], ctl["outside"]["jobs"]) == (3, 97)  # 5, 6 and 7 ms
    assert (
        ctl["inside"]["misses"] + ctl["outside"]["misses"] == summary["tasks"]["control"]["misses"]
    )
    assert ctl["inside"]["latency"]["max"] == started - 6 * MS
    assert ctl["inside"]["latency"]["max"] == summary["tasks"]["control"]["latency"]["max"]
    assert ctl["outside"]["latency"]["p50"] == 0
    assert ctl["outside"]["latency"]["max"] < ctl["inside"]["latency"]["max"]

    out = io.StringIO()
    render_deploys(result, Console(file=out, width=200))
    text = out.getvalue()
    assert "nbody: 5ms - " in text
    row = next(line for line in text.splitlines() if "control" in line)
    assert row.split("│")[1:3] == [" control ", "    3 "]


# -------------------------------------------------------------------- handcrafted traces

MODULE, MODULE_SC = 5, 9


def test_thread_new_thread_is_a_task_like_a_header_thread(tmp_path: Path) -> None:
    """A module with jobs is a task under its own name, charged through its SC; it is left
    out of compare_deploys; an exit goes to the deploy whose thread it names."""
    header = {
        "threads": [{"id": 0, "name": "idle", "kind": "idle"}],
        "scs": [],
        "duration": 1_000,
    }
    records = [
        (ev.DEPLOY, 0, "mod", "request", {"size": 3, "sha256": "x", "args": (), "request": 7}),
        (ev.DEPLOY, 10, "other", "request", {"size": 4, "sha256": "y", "args": (), "request": 8}),
        (ev.THREAD_NEW, 50, MODULE, "mod", "module", 20, 0, MODULE_SC, 100, 1_000),
        (ev.DEPLOY, 50, "mod", "instantiate", {"thread": MODULE, "request": 7}),
        (ev.DEPLOY, 50, "mod", "start", {"thread": MODULE, "request": 7}),
        (ev.SWITCH, 50, 0, MODULE, MODULE_SC),
        (ev.JOB_RELEASE, 60, MODULE, 0, 500),
        (ev.JOB_START, 60, MODULE, 0),
        (ev.LOG, 70, MODULE, "hi"),
        (ev.JOB_END, 80, MODULE, 0),
        (ev.DEPLOY, 90, "other", "exit", {"thread": MODULE, "status": 3}),  # not its thread
        (ev.DEPLOY, 90, "mod", "exit", {"thread": MODULE, "status": 0}),
        (ev.SWITCH, 90, MODULE, 0, -1),
    ]
    path = tmp_path / "h.trace"
    with TraceWriter(path, header) as writer:
        for record in records:
            writer.emit(record)
        writer.close(1_000)

    summary = summarise(path)

    assert list(summary["tasks"]) == ["mod"]
    assert summary["tasks"]["mod"]["cpu"] == summary["tasks"]["mod"]["charged"] == 40
    assert summary["logs"] == [{"t": 70, "task": "mod", "line": "hi"}]
    mod, other = summary["deploys"]
    assert (mod["started"], mod["exited"], mod["exit_status"]) == (50, 90, 0)
    assert (other["started"], other["exited"], other["exit_status"]) == (None, None, None)
    assert compare_deploys(path) == {
        "windows": [{"name": "mod", "start": 0, "end": 50}],
        "tasks": {},
    }
