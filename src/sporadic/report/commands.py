"""The report side of the ``sporadic`` command: ``report``'s pictures, page, Perfetto trace,
histograms and filters, and ``diff``. Heavy imports (matplotlib, protobuf) wait for their flag."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sporadic.errors import SporadicError
from sporadic.traces.text import printable
from sporadic.units import parse_duration


def duration_arg(text: str) -> int:
    """A duration on the command line ("10us"), as argparse wants its type errors."""
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _window(text: str) -> tuple[int, int]:
    start, sep, end = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not START:END (e.g. 1s:2s)")
    first, last = duration_arg(start), duration_arg(end)
    if last <= first:
        raise argparse.ArgumentTypeError(f"{text!r}: the end is not after the start")
    return first, last


def add_report_options(rep: argparse.ArgumentParser) -> None:
    rep.add_argument(
        "--histogram",
        type=duration_arg,
        metavar="WIDTH",
        help="latency/response histograms, e.g. 10us",
    )
    rep.add_argument(
        "--histogram-max", type=int, default=100, metavar="N", help="buckets (default 100)"
    )
    rep.add_argument(
        "--window", type=_window, metavar="START:END", help="only jobs released in [START, END)"
    )
    rep.add_argument("--task", action="append", metavar="NAME", help="only this task (repeat)")
    rep.add_argument("--gantt", type=Path, metavar="FILE.png", help="who ran when (first 100ms)")
    rep.add_argument("--from", dest="start", type=duration_arg, metavar="TIME", help="Gantt start")
    rep.add_argument("--to", dest="end", type=duration_arg, metavar="TIME", help="Gantt end")
    rep.add_argument("--plot", type=Path, metavar="FILE.png", help="latency/response histograms")
    rep.add_argument("--html", type=Path, metavar="FILE.html", help="one self-contained page")
    rep.add_argument("--perfetto", type=Path, metavar="FILE.pftrace", help="a Perfetto trace")


def summary_options(args: argparse.Namespace) -> dict[str, Any]:
    """``summarise``'s keyword arguments from ``report``'s flags."""
    if args.histogram_max < 1:
        raise SporadicError(f"--histogram-max must be at least 1, got {args.histogram_max}")
    return {
        "histogram_ns": args.histogram,
        "histogram_max": args.histogram_max,
        "window": args.window,
        "tasks": set(args.task) if args.task else None,
    }


def write_extras(args: argparse.Namespace) -> None:
    """The files ``report`` was asked for besides its table, each named on stderr."""
    written: list[str] = []
    if args.gantt or args.plot or args.html or args.perfetto:
        for out in (args.gantt, args.plot, args.html, args.perfetto):
            if out is not None and out.exists() and out.resolve() == args.trace.resolve():
                raise SporadicError(f"{out}: that is the trace; give another file")
    if args.gantt or args.plot or args.html:
        try:
            from sporadic.report.html import html_report
            from sporadic.report.pictures import distributions, gantt
        except ImportError:
            raise SporadicError(
                "pictures need matplotlib: pip install 'sporadic[report]'"
            ) from None
        if args.gantt:
            written.append(str(gantt(args.trace, args.gantt, args.start, args.end)))
        if args.plot:
            written.append(str(distributions(args.trace, args.plot)))
        if args.html:
            written.append(str(html_report(args.trace, args.html, args.start, args.end)))
    if args.perfetto:
        try:
            from sporadic.report.perfetto import write_perfetto
        except ImportError:
            raise SporadicError("Perfetto needs perfetto: pip install 'sporadic[report]'") from None
        stats = write_perfetto(args.trace, args.perfetto)
        written.append(
            f"{args.perfetto} ({stats.slices} slices, {stats.instants} events; open it in "
            "https://ui.perfetto.dev)"
        )
    for line in written:
        print(f"wrote {printable(line)}", file=sys.stderr)


def add_diff_command(sub: Any) -> None:
    dif = sub.add_parser("diff", help="compare two traces task by task; exit 1 when NEW is worse")
    dif.add_argument("base", type=Path, help="the reference trace")
    dif.add_argument("new", type=Path, help="the trace to judge")
    dif.add_argument("--json", action="store_true", help="print the comparison as JSON")
    dif.add_argument(
        "--fail-on",
        default="misses,p99,max",
        help="misses, p99, max, cpu, latency.p99, latency.max, response.p99, response.max",
    )
    dif.add_argument("--tolerance", help='allowed growth: a percentage ("5%%") or a time ("10us")')


def cmd_diff(args: argparse.Namespace, console: Any) -> int:
    """0 when no task got worse, 1 when one did."""
    import json

    from sporadic.report.diff import Tolerance, diff, expand_fail_on

    try:
        fail_on = expand_fail_on(args.fail_on)
        if args.tolerance is not None:
            Tolerance.parse(args.tolerance)
    except ValueError as e:
        raise SporadicError(f"diff: {e}") from None
    result = diff(args.base, args.new, fail_on=fail_on, tolerance=args.tolerance)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        result.render(console)
    return 0 if result.ok else 1


__all__ = [
    "add_diff_command",
    "add_report_options",
    "cmd_diff",
    "duration_arg",
    "summary_options",
    "write_extras",
]
