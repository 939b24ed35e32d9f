"""WebAssembly partitions: wasmtime with fuel metering, fuel turned into simulated CPU time.

A module runs *eagerly* between host calls: its internal work is invisible to others, so the
simulator lets wasmtime run it flat out and records what it does and when (in fuel). Calls that
only send (``notify``, ``log``, writes to stdout) are recorded with the fuel consumed so far and
replayed in simulated time: ``Compute(ns(fuel))`` then the effect. Calls that return what others
did (``ppcall``, ``now``, ``yield``) suspend the module until simulated time reaches that point:
the module then runs on a worker thread that hands each such call to the kernel's loop and waits
for the answer. A module that imports none of them runs on the kernel's own thread.

Every run has a fuel cap: what the job can still get before its deadline, or its maximum job
time. A module that reaches it traps (out of fuel) at the simulated time the cap was reached;
traps are faults with their message in the trace. Nothing a module does can stop the simulation.
The ABI is in docs/wasm-abi.md.
"""

from __future__ import annotations

import ctypes
import hashlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime

from sporadic.errors import WasmError

WASM_MAGIC = b"\0asm"
HOST_MODULE = "sporadic"
WASI_MODULE = "wasi_snapshot_preview1"
NUM_MRS = 64
DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024
DEFAULT_TABLE_LIMIT = 10_000
I32, I64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()

# The host API: name -> (params, results, suspends). Calls that suspend wait for the kernel.
HOST_API: dict[str, tuple[list[wasmtime.ValType], list[wasmtime.ValType], bool]] = {
    "notify": ([I32], [], False),
    "ppcall": ([I32, I32], [I32], True),
    "mr_get": ([I32], [I64], False),
    "mr_set": ([I32, I64], [], False),
    "now": ([], [I64], True),
    "log": ([I32, I32], [], False),
    "yield": ([], [], True),
}
REACTOR_EXPORTS = {"init": ([], []), "notified": ([I32], [])}
OPTIONAL_EXPORTS = {"protected": ([I32, I32], [I32])}


def _sig(ft: wasmtime.FuncType) -> tuple[list[str], list[str]]:
    return [str(p) for p in ft.params], [str(r) for r in ft.results]


def _want(params: list[wasmtime.ValType], results: list[wasmtime.ValType]) -> tuple:
    return [str(p) for p in params], [str(r) for r in results]


@dataclass(frozen=True)
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


_ENGINE: wasmtime.Engine | None = None
_MODULES: dict[str, LoadedModule] = {}


def _shared_engine() -> wasmtime.Engine:
    """One wasmtime engine per process: compiled modules are then shared by every run."""
    global _ENGINE
    if _ENGINE is None:
        config = wasmtime.Config()
        config.consume_fuel = True
        _ENGINE = wasmtime.Engine(config)
    return _ENGINE


class WasmEngine:
    """The CPU model of a run over the shared wasmtime engine; a module is compiled and checked
    once per process and found again by the hash of its bytes."""

    def __init__(self, fuel_per_us: int = 1000) -> None:
        if fuel_per_us <= 0:
            raise ValueError("fuel_per_us must be > 0")
        self.engine = _shared_engine()
        self.fuel_per_us = fuel_per_us

    def ns(self, fuel: int) -> int:
        """Simulated ns for ``fuel`` (the CPU model: ``fuel_per_us`` units per microsecond)."""
        return fuel * 1000 // self.fuel_per_us

    def fuel(self, ns: int) -> int:
        return max(0, ns * self.fuel_per_us // 1000)

    def load(self, path: str | Path) -> LoadedModule:
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as e:
            raise WasmError(f"{p}: cannot read: {e.strerror}") from None
        if not data.startswith(WASM_MAGIC):
            raise WasmError(f"{p}: not a WebAssembly module (no \\0asm header)")
        digest = hashlib.sha256(data).hexdigest()
        cached = _MODULES.get(digest)
        if cached is not None:
            return cached.at(p, self)
        try:
            module = wasmtime.Module(self.engine, data)
        except wasmtime.WasmtimeError as e:
            first = str(e).strip().splitlines()[0]
            raise WasmError(f"{p}: invalid WebAssembly: {first}") from None
        loaded = LoadedModule(self, p, module, digest)
        _MODULES[digest] = loaded
        return loaded


class LoadedModule:
    """A compiled, checked module: a WASI command (``_start``) or a reactor (``init``,
    ``notified`` and optionally ``protected``), importing only the host API and WASI."""

    def __init__(self, engine: WasmEngine, path: Path, module: wasmtime.Module, digest: str):
        self.engine = engine
        self.path = path
        self.module = module
        self.digest = digest
        exports = {e.name: e.type for e in module.exports}
        self.kind = "command" if "_start" in exports else "reactor"
        if self.kind == "reactor":
            for name in REACTOR_EXPORTS:
                if name not in exports:
                    raise WasmError(
                        f"{path}: missing export {name!r}: a reactor exports init and notified "
                        "(a command exports _start)"
                    )
            for name, (params, results) in {**REACTOR_EXPORTS, **OPTIONAL_EXPORTS}.items():
                if name in exports:
                    ft = exports[name]
                    if not isinstance(ft, wasmtime.FuncType) or _sig(ft) != _want(params, results):
                        raise WasmError(
                            f"{path}: export {name!r} has the wrong signature: expected "
                            f"{_want(params, results)}, got {_describe(ft)}"
                        )
        elif not isinstance(exports["_start"], wasmtime.FuncType) or _sig(exports["_start"]) != (
            [],
            [],
        ):
            raise WasmError(f"{path}: export '_start' must be a function () -> ()")
        self.suspends = False
        for imp in module.imports:
            if imp.module == HOST_MODULE:
                spec = HOST_API.get(imp.name)
                if spec is None:
                    raise WasmError(
                        f"{path}: imports {HOST_MODULE}.{imp.name}, which the host does not "
                        f"provide (it provides {', '.join(sorted(HOST_API))})"
                    )
                if not isinstance(imp.type, wasmtime.FuncType) or _sig(imp.type) != _want(
                    spec[0], spec[1]
                ):
                    raise WasmError(
                        f"{path}: import {HOST_MODULE}.{imp.name} has the wrong signature: "
                        f"expected {_want(spec[0], spec[1])}, got {_describe(imp.type)}"
                    )
                self.suspends = self.suspends or spec[2]
            elif imp.module != WASI_MODULE:
                raise WasmError(
                    f"{path}: imports {imp.module}.{imp.name}; only the {HOST_MODULE!r} host API "
                    f"and {WASI_MODULE} are provided"
                )
        self.has_protected = "protected" in exports
        # the instance running right now, shared with every view of this module (see ``at``)
        self.running: list[WasmInstance | None] = [None]
        self._pre: Any = None

    def at(self, path: Path, engine: WasmEngine) -> LoadedModule:
        """The same compiled module seen from another path or run (errors name ``path``)."""
        if path == self.path and engine.fuel_per_us == self.engine.fuel_per_us:
            return self
        twin = object.__new__(LoadedModule)
        twin.__dict__.update(self.__dict__)
        twin.path, twin.engine = path, engine
        return twin

    def pre(self) -> Any:
        """One linker per module: WASI, our fd_write, and the host API dispatching to
        ``running``; import resolution is done once (``InstancePre``)."""
        if self._pre is None:
            engine = self.engine.engine
            linker = wasmtime.Linker(engine)
            linker.define_wasi()
            linker.allow_shadowing = True
            for name, (params, results, _suspends) in HOST_API.items():
                linker.define_func(
                    HOST_MODULE,
                    name,
                    wasmtime.FuncType(params, results),
                    self._dispatch(f"_host_{name}"),
                )
            linker.define_func(
                WASI_MODULE,
                "fd_write",
                wasmtime.FuncType([I32, I32, I32, I32], [I32]),
                self._dispatch("_wasi_fd_write"),
            )
            self._pre = linker.instantiate_pre(self.module)
        return self._pre

    def _dispatch(self, method: str) -> Any:
        running = self.running

        def host(*args: Any) -> Any:
            return getattr(running[0], method)(*args)

        return host

    def instantiate(
        self,
        argv: list[str] | None = None,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        table_limit: int = DEFAULT_TABLE_LIMIT,
    ) -> WasmInstance:
        return WasmInstance(self, argv or [self.path.name], memory_limit, table_limit)


def _describe(t: Any) -> str:
    if isinstance(t, wasmtime.FuncType):
        return str(_sig(t))
    return type(t).__name__.replace("Type", "").lower()


class WasmInstance:
    """One instance with its store, its WASI (argv only: no directories, no environment) and
    the host API. ``call`` runs an export and yields ``Segment``s."""

    def __init__(self, loaded: LoadedModule, argv: list[str], memory_limit: int, table_limit: int):
        self.loaded = loaded
        self.store = store = wasmtime.Store(loaded.engine.engine)
        store.set_limits(memory_size=memory_limit, table_elements=table_limit)
        wasi = wasmtime.WasiConfig()
        wasi.argv = argv
        store.set_wasi(wasi)
        self.mrs = [0] * NUM_MRS
        self._effects: list[Effect] = []
        self._cap = 0
        self._pending = {1: bytearray(), 2: bytearray()}
        self._worker: _Worker | None = None
        store.set_fuel(1 << 62)
        loaded.running[0] = self
        try:
            self.instance = loaded.pre().instantiate(store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            first = str(e).strip().splitlines()[0]
            raise WasmError(f"{loaded.path}: cannot instantiate: {first}") from None
        self.exports = self.instance.exports(store)
        memory = self.exports.get("memory")
        self.memory = memory if isinstance(memory, wasmtime.Memory) else None
        if loaded.kind == "reactor" and "_initialize" in self.exports:
            # the WASI reactor rule: run the C constructors before any entry point
            try:
                self.exports["_initialize"](store)
            except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
                first = str(e).strip().splitlines()[0]
                raise WasmError(f"{loaded.path}: _initialize failed: {first}") from None

    def _read(self, ptr: int, length: int) -> bytes:
        mem = self.memory
        if mem is None or ptr < 0 or ptr + length > mem.data_len(self.store):
            return b""
        return ctypes.string_at(ctypes.addressof(mem.data_ptr(self.store).contents) + ptr, length)

    # -- fuel bookkeeping

    def _used(self) -> int:
        return self._cap - self.store.get_fuel()

    def _record(self, kind: str, value: Any) -> None:
        self._effects.append(Effect(self._used(), kind, value))

    # -- host API (runs on whichever thread runs the module)

    def _host_notify(self, ch: int) -> None:
        self._record("notify", ch)

    def _host_log(self, ptr: int, length: int) -> None:
        data = self._read(ptr, max(0, length))
        self._record("log", data.decode("utf-8", "replace"))

    def _host_mr_get(self, i: int) -> int:
        return self.mrs[i] if 0 <= i < NUM_MRS else 0

    def _host_mr_set(self, i: int, v: int) -> None:
        if 0 <= i < NUM_MRS:
            self.mrs[i] = v

    def _host_ppcall(self, ch: int, count: int) -> int:
        return self._suspend("ppcall", (ch, max(0, min(count, NUM_MRS))))

    def _host_now(self) -> int:
        return self._suspend("now", None)

    def _host_yield(self) -> None:
        self._suspend("yield", None)

    def _suspend(self, kind: str, value: Any) -> Any:
        worker = self._worker
        if worker is None:  # pragma: no cover - suspending modules always run on a worker
            raise RuntimeError("a suspending host call outside a worker")
        answer, new_cap = worker.hand_off((self._used(), kind, value))
        self.loaded.running[0] = self  # another instance of this module may have run meanwhile
        # the kernel re-derives the cap from what the job can still get at this point
        used = self._used()
        self._cap = used + new_cap
        self.store.set_fuel(new_cap)
        return answer

    def _wasi_fd_write(self, fd: int, iovs: int, n: int, nwritten: int) -> int:
        """WASI's fd_write, ours so that each stdout/stderr line is stamped with its fuel.
        Reads guest memory through one raw pointer (wasmtime-py's per-call reads are slow)."""
        mem = self.memory
        if mem is None:
            return 8  # EBADF: no memory to write from
        size = mem.data_len(self.store)
        base = ctypes.addressof(mem.data_ptr(self.store).contents)
        if iovs < 0 or iovs + 8 * n > size:
            return 21  # EFAULT
        vec = ctypes.string_at(base + iovs, 8 * n)
        total = 0
        buf = self._pending.get(fd)
        for k in range(n):
            ptr = int.from_bytes(vec[8 * k : 8 * k + 4], "little")
            length = int.from_bytes(vec[8 * k + 4 : 8 * k + 8], "little")
            if ptr + length > size:
                return 21
            total += length
            if buf is not None:
                buf += ctypes.string_at(base + ptr, length)
        if buf is not None:
            while True:
                cut = buf.find(b"\n")
                if cut < 0:
                    break
                self._record("log", bytes(buf[:cut]).decode("utf-8", "replace"))
                del buf[: cut + 1]
        if 0 <= nwritten <= size - 4:
            ctypes.memmove(base + nwritten, total.to_bytes(4, "little"), 4)
        return 0

    def _flush_output(self) -> None:
        for buf in self._pending.values():
            if buf:
                self._record("log", bytes(buf).decode("utf-8", "replace"))
                buf.clear()

    # -- running exports

    def call(self, name: str, args: tuple[int, ...], cap: int) -> Iterator[Segment]:
        """Run export ``name`` with a fuel cap; yields segments, and expects to be sent
        ``(answer, new_cap)`` after each one that carries a request."""
        func = self.exports[name]
        if not self.loaded.suspends:
            yield self._run_direct(func, args, cap)
            return
        worker = _Worker(self, func, args, cap)
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

    def _run_direct(self, func: Any, args: tuple[int, ...], cap: int) -> Segment:
        self._begin(cap)
        seg = Segment(0, 0)
        self._execute(func, args, seg)
        return seg

    def _begin(self, cap: int) -> None:
        self.loaded.running[0] = self
        self._cap = cap
        self._effects = []
        self.store.set_fuel(cap)

    def _execute(self, func: Any, args: tuple[int, ...], seg: Segment) -> None:
        """Run to the end or a trap; fill in ``seg`` (on whichever thread calls it)."""
        try:
            seg.result = func(self.store, *args)
        except wasmtime.ExitTrap as e:
            if e.code != 0:
                seg.trap = f"exit code {e.code}"
        except wasmtime.Trap as e:
            seg.out_of_fuel = e.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
            seg.trap = _trap_message(e)
        except wasmtime.WasmtimeError as e:
            seg.trap = str(e).strip().splitlines()[0]
        except _Abandoned:
            seg.trap = "abandoned"
        self._flush_output()
        seg.fuel_end = self._cap if seg.out_of_fuel else self._used()
        seg.effects = self._effects
        self._effects = []
        seg.done = True


def _trap_message(e: wasmtime.Trap) -> str:
    code = e.trap_code
    names = {
        wasmtime.TrapCode.OUT_OF_FUEL: "fuel exhausted (the job's allowance ran out)",
        wasmtime.TrapCode.UNREACHABLE: "unreachable executed",
        wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
        wasmtime.TrapCode.STACK_OVERFLOW: "call stack exhausted",
        wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
        wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: "indirect call to null",
        wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: "undefined element: out of bounds table access",
    }
    if code in names:
        return names[code]
    return str(e).strip().splitlines()[0]


class _Worker:
    """Runs one export on its own thread; each suspending host call is a hand-off to the kernel
    thread, which answers once simulated time has reached that point. Exactly one of the two
    threads runs at a time, so the run is as deterministic as a direct call."""

    def __init__(self, inst: WasmInstance, func: Any, args: tuple[int, ...], cap: int) -> None:
        self.inst = inst
        self.func = func
        self.args = args
        self.cap = cap
        self.to_kernel: queue.SimpleQueue[Segment] = queue.SimpleQueue()
        self.to_module: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.fuel_mark = 0
        self.abandoned = False

    def start(self) -> Segment:
        self.thread = threading.Thread(target=self._main, name="wasm-module", daemon=True)
        self.thread.start()
        return self.to_kernel.get()

    def _main(self) -> None:
        inst = self.inst
        inst._begin(self.cap)
        seg = Segment(0, 0)
        inst._execute(self.func, self.args, seg)
        seg.fuel_start = self.fuel_mark
        self.to_kernel.put(seg)

    def hand_off(self, request: tuple[int, str, Any]) -> tuple[Any, int]:
        """On the module's thread: give the kernel a segment ending in ``request``, wait."""
        used, kind, value = request
        inst = self.inst
        seg = Segment(self.fuel_mark, used, inst._effects, (kind, value))
        inst._effects = []
        self.to_kernel.put(seg)
        answer = self.to_module.get()
        if answer is _ABANDON:
            raise _Abandoned()
        self.fuel_mark = used
        return answer

    def resume(self, reply: tuple[Any, int]) -> Segment:
        self.to_module.put(reply)
        return self.to_kernel.get()

    def abandon(self) -> None:
        """The job is over (or the simulation stops): let a suspended module unwind."""
        if self.thread is not None and self.thread.is_alive():
            self.to_module.put(_ABANDON)
            self.thread.join()


class _Abandoned(Exception):
    pass


_ABANDON = object()

__all__ = [
    "Effect",
    "LoadedModule",
    "Segment",
    "WasmEngine",
    "WasmError",
    "WasmInstance",
]
