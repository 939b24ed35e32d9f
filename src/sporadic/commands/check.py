"""``sporadic check`` (a description validated and analysed) and ``sporadic validate`` (a run on
the real seL4 kernel under qemu, compared with the simulator)."""

from __future__ import annotations

import argparse
import io
import json

from sporadic.commands.common import console_for, header_errors
from sporadic.traces.text import format_ns, printable, shorten


def cmd_check(args: argparse.Namespace) -> int:
    if args.engines:  # a second opinion on every module (commands/engines.py)
        from sporadic.commands.engines import cmd_check_engines

        return cmd_check_engines(args)
    from rich.text import Text

    from sporadic.analysis.check import analyse  # only `check` pays for its import
    from sporadic.simulation import Simulation, load
    from sporadic.traces.table import plain
    from sporadic.traces.writer import TraceWriter

    system = load(args.file, args.workload)
    with header_errors(args.file):  # built as `run` builds it: what the kernel, wasmtime or
        sim = Simulation(system)  # the trace writer refuses, fails
        try:
            TraceWriter(io.BytesIO(), sim.header())
        finally:
            sim.built.close_engines()  # a wasmer worker started to load a module ends here
    if args.json:
        from sporadic.analysis.bounds import task_bounds

        doc = system.to_dict()
        doc["analysis"] = {"tasks": task_bounds(system)}
        print(json.dumps(doc, indent=2))
        return 0
    from rich.table import Table

    console = console_for(120)
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
    from sporadic.simulation import load
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
