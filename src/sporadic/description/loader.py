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

from sporadic.description.agent import AgentReader
from sporadic.description.checks import check_microkit_graph, cross_check
from sporadic.description.fields import FieldReader
from sporadic.description.model import System
from sporadic.description.partitions import PartitionReader
from sporadic.description.protection_domains import ProtectionDomainReader
from sporadic.description.scripts import ScriptReader
from sporadic.description.settings import SettingsReader
from sporadic.description.threads import ThreadReader
from sporadic.errors import DescriptionError


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
    """The file's text; a missing, unreadable or non-UTF-8 file is a description error."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise DescriptionError(str(path), None, "", f"cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise DescriptionError(str(path), None, "", "not a UTF-8 text file") from None


def load_text(text: str, path: str = "<memory>") -> System:
    """Parse and check a description given as text (``path`` is only used in messages)."""
    return _resolve(FieldReader(path, text), parse_toml(text, path))


def load(path: str | Path) -> System:
    """Load a description file."""
    return load_text(read_text(path), str(path))


def _resolve(fields: FieldReader, data: dict) -> System:
    """Read the sections in the order they depend on each other, then check across them."""
    fields.unknown(
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
            "agent",
            "deploy",
        },
        ("", 0, "top level"),
    )
    settings = SettingsReader(fields)
    name, duration, seed = settings.system_settings(data)
    kernel = settings.kernel_settings(data)
    fuel_per_us = settings.cpu_settings(data)
    domains = settings.domain_schedule(data)
    num_domains = max((d for d, _ in domains), default=0) + 1

    scripts = ScriptReader(fields)
    parts = fields.get(data, "partition", list, [], ("partition", 0, "[[partition]]"))
    threads = fields.get(data, "thread", list, [], ("thread", 0, "[[thread]]"))
    names: dict[str, str] = {}
    handlers = {
        p[key]
        for p in parts
        for key in ("timeout_handler", "fault_handler")
        if isinstance(p, dict) and isinstance(p.get(key), str)
    }
    partition_reader = PartitionReader(fields, scripts)
    partitions = tuple(
        partition_reader.partition(i, p, kernel, num_domains, names, handlers)
        for i, p in enumerate(parts)
    )
    thread_reader = ThreadReader(fields, scripts)
    thread_descs = tuple(
        thread_reader.thread(i, t, kernel, num_domains, names) for i, t in enumerate(threads)
    )
    cross_check(fields, scripts, partitions, thread_descs, names)
    pd_reader = ProtectionDomainReader(fields, scripts)
    pd_items = fields.get(data, "protection_domain", list, [], ("protection_domain", 0, "pd"))
    pds = tuple(
        pd_reader.protection_domain(i, d, kernel, num_domains, names)
        for i, d in enumerate(pd_items)
    )
    ch_items = fields.get(data, "channel", list, [], ("channel", 0, "[[channel]]"))
    channels = tuple(pd_reader.channel(i, c) for i, c in enumerate(ch_items))
    check_microkit_graph(fields.path, pds, channels, fields.lines)
    agent_reader = AgentReader(fields, kernel)
    agent = agent_reader.settings(data)
    deploys = agent_reader.deploys(data, agent, duration)
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
            for n in dict.fromkeys(scripts.notifications + scripts.waitables)
            if n not in scripts.endpoints
        ),
        endpoints=tuple(scripts.endpoints),
        agent=agent,
        deploys=deploys,
        path=fields.path,
    )


__all__ = ["load", "load_text", "parse_toml", "read_text"]
