"""`sporadic check`'s response-time analysis: classic, and bounded by the budgets."""

from __future__ import annotations

from pathlib import Path

from sporadic.analysis.check import analyse
from sporadic.analysis.rta import Task, response_times
from sporadic.cli import main
from sporadic.description import load, load_text
from sporadic.simulation import Simulation
from sporadic.traces import TraceReader, summarise
from tests.helpers import ROOT, US


def test_budget_bounds_interference() -> None:
    """A 4 ms job throttled to 500 us every 5 ms takes at most 500 us from each 1 ms window of
    the task below, instead of 4 ms."""
    hog = Task("hog", 4000 * US, 5000 * US, 5000 * US, 2)
    victim = Task("victim", 250 * US, 1000 * US, 1000 * US, 1)
    assert response_times([hog, victim]) == {"hog": 4000 * US, "victim": None}
    capped = Task("hog", 4000 * US, 5000 * US, 5000 * US, 2, 500 * US, 5000 * US)
    assert capped.interference(1000 * US) == 500 * US
    assert capped.interference(5001 * US) == 1000 * US
    assert response_times([capped, victim])["victim"] == 750 * US


def test_vehicle_analysis_bounds_the_simulation(tmp_path: Path) -> None:
    system = load(ROOT / "examples" / "vehicle" / "vehicle.toml")
    verdicts = {v.name: v for v in analyse(system)}
    control = verdicts["control"]
    # classic RTA: fusion's 4 ms WCET alone breaks control's 1 ms deadline
    assert (control.wcet, control.response) == (250 * US, None)
    # with budgets: control 250 + fusion 500 + the watchdog's 100 us (its budget per 1 ms)
    assert control.with_budgets == 850 * US
    assert verdicts["fusion"].note == "budget below WCET"
    trace = tmp_path / "v.trace"
    Simulation(system, trace).run()
    with TraceReader(trace) as reader:
        simulated = summarise(reader)["tasks"]["control"]["response"]["max"]
    assert simulated == 756_339 <= control.with_budgets


def test_equal_priorities_are_not_analysed() -> None:
    text = """
[[partition]]
name = "a"
priority = 5
release = { period = "1ms" }
job = { compute = "100us" }
[[partition]]
name = "b"
priority = 5
release = { period = "1ms" }
job = { compute = "100us" }
"""
    assert [v.note for v in analyse(load_text(text))] == ["equal priorities"] * 2


def test_check_says_unbounded_where_the_budgets_cannot_bound_a_task(capsys, monkeypatch) -> None:
    """The vehicle's control loop runs on a constant-bandwidth SC whose budget (500 us) is below
    its bound plus its WCET (850 + 250 us): no budget-aware bound is printed, and the note says
    why; the total utilisation of the budgeted SCs is 1.000."""
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["check", str(ROOT / "examples" / "vehicle" / "vehicle.toml")]) == 0
    out = capsys.readouterr().out
    assert "response-time analysis" in out
    row = next(line for line in out.splitlines() if "│ control" in line and "misses" in line)
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[:6] == ["control", "250us", "1ms", "1ms", "misses", "unbounded"]
    assert cells[6].startswith("constant-bandwidth SC (sporadic = false): budget 500000 ns")
    total = next(line for line in out.splitlines() if line.startswith("│ total"))
    assert [c.strip() for c in total.split("│")[1:-1]][5:] == ["1.000", "budgeted SCs only"]
