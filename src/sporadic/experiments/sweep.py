"""Schedulability sweeps: many generated task sets, each analysed and simulated, as one table.

A sweep's configuration is the ``[sweep]`` table of a TOML file (or the same keys in a dict)::

    [sweep]
    seed = 1
    tasks = [5, 10]                       # task counts
    utilisation = [0.5, 0.7, 0.9]         # total utilisations
    sets = 20                             # sets per (tasks, utilisation) point
    generator = "uunifast-discard"        # or "randfixedsum", "cfs"
    periods = { min = "1ms", max = "100ms" }
    granularity = "1ms"                   # periods are multiples of it (default: 1 ms or min)
    harmonic = false
    deadlines = "implicit"                # or "constrained"
    bounds = { min = 0.0, max = 1.0 }     # one task's utilisation
    budget_margin = 1.0                   # budget = WCET x margin + headroom, capped at period
    budget_headroom = "20us"              # default MIN_BUDGET (see generate.py)
    sporadic = true                       # the SCs' sporadic flag (false: constant bandwidth)
    duration = "hyperperiod"              # per set: a time, "hyperperiod" or "2 hyperperiods"
    max_duration = "1s"                   # the cap on a hyperperiod-long run

Each row is one set (``COLUMNS``). Sets run on a local process pool (``workers``) or on a Dask
cluster (``scheduler``, a ``distributed`` scheduler address); each set's seed comes from the
sweep's seed and the set's coordinates and the rows are sorted, so the table is the same, byte
for byte, whoever runs it. A set where the simulation contradicts a schedulable verdict is a
violation: its description is written to ``violations/`` next to the table, ready to replay.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import os
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sporadic.experiments.crosscheck import SetSpec, run_set, set_name, set_seed
from sporadic.experiments.generate import DEADLINES, GENERATORS, MIN_BUDGET, ns

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["COLUMNS", "SweepConfig", "load_config", "run_sweep", "write_rows"]

COLUMNS = (
    "tasks",
    "utilisation",
    "set",
    "seed",
    "actual_utilisation",
    "duration",
    "rta_schedulable",
    "sim_misses",
    "sim_worst_ratio",
    "violation",
)
CHUNK = 4  # sets per unit of work sent to a worker
Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class SweepConfig:
    """A sweep's parameters (module docstring), durations in ns."""

    seed: int = 1
    tasks: tuple[int, ...] = (10,)
    utilisation: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)
    sets: int = 20
    generator: str = "uunifast-discard"
    periods: tuple[int, int] = (1_000_000, 100_000_000)
    granularity: int | None = None
    harmonic: bool = False
    deadlines: str = "implicit"
    bounds: tuple[float, float] = (0.0, 1.0)
    budget_margin: float = 1.0
    budget_headroom: int = MIN_BUDGET
    sporadic: bool = True
    duration: int | str = "hyperperiod"
    max_duration: int | None = 1_000_000_000

    def generator_args(self) -> dict[str, Any]:
        """The keyword arguments of ``generate.task_set`` besides tasks, utilisation, seed."""
        return {
            "generator": self.generator,
            "periods": self.periods,
            "harmonic": self.harmonic,
            "deadlines": self.deadlines,
            "budget_margin": self.budget_margin,
            "granularity": self.granularity,
            "bounds": self.bounds,
            "budget_headroom": self.budget_headroom,
            "sporadic": self.sporadic,
        }

    def specs(self) -> list[SetSpec]:
        """Every set of the sweep, in table order."""
        return [
            SetSpec(n, u, i, set_seed(self.seed, n, u, i))
            for n in sorted(self.tasks)
            for u in sorted(self.utilisation)
            for i in range(self.sets)
        ]


def _pair(value: Any, key: str, convert: Callable[[Any], Any]) -> tuple[Any, Any]:
    if not isinstance(value, dict) or set(value) != {"min", "max"}:
        raise ValueError(f"[sweep] {key}: write {{ min = ..., max = ... }}, got {value!r}")
    return convert(value["min"]), convert(value["max"])


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def load_config(source: str | os.PathLike[str] | dict[str, Any]) -> SweepConfig:
    """A sweep configuration from a TOML file's ``[sweep]`` table, or from a dict (with or
    without the ``sweep`` level); unknown keys are refused with their name."""
    if isinstance(source, dict):
        table = source.get("sweep", source)
    else:
        with open(source, "rb") as f:
            table = tomllib.load(f).get("sweep")
        if table is None:
            raise ValueError(f"{source}: no [sweep] table")
    known = {f.name for f in fields(SweepConfig)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"[sweep]: unknown keys {unknown} (known: {sorted(known)})")
    args: dict[str, Any] = dict(table)
    try:
        for key in ("tasks", "utilisation"):
            if key in args:
                values = args[key] if isinstance(args[key], list) else [args[key]]
                convert = int if key == "tasks" else _number
                args[key] = tuple(convert(v) for v in values)
        if "periods" in args:
            args["periods"] = _pair(args["periods"], "periods", ns)
        if "bounds" in args:
            args["bounds"] = _pair(args["bounds"], "bounds", _number)
        for key in ("granularity", "budget_headroom", "max_duration"):
            if key in args:
                args[key] = ns(args[key])
        if "duration" in args and "hyperperiod" not in str(args["duration"]):
            args["duration"] = ns(args["duration"])
        if "budget_margin" in args:
            args["budget_margin"] = _number(args["budget_margin"])
    except ValueError as e:
        raise ValueError(f"[sweep]: {e}") from None
    config = SweepConfig(**args)
    if config.generator not in GENERATORS:
        raise ValueError(f"[sweep] generator: one of {', '.join(GENERATORS)}")
    if config.deadlines not in DEADLINES:
        raise ValueError(f"[sweep] deadlines: one of {', '.join(DEADLINES)}")
    if config.sets < 1 or not config.tasks or not config.utilisation:
        raise ValueError("[sweep] needs sets >= 1 and at least one task count and utilisation")
    return config


def run_chunk(config: SweepConfig, specs: list[SetSpec]) -> list[dict[str, Any]]:
    """Run a few sets (a unit of work for a pool or a Dask worker)."""
    return [run_set(config, spec) for spec in specs]


@contextlib.contextmanager
def _ticker(progress: Any, total: int) -> Iterator[Callable[[int], None]]:
    """``tick(n)``: n more sets done, shown on a rich console or given to a callback."""
    if progress is None:
        yield lambda n: None
        return
    from rich.console import Console

    if isinstance(progress, Console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=progress, transient=True) as bar:
            task = bar.add_task("task sets", total=total)
            yield lambda n: bar.advance(task, n)
        return
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    yield tick


def _local(
    config: SweepConfig, chunks: list[list[SetSpec]], workers: int | None, tick: Callable
) -> list[dict[str, Any]]:
    if workers == 0:  # in this process: for debugging and profiling
        rows = []
        for chunk in chunks:
            rows += run_chunk(config, chunk)
            tick(len(chunk))
        return rows
    rows = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_chunk, config, c): len(c) for c in chunks}
        for future in as_completed(futures):
            rows += future.result()
            tick(futures[future])
    return rows


def _dask(
    config: SweepConfig, chunks: list[list[SetSpec]], scheduler: Any, tick: Callable
) -> list[dict[str, Any]]:
    try:
        import distributed
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("a Dask scheduler needs the 'cluster' extra: distributed") from e
    own = not isinstance(scheduler, distributed.Client)
    client = distributed.Client(scheduler) if own else scheduler
    try:
        work = functools.partial(run_chunk, config)
        futures = client.map(work, chunks, pure=False)
        sizes = {f.key: len(c) for f, c in zip(futures, chunks, strict=True)}
        rows = []
        for future in distributed.as_completed(futures):
            rows += future.result()
            tick(sizes[future.key])
        return rows
    finally:
        if own:
            client.close()


def run_sweep(
    config: SweepConfig | str | os.PathLike[str] | dict[str, Any],
    out_path: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Console | Progress | None = None,
) -> list[dict[str, Any]]:
    """Run every set of a sweep and return its rows, sorted (``COLUMNS``).

    ``workers``: local processes (default: one per CPU; 0 runs in this process). ``scheduler``:
    a Dask scheduler's address (or a ``distributed.Client``) to run on instead. ``out_path``:
    write the table there (``.csv``, or ``.parquet`` with pyarrow) and each violation's
    description to ``violations/NAME.toml`` beside it. ``progress``: a rich ``Console`` for a
    progress bar, or a callback ``(done, total)``.
    """
    if not isinstance(config, SweepConfig):
        config = load_config(config)
    specs = config.specs()
    chunks = [specs[i : i + CHUNK] for i in range(0, len(specs), CHUNK)]
    with _ticker(progress, len(specs)) as tick:
        if scheduler is not None:
            rows = _dask(config, chunks, scheduler, tick)
        else:
            rows = _local(config, chunks, workers, tick)
    rows.sort(key=lambda r: (r["tasks"], r["utilisation"], r["set"]))
    descriptions = {
        set_name(SetSpec(r["tasks"], r["utilisation"], r["set"], r["seed"])): r.pop("description")
        for r in rows
        if "description" in r
    }
    if out_path is not None:
        write_rows(rows, out_path)
        if descriptions:
            folder = Path(out_path).parent / "violations"
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in sorted(descriptions.items()):
                (folder / f"{name}.toml").write_text(text)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_rows(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """The table as CSV, or as Parquet when ``path`` ends in ``.parquet`` (needs pyarrow)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as e:
            raise RuntimeError("writing .parquet needs pyarrow (pip install pyarrow)") from e
        table = pa.Table.from_pylist([{k: r[k] for k in COLUMNS} for r in rows])
        pq.write_table(table, path)
        return
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([_cell(r[k]) for k in COLUMNS])
