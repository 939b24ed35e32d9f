"""``sporadic emit`` against a served run, as a user runs it: real processes, real sockets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import trio

from sporadic.traces.deploys import compare_deploys
from sporadic.traces.summary import summarise
from tests.helpers import ROOT
from tests.live.conftest import LiveServer, start_server, stop_server

WASM = ROOT / "examples" / "wasm"


async def emit(server: LiveServer, *argv: str, env: dict[str, str] | None = None) -> tuple:
    """(exit status, stdout, stderr) of ``sporadic emit --connect ADDRESS argv...``."""
    command = [sys.executable, "-m", "sporadic", "emit", "--connect", server.address, *argv]
    with trio.fail_after(60):
        done = await trio.run_process(
            command, capture_stdout=True, capture_stderr=True, check=False, env=env
        )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_emit_runs_nbody_and_hello_with_their_exact_lines_and_exit_status_0(
    live_server: LiveServer,
) -> None:
    assert await emit(live_server, str(WASM / "nbody.wasm"), "10") == (
        0,
        "-0.169075164\n-0.169073022\n",
        "",
    )
    assert await emit(live_server, str(WASM / "hello.wasm")) == (0, "Hello, world!\n", "")


async def test_emit_exits_with_the_modules_exit_status(live_server: LiveServer) -> None:
    assert await emit(live_server, str(WASM / "status.wasm"), "3") == (
        3,
        "status: exiting with 3\n",
        "",
    )


async def test_emit_of_a_reactor_fails_like_the_seeds_agent_with_the_reason(
    live_server: LiveServer,
) -> None:
    assert await emit(live_server, str(WASM / "control.wasm")) == (
        255,
        "",
        "sporadic emit: deploy: control.wasm is a reactor; the runner starts WASI commands "
        "(_start)\n",
    )


def test_a_hot_deploy_over_the_socket_leaves_the_1khz_loop_its_deadlines(tmp_path: Path) -> None:
    """examples/deploy/deploy.toml served for real: the scripted deploy at 100 ms and big.wasm
    (1.4 MB) emitted over the socket; the budgeted runner leaves the loop every deadline in
    both windows."""
    description = (
        (ROOT / "examples" / "deploy" / "deploy.toml")
        .read_text()
        .replace('"../wasm/big.wasm"', repr(str(WASM / "big.wasm")))
        .replace('duration = "300ms"', 'duration = "600s"')
    )
    server = start_server(tmp_path, description=description, speed="1")
    try:
        status, out, err = trio.run(emit, server, str(WASM / "big.wasm"))
        assert (status, out, err) == (0, "1400000 bytes of payload, checksum 6\n", "")
    finally:
        stop_server(server)
    windows = compare_deploys(server.trace)
    assert [w["name"] for w in windows["windows"]] == ["big", "big"]
    control = windows["tasks"]["control"]
    assert control["inside"]["misses"] == 0 and control["outside"]["misses"] == 0
    assert control["inside"]["response"]["max"] == 600_000
    deploys = summarise(server.trace)["deploys"]
    assert [(d["source"], d["size"], d["exit_status"]) for d in deploys] == [
        ("script", 1_418_307, 0),
        ("socket", 1_418_307, 0),
    ]


def test_listening_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    desc = tmp_path / "d.toml"
    desc.write_text('[system]\nduration = "1s"\n[agent]\n')
    done = subprocess.run(
        [sys.executable, "-m", "sporadic", "run", str(desc), "--listen", "0.0.0.0:0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "SPORADIC_TOKEN"},
    )
    assert done.returncode == 2
    assert done.stderr == (
        "sporadic: error: listening on 0.0.0.0 (not loopback) needs a token: --token-file FILE "
        "or SPORADIC_TOKEN\n"
    )


def test_with_a_token_a_client_must_give_it_first(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    server = start_server(
        tmp_path,
        description='[system]\nduration = "600s"\n[agent]\n',
        speed="1",
        options=("--token-file", str(token)),
    )
    try:
        env = {k: v for k, v in os.environ.items() if k != "SPORADIC_TOKEN"}
        hello = str(WASM / "hello.wasm")
        assert trio.run(partial(emit, server, hello, env=env)) == (
            255,
            "",
            "sporadic emit: authenticate first: op 'auth'\n",
        )
        wrong = {**env, "SPORADIC_TOKEN": "guess"}
        assert trio.run(partial(emit, server, hello, env=wrong))[0] == 255
        right = {**env, "SPORADIC_TOKEN": "s3cret"}
        assert trio.run(partial(emit, server, hello, env=right)) == (0, "Hello, world!\n", "")
    finally:
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(10) == 0


async def test_a_subscriber_sees_the_records_of_a_deploy_as_they_happen(
    live_server: LiveServer,
) -> None:
    """``subscribe`` to log and deploy records, then deploy hello: the stream carries the
    module's line and its deploy phases, in order."""
    from sporadic.live.client import Connection

    watcher = await Connection.open(live_server.address)
    await watcher.call("subscribe", kinds=["log", "deploy"])
    await emit(live_server, str(WASM / "hello.wasm"))
    seen: list[tuple] = []
    with trio.fail_after(30):
        while not any(r[0] == 26 and r[3] == "exit" for r in seen):
            msg = await watcher.receive()
            assert msg["event"] == "records" and msg["missed"] == 0
            seen += [tuple(r) for r in msg["records"]]
    await watcher.aclose()
    phases = [r[3] for r in seen if r[0] == 26 and r[3] != "chunk"]
    assert phases == ["request", "uploaded", "instantiate", "start", "exit"]
    assert [r[3] for r in seen if r[0] == 16] == ["Hello, world!"]


async def test_emit_prints_a_modules_escape_sequences_as_text(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """A module that writes ESC[2J (clear screen) gets it printed as the text ``\\x1b[2J``."""
    import wasmtime

    wat = r"""(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "\1b[2Jhi\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 7))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"""
    module = tmp_path / "clear.wasm"
    module.write_bytes(wasmtime.wat2wasm(wat))
    assert await emit(live_server, str(module)) == (0, "\\x1b[2Jhi\n", "")


def test_a_second_server_on_a_taken_port_names_the_address(live_server: LiveServer) -> None:
    desc = live_server.trace.with_name("live.toml")
    done = subprocess.run(
        [sys.executable, "-m", "sporadic", "run", str(desc), "-o", str(desc.with_name("b.trace"))]
        + ["--listen", live_server.address],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (
        2,
        f"sporadic: error: cannot listen on {live_server.address}: Address already in use\n",
    )
