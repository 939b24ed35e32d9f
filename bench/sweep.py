"""Benchmark and cross-check of schedulability sweeps, written as JSON.

(a) The cross-check: more than 5,000 generated task sets, in four families (UUniFast-discard
    with implicit deadlines, RandFixedSum with constrained deadlines, ConvolutionalFixedSum
    with harmonic periods and bounded utilisations, constant-bandwidth SCs with generous
    budgets), each analysed and simulated; every set the analysis calls schedulable must show
    no miss and no response above its bound. Any violation fails the run (exit status 1) and
    its description is kept under bench/results/violations/.
(b) Throughput: the same sweep of a few hundred sets on 1 and on 2 local worker processes, in
    sets per second of wall time, best of ``--repeat`` runs, and the CPU time per set (which
    does not depend on what else the machine runs; the load average is recorded too).

Sets are simulated for two hyperperiods (plus the longest deadline), capped at 200 ms.

Usage: python bench/sweep.py [--out bench/results] [--sets-per-point 40] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

from sporadic.experiments.plot import acceptance
from sporadic.experiments.sweep import load_config, run_sweep

COMMON = {
    "tasks": [5, 10, 20],
    "utilisation": [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0],
    "periods": {"min": "1ms", "max": "100ms"},
    "duration": "2 hyperperiods",
    "max_duration": "200ms",
}
FAMILIES = {
    "uunifast_implicit": {"seed": 1, "generator": "uunifast-discard"},
    "randfixedsum_constrained": {
        "seed": 2,
        "generator": "randfixedsum",
        "deadlines": "constrained",
    },
    "cfs_harmonic_bounded": {
        "seed": 3,
        "generator": "cfs",
        "harmonic": True,
        "bounds": {"min": 0.0, "max": 0.5},
    },
    "constant_bandwidth": {"seed": 4, "sporadic": False, "budget_margin": 3.0},
}
THROUGHPUT = {**COMMON, "seed": 5, "tasks": [10], "sets": 40}


def cross_check(out: Path, sets: int, workers: int) -> tuple[list[dict], float]:
    """Every family's sweep; rows of violations are kept by ``run_sweep`` next to the CSVs."""
    results = []
    t0 = time.perf_counter()
    for name, family in FAMILIES.items():
        config = load_config({**COMMON, **family, "sets": sets})
        start = time.perf_counter()
        rows = run_sweep(config, out / "sweeps" / f"{name}.csv", workers=workers)
        wall = time.perf_counter() - start
        table = acceptance(rows)
        results.append(
            {
                "family": name,
                "sets": len(rows),
                "rta_schedulable": sum(r["rta_schedulable"] for r in rows),
                "sim_no_miss": sum(r["sim_misses"] == 0 for r in rows),
                "violations": sum(r["violation"] for r in rows),
                "max_sim_worst_ratio_when_schedulable": max(
                    [r["sim_worst_ratio"] or 0.0 for r in rows if r["rta_schedulable"]] or [0.0]
                ),
                "wall_s": round(wall, 2),
                "acceptance": [
                    {k: p[k] for k in ("tasks", "utilisation", "analysis", "simulation")}
                    for p in table
                ],
            }
        )
        print(json.dumps({k: v for k, v in results[-1].items() if k != "acceptance"}))
    return results, time.perf_counter() - t0


def throughput(workers: int, repeat: int) -> dict:
    """Sets per second of wall time on ``workers`` local processes (best of ``repeat``)."""
    config = load_config(THROUGHPUT)
    count = len(config.specs())
    walls, cpus = [], []
    for _ in range(repeat):
        c0 = _cpu()
        t0 = time.perf_counter()
        run_sweep(config, workers=workers)
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    best = min(walls)
    return {
        "workers": workers,
        "sets": count,
        "wall_s_best": round(best, 3),
        "wall_s_all": [round(w, 3) for w in walls],
        "sets_per_s": round(count / best, 1),
        "cpu_s_per_set": round(min(cpus) / count, 5),
    }


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    ap.add_argument("--sets-per-point", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2, help="for the cross-check")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    families, wall = cross_check(args.out, args.sets_per_point, args.workers)
    rates = [throughput(w, args.repeat) for w in (1, 2)]
    for r in rates:
        print(json.dumps(r))
    total = sum(f["sets"] for f in families)
    violations = sum(f["violations"] for f in families)
    doc = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "date": time.strftime("%Y-%m-%d"),
        "cross_check": {
            "sets": total,
            "violations": violations,
            "wall_s": round(wall, 1),
            "workers": args.workers,
            "families": families,
        },
        "throughput": rates,
    }
    path = args.out / "sweep.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"{total} sets, {violations} violations, {wall:.0f} s; wrote {path}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
