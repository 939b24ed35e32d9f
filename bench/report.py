"""Benchmark of trace reading and writing: is ``summarise`` close to the cost of unpacking?

Writes a synthetic trace of 10 million records (10 periodic tasks, five records a job:
release, switch in, start, end, switch out, with varying latencies), then measures in one run:
(a) a bare msgpack streaming unpack of the file, (b) ``summarise`` on it, (c) the peak RSS of
(b), each in a fresh process so that RSS belongs to it alone, and (d) the writing rate through
``TraceWriter.emit_batch`` and ``TraceWriter.emit``. Targets: (b) under 3x (a), (c) under 1 GiB,
(d) over 1 million records per second. Results go to bench/results/report.json.

Usage: python bench/report.py [--records N] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sporadic.records import JOB_END, JOB_RELEASE, JOB_START, SWITCH
from sporadic.traces import TraceWriter

TASKS = 10
PERIOD = 1_000_000  # ns between a task's releases
CHUNK = 100_000  # records built and written at once
HEADER = {
    "system": {"name": "bench-report"},
    "threads": [{"id": 0, "name": "idle"}]
    + [{"id": i, "name": f"task{i}", "kind": "partition"} for i in range(1, TASKS + 1)],
    "scs": [{"id": 100 + i, "name": f"task{i}", "home": i} for i in range(1, TASKS + 1)],
    "seed": 1,
}

# Run in a fresh process: the time of one pass and that process's peak RSS.
CHILD = """
import json, resource, sys, time
import msgpack
from sporadic.traces import summarise
path, what = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if what == "unpack":
    with open(path, "rb") as f:
        n = sum(1 for _ in msgpack.Unpacker(f, raw=False, strict_map_key=False))
else:
    n = len(summarise(path)["tasks"])
took = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": took, "objects": n, "peak_rss_bytes": rss}))
"""


def records(n: int) -> Iterator[list[tuple]]:
    """``n`` records in lists of CHUNK: job k of task i released at k*PERIOD + i*1000."""
    out: list[tuple] = []
    job = 0
    while True:
        release = (job // TASKS) * PERIOD + (job % TASKS) * 1_000
        thread, sc, lat = job % TASKS + 1, 100 + job % TASKS + 1, 100 + (job * 7919) % 900
        out += [
            (JOB_RELEASE, release, thread, job, release + PERIOD),
            (SWITCH, release + lat - 50, 0, thread, sc),
            (JOB_START, release + lat, thread, job),
            (JOB_END, release + lat + 700, thread, job),
            (SWITCH, release + lat + 700, thread, 0, -1),
        ]
        job += 1
        if len(out) >= CHUNK or job * 5 >= n:
            yield out[: n - (job * 5 - len(out))] if job * 5 > n else out
            if job * 5 >= n:
                return
            out = []


def write(path: Path, n: int, batch: bool) -> tuple[float, int]:
    """Seconds spent in the writer (building the records excluded), and the end time."""
    spent, end = 0.0, 0
    with TraceWriter(path, HEADER) as writer:
        for chunk in records(n):
            start = time.perf_counter()
            if batch:
                writer.emit_batch(chunk)
            else:
                emit = writer.emit
                for record in chunk:
                    emit(record)
            spent += time.perf_counter() - start
            end = chunk[-1][1]
        writer.close(end)
    return spent, end


def child(path: Path, what: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), what], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--emit-records", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.trace"
        batch_s, _ = write(path, args.records, batch=True)
        size = path.stat().st_size
        emit_s, _ = write(Path(tmp) / "emit.trace", args.emit_records, batch=False)
        unpack = child(path, "unpack")
        summary = child(path, "summarise")
    result = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "records": args.records,
        "trace_bytes": size,
        "unpack_seconds": round(unpack["seconds"], 3),
        "summarise_seconds": round(summary["seconds"], 3),
        "summarise_over_unpack": round(summary["seconds"] / unpack["seconds"], 2),
        "summarise_peak_rss_bytes": summary["peak_rss_bytes"],
        "unpack_peak_rss_bytes": unpack["peak_rss_bytes"],
        "emit_batch_records_per_s": round(args.records / batch_s),
        "emit_records_per_s": round(args.emit_records / emit_s),
        "emit_records": args.emit_records,
        "targets": {
            "summarise_over_unpack": 3.0,
            "summarise_peak_rss_bytes": 1 << 30,
            "records_per_s": 1_000_000,
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
