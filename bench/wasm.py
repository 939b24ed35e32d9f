"""WebAssembly benchmarks, written as JSON (bench/results/wasm.json):

- per-job overhead of a trivial WASI command job through the simulator, beyond the bare
  wasmtime work (instantiate + call) for the same job;
- the cost of one host-call hand-off (a suspending call answered by the kernel's loop);
- n-body with 1000 steps through the simulator versus the bare wasmtime run.

Targets (issue 4): < 50 us per job, < 20% on compute-heavy jobs. Times are CPU time, best of
several repetitions.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import wasmtime

from sporadic.description import load_text
from sporadic.simulation import Simulation

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "examples" / "wasm"
REPEAT = 5


def best(fn, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


class quiet_stdout:  # noqa: N801 - used as a context manager
    """Send fd 1 to /dev/null: the bare runs print through WASI, as the simulator does not."""

    def __enter__(self) -> None:
        sys.stdout.flush()
        self.saved = os.dup(1)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)

    def __exit__(self, *exc: object) -> None:
        os.dup2(self.saved, 1)
        os.close(self.saved)


def bare_command(path: Path, argv: list[str], jobs: int, repeat: int = REPEAT) -> float:
    """Per job: a fresh store and instance of a WASI command, then _start (what any host does)."""
    config = wasmtime.Config()
    config.consume_fuel = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, str(path))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()

    def run() -> None:
        for _ in range(jobs):
            store = wasmtime.Store(engine)
            wasi = wasmtime.WasiConfig()
            wasi.argv = argv
            store.set_wasi(wasi)
            store.set_fuel(1 << 40)
            inst = linker.instantiate(store, module)
            inst.exports(store)["_start"](store)

    return best(run, repeat) / jobs


def simulated(text: str, folder: Path, repeat: int = REPEAT) -> float:
    desc = folder / "bench.toml"
    desc.write_text(text)
    system = load_text(text, str(desc))

    def run() -> None:
        Simulation(system, folder / "bench.trace").run()

    return best(run, repeat)


def periodic_system(job: str, jobs: int, period_us: int) -> str:
    """One partition released every ``period_us`` for ``jobs`` jobs, running ``job``."""
    return f"""
[system]
duration = "{jobs * period_us}us"
[[partition]]
name = "job"
priority = 10
budget = "{period_us}us"
period = "{period_us}us"
release = {{ period = "{period_us}us" }}
job = {job}
"""


def command_system(path: Path, args: list[str], jobs: int, period_us: int) -> str:
    return periodic_system(f'{{ wasm = "{path}", args = {json.dumps(args)} }}', jobs, period_us)


def compute_system(jobs: int, period_us: int, compute_ns: int) -> str:
    return periodic_system(f'{{ compute = "{compute_ns}ns" }}', jobs, period_us)


def main() -> int:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        trivial = folder / "trivial.wasm"
        trivial.write_bytes(wasmtime.wat2wasm('(module (func (export "_start")))'))
        jobs = 2000
        with quiet_stdout():
            bare = bare_command(trivial, ["trivial.wasm"], jobs)
        sim = simulated(command_system(trivial, [], jobs, 1000), folder) / jobs
        kernel_only = simulated(compute_system(jobs, 1000, 1), folder) / jobs
        results["trivial_job"] = {
            "jobs": jobs,
            "bare_wasmtime_us": round(bare * 1e6, 1),
            "simulated_us": round(sim * 1e6, 1),
            "same_job_without_wasm_us": round(kernel_only * 1e6, 1),
            "overhead_us": round((sim - bare) * 1e6, 1),
            "target_us": 50,
        }
        # hand-offs: a reactor calling now() in a loop; each call suspends the module
        n = 2000
        clock = folder / "clock.wasm"
        clock.write_bytes(
            wasmtime.wat2wasm(
                f"""(module
  (import "sporadic" "now" (func $now (result i64)))
  (func (export "init"))
  (func (export "notified") (param i32) (local i32)
    (loop (drop (call $now)) (local.set 0 (i32.add (local.get 0) (i32.const 1)))
          (br_if 0 (i32.lt_u (local.get 0) (i32.const {n}))))))"""
            )
        )
        handoff_sys = f"""
[system]
duration = "100ms"
[[protection_domain]]
name = "clock"
priority = 10
budget = "100ms"
period = "100ms"
wasm = "{clock}"
irq = [ {{ id = 0, period = "1s", offset = "1ms" }} ]
"""
        quiet = handoff_sys.replace('offset = "1ms"', 'offset = "200ms"')
        handoff = (simulated(handoff_sys, folder) - simulated(quiet, folder)) / n
        results["host_call_handoff"] = {
            "calls": n,
            "us_per_handoff": round(handoff * 1e6, 1),
        }
        # n-body: 1000 steps (the case) and 10000 (a heavier job, same fixed costs).
        # Bare and simulated runs alternate, so that both see the same machine; the overhead
        # is the median of the per-round ratios.
        nbody = APPS / "nbody.wasm"
        for steps, runs, period in ((1000, 100, 10_000), (10_000, 20, 50_000)):
            system = command_system(nbody, [str(steps)], runs, period)
            simulated(system, folder)  # compile and warm up
            bares, sims = [], []
            for _ in range(7):
                with quiet_stdout():
                    bares.append(bare_command(nbody, ["nbody.wasm", str(steps)], runs, 1))
                sims.append(simulated(system, folder, 1) / runs)
            ratios = sorted(s_ / b_ for s_, b_ in zip(sims, bares, strict=True))
            results[f"nbody_{steps}"] = {
                "jobs": runs,
                "bare_wasmtime_ms": round(min(bares) * 1e3, 3),
                "simulated_ms": round(min(sims) * 1e3, 3),
                "overhead_percent_median": round((ratios[len(ratios) // 2] - 1) * 100, 1),
                "target_percent": 20,
            }
    doc = {
        "python": platform.python_version(),
        "wasmtime": importlib.metadata.version("wasmtime"),
        "date": time.strftime("%Y-%m-%d"),
        "results": results,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "wasm.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
