"""Clients of the agent's server: ``sporadic emit`` and ``sporadic agent list|stop|logs|watch``.

``emit`` behaves like the seed's ``wasmedge_emit FILE [ARGS...]``, and adds what it could not
do: it prints the module's output as the module runs and exits with the module's exit status.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

import trio

from sporadic.agent.protocol import FrameDecoder, read_frames, send_frame
from sporadic.errors import SporadicError
from sporadic.live.run import parse_address
from sporadic.traces.table import printable
from sporadic.wasm.engine import read_module

FAILED = 255  # the seed's -1: the deploy itself failed


class Connection:
    """One connection to the server; requests are numbered from 1."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.frames: AsyncIterator[dict[str, Any]] = read_frames(stream, FrameDecoder())
        self.ids = itertools.count(1)

    @classmethod
    async def open(cls, address: str, token: str | None = None) -> Connection:
        host, port = parse_address(address)
        try:
            stream = await trio.open_tcp_stream(host, port)
        except OSError as e:
            raise SporadicError(f"cannot connect to {address}: {e.strerror or e}") from None
        conn = cls(stream)
        if token is not None:
            await conn.call("auth", token=token)
        return conn

    async def send(self, op: str, **fields: Any) -> int:
        rid = next(self.ids)
        await send_frame(self.stream, {"v": 1, "id": rid, "op": op, **fields})
        return rid

    async def receive(self) -> dict[str, Any]:
        try:
            return await self.frames.__anext__()
        except StopAsyncIteration:
            raise SporadicError("the server closed the connection") from None

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """One request and its response; an error response raises ``SporadicError``."""
        await self.send(op, **fields)
        reply = await self.receive()
        if not reply.get("ok"):
            raise SporadicError(reply.get("error", "the server refused the request"))
        return reply

    async def aclose(self) -> None:
        await self.stream.aclose()


async def emit(
    address: str,
    path: Path,
    args: list[str],
    token: str | None,
    engine: str | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Deploy ``path`` with ``args`` (on ``engine``, else the server's), print its output as
    it comes, return its exit status."""
    data = read_module(path)  # a regular file of at most 64 MiB, or a one-line error
    fields: dict[str, Any] = {} if engine is None else {"engine": engine}
    conn = await Connection.open(address, token)
    try:
        await conn.send("deploy", name=path.stem, module=data, args=args, follow=True, **fields)
        while True:
            msg = await conn.receive()
            if msg.get("event") == "stdout":
                print(printable(msg["line"]), file=out, flush=True)  # text, never escapes
            elif msg.get("ok"):
                return int(msg["status"])
            else:
                raise SporadicError(msg.get("error", "the deploy failed"))
    finally:
        await conn.aclose()


async def request(address: str, token: str | None, op: str, **fields: Any) -> dict[str, Any]:
    conn = await Connection.open(address, token)
    try:
        return await conn.call(op, **fields)
    finally:
        await conn.aclose()


async def records(address: str, token: str | None, kinds: list[str]) -> AsyncIterator[tuple]:
    """The live record stream (with the count of records missed before each batch)."""
    conn = await Connection.open(address, token)
    try:
        await conn.call("subscribe", kinds=kinds)
        while True:
            msg = await conn.receive()
            yield msg["records"], msg["missed"]
    finally:
        await conn.aclose()


__all__ = ["FAILED", "Connection", "emit", "records", "request"]
