"""``[[thread]]`` tables: raw seL4 threads, each with an optional SC and a script."""

from __future__ import annotations

from typing import Any

from sporadic.description.entries import unique_name
from sporadic.description.fields import FieldReader
from sporadic.description.model import KernelSettings, Thread
from sporadic.description.scripts import ScriptReader
from sporadic.units import WORD_MAX

NUM_PRIORITIES = 256

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


class ThreadReader:
    """Reads one thread table; the objects its script names are collected by ``scripts``."""

    def __init__(self, fields: FieldReader, scripts: ScriptReader) -> None:
        self.fields = fields
        self.scripts = scripts

    def thread(
        self, i: int, d: Any, kernel: KernelSettings, num_domains: int, names: dict[str, str]
    ) -> Thread:
        """One thread table, checked against the kernel settings and the domain schedule."""
        loc = ("thread", i, f"thread #{i + 1}")
        if not isinstance(d, dict):
            self.fields.error(loc, None, loc[2], "expected a table")
        name = unique_name(self.fields, d, loc, names, "thread")
        loc = ("thread", i, f'thread "{name}"')
        self.fields.unknown(d, THREAD_FIELDS, loc)
        prio = self.fields.priority(d, loc, NUM_PRIORITIES - 1)
        mcp = self.fields.get(d, "mcp", int, prio, loc)
        if not 0 <= mcp < NUM_PRIORITIES:
            self.fields.error(loc, "mcp", loc[2], f"mcp: {mcp} is outside 0..255")
        domain = self.fields.get(d, "domain", int, 0, loc)
        if not 0 <= domain < num_domains:
            self.fields.error(
                loc, "domain", loc[2], f"domain: {domain} is not in the domain schedule"
            )
        sc = None
        if "sc" in d:
            sd = self.fields.get(d, "sc", dict, {}, loc)
            sloc = (loc[0], loc[1], f"{loc[2]}: sc")
            self.fields.unknown(
                sd, {"budget", "period", "extra_refills", "sporadic", "badge"}, sloc
            )
            sc = self.fields.sc_params(sd, sloc, None)
            self.fields.check_sc_against_kernel(sc, kernel, sloc)
        script = self.scripts.script(d["script"], "script", loc) if "script" in d else ()
        handler = self.fields.get(d, "timeout_handler", str, None, loc)
        if handler is not None:
            self.scripts.declare(self.scripts.endpoints, handler)
        return Thread(
            name=name,
            priority=prio,
            mcp=mcp,
            domain=domain,
            sc=sc,
            script=script,
            timeout_handler=handler,
            timeout_badge=self.fields.bounded(d, "timeout_badge", 0, loc, 0, WORD_MAX),
            start=self.fields.get(d, "start", bool, True, loc),
            line=self.fields.lines.find("thread", i),
        )


__all__ = ["NUM_PRIORITIES", "THREAD_FIELDS", "ThreadReader"]
