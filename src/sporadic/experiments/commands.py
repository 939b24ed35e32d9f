"""``sporadic generate`` and ``sporadic sweep``: their arguments and what they do.

``add_commands(sub)`` adds both to the CLI's subparsers; ``cmd_generate`` and ``cmd_sweep`` run
them. ``python -m sporadic.experiments`` runs the same two commands on their own.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from sporadic.errors import SporadicError
from sporadic.experiments.generate import DEADLINES, GENERATORS, MIN_BUDGET, generate
from sporadic.units import format_duration

__all__ = ["add_commands", "cmd_generate", "cmd_sweep", "main"]


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The ``generate`` and ``sweep`` subcommands."""
    gen = sub.add_parser("generate", help="print a random task set as a TOML description")
    gen.add_argument("--tasks", "-n", type=int, required=True, help="number of tasks")
    gen.add_argument("--utilisation", "-u", type=float, required=True, help="total, e.g. 0.8")
    gen.add_argument("--generator", choices=GENERATORS, default="uunifast-discard")
    gen.add_argument(
        "--periods", nargs=2, metavar=("MIN", "MAX"), default=["1ms", "100ms"], help="1ms 100ms"
    )
    gen.add_argument("--granularity", help="periods are multiples of it (default 1ms or MIN)")
    gen.add_argument("--harmonic", action="store_true", help="periods MIN x 2^k")
    gen.add_argument("--deadlines", choices=DEADLINES, default="implicit")
    gen.add_argument(
        "--bounds", nargs=2, type=float, metavar=("LO", "HI"), default=[0.0, 1.0],
        help="one task's least and largest utilisation",
    )  # fmt: skip
    gen.add_argument("--budget-margin", type=float, default=1.0, help="budget = WCET x this")
    gen.add_argument(
        "--budget-headroom",
        default=format_duration(MIN_BUDGET),
        help="added to each budget (default MIN_BUDGET: see docs)",
    )
    gen.add_argument(
        "--constant-bandwidth",
        action="store_true",
        help="SCs without the sporadic flag (seL4's default mode)",
    )
    gen.add_argument(
        "--duration", default="hyperperiod", help='a time, "hyperperiod" or "2 hyperperiods"'
    )
    gen.add_argument("--max-duration", default="1s", help="the cap on a hyperperiod-long run")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("-o", "--output", type=Path, help="write the description here")

    sw = sub.add_parser("sweep", help="analyse and simulate many generated task sets")
    sw.add_argument("config", type=Path, help="a TOML file with a [sweep] table")
    sw.add_argument("-o", "--output", type=Path, help="the table: .csv or .parquet")
    sw.add_argument("--workers", type=int, help="local processes (default: one per CPU)")
    sw.add_argument("--scheduler", help="a Dask scheduler address (tcp://host:8786)")
    sw.add_argument("--plot", type=Path, help="draw the acceptance ratios into this PNG")
    sw.add_argument("--json", action="store_true", help="print the acceptance table as JSON")


def cmd_generate(args: argparse.Namespace) -> int:
    try:
        text = generate(
            args.tasks,
            args.utilisation,
            generator=args.generator,
            periods=tuple(args.periods),
            harmonic=args.harmonic,
            deadlines=args.deadlines,
            budget_margin=args.budget_margin,
            granularity=args.granularity,
            seed=args.seed,
            bounds=tuple(args.bounds),
            budget_headroom=args.budget_headroom,
            sporadic=not args.constant_bandwidth,
            duration=args.duration,
            max_duration=args.max_duration,
        )
    except ValueError as e:
        raise SporadicError(f"generate: {e}") from None
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep; exit status 1 when a set contradicts its analysis (a violation)."""
    from rich.console import Console
    from rich.table import Table

    from sporadic.experiments.plot import acceptance, plot_acceptance
    from sporadic.experiments.sweep import run_sweep

    console = Console(stderr=True)
    try:
        progress = None if args.json else console
        rows = run_sweep(args.config, args.output, args.workers, args.scheduler, progress)
    except (ValueError, OSError) as e:
        raise SporadicError(f"{args.config}: {e}") from None
    table = acceptance(rows)
    if args.plot is not None:
        sets = max(p["sets"] for p in table)
        title = f"{args.config.name}: {sets} sets per point, {len(rows)} in all"
        plot_acceptance(rows, args.plot, title=title)
    violations = sum(p["violations"] for p in table)
    if args.json:
        print(json.dumps({"acceptance": table, "violations": violations}, indent=2))
    else:
        out = Table(title=f"{args.config.name}: {len(rows)} task sets")
        for col in ("tasks", "utilisation", "sets", "RTA", "simulation", "violations"):
            out.add_column(col, justify="right")
        for p in table:
            out.add_row(
                str(p["tasks"]),
                f"{p['utilisation']:g}",
                str(p["sets"]),
                f"{p['analysis']:.2f}",
                f"{p['simulation']:.2f}",
                str(p["violations"]),
            )
        Console().print(out)
        if args.output is not None:
            print(f"table written to {args.output}")
        if violations:
            where = f"in {args.output.parent / 'violations'}" if args.output else "not kept (no -o)"
            print(f"{violations} violations: their descriptions {where}")
    return 1 if violations else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sporadic.experiments generate|sweep ...``"""
    parser = argparse.ArgumentParser(prog="python -m sporadic.experiments")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return cmd_generate(args) if args.command == "generate" else cmd_sweep(args)
    except SporadicError as e:
        print(f"sporadic: error: {e}", file=sys.stderr)
        return 2
