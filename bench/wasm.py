"""WebAssembly benchmarks, written as JSON (bench/results/wasm.json):

- per-job overhead of a trivial WASI command job through the simulator, beyond the bare
  wasmtime work (instantiate + call) for the same job;
- the cost of one host-call hand-off (a suspending call answered by the kernel's loop);
- n-body with 1000 steps through the simulator versus the bare wasmtime run;
- wasmer beside wasmtime (issue 14), where wasmer-sdk is installed: the same trivial job and
  n-body, run bare through the SDK (``run()``, and a spawn read as it comes) and through the
  simulator, per job in wall time, with the CPU time of the simulator's process and of the
  wasmer worker per job; what the trace charges per job; the first compile of n-body on each
  engine (wasmer's with an empty cache) and wasmer's load from its cache.

Targets (issue 4): < 50 us per job, < 20% on compute-heavy jobs. Times are CPU time, best of
several repetitions, except where a name says wall.
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
from sporadic.traces.summary import summarise

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


def clock(fn) -> tuple[float, float, float]:
    """(wall s, CPU s of this process, CPU s of its children that ended) of one call of ``fn``
    (a wasmer session's worker is a child, and ends when the session closes)."""
    import resource

    def children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    w, c, k = time.perf_counter(), time.process_time(), children()
    fn()
    return time.perf_counter() - w, time.process_time() - c, children() - k


def _worker_cpu(sim: Simulation) -> float:
    """CPU s the wasmer worker of ``sim`` has used so far (Linux's /proc; else 0)."""
    worker = sim.built.command_engine("wasmer")._worker
    try:
        fields = Path(f"/proc/{worker.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (AttributeError, OSError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wasmer_results(folder: Path, trivial: Path) -> dict:
    """wasmer next to wasmtime: per job (bare SDK, through the simulator), first compiles."""
    import asyncio

    import wasmer_sdk

    from sporadic.wasm.wasmer_engine import WasmerEngine

    out: dict = {"wasmer_sdk": importlib.metadata.version("wasmer-sdk")}
    nbody = APPS / "nbody.wasm"
    os.environ["SPORADIC_WASMER_CACHE"] = str(folder / "wasmer-cache")  # empty: a first compile
    session = WasmerEngine()
    try:
        wall, _, _ = clock(lambda: session.load(trivial))
        out["worker_start_and_first_load_ms"] = round(wall * 1e3, 1)
        wall, _, _ = clock(lambda: session.load(nbody))
        out["first_compile_nbody_wasmer_ms"] = round(wall * 1e3, 1)
    finally:
        session.close()
    session = WasmerEngine()
    try:
        session.load(trivial)
        wall, _, _ = clock(lambda: session.load(nbody))
        out["cached_load_nbody_wasmer_ms"] = round(wall * 1e3, 1)
    finally:
        session.close()
    engine = wasmtime.Engine(wasmtime.Config())
    wall, _, _ = clock(lambda: wasmtime.Module(engine, nbody.read_bytes()))
    out["compile_nbody_wasmtime_ms"] = round(wall * 1e3, 1)

    async def bare(path: Path, args: list[str], jobs: int, stream: bool) -> float:
        """Wall s per run through the SDK: ``run()``, or a spawn whose stdout and stderr are
        read as they come (what a job through the simulator does)."""

        async def once(sandbox, package) -> None:
            if not stream:
                await sandbox.command(package, args).run(check=False)
                return
            proc = await sandbox.command(package, args).spawn()

            async def drain(s) -> None:
                async for _ in s:
                    pass

            readers = [asyncio.ensure_future(drain(s)) for s in (proc.stdout, proc.stderr)]
            await proc.wait()
            await asyncio.wait(readers, timeout=0.05)

        async with wasmer_sdk.Wasmer(cache_root=folder / "wasmer-cache") as client:
            package = await client.packages.load(path.read_bytes())
            async with await client.sandboxes.create(packages=[package]) as sandbox:
                await once(sandbox, package)  # warm
                w = time.perf_counter()
                for _ in range(jobs):
                    await once(sandbox, package)
                return (time.perf_counter() - w) / jobs

    for name, path, args, jobs, period in (
        ("trivial_job", trivial, [], 200, 20_000),
        ("nbody_10", nbody, ["10"], 100, 20_000),
        ("nbody_1000", nbody, ["1000"], 50, 50_000),
    ):
        text = periodic_system(
            f'{{ wasm = "{path}", args = {json.dumps(args)}, engine = "wasmer" }}', jobs, period
        )
        desc = folder / "wasmer.toml"
        desc.write_text(text)
        system = load_text(text, str(desc))
        bare_run = asyncio.run(bare(path, args, jobs, stream=False))
        bare_stream = asyncio.run(bare(path, args, jobs, stream=True))
        sim = Simulation(system, folder / "wasmer.trace")  # starts the worker, loads, compiles
        started = _worker_cpu(sim)
        wall, cpu, worker = clock(sim.run)  # the jobs, then the session's close
        worker -= started
        summary = summarise(folder / "wasmer.trace")["tasks"]["job"]
        fuel = simulated(text.replace(', engine = "wasmer"', ""), folder, 1) / jobs
        out[name] = {
            "jobs": jobs,
            "bare_wasmer_run_wall_us": round(bare_run * 1e6, 1),
            "bare_wasmer_spawn_stream_wall_us": round(bare_stream * 1e6, 1),
            "simulated_wasmer_wall_us": round(wall / jobs * 1e6, 1),
            "overhead_wall_us": round((wall / jobs - bare_run) * 1e6, 1),
            "simulator_cpu_per_job_us": round(cpu / jobs * 1e6, 1),
            "worker_cpu_per_job_us": round(worker / jobs * 1e6, 1),
            "charged_per_job_us_median": round(summary["response"]["p50"] / 1e3, 1),
            "simulated_wasmtime_cpu_us": round(fuel * 1e6, 1),
        }
    return out


def main() -> int:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        trivial = folder / "trivial.wasm"
        # a memory: wasmer's WASI refuses a module without one (wasmtime's does not need it)
        trivial.write_bytes(
            wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "_start")))')
        )
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
        try:
            import wasmer_sdk  # noqa: F401
        except ImportError:
            results["wasmer"] = {"skipped": "wasmer-sdk is not installed"}
        else:
            results["wasmer"] = wasmer_results(folder, trivial)
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
