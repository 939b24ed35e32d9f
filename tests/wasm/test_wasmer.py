"""wasmer as a second engine (issue 14): the same output and exit status as wasmtime, time
measured and capped, faults and their policies, the cross-engine check, deploys, and a session
that leaves nothing behind. Skipped where wasmer-sdk is not installed.

Measured times are not reproducible, so these tests assert what is: output lines, exit status,
fault messages and counts, and the times a cap decides (a killed job is charged its cap
exactly, so a schedule of capped jobs is the same on every run).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip(
    "wasmer_sdk", reason="wasmer-sdk is not installed: pip install 'sporadic[wasmer]'"
)

from sporadic import records as ev  # noqa: E402
from sporadic.cli import main  # noqa: E402
from sporadic.description import load, load_text  # noqa: E402
from sporadic.errors import WasmError  # noqa: E402
from sporadic.simulation import Simulation  # noqa: E402
from sporadic.wasm.wasmer_engine import (  # noqa: E402
    TIMED_OUT,
    WasmerEngine,
    command_name,
    trap_message,
)
from tests.helpers import MS, ROOT  # noqa: E402
from tests.wasm.wat_commands import (  # noqa: E402
    ARGV0,
    EXIT_MINUS_ONE,
    NO_MEMORY,
    TRAP,
    USES_NOW,
    write,
)

APPS = ROOT / "examples" / "wasm"
EXAMPLE = ROOT / "examples" / "wasmer"
NBODY_LINES = ["-0.169075164", "-0.169073022"]
HELLO_LINES = ["Hello, world!", "arg: sel4", "arg: mcs"]


def job_system(path: Path, args: list[str], extra: str = "", jobs: int = 2) -> str:
    """One partition running the command at ``path`` every 100 ms, ``jobs`` times: a measured
    run takes a few ms, far more on a loaded machine, and its cap is 100 ms."""
    return f"""
[system]
duration = "{100 * jobs}ms"
[[partition]]
name = "job"
priority = 10
budget = "100ms"
period = "100ms"
release = {{ period = "100ms" }}
job = {{ wasm = "{path}", args = {json.dumps(args)} }}
{extra}
"""


def run_json(tmp_path: Path, text: str, capsys, *flags: str) -> tuple[int, dict]:
    desc = tmp_path / "system.toml"
    desc.write_text(text)
    status = main(["run", str(desc), "-o", str(tmp_path / "t.trace"), "--json", *flags])
    return status, json.loads(capsys.readouterr().out)


def run_example(tmp_path: Path, name: str, capsys) -> tuple[int, dict]:
    trace = tmp_path / "t.trace"
    status = main(["run", str(EXAMPLE / name), "-o", str(trace), "--json"])
    return status, json.loads(capsys.readouterr().out)


def lines_of(summary: dict, task: str = "job") -> list[str]:
    return [entry["line"] for entry in summary["logs"] if entry["task"] == task]


def simulate(text: str, path: Path) -> Simulation:
    desc = path / "system.toml"
    desc.write_text(text)
    sim = Simulation(load_text(text, str(desc)))
    sim.run()
    return sim


# --- the same output and status as wasmtime -----------------------------------------------


@pytest.mark.parametrize(
    ("app", "args", "expected"),
    [("nbody.wasm", ["10"], NBODY_LINES), ("hello.wasm", ["sel4", "mcs"], HELLO_LINES)],
)
def test_run_engine_wasmer_prints_what_wasmtime_prints(
    tmp_path: Path, capsys, app: str, args: list[str], expected: list[str]
) -> None:
    text = job_system(APPS / app, args)
    status, fuel = run_json(tmp_path, text, capsys)
    status_wasmer, measured = run_json(tmp_path, text, capsys, "--engine", "wasmer")
    assert (status, status_wasmer) == (0, 0)
    assert lines_of(fuel) == lines_of(measured) == expected * 2
    assert (fuel["engine"], fuel["timing"]) == ("wasmtime", "fuel")
    assert (measured["engine"], measured["timing"]) == ("wasmer", "measured")
    assert "faults" not in measured
    assert (measured["tasks"]["job"]["jobs"], measured["tasks"]["job"]["misses"]) == (2, 0)


def test_the_table_says_the_times_are_measured_and_not_reproducible(tmp_path: Path, capsys):
    desc = tmp_path / "system.toml"
    desc.write_text(job_system(APPS / "nbody.wasm", ["10"]))
    assert main(["run", str(desc), "-o", str(tmp_path / "t.trace"), "--engine", "wasmer"]) == 0
    out = capsys.readouterr().out
    assert "simulated 200ms, wasmer (measured; not reproducible byte for byte)" in out


def test_check_engines_finds_nbody_and_hello_identical(tmp_path: Path, capsys) -> None:
    text = (
        job_system(APPS / "nbody.wasm", ["10"])
        + f"""
[[partition]]
name = "hello"
priority = 9
budget = "100ms"
period = "100ms"
release = {{ period = "100ms" }}
job = {{ wasm = "{APPS / "hello.wasm"}", args = ["sel4", "mcs"] }}
"""
    )
    desc = tmp_path / "system.toml"
    desc.write_text(text)
    assert main(["check", str(desc), "--engines", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["engines"] == ["wasmtime", "wasmer"]
    assert result["differing"] == 0
    for job, expected in (("job", NBODY_LINES), ("hello", HELLO_LINES)):
        entry = next(j for j in result["jobs"] if j["name"] == job)
        assert entry["differences"] == []
        for engine in ("wasmtime", "wasmer"):
            run = entry["runs"][engine]
            assert (run["status"], run["exit_code"]) == ("exit 0", 0)
            assert [line["line"] for line in run["lines"]] == expected


def test_check_engines_table_names_each_job_alike(tmp_path: Path, capsys) -> None:
    desc = tmp_path / "system.toml"
    desc.write_text(job_system(APPS / "status.wasm", ["3"]))
    assert main(["check", str(desc), "--engines"]) == 0
    out = capsys.readouterr().out
    assert "job: same output (1 line) and status (exit 3) on wasmtime and wasmer" in out


def test_argv0_is_the_module_file_name_on_both_engines(tmp_path: Path, capsys) -> None:
    desc = tmp_path / "system.toml"
    desc.write_text(job_system(write(tmp_path, "argv0", ARGV0), []))
    assert main(["check", str(desc), "--engines", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["jobs"][0]["runs"]
    assert [r["lines"][0]["line"] for r in runs.values()] == ["argv0.wasm", "argv0.wasm"]


def test_check_engines_reports_an_exit_status_wasmer_reports_otherwise(
    tmp_path: Path, capsys
) -> None:
    desc = tmp_path / "system.toml"
    desc.write_text(job_system(write(tmp_path, "minus", EXIT_MINUS_ONE), []))
    assert main(["check", str(desc), "--engines", "--json"]) == 1
    entry = json.loads(capsys.readouterr().out)["jobs"][0]
    # WASI's exit code is an unsigned 32-bit value; wasmer-sdk 0.5.0 reports -1 as 65535
    assert entry["differences"] == ["status: wasmtime exit 4294967295, wasmer exit 65535"]


def test_a_trap_is_the_same_on_both_engines_and_wasmers_own_print_is_kept_off_stderr(
    tmp_path: Path, capfd
) -> None:
    desc = tmp_path / "system.toml"
    desc.write_text(job_system(write(tmp_path, "trap", TRAP), []))
    assert main(["check", str(desc), "--engines", "--json"]) == 0
    out, err = capfd.readouterr()
    runs = json.loads(out)["jobs"][0]["runs"]
    assert {e: (r["status"], [x["line"] for x in r["lines"]]) for e, r in runs.items()} == {
        "wasmtime": ("unreachable executed", ["before"]),
        "wasmer": ("unreachable executed", ["before"]),
    }
    assert "RuntimeError" not in err


# --- time: measured, capped, scaled --------------------------------------------------------


def test_a_runaway_is_killed_at_its_cap_and_the_budgeted_control_loop_keeps_every_deadline(
    tmp_path: Path, capsys
) -> None:
    status, summary = run_example(tmp_path, "wasmer.toml", capsys)
    assert status == 0
    # each job is killed at its 10 ms cap, charged exactly that, throttled to 300us a ms
    assert summary["faults"] == [
        {"t": t * 100_000, "task": "spin", "message": TIMED_OUT} for t in (381, 881, 1381, 1881)
    ]
    assert summary["tasks"]["spin"]["cpu"] == 4 * 10 * MS
    control = summary["tasks"]["control"]
    assert (control["jobs"], control["misses"]) == (201, 0)
    assert (summary["engine"], summary["timing"]) == ("wasmtime+wasmer", "measured")


def test_without_a_budget_the_runaway_makes_the_control_loop_miss(tmp_path: Path, capsys):
    _, summary = run_example(tmp_path, "wasmer-unbudgeted.toml", capsys)
    spin_faults = [f["t"] for f in summary["faults"] if f["task"] == "spin"]
    assert spin_faults == [15 * MS, 65 * MS, 115 * MS, 165 * MS]  # offset 5 ms + the 10 ms cap
    assert summary["tasks"]["control"]["misses"] == 8


def test_the_cap_is_exact_whatever_the_scale(tmp_path: Path) -> None:
    # scale 1000: the 10 ms cap is 10 us of wall time, which the SDK rounds up to 1 ms; the
    # module is killed there and charged its cap, 10 ms, exactly
    text = job_system(APPS / "spin.wasm", [], 'max_job_time = "10ms"\n[cpu]\nwasmer_scale = 1000')
    sim = simulate(text.replace("args = []", 'args = [], engine = "wasmer"'), tmp_path)
    faults = [(r[1], r[4]) for r in sim.records if r[0] == ev.FAULT]
    assert faults == [(10 * MS, TIMED_OUT), (110 * MS, TIMED_OUT)]


def test_output_is_stamped_within_its_job(tmp_path: Path) -> None:
    text = job_system(APPS / "nbody.wasm", ["10"]).replace("args", 'engine = "wasmer", args')
    sim = simulate(text, tmp_path)
    starts = [r[1] for r in sim.records if r[0] == ev.JOB_START]
    ends = [r[1] for r in sim.records if r[0] == ev.JOB_END]
    logs = [r[1] for r in sim.records if r[0] == ev.LOG]
    assert len(logs) == 4
    for t in logs:
        assert any(s <= t <= e for s, e in zip(starts, ends, strict=True))


# --- faults and their policies -------------------------------------------------------------


def test_a_non_zero_exit_is_a_fault_of_the_job(tmp_path: Path) -> None:
    text = job_system(APPS / "status.wasm", ["3"]).replace("args", 'engine = "wasmer", args')
    sim = simulate(text, tmp_path)
    assert [r[4] for r in sim.records if r[0] == ev.FAULT] == ["exit code 3", "exit code 3"]


def test_on_fault_stop_stops_the_partition_after_its_first_timeout(tmp_path: Path) -> None:
    extra = 'max_job_time = "2ms"\non_fault = "stop"'
    text = job_system(APPS / "spin.wasm", [], extra, jobs=3).replace(
        "args", 'engine = "wasmer", args'
    )
    sim = simulate(text, tmp_path)
    assert [r[4] for r in sim.records if r[0] == ev.FAULT] == [TIMED_OUT]
    assert len([r for r in sim.records if r[0] == ev.JOB_START]) == 1


def test_a_fault_handler_gets_each_wasmer_timeout(tmp_path: Path) -> None:
    extra = (
        'max_job_time = "2ms"\nfault_handler = "handler"\n'
        + """
[[partition]]
name = "handler"
priority = 200
fault_job = { compute = "10us", reply = "restart" }
"""
    )
    text = job_system(APPS / "spin.wasm", [], extra).replace("args", 'engine = "wasmer", args')
    sim = simulate(text, tmp_path)
    handler = next(t.id for t in sim.kernel.threads if t.name == "handler")
    assert len([r for r in sim.records if r[0] == ev.FAULT]) == 2
    assert len([r for r in sim.records if r[0] == ev.JOB_END and r[2] == handler]) == 2


# --- loading -------------------------------------------------------------------------------


def test_a_command_using_the_host_api_is_refused_on_wasmer_with_why(tmp_path: Path) -> None:
    path = write(tmp_path, "now", USES_NOW)
    text = job_system(path, []).replace("args", 'engine = "wasmer", args')
    with pytest.raises(WasmError) as info:
        simulate(text, tmp_path)
    assert str(info.value) == (
        f"{path}: imports sporadic.now; wasmer runs WASI commands without the sporadic host "
        'API, which only wasmtime provides (engine = "wasmtime")'
    )


def test_a_module_wasmer_cannot_start_is_refused_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, "bare", NO_MEMORY)
    session = WasmerEngine()
    try:
        with pytest.raises(WasmError) as info:
            session.load(path)
    finally:
        session.close()
    assert str(info.value) == (
        f"{path}: wasmer cannot run it: unable to spawn the command: Missing export No "
        "imported or exported memory found"
    )


def test_command_names_keep_what_the_sdk_takes_and_replace_the_rest() -> None:
    assert command_name("nbody.wasm") == "nbody.wasm"
    assert command_name("a b/c") == "a_b_c"
    assert command_name("..") == "main"


def test_trap_messages_use_wasmtimes_words() -> None:
    text = "command execution failed: RuntimeError: uninitialized element\n    at <unnamed>"
    assert trap_message(text) == "indirect call to null"
    assert trap_message("RuntimeError: something new") == "something new"


# --- deploys and the session's end ---------------------------------------------------------


def test_a_deploy_on_wasmer_runs_and_records_its_exit_status(tmp_path: Path) -> None:
    text = f"""
[system]
duration = "1s"
[[deploy]]
at = "1ms"
wasm = "{APPS / "status.wasm"}"
args = ["3"]
engine = "wasmer"
"""
    sim = simulate(text, tmp_path)
    deploys = [r for r in sim.records if r[0] == ev.DEPLOY]
    request = next(r for r in deploys if r[3] == "request")
    exit_record = next(r for r in deploys if r[3] == "exit")
    assert request[4]["engine"] == "wasmer"
    assert exit_record[4]["status"] == 3
    assert [r[3] for r in sim.records if r[0] == ev.LOG] == ["status: exiting with 3"]


def worker_processes() -> list[int]:
    """The pids of this process's children that are wasmer workers (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"sporadic.wasm.wasmer_worker" in command:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_no_worker_process_outlives_a_run(tmp_path: Path) -> None:
    text = job_system(APPS / "nbody.wasm", ["10"]).replace("args", 'engine = "wasmer", args')
    sim = simulate(text, tmp_path)
    assert sim.built._commands == {}
    assert worker_processes() == []


def test_a_run_the_sdk_had_to_stop_ends_its_worker_and_the_next_run_gets_a_new_one() -> None:
    # wasmer-sdk reports a timed-out guest stopped, but a loop that never calls the host goes
    # on running in its process: only ending the process stops it
    session = WasmerEngine()
    try:
        spin = session.load(APPS / "spin.wasm")
        nbody = session.load(APPS / "nbody.wasm")
        run = session.run(spin, ["spin.wasm"], 5 * MS)
        assert (run.status, run.trap, run.ns) == ("cap reached", TIMED_OUT, 5 * MS)
        assert session.workers == 1
        again = session.run(nbody, ["nbody.wasm", "10"], 500 * MS)
        assert ([t for _, t in again.lines], again.status) == (NBODY_LINES, "exit 0")
        assert session.workers == 2
    finally:
        session.close()


def test_the_description_default_and_a_job_override_choose_the_engine(tmp_path: Path) -> None:
    desc = tmp_path / "system.toml"
    desc.write_text('[cpu]\nengine = "wasmer"\n' + job_system(APPS / "hello.wasm", []))
    assert load(desc).partitions[0].wasm.engine == "wasmer"
    desc.write_text(
        '[cpu]\nengine = "wasmer"\n'
        + job_system(APPS / "hello.wasm", []).replace("args", 'engine = "wasmtime", args')
    )
    assert load(desc).partitions[0].wasm.engine == "wasmtime"


def test_emit_engine_wasmer_deploys_into_a_served_run_with_its_lines_and_status(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    from tests.live.conftest import start_server, stop_server

    server = start_server(tmp_path)
    try:
        results = []
        for argv in (["nbody.wasm", "10"], ["status.wasm", "3"]):
            command = [sys.executable, "-m", "sporadic", "emit", "--connect", server.address]
            command += ["--engine", "wasmer", str(APPS / argv[0]), *argv[1:]]
            done = subprocess.run(command, capture_output=True, timeout=120, check=False)
            results.append((done.returncode, done.stdout.decode(), done.stderr.decode()))
    finally:
        stop_server(server)
    assert results == [
        (0, "-0.169075164\n-0.169073022\n", ""),
        (3, "status: exiting with 3\n", ""),
    ]


def test_a_socket_deploy_on_wasmer_makes_the_footer_say_the_times_were_measured(
    tmp_path: Path,
) -> None:
    from sporadic.agent.requests import DeployRequest
    from sporadic.traces.reader import TraceReader
    from sporadic.traces.summary import summarise

    desc = tmp_path / "agent.toml"
    desc.write_text('[system]\nduration = "1s"\n[agent]\n')
    trace = tmp_path / "agent.trace"
    sim = Simulation(load_text(desc.read_text(), str(desc)), trace)
    data = (APPS / "hello.wasm").read_bytes()
    sim.agent.submit(DeployRequest("hello", data, ("sel4", "mcs"), engine="wasmer"))
    sim.run()
    with TraceReader(trace) as reader:  # decided before any request came: wasmtime's fuel
        assert (reader.header["engine"], reader.header["timing"]) == ("wasmtime", "fuel")
    summary = summarise(trace)
    assert (summary["engine"], summary["timing"]) == ("wasmtime+wasmer", "measured")
    assert [entry["line"] for entry in summary["logs"]] == HELLO_LINES
