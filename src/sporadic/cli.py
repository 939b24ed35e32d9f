"""The ``sporadic`` command: ``run`` a description, ``report`` on a trace."""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import structlog
import trio
from rich.console import Console
from rich.text import Text

from sporadic.description import System
from sporadic.errors import SimulationError, SporadicError
from sporadic.experiments.commands import add_commands as add_experiment_commands
from sporadic.experiments.commands import cmd_generate, cmd_sweep
from sporadic.live.commands import add_commands, add_run_options, cmd_agent, cmd_emit, served_run
from sporadic.live.progress import progress, stopping_on_interrupt
from sporadic.report.commands import (
    add_diff_command,
    add_report_options,
    cmd_diff,
    duration_arg,
    summary_options,
    write_extras,
)
from sporadic.simulation import Simulation, load
from sporadic.traces.columns import ALL, DEFAULT, parse_columns, to_csv
from sporadic.traces.summary import summarise
from sporadic.traces.table import (
    format_ns,
    plain,
    printable,
    quiet_console,
    render_summary,
    shorten,
)
from sporadic.traces.writer import TraceWriter
from sporadic.units import MAX_SEED

log = structlog.get_logger("sporadic")
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
    p.add_argument(
        "--version", action="version", version=f"sporadic {importlib.metadata.version('sporadic')}"
    )
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


def _console(width: int = 100) -> Console:
    """$COLUMNS, else the terminal's width, else ``width`` columns (piped output); never
    highlighting (user text is printed as text, see ``traces/table.py``)."""
    console = quiet_console()
    if os.environ.get("COLUMNS", "").isdigit() or console.is_terminal:
        return console
    return quiet_console(width)


def _print(summary: dict, args: argparse.Namespace, title: Text) -> None:
    if args.json:
        print(json.dumps(summary, indent=2))
    elif args.csv:
        sys.stdout.write(to_csv(summary, ALL))
    else:
        console = _console()
        console.print(title, soft_wrap=True)  # a path is never wrapped mid-name
        if args.wide:
            render_summary(summary, console, ALL, fit_width=False)
        else:
            render_summary(summary, console, args.columns or DEFAULT)


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
    system = load(args.file, args.workload)
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
        _, end = served_run(args, system, trace)
    else:
        with _naming(trace):
            with _header_errors(args.file):  # refused before the trace file is opened
                sim = Simulation(system, trace, args.seed, args.until)
            with stopping_on_interrupt(sim), progress(sim, sys.stderr):
                trio.run(sim.run_async)
        interrupted = sim.interrupted
        end = min(sim.kernel.hw, sim.system.duration) if interrupted else sim.system.duration
    with _naming(trace):
        summary = summarise(trace)
    log.info(
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


@contextlib.contextmanager
def _header_errors(path: Path) -> Iterator[None]:
    """The trace writer's refusals of a header (over the format's size limit, an integer
    msgpack cannot hold) as one line naming the description, for ``check`` and ``run`` alike."""
    try:
        yield
    except (ValueError, OverflowError) as e:
        raise SporadicError(f"{path}: {e}") from None


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """An OS error while working on ``path`` (a directory, a full disk), even one raised in a
    trio task and so inside an exception group, as one line naming the file: its own, else
    ``path``."""
    try:
        yield
    except OSError as e:
        raise SporadicError(f"{e.filename or path}: {e.strerror or e}") from None
    except BaseExceptionGroup as group:
        leaf = _first_leaf(group)
        if isinstance(leaf, OSError):
            raise SporadicError(f"{leaf.filename or path}: {leaf.strerror or leaf}") from None
        raise


def cmd_check(args: argparse.Namespace) -> int:
    from sporadic.analysis.check import analyse  # only `check` pays for its import

    system = load(args.file, args.workload)
    with _header_errors(args.file):  # built as `run` builds it: what the kernel, wasmtime or
        TraceWriter(io.BytesIO(), Simulation(system).header())  # the trace writer refuses, fails
    if args.json:
        from sporadic.analysis.bounds import task_bounds

        doc = system.to_dict()
        doc["analysis"] = {"tasks": task_bounds(system)}
        print(json.dumps(doc, indent=2))
        return 0
    from rich.table import Table

    console = _console(120)
    table = Table(title=Text.assemble(plain(system.name), f": {printable(args.file)} is valid"))
    for col in ("kind", "name", "priority", "budget", "period", "utilisation", "notes"):
        table.add_column(col)
    rows = [("partition", p.name, p.priority, p.sc, "") for p in system.partitions]
    rows += [
        ("pd", p.name, p.priority, p.sc, "passive" if p.passive else "")
        for p in system.protection_domains
    ]
    rows += [("thread", t.name, t.priority, t.sc, "") for t in system.threads]
    total = 0.0
    for kind, name, prio, sc, note in rows:
        if sc is not None and sc.budget != sc.period:
            total += sc.budget / sc.period
        if sc is None:
            table.add_row(kind, plain(name), str(prio), "-", "-", "-", "no SC")
            continue
        rr = " (round robin)" if sc.budget == sc.period else ""
        table.add_row(
            kind,
            plain(name),
            str(prio),
            format_ns(sc.budget),
            format_ns(sc.period) + rr,
            f"{sc.budget / sc.period:.3f}" if not rr else "-",
            note,
        )
    table.add_row("total", "", "", "", "", f"{total:.3f}", "budgeted SCs only", end_section=True)
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
        from sporadic.analysis.bounds import task_bounds

        by_name = {p.name: p for p in system.partitions}
        bounds = task_bounds(system)  # the budget-aware bound, only where it can be proved
        for v in verdicts:
            rel = by_name[v.name].release
            b = bounds.get(v.name, {})
            with_budgets = b.get("bound_with_budgets")
            rta.add_row(
                plain(v.name),
                format_ns(v.wcet) if v.wcet else "-",
                format_ns(rel.period),
                format_ns(rel.deadline),
                format_ns(v.response) if v.response else "misses",
                format_ns(with_budgets) if with_budgets else "unbounded",
                plain(v.note if with_budgets else (b.get("note") or v.note), limit=None),
            )
        console.print(rta)
    for w in (system.microkit or {}).get("warnings", ()):
        console.print(Text.assemble(("warning:", "yellow"), f" {printable(w)}"))
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
    print(
        f"{printable(args.file)}: real kernel and simulator {verdict} over {c.intervals} intervals"
    )
    if not c.agree:
        print(f"first divergence: {printable(c.divergence)}")
    for line in context(result.real, result.simulated, c.index):  # thread names: the file's
        print(printable(line))
    print(f"largest switch difference: {c.worst_switch_ns} ns (tolerance {SWITCH_TOLERANCE_NS} ns)")
    for name, (real, sim) in c.cpu.items():
        print(f"cpu {shorten(name)}: real {real / 1e6:.3f} ms, simulated {sim / 1e6:.3f} ms")
    return 0 if c.agree else 1


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

        with _naming(args.trace):
            result = compare_deploys(args.trace)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            render_deploys(result, _console())
        return 0
    with _naming(args.trace):
        write_extras(args)
        summary = summarise(args.trace, **summary_options(args))
    _print(summary, args, plain(name, "bold", limit=None))
    if args.histogram is not None and not args.json:
        from sporadic.traces.metrics import render_histograms

        for line in render_histograms(summary["histograms"]).splitlines():
            print(printable(line))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(20 if args.verbose else 40),
    )
    try:
        try:
            return _dispatch(args)
        except BaseExceptionGroup as group:  # a trio task's error: the first one says enough
            raise _first_leaf(group) from None
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
    if args.command == "generate":
        return cmd_generate(args)
    if args.command == "sweep":
        return cmd_sweep(args)
    if args.command == "diff":
        return cmd_diff(args, _console())
    return cmd_report(args)


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    """The first exception inside ``group`` (groups nest), re-raised for ``main`` to report."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _error(message: str) -> None:
    """One line on stderr: control characters escaped, and cut at ``MAX_MESSAGE`` characters."""
    text = printable(message)
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    print(f"sporadic: error: {text}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
