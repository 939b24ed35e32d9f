"""Sweeps: the same table from local processes and from a Dask cluster, the cross-check of
analysis against simulation, violations kept for replay, CSV and Parquet, progress, the plot."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from sporadic.description import load
from sporadic.experiments import crosscheck
from sporadic.experiments.commands import main
from sporadic.experiments.crosscheck import SetSpec, run_set, set_seed
from sporadic.experiments.plot import acceptance, plot_acceptance
from sporadic.experiments.sweep import COLUMNS, SweepConfig, load_config, run_sweep
from tests.helpers import MS, ROOT

SMALL = {
    "seed": 3,
    "tasks": [4],
    "utilisation": [0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
    "sets": 20,
    "periods": {"min": "1ms", "max": "10ms"},
    "duration": "hyperperiod",
    "max_duration": "20ms",
}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], bytes]:
    """The small sweep (6 utilisations x 20 sets) on two local processes."""
    out = tmp_path_factory.mktemp("local") / "rows.csv"
    rows = run_sweep(SMALL, out, workers=2)
    return rows, out.read_bytes()


def test_local_sweep_rows_are_sorted_and_complete(local) -> None:
    rows, text = local
    assert len(rows) == 120
    assert [(r["utilisation"], r["set"]) for r in rows[:3]] == [(0.5, 0), (0.5, 1), (0.5, 2)]
    assert text.splitlines()[0].decode() == ",".join(COLUMNS)
    assert sum(r["violation"] for r in rows) == 0
    # every set the analysis accepts meets every deadline, and reaches its bounds exactly
    accepted = [r for r in rows if r["rta_schedulable"]]
    assert all(r["sim_misses"] == 0 and r["sim_worst_ratio"] == 1.0 for r in accepted)
    assert len(accepted) == sum(r["sim_misses"] == 0 for r in rows)


@pytest.mark.parametrize("processes", [True, False], ids=["processes", "threads"])
def test_dask_cluster_gives_the_same_table_byte_for_byte(local, tmp_path, processes) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=processes, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        rows = run_sweep(SMALL, tmp_path / "rows.csv", scheduler=cluster.scheduler_address)
    assert rows == local[0]
    assert (tmp_path / "rows.csv").read_bytes() == local[1]


def test_one_worker_in_process_gives_the_same_table(local, tmp_path) -> None:
    rows = run_sweep(SMALL, tmp_path / "rows.csv", workers=0)
    assert (tmp_path / "rows.csv").read_bytes() == local[1]
    assert rows == local[0]


def test_parquet_holds_the_same_rows(local, tmp_path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    config = load_config({**SMALL, "utilisation": [0.5, 0.9], "sets": 3})
    rows = run_sweep(config, tmp_path / "rows.parquet", workers=0)
    table = pq.read_table(tmp_path / "rows.parquet")
    assert table.column_names == list(COLUMNS)
    assert table.to_pylist() == rows
    assert rows == [r for r in local[0] if r["utilisation"] in (0.5, 0.9) and r["set"] < 3]


def test_a_set_seed_depends_on_its_coordinates_only() -> None:
    assert set_seed(3, 4, 0.5, 0) == set_seed(3, 4, 0.5, 0)
    seeds = {set_seed(3, n, u, i) for n in (4, 5) for u in (0.5, 0.6) for i in range(3)}
    assert len(seeds) == 12
    assert all(0 <= s < 2**63 for s in seeds)


def test_config_from_toml_with_durations(tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        "[sweep]\nseed = 9\ntasks = [3, 6]\nutilisation = [0.5]\nsets = 2\n"
        'periods = { min = "2ms", max = "50ms" }\ngranularity = "2ms"\n'
        'deadlines = "constrained"\nbudget_headroom = "40us"\nduration = "2 hyperperiods"\n'
        'max_duration = "300ms"\nsporadic = false\n'
    )
    config = load_config(path)
    assert config == SweepConfig(
        seed=9,
        tasks=(3, 6),
        utilisation=(0.5,),
        sets=2,
        periods=(2 * MS, 50 * MS),
        granularity=2 * MS,
        deadlines="constrained",
        budget_headroom=40_000,
        duration="2 hyperperiods",
        max_duration=300 * MS,
        sporadic=False,
    )
    assert [(s.tasks, s.index) for s in config.specs()] == [(3, 0), (3, 1), (6, 0), (6, 1)]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"task": [3]}, "unknown keys \\['task'\\]"),
        ({"periods": {"min": "1ms"}}, "periods"),
        ({"generator": "dirichlet"}, "generator"),
        ({"max_duration": "forever"}, "duration"),
    ],
)
def test_bad_configs_are_refused(table: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config({"sweep": table})


def test_violations_are_reported_and_kept_for_replay(tmp_path, monkeypatch) -> None:
    """An analysis that claims too much (every bound 1 ns) is caught: each set it calls
    schedulable becomes a violation, and its description is written ready to replay."""

    def boastful(system):
        return {
            p.name: {"wcet": 1, "bound": 1, "bound_with_budgets": 1, "schedulable": True}
            for p in system.partitions
        }

    monkeypatch.setattr(crosscheck, "task_bounds", boastful)
    config = {**SMALL, "utilisation": [0.5], "sets": 2}
    rows = run_sweep(config, tmp_path / "rows.csv", workers=0)
    assert [r["violation"] for r in rows] == [True, True]
    kept = sorted(p.name for p in (tmp_path / "violations").iterdir())
    assert kept == ["u0.50-n4-s0.toml", "u0.50-n4-s1.toml"]
    replay = load(tmp_path / "violations" / "u0.50-n4-s1.toml")
    assert replay.name == "u0.50-n4-s1"
    assert replay.seed == rows[1]["seed"]
    assert len(replay.partitions) == 4


def test_constant_bandwidth_sets_are_only_accepted_with_room_for_late_starts() -> None:
    """With the sporadic flag clear the analysis needs budget >= bound + WCET: at margin 1.0
    it accepts nothing, though the simulation sees no miss at U = 0.5; no violation either way."""
    config = load_config({**SMALL, "utilisation": [0.5], "sets": 5, "sporadic": False})
    rows = [run_set(config, s) for s in config.specs()]
    assert [r["rta_schedulable"] for r in rows] == [False] * 5
    assert [r["violation"] for r in rows] == [False] * 5
    generous = load_config({**SMALL, "tasks": [2], "utilisation": [0.2], "sets": 5})
    generous = SweepConfig(**{**generous.__dict__, "sporadic": False, "budget_margin": 4.0})
    rows = [run_set(generous, s) for s in generous.specs()]
    assert sum(r["rta_schedulable"] for r in rows) >= 3
    assert not any(r["violation"] for r in rows)


def test_progress_callback_and_rich_bar() -> None:
    config = {**SMALL, "utilisation": [0.5], "sets": 6}
    seen = []
    run_sweep(config, workers=0, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(4, 6), (6, 6)]  # chunks of 4 sets
    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    assert len(run_sweep(config, workers=0, progress=console)) == 6


def test_acceptance_table_and_plot(local, tmp_path) -> None:
    pytest.importorskip("matplotlib")
    rows = local[0]
    table = acceptance(rows)
    assert [p["utilisation"] for p in table] == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert table[0] == {
        "tasks": 4,
        "utilisation": 0.5,
        "sets": 20,
        "analysis": 1.0,
        "simulation": 1.0,
        "violations": 0,
    }
    assert all(p["analysis"] <= p["simulation"] for p in table)
    png = tmp_path / "acceptance.png"
    plot_acceptance(rows, png, title="small")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 640  # 6.4 in at 100 dpi
    assert len(data) < 100_000


def test_sweep_command_prints_the_table_and_exits_zero(tmp_path, capsys) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        "[sweep]\ntasks = [3]\nutilisation = [0.5, 1.0]\nsets = 2\n"
        'periods = { min = "1ms", max = "4ms" }\nmax_duration = "10ms"\n'
    )
    out = tmp_path / "r.csv"
    assert main(["sweep", str(config), "-o", str(out), "--workers", "0", "--json"]) == 0
    printed = capsys.readouterr().out
    assert '"violations": 0' in printed
    assert len(out.read_text().splitlines()) == 5


def test_generate_command_writes_a_loadable_description(tmp_path) -> None:
    out = tmp_path / "g.toml"
    argv = ["generate", "-n", "3", "-u", "0.6", "--seed", "5", "--constant-bandwidth"]
    assert main([*argv, "-o", str(out)]) == 0
    system = load(out)
    assert [p.sc.sporadic for p in system.partitions] == [False] * 3
    assert main(["generate", "-n", "3", "-u", "7"]) == 2


def test_example_sweep_config_loads() -> None:
    config = load_config(ROOT / "examples" / "sweep" / "sweep.toml")
    assert (config.tasks, config.sets, len(config.utilisation)) == ((5, 10, 20), 40, 17)
    assert len(config.specs()) == 2040


def test_set_names_keep_two_decimals_unless_more_are_needed() -> None:
    assert crosscheck.set_name(SetSpec(10, 0.8, 3, 0)) == "u0.80-n10-s3"
    assert crosscheck.set_name(SetSpec(5, 0.625, 0, 0)) == "u0.625-n5-s0"


def test_run_set_row_for_one_set() -> None:
    config = load_config(SMALL)
    spec = SetSpec(4, 0.5, 0, set_seed(3, 4, 0.5, 0))
    row = run_set(config, spec)
    assert set(row) == set(COLUMNS)
    assert (row["rta_schedulable"], row["sim_misses"], row["violation"]) == (True, 0, False)
    assert row["duration"] <= 20 * MS
