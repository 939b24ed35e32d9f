"""The deploy channel inside the simulation: the guest, the page, the runner and module partitions
(docs/deploying.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sporadic import records as ev
from sporadic.agent.page import (
    DATA_SIZE,
    RESET_BUFFER,
    SEND_DONE,
    SEND_PART,
    Page,
    RunParams,
    chunks,
)
from sporadic.agent.requests import ControlRequest, DeployRequest
from sporadic.description import DescriptionError, load, load_text
from sporadic.simulation import Simulation
from sporadic.traces.deploys import compare_deploys
from sporadic.traces.summary import summarise
from tests.helpers import ROOT

WASM = ROOT / "examples" / "wasm"
DEPLOY = ROOT / "examples" / "deploy"


def deploys(sim: Simulation) -> list[tuple[int, str, str, dict]]:
    return [(r[1], r[2], r[3], r[4]) for r in sim.records if r[0] == ev.DEPLOY]


def served(agent: str = "", duration: str = "50ms") -> Simulation:
    """A system with only the agent, kept in memory."""
    return Simulation(load_text(f'[system]\nduration = "{duration}"\n[agent]\n{agent}', "a.toml"))


# ------------------------------------------------------------------ the page, as the seed laid it


def test_the_page_holds_a_command_header_and_4092_bytes_and_the_status_overlays_it() -> None:
    page = Page()
    page.write(SEND_PART, b"abc")
    assert bytes(page.buf[:7]) == b"\x02\x00\x03\x00abc"
    assert page.read() == (SEND_PART, b"abc")
    page.set_status(-1)
    assert bytes(page.buf[:4]) == b"\xff\xff\xff\xff" and page.status() == -1
    assert DATA_SIZE == 4092


def test_a_module_goes_in_4092_byte_parts_and_run_params_round_trip() -> None:
    assert [len(c) for c in chunks(bytes(10_000))] == [4092, 4092, 1816]
    params = RunParams("nbody", 30, 1_000_000, 10_000_000, None, True)
    assert RunParams.unpack(params.pack()) == params


# ------------------------------------------------------------------ the runner's seed commands


def _guest_script(sim: Simulation, steps: list[tuple[int, bytes]], out: list[int]) -> None:
    """Replace the guest's program by raw commands; ``out`` gets each status word."""
    guest = sim.agent.guest

    def program() -> Iterator[Any]:
        for command, data in steps:
            out.append((yield from guest._command(command, data)))

    sim.kernel.thread_by_name("guest").program = program()


def test_runner_refuses_a_reset_without_8_bytes_with_the_seeds_message() -> None:
    sim = served()
    status: list[int] = []
    _guest_script(sim, [(RESET_BUFFER, b"1234")], status)
    sim.run()
    assert status == [-1]
    assert [(p, i["message"]) for _, _, p, i in deploys(sim)] == [
        ("error", "input.size expect 8, got 4")
    ]


def test_runner_refuses_a_part_beyond_the_announced_size_and_a_short_upload() -> None:
    sim = served()
    status: list[int] = []
    steps = [
        (RESET_BUFFER, (5).to_bytes(8, "little")),
        (SEND_PART, b"abcdef"),
        (SEND_PART, b"abc"),
        (SEND_DONE, b""),
    ]
    _guest_script(sim, steps, status)
    sim.run()
    assert status == [0, -1, 0, -1]
    assert [i["message"] for _, _, p, i in deploys(sim) if p == "error"] == [
        "input.size expect maximum 5, got 6",
        "cursor 3 != buffer.size() 5",
    ]


# ------------------------------------------------------------------ deploys


def test_a_deployed_module_runs_as_its_own_partition_and_its_exit_status_is_recorded() -> None:
    sim = served()
    sim.agent.submit(DeployRequest("st", (WASM / "status.wasm").read_bytes(), ("3",)))
    sim.run()
    phases = [p for _, _, p, _ in deploys(sim)]
    assert phases[0] == "request" and phases[-4:] == ["uploaded", "instantiate", "start", "exit"]
    assert deploys(sim)[-1][3] == {"thread": 3, "status": 3}
    assert [r[3] for r in sim.records if r[0] == ev.LOG] == ["status: exiting with 3"]
    assert [r for r in sim.records if r[0] == ev.FAULT] == []  # an exit status is no fault
    new = [r for r in sim.records if r[0] == ev.THREAD_NEW]
    assert [r[2:] for r in new] == [(3, "st", "module", 20, 0, 2, 1_000_000, 10_000_000)]


def test_a_second_deploy_of_a_name_stops_the_first_and_starts_the_new_one() -> None:
    """A hot deploy: ``nbody`` 1000 steps is still running when ``nbody`` 10 replaces it."""
    sim = served('module_budget = "100us"\nmodule_period = "10ms"\n', "200ms")
    nbody = (WASM / "nbody.wasm").read_bytes()
    sim.agent.submit(DeployRequest("nbody", nbody, ("1000",), budget=100_000, period=10_000_000))
    sim.kernel.run(20_000_000)
    sim.agent.submit(DeployRequest("nbody", nbody, ("10",), budget=100_000, period=10_000_000))
    sim.run()
    steps = [(p, i.get("thread")) for _, _, p, i in deploys(sim) if p not in ("chunk", "request")]
    assert steps == [
        ("uploaded", None),
        ("instantiate", 3),
        ("start", 3),
        ("uploaded", None),
        ("stop", 3),
        ("instantiate", 4),
        ("start", 4),
        ("exit", 4),
    ]
    assert sim.agent.modules["nbody"].thread.id == 4
    assert [r[3] for r in sim.records if r[0] == ev.LOG and r[2] == 4] == [
        "-0.169075164",
        "-0.169073022",
    ]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            DeployRequest("c", (WASM / "control.wasm").read_bytes()),
            "c.wasm: a reactor; deploy a WASI command (_start)",
        ),
        (
            DeployRequest("h", (WASM / "hello.wasm").read_bytes(), priority=201),
            "priority: 201 is above max_priority 200",
        ),
        (
            DeployRequest("h", (WASM / "hello.wasm").read_bytes(), budget=6_000_000),
            "budget: 6000000 ns is more than max_utilisation 0.5 of the period 10000000 ns",
        ),
        (DeployRequest("h", b"\0asm junk"), "h.wasm: invalid WebAssembly"),
        (ControlRequest("stop", "nothing"), "no module called 'nothing'"),
    ],
)
def test_runner_refuses_what_it_cannot_run_and_says_why(request_: Any, message: str) -> None:
    sim = served()
    sim.agent.submit(request_)
    sim.run()
    errors = [i["message"] for _, _, p, i in deploys(sim) if p == "error"]
    assert len(errors) == 1 and errors[0].startswith(message)
    assert [r for r in sim.records if r[0] == ev.THREAD_NEW] == []


def test_the_runner_holds_at_most_max_modules() -> None:
    sim = served("max_modules = 1\n")
    hello = (WASM / "hello.wasm").read_bytes()
    sim.agent.submit(DeployRequest("a", hello))
    sim.agent.submit(DeployRequest("b", hello))
    sim.run()
    assert [i["message"] for _, _, p, i in deploys(sim) if p == "error"] == [
        "too many modules: the runner holds at most 1"
    ]
    assert list(sim.agent.modules) == ["a"]


# ------------------------------------------------ the 1 kHz loop and a 1.4 MB deploy


def test_a_budgeted_runner_leaves_the_1khz_loop_every_deadline_during_a_1_4_mb_deploy(
    tmp_path: Path,
) -> None:
    """examples/deploy/deploy.toml: the runner (150, 200 us / 1 ms) above the loop (100,
    300 us a 1 ms job) takes 45 ms to copy in and instantiate big.wasm, and the loop misses
    nothing; its response doubles inside the window (the runner's 200 us plus its own)."""
    trace = tmp_path / "deploy.trace"
    Simulation(load(DEPLOY / "deploy.toml"), trace).run()
    s = summarise(trace)
    big = s["deploys"][0]
    assert (big["size"], big["chunks"]) == (1_418_307, 347)
    assert big["sha256"] == hashlib.sha256((WASM / "big.wasm").read_bytes()).hexdigest()
    assert (big["requested"], big["uploaded"], big["started"]) == (
        100_000_000,
        109_307_856,
        145_133_184,
    )
    assert big["exit_status"] == 0
    assert (s["tasks"]["control"]["jobs"], s["tasks"]["control"]["misses"]) == (300, 0)
    inside = compare_deploys(trace)["tasks"]["control"]
    assert (inside["inside"]["jobs"], inside["inside"]["misses"]) == (46, 0)
    assert inside["inside"]["response"]["max"] == 600_000
    assert inside["outside"]["response"]["max"] == 300_000


def test_an_unbudgeted_runner_makes_the_loop_miss_during_the_same_deploy(tmp_path: Path) -> None:
    trace = tmp_path / "deploy.trace"
    Simulation(load(DEPLOY / "deploy-unbudgeted.toml"), trace).run()
    result = compare_deploys(trace)["tasks"]["control"]
    assert (result["inside"]["jobs"], result["inside"]["misses"]) == (11, 7)
    assert result["inside"]["latency"]["max"] == 6_996_126


# ------------------------------------------------------------------ the description


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[deploy]]\nwasm = 'x.wasm'\n", "a.toml:3: deploy #1: at: missing (the simulated time"),
        ("[agent]\nrunner_prio = 3\n", "a.toml:4: [agent]: unknown field 'runner_prio'"),
        (
            "[agent]\nmodule_priority = 220\n",
            "a.toml:4: [agent]: module_priority: 220 is above max_priority 200",
        ),
        (
            f"[[deploy]]\nat = '1ms'\nwasm = '{WASM / 'hello.wasm'}'\nbudget = '9ms'\n",
            'a.toml:6: deploy "hello": budget: 9000000 ns is more than max_utilisation 0.5',
        ),
        (
            f"[[deploy]]\nat = '1s'\nwasm = '{WASM / 'hello.wasm'}'\n",
            "a.toml:4: deploy #1: at: 1000000000 ns is not within the run",
        ),
    ],
)
def test_a_bad_agent_or_deploy_names_file_line_and_field(text: str, message: str) -> None:
    with pytest.raises(DescriptionError) as e:
        load_text('[system]\nduration = "50ms"\n' + text, "a.toml")
    assert str(e.value).startswith(message)
