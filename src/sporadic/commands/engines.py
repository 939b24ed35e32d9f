"""``sporadic check FILE --engines``: every WASI command job of a description once on each
installed engine, and any difference in output or exit status (``system/crosscheck.py``).

Exit status 0 when the engines agree on every job, 1 when one differs, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sporadic.commands.common import console_for
from sporadic.system.crosscheck import EngineCheck, JobCheck, check_engines
from sporadic.traces.text import format_ns, printable, shorten


def cmd_check_engines(args: argparse.Namespace) -> int:
    """0 when the engines agree on every job, 1 when one differs (errors: 2, from ``main``)."""
    from sporadic.simulation import load

    result = check_engines(load(args.file, args.workload))
    if args.json:
        print(json.dumps(as_dict(result), indent=2))
    else:
        _render(result, args)
    return 1 if result.differing else 0


def as_dict(result: EngineCheck) -> dict[str, Any]:
    """The comparison as JSON: each job's runs by engine (lines with their ns), differences."""
    return {
        "engines": result.engines,
        "missing": result.missing,
        "jobs": [
            {
                "name": check.job.name,
                "kind": check.job.kind,
                "argv": list(check.job.argv),
                "skipped": check.skipped,
                "errors": check.errors,
                "runs": {
                    engine: {
                        "status": run.status,
                        "exit_code": run.exit_code,
                        "trap": run.trap,
                        "capped": run.capped,
                        "ns": run.ns,
                        "measured_ns": run.measured_ns,
                        "lines": [{"t": t, "line": text} for t, text in run.lines],
                    }
                    for engine, run in check.runs.items()
                },
                "differences": check.differences(),
            }
            for check in result.jobs
        ],
        "differing": len(result.differing),
    }


def _render(result: EngineCheck, args: argparse.Namespace) -> None:
    from rich.table import Table
    from rich.text import Text

    console = console_for(120)
    for engine, why in result.missing.items():
        print(f"note: {engine} is not checked: {why}", file=sys.stderr)
    title = (
        f"{printable(args.file)}: {len(result.jobs)} WASI command job(s) on "
        f"{', '.join(result.engines)}"
    )
    table = Table(title=title)
    for column in ("job", "engine", "status", "lines", "time"):
        table.add_column(column)
    for check in result.jobs:
        for row in _rows(check):
            table.add_row(*(Text(cell) for cell in row))
    console.print(table)
    for check in result.jobs:
        name = shorten(check.job.name)
        if check.skipped is not None:
            print(f"{name}: skipped: {printable(check.skipped)}")
            continue
        differences = check.differences()
        if differences:
            print(f"{name}: DIFFERS")
            for line in differences:
                print(f"  {shorten(line, 300)}")
        elif len(check.runs) > 1:
            run = next(iter(check.runs.values()))
            lines = f"{len(run.lines)} line{'' if len(run.lines) == 1 else 's'}"
            print(
                f"{name}: same output ({lines}) and status ({shorten(run.status, 60)}) on "
                f"{' and '.join(check.runs)}"
            )
        else:
            print(f"{name}: one engine only: nothing to compare")


def _rows(check: JobCheck) -> list[list[str]]:
    name = shorten(check.job.name)
    if check.skipped is not None:
        return [[name, "-", "skipped", "-", "-"]]
    rows = []
    for engine, run in check.runs.items():
        how = "fuel" if run.measured_ns is None else "measured"
        rows.append(
            [
                name,
                engine,
                shorten(run.status, 60),
                str(len(run.lines)),
                f"{format_ns(run.ns)} ({how})",
            ]
        )
    rows += [[name, engine, "cannot run", "-", "-"] for engine in check.errors]
    return rows


__all__ = ["as_dict", "cmd_check_engines"]
