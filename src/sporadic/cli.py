"""The ``sporadic`` command: ``run`` a description, ``report`` on a trace.

Building the parser imports argparse-level modules only; each command imports what it uses when
it runs (numpy, rich, trio, wasmtime, matplotlib), so ``sporadic --version`` starts at once and a
plain ``run`` never loads the live server or the experiments.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sporadic.commands.common import console_for, first_leaf, header_errors, naming
from sporadic.errors import SimulationError, SporadicError
from sporadic.experiments.commands import add_commands as add_experiment_commands
from sporadic.live.options import add_commands, add_run_options
from sporadic.report.commands import (
    add_diff_command,
    add_report_options,
    duration_arg,
    summary_options,
    write_extras,
)
from sporadic.traces.columns import ALL, DEFAULT, parse_columns, to_csv
from sporadic.traces.text import format_ns, printable, shorten
from sporadic.units import MAX_SEED
from sporadic.version import __version__

if TYPE_CHECKING:
    from rich.text import Text

    from sporadic.description import System

MAX_MESSAGE = 4096  # characters of an error message: one readable line, whatever a file held


def _seed_arg(text: str) -> int:
    """A seed numpy's generators take and a trace's header holds: 0..2^63-1."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= seed <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{seed} is outside 0..{MAX_SEED}")
    return seed


def _columns_arg(text: str) -> tuple[str, ...]:
    try:
        return parse_columns(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _table_options(parser: argparse.ArgumentParser) -> None:
    """How the per-task table is printed, for ``run`` and ``report`` alike."""
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print the summary as JSON")
    shown.add_argument("--csv", action="store_true", help="print every column as CSV (ns)")
    shown.add_argument("--wide", action="store_true", help="every column, however wide")
    shown.add_argument(
        "--columns",
        type=_columns_arg,
        metavar="LIST",
        help="the columns to show, e.g. task,jobs,misses,lat-p99 (default: "
        + ",".join(c.replace(" ", "-") for c in DEFAULT)
        + ")",
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sporadic",
        description="Simulate seL4 MCS systems and analyse their traces.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    p.add_argument("--version", action="version", version=f"sporadic {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="simulate a description, write a trace, print a summary")
    run.add_argument("file", type=Path, help="a description (.toml) or a Microkit .system file")
    run.add_argument(
        "--workload", type=Path, help="side file for a .system (default X.workload.toml)"
    )
    run.add_argument("--until", type=duration_arg, help="simulated time, e.g. 2s (overrides)")
    run.add_argument("--seed", type=_seed_arg, help="random seed (overrides the description's)")
    run.add_argument("-o", "--output", type=Path, help="trace file (default: FILE.trace)")
    run.add_argument(
        "--engine",
        metavar="NAME",
        help="wasmtime or wasmer for every WASI command job (overrides [cpu] engine and each "
        "job's; reactors run on wasmtime)",
    )
    run.add_argument(
        "--fail-on-miss",
        nargs="*",
        metavar="TASK",
        help="exit 1 if any task (or one of the TASKs) missed a deadline",
    )
    _table_options(run)
    add_run_options(run)

    chk = sub.add_parser("check", help="validate a description or .system file and summarise it")
    chk.add_argument("file", type=Path)
    chk.add_argument(
        "--workload", type=Path, help="side file for a .system (default X.workload.toml)"
    )
    chk.add_argument("--json", action="store_true", help="print the resolved system as JSON")
    chk.add_argument(
        "--engines",
        action="store_true",
        help="run each WASI command job once on every installed engine and compare them",
    )

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
    add_experiment_commands(sub)
    add_diff_command(sub)

    rep = sub.add_parser("report", help="print the per-task summary of a trace")
    rep.add_argument("trace", type=Path, help="a trace file, or - to read one from stdin")
    _table_options(rep)
    rep.add_argument(
        "--deploys",
        action="store_true",
        help="each task's latency and response inside and outside the deploy windows",
    )
    add_report_options(rep)
    return p


def _print(summary: dict, args: argparse.Namespace, title: Text) -> None:
    from sporadic.traces.table import render_summary

    if args.json:
        print(json.dumps(summary, indent=2))
    elif args.csv:
        sys.stdout.write(to_csv(summary, ALL))
    else:
        console = console_for()
        console.print(title, soft_wrap=True)  # a path is never wrapped mid-name
        if args.wide:
            render_summary(summary, console, ALL, fit_width=False)
        else:
            render_summary(summary, console, args.columns or DEFAULT)


def _shows_windows(args: argparse.Namespace) -> bool:
    """Whether the output shows a task's ``cpu_window`` or the ``scs`` (numpy computes them)."""
    return args.json or any(column.startswith("cpu win") for column in args.columns or ())


def _inputs(args: argparse.Namespace, system: System) -> list[Path]:
    """Every file a run reads: the description, a .system's side file, the token file and the
    wasm modules the description names."""
    paths = [args.file]
    if args.workload is not None:
        paths.append(args.workload)
    elif args.file.suffix == ".system":  # the side file load() read, if there was one
        side = args.file.with_name(args.file.stem + ".workload.toml")
        paths += [side] if side.exists() else []
    if getattr(args, "token_file", None) is not None:
        paths.append(args.token_file)
    specs = [p.wasm for p in (*system.partitions, *system.protection_domains)]
    paths += [Path(s.path) for s in specs if s is not None]
    paths += [Path(d.wasm) for d in system.deploys]
    return paths


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: by inode when both exist (hard links, symlinks),
    else by their resolved paths."""
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def refuse_overwrite(trace: Path, inputs: list[Path]) -> None:
    """Raise if writing ``trace`` would replace one of ``inputs``: a run must never destroy the
    description it was given (``-o small.toml``, or a description named ``x.trace``)."""
    for path in inputs:
        if _same_file(trace, path):
            raise SporadicError(f"{path}: the trace would overwrite an input; give -o another path")


def cmd_run(args: argparse.Namespace) -> int:
    from rich.text import Text

    from sporadic.live.progress import progress, stopping_on_interrupt
    from sporadic.simulation import Simulation, load
    from sporadic.traces.summary import summarise
    from sporadic.traces.table import plain

    system = load(args.file, args.workload)
    if args.engine is not None:
        from sporadic.description.engines import with_engine

        system = with_engine(system, args.engine)
    side = args.file.with_name(args.file.stem + ".workload.toml")
    if args.file.suffix == ".system" and args.workload is None and not side.exists():
        print(f"note: no {printable(side.name)} beside it: every PD is idle", file=sys.stderr)
    trace = args.output or args.file.with_suffix(".trace")
    refuse_overwrite(trace, _inputs(args, system))
    if not trace.parent.exists():  # (a file there: the OS error says so)
        raise SporadicError(f"{printable(trace.parent)}: no such directory")
    started = time.process_time()
    interrupted = False
    if args.listen:  # its socket's errors are its own (an address in use is not the trace's)
        from sporadic.live.commands import served_run

        _, end = served_run(args, system, trace)
    else:
        with naming(trace):
            with header_errors(args.file):  # refused before the trace file is opened
                sim = Simulation(system, trace, args.seed, args.until)
            with stopping_on_interrupt(sim), progress(sim, sys.stderr):
                sim.run()
        interrupted = sim.interrupted
        end = min(sim.kernel.hw, sim.system.duration) if interrupted else sim.system.duration
    with naming(trace):
        summary = summarise(trace, windows=_shows_windows(args))
    if args.verbose:
        import structlog

        structlog.get_logger("sporadic").info(
            "simulated",
            system=shorten(system.name),
            simulated_ns=end,
            cpu_s=round(time.process_time() - started, 3),
            trace=printable(trace),
        )
    title = Text.assemble(
        plain(system.name, "bold"), (f": trace written to {printable(trace)}", "bold")
    )
    _print(summary, args, title)
    if interrupted:
        print(
            f"sporadic: interrupted at {format_ns(end)}: the trace is complete up to then",
            file=sys.stderr,
        )
        return 130
    return _missed(summary, args.fail_on_miss)


def _missed(summary: dict, wanted: list[str] | None) -> int:
    """``--fail-on-miss``: 1 when any task (or one of ``wanted``) missed a deadline."""
    if wanted is None:
        return 0
    unknown = [name for name in wanted if name not in summary["tasks"]]
    if unknown:
        raise SporadicError(f"--fail-on-miss: no task named {', '.join(map(shorten, unknown))}")
    names = wanted or list(summary["tasks"])
    missed = [(n, summary["tasks"][n]["misses"]) for n in names if summary["tasks"][n]["misses"]]
    if not missed:
        return 0
    listed = ", ".join(f"{shorten(n)} ({count})" for n, count in missed)
    print(f"sporadic: deadline misses: {listed}", file=sys.stderr)
    return 1


def cmd_report(args: argparse.Namespace) -> int:
    if str(args.trace) == "-":  # a trace piped in: the reader wants a file it can reopen
        with tempfile.TemporaryDirectory() as tmp:
            args.trace = Path(tmp) / "stdin.trace"
            with args.trace.open("wb") as file:
                shutil.copyfileobj(sys.stdin.buffer, file)
            return _report(args, "<stdin>")
    return _report(args, args.trace)


def _report(args: argparse.Namespace, name: object) -> int:
    if args.deploys:
        from sporadic.traces.deploys import compare_deploys
        from sporadic.traces.table import render_deploys

        with naming(args.trace):
            result = compare_deploys(args.trace)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            render_deploys(result, console_for())
        return 0
    from sporadic.traces.summary import summarise
    from sporadic.traces.table import plain

    with naming(args.trace):
        write_extras(args)
        summary = summarise(args.trace, windows=_shows_windows(args), **summary_options(args))
    _print(summary, args, plain(name, "bold", limit=None))
    if args.histogram is not None and not args.json:
        from sporadic.traces.metrics import render_histograms

        for line in render_histograms(summary["histograms"]).splitlines():
            print(printable(line))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.verbose:  # structlog only when there is something to log
        import structlog

        structlog.configure(
            logger_factory=structlog.PrintLoggerFactory(sys.stderr),
            wrapper_class=structlog.make_filtering_bound_logger(20),
        )
    try:
        try:
            return _dispatch(args)
        except BaseExceptionGroup as group:  # a trio task's error: the first one says enough
            raise first_leaf(group) from None
    except SimulationError as e:
        _error(str(e))
        print("sporadic: the trace holds everything up to that point (truncated)", file=sys.stderr)
        return 2
    except SporadicError as e:
        _error(str(e))
        return 2
    except FileNotFoundError as e:
        _error(f"{e.filename}: no such file")
        return 2
    except BrokenPipeError:  # the reader (`| head`) left early: nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as e:  # a path the command line named: a directory, a full disk, ...
        _error(f"{e.filename}: {e.strerror or e}" if e.filename else str(e.strerror or e))
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    """The command's function, imported when it is the one to run."""
    if args.command in ("emit", "agent"):
        from sporadic.live.commands import cmd_agent, cmd_emit

        return cmd_emit(args) if args.command == "emit" else cmd_agent(args)
    if args.command in ("generate", "sweep"):
        from sporadic.experiments.commands import cmd_generate, cmd_sweep

        return cmd_generate(args) if args.command == "generate" else cmd_sweep(args)
    if args.command == "diff":
        from sporadic.report.commands import cmd_diff

        return cmd_diff(args, console_for())
    if args.command == "run":
        return cmd_run(args)
    if args.command in ("check", "validate"):
        from sporadic.commands.check import cmd_check, cmd_validate

        return cmd_check(args) if args.command == "check" else cmd_validate(args)
    return cmd_report(args)


def _error(message: str) -> None:
    """One line on stderr: control characters escaped, and cut at ``MAX_MESSAGE`` characters."""
    text = printable(message)
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    print(f"sporadic: error: {text}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
