"""The host functions a module may import: the ``"sporadic"`` API and our part of WASI.

Every argument comes from a module that may be hostile, so each function checks what it is
given before it touches the module's memory: pointers and lengths are read as the unsigned
32-bit values they are in wasm32, and a range that does not fit in the memory is refused. A
WASI function then returns its errno (``EFAULT``, ``EINVAL``...), as WASI does; a ``"sporadic"``
function, which returns no status, traps the module (``HostTrap``), which makes a fault of the
job. ``proc_exit`` and ``poll_oneoff`` are ours too: wasmtime's refuses exit codes above 125, and
its ``poll_oneoff`` sleeps for real, which would stop the simulation for as long as a module
asks. The ABI is in docs/wasm-abi.md.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

import wasmtime

from sporadic.wasm.output import LINE_BYTES, JobOutput

NUM_MRS = 64
U32 = 0xFFFF_FFFF
IOV_MAX = 1024  # what wasi-libc's <limits.h> says, and Linux's
CHUNK = 64 * 1024  # output is copied out of the module's memory this much at a time
MAX_NOTIFY = 10_000  # notifications one run may send (each is remembered until it is played)

# WASI errno values (wasi_snapshot_preview1)
EBADF, EFAULT, EINVAL, ENOSYS = 8, 21, 28, 52


class HostTrap(Exception):
    """A host function refuses its call: the module traps with ``message`` (a fault);
    ``out_of_fuel`` when the call could not be paid for."""

    def __init__(self, message: str, out_of_fuel: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.out_of_fuel = out_of_fuel


class ExitRequest(Exception):
    """WASI ``proc_exit``: the module ends with ``code``, WASI's unsigned 32-bit exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"exit code {code}")
        self.code = code


class HostFunctions:
    """The host functions of ``WasmInstance`` (which provides the attributes declared here
    and ``_record`` and ``_suspend``)."""

    store: wasmtime.Store
    memory: wasmtime.Memory | None
    mrs: list[int]
    _out: JobOutput
    _notifies: int

    def _record(self, kind: str, value: Any) -> None:  # pragma: no cover - WasmInstance's
        raise NotImplementedError

    def _suspend(self, kind: str, value: Any) -> Any:  # pragma: no cover - WasmInstance's
        raise NotImplementedError

    # -- the module's memory

    def _memory(self) -> tuple[int, int]:
        """The address and size of the module's memory ((0, 0) if it exports none)."""
        mem = self.memory
        if mem is None:
            return 0, 0
        size = mem.data_len(self.store)
        if size == 0:
            return 0, 0
        return ctypes.addressof(mem.data_ptr(self.store).contents), size

    def _span(self, what: str, ptr: int, length: int) -> tuple[int, int, int]:
        """``ptr`` and ``length`` as unsigned, checked to fit in memory, and the memory's
        address; a range outside the memory traps the module."""
        ptr, length = ptr & U32, length & U32
        if self.memory is None and length:
            raise HostTrap(
                f"{what}: the module has no memory to read (it exports none as 'memory', "
                "or it is still in its start function)"
            )
        base, size = self._memory()
        if ptr + length > size:
            raise HostTrap(
                f"{what}: bytes {ptr}..{ptr + length} are outside the module's memory "
                f"({size} bytes)"
            )
        return base, ptr, length

    # -- the "sporadic" host API (runs on whichever thread runs the module)

    def _host_notify(self, ch: int) -> None:
        self._notifies += 1
        if self._notifies > MAX_NOTIFY:
            raise HostTrap(f"notify: more than {MAX_NOTIFY} notifications in one run")
        self._record("notify", ch)

    def _host_log(self, ptr: int, length: int) -> None:
        base, ptr, length = self._span("log", ptr, length)
        out = self._out
        if out.full:  # counted, never read
            out.line(b"", length)
            return
        keep = min(length, LINE_BYTES)
        head = ctypes.string_at(base + ptr, keep) if keep else b""
        text = out.line(head, length - keep)
        if text is not None:
            self._record("log", text)

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

    # -- WASI

    def _wasi_fd_write(self, fd: int, iovs: int, n: int, nwritten: int) -> int:
        """WASI's fd_write, ours so that each stdout/stderr line is stamped with its fuel.
        Everything is checked before anything is written: a bad call writes nothing."""
        fd, iovs, n, nwritten = fd & U32, iovs & U32, n & U32, nwritten & U32
        if fd not in (1, 2):
            return EBADF  # no files: only stdout and stderr are open for writing
        if n > IOV_MAX:
            return EINVAL
        if self.memory is None:
            return EBADF  # no memory to write from (none exported, or in the start function)
        base, size = self._memory()
        if iovs + 8 * n > size or nwritten + 4 > size:
            return EFAULT
        vec = ctypes.string_at(base + iovs, 8 * n) if n else b""
        spans = list(struct.iter_unpack("<II", vec))
        if any(ptr + length > size for ptr, length in spans):
            return EFAULT
        total = sum(length for _, length in spans)
        if total > 0x7FFF_FFFF:  # more than a wasm32 ssize_t can report
            return EINVAL
        out = self._out
        for ptr, length in spans:
            for at in range(ptr, ptr + length, CHUNK):
                data = ctypes.string_at(base + at, min(CHUNK, ptr + length - at))
                for text in out.write(fd, data):
                    self._record("log", text)
        ctypes.memmove(base + nwritten, total.to_bytes(4, "little"), 4)
        return 0

    def _wasi_proc_exit(self, code: int) -> None:
        raise ExitRequest(code & U32)

    def _wasi_poll_oneoff(self, _in: int, _out: int, _n: int, _nevents: int) -> int:
        """Not provided: a module cannot sleep or block the simulation in real time."""
        return ENOSYS

    def _flush_output(self) -> None:
        """The end of a run: its partial lines, and what was cut from its output."""
        for text in self._out.flush():
            self._record("log", text)


# WASI functions we provide instead of wasmtime's: name -> (params, results, method)
WASI_OVERRIDES: dict[str, tuple[int, int, str]] = {
    "fd_write": (4, 1, "_wasi_fd_write"),
    "proc_exit": (1, 0, "_wasi_proc_exit"),
    "poll_oneoff": (4, 1, "_wasi_poll_oneoff"),
}

__all__ = [
    "EBADF",
    "EFAULT",
    "EINVAL",
    "ENOSYS",
    "IOV_MAX",
    "MAX_NOTIFY",
    "NUM_MRS",
    "WASI_OVERRIDES",
    "ExitRequest",
    "HostFunctions",
    "HostTrap",
]
