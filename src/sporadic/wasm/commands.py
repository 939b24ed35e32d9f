"""The engine interface for WASI command jobs, which wasmtime and wasmer both implement.

A command job is one run of ``_start`` with an argv and a time cap. Every engine loads and
checks a module the same way (``LoadedModule``: a command importing only WASI), runs it, and
reports a ``CommandRun``: the lines it printed with the time into the run at which each came,
how long it ran, and how it ended (an exit code, a trap, or its cap). wasmtime counts fuel, so
its times are exact and reproducible; wasmer measures them (``wasm/wasmer_engine.py``).
``play_command`` turns a run into the actions of the thread that ran it, as ``Player`` does for
wasmtime's fuel segments. The ABI and both time models are in docs/wasm-abi.md.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sporadic import records as ev
from sporadic.errors import WasmError
from sporadic.kernel.syscalls import INF, Compute
from sporadic.wasm.engine import HOST_MODULE, LoadedModule, WasmEngine, read_module
from sporadic.wasm.instance import InstantiateError, WasmInstance
from sporadic.wasm.output import RunOutput

ENGINES = ("wasmtime", "wasmer")
MEMORY_LIMIT = 64 * 1024 * 1024  # a module's linear memory, when nothing else is said
TABLE_LIMIT = 10_000
WASMER_MISSING = "engine 'wasmer' needs the wasmer-sdk package: pip install 'sporadic[wasmer]'"


@dataclass(frozen=True)
class CommandRun:
    """One run of a command: ``lines`` as (ns into the run, text), ``ns`` its simulated time,
    and how it ended: ``exit_code`` (None if it did not exit), or ``trap`` with ``capped`` when
    the trap is its time cap. ``measured_ns`` is the wall time a measured engine saw."""

    lines: tuple[tuple[int, str], ...]
    ns: int
    exit_code: int | None
    trap: str | None = None
    capped: bool = False
    measured_ns: int | None = None

    @property
    def status(self) -> str:
        """How it ended, in words that compare across engines: ``exit 0``, ``cap reached``
        (fuel or time: each engine's own trap says which), or the trap."""
        if self.capped:
            return "cap reached"
        return f"exit {self.exit_code}" if self.trap is None else self.trap

    def fault(self, exit_is_fault: bool = True) -> str | None:
        """The fault message of this run as a job: its trap, or a non-zero exit."""
        if self.trap is not None:
            return self.trap
        if exit_is_fault and self.exit_code:
            return f"exit code {self.exit_code}"
        return None


@dataclass(frozen=True)
class CommandModule:
    """A loaded command, as an engine hands it back: ``handle`` is the engine's own."""

    path: Path
    digest: str
    handle: Any


class CommandEngine(ABC):
    """Loads and checks WASI commands, and runs them with an argv and a time cap (ns)."""

    name: str
    timing: str  # "fuel" (counted, reproducible) or "measured"

    @abstractmethod
    def load(
        self,
        path: str | Path,
        data: bytes | None = None,
        memory: int = MEMORY_LIMIT,
        tables: int = TABLE_LIMIT,
    ) -> CommandModule:
        """The command at ``path`` (or ``data``, named ``path``), checked; else a WasmError."""

    @abstractmethod
    def run(self, module: CommandModule, argv: list[str], cap_ns: int) -> CommandRun:
        """Run ``_start`` once with ``argv``, for at most ``cap_ns`` of simulated time."""

    @abstractmethod
    def close(self) -> None:
        """Release what the engine holds (a worker process, sandboxes)."""


def load_command(
    checker: WasmEngine, path: Path, data: bytes, memory: int, tables: int, host_api: bool
) -> LoadedModule:
    """``data`` checked as a command by the ABI's rules (``WasmEngine.load_bytes``), with its
    limits and start function tried once; ``host_api`` False refuses ``"sporadic"`` imports."""
    loaded = checker.load_bytes(data, path)
    if loaded.kind != "command":
        raise WasmError(f"{path}: a reactor; a command job runs a WASI command (_start)")
    if not host_api:
        names = [i.name for i in loaded.module.imports if i.module == HOST_MODULE]
        if names:
            raise WasmError(
                f"{path}: imports {HOST_MODULE}.{names[0]}; wasmer runs WASI commands without "
                f'the {HOST_MODULE} host API, which only wasmtime provides (engine = "wasmtime")'
            )
    try:
        WasmInstance(loaded, [path.name], memory, tables, checker.fuel(1_000_000_000))
    except InstantiateError as e:
        raise WasmError(str(e)) from None
    return loaded


class WasmtimeCommands(CommandEngine):
    """wasmtime through the simulator's own instances: fuel is the time, as in a simulation.
    A command that makes suspending host calls (``now``, ``ppcall``, ``yield``) needs a running
    simulation to answer them, so it is refused here."""

    name = "wasmtime"
    timing = "fuel"

    def __init__(self, fuel_per_us: int = 1000) -> None:
        self.engine = WasmEngine(fuel_per_us)

    def load(
        self,
        path: str | Path,
        data: bytes | None = None,
        memory: int = MEMORY_LIMIT,
        tables: int = TABLE_LIMIT,
    ) -> CommandModule:
        p = Path(path)
        data = read_module(p) if data is None else data
        loaded = load_command(self.engine, p, data, memory, tables, host_api=True)
        if loaded.suspends:
            raise WasmError(
                f"{p}: makes suspending host calls (now, ppcall, yield), which only a running "
                "simulation can answer"
            )
        return CommandModule(p, loaded.digest, (loaded, memory, tables))

    def close(self) -> None:
        """Nothing to release: wasmtime's engine and compiled modules serve the process."""

    def run(self, module: CommandModule, argv: list[str], cap_ns: int) -> CommandRun:
        loaded, memory, tables = module.handle
        ns, cap = self.engine.ns, self.engine.fuel(cap_ns)
        try:
            inst = WasmInstance(loaded, argv, memory, tables, cap)
        except InstantiateError as e:
            capped = "fuel exhausted" in e.fault
            return CommandRun((), ns(e.fuel), None, e.fault, capped)
        init = inst.init_fuel_used
        seg = next(inst.call("_start", (), cap - init))
        lines = tuple((ns(init + e.fuel), e.value) for e in seg.effects if e.kind == "log")
        exit_code = seg.exit_code if seg.trap is None or seg.trap.startswith("exit code") else None
        trap = None if exit_code is not None else seg.trap
        return CommandRun(lines, ns(init + seg.fuel_end), exit_code, trap, seg.out_of_fuel)


def command_engine(name: str, fuel_per_us: int = 1000, wasmer_scale: float = 1.0) -> CommandEngine:
    """A new engine called ``name``; wasmer's package is imported only here, when chosen, and
    its absence is a one-line error that says how to install it."""
    if name == "wasmtime":
        return WasmtimeCommands(fuel_per_us)
    if name != "wasmer":
        raise WasmError(f"engine {name!r} is not one of {', '.join(ENGINES)}")
    if not wasmer_installed():
        raise WasmError(WASMER_MISSING)
    from sporadic.wasm.wasmer_engine import WasmerEngine

    return WasmerEngine(wasmer_scale)


def wasmer_installed() -> bool:
    """Whether the wasmer-sdk package can be imported (it is not imported to find out)."""
    import importlib.util

    return importlib.util.find_spec("wasmer_sdk") is not None


def allowance_ns(now: int, deadline: int, max_job_time: int) -> int:
    """What a job can still get at ``now``: up to its deadline, or its maximum job time."""
    left = max_job_time
    if deadline < INF:
        left = min(left, deadline - now)
    return max(0, left)


def measured_job(
    engine: CommandEngine,
    module: CommandModule,
    argv: list[str],
    kernel: Any,
    thread: int,
    max_job_time: int,
    output: RunOutput,
) -> Callable[[int, int], Iterator[Any]]:
    """A partition's command job on ``engine``: ``run(deadline, job)`` runs it at the job's
    first dispatch with what the job can still get, then plays it (``play_command``); its
    value is the fault message, or None."""

    def run(deadline: int, job: int) -> Iterator[Any]:
        result = engine.run(module, argv, allowance_ns(kernel.hw, deadline, max_job_time))
        return (yield from play_command(result, kernel, thread, job, output))

    return run


def play_command(
    run: CommandRun,
    kernel: Any,
    thread: int,
    job: int,
    output: RunOutput,
    exit_is_fault: bool = True,
) -> Iterator[Any]:
    """The actions of ``thread`` for a finished run: its CPU time up to each line, the line as
    a LOG record at that simulated time, the rest of its time, then a FAULT record if it
    faulted. Its value is the fault message, or None."""
    prev = 0
    for at, line in run.lines:
        if at > prev:
            yield Compute(at - prev)
            prev = at
        text = output.admit(thread, line)
        if text is not None:
            kernel.sink((ev.LOG, kernel.hw, thread, text))
    if run.ns > prev:
        yield Compute(run.ns - prev)
    fault = run.fault(exit_is_fault)
    if fault is not None:
        kernel.sink((ev.FAULT, kernel.hw, thread, job, fault))
    return fault


__all__ = [
    "ENGINES",
    "WASMER_MISSING",
    "CommandEngine",
    "CommandModule",
    "CommandRun",
    "WasmtimeCommands",
    "allowance_ns",
    "command_engine",
    "load_command",
    "measured_job",
    "play_command",
    "wasmer_installed",
]
