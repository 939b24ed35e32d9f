"""The ``sporadic`` command: ``run`` a description, ``report`` on a trace."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import structlog
from rich.console import Console

from sporadic.errors import SimulationError, SporadicError
from sporadic.live.commands import add_commands, add_run_options, cmd_agent, cmd_emit, served_run
from sporadic.simulation import load, simulate
from sporadic.traces.summary import summarise
from sporadic.traces.table import render_summary
from sporadic.units import format_duration, parse_duration

log = structlog.get_logger("sporadic")


def _duration_arg(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sporadic",
        description="Simulate seL4 MCS systems and analyse their traces.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="simulate a description, write a trace, print a summary")
    run.add_argument("file", type=Path, help="a description (.toml) or a Microkit .system file")
    run.add_argument(
        "--workload", type=Path, help="side file for a .system (default X.workload.toml)"
    )
    run.add_argument("--until", type=_duration_arg, help="simulated time, e.g. 2s (overrides)")
    run.add_argument("--seed", type=int, help="random seed (overrides the description's)")
    run.add_argument("-o", "--output", type=Path, help="trace file (default: FILE.trace)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_run_options(run)

    chk = sub.add_parser("check", help="validate a description or .system file and summarise it")
    chk.add_argument("file", type=Path)
    chk.add_argument(
        "--workload", type=Path, help="side file for a .system (default X.workload.toml)"
    )
    chk.add_argument("--json", action="store_true", help="print the resolved system as JSON")

    val = sub.add_parser(
        "validate", help="run a description on the real seL4 kernel under qemu and compare"
    )
    val.add_argument("file", type=Path, help="a description of [[thread]]s (docs/validation.md)")
    val.add_argument(
        "--sel4-src",
        help="seL4 sources: a tree or a .tgz (default: $SPORADIC_SEL4_SRC)",
    )
    val.add_argument("--json", action="store_true", help="print the comparison as JSON")

    add_commands(sub)

    rep = sub.add_parser("report", help="print the per-task summary of a trace")
    rep.add_argument("trace", type=Path)
    rep.add_argument("--json", action="store_true", help="print the summary as JSON")
    rep.add_argument(
        "--deploys",
        action="store_true",
        help="each task's latency and response inside and outside the deploy windows",
    )
    return p


def _console() -> Console:
    """The terminal's width, or 160 columns when the output is not a terminal."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def _print(summary: dict, as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        console = _console()
        console.print(f"[bold]{title}[/bold]")
        render_summary(summary, console)


def cmd_run(args: argparse.Namespace) -> int:
    system = load(args.file, args.workload)
    trace = args.output or args.file.with_suffix(".trace")
    started = time.process_time()
    if args.listen:
        _, end = served_run(args, system, trace)
    else:
        end = simulate(system, trace, until=args.until, seed=args.seed).system.duration
    log.info(
        "simulated",
        system=system.name,
        simulated_ns=end,
        cpu_s=round(time.process_time() - started, 3),
        trace=str(trace),
    )
    _print(summarise(trace), args.json, f"{system.name}: trace written to {trace}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from sporadic.analysis.check import analyse  # only `check` pays for its import

    system = load(args.file, args.workload)
    if args.json:
        print(json.dumps(system.to_dict(), indent=2))
        return 0
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    table = Table(title=f"{system.name}: {args.file} is valid")
    for col in ("kind", "name", "priority", "budget", "period", "utilisation", "notes"):
        table.add_column(col)
    rows = [("partition", p.name, p.priority, p.sc, "") for p in system.partitions]
    rows += [
        ("pd", p.name, p.priority, p.sc, "passive" if p.passive else "")
        for p in system.protection_domains
    ]
    rows += [("thread", t.name, t.priority, t.sc, "") for t in system.threads]
    for kind, name, prio, sc, note in rows:
        if sc is None:
            table.add_row(kind, name, str(prio), "-", "-", "-", "no SC")
            continue
        rr = " (round robin)" if sc.budget == sc.period else ""
        table.add_row(
            kind,
            name,
            str(prio),
            format_duration(sc.budget),
            format_duration(sc.period) + rr,
            f"{sc.budget / sc.period:.3f}" if not rr else "-",
            note,
        )
    console.print(table)
    verdicts = analyse(system)
    if verdicts:
        rta = Table(title="response-time analysis (fixed priorities, synchronous release)")
        for col in (
            "partition",
            "WCET",
            "period",
            "deadline",
            "R (classic)",
            "R (budgets)",
            "notes",
        ):
            rta.add_column(col)
        by_name = {p.name: p for p in system.partitions}
        for v in verdicts:
            rel = by_name[v.name].release
            rta.add_row(
                v.name,
                format_duration(v.wcet) if v.wcet else "-",
                format_duration(rel.period),
                format_duration(rel.deadline),
                format_duration(v.response) if v.response else "misses",
                format_duration(v.with_budgets) if v.with_budgets else "misses",
                v.note,
            )
        console.print(rta)
    for w in (system.microkit or {}).get("warnings", ()):
        console.print(f"[yellow]warning:[/yellow] {w}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """0 when the real kernel and the simulator agree, 1 when they do not, 2 when it cannot run."""
    from sporadic.validation import validate  # only `validate` pays for its import
    from sporadic.validation.compare import context
    from sporadic.validation.timeline import SWITCH_TOLERANCE_NS

    result = validate(load(args.file), args.sel4_src)
    c = result.comparison
    if args.json:
        print(json.dumps(c.to_dict(), indent=2))
        return 0 if c.agree else 1
    verdict = "agree" if c.agree else "DIVERGE"
    print(f"{args.file}: real kernel and simulator {verdict} over {c.intervals} intervals")
    if not c.agree:
        print(f"first divergence: {c.divergence}")
    print("\n".join(context(result.real, result.simulated, c.index)))
    print(f"largest switch difference: {c.worst_switch_ns} ns (tolerance {SWITCH_TOLERANCE_NS} ns)")
    for name, (real, sim) in c.cpu.items():
        print(f"cpu {name}: real {real / 1e6:.3f} ms, simulated {sim / 1e6:.3f} ms")
    return 0 if c.agree else 1


def cmd_report(args: argparse.Namespace) -> int:
    if args.deploys:
        from sporadic.traces.deploys import compare_deploys
        from sporadic.traces.table import render_deploys

        result = compare_deploys(args.trace)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            render_deploys(result, _console())
        return 0
    _print(summarise(args.trace), args.json, f"{args.trace}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(20 if args.verbose else 40),
    )
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "check":
            return cmd_check(args)
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "emit":
            return cmd_emit(args)
        if args.command == "agent":
            return cmd_agent(args)
        return cmd_report(args)
    except SimulationError as e:
        print(f"sporadic: error: {e}", file=sys.stderr)
        print("sporadic: the trace holds everything up to that point (truncated)", file=sys.stderr)
        return 2
    except SporadicError as e:
        print(f"sporadic: error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"sporadic: error: {e.filename}: no such file", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader (`| head`) left early: nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
