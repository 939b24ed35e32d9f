"""What a new user meets at a terminal: a table that fits, faults on screen, exit codes for CI,
Ctrl-C, durations in one spelling, and the small things (--version, -o nodir/, report -)."""

from __future__ import annotations

import io
import signal
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

import sporadic.simulation
from sporadic import simulate
from sporadic.cli import main
from sporadic.simulation import Simulation, load
from sporadic.traces.reader import TraceReader
from sporadic.traces.table import render_summary
from sporadic.units import parse_duration
from tests.helpers import ROOT

VEHICLE = ROOT / "examples" / "vehicle" / "vehicle-unbudgeted.toml"
ISOLATION = ROOT / "examples" / "isolation" / "isolation.toml"
HEADER_9 = ["task", "jobs", "misses", "lat p99", "lat max", "resp p99", "resp max", "cpu", "faults"]
CONTROL_9 = ["control", "200", "13", "3.19ms", "4ms", "3.43ms", "4.19ms", "40.1ms", "0"]


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The unbudgeted vehicle (control misses 13 deadlines in 200 ms) and the isolation
    example (runaway's fuel runs out 4 times in 300 ms), simulated once for the module."""
    tmp = tmp_path_factory.mktemp("everyday")
    vehicle, isolation = tmp / "vehicle.trace", tmp / "isolation.trace"
    simulate(load(VEHICLE), vehicle, until="200ms")
    simulate(load(ISOLATION), isolation, until="300ms")
    return SimpleNamespace(vehicle=vehicle, isolation=isolation)


@pytest.fixture(autouse=True)
def _piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)


def _cells(out: str, first: str) -> list[str]:
    row = next(line for line in out.splitlines() if line[2:].startswith(first + " "))
    return [cell.strip() for cell in row[1:-1].replace("┃", "│").split("│")]


def _report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["report", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- 1. a table that fits


def test_report_at_80_columns_drops_faults_from_the_right_and_says_so(
    traces: SimpleNamespace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _report(capsys, str(traces.vehicle))
    assert code == 0
    assert _cells(out, "task") == HEADER_9[:8]
    assert _cells(out, "control") == CONTROL_9[:8]
    assert max(len(line) for line in out.splitlines()) <= 80
    note = "1 column left out at 80 columns: faults; --wide or --columns to see them"
    assert note in out.splitlines()


def test_report_at_200_columns_shows_the_nine_default_columns_and_no_note(
    traces: SimpleNamespace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _report(capsys, str(traces.vehicle))
    assert code == 0
    assert _cells(out, "task") == HEADER_9
    assert _cells(out, "control") == CONTROL_9
    assert "left out" not in out


def test_piped_report_is_at_most_100_columns_wide_with_the_default_columns(
    traces: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _report(capsys, str(traces.vehicle))
    assert code == 0
    assert _cells(out, "task") == HEADER_9
    assert max(len(line) for line in out.splitlines()) == 87
    assert "left out" not in out
    every = "task,jobs,misses,lat-min,lat-p50,lat-p99,lat-max,lat-jitter,resp-min,resp-p50,cpu"
    code, out, _ = _report(capsys, str(traces.vehicle), "--columns", every)
    assert _cells(out, "task")[-1] == "resp min"
    assert out.splitlines()[-1] == (
        "2 columns left out at 100 columns: resp p50, cpu; --wide or --columns to see them"
    )


def test_wide_shows_every_column_even_at_80_columns(
    traces: SimpleNamespace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _report(capsys, str(traces.vehicle), "--wide")
    assert code == 0
    assert _cells(out, "task")[-6:] == [
        "charged", "preempt", "exhausted", "faults", "timeout faults", "aborted"
    ]  # fmt: skip
    assert _cells(out, "control")[:4] == ["control", "200", "13", "0ns"]
    assert "left out" not in out


def test_columns_chooses_the_columns_in_the_order_given(
    traces: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _report(capsys, str(traces.vehicle), "--columns", "misses,lat-p99,task")
    assert code == 0
    assert _cells(out, "task") == ["task", "misses", "lat p99"]
    assert _cells(out, "control") == ["control", "13", "3.19ms"]


def test_an_unknown_column_is_refused_with_exit_2_and_the_list(
    traces: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(traces.vehicle), "--columns", "task,latency"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --columns: unknown column 'latency': choose from task,jobs,misses," in err


def test_csv_prints_every_column_in_integer_nanoseconds(
    traces: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _report(capsys, str(traces.vehicle), "--csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "task,jobs,misses,lat_min,lat_p50,lat_p99,lat_max,lat_jitter,resp_min,resp_p50,"
        "resp_p99,resp_max,resp_jitter,cpu,charged,preempt,exhausted,faults,timeout_faults,aborted"
    )
    control = lines[2].split(",")
    assert control[:3] == ["control", "200", "13"]
    assert control[6] == "4000000"  # lat max: 4 ms, as an integer
    assert len(lines) == 5


# -- 2. faults on screen


def test_faults_column_and_the_first_faults_under_the_table(
    traces: SimpleNamespace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _report(capsys, str(traces.isolation))
    assert code == 0
    assert _cells(out, "runaway")[-1] == "4"
    lines = out.splitlines()
    start = lines.index("faults (4, the first 4 below)")
    assert lines[start + 1] == "     71.2ms  runaway: fuel exhausted (the job's allowance ran out)"
    assert lines[start + 4].startswith("      271ms  runaway: fuel exhausted")


# -- 3. exit codes: --fail-on-miss, Ctrl-C


def test_fail_on_miss_exits_1_naming_the_tasks_that_missed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(VEHICLE), "--until", "200ms", "-o", str(tmp_path / "v.trace")]
    assert main([*argv, "--fail-on-miss"]) == 1
    assert capsys.readouterr().err == "sporadic: deadline misses: control (13)\n"
    assert main([*argv, "--fail-on-miss", "fusion", "planner"]) == 0
    assert capsys.readouterr().err == ""
    assert main([*argv, "--fail-on-miss", "nobody"]) == 2
    assert capsys.readouterr().err == "sporadic: error: --fail-on-miss: no task named nobody\n"
    assert main(argv) == 0


def test_ctrl_c_ends_the_run_with_a_complete_trace_marked_interrupted_and_exit_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Interrupted(Simulation):
        """Ctrl-C arrives while the first 100 ms slice is simulated."""

        def __init__(self, *args: object) -> None:
            super().__init__(*args)  # type: ignore[arg-type]
            set_sink = self.built.set_sink

            def interrupting(sink: Callable[[tuple], None]) -> None:
                def first_record_interrupts(record: tuple) -> None:
                    if not self.interrupted:  # the kernel's first record, at 0 ns
                        signal.raise_signal(signal.SIGINT)
                    sink(record)

                set_sink(first_record_interrupts)

            self.built.set_sink = interrupting  # type: ignore[method-assign]

    monkeypatch.setattr(sporadic.simulation, "Simulation", Interrupted)
    trace = tmp_path / "v.trace"
    assert main(["run", str(VEHICLE), "-o", str(trace)]) == 130
    out, err = capsys.readouterr()
    assert err == "sporadic: interrupted at 100ms: the trace is complete up to then\n"
    assert "simulated 100ms" in out
    assert _cells(out, "control")[:3] == ["control", "100", "7"]
    with TraceReader(trace) as reader:
        for _ in reader:
            pass
        assert reader.truncated is False
        assert reader.footer is not None
        assert (reader.footer["end"], reader.footer["interrupted"]) == (100_000_000, True)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# -- 4. progress only on a terminal


def test_piped_run_writes_no_progress_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(VEHICLE), "--until", "10ms", "-o", str(tmp_path / "v.trace")]) == 0
    assert capsys.readouterr().err == ""


# -- 5. durations


@pytest.mark.parametrize(
    ("text", "ns"), [("1.5min", 90_000_000_000), ("2h", 7_200_000_000_000), ("1 min", 60 * 10**9)]
)
def test_minutes_and_hours_parse_to_nanoseconds(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


def test_simulate_takes_a_duration_string_for_until() -> None:
    assert simulate(load(VEHICLE), until="10ms").system.duration == 10_000_000


def test_check_spells_durations_as_the_run_table_does(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["check", str(ROOT / "examples" / "vehicle" / "vehicle.toml")]) == 0
    out = capsys.readouterr().out
    assert _cells(out, "fusion")[:6] == ["fusion", "4ms", "5ms", "5ms", "4ms", "unbounded"]
    assert _cells(out, "planner")[:4] == ["planner", "3.5ms", "20ms", "20ms"]
    assert "3500us" not in out


# -- 6. small things


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == "sporadic 0.1.0\n"


def test_output_in_a_missing_directory_names_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(VEHICLE), "-o", str(tmp_path / "nodir" / "x.trace")]) == 2
    err = capsys.readouterr().err
    assert err == f"sporadic: error: {tmp_path / 'nodir'}: no such directory\n"


def test_report_dash_reads_the_trace_from_stdin(
    traces: SimpleNamespace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = SimpleNamespace(buffer=io.BytesIO(traces.vehicle.read_bytes()))
    monkeypatch.setattr("sys.stdin", stdin)
    code, out, _ = _report(capsys, "-")
    assert code == 0
    assert out.splitlines()[0] == "<stdin>"
    assert _cells(out, "control") == CONTROL_9


def test_a_log_line_starting_with_its_task_name_is_not_prefixed_twice() -> None:
    summary = {
        "tasks": {},
        "duration": 1_000,
        "truncated": False,
        "logs": [
            {"t": 8, "task": "control", "line": "control: init"},
            {"t": 9, "task": "control", "line": "tick"},
        ],
    }
    console = Console(record=True, width=80, color_system=None)
    render_summary(summary, console)
    lines = console.export_text().splitlines()
    assert lines[-2:] == ["        8ns  control: init", "        9ns  control: tick"]


def test_an_empty_description_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text('[system]\nduration = "1s"\n')
    assert main(["check", str(empty)]) == 2
    assert capsys.readouterr().err == (
        f"sporadic: error: {empty}: nothing to run: add a [[partition]], [[thread]], "
        "[[protection_domain]] or [agent]\n"
    )


def test_a_system_file_without_its_workload_runs_idle_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    system = tmp_path / "hello.system"
    system.write_text((ROOT / "examples" / "microkit" / "microkit_hello.system").read_text())
    assert main(["run", str(system), "--until", "10ms"]) == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        "note: no hello.workload.toml beside it: every PD is idle"
    )
