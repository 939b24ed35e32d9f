"""Load a description, build the system, stream the trace, and run the kernel loop.

The kernel loop is synchronous and runs in slices of simulated time. ``run`` hands each slice's
records to the trace writer in one batch, with no event loop at all (a plain ``sporadic run``);
``run_async`` puts a trio checkpoint between slices and sends the records through the record bus,
so that the agent's server and live subscribers keep running beside a long simulation without
any await on the kernel's hot path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sporadic.description import System
from sporadic.description import load as load_description
from sporadic.description.engines import footer_keys, header_keys
from sporadic.errors import DescriptionError
from sporadic.system.builder import BuiltSystem
from sporadic.traces.writer import TraceWriter
from sporadic.units import parse_duration

if TYPE_CHECKING:  # a plain run needs neither trio nor the agent: imported where used
    import trio

    from sporadic.agent.agent import Agent
    from sporadic.traces.bus import RecordBus

SLICE = 100_000_000  # ns of simulated time between trio checkpoints


def load(path: str | Path, workload: str | Path | None = None) -> System:
    """A system from a TOML description, or from a Microkit ``.system`` file and its side file
    (``workload``, by default ``X.workload.toml`` beside it)."""
    if Path(path).suffix == ".system":
        from sporadic.microkit import load_system_file  # only Microkit runs pay for its import

        return load_system_file(path, workload)
    if workload is not None:
        raise DescriptionError(str(workload), None, "", "--workload is for Microkit .system files")
    return load_description(path)


class Simulation:
    """A built system writing its trace to ``trace_path`` (or to no file at all).

    ``until`` and ``seed`` override the description's duration and seed; the trace header records
    the values actually used.
    """

    def __init__(
        self,
        system: System,
        trace_path: str | Path | None = None,
        seed: int | None = None,
        until: int | str | None = None,
    ) -> None:
        if isinstance(until, str):  # "10ms", as a description writes it
            until = parse_duration(until)
        if seed is not None:
            system = dataclasses.replace(system, seed=seed)
        if until is not None:
            system = dataclasses.replace(system, duration=until)
        self.system = system
        self.interrupted = False  # set by stop(): the run ends at the next slice boundary
        self.writer: TraceWriter | None = None
        self._records: list[tuple] | None = None
        self.built = BuiltSystem(system)
        self.agent: Agent | None = None
        if system.agent:
            from sporadic.agent.agent import Agent

            self.agent = Agent(self.built, system.agent, system.deploys)
        if trace_path is None:
            self._records = []
            self.built.set_sink(self._records.append)
        else:
            self.writer = TraceWriter(trace_path, self.header())
            self.built.set_sink(self.writer.emit)
        self.kernel = self.built.kernel
        self.trace_path = Path(trace_path) if trace_path is not None else None

    def header(self) -> dict[str, Any]:
        """The trace header's simulator keys; its paths do not depend on the working directory
        (``portable_paths``), so that the same run gives the same bytes from anywhere."""
        return {
            "system": portable_paths(self.system.to_dict()),
            "threads": self.built.thread_table(),
            "scs": self.built.sc_table(),
            "seed": self.system.seed,
            "duration": self.system.duration,
            **header_keys(self.system),  # engine, timing: only when modules run
        }

    def stop(self) -> None:
        """End the run at the next slice boundary (safe from a signal handler): the trace is
        closed as complete up to the time simulated, its footer saying ``interrupted``."""
        self.interrupted = True

    @property
    def records(self) -> list[tuple]:
        """Records kept in memory when no trace file was asked for."""
        if self._records is None:
            raise RuntimeError("this simulation streams its records to a trace file")
        return self._records

    def run(self, slice_ns: int = SLICE) -> int:
        """Run to the end, or to ``stop()``, and close the trace; no trio. The kernel appends
        its records to a list, and each ``slice_ns`` of simulated time goes to the writer in one
        batch: the bytes ``run_async`` writes, at the cost of one list append per record."""
        end = self.system.duration
        batch: list[tuple] = []
        keep = self.writer.emit_batch if self.writer is not None else self.records.extend
        self.built.set_sink(batch.append)
        t = self.kernel.hw
        with self._keeping_records_on_error(batch, keep):
            while t < end and not self.interrupted:
                t = self.kernel.run(min(end, t + slice_ns))
                keep(batch)
                batch.clear()
            end = min(end, t)
            self.built.finish(end)
            keep(batch)
            batch.clear()
        self.close_files(end)
        return end

    @contextlib.contextmanager
    def _keeping_records_on_error(
        self, batch: list[tuple], keep: Callable[[list[tuple]], None]
    ) -> Iterator[None]:
        """A run that fails still leaves a readable (truncated) trace of what happened, up to
        the record the kernel wrote last."""
        try:
            yield
        except BaseException:
            self.built.close_engines()
            keep(batch)
            if self.writer is not None:
                self.writer.abandon()
            raise

    async def run_async(self, slice_ns: int = SLICE) -> int:
        """Run to the end under trio: the records of each ``slice_ns`` of simulated time go out
        through the record bus (``traces/bus.py``), and other trio tasks run between slices."""
        import trio

        end = self.system.duration
        bus = self.attach_bus()
        failure: Exception | None = None
        async with trio.open_nursery() as nursery:
            self.start_consumers(nursery, bus)
            t = self.kernel.hw
            try:
                while t < end and not self.interrupted:
                    t = self.kernel.run(min(end, t + slice_ns))
                    await bus.publish()
                end = min(end, t)
            except Exception as e:  # the records up to the failure still reach the file
                failure = e
                self.built.close_engines()
                await bus.close()
            else:
                await self.close_async(end, bus)
        if failure is not None:
            if self.writer is not None:
                self.writer.abandon()
            raise failure
        self.close_files(end)
        return end

    def attach_bus(self) -> RecordBus:
        """Send the kernel's records to a new bus instead of straight to the writer."""
        from sporadic.traces.bus import RecordBus

        bus = RecordBus()
        self.built.set_sink(bus.sink)
        return bus

    def start_consumers(self, nursery: trio.Nursery, bus: RecordBus) -> None:
        """The trace writer (or the in-memory list) as the bus's consumer that never drops."""
        if self.writer is not None:
            nursery.start_soon(bus.write_to, self.writer.emit_batch)
        else:
            nursery.start_soon(bus.write_to, self.records.extend)

    async def close_async(self, end: int, bus: RecordBus) -> None:
        """What the end of the run decides goes out through the bus too; then it closes."""
        self.built.finish(end)
        await bus.close()

    def close_files(self, end: int) -> None:
        if self.writer is not None:
            extra = {"interrupted": True} if self.interrupted else {}
            extra |= footer_keys(self.system, self.built.engines_started)  # wasmer, unforeseen
            self.writer.close(end, extra or None)


def portable_paths(system: dict[str, Any]) -> dict[str, Any]:
    """``system`` (a resolved description's ``to_dict()``) with the file paths it holds made
    relative to the description's folder: its own ``path``, the WebAssembly modules of its
    partitions, protection domains and deploys, the Microkit file and its warnings' locations.
    The loaders resolve these against the folder as it was given (relative to the working
    directory, or absolute), which would make the header differ between working directories.
    """
    own = system.get("path")
    if not isinstance(own, str) or own.startswith("<"):  # "<memory>": not loaded from a file
        return system
    base = os.path.dirname(os.path.abspath(own))

    def rel(path: str) -> str:
        try:
            return os.path.relpath(os.path.abspath(path), base)
        except ValueError:  # another drive (Windows): nothing relative to say
            return path

    system["path"] = rel(own)
    for entry in (*system.get("partitions", ()), *system.get("protection_domains", ())):
        wasm = entry.get("wasm")
        if isinstance(wasm, dict) and isinstance(wasm.get("path"), str):
            wasm["path"] = rel(wasm["path"])
    for deploy in system.get("deploys", ()):
        if isinstance(deploy.get("wasm"), str):
            deploy["wasm"] = rel(deploy["wasm"])
    microkit = system.get("microkit")
    if isinstance(microkit, dict) and isinstance(microkit.get("path"), str):
        given = microkit["path"]
        microkit["path"] = rel(given)
        microkit["warnings"] = [
            microkit["path"] + w[len(given) :] if w.startswith(given + ":") else w
            for w in microkit.get("warnings", ())
        ]
    return system


def simulate(
    system: System,
    trace_path: str | Path | None = None,
    until: int | str | None = None,
    seed: int | None = None,
) -> Simulation:
    """Build and run ``system`` and return the finished simulation; ``until`` is ns or a
    duration string ("10ms")."""
    sim = Simulation(system, trace_path, seed, until)
    sim.run()
    return sim
