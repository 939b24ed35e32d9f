"""Microkit's tables in a description: ``[[protection_domain]]`` and ``[[channel]]``.

A PD's handlers (``init``, ``notified``, ``protected``) and interrupts are read here too; the
Microkit workload loader reads the same keys from a ``.system`` file's side file.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sporadic.description.engines import REACTOR_ONLY
from sporadic.description.entries import WASM_LIMIT_FIELDS, scheduled, too_frequent, wasm_spec
from sporadic.description.fields import FieldReader
from sporadic.description.model import (
    Channel,
    ChannelEnd,
    Handlers,
    IrqTimer,
    KernelSettings,
    ProtectionDomain,
    default_handlers,
)
from sporadic.description.scripts import ScriptReader, channel_id

PD_FIELDS = {
    "wasm",
    "args",
    "engine",
    *WASM_LIMIT_FIELDS,
    "name",
    "priority",
    "budget",
    "period",
    "passive",
    "domain",
    "deadline",
    "init",
    "notified",
    "protected",
    "irq",
}


class ProtectionDomainReader:
    """Reads protection domains, their handlers and interrupts, and the channels between them."""

    def __init__(self, fields: FieldReader, scripts: ScriptReader) -> None:
        self.fields = fields
        self.scripts = scripts

    def protection_domain(
        self, i: int, d: Any, kernel: KernelSettings, num_domains: int, names: dict[str, str]
    ) -> ProtectionDomain:
        """One PD table: its handlers are scripts, or a wasm module's exports."""
        name, loc, prio, sc, domain = scheduled(
            self.fields, "protection_domain", i, d, PD_FIELDS, kernel, num_domains, names
        )
        wasm = None
        if "wasm" in d:
            for key in ("init", "notified", "protected"):
                if key in d:
                    self.fields.error(
                        loc, key, loc[2], f"{key}: a PD with a wasm module has its handlers there"
                    )
            wasm = wasm_spec(self.fields, d, d, loc)
            if wasm.engine == "wasmer":
                self.fields.error(loc, "engine", loc[2], REACTOR_ONLY)
            wasm = dataclasses.replace(wasm, engine="wasmtime")
        elif "engine" in d:
            self.fields.error(loc, "engine", loc[2], "engine: only for a PD with a wasm module")
        return ProtectionDomain(
            wasm=wasm,
            name=name,
            priority=prio,
            sc=sc,
            passive=self.fields.get(d, "passive", bool, False, loc),
            domain=domain,
            handlers=self.handlers(d, loc, default_handlers()),
            irqs=self.irq_timers(d, loc, kernel.min_budget),
            line=self.fields.lines.find("protection_domain", i),
        )

    def handlers(self, d: dict, loc: tuple, defaults: Handlers) -> Handlers:
        """The ``deadline``, ``init``, ``notified`` and ``protected`` keys of a PD's table."""
        deadline = self.fields.duration(d, "deadline", defaults.deadline, loc)
        init = self.scripts.script(d["init"], "init", loc) if "init" in d else defaults.init
        per_channel = {}
        for key in ("notified", "protected"):
            if key not in d:
                per_channel[key] = getattr(defaults, key)
                continue
            v = d[key]
            if isinstance(v, list):
                per_channel[key] = {-1: self.scripts.script(v, key, loc)}
            elif isinstance(v, dict):
                table = {}
                for ch, items in v.items():
                    if ch == "any":
                        table[-1] = self.scripts.script(items, key, loc)
                        continue
                    try:
                        table[channel_id(int(ch))] = self.scripts.script(items, key, loc)
                    except ValueError:
                        self.fields.error(
                            loc,
                            key,
                            loc[2],
                            f"{key}: keys are channel ids 0..61 or any, got {ch!r}",
                        )
                per_channel[key] = table
            else:
                self.fields.error(loc, key, loc[2], f"{key}: expected a list of actions or a table")
        return Handlers(init, per_channel["notified"], per_channel["protected"], deadline)

    def irq_timers(self, d: dict, loc: tuple, min_period: int) -> tuple[IrqTimer, ...]:
        """``irq``: periodic interrupts, each on a channel id of the PD (``irq`` defaults to it),
        none more often than ``min_period`` (the kernel's MIN_BUDGET, see ``release_period``)."""
        out = []
        for j, item in enumerate(self.fields.get(d, "irq", list, [], loc)):
            iloc = (loc[0], loc[1], f"{loc[2]}: irq[{j}]")
            if not isinstance(item, dict):
                self.fields.error(loc, "irq", iloc[2], "expected { id = N, period = ... }")
            self.fields.unknown(item, {"id", "irq", "period", "offset"}, iloc)
            ch = self.fields.get(item, "id", int, None, iloc)
            if ch is None or not 0 <= ch <= 61:
                self.fields.error(loc, "irq", iloc[2], "id: a channel id 0..61 is required")
            period = self.fields.duration(item, "period", None, iloc)
            if period is None or period <= 0:
                self.fields.error(loc, "irq", iloc[2], "period: required and > 0")
            problem = too_frequent(period, min_period)
            if problem is not None:
                self.fields.error(loc, "irq", iloc[2], problem)
            out.append(
                IrqTimer(
                    ch,
                    self.fields.get(item, "irq", int, ch, iloc),
                    period,
                    self.fields.duration(item, "offset", 0, iloc),
                )
            )
        return tuple(out)

    def channel(self, i: int, d: Any) -> Channel:
        """One channel table, its two ends; ``check_microkit_graph`` checks them against the PDs."""
        loc = ("channel", i, f"channel #{i + 1}")
        if not isinstance(d, dict):
            self.fields.error(loc, None, loc[2], "expected a table")
        self.fields.unknown(d, {"ends"}, loc)
        ends = self.fields.get(d, "ends", list, [], loc)
        if len(ends) != 2:
            self.fields.error(loc, "ends", loc[2], "exactly two end elements must be specified")
        out = []
        for j, e in enumerate(ends):
            eloc = (loc[0], loc[1], f"{loc[2]}: ends[{j}]")
            if not isinstance(e, dict):
                self.fields.error(loc, "ends", eloc[2], "expected { pd = NAME, id = N }")
            self.fields.unknown(e, {"pd", "id", "pp", "notify"}, eloc)
            pd = self.fields.get(e, "pd", str, None, eloc)
            ch = self.fields.get(e, "id", int, None, eloc)
            if pd is None or ch is None:
                self.fields.error(loc, "ends", eloc[2], "pd and id are required")
            if not 0 <= ch <= 61:
                self.fields.error(loc, "ends", eloc[2], f"id must be < 62, got {ch}")
            out.append(
                ChannelEnd(
                    pd,
                    ch,
                    self.fields.get(e, "pp", bool, False, eloc),
                    self.fields.get(e, "notify", bool, True, eloc),
                )
            )
        return Channel(out[0], out[1])


__all__ = ["PD_FIELDS", "ProtectionDomainReader"]
