"""The live side of the ``sporadic`` command: ``run --listen``, ``emit`` and ``agent ...``.

Its options are in ``live/options.py``, which the CLI reads without importing trio.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any

import trio

from sporadic.errors import SporadicError
from sporadic.live import client
from sporadic.live.run import LiveRun, is_loopback, parse_address, read_token, with_agent
from sporadic.simulation import Simulation
from sporadic.traces.table import plain, printable, quiet_console
from sporadic.units import format_duration


def served_run(args: argparse.Namespace, system: Any, trace: Path) -> tuple[Simulation, int]:
    """Run ``system`` with the agent's server on ``args.listen``; (simulation, end time)."""
    host, port = parse_address(args.listen)
    token = read_token(args.token_file, dict(os.environ))
    if token is None and not is_loopback(host):
        raise SporadicError(
            f"listening on {host} (not loopback) needs a token: --token-file FILE or SPORADIC_TOKEN"
        )
    if args.speed < 0:
        raise SporadicError(f"--speed must be >= 0, got {args.speed}")
    sim = Simulation(with_agent(system), trace, args.seed, args.until)
    live = LiveRun(sim, args.speed, token)
    end = trio.run(live.serve, host, port)
    return sim, end


def _address(args: argparse.Namespace) -> str:
    address = args.connect or os.environ.get("SPORADIC_AGENT")
    if not address:
        raise SporadicError("no server: give --connect HOST:PORT or set SPORADIC_AGENT")
    return address


def cmd_emit(args: argparse.Namespace) -> int:
    """The module's exit status; 255 (the seed's -1) when the deploy itself failed."""
    token = read_token(args.token_file, dict(os.environ))
    try:
        return trio.run(client.emit, _address(args), args.file, list(args.args), token, args.engine)
    except SporadicError as e:
        print(f"sporadic emit: {e}", file=sys.stderr)
        return client.FAILED


def cmd_agent(args: argparse.Namespace) -> int:
    token = read_token(args.token_file, dict(os.environ))
    address = _address(args)
    if args.action == "watch":
        return trio.run(_watch, address, token)
    fields: dict[str, Any] = {}
    if args.action != "list":
        if not args.name:
            raise SporadicError(f"agent {args.action}: which module? (give its name)")
        fields["name"] = args.name
    reply = trio.run(partial(client.request, address, token, args.action, **fields))
    if args.action == "list":
        _print_modules(reply["modules"])
    elif args.action == "logs":  # a module's output, as text: its escapes are shown, not obeyed
        for t, line in reply["lines"]:
            print(f"{t / 1e9:14.6f}s  {printable(line)}")
    else:
        print(f"{printable(args.name)}: {args.action} at {format_duration(reply['t'])}")
    return 0


def _print_modules(modules: list[dict[str, Any]]) -> None:
    """The server's modules as a table; every cell is text (a module's name is the deployer's
    choice: no markup, no escape sequences, no 100k-character columns)."""
    from rich.table import Table

    table = Table(title=f"{len(modules)} module(s)")
    for col in ("name", "state", "exit", "priority", "budget", "period", "size", "sha256"):
        table.add_column(col)
    for m in modules:
        table.add_row(
            plain(m["name"]),
            plain(m["state"]),
            "-" if m["exit_status"] is None else plain(m["exit_status"]),
            plain(m["priority"]),
            format_duration(m["budget"]),
            format_duration(m["period"]),
            plain(m["size"]),
            plain(str(m["sha256"])[:12]),
        )
    quiet_console().print(table)


async def _watch(address: str, token: str | None) -> int:
    """A live table of per-task latency and misses, from the subscribed record stream."""
    from rich.live import Live

    from sporadic.live.watch import Watch

    status = await client.request(address, token, "status")
    watch = Watch(status.get("threads", {}))
    kinds = ["job_release", "job_start", "job_end", "deadline_miss", "thread_new"]
    with Live(watch.table(), refresh_per_second=4) as live:
        try:
            async for batch, missed in client.records(address, token, kinds):
                watch.add(batch, missed)
                live.update(watch.table())
        except SporadicError:
            pass  # the run ended: the last table stays on the screen
    return 0


__all__ = ["cmd_agent", "cmd_emit", "served_run"]
