"""The deploy channel in a built system: the guest, the runner, the page and two notifications.

``Agent(built)`` adds them to a ``BuiltSystem`` before the run, as a root task would: a guest
partition (the non-real-time Linux side, low priority, its own SC) and a runner partition, a
``doorbell`` (guest -> runner) and a ``done`` (runner -> guest) notification, and the shared
page. Scripted ``[[deploy]]`` entries arrive as device interrupts at their times; the socket
server's requests arrive the same way through ``submit``, at the simulated time it is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sporadic import records as ev
from sporadic.agent.guest import Guest
from sporadic.agent.page import Page
from sporadic.agent.requests import ControlRequest, DeployRequest, Request
from sporadic.agent.runner import Module, Runner
from sporadic.description.model import AgentSettings, Deploy
from sporadic.kernel.notification import send_signal
from sporadic.kernel.schedcontext import bind, configure
from sporadic.system.builder import BuiltSystem
from sporadic.system.kinds import GUEST, RUNNER
from sporadic.wasm.engine import read_module

AGENT_IRQ = 1 << 20  # after every partition's and PD's timer at the same instant


class Agent:
    """The guest and the runner of one run; ``modules`` are the runner's deployed modules."""

    def __init__(
        self, built: BuiltSystem, settings: AgentSettings, deploys: tuple[Deploy, ...] = ()
    ) -> None:
        k = self.kernel = built.kernel
        self.settings = settings
        self.page = Page()
        doorbell = k.create_notification("agent.doorbell")
        done = k.create_notification("agent.done")
        self.arrived = k.create_notification("agent.requests")
        self.current: Request | None = None
        self._ids = 0
        self.guest = Guest(
            self.page, doorbell, done, self.arrived, settings.copy_per_kib, self._begin
        )
        self.default_engine = built.system.engine
        self.runner = Runner(
            k,
            built.wasm_engine(),
            settings,
            self.page,
            doorbell,
            done,
            self._record,
            built.command_engine,
        )
        for name, prio, params, program, kind in (
            ("guest", settings.guest_priority, settings.guest, self.guest.program(), GUEST),
            ("runner", settings.runner_priority, settings.runner, self.runner.program(), RUNNER),
        ):
            t = k.create_thread(name, prio)
            sc = k.create_sc(name)
            configure(k, sc, params.budget, params.period)
            bind(k, sc, t)
            t.program = program
            built.kinds[t.id] = kind
            k.start(t)
        for d in deploys:
            request = DeployRequest(
                d.name,
                read_module(Path(d.wasm)),
                d.args,
                d.priority,
                d.budget,
                d.period,
                d.deadline,
                engine=d.engine,
            )
            self._number(request)
            k.add_timer(d.at, AGENT_IRQ, lambda t, r=request: self._arrive(t, r))

    @property
    def modules(self) -> dict[str, Module]:
        return self.runner.modules

    def submit(self, request: Request) -> int:
        """Hand ``request`` to the guest now (between two slices of the run); its id."""
        self._number(request)
        k = self.kernel
        k.add_timer(k.hw, AGENT_IRQ, lambda t: self._arrive(t, request))
        return request.id

    def _number(self, request: Request) -> None:
        self._ids += 1
        request.id = self._ids

    def _arrive(self, t: int, request: Request) -> None:
        """In the interrupt: the request is in the guest's inbox and the guest is woken."""
        if isinstance(request, DeployRequest):
            request.engine = request.engine or self.default_engine
            info = {
                "size": len(request.data),
                "sha256": request.sha256,
                "args": list(request.args),
                "priority": request.priority,
                "budget": request.budget,
                "period": request.period,
                "deadline": request.deadline,
                "source": request.source,
                "request": request.id,
            }
            if request.engine != "wasmtime":  # a wasmtime deploy's record is as it always was
                info["engine"] = request.engine
            self.kernel.sink((ev.DEPLOY, t, request.name, "request", info))
        self.guest.inbox.append(request)
        send_signal(self.kernel, self.arrived, 1)

    def _begin(self, request: Request | None) -> None:
        self.current = request
        self.runner.name = "" if request is None else request.name

    def _record(self, module: str, phase: str, info: dict[str, Any]) -> None:
        k = self.kernel
        if self.current is not None and phase != "exit":  # an exit belongs to no request
            info["request"] = self.current.id
        k.sink((ev.DEPLOY, k.hw, module, phase, info))


__all__ = ["AGENT_IRQ", "Agent", "ControlRequest", "DeployRequest"]
