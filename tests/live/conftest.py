"""A real ``sporadic run FILE --listen 127.0.0.1:0`` in a subprocess, for the live tests.

``live_server`` starts one per test and yields a ``LiveServer`` (its address, its output so far).
On teardown it sends SIGINT and checks that the run ended as a run ends: exit status 0, the
summary on stdout, and no traceback on stderr. Parametrize it indirectly with a dict to add
``[agent]`` settings to the description, e.g.
``@pytest.mark.parametrize("live_server", [{"max_module_size": '"64KiB"'}], indirect=True)``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

# Unpaced: the simulation runs as fast as it can. Measured on 2 cores: a 600 s run then ends by
# itself after about 17 s of wall time, and no test here keeps its server for more than 4 s
# (the fuzz takes 0.3 s). Should a test need longer, "20" makes the run last 30 s of wall time.
SPEED = "0"
START_TIMEOUT = 20.0  # s until "listening on"
STOP_TIMEOUT = 10.0  # s from SIGINT to the exit

DESCRIPTION = """\
[system]
duration = "600s"
[[partition]]
name = "control"
priority = 100
budget = "200us"
period = "1ms"
release = {{ period = "1ms" }}
job = {{ compute = "150us" }}
[agent]
runner_budget = "2ms"
runner_period = "10ms"
max_modules = 64
{extra}"""


@dataclass
class LiveServer:
    """One served run: ``address`` is ``HOST:PORT``; the output lists fill as it comes."""

    process: subprocess.Popen[str]
    trace: Path
    host: str = ""
    port: int = 0
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stderr_text(self) -> str:
        return "".join(self.stderr)


def _pump(stream: IO[str], into: list[str], listening: threading.Event | None) -> None:
    """Read ``stream`` to its end, line by line; set ``listening`` at the 'listening on' line."""
    for line in stream:
        into.append(line)
        if listening is not None and line.startswith("listening on "):
            listening.set()


def start_server(
    directory: Path,
    agent: dict[str, str] | None = None,
    *,
    description: str | None = None,
    speed: str = SPEED,
    options: tuple[str, ...] = (),
) -> LiveServer:
    """Start a served run in ``directory`` and return once it accepts connections: of
    DESCRIPTION plus ``agent`` lines in its ``[agent]``, or of the TOML text ``description``."""
    if description is None:
        extra = "".join(f"{key} = {value}\n" for key, value in (agent or {}).items())
        description = DESCRIPTION.format(extra=extra)
    desc = directory / "live.toml"
    desc.write_text(description)
    trace = directory / "live.trace"
    command = [sys.executable, "-m", "sporadic", "run", str(desc), "-o", str(trace)]
    command += ["--listen", "127.0.0.1:0", "--speed", speed, *options]
    process = subprocess.Popen(
        command,
        cwd=directory,
        env={k: v for k, v in os.environ.items() if k != "SPORADIC_TOKEN"},  # loopback: no token
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    server = LiveServer(process, trace)
    listening = threading.Event()
    server.readers = [
        threading.Thread(target=_pump, args=(stream, into, event), daemon=True)
        for stream, into, event in (
            (process.stdout, server.stdout, None),
            (process.stderr, server.stderr, listening),
        )
    ]
    for reader in server.readers:
        reader.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not listening.wait(0.05):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            for reader in server.readers:
                reader.join(1)
            pytest.fail(
                f"the server did not print 'listening on' within {START_TIMEOUT:g} s "
                f"(exit status {process.returncode}); stderr:\n{server.stderr_text()}"
            )
    line = next(s for s in server.stderr if s.startswith("listening on "))
    host, _, port = line.split()[-1].rpartition(":")
    server.host, server.port = host, int(port)
    return server


def stop_server(server: LiveServer) -> None:
    """SIGINT, then check the run ended cleanly with its summary."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(
            f"the server did not exit within {STOP_TIMEOUT:g} s of SIGINT; "
            f"stderr:\n{server.stderr_text()}"
        )
    finally:
        for reader in server.readers:
            reader.join(5)
    out, err = "".join(server.stdout), server.stderr_text()
    assert process.returncode == 0, f"exit status {process.returncode}; stderr:\n{err}"
    assert "trace written to" in out, f"no summary on stdout:\n{out}\nstderr:\n{err}"
    assert "Traceback" not in err, err


@pytest.fixture
def live_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A served run for one test; ``request.param`` (indirect) adds ``[agent]`` settings."""
    server = start_server(tmp_path, getattr(request, "param", None))
    try:
        yield server
    finally:
        stop_server(server)
