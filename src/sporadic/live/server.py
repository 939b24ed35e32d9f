"""The deploy agent's socket server: requests in, responses and record streams out.

One trio task per connection reads frames (docs/agent-protocol.md), checks each request and
answers it. Nothing a client sends can stop the run or another client: a malformed request gets
an error response, a malformed frame an error and a closed connection, and a module is compiled
and checked against the ``[agent]`` caps before it reaches the simulation. Deploys, starts and
stops enter the simulation through the bus's request channel, between two slices of the run.
"""

from __future__ import annotations

import hmac
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from sporadic import records as ev
from sporadic.agent.agent import Agent
from sporadic.agent.protocol import (
    FrameDecoder,
    ProtocolError,
    Request,
    error,
    event,
    ok,
    parse_request,
    send_frame,
)
from sporadic.agent.requests import ControlRequest, DeployRequest
from sporadic.description.agent import args_problem, sc_problem
from sporadic.errors import WasmError
from sporadic.traces.bus import RecordBus
from sporadic.wasm.commands import WASMER_MISSING, wasmer_installed

MAX_ITEMS = 4096  # arrays and maps a request may declare (args, kinds)
LOG_LINES = 1000  # lines of output kept per module for `logs`
FOLLOW_QUEUE = 4096  # batches a followed deploy may fall behind before it misses output
KIND_CODES = {name: code for code, name in enumerate(ev.NAMES)}


class ModuleLogs:
    """A bus tap: the last lines each module printed, by module name."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self.lines: dict[str, deque[tuple[int, str]]] = {}

    def __call__(self, batch: list[tuple]) -> None:
        for r in batch:
            kind = r[0]
            if kind == ev.THREAD_NEW:
                self.names[r[2]] = r[3]
                self.lines.setdefault(r[3], deque(maxlen=LOG_LINES))
            elif kind == ev.LOG and r[2] in self.names:
                self.lines[self.names[r[2]]].append((r[1], r[3]))


class Inbox:
    """A connection's incoming requests. While a long answer is under way, ``watch`` keeps
    reading: requests sent meanwhile wait here, and the end of the connection (or a malformed
    frame) cancels the answer at once instead of when a send fails."""

    def __init__(self, stream: trio.abc.Stream, decoder: FrameDecoder) -> None:
        self.stream = stream
        self.decoder = decoder
        self.pending: deque[dict[str, Any]] = deque()
        self.closed = False
        self.error: ProtocolError | None = None

    async def _fill(self) -> bool:
        """Read once; False at the end of the connection."""
        data = await self.stream.receive_some(65536)
        if not data:
            self.closed = True
            self.decoder.eof()
            return False
        self.pending.extend(self.decoder.feed(data))
        return True

    async def next(self) -> dict[str, Any] | None:
        """The next request, or None once the client has closed the connection."""
        self.check()
        while not self.pending:
            if self.closed or not await self._fill():
                return None
        return self.pending.popleft()

    async def watch(self, scope: trio.CancelScope) -> None:
        try:
            while await self._fill():
                pass
        except ProtocolError as e:
            self.error = e
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.closed = True
        scope.cancel()

    def check(self) -> None:
        """Raise what ``watch`` found wrong with the connection."""
        if self.error is not None:
            raise self.error


class AgentServer:
    """Serves one run's agent. ``status()`` describes the run for the ``status`` request."""

    def __init__(
        self,
        agent: Agent,
        bus: RecordBus,
        status: Callable[[], dict[str, Any]],
        token: str | None = None,
    ) -> None:
        self.agent = agent
        self.bus = bus
        self.status = status
        self.token = token
        self.settings = agent.settings
        self.logs = ModuleLogs()
        bus.taps.append(self.logs)
        self.clients = 0
        self.malformed = 0

    async def handle(self, stream: trio.abc.Stream) -> None:
        """One connection, until the client closes it or sends a malformed frame."""
        self.clients += 1
        inbox = Inbox(stream, FrameDecoder(self.settings.max_frame, MAX_ITEMS))
        authed = self.token is None
        try:
            while (msg := await inbox.next()) is not None:
                try:
                    req = parse_request(msg)
                except ProtocolError as e:
                    self.malformed += 1
                    await send_frame(stream, error(e.request_id, e.message))
                    continue
                if not authed:
                    if req.op != "auth" or not hmac.compare_digest(
                        str(req.fields.get("token", "")).encode(), self.token.encode()
                    ):
                        await send_frame(stream, error(req.id, "authenticate first: op 'auth'"))
                        return
                    authed = True
                    await send_frame(stream, ok(req.id))
                    continue
                await self._dispatch(inbox, req)
        except ProtocolError as e:
            self.malformed += 1
            with trio.move_on_after(1):
                await send_frame(stream, error(None, e.message))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self.clients -= 1
            with trio.move_on_after(1):
                await stream.aclose()

    async def _dispatch(self, inbox: Inbox, req: Request) -> None:
        """Answer one request. One that waits on the run (a deploy, start, stop, subscribe)
        keeps reading the connection meanwhile, so a client that leaves is noticed at once."""
        stream, op, f = inbox.stream, req.op, req.fields
        if op in ("deploy", "start", "stop", "undeploy", "subscribe"):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(inbox.watch, nursery.cancel_scope)
                if op == "deploy":
                    await self._deploy(stream, req)
                elif op == "subscribe":
                    await self._subscribe(stream, req)
                else:
                    await self._control(stream, req)
                nursery.cancel_scope.cancel()
            inbox.check()
            return
        if op == "auth":
            await send_frame(stream, ok(req.id))
        elif op == "list":
            await send_frame(stream, ok(req.id, modules=self.modules()))
        elif op == "status":
            await send_frame(stream, ok(req.id, **self.status(), clients=self.clients))
        elif op == "logs":
            lines = self.logs.lines.get(f["name"])
            if lines is None:
                await send_frame(stream, error(req.id, f"logs: no module called {f['name']!r}"))
            else:
                await send_frame(stream, ok(req.id, lines=[[t, s] for t, s in lines]))

    def modules(self) -> list[dict[str, Any]]:
        out = []
        for m in self.agent.modules.values():
            p = m.params
            out.append(
                {
                    "name": m.name,
                    "sha256": m.sha256,
                    "size": m.size,
                    "state": m.state,
                    "thread": m.thread.id,
                    "priority": p.priority,
                    "budget": p.budget,
                    "period": p.period,
                    "deadline": p.deadline,
                    "exit_status": m.exit_status,
                }
            )
        return out

    # -- requests that enter the simulation

    def check_deploy(self, f: dict[str, Any]) -> DeployRequest:
        """The request as the runner will get it, or ProtocolError saying why it never will."""
        s = self.settings
        data = f["module"]
        if len(data) > s.max_module_size:
            raise ProtocolError(
                f"deploy: module is {len(data)} bytes, above max_module_size {s.max_module_size}"
            )
        prio = s.module_priority if f["priority"] is None else f["priority"]
        if prio > s.max_priority:
            raise ProtocolError(f"deploy: priority {prio} is above max_priority {s.max_priority}")
        budget = s.module.budget if f["budget"] is None else f["budget"]
        period = s.module.period if f["period"] is None else f["period"]
        problem = sc_problem(budget, period, s, self.agent.kernel.min_budget)
        if problem is not None:
            raise ProtocolError(f"deploy: {problem[1]}")
        bad_args = args_problem(f["args"])
        if bad_args is not None:
            raise ProtocolError(f"deploy: {bad_args}")
        try:
            loaded = self.agent.runner.engine.load_bytes(data, Path(f"{f['name']}.wasm"))
        except WasmError as e:
            raise ProtocolError(f"deploy: {e}") from None
        if loaded.kind != "command":
            raise ProtocolError(
                f"deploy: {f['name']}.wasm is a reactor; the runner starts WASI commands (_start)"
            )
        if f["engine"] == "wasmer" and not wasmer_installed():
            raise ProtocolError(f"deploy: {WASMER_MISSING}")
        deadline = s.module_deadline if f["deadline"] is None else f["deadline"]
        return DeployRequest(
            f["name"],
            data,
            tuple(f["args"]),
            prio,
            budget,
            period,
            deadline,
            f["start"],
            "socket",
            engine=f["engine"],
        )

    async def _submit(self, request: DeployRequest | ControlRequest) -> int:
        done = trio.Event()
        await self.bus.requests_in.send((request, done))
        await done.wait()
        return request.id

    async def _deploy(self, stream: trio.abc.Stream, req: Request) -> None:
        try:
            request = self.check_deploy(req.fields)
        except ProtocolError as e:
            await send_frame(stream, error(req.id, e.message))
            return
        sub = self.bus.subscribe(FOLLOW_QUEUE, {ev.DEPLOY, ev.LOG})
        try:
            rid = await self._submit(request)
            await self._follow(stream, req, rid, sub, request.start)
        finally:
            self.bus.unsubscribe(sub)

    async def _follow(
        self, stream: trio.abc.Stream, req: Request, rid: int, sub: Any, start: bool
    ) -> None:
        """Answer when the runner has taken the module (or, with ``follow``, when it exits),
        streaming its output meanwhile."""
        follow = req.fields["follow"]
        thread = None
        try:
            while True:
                records, _ = await sub.receive()
                for r in records:
                    if r[0] == ev.LOG:
                        if follow and r[2] == thread:
                            await send_frame(stream, event(req.id, "stdout", line=r[3], t=r[1]))
                        continue
                    name, phase, info = r[2], r[3], r[4]
                    if info.get("request") == rid and phase == "error":
                        await send_frame(stream, error(req.id, f"deploy: {info['message']}"))
                        return
                    if info.get("request") == rid and phase == "instantiate":
                        thread = info["thread"]
                        if not follow or not start:
                            await send_frame(stream, ok(req.id, name=name, thread=thread, t=r[1]))
                            return
                    if info.get("thread") != thread or thread is None:
                        continue
                    if phase == "exit":
                        await send_frame(stream, ok(req.id, name=name, status=info["status"]))
                        return
                    if phase in ("stop", "undeploy"):
                        message = f"deploy: {name} was stopped before it exited"
                        await send_frame(stream, error(req.id, message))
                        return
        except (trio.EndOfChannel, trio.ClosedResourceError):
            await send_frame(stream, error(req.id, "the run ended before the deploy finished"))

    async def _control(self, stream: trio.abc.Stream, req: Request) -> None:
        name = req.fields["name"]
        if name not in self.agent.modules:
            await send_frame(stream, error(req.id, f"{req.op}: no module called {name!r}"))
            return
        sub = self.bus.subscribe(FOLLOW_QUEUE, {ev.DEPLOY})
        try:
            rid = await self._submit(ControlRequest(req.op, name))
            done = {"start": "start", "stop": "stop", "undeploy": "undeploy"}[req.op]
            while True:
                records, _ = await sub.receive()
                for r in records:
                    info = r[4]
                    if info.get("request") != rid:
                        continue
                    if r[3] == "error":
                        await send_frame(stream, error(req.id, f"{req.op}: {info['message']}"))
                        return
                    if r[3] == done:
                        await send_frame(stream, ok(req.id, name=name, t=r[1]))
                        return
        except (trio.EndOfChannel, trio.ClosedResourceError):
            await send_frame(stream, error(req.id, "the run ended before the request was done"))
        finally:
            self.bus.unsubscribe(sub)

    async def _subscribe(self, stream: trio.abc.Stream, req: Request) -> None:
        kinds = req.fields.get("kinds")
        codes = None
        if kinds is not None:
            unknown = [k for k in kinds if k not in KIND_CODES]
            if unknown:
                await send_frame(stream, error(req.id, f"subscribe: unknown kind {unknown[0]!r}"))
                return
            codes = {KIND_CODES[k] for k in kinds}
        sub = self.bus.subscribe(req.fields.get("max_queue") or 64, codes)
        await send_frame(stream, ok(req.id, subscribed=True))
        try:
            while True:
                records, missed = await sub.receive()
                await send_frame(
                    stream,
                    event(req.id, "records", records=[list(r) for r in records], missed=missed),
                )
        except (trio.EndOfChannel, trio.ClosedResourceError):
            return
        finally:
            self.bus.unsubscribe(sub)


__all__ = ["AgentServer", "ModuleLogs"]
