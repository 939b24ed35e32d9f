"""Every error sporadic raises, under one base class, so a caller catches ``SporadicError`` once.

The located errors say where a person must look: a description's file, line and field, a Microkit
file's line and column, a WebAssembly module, a trace file. ``KernelError`` is different in kind:
it is the seL4 error an invocation returns to the program that made it (``SeL4Error``); the kernel
turns it into that syscall's result and a ``syscall_error`` record, so it reaches a user only from
a boot-time call made outside any program.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "DescriptionError",
    "KernelError",
    "MicrokitError",
    "SeL4Error",
    "SimulationError",
    "SporadicError",
    "TraceFormatError",
    "ValidationError",
    "WasmError",
]


class SporadicError(Exception):
    """The base of every error the simulator raises on purpose."""


class DescriptionError(SporadicError):
    """A description the simulator cannot run: says where and what, for a person to fix."""

    def __init__(self, path: str, line: int | None, where: str, message: str) -> None:
        loc = f"{path}:{line}" if line else path
        super().__init__(f"{loc}: {where}: {message}" if where else f"{loc}: {message}")
        self.path = path
        self.line = line
        self.where = where
        self.message = message


class MicrokitError(SporadicError):
    """A system description Microkit would reject: ``PATH:LINE:COL: message``."""

    def __init__(self, path: str, line: int | None, column: int | None, message: str) -> None:
        loc = f"{path}:{line}:{column}" if line is not None else path
        super().__init__(f"{loc}: {message}")
        self.path = path
        self.line = line
        self.column = column
        self.message = message


class WasmError(SporadicError):
    """A module the simulator refuses to load: says which module and what is wrong."""


class TraceFormatError(SporadicError):
    """The file is not a sporadic trace this reader can interpret."""


class ValidationError(SporadicError):
    """A validation cannot run: a description the real-kernel harness cannot express, or a
    toolchain or kernel source that is missing (the message says what to install)."""


class SimulationError(SporadicError):
    """The simulation cannot go on (a program that never lets time pass, a broken invariant)."""


class SeL4Error(StrEnum):
    """``seL4_Error`` (``libsel4/include/sel4/errors.h``); the value is the name without the
    ``seL4_`` prefix, which is what a program receives and what the trace records."""

    InvalidArgument = "InvalidArgument"
    InvalidCapability = "InvalidCapability"
    IllegalOperation = "IllegalOperation"
    RangeError = "RangeError"
    AlignmentError = "AlignmentError"
    FailedLookup = "FailedLookup"
    TruncatedMessage = "TruncatedMessage"
    DeleteFirst = "DeleteFirst"
    RevokeFirst = "RevokeFirst"
    NotEnoughMemory = "NotEnoughMemory"


class KernelError(SporadicError):
    """An invocation's seL4 error, with the detail a person needs to see why."""

    def __init__(self, error: SeL4Error, detail: str = "") -> None:
        super().__init__(f"{error}: {detail}" if detail else str(error))
        self.error = error
        self.detail = detail
