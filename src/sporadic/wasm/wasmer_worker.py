"""The wasmer worker: a process of its own that runs wasmer-sdk for one session of a run.

``python -m sporadic.wasm.wasmer_worker CACHE`` reads requests on stdin and writes one reply
to each on stdout, as length-prefixed msgpack maps (``read_frame``, ``write_frame``). Its main
thread runs an asyncio loop, the SDK's API, one request at a time:

- ``{"op": "load", "id": N, "data": bytes, "name": argv0}``: a sandbox for module N (no
  network, no host files), its package, and a compile (a run stopped at once in a sandbox of
  its own, so that no job's measured time holds the compile);
- ``{"op": "run", "id": N, "name": argv0, "args": [...], "timeout": s}``: spawn, read stdout
  and stderr as they come (each line stamped with the ns since the spawn request), wait for
  the exit; the reply has ``lines``, ``elapsed`` (ns), ``exit_code``, ``trap``, ``timed_out``;
- ``{"op": "close"}``: close every sandbox and the client, reply, and end at once.

Why a process (docs/wasm-abi.md): wasmer-sdk 0.5.0 stops a guest at its timeout only when the
guest calls the host; a loop that never does keeps a core busy after the SDK has reported it
killed (exit 137, ``timeout``), until its process ends. The SDK also prints a trapping
module's backtrace on its process's stderr, here a file nobody shows.
"""

from __future__ import annotations

import asyncio
import os
import signal
import struct
import sys
import time
from typing import Any, BinaryIO

import msgpack

from sporadic.wasm.output import JobOutput

HEADER = struct.Struct(">I")
DRAIN = 0.05  # s to read what a run wrote before its exit, once it has exited
KILL_GRACE = 5.0  # s past its timeout before a run the SDK has not ended is killed here
NOT_SPAWNED = "unable to spawn the command"  # the SDK's words for a module it cannot start


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """The next map on ``stream``, or None at its end."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return msgpack.unpackb(body, raw=False)


def write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    """``message`` on ``stream`` as one frame, flushed: the other side is waiting for it."""
    body = msgpack.packb(message, use_bin_type=True)
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


class Worker:
    """The SDK's client, and per loaded module its sandbox and packages (one per argv[0])."""

    def __init__(self, cache: str) -> None:
        import wasmer_sdk

        self.sdk = wasmer_sdk
        self.client = wasmer_sdk.Wasmer(cache_root=cache)
        self.data: dict[int, bytes] = {}
        self.sandboxes: dict[int, Any] = {}
        self.packages: dict[tuple[int, str], Any] = {}
        self.compiled: set[bytes] = set()

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request["op"]
        try:
            if op == "load":
                await self.load(request["id"], request["data"], request["name"])
                return {"ok": True}
            if op == "run":
                return await self.run(
                    request["id"], request["name"], request["args"], request["timeout"]
                )
            if op == "close":
                await self.close()
                return {"ok": True}
            return {"error": f"unknown op {op!r}"}
        except self.sdk.WasmerError as e:
            return {"error": str(e)}

    async def load(self, handle: int, data: bytes, name: str) -> None:
        self.data[handle] = data
        self.sandboxes[handle] = await self.client.sandboxes.create(network="disabled")
        package = await self.package(handle, name)
        if data in self.compiled:
            return
        sandbox = await self.client.sandboxes.create(packages=[package], network="disabled")
        try:
            await sandbox.command(package, []).run(timeout=0, check=False)
        except self.sdk.WasmerError as e:
            if NOT_SPAWNED in str(e):  # not a trap of its own: wasmer refuses the module
                raise
        finally:
            await sandbox.close()
        self.compiled.add(data)

    async def package(self, handle: int, name: str) -> Any:
        """Module ``handle`` as a package whose one command is ``name`` (the guest's argv[0]),
        installed in the module's sandbox."""
        package = self.packages.get((handle, name))
        if package is None:
            definition = self.sdk.PackageDefinition(
                modules={"module": self.data[handle]},
                commands={name: self.sdk.PackageCommandDefinition(module="module")},
            )
            package = await self.client.packages.create(definition)
            await self.sandboxes[handle].install_package(package)
            self.packages[(handle, name)] = package
        return package

    async def run(self, handle: int, name: str, args: list[str], timeout: float) -> dict:
        package = await self.package(handle, name)
        out = JobOutput()
        lines: list[tuple[int, str]] = []
        reply: dict[str, Any] = {"exit_code": None, "trap": None, "timed_out": False}
        start = time.perf_counter_ns()
        try:
            proc = await self.sandboxes[handle].command(package, args).spawn(timeout=timeout)
        except self.sdk.WasmerError as e:
            return {**reply, "lines": [], "elapsed": time.perf_counter_ns() - start,
                    "error": str(e)}  # fmt: skip
        pumps = [
            asyncio.ensure_future(_pump(stream, fd, out, lines, start))
            for fd, stream in ((1, proc.stdout), (2, proc.stderr))
            if stream is not None
        ]
        try:
            result = await _wait(proc, timeout)
            reply["exit_code"] = result.exit_code
            reply["timed_out"] = result.reason is self.sdk.ExitReason.TIMEOUT
            reply["terminated"] = result.reason is self.sdk.ExitReason.TERMINATED
        except self.sdk.WasmerError as e:
            reply["error"] = str(e)
        elapsed = time.perf_counter_ns() - start
        await _drain(pumps)
        lines += [(elapsed, text) for text in out.flush()]
        return {**reply, "lines": lines, "elapsed": elapsed}

    async def close(self) -> None:
        for sandbox in self.sandboxes.values():
            await sandbox.close()
        await self.client.close()


async def _pump(stream: Any, fd: int, out: JobOutput, lines: list, start: int) -> None:
    async for chunk in stream:
        now = time.perf_counter_ns() - start
        lines.extend((now, text) for text in out.write(fd, chunk))


async def _wait(proc: Any, timeout: float) -> Any:
    """The process's end; one the SDK has not ended well past its timeout is killed."""
    try:
        return await asyncio.wait_for(proc.wait(), timeout + KILL_GRACE)
    except TimeoutError:
        await proc.kill()
        return await proc.wait()


async def _drain(pumps: list[asyncio.Future]) -> None:
    """Let the readers take what was written before the exit (the stream of a killed run
    never ends, so they get ``DRAIN`` and are then cancelled)."""
    if not pumps:
        return
    _, pending = await asyncio.wait(pumps, timeout=DRAIN)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def main(argv: list[str]) -> None:
    """Serve requests until ``close`` or the end of stdin, then end without the interpreter's
    finalization (the SDK's threads must not meet it). Ctrl-C reaches the whole process group:
    the parent decides when the worker ends, so the worker ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        worker = Worker(argv[1])
    except Exception as e:  # the parent reads it as the reply to its first request
        write_frame(stdout, {"error": f"cannot start wasmer: {e}"})
        os._exit(1)
    while True:
        request = read_frame(stdin)
        if request is None:
            loop.run_until_complete(worker.close())
            os._exit(0)
        write_frame(stdout, loop.run_until_complete(worker.handle(request)))
        if request.get("op") == "close":
            os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
