"""The settings tables of a description: ``[system]``, ``[cpu]``, ``[kernel]``, ``[domains]``."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from sporadic.description.fields import FieldReader
from sporadic.description.model import KernelSettings
from sporadic.description.profiles import PROFILES
from sporadic.units import MAX_SEED

MAX_DOMAIN = 255  # seL4's CONFIG_NUM_DOMAINS is at most 256 (scheduler/domains.py)
MAX_FUEL_PER_US = 1_000_000  # a thousand wasm instructions a nanosecond: beyond any CPU
# MIN_BUDGET is twice the kernel's worst-case entry, tens of microseconds on real platforms; a
# second is far above any, and keeps every kernel entry's cost (at most MIN_BUDGET) small
# enough that no run's times can leave what a trace holds
MAX_MIN_BUDGET = 1_000_000_000

# the parts of one kernel entry (and the timer's slack), each at most MIN_BUDGET
KERNEL_COSTS = (
    "entry_cost",
    "irq_latency",
    "idle_irq_latency",
    "syscall_latency",
    "fastpath_cost",
    "timer_precision",
)
KERNEL_FIELDS = {
    "profile",
    "min_budget",
    "entry_cost",
    "irq_latency",
    "idle_irq_latency",
    "syscall_latency",
    "fastpath",
    "fastpath_cost",
    "timer_precision",
}


class SettingsReader:
    """Reads the tables that configure the whole system rather than one entry of it."""

    def __init__(self, fields: FieldReader) -> None:
        self.fields = fields

    def system_settings(self, data: dict, default_name: str | None = None) -> tuple[str, int, int]:
        """``[system]``: name (default: the file's stem), duration and seed."""
        sysd = self.fields.get(data, "system", dict, {}, ("system", 0, "[system]"))
        sloc = ("system", 0, "[system]")
        self.fields.unknown(sysd, {"name", "duration", "seed"}, sloc)
        name = self.fields.get(sysd, "name", str, default_name or Path(self.fields.path).stem, sloc)
        duration = self.fields.duration(sysd, "duration", 1_000_000_000, sloc)
        seed = self.fields.bounded(sysd, "seed", 0, sloc, 0, MAX_SEED)
        if duration <= 0:
            self.fields.error(sloc, "duration", "[system]", "duration: must be > 0")
        return name, duration, seed

    def cpu_settings(self, data: dict) -> int:
        """``[cpu] fuel_per_us``: how much wasmtime fuel one simulated microsecond executes."""
        cd = self.fields.get(data, "cpu", dict, {}, ("cpu", 0, "[cpu]"))
        cloc = ("cpu", 0, "[cpu]")
        self.fields.unknown(cd, {"fuel_per_us", "engine", "wasmer_scale"}, cloc)
        fuel = self.fields.get(cd, "fuel_per_us", int, 1000, cloc)
        if fuel <= 0:
            self.fields.error(cloc, "fuel_per_us", "[cpu]", "fuel_per_us: must be > 0")
        if fuel > MAX_FUEL_PER_US:
            self.fields.error(
                cloc, "fuel_per_us", "[cpu]", f"fuel_per_us: must be at most {MAX_FUEL_PER_US}"
            )
        return fuel

    def kernel_settings(self, data: dict) -> KernelSettings:
        """``[kernel]``: MIN_BUDGET, the costs of kernel entries and the timer's precision, with a
        ``profile`` of a measured platform (``description/profiles.py``) as the defaults."""
        kd = self.fields.get(data, "kernel", dict, {}, ("kernel", 0, "[kernel]"))
        kloc = ("kernel", 0, "[kernel]")
        self.fields.unknown(kd, KERNEL_FIELDS, kloc)
        profile = self.fields.get(kd, "profile", str, None, kloc)
        if profile is not None and profile not in PROFILES:
            known = ", ".join(sorted(PROFILES))
            self.fields.error(
                kloc, "profile", "[kernel]", f"profile: {profile!r} is not one of {known}"
            )
        base = {f.name: f.default for f in fields(KernelSettings)}
        base.update(PROFILES.get(profile, {}))
        del base["profile"]
        fastpath = self.fields.get(kd, "fastpath", bool, base.pop("fastpath"), kloc)
        kernel = KernelSettings(
            profile=profile,
            fastpath=fastpath,
            **{key: self.fields.duration(kd, key, value, kloc) for key, value in base.items()},
        )
        if kernel.min_budget < 1:
            self.fields.error(kloc, "min_budget", "[kernel]", "min_budget: must be at least 1ns")
        if kernel.min_budget > MAX_MIN_BUDGET:
            self.fields.error(
                kloc,
                "min_budget",
                "[kernel]",
                f"min_budget: {kernel.min_budget} ns is above {MAX_MIN_BUDGET} ns (1s)",
            )
        for key in KERNEL_COSTS:
            # MIN_BUDGET is twice the kernel's worst-case entry: no part of one entry is longer
            # (a longer one would also charge an SC for millions of periods at once)
            if getattr(kernel, key) > kernel.min_budget:
                self.fields.error(
                    kloc,
                    key,
                    "[kernel]",
                    f"{key}: {getattr(kernel, key)} ns is above MIN_BUDGET {kernel.min_budget} ns",
                )
        return kernel

    def domain_schedule(self, data: dict) -> tuple[tuple[int, int], ...]:
        """``[domains] schedule``: (domain, length) entries; none without a ``[domains]`` table."""
        if "domains" not in data:
            return ()
        dd = self.fields.get(data, "domains", dict, {}, ("domains", 0, "[domains]"))
        dloc = ("domains", 0, "[domains]")
        self.fields.unknown(dd, {"schedule"}, dloc)
        sched = self.fields.get(dd, "schedule", list, [], dloc)
        if not sched:
            self.fields.error(dloc, "schedule", "[domains]", "schedule: needs at least one entry")
        out = []
        for i, entry in enumerate(sched):
            eloc = ("domains", 0, f"[domains] schedule[{i}]")
            if not isinstance(entry, dict):
                self.fields.error(
                    dloc, "schedule", eloc[2], "expected { domain = N, length = ... }"
                )
            self.fields.unknown(entry, {"domain", "length"}, eloc)
            dom = self.fields.get(entry, "domain", int, None, eloc)
            length = self.fields.duration(entry, "length", None, eloc)
            if dom is None or dom < 0 or length is None or length <= 0:
                self.fields.error(dloc, "schedule", eloc[2], "needs domain >= 0 and a length > 0")
            if dom > MAX_DOMAIN:
                self.fields.error(
                    dloc,
                    "schedule",
                    eloc[2],
                    f"domain: {dom} is above {MAX_DOMAIN} (seL4 has at most 256 domains)",
                )
            out.append((dom, length))
        return tuple(out)


__all__ = ["SettingsReader"]
