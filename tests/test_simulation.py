"""The simulation hosted by trio: the synchronous kernel runs in slices and other trio tasks
(the agent's server, live subscribers) run between them."""

from __future__ import annotations

from pathlib import Path

import trio

from sporadic.description import load
from sporadic.simulation import Simulation
from tests.helpers import ROOT

VEHICLE = ROOT / "examples" / "vehicle" / "vehicle.toml"


async def test_other_trio_tasks_run_between_slices(tmp_path: Path) -> None:
    sim = Simulation(load(VEHICLE), tmp_path / "v.trace")
    seen: list[int] = []

    async def watcher() -> None:
        while True:
            seen.append(sim.kernel.hw)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watcher)
        end = await sim.run_async(slice_ns=100_000_000)
        nursery.cancel_scope.cancel()
    assert end == 2_000_000_000
    # the watcher ran between slices and saw the simulation only at slice boundaries
    distinct = sorted(set(seen))
    assert all(t % 100_000_000 == 0 for t in distinct)
    assert len([t for t in distinct if 0 < t < end]) >= 5


def test_records_in_memory_without_a_trace_file() -> None:
    sim = Simulation(load(VEHICLE), until=10_000_000)
    assert sim.run() == 10_000_000
    assert sim.system.duration == 10_000_000
    assert sum(1 for r in sim.records if r[0] == 0) == 10 + 2 + 1 + 1  # control, fusion, ...
