"""``sporadic run FILE --listen``: a run paced to the wall clock, with the agent's server beside it.

At ``speed`` F, simulated time follows the wall clock F times as fast, so a request lands at the
simulated time that corresponds to its arrival; at speed 0 the run goes as fast as it can and a
request lands at whatever simulated time it has reached. SIGINT or SIGTERM ends the run at the
current simulated time, with a complete trace (footer and all).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

import trio

from sporadic.description import System
from sporadic.description.model import AgentSettings
from sporadic.errors import SporadicError
from sporadic.live.server import AgentServer
from sporadic.simulation import Simulation
from sporadic.traces.bus import RecordBus
from sporadic.wasm.engine import interrupt_runs

LOOPBACK = "127.0.0.1"
TICK = 0.001  # s of wall time between slices when paced
FREE_SLICE = 10_000_000  # ns of simulated time a slice at speed 0


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6); ``PORT`` or ``:PORT`` is on loopback."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise SporadicError(f"{text!r} is not HOST:PORT")
    return host.strip("[]") or LOOPBACK, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(token_file: Path | None, env: dict[str, str]) -> str | None:
    if token_file is not None:
        try:
            return token_file.read_text().strip()
        except OSError as e:
            raise SporadicError(f"{token_file}: cannot read the token: {e.strerror}") from None
    return env.get("SPORADIC_TOKEN") or None


def with_agent(system: System) -> System:
    """A system served over the socket needs the agent; ``[agent]``'s defaults if it has none."""
    if system.agent is not None:
        return system
    return dataclasses.replace(system, agent=AgentSettings())


class LiveRun:
    """One served run: the simulation, its bus, the server and the pacing loop."""

    def __init__(
        self, sim: Simulation, speed: float, token: str | None, stderr: TextIO = sys.stderr
    ) -> None:
        if sim.agent is None:  # pragma: no cover - with_agent() guarantees it
            raise SporadicError("a served run needs the deploy agent")
        self.sim = sim
        self.speed = speed
        self.bus: RecordBus = sim.attach_bus()
        self.server = AgentServer(sim.agent, self.bus, self.status, token)
        self.stop = trio.Event()
        self._listening = trio.CancelScope()
        self.stderr = stderr
        self.end = sim.system.duration

    def status(self) -> dict[str, Any]:
        return {
            "time": self.sim.kernel.hw,
            "duration": self.end,
            "speed": self.speed,
            "modules": len(self.sim.agent.modules),
            "records": self.bus.published,
            "malformed": self.server.malformed,
            "threads": {str(t.id): t.name for t in self.sim.kernel.threads},
        }

    async def serve(self, host: str, port: int) -> int:
        """Listen, run, and return the simulated time the run ended at."""
        # the signals are ours before anyone can know the address, until the trace is closed
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as outer:
                self.sim.start_consumers(outer, self.bus)
                outer.start_soon(self._signals, signals)
                async with trio.open_nursery() as inner:
                    try:
                        listeners = await trio.open_tcp_listeners(port, host=host)
                    except OSError as e:
                        raise SporadicError(
                            f"cannot listen on {host}:{port}: {e.strerror or e}"
                        ) from None
                    bound = listeners[0].socket.getsockname()
                    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
                    inner.start_soon(trio.serve_listeners, self.server.handle, listeners)
                    print(f"listening on {shown}:{bound[1]}", file=self.stderr, flush=True)
                    t = await self._loop()
                    inner.cancel_scope.cancel()
                await self.sim.close_async(t, self.bus)
                self._listening.cancel()  # the writer, alone now, drains the bus to its end
        self.sim.close_files(t)
        return t

    async def _signals(self, signals: Any) -> None:
        with self._listening:
            async for _ in signals:
                self.stop.set()
                interrupt_runs()  # a module in the middle of a long run traps now

    async def _loop(self) -> int:
        k, bus = self.sim.kernel, self.bus
        t = k.hw
        wall0, sim0 = trio.current_time(), t
        while t < self.end and not self.stop.is_set():
            while True:
                try:
                    request, done = bus.requests.receive_nowait()
                except trio.WouldBlock:
                    break
                self.sim.agent.submit(request)
                done.set()
            if self.speed > 0:
                target = min(self.end, sim0 + int((trio.current_time() - wall0) * 1e9 * self.speed))
                if target <= t:
                    await trio.sleep(TICK)
                    continue
            else:
                target = min(self.end, t + FREE_SLICE)
            # on a thread: a module computing for long keeps the server answering meanwhile;
            # between two slices nothing else touches the kernel
            t = await trio.to_thread.run_sync(k.run, target)
            await bus.publish()
            await trio.lowlevel.checkpoint()
        return t


__all__ = ["LiveRun", "is_loopback", "parse_address", "read_token", "with_agent"]
