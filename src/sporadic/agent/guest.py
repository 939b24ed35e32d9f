"""The guest: the non-real-time side that pushes modules through the page, one command at a time.

It does what the seed's ``wasmedge_emit`` did (``RESET_BUFFER``, ``SEND_PART`` per 4092 bytes,
``SEND_DONE``, ``SET_ARG`` per argument, ``RUN``), plus what the seed lacked: after each doorbell
it waits on ``done`` and reads the runner's status word before it writes the next command. Each
command costs the guest the copy of its payload into the page.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

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
    chunks,
)
from sporadic.agent.requests import ControlRequest, DeployRequest, Request, copy_cost
from sporadic.kernel.syscalls import Compute, Signal, Wait

CONTROL = {"start": START, "stop": STOP, "undeploy": UNDEPLOY}


class Guest:
    """The guest's program over ``page`` and the two notifications; ``inbox`` holds requests,
    ``arrived`` is signalled when one is added; ``begin(request)`` tells the agent which
    request the runner's next commands belong to."""

    def __init__(
        self,
        page: Page,
        doorbell: Any,
        done: Any,
        arrived: Any,
        copy_per_kib: int,
        begin: Callable[[Request | None], None],
    ) -> None:
        self.page = page
        self.doorbell = doorbell
        self.done = done
        self.arrived = arrived
        self.copy_per_kib = copy_per_kib
        self.begin = begin
        self.inbox: deque[Request] = deque()

    def program(self) -> Iterator[Any]:
        while True:
            while not self.inbox:
                yield Wait(self.arrived)
            request = self.inbox.popleft()
            self.begin(request)
            if isinstance(request, DeployRequest):
                yield from self._deploy(request)
            else:
                yield from self._control(request)
            self.begin(None)

    def _command(self, command: int, data: bytes = b"") -> Iterator[Any]:
        """Write one command, ring, wait for ``done``; the value is the runner's status."""
        if data:
            yield Compute(copy_cost(len(data), self.copy_per_kib))
        self.page.write(command, data)
        yield Signal(self.doorbell)
        yield Wait(self.done)
        return self.page.status()

    def _deploy(self, r: DeployRequest) -> Iterator[Any]:
        steps: list[tuple[int, bytes]] = [(RESET_BUFFER, len(r.data).to_bytes(8, "little"))]
        steps += [(SEND_PART, c) for c in chunks(r.data)]
        steps.append((SEND_DONE, b""))
        steps += [(SET_ARG, a.encode()) for a in r.args]  # checked to fit: args_problem
        engine = r.engine or "wasmtime"
        params = RunParams(r.name, r.priority, r.budget, r.period, r.deadline, r.start, engine)
        steps.append((RUN, params.pack()))
        for command, data in steps:
            status = yield from self._command(command, data)
            if status != 0:
                return  # the runner has recorded why; the seed's agent stopped here too

    def _control(self, r: ControlRequest) -> Iterator[Any]:
        yield from self._command(CONTROL[r.op], r.name.encode())


__all__ = ["CONTROL", "Guest"]
