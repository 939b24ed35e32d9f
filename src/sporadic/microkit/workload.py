"""Microkit ``.system`` files as simulations: the system file says who exists and how they are
scheduled; a side file (TOML) says what each PD does, since the ELF images are not simulated.

Side file (all optional; a PD it does not name idles until notified and spends 10 us in each
entry point)::

    [system]
    duration = "1s"
    seed = 1

    [kernel]
    min_budget = "20us"
    tick = "1us"                 # the length of a domain-schedule tick

    [[pd]]
    name = "eth"                 # a PD of the .system file
    deadline = "500us"           # relative deadline of every handler run
    init = [ { compute = "50us" } ]
    notified = { 0 = [ { compute = "20us" }, { notify = 1 } ], any = [ { compute = "5us" } ] }
    protected = [ { compute = "10us" } ]
    irq = [ { id = 0, period = "1ms" } ]   # a periodic interrupt on the PD's channel 0

By default the side file of ``X.system`` is ``X.workload.toml`` next to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sporadic.description.bounds import check_values
from sporadic.description.checks import check_microkit_graph
from sporadic.description.fields import FieldReader
from sporadic.description.loader import parse_toml, read_text
from sporadic.description.model import (
    Channel,
    ChannelEnd,
    IrqTimer,
    KernelSettings,
    ProtectionDomain,
    SCParams,
    System,
    default_handlers,
)
from sporadic.description.protection_domains import ProtectionDomainReader
from sporadic.description.scripts import ScriptReader
from sporadic.description.settings import SettingsReader
from sporadic.errors import DescriptionError, MicrokitError
from sporadic.microkit.loader import load_microkit
from sporadic.microkit.model import MicrokitSystem
from sporadic.units import INF, MAX_PERIOD, format_duration

DEFAULT_DURATION = 1_000_000_000
DEFAULT_TICK = 1_000  # ns per domain-schedule tick when the side file does not say


def _load_workload(fields: FieldReader, data: dict, ms: MicrokitSystem) -> System:
    """The side file's ``[system]``, ``[kernel]`` (with ``tick``) and ``[[pd]]`` tables, read
    with the description's own readers so both report errors alike."""
    check_values(fields, data)
    settings = SettingsReader(fields)
    pd_reader = ProtectionDomainReader(fields, ScriptReader(fields))
    fields.unknown(data, {"system", "kernel", "pd"}, ("", 0, "top level"))
    name, duration, seed = settings.system_settings(data, Path(ms.path).stem)
    kd = dict(fields.get(data, "kernel", dict, {}, ("kernel", 0, "[kernel]")))
    tick = DEFAULT_TICK
    if "tick" in kd:
        tick = fields.duration(kd, "tick", DEFAULT_TICK, ("kernel", 0, "[kernel]"))
        del kd["tick"]
    kernel = settings.kernel_settings({"kernel": kd})
    names = {p.name for p in ms.protection_domains}
    given: dict[str, dict[str, Any]] = {}
    for i, d in enumerate(fields.get(data, "pd", list, [], ("pd", 0, "[[pd]]"))):
        loc = ("pd", i, f"pd #{i + 1}")
        if not isinstance(d, dict):
            fields.error(loc, None, loc[2], "expected a table")
        pd = fields.get(d, "name", str, None, loc)
        if pd not in names:
            fields.error(loc, "name", loc[2], f"name: no protection domain {pd!r} in {ms.path}")
        if pd in given:
            fields.error(loc, "name", loc[2], f"name: {pd!r} is given twice")
        loc = ("pd", i, f'pd "{pd}"')
        fields.unknown(d, {"name", "deadline", "init", "notified", "protected", "irq"}, loc)
        given[pd] = {"handlers": pd_reader.handlers(d, loc, default_handlers()), "loc": loc}
        given[pd]["irqs"] = pd_reader.irq_timers(d, loc, kernel.min_budget)
    return to_system(ms, given, name, duration, seed, kernel, tick, fields.path)


def to_system(
    ms: MicrokitSystem,
    given: dict[str, dict[str, Any]],
    name: str,
    duration: int,
    seed: int,
    kernel: KernelSettings,
    tick: int,
    workload_path: str,
) -> System:
    """The simulated system of a Microkit file: its PDs, channels and domain schedule."""
    check_kernel_limits(ms, kernel, tick)
    pds = []
    for index, p in enumerate(ms.protection_domains):
        w = given.get(p.name, {})
        irq_numbers = {q.id: q.irq for q in p.irqs}
        timers = tuple(
            IrqTimer(t.id, irq_numbers.get(t.id, t.irq), t.period, t.offset)
            for t in w.get("irqs", ())
        )
        pds.append(
            ProtectionDomain(
                name=p.name,
                priority=p.priority,
                sc=SCParams(p.budget, p.period, 0, False, 0x100 + index),
                passive=p.passive,
                domain=p.domain_id or 0,
                handlers=w.get("handlers", default_handlers()),
                irqs=timers,
                line=p.line,
            )
        )
    channels = tuple(
        Channel(
            ChannelEnd(c.ends[0].pd, c.ends[0].id, c.ends[0].pp, c.ends[0].notify),
            ChannelEnd(c.ends[1].pd, c.ends[1].id, c.ends[1].pp, c.ends[1].notify),
        )
        for c in ms.channels
    )
    # Interrupt ids share the channel-id space: a handler may notify only real channels.
    check_microkit_graph(workload_path, tuple(pds), channels)
    for p in pds:
        for t in p.irqs:
            if t.id not in {q.id for q in ms.pd(p.name).irqs} and _is_channel(channels, p, t.id):
                raise DescriptionError(
                    workload_path,
                    None,
                    f'pd "{p.name}"',
                    f"irq: id {t.id} is a channel of {p.name!r}, not an interrupt",
                )
    domains: tuple[tuple[int, int], ...] = ()
    if ms.domains is not None:
        entries = []
        for (dom, length), in_ticks in zip(ms.domains.schedule, ms.domains.in_ticks, strict=True):
            if length == 0:
                break
            entries.append((dom, length * tick if in_ticks else length))
        domains = tuple(entries)
    return System(
        name=name,
        duration=duration,
        seed=seed,
        kernel=kernel,
        domains=domains,
        protection_domains=tuple(pds),
        channels=channels,
        microkit=ms.to_dict(),
        path=ms.path,
    )


def check_kernel_limits(ms: MicrokitSystem, kernel: KernelSettings, tick: int) -> None:
    """What Microkit's tool lets through but the kernel refuses at boot: a PD's or a virtual
    machine's budget or period above MAX_PERIOD or below MIN_BUDGET (seL4's
    ``decodeSchedControl_ConfigureFlags`` in ``src/object/schedcontrol.c``, in its order), and
    domain lengths longer than a simulation holds."""
    scheduled = [(p, "protection_domain") for p in ms.protection_domains]
    scheduled += [
        (p.virtual_machine, "virtual_machine")
        for p in ms.protection_domains
        if p.virtual_machine is not None
    ]
    for entry, tag in scheduled:
        problem = _sc_refusal(entry.budget, entry.period, kernel.min_budget)
        if problem is not None:
            raise MicrokitError(
                ms.path,
                entry.line,
                entry.column,
                f"{problem}, which seL4 refuses (SchedControl_ConfigureFlags: seL4_RangeError), "
                f"on element '{tag}'",
            )
    if ms.domains is not None:
        for (_, length), in_ticks in zip(ms.domains.schedule, ms.domains.in_ticks, strict=True):
            if (length * tick if in_ticks else length) >= INF:
                raise MicrokitError(
                    ms.path,
                    ms.domains.line,
                    ms.domains.column,
                    "a schedule_entry's duration is 2^62 ns or more, longer than a simulation "
                    "holds, on element 'domains'",
                )


def _sc_refusal(budget: int, period: int, min_budget: int) -> str | None:
    """Why seL4 refuses an SC's budget and period (its checks, in its order), else None."""
    for key, ns in (("budget", budget), ("period", period)):
        if ns > MAX_PERIOD:
            return f"{key} ({ns // 1000} us) is above MAX_PERIOD ({format_duration(MAX_PERIOD)})"
    for key, ns in (("budget", budget), ("period", period)):
        if ns < min_budget:
            return (
                f"{key} ({ns // 1000} us) is below MIN_BUDGET ({format_duration(min_budget)}; "
                "the side file's [kernel] min_budget sets it)"
            )
    return None


def _is_channel(channels: tuple[Channel, ...], p: ProtectionDomain, ch: int) -> bool:
    return any(
        (c.a.pd, c.a.id) == (p.name, ch) or (c.b.pd, c.b.id) == (p.name, ch) for c in channels
    )


def default_workload_path(system_path: str | Path) -> Path:
    p = Path(system_path)
    return p.with_name(p.stem + ".workload.toml")


def load_system_file(path: str | Path, workload: str | Path | None = None) -> System:
    """A Microkit ``.system`` file and its side file (``workload``, or ``X.workload.toml`` next
    to it when that exists, or nothing: every PD then gets the default handlers)."""
    ms = load_microkit(path)
    if workload is None:
        candidate = default_workload_path(path)
        workload = candidate if candidate.exists() else None
    if workload is None:
        return to_system(
            ms, {}, Path(path).stem, DEFAULT_DURATION, 0, KernelSettings(), DEFAULT_TICK, str(path)
        )
    text = read_text(workload)
    fields = FieldReader(str(workload), text)
    return _load_workload(fields, parse_toml(text, str(workload)), ms)


__all__ = ["check_kernel_limits", "default_workload_path", "load_system_file", "to_system"]
