"""A running module: its store, the host API and WASI it is linked to, its runs as segments.

A module runs *eagerly* between host calls: its internal work is invisible to others, so the
simulator lets wasmtime run it flat out and records what it does and when (in fuel). Calls that
only send (``notify``, ``log``, writes to stdout) are recorded with the fuel consumed so far and
replayed in simulated time: ``Compute(ns(fuel))`` then the effect. Calls that return what others
did (``ppcall``, ``now``, ``yield``) suspend the module until simulated time reaches that point:
the module then runs on a ``Worker`` thread that hands each such call to the kernel's loop and
waits for the answer. A module that imports none of them runs on the kernel's own thread.

Every run has a fuel cap: what the job can still get before its deadline, or its maximum job
time. A module that reaches it traps (out of fuel) at the simulated time the cap was reached;
traps are faults with their message in the trace. Nothing a module does can stop the simulation.
The ABI is in docs/wasm-abi.md.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import wasmtime

from sporadic.errors import WasmError
from sporadic.wasm.engine import HOST_API, HOST_MODULE, I32, WASI_MODULE, LoadedModule
from sporadic.wasm.worker import Abandoned, Worker

NUM_MRS = 64


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
    exit_code: int = 0  # a WASI command's status: 0 when _start returns, else proc_exit's


class _Linked:
    """A compiled module linked once to WASI, our fd_write and the host API, import resolution
    done (``InstancePre``). Every instance of the module shares it, so its host functions call
    ``running``: the instance executing right now."""

    def __init__(self, loaded: LoadedModule) -> None:
        self.running: WasmInstance | None = None
        linker = wasmtime.Linker(loaded.engine.engine)
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
        self.pre = linker.instantiate_pre(loaded.module)

    def _dispatch(self, method: str) -> Any:
        def host(*args: Any) -> Any:
            return getattr(self.running, method)(*args)

        return host


_LINKED: dict[str, _Linked] = {}  # by the digest of the module's bytes


def _linked(loaded: LoadedModule) -> _Linked:
    """The module linked on its first instance, found again by every later one."""
    linked = _LINKED.get(loaded.digest)
    if linked is None:
        linked = _LINKED[loaded.digest] = _Linked(loaded)
    return linked


class WasmInstance:
    """One instance with its store, its WASI (argv only: no directories, no environment) and
    the host API. ``call`` runs an export and yields ``Segment``s."""

    def __init__(
        self, loaded: LoadedModule, argv: list[str], memory_limit: int, table_limit: int
    ) -> None:
        self.loaded = loaded
        self.store = store = wasmtime.Store(loaded.engine.engine)
        store.set_limits(memory_size=memory_limit, table_elements=table_limit)
        store.set_epoch_deadline(1)  # runs until interrupt_runs(), never on its own
        wasi = wasmtime.WasiConfig()
        wasi.argv = argv
        store.set_wasi(wasi)
        self.mrs = [0] * NUM_MRS
        self._effects: list[Effect] = []
        self._cap = 0
        self._mark = 0  # the fuel at which the current segment started
        self._pending = {1: bytearray(), 2: bytearray()}
        self._worker: Worker | None = None
        self.exit_is_fault = True  # a job's non-zero exit is a fault; a deployed module's is not
        store.set_fuel(1 << 62)
        try:
            self._link = _linked(loaded)
            self._link.running = self
            instance = self._link.pre.instantiate(store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            first = str(e).strip().splitlines()[0]
            raise WasmError(f"{loaded.path}: cannot instantiate: {first}") from None
        self.exports = instance.exports(store)
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
        """Give the kernel a segment ending in this call; wait for ``(answer, new_cap)``."""
        worker = self._worker
        if worker is None:  # pragma: no cover - suspending modules always run on a worker
            raise RuntimeError("a suspending host call outside a worker")
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
        """Run to the end or a trap (on whichever thread calls it); its last segment."""
        self._link.running = self
        self._cap = cap
        self._effects = []
        self.store.set_fuel(cap)
        seg = Segment(0, 0)
        try:
            seg.result = func(self.store, *args)
        except wasmtime.ExitTrap as e:
            seg.exit_code = e.code
            if e.code != 0 and self.exit_is_fault:
                seg.trap = f"exit code {e.code}"
        except wasmtime.Trap as e:
            seg.out_of_fuel = e.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
            seg.trap = _trap_message(e)
        except wasmtime.WasmtimeError as e:
            seg.trap = str(e).strip().splitlines()[0]
        except Abandoned:
            seg.trap = "abandoned"
        self._flush_output()
        seg.fuel_start = self._mark
        seg.fuel_end = self._cap if seg.out_of_fuel else self._used()
        seg.effects = self._effects
        self._effects = []
        seg.done = True
        return seg


def _trap_message(e: wasmtime.Trap) -> str:
    """The fault message of a trap: a fixed wording for the common trap codes, so that a trace
    does not depend on how a wasmtime version words them; wasmtime's first line otherwise."""
    code = e.trap_code
    names = {
        wasmtime.TrapCode.OUT_OF_FUEL: "fuel exhausted (the job's allowance ran out)",
        wasmtime.TrapCode.INTERRUPT: "interrupted (the run was stopped)",
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


__all__ = ["Effect", "Segment", "WasmInstance"]
