"""The command-line options of ``run --listen``, ``emit`` and ``agent``: argparse only, so
building the CLI's parser imports nothing of the live machinery (trio, the server, the client)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EMIT_USAGE = "Usage: sporadic emit [--connect HOST:PORT] [--engine NAME] wasm-file [args...]"


def add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="serve the deploy agent (PORT alone: on loopback; port 0: any free port)",
    )
    run.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="with --listen: simulated seconds per wall second (0: as fast as it goes)",
    )
    run.add_argument("--token-file", type=Path, help="the token clients must give (--listen)")


def add_commands(sub: Any) -> None:
    em = sub.add_parser(
        "emit", help="deploy a WebAssembly module into a running simulation", usage=EMIT_USAGE
    )
    em.add_argument("--connect", metavar="HOST:PORT", help="the server (default $SPORADIC_AGENT)")
    em.add_argument("--token-file", type=Path)
    em.add_argument(
        "--engine", metavar="NAME", help="wasmtime or wasmer (default: the server's engine)"
    )
    em.add_argument("file", type=Path)
    em.add_argument("args", nargs=argparse.REMAINDER)
    ag = sub.add_parser("agent", help="list, start, stop, undeploy, read or watch modules")
    ag.add_argument("--connect", metavar="HOST:PORT", help="the server (default $SPORADIC_AGENT)")
    ag.add_argument("--token-file", type=Path)
    ag.add_argument("action", choices=("list", "start", "stop", "undeploy", "logs", "watch"))
    ag.add_argument("name", nargs="?", help="the module (start, stop, undeploy, logs)")
