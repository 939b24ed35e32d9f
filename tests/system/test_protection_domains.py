"""Microkit protection domains described in TOML: the libmicrokit event loop on the simulated
kernel (docs/microkit.md), checked through exact trace records."""

from __future__ import annotations

from pathlib import Path

import pytest

from sporadic import records as ev
from sporadic.description import DescriptionError, load, load_text
from sporadic.simulation import Simulation
from tests.helpers import ROOT, US


def run(text: str, until: int | None = None) -> tuple[Simulation, dict[str, int]]:
    sim = Simulation(load_text(text, "pd.toml"), until=until)
    sim.run()
    return sim, {t.name: t.id for t in sim.kernel.threads}


def kinds(sim: Simulation, kind: int) -> list[tuple]:
    return [r for r in sim.records if r[0] == kind]


TWO = """
[system]
duration = "10ms"
[[protection_domain]]
name = "server"
priority = 150
budget = "1ms"
period = "1ms"
passive = {passive}
init = [ {{ compute = "10us" }} ]
protected = [ {{ compute = "50us" }} ]
notified = [ {{ compute = "20us" }} ]
[[protection_domain]]
name = "client"
priority = 100
budget = "500us"
period = "1ms"
init = [ {{ compute = "30us" }}, {{ ppcall = 0, words = [5] }}, {{ notify = 0 }}, {{ notify = 0 }},
         {{ compute = "5us" }} ]
[[channel]]
ends = [ {{ pd = "client", id = 0, pp = true }}, {{ pd = "server", id = 3 }} ]
"""


def test_ppcall_runs_the_higher_server_at_once_on_the_callers_sc() -> None:
    sim, ids = run(TWO.format(passive="true"))
    server, client, monitor = ids["server"], ids["client"], ids["monitor"]
    sc_of = {s.name: s.id for s in sim.kernel.scs}
    switches = [(r[1], r[2], r[3], r[4]) for r in kinds(sim, ev.SWITCH)]
    assert switches == [
        (0, 0, monitor, sc_of["monitor"]),  # boot: the monitor waits for passive PDs
        (0, monitor, server, sc_of["server"]),  # server init 0..10us on its own SC
        (10 * US, server, monitor, sc_of["monitor"]),  # "I am passive" -> monitor rebinds
        (10 * US, monitor, client, sc_of["client"]),
        # client init: 30us, then the PPC: the server runs on the client's SC, 40..90us
        (40 * US, client, server, sc_of["client"]),
        (90 * US, server, client, sc_of["client"]),
        # each notify wakes the higher-priority server at once, so the two do not coalesce:
        # the passive server runs notified() twice, each time on its notification's SC
        (90 * US, client, server, sc_of["server"]),
        (110 * US, server, client, sc_of["client"]),
        (110 * US, client, server, sc_of["server"]),
        (130 * US, server, client, sc_of["client"]),
        (135 * US, client, 0, -1),
    ]
    calls = kinds(sim, ev.IPC_CALL)
    assert [(r[1], r[2], r[4]) for r in calls] == [(40 * US, client, server)]
    donations = [(r[1], r[2], r[3], r[4]) for r in kinds(sim, ev.DONATE)]
    assert donations == [
        (40 * US, sc_of["client"], client, server),  # Call donates the client's SC
        (90 * US, sc_of["client"], server, client),  # the reply returns it
        (90 * US, sc_of["server"], -1, server),  # the notification lends the server's SC
        (110 * US, sc_of["server"], server, -1),  # and takes it back at the next Recv
        (110 * US, sc_of["server"], -1, server),
        (130 * US, sc_of["server"], server, -1),
    ]
    # the server got badge 1 << 63 | 3 (PPC on its channel 3): one protected job of 50us
    jobs = [(r[1], r[3]) for r in kinds(sim, ev.JOB_END) if r[2] == server]
    assert jobs == [(10 * US, 1), (90 * US, 2), (110 * US, 3), (130 * US, 4)]


def test_active_server_keeps_its_own_sc() -> None:
    sim, ids = run(TWO.format(passive="false"))
    server = ids["server"]
    sc_of = {s.name: s.id for s in sim.kernel.scs}
    server_runs = [r[4] for r in kinds(sim, ev.SWITCH) if r[3] == server]
    # init, then the call runs on the server's own SC (no donation to an active server)
    assert server_runs == [sc_of["server"]] * 4
    assert not [r for r in kinds(sim, ev.MARK) if r[3] == "passive"]


def test_notification_bits_are_handled_in_ascending_order() -> None:
    text = """
[system]
duration = "5ms"
[[protection_domain]]
name = "rx"
priority = 10
notified = { any = [ { compute = "10us" } ] }
[[protection_domain]]
name = "tx"
priority = 200
init = [ { notify = 5 }, { notify = 2 }, { notify = 7 } ]
[[channel]]
ends = [ { pd = "tx", id = 5 }, { pd = "rx", id = 9 } ]
[[channel]]
ends = [ { pd = "tx", id = 2 }, { pd = "rx", id = 1 } ]
[[channel]]
ends = [ { pd = "tx", id = 7 }, { pd = "rx", id = 4 } ]
"""
    sim, ids = run(text)
    rx = ids["rx"]
    # tx (priority 200) signals three channels at t=0, before rx has even run its init: the
    # notification coalesces bits 9, 1 and 4; when rx first receives (after init, at 10us) it
    # runs notified(1), notified(4), notified(9), three jobs released when the signal came.
    releases = [(r[1], r[3]) for r in kinds(sim, ev.JOB_RELEASE) if r[2] == rx]
    assert releases == [(0, 1), (0, 2), (0, 3), (0, 4)]
    ends = [r[1] for r in kinds(sim, ev.JOB_END) if r[2] == rx]
    assert ends == [10 * US, 20 * US, 30 * US, 40 * US]


def test_irq_timer_releases_periodic_jobs() -> None:
    text = """
[system]
duration = "3500us"
[[protection_domain]]
name = "drv"
priority = 50
deadline = "100us"
irq = [ { id = 3, period = "1ms", offset = "500us" } ]
notified = { 3 = [ { compute = "30us" } ] }
"""
    sim, ids = run(text)
    drv = ids["drv"]
    releases = [r[1] for r in kinds(sim, ev.JOB_RELEASE) if r[2] == drv]
    assert releases == [0, 500 * US, 1500 * US, 2500 * US]
    ends = [r[1] for r in kinds(sim, ev.JOB_END) if r[2] == drv]
    assert ends == [10 * US, 530 * US, 1530 * US, 2530 * US]
    assert not kinds(sim, ev.DEADLINE_MISS)


def test_pipeline_example_charges_the_server_to_its_clients(tmp_path: Path) -> None:
    from sporadic.traces import TraceReader, summarise

    trace = tmp_path / "p.trace"
    Simulation(load(ROOT / "examples" / "pipeline" / "pipeline.toml"), trace).run()
    with TraceReader(trace) as reader:
        tasks = summarise(reader)["tasks"]
    assert list(tasks) == ["store", "sensor", "filter", "actuator"]
    assert [tasks[n]["jobs"] for n in tasks] == [2001, 1001, 1001, 1001]
    assert all(tasks[n]["misses"] == 0 for n in tasks)
    store = tasks["store"]
    assert store["charged"] == 10 * US  # only its init ran on its own SC
    on_clients = sum(tasks[n]["charged"] - tasks[n]["cpu"] for n in ("filter", "actuator"))
    assert store["cpu"] == on_clients + 10 * US
    assert tasks["sensor"]["cpu"] == tasks["sensor"]["charged"] == 1000 * 80 * US + 10 * US


@pytest.mark.parametrize(
    ("ends", "message"),
    [
        (
            '[ { pd = "a", id = 0, pp = true }, { pd = "b", id = 0 } ]',
            "PPCs must be to protection domains of strictly higher priorities; channel with "
            "PPC exists from pd a (priority: 2) to pd b (priority: 1)",
        ),
        ('[ { pd = "a", id = 0, pp = true }, { pd = "b", id = 0, pp = true } ]', "bidirectionally"),
        ('[ { pd = "a", id = 0 } ]', "exactly two end elements must be specified"),
        ('[ { pd = "a", id = 62 }, { pd = "b", id = 0 } ]', "id must be < 62"),
        ('[ { pd = "a", id = 0 }, { pd = "nobody", id = 0 } ]', "no PD named 'nobody'"),
    ],
)
def test_channel_errors(ends: str, message: str) -> None:
    text = f"""
[[protection_domain]]
name = "a"
priority = 2
[[protection_domain]]
name = "b"
priority = 1
[[channel]]
ends = {ends}
"""
    with pytest.raises(DescriptionError, match=None) as info:
        load_text(text, "ch.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("ch.toml:9: channel #1")


def test_handler_must_use_its_own_channels() -> None:
    text = """
[[protection_domain]]
name = "a"
priority = 2
init = [ { notify = 4 } ]
"""
    with pytest.raises(DescriptionError, match="notify: no channel 4"):
        load_text(text, "h.toml")


@pytest.mark.parametrize(
    ("fastpath", "exhausted", "called"),
    [("true", (510 * US, "server"), 495 * US), ("false", (495 * US, "client"), 995 * US)],
)
def test_kernel_fastpath_setting_decides_whether_a_ppcall_with_15us_left_is_made(
    fastpath: str, exhausted: tuple[int, str], called: int
) -> None:
    """The client ppcalls at 495 us with 15 us of budget left (below MIN_BUDGET). Through the
    fastpath (no budget check) the call is made and the server exhausts the SC at 510 us;
    with ``fastpath = false`` the slowpath ends the client's timeslice first and the call is
    made in the next period."""
    text = TWO.format(passive="true").replace(
        'compute = "30us" }, { ppcall', 'compute = "485us" }, { ppcall'
    )
    sim, ids = run(f"[kernel]\nfastpath = {fastpath}\n" + text, until=2_000_000)
    names = {v: k for k, v in ids.items()}
    first = kinds(sim, ev.BUDGET_EXHAUSTED)[0]
    assert (first[1], names[first[2]]) == exhausted
    assert kinds(sim, ev.IPC_CALL)[0][1] == called
