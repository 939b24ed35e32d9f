"""The shared 4 KiB page between the guest and the runner, laid out as the seed laid it out.

A request is ``uint16 command, uint16 size, char data[4092]`` (little-endian); the runner's
status word (``int32``) overlays bytes 0..3 once it has handled the command. The five commands
are the seed's; sporadic adds ``START``, ``STOP`` and ``UNDEPLOY`` (codes 6-8), and gives
``RUN`` a payload naming the module and its SC, which the seed's single module slot did not
need. docs/deploying.md has the table.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sporadic.description.engines import ENGINES

PAGE_SIZE = 4096
HEADER = struct.Struct("<HH")
DATA_SIZE = PAGE_SIZE - HEADER.size  # 4092 bytes of payload a command
STATUS = struct.Struct("<i")

RESET_BUFFER, SEND_PART, SEND_DONE, SET_ARG, RUN, START, STOP, UNDEPLOY = range(1, 9)
COMMAND_NAMES = {
    RESET_BUFFER: "RESET_BUFFER",
    SEND_PART: "SEND_PART",
    SEND_DONE: "SEND_DONE",
    SET_ARG: "SET_ARG",
    RUN: "RUN",
    START: "START",
    STOP: "STOP",
    UNDEPLOY: "UNDEPLOY",
}

# RUN's payload: priority, budget, period, deadline (ns, 0 = none), flags (bit 0: start, else
# only make it ready; bits 1-7: the engine, an index of ENGINES), then the name
RUN_PARAMS = struct.Struct("<IQQQB")


class Page:
    """One shared page: the guest writes a command, the runner reads it and writes the status."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray(PAGE_SIZE)

    def write(self, command: int, data: bytes = b"") -> None:
        if len(data) > DATA_SIZE:
            raise ValueError(f"{len(data)} bytes do not fit a page's {DATA_SIZE}")
        HEADER.pack_into(self.buf, 0, command, len(data))
        self.buf[HEADER.size : HEADER.size + len(data)] = data

    def read(self) -> tuple[int, bytes]:
        command, size = HEADER.unpack_from(self.buf, 0)
        return command, bytes(self.buf[HEADER.size : HEADER.size + min(size, DATA_SIZE)])

    def set_status(self, status: int) -> None:
        STATUS.pack_into(self.buf, 0, status)

    def status(self) -> int:
        return STATUS.unpack_from(self.buf, 0)[0]


@dataclass(frozen=True)
class RunParams:
    """What RUN carries: the module's name and the SC it asks for."""

    name: str
    priority: int
    budget: int
    period: int
    deadline: int | None
    start: bool = True
    engine: str = "wasmtime"

    def pack(self) -> bytes:
        head = RUN_PARAMS.pack(
            self.priority,
            self.budget,
            self.period,
            self.deadline or 0,
            int(self.start) | ENGINES.index(self.engine) << 1,
        )
        return head + self.name.encode()

    @classmethod
    def unpack(cls, data: bytes) -> RunParams:
        prio, budget, period, deadline, flags = RUN_PARAMS.unpack_from(data, 0)
        name = data[RUN_PARAMS.size :].decode("utf-8", "replace")
        engine = flags >> 1
        which = ENGINES[engine] if engine < len(ENGINES) else f"engine {engine}"
        return cls(name, prio, budget, period, deadline or None, bool(flags & 1), which)


def chunks(data: bytes) -> list[bytes]:
    """The SEND_PART payloads of a module: the seed's 4092-byte reads."""
    return [data[i : i + DATA_SIZE] for i in range(0, len(data), DATA_SIZE)]


__all__ = [
    "COMMAND_NAMES",
    "DATA_SIZE",
    "PAGE_SIZE",
    "RESET_BUFFER",
    "RUN",
    "SEND_DONE",
    "SEND_PART",
    "SET_ARG",
    "START",
    "STOP",
    "UNDEPLOY",
    "Page",
    "RunParams",
    "chunks",
]
