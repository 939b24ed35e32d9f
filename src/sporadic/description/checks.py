"""Checks across entries once each is read: the names they use and Microkit's channel rules."""

from __future__ import annotations

from sporadic.description.fields import FieldReader, SourceLines
from sporadic.description.model import Channel, ChannelEnd, Partition, ProtectionDomain, Thread
from sporadic.description.scripts import THREAD_TARGET_OPS, ScriptReader, walk
from sporadic.errors import DescriptionError


def cross_check(
    fields: FieldReader,
    scripts: ScriptReader,
    partitions: tuple[Partition, ...],
    threads: tuple[Thread, ...],
    names: dict,
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
                fields.error(loc, key, loc[2], f"{key}: no partition named {target!r}")
            if h is p:
                fields.error(loc, key, loc[2], "a partition cannot handle itself")
            if h.release is not None:
                fields.error(
                    loc,
                    key,
                    loc[2],
                    f"{key}: {h.name!r} has periodic releases; a handler runs "
                    "only when faults arrive",
                )
    objects = (
        set(names) | set(scripts.notifications) | set(scripts.waitables) | set(scripts.endpoints)
    )
    thread_names = {t.name for t in threads} | set(by_name)
    for i, t in enumerate(threads):
        loc = ("thread", i, f'thread "{t.name}"')
        for a in walk(t.script):
            if a.op in ("notify", "ppcall"):
                raise DescriptionError(
                    fields.path, a.line, loc[2], f"{a.op}: only a protection_domain handler can"
                )
            target = a.args.get("target")
            if a.op in THREAD_TARGET_OPS and target not in thread_names:
                raise DescriptionError(
                    fields.path, a.line, loc[2], f"{a.op}: no thread named {target!r}"
                )
            if a.op == "configure" and target not in objects:
                raise DescriptionError(
                    fields.path, a.line, loc[2], f"configure: no object named {target!r}"
                )
            if a.op == "reply" and a.args["via"] not in (None, *thread_names):
                raise DescriptionError(
                    fields.path, a.line, loc[2], f"reply: no thread named {a.args['via']!r}"
                )
            if a.op == "bind" and a.args["to"] not in objects:
                raise DescriptionError(
                    fields.path, a.line, loc[2], f"bind: no object named {a.args['to']!r}"
                )


def check_microkit_graph(
    path: str,
    pds: tuple[ProtectionDomain, ...],
    channels: tuple[Channel, ...],
    lines: SourceLines | None = None,
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
            for a in walk(script):
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


__all__ = ["check_microkit_graph", "cross_check"]
