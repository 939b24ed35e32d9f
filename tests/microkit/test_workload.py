"""Microkit .system files run through `sporadic run` / `sporadic check`, with and without a side
file of workloads (docs/microkit.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sporadic import records as ev
from sporadic.cli import main
from sporadic.description import DescriptionError
from sporadic.microkit import load_system_file
from sporadic.simulation import Simulation
from sporadic.traces.reader import TraceReader
from tests.helpers import ROOT, US

EXAMPLES = ROOT / "examples" / "microkit"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.system")), ids=lambda p: p.name)
def test_every_valid_example_simulates_one_second_with_exact_job_counts(
    path: Path, tmp_path: Path, capsys
) -> None:
    trace = tmp_path / "x.trace"
    assert main(["run", str(path), "--until", "1s", "-o", str(trace), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["duration"] == 1_000_000_000 and summary["truncated"] is False
    system = load_system_file(path)
    with TraceReader(trace) as reader:
        names = [t["name"] for t in reader.header["threads"]]
        assert reader.header["system"]["microkit"]["path"] == path.name  # relative to its folder
    # idle, the monitor, then every PD (children included) in depth-first document order
    assert names == ["idle", "monitor", *(p.name for p in system.protection_domains)]
    # one task per PD. Without a side file a PD runs one job: its init. The passive server
    # example has a side file: client and server each run their init, then one job per 1 ms IRQ
    # of the client (the client's notified job, the server's protected call): 1 + 1000 jobs
    jobs = {name: task["jobs"] for name, task in summary["tasks"].items()}
    per_pd = 1001 if path.name == "microkit_passive_server.system" else 1
    assert jobs == {p.name: per_pd for p in system.protection_domains}


EXPECTED = {
    "microkit_pd_budget_gt_period.system": "budget (1000) must be less than, or equal to, "
    "period (100)",
    "microkit_ch_ppcall_priority.system": "PPCs must be to protection domains of strictly "
    "higher priorities",
    "microkit_ch_bidirectional_ppc.system": "cannot ppc bidirectionally",
    "microkit_pd_small_stack_size.system": "stack size must be between",
    "microkit_ch_not_enough_ends.system": "exactly two end elements must be specified",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_examples_fail_with_microkits_message(name: str, capsys) -> None:
    path = EXAMPLES / "invalid" / name
    for command in ("run", "check"):
        assert main([command, str(path)]) == 2
        err = capsys.readouterr().err
        assert EXPECTED[name] in err
        assert f"{path}:" in err  # file:line:column
        line_col = err.split(f"{path}:")[1].split(":")[:2]
        assert all(part.isdigit() for part in line_col)


def test_side_file_drives_the_passive_server_example() -> None:
    system = load_system_file(EXAMPLES / "microkit_passive_server.system")
    assert system.duration == 100_000_000  # from microkit_passive_server.workload.toml
    sim = Simulation(system)
    sim.run()
    ids = {t.name: t.id for t in sim.kernel.threads}
    scs = {s.name: s.id for s in sim.kernel.scs}
    server_runs = [(r[1], r[4]) for r in sim.records if r[0] == ev.SWITCH and r[3] == ids["server"]]
    # Boot: server init 0..10us on its own SC (default 10us handlers), the monitor makes it
    # passive, client init 10..20us. Then every call runs on the client's SC: the IRQ at k ms
    # (the first one waits for the client's init), 100us of client work, the call, 200us of
    # server work, and 50us more for the client.
    assert server_runs[0] == (0, scs["server"])
    starts = [120 * US, 1_100 * US, 2_100 * US]
    assert server_runs[1:4] == [(t, scs["client"]) for t in starts]
    client_ends = [r[1] for r in sim.records if r[0] == ev.JOB_END and r[2] == ids["client"]]
    assert client_ends[:4] == [20 * US, 370 * US, 1_350 * US, 2_350 * US]
    assert not [r for r in sim.records if r[0] == ev.DEADLINE_MISS]


def test_side_file_errors_name_the_side_file(tmp_path: Path) -> None:
    side = tmp_path / "w.toml"
    side.write_text('[[pd]]\nname = "ghost"\n')
    with pytest.raises(DescriptionError) as info:
        load_system_file(EXAMPLES / "microkit_passive_server.system", side)
    assert str(info.value).startswith(f"{side}:2: pd #1: name: no protection domain 'ghost'")
    side.write_text('[[pd]]\nname = "server"\ninit = [ { ppcall = 0 } ]\n')
    with pytest.raises(DescriptionError, match="ppcall: channel 0 does not allow PPC from here"):
        load_system_file(EXAMPLES / "microkit_passive_server.system", side)


def test_check_lists_every_pd(capsys) -> None:
    assert main(["check", str(EXAMPLES / "microkit_ethernet.system")]) == 0
    out = capsys.readouterr().out
    system = load_system_file(EXAMPLES / "microkit_ethernet.system")
    for p in system.protection_domains:
        assert p.name in out


def test_domain_schedule_from_the_system_file() -> None:
    system = load_system_file(EXAMPLES / "microkit_domains.system")
    assert system.domains[:3] == ((0, 6_000_000), (1, 8_000_000), (2, 2_000_000))
