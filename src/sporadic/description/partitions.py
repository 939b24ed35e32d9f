"""``[[partition]]`` tables: periodic or fault-handling partitions and the jobs they run."""

from __future__ import annotations

from typing import Any

from sporadic.description.entries import WASM_LIMIT_FIELDS, scheduled, too_frequent, wasm_spec
from sporadic.description.fields import FieldReader
from sporadic.description.model import (
    Action,
    Distribution,
    FaultJob,
    KernelSettings,
    Partition,
    Release,
    WasmSpec,
)
from sporadic.description.scripts import ScriptReader

PARTITION_FIELDS = {
    *WASM_LIMIT_FIELDS,
    "name",
    "priority",
    "budget",
    "period",
    "extra_refills",
    "sporadic",
    "badge",
    "domain",
    "release",
    "job",
    "timeout_handler",
    "fault_job",
}


class PartitionReader:
    """Reads one partition table: its scheduling, releases, job and what it does per fault."""

    def __init__(self, fields: FieldReader, scripts: ScriptReader) -> None:
        self.fields = fields
        self.scripts = scripts

    def partition(
        self,
        i: int,
        d: Any,
        kernel: KernelSettings,
        num_domains: int,
        names: dict[str, str],
        handlers: set[str | None],
    ) -> Partition:
        """One partition table. ``handlers`` are the partitions named as a timeout or fault
        handler: they need no release, and reply restart at no cost unless a ``fault_job`` says."""
        name, loc, prio, sc, domain = scheduled(
            self.fields, "partition", i, d, PARTITION_FIELDS, kernel, num_domains, names
        )
        release = self.release(d, loc, kernel.min_budget)
        job, wasm = self.job(d, loc)
        if release is not None and not job:
            self.fields.error(loc, "job", loc[2], "job: a released partition needs a job")
        fault_job = self.fault_job(d, loc)
        if name in handlers and fault_job is None:
            fault_job = FaultJob(Distribution("fixed", (0,)), "restart")
        if release is None and name not in handlers:
            self.fields.error(
                loc, "release", loc[2], "release: missing (only a fault handler may omit it)"
            )
        handler = self.fields.get(d, "timeout_handler", str, None, loc)
        return Partition(
            name=name,
            priority=prio,
            sc=sc,
            domain=domain,
            release=release,
            job=job,
            timeout_handler=handler,
            fault_job=fault_job,
            wasm=wasm,
            line=self.fields.lines.find("partition", i),
        )

    def release(self, d: dict, loc: tuple, min_period: int) -> Release | None:
        """``release``: when a periodic partition's jobs arrive and are due; not more often than
        ``min_period`` (the kernel's MIN_BUDGET, see ``too_frequent``)."""
        if "release" not in d:
            return None
        rd = self.fields.get(d, "release", dict, {}, loc)
        rloc = (loc[0], loc[1], f"{loc[2]}: release")
        self.fields.unknown(rd, {"period", "offset", "deadline"}, rloc)
        period = self.fields.duration(rd, "period", None, rloc)
        if period is None or period <= 0:
            self.fields.error(loc, "release", loc[2], "release: needs a period > 0")
        problem = too_frequent(period, min_period)
        if problem is not None:
            self.fields.error(loc, "release", loc[2], f"release: {problem}")
        offset = self.fields.duration(rd, "offset", 0, rloc)
        deadline = self.fields.duration(rd, "deadline", period, rloc)
        if deadline <= 0:
            self.fields.error(loc, "release", loc[2], "release: deadline must be > 0")
        return Release(period, offset, deadline)

    def job(self, d: dict, loc: tuple) -> tuple[tuple[Action, ...], WasmSpec | None]:
        """``job``: what one release runs, a compute time, a script or a wasm module."""
        if "job" not in d:
            return (), None
        jd = self.fields.get(d, "job", dict, {}, loc)
        jloc = (loc[0], loc[1], f"{loc[2]}: job")
        self.fields.unknown(jd, {"compute", "script", "wasm", "args", "engine"}, jloc)
        if sum(k in jd for k in ("compute", "script", "wasm")) != 1:
            self.fields.error(loc, "job", loc[2], "job: give one of compute, script or wasm")
        if "compute" in jd:
            compute = self.fields.distribution(jd["compute"], "job", loc)
            return (Action("compute", {"time": compute}),), None
        if "script" in jd:
            return self.scripts.script(jd["script"], "job", loc), None
        return (Action("wasm", {}),), wasm_spec(self.fields, jd, d, loc)

    def fault_job(self, d: dict, loc: tuple) -> FaultJob | None:
        """``fault_job``: what a handler partition computes per fault and how it replies."""
        if "fault_job" not in d:
            return None
        fd = self.fields.get(d, "fault_job", dict, {}, loc)
        floc = (loc[0], loc[1], f"{loc[2]}: fault_job")
        self.fields.unknown(fd, {"compute", "reply"}, floc)
        reply = self.fields.get(fd, "reply", str, "restart", floc)
        if reply not in ("restart", "abort", "stop"):
            self.fields.error(
                loc, "fault_job", loc[2], "fault_job: reply is restart, abort or stop"
            )
        compute = self.fields.distribution(fd.get("compute", "0ns"), "fault_job", loc)
        return FaultJob(compute, reply)


__all__ = ["PARTITION_FIELDS", "PartitionReader"]
