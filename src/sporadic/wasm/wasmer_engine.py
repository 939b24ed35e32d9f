"""wasmer, through the maintained ``wasmer-sdk`` package, as a second engine for WASI commands.

wasmer has no fuel: a job's time is measured, the wall time from the request to run it to its
exit, and its simulated cost is that time times ``wasmer_scale``. The job's cap (what it can
still get before its deadline or ``max_job_time``, in simulated ns) becomes the sandbox's
timeout: cap / scale, rounded up to the SDK's whole milliseconds. A run whose measured cost
reaches the cap is a fault at the cap, ``timeout``, whether or not the SDK had to stop it (it
stops it some milliseconds late); lines read after the cap are dropped, as a fuel cap would
have stopped them being written. Each line is stamped with the time it was read.

A session (``WasmerEngine``) is one run's: one worker process (``wasm/wasmer_worker.py``) that
holds the SDK's client, one sandbox per loaded module (no network, no host files), and the
compiled modules, which the SDK keeps in the user's cache. The kernel's thread sends a request
and waits for that one reply. The SDK cannot stop a guest that never calls the host, so after
a run it had to stop, the worker is ended (which stops it) and the next run starts another.
``close`` ends the worker: nothing of the session outlives it.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from sporadic.errors import WasmError
from sporadic.wasm.commands import (
    MEMORY_LIMIT,
    TABLE_LIMIT,
    CommandEngine,
    CommandModule,
    CommandRun,
    load_command,
)
from sporadic.wasm.engine import WasmEngine, read_module, register_interrupt
from sporadic.wasm.wasmer_worker import KILL_GRACE, read_frame, write_frame

TIMED_OUT = "timeout (the job's allowance of measured time ran out)"
INTERRUPTED = "interrupted (the run was stopped)"
REPLY_GRACE = KILL_GRACE + 5.0  # s past a run's timeout before its worker is given up
STOP_WAIT = 2.0  # s for a worker to end when asked, before it is killed
TRAP_PREFIX = "command execution failed: "
# wasmer's trap names -> the wording wasmtime's runs have (wasm/instance.py)
TRAPS = {
    "unreachable": "unreachable executed",
    "out of bounds memory access": "out of bounds memory access",
    "call stack exhausted": "call stack exhausted",
    "integer divide by zero": "integer divide by zero",
    "uninitialized element": "indirect call to null",
    "undefined element": "undefined element: out of bounds table access",
}

_OPEN: set[WasmerEngine] = set()  # sessions not yet closed (closed at exit at the latest)
_CHECKER: WasmEngine | None = None


def _checker() -> WasmEngine:
    """The wasmtime engine that checks modules against the ABI, whatever engine runs them."""
    global _CHECKER
    if _CHECKER is None:
        _CHECKER = WasmEngine()
    return _CHECKER


def command_name(argv0: str) -> str:
    """``argv0`` as a wasmer command name (the guest's argv[0]): the SDK takes only ASCII
    letters, digits and ``-_.+``, so anything else becomes ``_``."""
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", argv0)
    return "main" if name in ("", ".", "..") else name


def trap_message(error: str) -> str:
    """A run's failure as the SDK words it, as the fault message: wasmtime's words for the
    traps both name, else the SDK's first line."""
    first = error.strip().splitlines()[0] if error.strip() else "unknown error"
    trap = first.removeprefix(TRAP_PREFIX).removeprefix("RuntimeError: ")
    return TRAPS.get(trap, trap)


def cache_root() -> tuple[Path, bool]:
    """Where the SDK keeps compiled modules, and whether it is a temporary folder (no user
    cache can be made) that the session removes. Not the SDK's default, ``.wasmer`` in the
    working directory: $SPORADIC_WASMER_CACHE, else $XDG_CACHE_HOME or ~/.cache, then
    sporadic/wasmer."""
    try:
        given = os.environ.get("SPORADIC_WASMER_CACHE")
        if given:
            root = Path(given)
        else:
            base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            root = Path(base) / "sporadic" / "wasmer"
        root.mkdir(parents=True, exist_ok=True)
        return root, False
    except (OSError, RuntimeError):  # RuntimeError: no home folder to be found
        return Path(tempfile.mkdtemp(prefix="sporadic-wasmer-")), True


class _Process:
    """One worker process, and the modules it has loaded."""

    def __init__(self, cache: Path) -> None:
        # its stderr (the SDK's trap reports go there); closed by kill()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115
        command = [sys.executable, "-m", "sporadic.wasm.wasmer_worker", str(cache)]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log
        )
        self.loaded: set[int] = set()

    def call(self, request: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send ``request`` and wait for its reply (at most ``timeout`` s); a worker that
        ended, or did not answer in time, is a WasmError saying so."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            write_frame(self.proc.stdin, request)
        except OSError:
            raise WasmError(self.ended()) from None
        if timeout is not None:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not ready:
                self.kill()
                raise WasmError("wasmer: the worker did not answer in time; it was ended")
        reply = read_frame(self.proc.stdout)
        if reply is None:
            raise WasmError(self.ended())
        return reply

    def ended(self) -> str:
        """Why the worker is gone: the last line it wrote on its stderr."""
        lines: list[str] = []
        with contextlib.suppress(OSError, ValueError):  # ValueError: its log is closed
            self.log.seek(0)
            lines = self.log.read().decode("utf-8", "replace").strip().splitlines()
        self.kill()
        return f"wasmer: the worker ended ({lines[-1] if lines else 'no message'})"

    def stop(self) -> None:
        """Ask the worker to close the SDK's sandboxes and client and end; else end it."""
        if self.proc.poll() is None:
            with contextlib.suppress(WasmError, OSError):
                self.call({"op": "close"}, STOP_WAIT)
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.log.close()


class WasmerEngine(CommandEngine):
    """The wasmer session of one run: load (and compile) commands, run them measured."""

    name = "wasmer"
    timing = "measured"

    def __init__(self, scale: float = 1.0) -> None:
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError("wasmer_scale must be > 0")
        self.scale = scale
        self.cache, self._temporary_cache = cache_root()
        self._modules: list[tuple[bytes, str]] = []  # handle -> (bytes, argv[0] at load)
        self._worker: _Process | None = None
        self.workers = 0  # how many worker processes the session has started
        self.closed = False
        self._interrupted = False
        _OPEN.add(self)

    def _process(self) -> _Process:
        if self._worker is None:
            self._worker = _Process(self.cache)
            self.workers += 1
        return self._worker

    def _ready(self, handle: int) -> _Process:
        """A worker that has module ``handle`` loaded (a new worker loads it again)."""
        worker = self._process()
        if handle not in worker.loaded:
            data, name = self._modules[handle]
            reply = worker.call({"op": "load", "id": handle, "data": data, "name": name})
            if "error" in reply:
                raise WasmError(trap_message(reply["error"]))
            worker.loaded.add(handle)
        return worker

    # -- loading

    def load(
        self,
        path: str | Path,
        data: bytes | None = None,
        memory: int = MEMORY_LIMIT,
        tables: int = TABLE_LIMIT,
    ) -> CommandModule:
        """Check the command (wasmtime's checker: the ABI, limits, its start function), give it
        a sandbox of its own, and compile it now, so that no job's measured time holds the
        compile. ``memory`` bounds its initial memory only: the SDK cannot cap its growth."""
        if self.closed:
            raise WasmError("the wasmer session is closed")
        p = Path(path)
        data = read_module(p) if data is None else data
        loaded = load_command(_checker(), p, data, memory, tables, host_api=False)
        handle = len(self._modules)
        self._modules.append((data, command_name(p.name)))
        try:
            self._ready(handle)
        except WasmError as e:
            raise WasmError(f"{p}: wasmer cannot run it: {e}") from None
        return CommandModule(p, loaded.digest, handle)

    # -- running

    def run(self, module: CommandModule, argv: list[str], cap_ns: int) -> CommandRun:
        """Run ``_start`` once, measured; the cap is ``cap_ns`` of simulated time."""
        if self.closed:
            raise WasmError("the wasmer session is closed")
        if cap_ns <= 0:  # nothing left to run on, as a fuel allowance of 0
            return CommandRun((), 0, None, TIMED_OUT, capped=True, measured_ns=0)
        timeout = math.ceil(cap_ns / self.scale / 1e6) / 1e3  # the SDK counts whole ms
        request = {
            "op": "run",
            "id": module.handle,
            "name": command_name(argv[0]),
            "args": list(argv[1:]),
            "timeout": timeout,
        }
        try:
            reply = self._ready(module.handle).call(request, timeout + REPLY_GRACE)
        except WasmError as e:  # the worker is gone: the run is a fault, the next starts anew
            self._worker = None
            trap = INTERRUPTED if self._interrupted else str(e)
            return CommandRun((), cap_ns, None, trap, capped=False, measured_ns=None)
        if reply["timed_out"] or reply.get("terminated"):
            self._retire()  # its guest may still be running: only ending the process stops it
        return self._verdict(reply, cap_ns)

    def _verdict(self, reply: dict[str, Any], cap_ns: int) -> CommandRun:
        """Measured ns to simulated ns (times ``scale``), and the cap applied exactly."""
        elapsed = reply["elapsed"]
        ns = round(elapsed * self.scale)
        stamped = [(min(round(t * self.scale), ns), text) for t, text in reply["lines"]]
        if reply["timed_out"] or ns > cap_ns:
            kept = tuple((t, text) for t, text in stamped if t <= cap_ns)
            return CommandRun(kept, cap_ns, None, TIMED_OUT, True, elapsed)
        if reply.get("terminated"):
            return CommandRun(tuple(stamped), ns, None, INTERRUPTED, False, elapsed)
        if "error" in reply:
            return CommandRun(
                tuple(stamped), ns, None, trap_message(reply["error"]), False, elapsed
            )
        return CommandRun(tuple(stamped), ns, reply["exit_code"], None, False, elapsed)

    def _retire(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()

    def interrupt(self) -> None:
        """End the worker, and with it the run in flight (a served run that is told to stop);
        safe from another thread or a signal handler."""
        worker = self._worker
        if worker is not None and worker.proc.poll() is None:
            self._interrupted = True
            worker.proc.kill()

    # -- the end of the session

    def close(self) -> None:
        """Close every sandbox and the client, and end the worker process: nothing of the
        session outlives it."""
        if self.closed:
            return
        self.closed = True
        _OPEN.discard(self)
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
        if self._temporary_cache:
            shutil.rmtree(self.cache, ignore_errors=True)


def _interrupt_all() -> None:
    for session in list(_OPEN):
        session.interrupt()


@atexit.register
def _close_all() -> None:
    """A session a failed run left open ends its worker before the interpreter does."""
    for session in list(_OPEN):
        session.close()


register_interrupt(_interrupt_all)

__all__ = ["INTERRUPTED", "TIMED_OUT", "WasmerEngine", "cache_root", "command_name", "trap_message"]
