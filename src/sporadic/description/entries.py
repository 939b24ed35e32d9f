"""What the named entries of a description share: a unique name, scheduling and a wasm module.

Partitions and protection domains are scheduled alike (name, priority, budget and period,
domain), threads need a unique name too, and a partition's job or a PD may run a wasm module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sporadic.description.engines import read_engine
from sporadic.description.fields import FieldReader
from sporadic.description.model import KernelSettings, SCParams, WasmSpec

MAX_PRIORITY = 254  # Microkit's limit for a PD; the 255th level is the monitor's
DEFAULT_BUDGET = 1_000_000  # Microkit's default 1000 us
MAX_TABLE_ELEMENTS = (1 << 32) - 1  # a wasm32 table's largest size

WASM_LIMIT_FIELDS = {
    "memory",
    "tables",
    "max_job_time",
    "on_fault",
    "fault_channel",
    "fault_handler",
}


def unique_name(fields: FieldReader, d: dict, loc: tuple, names: dict[str, str], kind: str) -> str:
    """The entry's name, recorded in ``names`` (name -> kind): one namespace for every kind."""
    name = fields.get(d, "name", str, None, loc)
    if not name:
        fields.error(loc, None, loc[2], "name: missing")
    if name in names:
        fields.error(loc, "name", loc[2], f"name: {name!r} is already used by a {names[name]}")
    names[name] = kind
    return name


def scheduled(
    fields: FieldReader,
    table: str,
    i: int,
    d: Any,
    allowed: set[str],
    kernel: KernelSettings,
    num_domains: int,
    names: dict[str, str],
) -> tuple[str, tuple, int, SCParams, int]:
    """What partitions and PDs share: name, priority, SC parameters, domain."""
    loc = (table, i, f"{table} #{i + 1}")
    if not isinstance(d, dict):
        fields.error(loc, None, loc[2], "expected a table")
    name = unique_name(fields, d, loc, names, table.replace("_", " "))
    loc = (table, i, f'{table} "{name}"')
    fields.unknown(d, allowed, loc)
    prio = fields.priority(d, loc, MAX_PRIORITY)
    sc = fields.sc_params(d, loc, DEFAULT_BUDGET)
    fields.check_sc_against_kernel(sc, kernel, loc)
    domain = fields.get(d, "domain", int, 0, loc)
    if not 0 <= domain < num_domains:
        fields.error(loc, "domain", loc[2], f"domain: {domain} is not in the domain schedule")
    return name, loc, prio, sc, domain


def too_frequent(period: int, min_budget: int) -> str | None:
    """Why a periodic release or interrupt of ``period`` ns is refused, else None.

    A timer that fires more often than MIN_BUDGET (twice the kernel's worst-case entry) fires
    faster than the kernel can take it; in the simulator each firing also queues a job, so a
    period of 1 ns would fill memory (20 million jobs in 20 ms)."""
    if period < min_budget:
        return f"period: {period} ns is below MIN_BUDGET {min_budget} ns"
    return None


def wasm_spec(fields: FieldReader, where: dict, limits: dict, loc: tuple) -> WasmSpec:
    """``wasm``, ``args`` and ``engine`` from ``where``; limits and fault policy from ``limits``."""
    path = fields.get(where, "wasm", str, None, loc)
    args = fields.get(where, "args", list, [], loc)
    if not all(isinstance(a, str) for a in args):
        fields.error(loc, "args", loc[2], "args: a list of strings")
    base = Path(fields.path).parent
    resolved = Path(path) if Path(path).is_absolute() else base / path
    if not resolved.exists():
        fields.error(loc, "wasm", loc[2], f"wasm: {resolved} does not exist")
    if not resolved.is_file():
        fields.error(loc, "wasm", loc[2], f"wasm: {resolved} is not a regular file")
    on_fault = fields.get(limits, "on_fault", str, "restart", loc)
    if on_fault not in ("restart", "stop"):
        fields.error(loc, "on_fault", loc[2], "on_fault: restart or stop")
    fault_channel = fields.get(limits, "fault_channel", int, None, loc)
    if fault_channel is not None and not 0 <= fault_channel <= 61:
        fields.error(loc, "fault_channel", loc[2], "fault_channel: a channel id 0..61")
    return WasmSpec(
        path=str(resolved),
        args=tuple(args),
        memory=fields.size(limits, "memory", 64 * 1024 * 1024, loc),
        tables=fields.bounded(limits, "tables", 10_000, loc, 0, MAX_TABLE_ELEMENTS),
        max_job_time=fields.duration(limits, "max_job_time", 1_000_000_000, loc),
        on_fault=on_fault,
        fault_channel=fault_channel,
        fault_handler=fields.get(limits, "fault_handler", str, None, loc),
        engine=read_engine(fields, where, loc),
    )


__all__ = [
    "DEFAULT_BUDGET",
    "MAX_PRIORITY",
    "WASM_LIMIT_FIELDS",
    "scheduled",
    "too_frequent",
    "unique_name",
    "wasm_spec",
]
