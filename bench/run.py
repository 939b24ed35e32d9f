"""Benchmarks: simulation speed and memory of the kernel event loop, written as JSON.

Each case runs in its own process so that peak RSS belongs to that case alone.
(a) 10 periodic tasks, periods 10-100 ms, utilisation 0.8, 10 s simulated (budget = period);
(b) 100 partitions with budgets (1.5 x WCET), utilisation 0.7, 60 s simulated, also run for 10 s
    to show that memory does not grow with simulated time (the trace streams to disk).
Each case is also run under trio with its records through the record bus (``run_async``, as
``sporadic run`` does); ``bus_overhead`` is that run's CPU time over the direct one's, less 1.

Usage: python bench/run.py [--out bench/results] [--case NAME]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import trio

from sporadic.description import load_text
from sporadic.simulation import Simulation

MS = 1_000_000
CASES = {
    "a_10_tasks_10s": dict(n=10, util=0.8, seconds=10, budgets=False, seed=1),
    "b_100_partitions_10s": dict(n=100, util=0.7, seconds=10, budgets=True, seed=2),
    "b_100_partitions_60s": dict(n=100, util=0.7, seconds=60, budgets=True, seed=2),
}
REPEAT = {"a_10_tasks_10s": 5, "b_100_partitions_10s": 3, "b_100_partitions_60s": 1}


def uunifast(rng: np.random.Generator, n: int, total: float) -> list[float]:
    """Bini and Buttazzo's UUniFast: n utilisations summing to ``total``, uniformly spread."""
    out, rest = [], total
    for i in range(1, n):
        nxt = rest * rng.random() ** (1.0 / (n - i))
        out.append(rest - nxt)
        rest = nxt
    out.append(rest)
    return out


def task_set(n: int, util: float, seconds: int, budgets: bool, seed: int) -> str:
    rng = np.random.default_rng(seed)
    utils = uunifast(rng, n, util)
    periods = [int(round(float(np.exp(rng.uniform(np.log(10), np.log(100)))))) for _ in range(n)]
    order = sorted(range(n), key=lambda i: (periods[i], i))
    prio = {i: 250 - rank * 2 for rank, i in enumerate(order)}
    parts = [f'[system]\nname = "bench"\nduration = "{seconds}s"\nseed = {seed}\n']
    for i in range(n):
        period_us = periods[i] * 1000
        wcet_us = max(1, int(utils[i] * period_us))
        budget_us = min(period_us, max(50, int(wcet_us * 1.5))) if budgets else period_us
        parts.append(
            f'[[partition]]\nname = "t{i}"\npriority = {prio[i]}\n'
            f'budget = "{budget_us}us"\nperiod = "{period_us}us"\n'
            f'release = {{ period = "{period_us}us" }}\njob = {{ compute = "{wcet_us}us" }}\n'
        )
    return "\n".join(parts)


def run_case(name: str, repeat: int = 5) -> dict:
    """Best of ``repeat`` runs (CPU time), each a fresh simulation writing a fresh trace."""
    params = CASES[name]
    system = load_text(task_set(**params), f"<{name}>")
    cpus, walls, bus_cpus = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            trace = Path(tmp) / "bench.trace"
            sim = Simulation(system, trace)
            t0 = time.process_time()
            w0 = time.perf_counter()
            sim.run()
            cpus.append(time.process_time() - t0)
            walls.append(time.perf_counter() - w0)
            # the same run under trio, its records through the record bus (sporadic run's way)
            bussed = Simulation(system, Path(tmp) / "bus.trace")
            t0 = time.process_time()
            trio.run(bussed.run_async)
            bus_cpus.append(time.process_time() - t0)
        records = sim.writer.records
        size = trace.stat().st_size
    cpu = min(cpus)
    return {
        "case": name,
        **params,
        "repeat": repeat,
        "cpu_s_best": round(cpu, 4),
        "cpu_s_median": round(sorted(cpus)[len(cpus) // 2], 4),
        "wall_s_best": round(min(walls), 4),
        "cpu_s_bus_best": round(min(bus_cpus), 4),
        "bus_overhead": round(min(bus_cpus) / cpu - 1, 4),
        "records": records,
        "records_per_s": round(records / cpu),
        "trace_bytes": size,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    ap.add_argument("--case", choices=sorted(CASES))
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, REPEAT[args.case])))
        return 0
    results = []
    for name in CASES:
        out = subprocess.run(
            [sys.executable, __file__, "--case", name], capture_output=True, text=True, check=True
        )
        results.append(json.loads(out.stdout))
        print(json.dumps(results[-1]))
    args.out.mkdir(parents=True, exist_ok=True)
    doc = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "results": results,
    }
    path = args.out / "kernel.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
