"""The report, diff, generate and check --json commands as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sporadic.cli import main
from tests.helpers import ROOT

VEHICLE = ROOT / "examples" / "vehicle"


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("traces")
    base, new = folder / "v.trace", folder / "vu.trace"
    assert main(["run", str(VEHICLE / "vehicle.toml"), "-o", str(base), "--until", "500ms"]) == 0
    unbudgeted = str(VEHICLE / "vehicle-unbudgeted.toml")
    assert main(["run", unbudgeted, "-o", str(new), "--until", "500ms"]) == 0
    return base, new


def test_report_prints_the_control_loops_histograms_with_100us_buckets(
    traces: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    argv = ["report", str(traces[0]), "--histogram", "100us", "--histogram-max", "8"]
    assert main([*argv, "--task", "control"]) == 0
    out = capsys.readouterr().out.splitlines()
    start = out.index("# control: bucket 100000 ns")
    assert out[start + 2 : start + 12] == [
        "             0        400          0",
        "        100000          0        190",
        "        200000          0        210",
        "        300000         98          0",
        "        400000          0         47",
        "        500000          2         51",
        "        600000          0          1",
        "        700000          0          1",
        "#     overflow          0          0",
        "#        total        500        500",
    ]


def test_report_json_histogram_counts_add_up_to_the_jobs(
    traces: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["report", str(traces[0]), "--json", "--histogram", "50us"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for name, h in doc["histograms"].items():
        jobs = doc["tasks"][name]["jobs"]
        assert sum(h["latency"]["counts"]) + h["latency"]["overflow"] == jobs
    assert doc["tasks"]["control"]["latency"]["p999"] == 515_000


def test_report_writes_the_gantt_the_page_and_the_perfetto_trace(
    traces: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    outs = [tmp_path / "g.png", tmp_path / "r.html", tmp_path / "r.pftrace"]
    argv = ["report", str(traces[0]), "--gantt", str(outs[0]), "--html", str(outs[1])]
    assert main([*argv, "--perfetto", str(outs[2])]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [f"wrote {outs[0]}", f"wrote {outs[1]}"]
    assert err[2].startswith(f"wrote {outs[2]} (") and "ui.perfetto.dev" in err[2]
    assert outs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<table" in outs[1].read_text()


def test_diff_exits_1_when_the_unbudgeted_run_is_worse_and_0_against_itself(
    traces: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, new = map(str, traces)
    assert main(["diff", base, base]) == 0
    capsys.readouterr()
    assert main(["diff", base, new, "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["removed"] == ["watchdog"]
    assert doc["worse"][2] == {
        "task": "control",
        "metric": "misses",
        "base": 0,
        "new": 13,
        "change": "+13",
        "message": "control: misses 0 -> 13 (+13)",
    }


def test_generate_writes_the_same_description_for_the_same_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["generate", "-n", "3", "-u", "0.6", "--periods", "5ms", "50ms", "--seed", "1"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    assert 'name = "u0.60-n3-s1"' in first and 'job = { compute = "1093391ns" }' in first


def test_check_json_gives_each_partitions_bounds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(VEHICLE / "vehicle.toml"), "--json"]) == 0
    tasks = json.loads(capsys.readouterr().out)["analysis"]["tasks"]
    assert set(tasks) >= {"control", "fusion", "planner", "logger"}
    assert tasks["control"]["wcet"] == 250_000
