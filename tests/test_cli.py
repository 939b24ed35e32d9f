"""The CLI end to end: `sporadic run` and `sporadic report` on the flagship example, and the
errors a person sees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sporadic.cli import main
from tests.helpers import ROOT

VEHICLE = ROOT / "examples" / "vehicle"


def _run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_budgets_protect_the_control_loop(tmp_path: Path, capsys) -> None:
    with_budgets = _run_json(
        capsys, "run", str(VEHICLE / "vehicle.toml"), "-o", str(tmp_path / "a.trace"), "--json"
    )
    tasks = with_budgets["tasks"]
    assert list(tasks) == ["watchdog", "fusion", "control", "planner", "logger"]
    assert tasks["control"]["jobs"] == 2000
    assert tasks["control"]["misses"] == 0
    # every fusion overrun is cut at its 500us budget, faulted, and aborted by the watchdog
    assert tasks["fusion"]["misses"] == tasks["fusion"]["budget_exhaustions"] == 15
    assert tasks["watchdog"]["jobs"] == 15
    assert tasks["watchdog"]["response"]["max"] == 15_000
    assert tasks["fusion"]["response"]["max"] == 300_000
    assert with_budgets["duration"] == 2_000_000_000 and with_budgets["truncated"] is False

    without = _run_json(
        capsys,
        "run",
        str(VEHICLE / "vehicle-unbudgeted.toml"),
        "-o",
        str(tmp_path / "b.trace"),
        "--json",
    )
    assert without["tasks"]["control"]["misses"] == 97
    assert without["tasks"]["fusion"]["response"]["max"] == 4_000_000


def test_report_reads_the_trace_run_wrote(tmp_path: Path, capsys) -> None:
    trace = tmp_path / "v.trace"
    ran = _run_json(capsys, "run", str(VEHICLE / "vehicle.toml"), "-o", str(trace), "--json")
    reported = _run_json(capsys, "report", str(trace), "--json")
    assert reported == ran


def test_default_trace_path_is_next_to_the_description(tmp_path: Path, capsys) -> None:
    desc = tmp_path / "v.toml"
    shutil.copy(VEHICLE / "vehicle.toml", desc)
    summary = _run_json(capsys, "run", str(desc), "--until", "100ms", "--json")
    assert (tmp_path / "v.trace").exists()
    assert summary["duration"] == 100_000_000
    assert summary["tasks"]["control"]["jobs"] == 100


def test_truncated_trace_is_reported_up_to_its_last_record(tmp_path: Path, capsys) -> None:
    trace = tmp_path / "v.trace"
    _run_json(capsys, "run", str(VEHICLE / "vehicle.toml"), "-o", str(trace), "--json")
    data = trace.read_bytes()
    cut = tmp_path / "cut.trace"
    cut.write_bytes(data[: len(data) // 2])
    summary = _run_json(capsys, "report", str(cut), "--json")
    assert summary["truncated"] is True
    assert 0 < summary["duration"] < 2_000_000_000
    assert 0 < summary["tasks"]["control"]["jobs"] < 2000


def test_table_output_has_the_title_the_control_row_and_the_simulated_time(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the layout the CLI uses when stdout is not a terminal (160 columns, no colour), whatever
    # the environment says about terminals
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(var, raising=False)
    trace = tmp_path / "t.trace"
    assert main(["run", str(VEHICLE / "vehicle.toml"), "-o", str(trace)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"vehicle: trace written to {trace}"
    # the body rows of the table, cells stripped
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    # one row per task in the order of the description, names whole
    assert [r[0] for r in rows] == ["watchdog", "fusion", "control", "planner", "logger"]
    # the default columns: task, jobs, misses, latency p99/max, response p99/max, cpu, faults
    assert rows[2] == ["control", "2000", "0", "300us", "515us", "549us", "756us", "402ms", "0"]
    assert rows[1][-1] == "15"  # fusion's timeout faults
    assert lines[lines.index("faults (15, the first 5 below)") - 1].rstrip() == "simulated 2s"


def test_bad_description_exits_2_with_location(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[partition]]\nname = "c"\npriority = 10\nbudget = "2ms"\nperiod = "1ms"\n'
        'release = { period = "1ms" }\njob = { compute = "1ms" }\n'
    )
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f'{bad}:4: partition "c": budget: 2000000 ns exceeds the period 1000000 ns' in err


def test_not_a_trace_exits_2(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.trace"
    junk.write_text("hello")
    assert main(["report", str(junk)]) == 2
    assert "is not a sporadic trace" in capsys.readouterr().err


def test_missing_trace_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path / "none.trace")]) == 2
    assert "none.trace" in capsys.readouterr().err


def test_trace_header_id_tables(tmp_path: Path, capsys) -> None:
    from sporadic.traces.reader import TraceReader

    trace = tmp_path / "v.trace"
    _run_json(capsys, "run", str(VEHICLE / "vehicle.toml"), "-o", str(trace), "--json")
    with TraceReader(trace) as reader:
        header = reader.header
    assert [t["name"] for t in header["threads"]] == [
        "idle",
        "watchdog",
        "fusion",
        "control",
        "planner",
        "logger",
    ]
    fusion = header["scs"][1]
    assert (fusion["name"], fusion["budget"], fusion["period"]) == ("fusion", 500_000, 5_000_000)
    logger = header["scs"][4]
    assert (logger["name"], logger["period"]) == ("logger", 0)  # budget == period: round robin
    assert header["system"]["partitions"][2]["release"]["period"] == 1_000_000
    assert (header["format"], header["version"], header["time_unit"]) == ("sporadic-trace", 1, "ns")


def test_a_failing_run_leaves_a_readable_truncated_trace(tmp_path: Path, capsys) -> None:
    """A thread whose script loops without computing stops the run with a clear error; the
    trace keeps what happened before."""
    from sporadic.traces.reader import TraceReader

    desc = tmp_path / "loop.toml"
    desc.write_text(
        '[system]\nduration = "10ms"\n'
        '[[thread]]\nname = "worker"\npriority = 10\nsc = { budget = "1ms", period = "1ms" }\n'
        'script = [ { compute = "2ms" }, { loop = [ { mark = "busy" } ] } ]\n'
    )
    trace = tmp_path / "loop.trace"
    assert main(["run", str(desc), "-o", str(trace)]) == 2
    err = capsys.readouterr().err
    assert "thread 'worker' makes no progress at t=2000000 ns" in err
    assert "truncated" in err
    with TraceReader(trace) as reader:
        records = list(reader)
        assert reader.truncated is True
    # dispatched at 0; its round-robin slice ran out at 1 ms; at 2 ms the compute ends (before
    # the timer, which it ties with) and the marks begin
    assert [r[1] for r in records if r[0] == 4] == [0]  # switch
    assert [r[1] for r in records if r[0] == 8] == [1_000_000]  # budget exhausted
    assert records[-1][0] == 13 and records[-1][1] == 2_000_000  # a mark
