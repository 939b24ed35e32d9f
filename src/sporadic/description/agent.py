"""``[agent]`` and ``[[deploy]]``: the deploy channel and the deploys scripted into a run.

Every ``[agent]`` field is optional (defaults in ``AgentSettings`` and docs/deploying.md). A
``[[deploy]]`` alone turns the agent on with those defaults. Each deploy is checked here as the
runner would check a request (name, SC parameters within the caps, module size), so that a
scripted deploy that could never be accepted is a load error with its line.
"""

from __future__ import annotations

import re
from pathlib import Path

from sporadic.description.engines import read_engine
from sporadic.description.entries import MAX_PRIORITY
from sporadic.description.fields import FieldReader
from sporadic.description.model import AgentSettings, Deploy, KernelSettings, SCParams
from sporadic.units import MAX_PERIOD

ARG_BYTES = 4092  # one SET_ARG's payload: a page less its header
NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
AGENT_FIELDS = {
    "guest_priority",
    "guest_budget",
    "guest_period",
    "runner_priority",
    "runner_budget",
    "runner_period",
    "copy_per_kib",
    "instantiate_base",
    "instantiate_per_kib",
    "module_priority",
    "module_budget",
    "module_period",
    "module_deadline",
    "max_run_time",
    "max_priority",
    "max_utilisation",
    "max_module_size",
    "max_modules",
    "max_memory",
    "max_frame",
}
DEPLOY_FIELDS = {"at", "wasm", "args", "name", "priority", "budget", "period", "deadline", "engine"}


class AgentReader:
    """Reads ``[agent]`` and ``[[deploy]]``; each error names the field and its line."""

    def __init__(self, fields: FieldReader, kernel: KernelSettings) -> None:
        self.fields = fields
        self.kernel = kernel

    def settings(self, data: dict) -> AgentSettings | None:
        if "agent" not in data and "deploy" not in data:
            return None
        f = self.fields
        loc = ("agent", 0, "[agent]")
        d = f.get(data, "agent", dict, {}, loc)
        f.unknown(d, AGENT_FIELDS, loc)
        base = AgentSettings()
        agent = AgentSettings(
            guest=self._sc(d, "guest", base.guest, loc),
            guest_priority=self._prio(d, "guest_priority", base.guest_priority, loc),
            runner=self._sc(d, "runner", base.runner, loc),
            runner_priority=self._prio(d, "runner_priority", base.runner_priority, loc),
            copy_per_kib=self._cost(d, "copy_per_kib", base.copy_per_kib, loc),
            instantiate_base=self._cost(d, "instantiate_base", base.instantiate_base, loc),
            instantiate_per_kib=self._cost(d, "instantiate_per_kib", base.instantiate_per_kib, loc),
            module=self._sc(d, "module", base.module, loc),
            module_priority=self._prio(d, "module_priority", base.module_priority, loc),
            module_deadline=f.duration(d, "module_deadline", base.module_deadline, loc),
            max_run_time=self._cost(d, "max_run_time", base.max_run_time, loc),
            max_priority=self._prio(d, "max_priority", base.max_priority, loc),
            max_utilisation=self._ratio(d, loc),
            max_module_size=self._positive_size(d, "max_module_size", base.max_module_size, loc),
            max_modules=self._count(d, loc),
            max_memory=self._positive_size(d, "max_memory", base.max_memory, loc),
            max_frame=self._positive_size(d, "max_frame", base.max_frame, loc),
        )
        if agent.module_priority > agent.max_priority:
            f.error(
                loc,
                "module_priority",
                loc[2],
                f"module_priority: {agent.module_priority} is above max_priority "
                f"{agent.max_priority}",
            )
        return agent

    def deploys(self, data: dict, agent: AgentSettings | None, duration: int) -> tuple:
        f = self.fields
        items = f.get(data, "deploy", list, [], ("deploy", 0, "[[deploy]]"))
        out = []
        for i, d in enumerate(items):
            loc = ("deploy", i, f"deploy #{i + 1}")
            if not isinstance(d, dict):
                f.error(loc, None, loc[2], "expected a table")
            f.unknown(d, DEPLOY_FIELDS, loc)
            out.append(self._deploy(d, loc, agent or AgentSettings(), duration))
        return tuple(out)

    def _deploy(self, d: dict, loc: tuple, agent: AgentSettings, duration: int) -> Deploy:
        f = self.fields
        if "at" not in d:
            f.error(loc, None, loc[2], "at: missing (the simulated time of the deploy)")
        at = f.duration(d, "at", 0, loc)
        if not 0 <= at < duration:
            f.error(loc, "at", loc[2], f"at: {at} ns is not within the run (0..{duration} ns)")
        path = f.get(d, "wasm", str, None, loc)
        if path is None:
            f.error(loc, None, loc[2], "wasm: missing (the module to deploy)")
        resolved = Path(path) if Path(path).is_absolute() else Path(f.path).parent / path
        if not resolved.is_file():
            f.error(loc, "wasm", loc[2], f"wasm: {resolved} does not exist")
        size = resolved.stat().st_size
        if size > agent.max_module_size:
            f.error(
                loc,
                "wasm",
                loc[2],
                f"wasm: {resolved} is {size} bytes, above max_module_size {agent.max_module_size}",
            )
        name = f.get(d, "name", str, resolved.stem, loc)
        if not NAME.fullmatch(name):
            f.error(loc, "name", loc[2], f"name: {name!r} is not 1-64 of A-Z a-z 0-9 _ . -")
        loc = ("deploy", loc[1], f'deploy "{name}"')
        args = f.get(d, "args", list, [], loc)
        if not all(isinstance(a, str) for a in args):
            f.error(loc, "args", loc[2], "args: a list of strings")
        problem = args_problem(args)
        if problem is not None:
            f.error(loc, "args", loc[2], problem)
        prio = f.get(d, "priority", int, agent.module_priority, loc)
        if not 0 <= prio <= agent.max_priority:
            f.error(loc, "priority", loc[2], f"priority: {prio} is outside 0..{agent.max_priority}")
        budget = f.duration(d, "budget", agent.module.budget, loc)
        period = f.duration(d, "period", agent.module.period, loc)
        sc = sc_problem(budget, period, agent, self.kernel.min_budget)
        if sc is not None:
            f.error(loc, sc[0], loc[2], sc[1])
        deadline = f.duration(d, "deadline", agent.module_deadline, loc)
        if deadline is not None and deadline <= 0:
            f.error(loc, "deadline", loc[2], "deadline: must be > 0")
        return Deploy(
            at=at,
            wasm=str(resolved),
            name=name,
            args=tuple(args),
            priority=prio,
            budget=budget,
            period=period,
            deadline=deadline,
            line=f.lines.find("deploy", loc[1], None),
            engine=read_engine(f, d, loc),
        )

    # -- typed fields of [agent]

    def _sc(self, d: dict, key: str, default: SCParams, loc: tuple) -> SCParams:
        budget = self.fields.duration(d, f"{key}_budget", default.budget, loc)
        period = self.fields.duration(d, f"{key}_period", default.period, loc)
        if budget > period:
            self.fields.error(
                loc, f"{key}_budget", loc[2], f"{key}_budget: {budget} ns exceeds the period"
            )
        for field, value in ((f"{key}_budget", budget), (f"{key}_period", period)):
            if value < self.kernel.min_budget:
                self.fields.error(
                    loc,
                    field,
                    loc[2],
                    f"{field}: {value} ns is below MIN_BUDGET {self.kernel.min_budget} ns",
                )
        return SCParams(budget, period)

    def _prio(self, d: dict, key: str, default: int, loc: tuple) -> int:
        prio = self.fields.get(d, key, int, default, loc)
        if not 0 <= prio <= MAX_PRIORITY:
            self.fields.error(loc, key, loc[2], f"{key}: {prio} is outside 0..{MAX_PRIORITY}")
        return prio

    def _cost(self, d: dict, key: str, default: int, loc: tuple) -> int:
        value = self.fields.duration(d, key, default, loc)
        if value < 0:
            self.fields.error(loc, key, loc[2], f"{key}: must be >= 0")
        return value

    def _positive_size(self, d: dict, key: str, default: int, loc: tuple) -> int:
        value = self.fields.size(d, key, default, loc)
        if value <= 0:
            self.fields.error(loc, key, loc[2], f"{key}: must be > 0")
        return value

    def _count(self, d: dict, loc: tuple) -> int:
        value = self.fields.get(d, "max_modules", int, AgentSettings.max_modules, loc)
        if value < 1:
            self.fields.error(loc, "max_modules", loc[2], "max_modules: must be >= 1")
        return value

    def _ratio(self, d: dict, loc: tuple) -> float:
        value = self.fields.get(
            d, "max_utilisation", (int, float), AgentSettings.max_utilisation, loc
        )
        if isinstance(value, bool) or not 0 < value <= 1:
            self.fields.error(
                loc, "max_utilisation", loc[2], f"max_utilisation: {value!r} is not in (0, 1]"
            )
        return float(value)


def args_problem(args: list[str] | tuple[str, ...]) -> str | None:
    """Why the page cannot carry these arguments whole (``SET_ARG`` takes one argument of up to
    4092 bytes, and the module sees a C string), else None."""
    for i, a in enumerate(args):
        if "\0" in a:
            return f"args: argument {i + 1} contains a NUL byte"
        if len(a.encode()) > ARG_BYTES:
            return (
                f"args: argument {i + 1} is {len(a.encode())} bytes, above the page's {ARG_BYTES}"
            )
    return None


def sc_problem(
    budget: int, period: int, agent: AgentSettings, min_budget: int
) -> tuple[str, str] | None:
    """(field, message) when a module's SC is outside what the runner grants, else None: the
    same rule for scripted deploys and for requests over the socket."""
    if budget < min_budget:
        return "budget", f"budget: {budget} ns is below MIN_BUDGET {min_budget} ns"
    if period > MAX_PERIOD:
        return "period", f"period: {period} ns is above the kernel's MAX_PERIOD {MAX_PERIOD} ns"
    if period < budget:
        return "budget", f"budget: {budget} ns exceeds the period {period} ns"
    if budget > agent.max_utilisation * period:
        return (
            "budget",
            f"budget: {budget} ns is more than max_utilisation {agent.max_utilisation:g} of the "
            f"period {period} ns",
        )
    return None


__all__ = ["AGENT_FIELDS", "ARG_BYTES", "NAME", "AgentReader", "args_problem", "sc_problem"]
