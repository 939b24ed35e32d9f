"""The project's TOML system description: load, check, resolve.

Everything is checked before anything is simulated, and every error names the file, the line
(where tomllib or the checks can tell it) and the field, e.g.::

    vehicle.toml:14: partition "control": budget: "1ms" exceeds period "500us"

The resolved description uses integer nanoseconds throughout and is what a trace header stores.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from sporadic.description.fields import FieldReader
from sporadic.description.model import (
    Action,
    Channel,
    ChannelEnd,
    Distribution,
    FaultJob,
    Handlers,
    IrqTimer,
    KernelSettings,
    Partition,
    ProtectionDomain,
    Release,
    SCParams,
    System,
    Thread,
    WasmSpec,
    default_handlers,
)
from sporadic.errors import DescriptionError
from sporadic.units import parse_duration

NUM_PRIORITIES = 256
MAX_PRIORITY = 254  # Microkit's limit for a PD; the 255th level is the monitor's
DEFAULT_BUDGET = 1_000_000  # Microkit's default 1000 us


# ---------------------------------------------------------------------------- loading


class _Loader(FieldReader):
    def __init__(self, path: str, text: str) -> None:
        super().__init__(path, text)
        self.notifications: list[str] = []
        self.endpoints: list[str] = []
        self.waitables: list[str] = []

    # -- scripts

    def script(self, items: Any, key: str, loc: tuple, depth: int = 0) -> tuple[Action, ...]:
        line = self.lines.find(loc[0], loc[1], key)
        if not isinstance(items, list):
            self.error(loc, key, loc[2], f"{key}: expected a list of actions")
        out = []
        for i, item in enumerate(items):
            where = f"{loc[2]}: {key}[{i}]"
            if not isinstance(item, dict) or not item:
                raise DescriptionError(
                    self.path, line, where, f"expected an action table, got {item!r}"
                )
            out.append(self.action(item, where, line, loc, depth))
        return tuple(out)

    def action(self, item: dict, where: str, line: int | None, loc: tuple, depth: int) -> Action:
        op = next((k for k in item if k in SCRIPT_OPS), None)
        if op is None:
            raise DescriptionError(
                self.path,
                line,
                where,
                f"no action in {item!r}; actions are: {', '.join(sorted(SCRIPT_OPS))}",
            )
        allowed = SCRIPT_OPS[op]
        for k in item:
            if k != op and k not in allowed:
                raise DescriptionError(
                    self.path, line, where, f"{op}: unknown field {k!r} (known: {sorted(allowed)})"
                )
        v = item[op]
        args: dict[str, Any] = {}
        try:
            if op == "compute":
                args["time"] = self.distribution(v, "compute", loc)
            elif op in ("spin", "yield"):
                if v is not True:
                    raise ValueError(f"write {{ {op} = true }}")
            elif op == "loop":
                args["body"] = self.script(v, "script", loc, depth + 1)
                times = item.get("times")
                if times is not None and (not isinstance(times, int) or times < 0):
                    raise ValueError("times must be a non-negative integer")
                args["times"] = times
            elif op == "mark":
                args["label"] = _str(v, "mark")
                args["value"] = _int(item.get("value", 0), "value")
            elif op == "notify":
                args["channel"] = _channel(v)
            elif op == "ppcall":
                args["channel"] = _channel(v)
                args["words"] = _words(item.get("words", []))
            elif op == "mark_result":
                args["label"] = _str(v, "mark_result")
            elif op == "signal":
                args["target"] = _str(v, op)
                self._declare(self.notifications, args["target"])
                args["badge"] = _int(item.get("badge", 1), "badge")
            elif op in ("wait", "poll"):
                # a notification, unless the name is an endpoint somewhere in the file
                args["target"] = _str(v, op)
                self._declare(self.waitables, args["target"])
            elif op in IPC_OPS:
                args["target"] = _str(v, op)
                self._declare(self.endpoints, args["target"])
                args["label"] = _int(item.get("label", 0), "label")
                args["badge"] = _int(item.get("badge", 0), "badge")
                args["words"] = _words(item.get("words", []))
                if op in ("nbsend_recv", "nbsend_wait"):
                    args["source"] = _str(item.get("from"), "from")
                    self._declare(self.endpoints, args["source"])
            elif op == "reply":
                args["label"] = _int(v, "reply")
                args["words"] = _words(item.get("words", []))
                args["via"] = None if "via" not in item else _str(item["via"], "via")
            elif op == "bind_notification":
                args["target"] = _str(v, op)
                args["ntfn"] = _str(item.get("ntfn"), "ntfn")
                self._declare(self.notifications, args["ntfn"])
            elif op in (
                "suspend",
                "resume",
                "consumed",
                "yield_to",
                "unbind",
                "unbind_notification",
            ):
                args["target"] = _str(v, op)
            elif op == "set_priority":
                args["target"] = _str(v, op)
                args["priority"] = _int(item.get("priority"), "priority")
            elif op == "bind":
                args["target"] = _str(v, op)
                args["to"] = _str(item.get("to"), "to")
            elif op == "configure":
                args["target"] = _str(v, op)
                for k in ("budget", "period"):
                    if k not in item:
                        raise ValueError(f"configure needs {k}")
                    args[k] = parse_duration(item[k])
                args["extra_refills"] = _int(item.get("extra_refills", 0), "extra_refills")
                args["badge"] = _int(item.get("badge", 0), "badge")
                args["sporadic"] = bool(item.get("sporadic", False))
        except ValueError as e:
            raise DescriptionError(self.path, line, where, f"{op}: {e}") from None
        return Action(op, args, line)

    def _declare(self, names: list[str], name: str) -> None:
        if name not in names:
            names.append(name)

    # -- top level

    def system_settings(self, data: dict, default_name: str | None = None) -> tuple[str, int, int]:
        """``[system]``: name (default: the file's stem), duration and seed."""
        sysd = self.get(data, "system", dict, {}, ("system", 0, "[system]"))
        sloc = ("system", 0, "[system]")
        self.unknown(sysd, {"name", "duration", "seed"}, sloc)
        name = self.get(sysd, "name", str, default_name or Path(self.path).stem, sloc)
        duration = self.duration(sysd, "duration", 1_000_000_000, sloc)
        seed = self.get(sysd, "seed", int, 0, sloc)
        if duration <= 0:
            self.error(sloc, "duration", "[system]", "duration: must be > 0")
        return name, duration, seed

    def cpu_settings(self, data: dict) -> int:
        """``[cpu] fuel_per_us``: how much wasmtime fuel one simulated microsecond executes."""
        cd = self.get(data, "cpu", dict, {}, ("cpu", 0, "[cpu]"))
        cloc = ("cpu", 0, "[cpu]")
        self.unknown(cd, {"fuel_per_us"}, cloc)
        fuel = self.get(cd, "fuel_per_us", int, 1000, cloc)
        if fuel <= 0:
            self.error(cloc, "fuel_per_us", "[cpu]", "fuel_per_us: must be > 0")
        return fuel

    def kernel_settings(self, data: dict) -> KernelSettings:
        kd = self.get(data, "kernel", dict, {}, ("kernel", 0, "[kernel]"))
        kloc = ("kernel", 0, "[kernel]")
        self.unknown(kd, {"min_budget", "entry_cost", "timer_precision"}, kloc)
        kernel = KernelSettings(
            min_budget=self.duration(kd, "min_budget", 20_000, kloc),
            entry_cost=self.duration(kd, "entry_cost", 0, kloc),
            timer_precision=self.duration(kd, "timer_precision", 0, kloc),
        )
        if kernel.min_budget < 1:
            self.error(kloc, "min_budget", "[kernel]", "min_budget: must be at least 1ns")
        return kernel

    def load(self, data: dict) -> System:
        self.unknown(
            data,
            {
                "system",
                "kernel",
                "cpu",
                "domains",
                "partition",
                "thread",
                "protection_domain",
                "channel",
            },
            ("", 0, "top level"),
        )
        name, duration, seed = self.system_settings(data)
        kernel = self.kernel_settings(data)
        fuel_per_us = self.cpu_settings(data)

        domains: tuple[tuple[int, int], ...] = ()
        if "domains" in data:
            dd = self.get(data, "domains", dict, {}, ("domains", 0, "[domains]"))
            dloc = ("domains", 0, "[domains]")
            self.unknown(dd, {"schedule"}, dloc)
            sched = self.get(dd, "schedule", list, [], dloc)
            if not sched:
                self.error(dloc, "schedule", "[domains]", "schedule: needs at least one entry")
            out = []
            for i, entry in enumerate(sched):
                eloc = ("domains", 0, f"[domains] schedule[{i}]")
                if not isinstance(entry, dict):
                    self.error(dloc, "schedule", eloc[2], "expected { domain = N, length = ... }")
                self.unknown(entry, {"domain", "length"}, eloc)
                dom = self.get(entry, "domain", int, None, eloc)
                length = self.duration(entry, "length", None, eloc)
                if dom is None or dom < 0 or length is None or length <= 0:
                    self.error(dloc, "schedule", eloc[2], "needs domain >= 0 and a length > 0")
                out.append((dom, length))
            domains = tuple(out)
        num_domains = max((d for d, _ in domains), default=0) + 1

        parts = self.get(data, "partition", list, [], ("partition", 0, "[[partition]]"))
        threads = self.get(data, "thread", list, [], ("thread", 0, "[[thread]]"))
        names: dict[str, str] = {}
        handlers = {
            p[key]
            for p in parts
            for key in ("timeout_handler", "fault_handler")
            if isinstance(p, dict) and isinstance(p.get(key), str)
        }
        partitions = tuple(
            self.partition(i, p, kernel, num_domains, names, handlers) for i, p in enumerate(parts)
        )
        thread_descs = tuple(
            self.thread(i, t, kernel, num_domains, names) for i, t in enumerate(threads)
        )
        self.cross_check(partitions, thread_descs, names)
        pd_items = self.get(data, "protection_domain", list, [], ("protection_domain", 0, "pd"))
        pds = tuple(
            self.protection_domain(i, d, kernel, num_domains, names) for i, d in enumerate(pd_items)
        )
        ch_items = self.get(data, "channel", list, [], ("channel", 0, "[[channel]]"))
        channels = tuple(self.channel(i, c) for i, c in enumerate(ch_items))
        check_microkit_graph(self.path, pds, channels, self.lines)
        return System(
            name=name,
            duration=duration,
            seed=seed,
            kernel=kernel,
            domains=domains,
            partitions=partitions,
            threads=thread_descs,
            protection_domains=pds,
            channels=channels,
            fuel_per_us=fuel_per_us,
            notifications=tuple(
                n
                for n in dict.fromkeys(self.notifications + self.waitables)
                if n not in self.endpoints
            ),
            endpoints=tuple(self.endpoints),
            path=self.path,
        )

    def _name(self, d: dict, loc: tuple, names: dict[str, str], kind: str) -> str:
        name = self.get(d, "name", str, None, loc)
        if not name:
            self.error(loc, None, loc[2], "name: missing")
        if name in names:
            self.error(loc, "name", loc[2], f"name: {name!r} is already used by a {names[name]}")
        names[name] = kind
        return name

    def scheduled(
        self,
        table: str,
        i: int,
        d: Any,
        fields: set[str],
        kernel: KernelSettings,
        num_domains: int,
        names: dict[str, str],
    ) -> tuple[str, tuple, int, SCParams, int]:
        """What partitions and PDs share: name, priority, SC parameters, domain."""
        loc = (table, i, f"{table} #{i + 1}")
        if not isinstance(d, dict):
            self.error(loc, None, loc[2], "expected a table")
        name = self._name(d, loc, names, table.replace("_", " "))
        loc = (table, i, f'{table} "{name}"')
        self.unknown(d, fields, loc)
        prio = self.priority(d, loc, MAX_PRIORITY)
        sc = self.sc_params(d, loc, DEFAULT_BUDGET)
        self.check_sc_against_kernel(sc, kernel, loc)
        domain = self.get(d, "domain", int, 0, loc)
        if not 0 <= domain < num_domains:
            self.error(loc, "domain", loc[2], f"domain: {domain} is not in the domain schedule")
        return name, loc, prio, sc, domain

    def partition(
        self,
        i: int,
        d: Any,
        kernel: KernelSettings,
        num_domains: int,
        names: dict[str, str],
        handlers: set[str | None],
    ) -> Partition:
        name, loc, prio, sc, domain = self.scheduled(
            "partition", i, d, PARTITION_FIELDS, kernel, num_domains, names
        )
        release = None
        if "release" in d:
            rd = self.get(d, "release", dict, {}, loc)
            rloc = (loc[0], loc[1], f"{loc[2]}: release")
            self.unknown(rd, {"period", "offset", "deadline"}, rloc)
            period = self.duration(rd, "period", None, rloc)
            if period is None or period <= 0:
                self.error(loc, "release", loc[2], "release: needs a period > 0")
            offset = self.duration(rd, "offset", 0, rloc)
            deadline = self.duration(rd, "deadline", period, rloc)
            if deadline <= 0:
                self.error(loc, "release", loc[2], "release: deadline must be > 0")
            release = Release(period, offset, deadline)
        job: tuple[Action, ...] = ()
        wasm = None
        if "job" in d:
            jd = self.get(d, "job", dict, {}, loc)
            jloc = (loc[0], loc[1], f"{loc[2]}: job")
            self.unknown(jd, {"compute", "script", "wasm", "args"}, jloc)
            if sum(k in jd for k in ("compute", "script", "wasm")) != 1:
                self.error(loc, "job", loc[2], "job: give one of compute, script or wasm")
            if "compute" in jd:
                job = (Action("compute", {"time": self.distribution(jd["compute"], "job", loc)}),)
            elif "script" in jd:
                job = self.script(jd["script"], "job", loc)
            else:
                wasm = self.wasm_spec(jd, d, loc)
                job = (Action("wasm", {}),)
        if release is not None and not job:
            self.error(loc, "job", loc[2], "job: a released partition needs a job")
        fault_job = None
        if "fault_job" in d:
            fd = self.get(d, "fault_job", dict, {}, loc)
            floc = (loc[0], loc[1], f"{loc[2]}: fault_job")
            self.unknown(fd, {"compute", "reply"}, floc)
            reply = self.get(fd, "reply", str, "restart", floc)
            if reply not in ("restart", "abort", "stop"):
                self.error(loc, "fault_job", loc[2], "fault_job: reply is restart, abort or stop")
            compute = self.distribution(fd.get("compute", "0ns"), "fault_job", loc)
            fault_job = FaultJob(compute, reply)
        if name in handlers and fault_job is None:
            fault_job = FaultJob(Distribution("fixed", (0,)), "restart")
        if release is None and name not in handlers:
            self.error(
                loc, "release", loc[2], "release: missing (only a fault handler may omit it)"
            )
        handler = self.get(d, "timeout_handler", str, None, loc)
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
            line=self.lines.find("partition", i),
        )

    def wasm_spec(self, where: dict, limits: dict, loc: tuple) -> WasmSpec:
        """``wasm`` and ``args`` from ``where``; limits and fault policy from ``limits``."""
        path = self.get(where, "wasm", str, None, loc)
        args = self.get(where, "args", list, [], loc)
        if not all(isinstance(a, str) for a in args):
            self.error(loc, "args", loc[2], "args: a list of strings")
        base = Path(self.path).parent
        resolved = Path(path) if Path(path).is_absolute() else base / path
        if not resolved.exists():
            self.error(loc, "wasm", loc[2], f"wasm: {resolved} does not exist")
        on_fault = self.get(limits, "on_fault", str, "restart", loc)
        if on_fault not in ("restart", "stop"):
            self.error(loc, "on_fault", loc[2], "on_fault: restart or stop")
        fault_channel = self.get(limits, "fault_channel", int, None, loc)
        if fault_channel is not None and not 0 <= fault_channel <= 61:
            self.error(loc, "fault_channel", loc[2], "fault_channel: a channel id 0..61")
        return WasmSpec(
            path=str(resolved),
            args=tuple(args),
            memory=self.size(limits, "memory", 64 * 1024 * 1024, loc),
            tables=self.get(limits, "tables", int, 10_000, loc),
            max_job_time=self.duration(limits, "max_job_time", 1_000_000_000, loc),
            on_fault=on_fault,
            fault_channel=fault_channel,
            fault_handler=self.get(limits, "fault_handler", str, None, loc),
        )

    def handlers(self, d: dict, loc: tuple, defaults: Handlers) -> Handlers:
        """The ``deadline``, ``init``, ``notified`` and ``protected`` keys of a PD's table."""
        deadline = self.duration(d, "deadline", defaults.deadline, loc)
        init = self.script(d["init"], "init", loc) if "init" in d else defaults.init
        per_channel = {}
        for key in ("notified", "protected"):
            if key not in d:
                per_channel[key] = getattr(defaults, key)
                continue
            v = d[key]
            if isinstance(v, list):
                per_channel[key] = {-1: self.script(v, key, loc)}
            elif isinstance(v, dict):
                table = {}
                for ch, items in v.items():
                    if ch == "any":
                        table[-1] = self.script(items, key, loc)
                        continue
                    try:
                        table[_channel(int(ch))] = self.script(items, key, loc)
                    except ValueError:
                        self.error(
                            loc,
                            key,
                            loc[2],
                            f"{key}: keys are channel ids 0..61 or any, got {ch!r}",
                        )
                per_channel[key] = table
            else:
                self.error(loc, key, loc[2], f"{key}: expected a list of actions or a table")
        return Handlers(init, per_channel["notified"], per_channel["protected"], deadline)

    def irq_timers(self, d: dict, loc: tuple) -> tuple[IrqTimer, ...]:
        out = []
        for j, item in enumerate(self.get(d, "irq", list, [], loc)):
            iloc = (loc[0], loc[1], f"{loc[2]}: irq[{j}]")
            if not isinstance(item, dict):
                self.error(loc, "irq", iloc[2], "expected { id = N, period = ... }")
            self.unknown(item, {"id", "irq", "period", "offset"}, iloc)
            ch = self.get(item, "id", int, None, iloc)
            if ch is None or not 0 <= ch <= 61:
                self.error(loc, "irq", iloc[2], "id: a channel id 0..61 is required")
            period = self.duration(item, "period", None, iloc)
            if period is None or period <= 0:
                self.error(loc, "irq", iloc[2], "period: required and > 0")
            out.append(
                IrqTimer(
                    ch,
                    self.get(item, "irq", int, ch, iloc),
                    period,
                    self.duration(item, "offset", 0, iloc),
                )
            )
        return tuple(out)

    def protection_domain(
        self, i: int, d: Any, kernel: KernelSettings, num_domains: int, names: dict[str, str]
    ) -> ProtectionDomain:
        name, loc, prio, sc, domain = self.scheduled(
            "protection_domain", i, d, PD_FIELDS, kernel, num_domains, names
        )
        wasm = None
        if "wasm" in d:
            for key in ("init", "notified", "protected"):
                if key in d:
                    self.error(
                        loc, key, loc[2], f"{key}: a PD with a wasm module has its handlers there"
                    )
            wasm = self.wasm_spec(d, d, loc)
        return ProtectionDomain(
            wasm=wasm,
            name=name,
            priority=prio,
            sc=sc,
            passive=self.get(d, "passive", bool, False, loc),
            domain=domain,
            handlers=self.handlers(d, loc, default_handlers()),
            irqs=self.irq_timers(d, loc),
            line=self.lines.find("protection_domain", i),
        )

    def channel(self, i: int, d: Any) -> Channel:
        loc = ("channel", i, f"channel #{i + 1}")
        if not isinstance(d, dict):
            self.error(loc, None, loc[2], "expected a table")
        self.unknown(d, {"ends"}, loc)
        ends = self.get(d, "ends", list, [], loc)
        if len(ends) != 2:
            self.error(loc, "ends", loc[2], "exactly two end elements must be specified")
        out = []
        for j, e in enumerate(ends):
            eloc = (loc[0], loc[1], f"{loc[2]}: ends[{j}]")
            if not isinstance(e, dict):
                self.error(loc, "ends", eloc[2], "expected { pd = NAME, id = N }")
            self.unknown(e, {"pd", "id", "pp", "notify"}, eloc)
            pd = self.get(e, "pd", str, None, eloc)
            ch = self.get(e, "id", int, None, eloc)
            if pd is None or ch is None:
                self.error(loc, "ends", eloc[2], "pd and id are required")
            if not 0 <= ch <= 61:
                self.error(loc, "ends", eloc[2], f"id must be < 62, got {ch}")
            out.append(
                ChannelEnd(
                    pd,
                    ch,
                    self.get(e, "pp", bool, False, eloc),
                    self.get(e, "notify", bool, True, eloc),
                )
            )
        return Channel(out[0], out[1])

    def thread(
        self, i: int, d: Any, kernel: KernelSettings, num_domains: int, names: dict[str, str]
    ) -> Thread:
        loc = ("thread", i, f"thread #{i + 1}")
        if not isinstance(d, dict):
            self.error(loc, None, loc[2], "expected a table")
        name = self._name(d, loc, names, "thread")
        loc = ("thread", i, f'thread "{name}"')
        self.unknown(d, THREAD_FIELDS, loc)
        prio = self.priority(d, loc, NUM_PRIORITIES - 1)
        mcp = self.get(d, "mcp", int, prio, loc)
        if not 0 <= mcp < NUM_PRIORITIES:
            self.error(loc, "mcp", loc[2], f"mcp: {mcp} is outside 0..255")
        domain = self.get(d, "domain", int, 0, loc)
        if not 0 <= domain < num_domains:
            self.error(loc, "domain", loc[2], f"domain: {domain} is not in the domain schedule")
        sc = None
        if "sc" in d:
            sd = self.get(d, "sc", dict, {}, loc)
            sloc = (loc[0], loc[1], f"{loc[2]}: sc")
            self.unknown(sd, {"budget", "period", "extra_refills", "sporadic", "badge"}, sloc)
            sc = self.sc_params(sd, sloc, None)
            self.check_sc_against_kernel(sc, kernel, sloc)
        script = self.script(d["script"], "script", loc) if "script" in d else ()
        handler = self.get(d, "timeout_handler", str, None, loc)
        if handler is not None:
            self._declare(self.endpoints, handler)
        return Thread(
            name=name,
            priority=prio,
            mcp=mcp,
            domain=domain,
            sc=sc,
            script=script,
            timeout_handler=handler,
            timeout_badge=self.get(d, "timeout_badge", int, 0, loc),
            start=self.get(d, "start", bool, True, loc),
            line=self.lines.find("thread", i),
        )

    def cross_check(
        self, partitions: tuple[Partition, ...], threads: tuple[Thread, ...], names: dict
    ) -> None:
        """References between entries: handlers, script targets."""
        by_name = {p.name: p for p in partitions}
        for i, p in enumerate(partitions):
            loc = ("partition", i, f'partition "{p.name}"')
            refs = {"timeout_handler": p.timeout_handler}
            if p.wasm is not None:
                refs["fault_handler"] = p.wasm.fault_handler
            for key, target in refs.items():
                if target is None:
                    continue
                h = by_name.get(target)
                if h is None:
                    self.error(loc, key, loc[2], f"{key}: no partition named {target!r}")
                if h is p:
                    self.error(loc, key, loc[2], "a partition cannot handle itself")
                if h.release is not None:
                    self.error(
                        loc,
                        key,
                        loc[2],
                        f"{key}: {h.name!r} has periodic releases; a handler runs "
                        "only when faults arrive",
                    )
        objects = set(names) | set(self.notifications) | set(self.waitables) | set(self.endpoints)
        thread_names = {t.name for t in threads} | set(by_name)
        for i, t in enumerate(threads):
            loc = ("thread", i, f'thread "{t.name}"')
            for a in _walk(t.script):
                if a.op in ("notify", "ppcall"):
                    raise DescriptionError(
                        self.path, a.line, loc[2], f"{a.op}: only a protection_domain handler can"
                    )
                target = a.args.get("target")
                if a.op in THREAD_TARGET_OPS and target not in thread_names:
                    raise DescriptionError(
                        self.path, a.line, loc[2], f"{a.op}: no thread named {target!r}"
                    )
                if a.op == "configure" and target not in objects:
                    raise DescriptionError(
                        self.path, a.line, loc[2], f"configure: no object named {target!r}"
                    )
                if a.op == "reply" and a.args["via"] not in (None, *thread_names):
                    raise DescriptionError(
                        self.path, a.line, loc[2], f"reply: no thread named {a.args['via']!r}"
                    )
                if a.op == "bind" and a.args["to"] not in objects:
                    raise DescriptionError(
                        self.path, a.line, loc[2], f"bind: no object named {a.args['to']!r}"
                    )


def check_microkit_graph(
    path: str, pds: tuple[ProtectionDomain, ...], channels: tuple[Channel, ...], lines: Any = None
) -> None:
    """Microkit's channel rules (B.5, B.8) and the handlers' use of channels."""

    def where(kind: str, i: int) -> int | None:
        return lines.find(kind, i, "ends") if lines is not None else None

    by_name = {p.name: p for p in pds}
    used: dict[str, set[int]] = {p.name: {q.id for q in p.irqs} for p in pds}
    peers: dict[tuple[str, int], tuple[ChannelEnd, ChannelEnd]] = {}
    for i, c in enumerate(channels):
        label = f"channel #{i + 1}"
        for e in (c.a, c.b):
            if e.pd not in by_name:
                raise DescriptionError(path, where("channel", i), label, f"no PD named {e.pd!r}")
            if e.id in used[e.pd]:
                raise DescriptionError(
                    path, where("channel", i), label, f"duplicate channel id: {e.id} in PD {e.pd!r}"
                )
            used[e.pd].add(e.id)
        if c.a.pp and c.b.pp:
            raise DescriptionError(path, where("channel", i), label, "cannot ppc bidirectionally")
        for caller, callee in ((c.a, c.b), (c.b, c.a)):
            pa, pb = by_name[caller.pd], by_name[callee.pd]
            if caller.pp and pa.priority >= pb.priority:
                raise DescriptionError(
                    path,
                    where("channel", i),
                    label,
                    "PPCs must be to protection domains of strictly higher priorities; "
                    f"channel with PPC exists from pd {pa.name} (priority: {pa.priority}) "
                    f"to pd {pb.name} (priority: {pb.priority})",
                )
        peers[(c.a.pd, c.a.id)] = (c.a, c.b)
        peers[(c.b.pd, c.b.id)] = (c.b, c.a)
    for p in pds:
        h = p.handlers
        scripts = [h.init, *(h.notified or {}).values(), *(h.protected or {}).values()]
        for script in scripts:
            for a in _walk(script):
                if a.op not in ("notify", "ppcall"):
                    continue
                ch = a.args["channel"]
                pair = peers.get((p.name, ch))
                label = f'protection_domain "{p.name}"'
                if pair is None:
                    raise DescriptionError(path, a.line, label, f"{a.op}: no channel {ch}")
                mine, _ = pair
                if a.op == "notify" and not mine.notify:
                    raise DescriptionError(
                        path, a.line, label, f"notify: channel {ch} has notify = false"
                    )
                if a.op == "ppcall" and not mine.pp:
                    raise DescriptionError(
                        path, a.line, label, f"ppcall: channel {ch} does not allow PPC from here"
                    )


def _walk(actions: tuple[Action, ...]) -> Any:
    for a in actions:
        yield a
        if a.op == "loop":
            yield from _walk(a.args["body"])


def _str(v: Any, what: str) -> str:
    if not isinstance(v, str) or not v:
        raise ValueError(f"{what} expects a name, got {v!r}")
    return v


def _channel(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 61:
        raise ValueError(f"expected a channel id 0..61, got {v!r}")
    return v


def _words(v: Any) -> tuple[int, ...]:
    if not isinstance(v, list) or any(isinstance(w, bool) or not isinstance(w, int) for w in v):
        raise ValueError(f"words must be a list of integers, got {v!r}")
    return tuple(v)


def _int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{what} expects an integer, got {v!r}")
    return v


SCRIPT_OPS: dict[str, set[str]] = {
    "compute": set(),
    "spin": set(),
    "yield": set(),
    "loop": {"times"},
    "mark": {"value"},
    "mark_result": set(),
    "notify": set(),
    "ppcall": {"words"},
    "call": {"badge", "label", "words"},
    "send": {"badge", "label", "words"},
    "nbsend": {"badge", "label", "words"},
    "nbsend_recv": {"from", "badge", "label", "words"},
    "nbsend_wait": {"from", "badge", "label", "words"},
    "bind_notification": {"ntfn"},
    "unbind_notification": set(),
    "signal": {"badge"},
    "wait": set(),
    "poll": set(),
    "suspend": set(),
    "resume": set(),
    "set_priority": {"priority"},
    "configure": {"budget", "period", "extra_refills", "badge", "sporadic"},
    "bind": {"to"},
    "unbind": set(),
    "consumed": set(),
    "yield_to": set(),
    "recv": set(),
    "reply": {"words", "via"},
    "reply_recv": {"label", "words"},
}
IPC_OPS = {"recv", "reply_recv", "call", "send", "nbsend", "nbsend_recv", "nbsend_wait"}
THREAD_TARGET_OPS = {
    "suspend",
    "resume",
    "set_priority",
    "consumed",
    "yield_to",
    "unbind",
    "bind_notification",
    "unbind_notification",
}
WASM_LIMIT_FIELDS = {
    "memory",
    "tables",
    "max_job_time",
    "on_fault",
    "fault_channel",
    "fault_handler",
}
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
PD_FIELDS = {
    "wasm",
    "args",
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
THREAD_FIELDS = {
    "name",
    "priority",
    "mcp",
    "domain",
    "sc",
    "script",
    "timeout_handler",
    "timeout_badge",
    "start",
}


def parse_toml(text: str, path: str) -> dict[str, Any]:
    """tomllib with its position turned into our file:line error."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        col = f", column {m.group(2)}" if m else ""
        raise DescriptionError(path, line, "", f"TOML syntax error{col}: {msg}") from None


def read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise DescriptionError(str(path), None, "", f"cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise DescriptionError(str(path), None, "", "not a UTF-8 text file") from None


def load_text(text: str, path: str = "<memory>") -> System:
    """Parse and check a description given as text (``path`` is only used in messages)."""
    return _Loader(path, text).load(parse_toml(text, path))


def load(path: str | Path) -> System:
    """Load a description file."""
    return load_text(read_text(path), str(path))


__all__ = [
    "Action",
    "DescriptionError",
    "Distribution",
    "FaultJob",
    "KernelSettings",
    "Partition",
    "Release",
    "SCParams",
    "System",
    "Thread",
    "load",
    "load_text",
]
