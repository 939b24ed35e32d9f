"""A running module: its store, the host API and WASI it is linked to, its runs as segments.

A module runs *eagerly* between host calls: its internal work is invisible to others, so the
simulator lets wasmtime run it flat out and records what it does and when (in fuel). Calls that
only send (``notify``, ``log``, writes to stdout) are recorded with the fuel consumed so far and
replayed in simulated time: ``Compute(ns(fuel))`` then the effect. Calls that return what others
did (``ppcall``, ``now``, ``yield``) suspend the module until simulated time reaches that point:
the module then runs on a ``Worker`` thread that hands each such call to the kernel's loop and
waits for the answer. Each of them costs ``HOST_CALL_FUEL`` units of fuel, as a kernel entry
would, so that a module looping on one makes simulated time pass. A module that imports none of
them runs on the kernel's own thread.

Every run has a fuel cap: what the job can still get before its deadline, or its maximum job
time. A module that reaches it traps (out of fuel) at the simulated time the cap was reached;
traps are faults with their message in the trace. Instantiation (a start function, and a
reactor's ``_initialize``) has a fuel allowance too, ``init_fuel``. Nothing a module does can
stop the simulation, and no error inside a host function escapes as anything but a fault.
The ABI is in docs/wasm-abi.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import wasmtime

from sporadic.errors import WasmError
from sporadic.wasm.engine import HOST_API, HOST_MODULE, I32, WASI_MODULE, LoadedModule
from sporadic.wasm.host import NUM_MRS, WASI_OVERRIDES, ExitRequest, HostFunctions, HostTrap
from sporadic.wasm.output import JobOutput
from sporadic.wasm.worker import Abandoned, Worker

HOST_CALL_FUEL = 1000  # what a suspending host call costs: 1 us at the default 1000 fuel/us
DEFAULT_INIT_TIME = 1_000_000_000  # ns: instantiation's allowance when none is given
OUT_OF_FUEL = "fuel exhausted (the job's allowance ran out)"


@dataclass(frozen=True, slots=True)
class Effect:
    """Something a module did at ``fuel`` into its run: ``notify`` (channel), ``log`` (line)."""

    fuel: int
    kind: str
    value: Any


@dataclass
class Segment:
    """A stretch of a run up to a suspending host call (``request``) or to its end."""

    fuel_start: int
    fuel_end: int
    effects: list[Effect] = field(default_factory=list)
    request: tuple[str, Any] | None = None
    done: bool = False
    trap: str | None = None
    out_of_fuel: bool = False
    result: Any = None
    exit_code: int = 0  # a WASI command's status: 0 when _start returns, else proc_exit's


class InstantiateError(WasmError):
    """Instantiation failed (the start function or ``_initialize`` trapped, ran out of its
    fuel, or made a call it may not): ``fault`` says why without naming the module, as a
    run-time fault does, and ``fuel`` is what it used."""

    def __init__(self, path: Any, fault: str, fuel: int) -> None:
        super().__init__(f"{path}: {fault}")
        self.fault = fault
        self.fuel = fuel


class _Linked:
    """A compiled module linked once to WASI, our WASI functions and the host API, import
    resolution done (``InstancePre``). Every instance of the module shares it, so its host
    functions call ``running``: the instance executing right now."""

    def __init__(self, loaded: LoadedModule) -> None:
        self.running: WasmInstance | None = None
        linker = wasmtime.Linker(loaded.engine.engine)
        linker.define_wasi()
        linker.allow_shadowing = True
        for name, (params, results, _suspends) in HOST_API.items():
            func_type = wasmtime.FuncType(params, results)
            linker.define_func(HOST_MODULE, name, func_type, self._dispatch(f"_host_{name}"))
        for name, (params, results, method) in WASI_OVERRIDES.items():
            func_type = wasmtime.FuncType([I32] * params, [I32] * results)
            linker.define_func(WASI_MODULE, name, func_type, self._dispatch(method))
        self.pre = linker.instantiate_pre(loaded.module)

    def _dispatch(self, method: str) -> Any:
        name = method.split("_", 2)[-1]

        def host(*args: Any) -> Any:
            try:
                return getattr(self.running, method)(*args)
            except (HostTrap, ExitRequest, Abandoned):
                raise
            except Exception as e:  # a bug of ours must still be a fault of this job only
                raise HostTrap(f"{name}: host error: {type(e).__name__}: {e}") from None

        return host


_LINKED: dict[str, _Linked] = {}  # by the digest of the module's bytes


def _linked(loaded: LoadedModule) -> _Linked:
    """The module linked on its first instance, found again by every later one."""
    linked = _LINKED.get(loaded.digest)
    if linked is None:
        linked = _LINKED[loaded.digest] = _Linked(loaded)
    return linked


class WasmInstance(HostFunctions):
    """One instance with its store, its WASI (argv only: no directories, no environment) and
    the host API. ``call`` runs an export and yields ``Segment``s.

    Instantiating runs the module's start function and a reactor's ``_initialize`` with at
    most ``init_fuel`` units of fuel (the fuel of ``DEFAULT_INIT_TIME`` if not given);
    ``init_fuel_used`` is what they used. A failure is an ``InstantiateError``."""

    def __init__(
        self,
        loaded: LoadedModule,
        argv: list[str],
        memory_limit: int,
        table_limit: int,
        init_fuel: int | None = None,
    ) -> None:
        self.loaded = loaded
        self.store = store = wasmtime.Store(loaded.engine.engine)
        store.set_limits(memory_size=memory_limit, table_elements=table_limit)
        store.set_epoch_deadline(1)  # runs until interrupt_runs(), never on its own
        wasi = wasmtime.WasiConfig()
        wasi.argv = argv
        store.set_wasi(wasi)
        self.mrs = [0] * NUM_MRS
        self.memory = None
        self._effects: list[Effect] = []
        self._mark = 0  # the fuel at which the current segment started
        self._out = JobOutput()
        self._notifies = 0
        self._worker: Worker | None = None
        self.exit_is_fault = True  # a job's non-zero exit is a fault; a deployed module's is not
        if init_fuel is None:
            init_fuel = loaded.engine.fuel(DEFAULT_INIT_TIME)
        store.set_fuel(init_fuel)
        self._cap = init_fuel
        try:
            self._link = _linked(loaded)
        except wasmtime.WasmtimeError as e:
            raise InstantiateError(loaded.path, f"cannot instantiate: {_first(e)}", 0) from None
        self._link.running = self
        instance = self._init_step("cannot instantiate", self._link.pre.instantiate, store)
        self.exports = instance.exports(store)
        memory = self.exports.get("memory")
        self.memory = memory if isinstance(memory, wasmtime.Memory) else None
        if loaded.kind == "reactor" and "_initialize" in self.exports:
            # the WASI reactor rule: run the C constructors before any entry point
            self._init_step("_initialize failed", self.exports["_initialize"], store)
        self.init_fuel_used = self._used()
        self._effects = []  # output during instantiation is not part of any job
        self._out = JobOutput()

    def _init_step(self, what: str, step: Any, *args: Any) -> Any:
        """Run one step of instantiation; its failure is an ``InstantiateError``."""
        try:
            return step(*args)
        except Exception as e:
            if isinstance(e, wasmtime.Trap) and e.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
                why = f"fuel exhausted (instantiation's allowance of {self._cap} units ran out)"
            elif isinstance(e, ExitRequest):
                why = f"proc_exit({e.code}) during instantiation"
            else:
                why = _failure(e)
            raise InstantiateError(self.loaded.path, f"{what}: {why}", self._used()) from None

    # -- fuel bookkeeping

    def _used(self) -> int:
        return self._cap - self.store.get_fuel()

    def _record(self, kind: str, value: Any) -> None:
        self._effects.append(Effect(self._used(), kind, value))

    def _suspend(self, kind: str, value: Any) -> Any:
        """Pay for the call, give the kernel a segment ending in it, and wait for
        ``(answer, new_cap)``."""
        worker = self._worker
        if worker is None:  # only instantiation runs a suspending module off a worker
            raise HostTrap(f"a suspending host call ({kind}) during instantiation")
        left = self.store.get_fuel()
        if left < HOST_CALL_FUEL:
            raise HostTrap(OUT_OF_FUEL, out_of_fuel=True)
        self.store.set_fuel(left - HOST_CALL_FUEL)
        used = self._used()
        seg = Segment(self._mark, used, self._effects, (kind, value))
        self._effects = []
        answer, new_cap = worker.hand_off(seg)
        self._mark = used
        self._link.running = self  # another instance of this module may have run meanwhile
        # the kernel re-derives the cap from what the job can still get at this point
        used = self._used()
        self._cap = used + new_cap
        self.store.set_fuel(new_cap)
        return answer

    # -- running exports

    def call(self, name: str, args: tuple[int, ...], cap: int) -> Iterator[Segment]:
        """Run export ``name`` with a fuel cap; yields segments, and expects to be sent
        ``(answer, new_cap)`` after each one that carries a request."""
        func = self.exports[name]
        self._mark = 0
        if not self.loaded.suspends:
            yield self._run(func, args, cap)
            return
        worker = Worker(lambda: self._run(func, args, cap))
        self._worker = worker
        try:
            seg = worker.start()
            while True:
                reply = yield seg
                if seg.done:
                    return
                seg = worker.resume(reply)
        finally:
            worker.abandon()
            self._worker = None

    def _run(self, func: Any, args: tuple[int, ...], cap: int) -> Segment:
        """Run to the end or a trap (on whichever thread calls it); its last segment. Every
        error ends here as the run's trap: none escapes, none is left on a worker thread."""
        self._link.running = self
        self._cap = cap
        self._effects = []
        self._out = JobOutput()
        self._notifies = 0
        self.store.set_fuel(cap)
        seg = Segment(0, 0)
        try:
            seg.result = func(self.store, *args)
        except ExitRequest as e:
            seg.exit_code = e.code
            if e.code != 0 and self.exit_is_fault:
                seg.trap = f"exit code {e.code}"
        except Abandoned:
            seg.trap = "abandoned"
        except Exception as e:
            seg.out_of_fuel = _out_of_fuel(e)
            seg.trap = _failure(e)
        self._flush_output()
        seg.fuel_start = self._mark
        seg.fuel_end = self._cap if seg.out_of_fuel else self._used()
        seg.effects = self._effects
        self._effects = []
        seg.done = True
        return seg


def _out_of_fuel(e: Exception) -> bool:
    if isinstance(e, HostTrap):
        return e.out_of_fuel
    return isinstance(e, wasmtime.Trap) and e.trap_code == wasmtime.TrapCode.OUT_OF_FUEL


def _first(e: Exception) -> str:
    """The line of a wasmtime error that says what happened: the first one, or the cause when
    the first is only "error while executing at wasm backtrace:"."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    if "Caused by:" in lines[:-1]:
        return lines[lines.index("Caused by:") + 1]
    return lines[0] if lines else type(e).__name__


TRAP_MESSAGES = {
    wasmtime.TrapCode.OUT_OF_FUEL: OUT_OF_FUEL,
    wasmtime.TrapCode.INTERRUPT: "interrupted (the run was stopped)",
    wasmtime.TrapCode.UNREACHABLE: "unreachable executed",
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
    wasmtime.TrapCode.STACK_OVERFLOW: "call stack exhausted",
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: "indirect call to null",
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: "undefined element: out of bounds table access",
}


def _failure(e: Exception) -> str:
    """The fault message of a failed run: a fixed wording for the common trap codes, so that
    a trace does not depend on how a wasmtime version words them; a host function's refusal;
    wasmtime's own words otherwise."""
    if isinstance(e, HostTrap):
        return e.message
    if isinstance(e, wasmtime.Trap) and e.trap_code in TRAP_MESSAGES:
        return TRAP_MESSAGES[e.trap_code]
    if isinstance(e, wasmtime.WasmtimeError):
        return _first(e)
    return f"host error: {type(e).__name__}: {e}"


__all__ = ["HOST_CALL_FUEL", "Effect", "InstantiateError", "Segment", "WasmInstance"]
