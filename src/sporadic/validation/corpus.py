"""The golden corpus: scenarios whose real-kernel timelines are kept as data.

``tests/validation/scenarios/`` holds the descriptions (hand-written ones, ``v*``, and random
ones made here, ``r*``), ``tests/validation/golden/`` the real kernel's timeline of each. The
ordinary test suite checks the simulator against every golden timeline without qemu;
``python -m sporadic.validation.corpus`` (``make validate``) runs them all on the real kernel
again, rewrites the goldens and checks the simulator against the fresh ones.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from sporadic.description import load
from sporadic.validation import real_timeline
from sporadic.validation.compare import compare
from sporadic.validation.timeline import Timeline, simulate

PERIODS_MS = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20)


def _sc(rng: np.random.Generator, period_us: int) -> str:
    """An SC: budget 10-70% of the period in even microseconds (whole counter ticks), round
    robin one time in eight, extra refills 0-4, the sporadic flag one time in three."""
    if rng.random() < 0.125:
        return f'sc = {{ budget = "{period_us}us", period = "{period_us}us" }}'
    budget = max(50, int(period_us * rng.uniform(0.1, 0.7)) // 2 * 2)
    extra = int(rng.integers(0, 5))
    sporadic = "true" if rng.random() < 1 / 3 else "false"
    return (
        f'sc = {{ budget = "{budget}us", period = "{period_us}us", '
        f"extra_refills = {extra}, sporadic = {sporadic} }}"
    )


def _thread(name: str, prio: int, sc: str, script: str) -> str:
    return f'[[thread]]\nname = "{name}"\npriority = {prio}\n{sc}\nscript = [ {script} ]\n'


def random_scenario(index: int, seed: int) -> str:
    """2-6 threads: spinners, compute-and-yield loops, and jobs released by a releaser thread
    through a notification; mixed priorities, budgets, refills and flags."""
    rng = np.random.default_rng([seed, index])
    name = f"r{index:02d}"
    parts = [
        f"# Random scenario {index} (seed {seed}), made by sporadic.validation.corpus.\n"
        f'[system]\nname = "{name}"\nduration = "{int(rng.choice([30, 40, 50]))}ms"\n'
    ]
    count = int(rng.integers(2, 7))
    t = 0
    while t < count:
        period_us = int(rng.choice(PERIODS_MS)) * 1000
        prio = int(rng.choice([60, 80, 100, 100, 120, 150, 200]))
        if t + 2 <= count:
            kind = rng.choice(["spin", "yield", "job"], p=[0.35, 0.35, 0.3])
        else:
            kind = rng.choice(["spin", "yield"])
        if kind == "spin":
            parts.append(_thread(f"t{t}", prio, _sc(rng, period_us), "{ spin = true }"))
        elif kind == "yield":
            work = int(rng.integers(1, 40)) * 50
            script = f'{{ loop = [ {{ compute = "{work}us" }}, {{ yield = true }} ] }}'
            parts.append(_thread(f"t{t}", prio, _sc(rng, period_us), script))
        else:
            ntfn = f"n{t}"
            work = int(rng.integers(1, 20)) * 100
            releaser = f'{{ loop = [ {{ signal = "{ntfn}" }}, {{ yield = true }} ] }}'
            sc = f'sc = {{ budget = "50us", period = "{period_us}us" }}'
            parts.append(_thread(f"rel{t}", 250, sc, releaser))
            job = (
                f'{{ loop = [ {{ wait = "{ntfn}" }}, {{ mark = "start" }}, '
                f'{{ compute = "{work}us" }}, {{ mark = "end" }} ] }}'
            )
            parts.append(_thread(f"job{t}", prio, _sc(rng, period_us), job))
            t += 1
        t += 1
    return "\n".join(parts)


def write_random(folder: Path, count: int, seed: int) -> list[Path]:
    paths = []
    for i in range(1, count + 1):
        path = folder / f"r{i:02d}.toml"
        path.write_text(random_scenario(i, seed))
        paths.append(path)
    return paths


def _compact(text: str) -> str:
    """One interval or mark a line: JSON's innermost lists folded."""
    return re.sub(
        r"\[\s+([^\[\]{}]+?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text
    )


def golden_path(scenario: Path) -> Path:
    return scenario.parent.parent / "golden" / f"{scenario.stem}.json"


def load_golden(scenario: Path) -> Timeline:
    return Timeline.from_dict(json.loads(golden_path(scenario).read_text())["timeline"])


def regenerate(folder: Path, sel4_src: str | None) -> int:
    """Run every scenario on the real kernel, rewrite its golden, check the simulator. Returns
    how many did not do what the known-divergence list says: a new divergence, or a known one
    that now agrees (take it off the list)."""
    known_path = folder.parent / "known_divergences.json"
    known = json.loads(known_path.read_text()) if known_path.exists() else {}
    unexpected, diverged = 0, 0
    started = time.monotonic()
    for path in sorted(folder.glob("*.toml")):
        system = load(path)
        real = real_timeline(system, sel4_src)
        golden = {"scenario": path.name, "kernel": "seL4 1326364bc, qemu-arm-virt, icount shift=0"}
        golden["timeline"] = real.to_dict()
        golden_path(path).write_text(_compact(json.dumps(golden, indent=1)) + "\n")
        c = compare(real, simulate(system, real.setup))
        if c.agree:
            status = "agree" if path.stem not in known else "AGREES NOW: take it off the known list"
        else:
            diverged += 1
            status = ("known divergence: " if path.stem in known else "DIVERGE: ") + str(
                c.divergence
            )
        print(f"{path.stem}: {c.intervals} intervals, worst {c.worst_switch_ns} ns: {status}")
        unexpected += c.agree == (path.stem in known)
    total = len(list(folder.glob("*.toml")))
    print(
        f"{total - diverged} agree, {diverged} diverge ({len(known)} known), "
        f"{unexpected} unexpected, of {total} in {time.monotonic() - started:.0f} s"
    )
    return unexpected


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sporadic.validation.corpus")
    ap.add_argument("folder", type=Path, help="the scenarios (tests/validation/scenarios)")
    ap.add_argument("--sel4-src", help="seL4 sources (default: $SPORADIC_SEL4_SRC)")
    ap.add_argument("--random", type=int, default=0, help="write this many random scenarios first")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.random:
        write_random(args.folder, args.random, args.seed)
    return 1 if regenerate(args.folder, args.sel4_src) else 0


if __name__ == "__main__":
    sys.exit(main())
