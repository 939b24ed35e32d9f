"""The runner: takes commands off the page, assembles modules and starts each as a partition.

It follows the seed's runner (``wasmedge.cpp``) command by command, with its error texts, but
``RUN`` does not run the module inside the runner: it checks the module and the SC it asks for
against the caps, spends the instantiation time, makes a thread and an SC with the requested
parameters (``SchedControl_Configure``, ``SchedContext_Bind``) and resumes it. A module whose
name is already deployed is stopped and replaced (hot deploy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sporadic import records as ev
from sporadic.agent.page import (
    RESET_BUFFER,
    RUN,
    SEND_DONE,
    SEND_PART,
    SET_ARG,
    START,
    STOP,
    UNDEPLOY,
    Page,
    RunParams,
)
from sporadic.agent.requests import copy_cost
from sporadic.description.agent import sc_problem
from sporadic.description.engines import ENGINES
from sporadic.description.model import AgentSettings
from sporadic.errors import WasmError
from sporadic.kernel.objects import TCB
from sporadic.kernel.syscalls import Bind, Compute, Configure, Resume, Signal, Suspend, Wait
from sporadic.units import INF
from sporadic.wasm.commands import CommandEngine, CommandModule, allowance_ns, play_command
from sporadic.wasm.engine import LoadedModule, WasmEngine
from sporadic.wasm.instance import WasmInstance
from sporadic.wasm.player import Player

FAILED = -1  # the seed's status for a command it refused
TABLES = 10_000


class Refused(Exception):
    """The kernel refused one of the runner's invocations for a module."""


@dataclass
class Module:
    """A deployed module and its partition."""

    name: str
    sha256: str
    size: int
    loaded: LoadedModule
    args: tuple[str, ...]
    params: RunParams
    thread: TCB
    state: str = "ready"  # ready, running, exited, stopped
    exit_status: int | None = None
    measured: CommandModule | None = None  # loaded on wasmer: its time is measured


class Runner:
    """The runner's program; ``record(phase, info)`` writes a ``deploy`` record for the request
    in flight; ``commands(name)`` is the run's session of a measured engine (wasmer)."""

    def __init__(
        self,
        kernel: Any,
        engine: WasmEngine,
        settings: AgentSettings,
        page: Page,
        doorbell: Any,
        done: Any,
        record: Callable[[str, str, dict[str, Any]], None],
        commands: Callable[[str], CommandEngine] | None = None,
    ) -> None:
        self.kernel = kernel
        self.commands = commands
        self.engine = engine
        self.settings = settings
        self.page = page
        self.doorbell = doorbell
        self.done = done
        self.record = record
        self.modules: dict[str, Module] = {}
        self.buffer = bytearray()
        self.expected = 0
        self.args: list[str] = []
        self.chunk = 0
        self.name = ""  # the module the current upload belongs to, for the records

    def program(self) -> Iterator[Any]:
        handlers = {
            RESET_BUFFER: self._reset,
            SEND_PART: self._part,
            SEND_DONE: self._done,
            SET_ARG: self._arg,
            RUN: self._run,
            START: self._start,
            STOP: self._stop,
            UNDEPLOY: self._undeploy,
        }
        while True:
            yield Wait(self.doorbell)
            command, data = self.page.read()
            handler = handlers.get(command)
            if handler is None:
                self._log("Got unknown event")
                status = 0
            else:
                status = yield from handler(data)
            self.page.set_status(status)
            yield Signal(self.done)

    # -- the seed's commands

    def _reset(self, data: bytes) -> Iterator[Any]:
        if len(data) != 8:
            return self._fail(f"input.size expect 8, got {len(data)}")
        self.expected = int.from_bytes(data, "little")
        self.buffer = bytearray()
        self.args = []
        self.chunk = 0
        return 0
        yield

    def _part(self, data: bytes) -> Iterator[Any]:
        yield Compute(copy_cost(len(data), self.settings.copy_per_kib))
        if len(self.buffer) + len(data) > self.expected:
            return self._fail(
                f"input.size expect maximum {self.expected - len(self.buffer)}, got {len(data)}"
            )
        self.buffer += data
        self.record(self.name, "chunk", {"index": self.chunk, "bytes": len(data)})
        self.chunk += 1
        return 0

    def _done(self, data: bytes) -> Iterator[Any]:
        if len(self.buffer) != self.expected:
            return self._fail(f"cursor {len(self.buffer)} != buffer.size() {self.expected}")
        self.record(self.name, "uploaded", {"size": len(self.buffer)})
        return 0
        yield

    def _arg(self, data: bytes) -> Iterator[Any]:
        self.args.append(data.decode("utf-8", "replace"))
        return 0
        yield

    def _run(self, data: bytes) -> Iterator[Any]:
        params = RunParams.unpack(data)
        s = self.settings
        if params.name not in self.modules and len(self.modules) >= s.max_modules:
            return self._fail(f"too many modules: the runner holds at most {s.max_modules}")
        if params.priority > s.max_priority:
            return self._fail(f"priority: {params.priority} is above max_priority {s.max_priority}")
        problem = sc_problem(params.budget, params.period, s, self.kernel.min_budget)
        if problem is not None:
            return self._fail(problem[1])
        data_bytes = bytes(self.buffer)
        try:
            loaded = self.engine.load_bytes(data_bytes, Path(f"{params.name}.wasm"))
            if loaded.kind != "command":
                raise WasmError(f"{params.name}.wasm: a reactor; deploy a WASI command (_start)")
            WasmInstance(loaded, [params.name], s.max_memory, TABLES)
            measured = self._measured(params, data_bytes)
        except WasmError as e:
            return self._fail(str(e))
        cost = s.instantiate_base + copy_cost(len(data_bytes), s.instantiate_per_kib)
        yield Compute(cost)
        old = self.modules.get(params.name)
        if old is not None:
            yield from self._halt(old)
        try:
            tcb = yield from self._partition(params)
        except Refused as e:
            return self._fail(str(e))
        module = Module(
            params.name,
            loaded.digest,
            len(data_bytes),
            loaded,
            tuple(self.args),
            params,
            tcb,
            measured=measured,
        )
        self.modules[params.name] = module
        self.record(params.name, "instantiate", {"thread": tcb.id, "cost": cost})
        if params.start:
            yield from self._launch(module)
        return 0

    def _measured(self, params: RunParams, data: bytes) -> CommandModule | None:
        """The module loaded on wasmer when the request asks for it (None: wasmtime's fuel)."""
        if params.engine not in ENGINES:
            raise WasmError(f"engine: {params.engine!r} is not one of {', '.join(ENGINES)}")
        if params.engine == "wasmtime":
            return None
        if self.commands is None:
            raise WasmError(f"engine {params.engine!r} is not available to this runner")
        path = Path(f"{params.name}.wasm")
        return self.commands(params.engine).load(path, data, self.settings.max_memory, TABLES)

    # -- sporadic's commands

    def _start(self, data: bytes) -> Iterator[Any]:
        module = self.modules.get(data.decode("utf-8", "replace"))
        if module is None:
            return self._fail(f"no module called {data.decode('utf-8', 'replace')!r}")
        if module.state == "running":
            return self._fail(f"{module.name} is already running")
        yield from self._launch(module)
        return 0

    def _stop(self, data: bytes) -> Iterator[Any]:
        module = self.modules.get(data.decode("utf-8", "replace"))
        if module is None:
            return self._fail(f"no module called {data.decode('utf-8', 'replace')!r}")
        if module.state != "running":
            return self._fail(f"{module.name} is not running ({module.state})")
        yield from self._halt(module)
        return 0

    def _undeploy(self, data: bytes) -> Iterator[Any]:
        name = data.decode("utf-8", "replace")
        module = self.modules.get(name)
        if module is None:
            return self._fail(f"no module called {name!r}")
        yield from self._halt(module)
        del self.modules[name]
        self.record(name, "undeploy", {"thread": module.thread.id})
        return 0

    # -- partitions

    def _partition(self, p: RunParams) -> Iterator[Any]:
        """A thread and an SC for a module, configured and bound by the runner's invocations."""
        k = self.kernel
        tcb = k.create_thread(p.name, p.priority)
        sc = k.create_sc(p.name)
        sc.home = tcb
        k.sink(
            (
                ev.THREAD_NEW,
                k.hw,
                tcb.id,
                p.name,
                "module",
                p.priority,
                0,
                sc.id,
                p.budget,
                p.period,
            )
        )
        for invocation in (Configure(sc, p.budget, p.period), Bind(sc, tcb)):
            result = yield invocation
            if result is not None:  # the seL4 error of a refused invocation
                raise Refused(f"{type(invocation).__name__}: {result}")
        return tcb

    def _launch(self, module: Module) -> Iterator[Any]:
        module.thread.program = self._module_program(module)
        module.state = "running"
        module.exit_status = None
        yield Resume(module.thread)
        self.record(module.name, "start", {"thread": module.thread.id})

    def _halt(self, module: Module) -> Iterator[Any]:
        if module.state == "running":
            yield Suspend(module.thread)
            program = module.thread.program
            if program is not None:
                program.close()
            module.state = "stopped"
            self.record(module.name, "stop", {"thread": module.thread.id})

    def _module_program(self, module: Module) -> Iterator[Any]:
        """``_start`` once, with fuel as CPU time; its exit status goes to the trace."""
        k = self.kernel
        tcb = module.thread
        deadline = k.hw + module.params.deadline if module.params.deadline else INF
        if module.measured is not None and self.commands is not None:
            engine = self.commands(module.params.engine)
            cap = allowance_ns(k.hw, deadline, self.settings.max_run_time)
            run = engine.run(module.measured, [module.name, *module.args], cap)
            yield from play_command(run, k, tcb.id, 1, self.engine.output, exit_is_fault=False)
            module.exit_status = run.exit_code if run.trap is None else FAILED
            module.state = "exited"
            self.record(module.name, "exit", {"thread": tcb.id, "status": module.exit_status})
            return
        inst = WasmInstance(
            module.loaded, [module.name, *module.args], self.settings.max_memory, TABLES
        )
        inst.exit_is_fault = False
        seg = yield from Player(self.engine, k, tcb).play(
            inst, "_start", (), deadline, self.settings.max_run_time, 1
        )
        module.exit_status = seg.exit_code if seg.trap is None else FAILED
        module.state = "exited"
        self.record(module.name, "exit", {"thread": tcb.id, "status": module.exit_status})

    def _fail(self, message: str) -> int:
        self.record(self.name, "error", {"message": message})
        return FAILED

    def _log(self, line: str) -> None:
        k = self.kernel
        k.sink((ev.LOG, k.hw, k.cur.id, line))


__all__ = ["FAILED", "Module", "Runner"]
