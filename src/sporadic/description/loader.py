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
from sporadic.description.bounds import check_text, check_values, read_capped
from sporadic.description.checks import check_microkit_graph, cross_check
from sporadic.description.engines import cpu_engine, resolve_engines
from sporadic.description.fields import FieldReader
from sporadic.description.model import AgentSettings, Partition, ProtectionDomain, System
from sporadic.description.partitions import PartitionReader
from sporadic.description.protection_domains import ProtectionDomainReader
from sporadic.description.scripts import ScriptReader
from sporadic.description.settings import SettingsReader
from sporadic.description.threads import ThreadReader
from sporadic.errors import DescriptionError


def parse_toml(text: str, path: str) -> dict[str, Any]:
    """tomllib with its position turned into our file:line error, and its limits (nesting,
    digits, dotted keys) turned into errors too rather than a crash or a memory blow-up."""
    check_text(text, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        col = f", column {m.group(2)}" if m else ""
        raise DescriptionError(path, line, "", f"TOML syntax error{col}: {msg}") from None
    except RecursionError:
        raise DescriptionError(path, None, "", "arrays or tables nested too deep to read") from None
    except ValueError as e:  # Python's limit on an integer's digits
        raise DescriptionError(
            path, None, "", f"cannot read a value: {str(e).split(';')[0]}"
        ) from None


def read_text(path: str | Path) -> str:
    """The file's text; a missing, unreadable, non-regular (``/dev/zero``), larger than 16 MiB
    or non-UTF-8 file is a description error."""
    return read_capped(path)


def load_text(text: str, path: str = "<memory>") -> System:
    """Parse and check a description given as text (``path`` is only used in messages)."""
    return _resolve(FieldReader(path, text), parse_toml(text, path))


def load(path: str | Path) -> System:
    """Load a description file."""
    return load_text(read_text(path), str(path))


def _resolve(fields: FieldReader, data: dict) -> System:
    """Read the sections in the order they depend on each other, then check across them."""
    check_values(fields, data)
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
    engine, wasmer_scale = cpu_engine(fields, data)
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
    if not (partitions or thread_descs or pds or agent):
        raise DescriptionError(
            fields.path,
            None,
            "",
            "nothing to run: add a [[partition]], [[thread]], [[protection_domain]] or [agent]",
        )
    _check_fuel(fields, fuel_per_us, partitions, pds, agent)
    system = System(
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
        engine=engine,
        wasmer_scale=wasmer_scale,
    )
    return resolve_engines(system)


def _check_fuel(
    fields: FieldReader,
    fuel_per_us: int,
    partitions: tuple[Partition, ...],
    pds: tuple[ProtectionDomain, ...],
    agent: AgentSettings | None,
) -> None:
    """A module's longest run in fuel (its time at ``fuel_per_us``) must fit wasmtime's fuel
    counter, which the simulator keeps below 2^63."""

    def check(ns: int, loc: tuple, key: str) -> None:
        if ns * fuel_per_us // 1000 >= 1 << 63:
            fields.error(
                loc,
                key,
                loc[2],
                f"{key}: {ns} ns at fuel_per_us {fuel_per_us} is 2^63 units of fuel or more",
            )

    for table, entries in (("partition", partitions), ("protection_domain", pds)):
        for i, entry in enumerate(entries):
            if entry.wasm is not None:
                check(
                    entry.wasm.max_job_time, (table, i, f'{table} "{entry.name}"'), "max_job_time"
                )
    if agent is not None:
        check(agent.max_run_time, ("agent", 0, "[agent]"), "max_run_time")


__all__ = ["load", "load_text", "parse_toml", "read_text"]
