"""Benchmark sporadic against SimSo 0.8.5 in one run: same task sets, same machine, same hour.

The issue's speed claims are ratios to SimSo, so both simulators run here on identical task sets,
their samples interleaved so that the machine's other load falls on both alike.

Task sets (fixed seeds, stdlib ``random``; bench/run.py's approach, not SimSo's generator):
UUniFast utilisations summing to 0.8, periods log-uniform in 10-100 ms rounded to whole ms,
WCET = floor(u x period) in whole us, implicit deadlines, rate-monotonic priorities (ties by
index), one CPU. sporadic runs each task as a partition whose budget is its period (plain fixed
priority); SimSo runs ``simso.schedulers.RM`` with abort_on_miss off and 1 cycle = 1 ns.

What is timed, each sample in a fresh process:
- in process: building and running the simulation. sporadic: ``Simulation(system, trace)`` and
  ``run()``, the trace streamed to a temporary file; SimSo: ``Model(configuration)`` and
  ``run_model()`` (its results included). Not timed: start-up, imports, reading the description
  or filling the Configuration. CPU (process_time) and wall (perf_counter).
- whole process: ``sporadic run FILE --until T -o TMP`` (its table printed to a file) against
  ``python -c`` that imports SimSo, fills the Configuration and runs the model: user+sys CPU,
  wall and peak RSS from os.wait4. That SimSo process is also its in-process sample (it reports
  its own timing), so one SimSo run serves both.
Ratios are SimSo's median over sporadic's median (CPU time; wall ratios beside them).

SimPy also runs the events due at ``until``, so SimSo runs to T - 1 ns: both then release the
jobs of [0, T), and their job counts must be equal task by task (a mismatch is flagged).

Usage: python bench/peers.py [--out bench/results] [--install-simso] [--simso-venv PATH]
                             [--repeat N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

SIMSO_PINS = ("simso==0.8.5", "SimPy==2.3.1")  # SimSo 0.8.5 is written for SimPy 2's API
UTIL = 0.8
SEEDS = {10: 1, 100: 2}  # one task set per size: its 10 s and 100 s cases run the same set
CASES = {"10x10s": (10, 10), "10x100s": (10, 100), "100x10s": (100, 10), "100x100s": (100, 100)}
LONG = {"100x100s": 2}  # SimSo takes minutes a sample here: its samples are capped; --quick skips
TARGETS = [  # the "must show": case, ratio, at least
    ("10x100s", "in_process", 25),
    ("10x100s", "whole_process", 15),
    ("10x10s", "whole_process", 5),
]
MIB = 1024  # ru_maxrss is in KiB on Linux

SPORADIC_CHILD = """
import json, sys, time
from sporadic.simulation import Simulation, load
from sporadic.traces import summarise
system = load(sys.argv[1])
c, w = time.process_time(), time.perf_counter()
Simulation(system, sys.argv[2]).run()
c, w = time.process_time() - c, time.perf_counter() - w
tasks = summarise(sys.argv[2])["tasks"]
jobs = {name: task["jobs"] for name, task in tasks.items()}
print(json.dumps({"cpu": c, "wall": w, "jobs": jobs,
                  "misses": sum(task["misses"] for task in tasks.values())}))
"""

SIMSO_CHILD = """
import json, math, sys, time
from simso.configuration import Configuration
from simso.core import Model
spec = json.load(open(sys.argv[1]))
conf = Configuration()
conf.cycles_per_ms = 1_000_000
conf.duration = spec["until_ns"] - 1
for i, (name, period, wcet) in enumerate(spec["tasks"]):
    conf.add_task(name=name, identifier=i + 1, period=period, activation_date=0, wcet=wcet,
                  deadline=period, abort_on_miss=False)
conf.add_processor(name="CPU1", identifier=1)
conf.scheduler_info.clas = "simso.schedulers.RM"
conf.check_all()
c, w = time.process_time(), time.perf_counter()
model = Model(conf)
model.run_model()
c, w = time.process_time() - c, time.perf_counter() - w
ms = conf.cycles_per_ms
due = [(j, j.absolute_deadline * ms) for t in model.task_list for j in t.jobs]
misses = sum(1 for j, d in due if d <= conf.duration and (j.end_date or math.inf) > d)
print(json.dumps({"cpu": c, "wall": w, "jobs": {t.name: len(t.jobs) for t in model.task_list},
                  "misses": misses}))
"""


def uunifast(rng: random.Random, n: int, total: float) -> list[float]:
    """Bini and Buttazzo's UUniFast: n utilisations summing to ``total``, uniformly spread."""
    out, rest = [], total
    for i in range(1, n):
        nxt = rest * rng.random() ** (1.0 / (n - i))
        out.append(rest - nxt)
        rest = nxt
    return [*out, rest]


def task_set(n: int, seed: int) -> list[tuple[int, int]]:
    """(period_us, wcet_us) of n tasks, highest rate-monotonic priority first."""
    rng = random.Random(seed)
    utils = uunifast(rng, n, UTIL)
    periods = [round(math.exp(rng.uniform(math.log(10), math.log(100)))) for _ in range(n)]
    tasks = [(p * 1000, max(1, int(u * p * 1000))) for u, p in zip(utils, periods, strict=True)]
    return sorted(tasks, key=lambda task: task[0])  # stable: ties keep their index order


def to_toml(tasks: list[tuple[int, int]], seconds: int) -> str:
    """A sporadic description as bench/run.py writes one: a partition a task, budget = period."""
    parts = [f'[system]\nname = "peers"\nduration = "{seconds}s"\nseed = 1\n']
    for rank, (period, wcet) in enumerate(tasks):
        parts.append(
            f'[[partition]]\nname = "t{rank}"\npriority = {250 - rank}\n'
            f'budget = "{period}us"\nperiod = "{period}us"\n'
            f'release = {{ period = "{period}us" }}\njob = {{ compute = "{wcet}us" }}\n'
        )
    return "\n".join(parts)


def simso_ms(us: int) -> float:
    """``us`` in SimSo's float milliseconds, nudged up where SimSo's int(ms * 1e6) would lose
    the last nanosecond, so that both simulators run the same integer execution times."""
    ms = us / 1000
    while int(ms * 1e6) < us * 1000:
        ms = math.nextafter(ms, math.inf)
    return ms


def to_simso(tasks: list[tuple[int, int]], seconds: int) -> dict[str, Any]:
    """What SIMSO_CHILD reads: the same tasks (name, period, WCET) in SimSo's milliseconds."""
    in_ms = [
        (f"t{rank}", period // 1000, simso_ms(wcet)) for rank, (period, wcet) in enumerate(tasks)
    ]
    return {"until_ns": seconds * 10**9, "tasks": in_ms}


# Both run as an installed program does: with its bytecode cached (an environment that forbids
# writing it would make every sporadic process compile its sources, which SimSo's pip-installed
# files never pay).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(cmd: list[str]) -> dict[str, Any]:
    """One process: its user+sys CPU, wall time and peak RSS (os.wait4), and what it printed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        wall = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=CHILD_ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - wall
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            tail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{cmd[0]} exited {proc.returncode}:\n{tail}")
        return {
            "cpu": usage.ru_utime + usage.ru_stime,
            "wall": wall,
            "rss_mib": usage.ru_maxrss / MIB,
            "stdout": out.read().decode(),
        }


def stats(samples: list[float], digits: int = 4) -> dict[str, Any]:
    """The median and every sample, so that the noise stays visible."""
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "samples": [round(s, digits) for s in samples],
    }


def ratio(simso: dict[str, Any], sporadic: dict[str, Any]) -> float:
    """How many times sporadic's median beats SimSo's."""
    return round(simso["median"] / sporadic["median"], 2)


def simso_python(venv: Path, install: bool) -> tuple[Path | None, str]:
    """The SimSo venv's interpreter if SimSo imports there (made first when asked), else None and
    why: the benchmark then runs the sporadic side only."""
    python = venv / "bin" / "python"
    try:
        if install:
            if not python.exists():
                base = shutil.which("python3.11") or sys.executable
                subprocess.run([base, "-m", "venv", str(venv)], check=True)
            pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            subprocess.run([*pip, *SIMSO_PINS], check=True)
        if not python.exists():
            return None, f"no SimSo venv at {venv} (give --install-simso to make it)"
        check = [str(python), "-c", "from simso.core import Model"]
        done = subprocess.run(check, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"SimSo does not import in {venv}: {done.stderr.strip()[-500:]}"
    except (OSError, subprocess.CalledProcessError) as e:
        return None, f"installing SimSo into {venv} failed: {e}"
    return python, ""


def versions(simso: Path | None) -> dict[str, Any]:
    """What was measured: both simulators' versions and the working tree's commit."""
    found: dict[str, Any] = {"sporadic": version("sporadic"), "python": platform.python_version()}
    kernel = find_spec("sporadic.kernel.kernel")  # the mypyc build compiles it to a .so
    found["sporadic_compiled"] = bool(kernel and kernel.origin and kernel.origin.endswith(".so"))
    git = ["git", "-C", str(Path(__file__).parent), "describe", "--always", "--dirty"]
    try:
        done = subprocess.run(git, capture_output=True, text=True)
        found["sporadic_commit"] = done.stdout.strip() or None
    except OSError:  # no git: the version alone says what was measured
        found["sporadic_commit"] = None
    if simso is not None:
        code = (
            "import importlib.metadata as m, platform\n"
            "print(m.version('simso'), m.version('simpy'), platform.python_version())"
        )
        out = subprocess.run([str(simso), "-c", code], capture_output=True, text=True, check=True)
        found["simso"], found["simpy"], found["simso_python"] = out.stdout.split()
    return found


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    info = Path("/proc/cpuinfo")  # Linux: the model name platform.processor() lacks
    lines = info.read_text().splitlines() if info.exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), cpu)
    return {
        "machine": platform.machine(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "system": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def sporadic_command() -> list[str]:
    """``sporadic`` as installed beside this interpreter (a venv's console script)."""
    script = Path(sys.executable).with_name("sporadic")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sporadic"]


def run_case(name: str, repeat: int, simso: Path | None, tmp: Path) -> dict[str, Any]:
    """Interleaved samples of one case: sporadic in process, sporadic run, SimSo (both)."""
    n, seconds = CASES[name]
    tasks = task_set(n, SEEDS[n])
    toml = tmp / f"{name}.toml"
    toml.write_text(to_toml(tasks, seconds))
    spec = tmp / f"{name}.json"
    spec.write_text(json.dumps(to_simso(tasks, seconds)))
    trace = str(tmp / f"{name}.trace")
    whole_cmd = [*sporadic_command(), "run", str(toml), "--until", f"{seconds}s", "-o", trace]
    simso_repeat = min(repeat, LONG.get(name, repeat)) if simso is not None else 0
    result: dict[str, Any] = {
        "case": name,
        "tasks": n,
        "simulated_s": seconds,
        "utilisation": UTIL,
        "seed": SEEDS[n],
        "repeat": repeat,
    }
    sp_in: list[dict[str, Any]] = []
    sp_whole: list[dict[str, Any]] = []
    ss_in: list[dict[str, Any]] = []
    ss_whole: list[dict[str, Any]] = []
    for i in range(repeat):
        run = measure([sys.executable, "-c", SPORADIC_CHILD, str(toml), trace])
        sp_in.append(json.loads(run["stdout"]))
        sp_whole.append(measure(whole_cmd))
        if i < simso_repeat:
            try:  # SimSo failing (out of memory, say) ends its samples, not the benchmark
                ss_whole.append(measure([str(simso), "-c", SIMSO_CHILD, str(spec)]))
            except RuntimeError as e:
                why = " ".join(str(e).split())[-300:]
                result["note"] = f"SimSo failed, stopped after {i} samples: {why}"
                simso_repeat = i
            else:
                ss_in.append(json.loads(ss_whole[-1]["stdout"]))
        print(f"  {name} sample {i + 1}/{repeat}", file=sys.stderr, flush=True)
    result["simso_repeat"] = simso_repeat
    if name in LONG and 0 < simso_repeat < repeat:
        result.setdefault("note", f"SimSo sampled {simso_repeat}x only: minutes a sample")
    result["sporadic"] = sp = side(sp_in, sp_whole)
    result["simso"] = so = side(ss_in, ss_whole) if ss_in else None
    if so is None:
        return result
    jobs, simso_jobs = sp_in[0]["jobs"], ss_in[0]["jobs"]
    differ = {t: [jobs.get(t), simso_jobs.get(t)] for t in {*jobs, *simso_jobs}}
    differ = {t: pair for t, pair in sorted(differ.items()) if pair[0] != pair[1]}
    result["jobs_match"] = not differ
    if differ:
        result["jobs_differ"] = differ  # task -> [sporadic, SimSo]
    result["ratios"] = {
        "in_process": ratio(so["in_process_cpu_s"], sp["in_process_cpu_s"]),
        "in_process_wall": ratio(so["in_process_wall_s"], sp["in_process_wall_s"]),
        "whole_process": ratio(so["process_cpu_s"], sp["process_cpu_s"]),
        "whole_process_wall": ratio(so["process_wall_s"], sp["process_wall_s"]),
        "peak_rss": ratio(so["peak_rss_mib"], sp["peak_rss_mib"]),
    }
    return result


def side(inner: list[dict[str, Any]], whole: list[dict[str, Any]]) -> dict[str, Any]:
    """One simulator's statistics: ``inner`` as its in-process samples reported them, ``whole``
    as measure() saw the processes; job and miss counts from the first sample."""
    return {
        "in_process_cpu_s": stats([s["cpu"] for s in inner]),
        "in_process_wall_s": stats([s["wall"] for s in inner]),
        "process_cpu_s": stats([s["cpu"] for s in whole]),
        "process_wall_s": stats([s["wall"] for s in whole]),
        "peak_rss_mib": stats([s["rss_mib"] for s in whole], 1),
        "jobs": sum(inner[0]["jobs"].values()),
        "misses": inner[0]["misses"],
    }


def spread(s: dict[str, Any]) -> str:
    """A median and half the samples' range around it, in percent of the median."""
    return f"{s['median']:.3f} ±{50 * (s['max'] - s['min']) / s['median']:.0f}%"


def print_table(results: list[dict[str, Any]]) -> None:
    """One line per side and case; the ratio line is SimSo's median over sporadic's."""
    head = f"{'case':9} {'side':9} {'jobs':>7} {'misses':>6} {'in-process CPU s':>17} "
    head += f"{'process CPU s':>15} {'process wall s':>15} {'peak RSS MiB':>13}"
    print(head)
    for r in results:
        if "skipped" in r:
            print(f"{r['case']:9} skipped ({r['skipped']})")
            continue
        for side, label in (("sporadic", "sporadic"), ("simso", "SimSo")):
            s = r[side]
            if s is None:
                print(f"{r['case']:9} {label:9} (not run)")
                continue
            print(
                f"{r['case']:9} {label:9} {s['jobs']:>7} {s['misses']:>6} "
                f"{spread(s['in_process_cpu_s']):>17} {spread(s['process_cpu_s']):>15} "
                f"{spread(s['process_wall_s']):>15} {s['peak_rss_mib']['median']:>13.1f}"
            )
        if r.get("ratios"):
            q = r["ratios"]
            match = "jobs equal" if r["jobs_match"] else "JOBS DIFFER"
            print(
                f"{r['case']:9} {'ratio':9} {match:>14} {q['in_process']:>16.1f}x "
                f"{q['whole_process']:>14.1f}x {q['whole_process_wall']:>14.1f}x "
                f"{q['peak_rss']:>12.1f}x"
            )
        if r.get("jobs_differ"):
            print(f"{r['case']:9} jobs differ (task: [sporadic, SimSo]): {r['jobs_differ']}")
        if r.get("note"):
            print(f"{r['case']:9} note: {r['note']}")
    print("medians; ± is half the samples' range over the median; ratio: SimSo / sporadic")


def check_targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's "must show" ratios, each met or not (None where SimSo did not run)."""
    by_case = {r["case"]: r for r in results}
    out = []
    for case, kind, want in TARGETS:
        got = by_case.get(case, {}).get("ratios", {}).get(kind)
        met = None if got is None else got >= want
        out.append({"case": case, "kind": kind, "at_least": want, "ratio": got, "met": met})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results"), help="peers.json's folder")
    ap.add_argument("--install-simso", action="store_true", help="make the SimSo venv first")
    ap.add_argument(
        "--simso-venv",
        type=Path,
        default=Path(__file__).parent / ".simso-venv",
        help="the venv SimSo runs in (default bench/.simso-venv)",
    )
    ap.add_argument("--repeat", type=int, default=5, help="samples a case (median reported)")
    ap.add_argument("--quick", action="store_true", help="skip " + ", ".join(LONG))
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    simso, why = simso_python(args.simso_venv, args.install_simso)
    if simso is None:
        print(f"SimSo not available: {why}; running the sporadic side only", file=sys.stderr)
    doc: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "versions": versions(simso),
        "simso_available": simso is not None,
        "simso_note": why or None,
        "timed": "in process: Simulation(system, trace).run() against Model(conf).run_model(), "
        "CPU and wall s; process: `sporadic run` against a python -c importing SimSo, user+sys "
        "CPU s, wall s, peak RSS; ratios: SimSo median / sporadic median (CPU unless _wall)",
        "results": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in CASES:
            if args.quick and name in LONG:
                doc["results"].append({"case": name, "skipped": "--quick"})
                continue
            doc["results"].append(run_case(name, args.repeat, simso, Path(tmp)))
    doc["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    doc["targets"] = check_targets(doc["results"])
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "peers.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    v = doc["versions"]
    build = "compiled" if v["sporadic_compiled"] else "pure Python"
    print(f"sporadic {v['sporadic']} ({build}, {v['sporadic_commit']}), Python {v['python']}")
    if simso is not None:
        print(f"SimSo {v['simso']}, SimPy {v['simpy']}, Python {v['simso_python']}")
    print_table(doc["results"])
    for t in doc["targets"]:
        got = (
            "not measured"
            if t["met"] is None
            else f"{t['ratio']}x, " + ("met" if t["met"] else "NOT MET")
        )
        print(f"target {t['case']} {t['kind']} >= {t['at_least']}x: {got}")
    if simso is None:
        print(f"SimSo not measured: {why}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
