"""Compiling and checking WebAssembly modules, once per process, and the CPU model of a run.

wasmtime meters a module's work in fuel; the simulator turns fuel into simulated time at
``fuel_per_us`` units per microsecond. Compiling is the slow part, so one wasmtime engine serves
the whole process and a compiled module is found again by the hash of its bytes. Loading also
checks the module against the ABI (docs/wasm-abi.md) so that a wrong import or export is a load
error naming the module, never a failure in the middle of a run.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime

from sporadic.errors import WasmError
from sporadic.wasm.output import RunOutput

WASM_MAGIC = b"\0asm"
MAX_MODULE_BYTES = 64 * 1024 * 1024  # a module file or deploy larger than this is refused
HOST_MODULE = "sporadic"
WASI_MODULE = "wasi_snapshot_preview1"
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


def read_module(p: Path) -> bytes:
    """The bytes of the module file ``p``: a regular file (a FIFO or a device would block or
    never end) of at most ``MAX_MODULE_BYTES``, of which no more than one byte beyond is read."""
    try:
        if not stat.S_ISREG(os.stat(p).st_mode):
            raise WasmError(f"{p}: not a regular file")
        # opened without blocking and checked again: it may have been replaced since the stat
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise WasmError(f"{p}: not a regular file")
            if st.st_size > MAX_MODULE_BYTES:
                raise WasmError(_too_big(p, st.st_size))
            data = f.read(MAX_MODULE_BYTES + 1)
    except OSError as e:
        raise WasmError(f"{p}: cannot read: {e.strerror}") from None
    if len(data) > MAX_MODULE_BYTES:  # it grew since the stat
        raise WasmError(_too_big(p, len(data)))
    return data


def _too_big(p: Path, size: int) -> str:
    return f"{p}: {size} bytes, above the {MAX_MODULE_BYTES >> 20} MiB a module may have"


def _sig(ft: wasmtime.FuncType) -> tuple[list[str], list[str]]:
    return [str(p) for p in ft.params], [str(r) for r in ft.results]


def _want(params: list[wasmtime.ValType], results: list[wasmtime.ValType]) -> tuple:
    return [str(p) for p in params], [str(r) for r in results]


def _describe(t: Any) -> str:
    if isinstance(t, wasmtime.FuncType):
        return str(_sig(t))
    return type(t).__name__.replace("Type", "").lower()


_ENGINE: wasmtime.Engine | None = None
_MODULES: dict[str, LoadedModule] = {}
_INTERRUPTS: list[Callable[[], None]] = []  # other engines' ways to stop their runs


def _shared_engine() -> wasmtime.Engine:
    """One wasmtime engine per process: compiled modules are then shared by every run."""
    global _ENGINE
    if _ENGINE is None:
        config = wasmtime.Config()
        config.consume_fuel = True
        config.epoch_interruption = True  # interrupt_runs() can stop a module mid-run
        _ENGINE = wasmtime.Engine(config)
    return _ENGINE


def interrupt_runs() -> None:
    """Make every module running now (on any thread) trap at its next loop or call: a served
    run that is told to stop must not wait for a long module to finish."""
    _shared_engine().increment_epoch()
    for interrupt in _INTERRUPTS:
        interrupt()


def register_interrupt(interrupt: Callable[[], None]) -> None:
    """Have ``interrupt_runs`` call ``interrupt`` too (wasmer kills its run in flight)."""
    _INTERRUPTS.append(interrupt)


class WasmEngine:
    """The CPU model of a run over the shared wasmtime engine; a module is compiled and checked
    once per process and found again by the hash of its bytes."""

    def __init__(self, fuel_per_us: int = 1000) -> None:
        if fuel_per_us <= 0:
            raise ValueError("fuel_per_us must be > 0")
        self.engine = _shared_engine()
        self.fuel_per_us = fuel_per_us
        self.output = RunOutput()  # the run's budget of log text, shared by all its modules

    def ns(self, fuel: int) -> int:
        """Simulated ns for ``fuel`` (the CPU model: ``fuel_per_us`` units per microsecond)."""
        return fuel * 1000 // self.fuel_per_us

    def fuel(self, ns: int) -> int:
        """The fuel a module burns in ``ns`` of simulated time: the cap of a run that long."""
        return max(0, ns * self.fuel_per_us // 1000)

    def load(self, path: str | Path) -> LoadedModule:
        """The module at ``path``, compiled and checked; a ``WasmError`` says what is wrong."""
        p = Path(path)
        return self.load_bytes(read_module(p), p)

    def load_bytes(self, data: bytes, p: Path) -> LoadedModule:
        """A module received as bytes (a deploy); ``p`` names it in errors."""
        if len(data) > MAX_MODULE_BYTES:
            raise WasmError(_too_big(p, len(data)))
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

    def __init__(
        self, engine: WasmEngine, path: Path, module: wasmtime.Module, digest: str
    ) -> None:
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

    def at(self, path: Path, engine: WasmEngine) -> LoadedModule:
        """The same compiled module seen from another path or run (errors name ``path``)."""
        if path == self.path and engine.fuel_per_us == self.engine.fuel_per_us:
            return self
        twin = object.__new__(LoadedModule)
        twin.__dict__.update(self.__dict__)
        twin.path, twin.engine = path, engine
        return twin


__all__ = [
    "MAX_MODULE_BYTES",
    "LoadedModule",
    "WasmEngine",
    "interrupt_runs",
    "read_module",
    "register_interrupt",
]
