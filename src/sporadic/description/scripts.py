"""Scripts: the lists of actions a thread, a partition's job or a PD's handler runs.

``ScriptReader`` turns each ``{ op = value, ... }`` table into an ``Action`` and collects the
kernel objects the actions name (notifications, endpoints), which become the system's objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sporadic.description.fields import FieldReader
from sporadic.description.model import Action
from sporadic.errors import DescriptionError
from sporadic.units import parse_duration

# every op, with the keys an action table may have next to it
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
# ops whose target is an endpoint
IPC_OPS = {"recv", "reply_recv", "call", "send", "nbsend", "nbsend_recv", "nbsend_wait"}
# ops whose target is a thread
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


class ScriptReader:
    """Reads scripts for every section of one description, sharing the objects they name."""

    def __init__(self, fields: FieldReader) -> None:
        self.fields = fields
        self.notifications: list[str] = []
        self.endpoints: list[str] = []
        self.waitables: list[str] = []

    def script(self, items: Any, key: str, loc: tuple, depth: int = 0) -> tuple[Action, ...]:
        """The list at ``key`` of the table at ``loc``; errors name the action's index."""
        line = self.fields.lines.find(loc[0], loc[1], key)
        if not isinstance(items, list):
            self.fields.error(loc, key, loc[2], f"{key}: expected a list of actions")
        out = []
        for i, item in enumerate(items):
            where = f"{loc[2]}: {key}[{i}]"
            if not isinstance(item, dict) or not item:
                raise DescriptionError(
                    self.fields.path, line, where, f"expected an action table, got {item!r}"
                )
            out.append(self.action(item, where, line, loc, depth))
        return tuple(out)

    def action(self, item: dict, where: str, line: int | None, loc: tuple, depth: int) -> Action:
        """One action table: its op (a key of ``SCRIPT_OPS``), the op's value and extra keys."""
        op = next((k for k in item if k in SCRIPT_OPS), None)
        if op is None:
            raise DescriptionError(
                self.fields.path,
                line,
                where,
                f"no action in {item!r}; actions are: {', '.join(sorted(SCRIPT_OPS))}",
            )
        allowed = SCRIPT_OPS[op]
        for k in item:
            if k != op and k not in allowed:
                raise DescriptionError(
                    self.fields.path,
                    line,
                    where,
                    f"{op}: unknown field {k!r} (known: {sorted(allowed)})",
                )
        v = item[op]
        args: dict[str, Any] = {}
        try:
            if op == "compute":
                args["time"] = self.fields.distribution(v, "compute", loc)
            elif op in ("spin", "yield"):
                if v is not True:
                    raise ValueError(f"write {{ {op} = true }}")
            elif op == "loop":
                args["body"] = self.script(v, "script", loc, depth + 1)
                times = item.get("times")
                if times is not None and (not isinstance(times, int) or times < 0):
                    raise ValueError("times must be a non-negative integer")
                args["times"] = times
                _check_loop_body(args["body"])
            elif op == "mark":
                args["label"] = _str(v, "mark")
                args["value"] = _int(item.get("value", 0), "value")
            elif op == "notify":
                args["channel"] = channel_id(v)
            elif op == "ppcall":
                args["channel"] = channel_id(v)
                args["words"] = _words(item.get("words", []))
            elif op == "mark_result":
                args["label"] = _str(v, "mark_result")
            elif op == "signal":
                args["target"] = _str(v, op)
                self.declare(self.notifications, args["target"])
                args["badge"] = _int(item.get("badge", 1), "badge")
            elif op in ("wait", "poll"):
                # a notification, unless the name is an endpoint somewhere in the file
                args["target"] = _str(v, op)
                self.declare(self.waitables, args["target"])
            elif op in IPC_OPS:
                args["target"] = _str(v, op)
                self.declare(self.endpoints, args["target"])
                args["label"] = _int(item.get("label", 0), "label")
                args["badge"] = _int(item.get("badge", 0), "badge")
                args["words"] = _words(item.get("words", []))
                if op in ("nbsend_recv", "nbsend_wait"):
                    args["source"] = _str(item.get("from"), "from")
                    self.declare(self.endpoints, args["source"])
            elif op == "reply":
                args["label"] = _int(v, "reply")
                args["words"] = _words(item.get("words", []))
                args["via"] = None if "via" not in item else _str(item["via"], "via")
            elif op == "bind_notification":
                args["target"] = _str(v, op)
                args["ntfn"] = _str(item.get("ntfn"), "ntfn")
                self.declare(self.notifications, args["ntfn"])
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
            raise DescriptionError(self.fields.path, line, where, f"{op}: {e}") from None
        return Action(op, args, line)

    def declare(self, names: list[str], name: str) -> None:
        """Add ``name`` to ``names`` once, keeping the order of first use."""
        if name not in names:
            names.append(name)


def _check_loop_body(body: tuple[Action, ...]) -> None:
    """A loop must act each time round: one that does nothing would spin without ever
    giving the kernel an action, where no livelock check can see it."""
    if not body:
        raise ValueError("an empty loop never lets time pass; give it at least one action")
    if not _acts(body):
        raise ValueError(
            "its body does no action (every action in it is a loop run 0 times); "
            "give it at least one action"
        )


def _acts(actions: tuple[Action, ...]) -> bool:
    """Whether running ``actions`` gives the kernel at least one action."""
    return any(a.op != "loop" or (a.args["times"] != 0 and _acts(a.args["body"])) for a in actions)


def walk(actions: tuple[Action, ...]) -> Iterator[Action]:
    """Every action of a script, the bodies of its loops included."""
    for a in actions:
        yield a
        if a.op == "loop":
            yield from walk(a.args["body"])


def _str(v: Any, what: str) -> str:
    if not isinstance(v, str) or not v:
        raise ValueError(f"{what} expects a name, got {v!r}")
    return v


def channel_id(v: Any) -> int:
    """A Microkit channel id: 0..61, as the Microkit tool enforces."""
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


__all__ = ["IPC_OPS", "SCRIPT_OPS", "THREAD_TARGET_OPS", "ScriptReader", "channel_id", "walk"]
