"""What a valid record, header and footer hold (docs/trace-format.md, *Validity*).

A trace may come from anywhere, so readers that compute on it (the summary, the deploy
comparison) check every record before using it. The rules live here twice: ``CHECKS``, one
callable per kind code that raises on an invalid record (what ``TraceReader.checked`` runs; the
summary's loop inlines the same tests, ``type(v) is int`` on each value, for speed), and
:func:`record_problem`, which says in words what is wrong. They must agree; a fuzzer holds them
(and the summary) to it.

An int is a msgpack integer of any width: Python's ``int`` exactly, not ``bool``, not ``float``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sporadic.records import DEPLOY, NAMES

MAX_KIND = 255  # record kind codes are 0..255; codes above the known ones are skipped

INT, STR, MAP = "int", "str", "map"


class Invalid(ValueError):
    """What a fast check raises on an invalid record (``record_problem`` then says why)."""


_EXPECTED = {INT: "an int", STR: "a string", MAP: "a map"}

# The values of each kind after ``kind, t``, as the kinds table of docs/trace-format.md names them.
FIELDS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("thread", INT), ("job", INT), ("absolute_deadline", INT)),  # job_release
    (("thread", INT), ("job", INT)),  # job_start
    (("thread", INT), ("job", INT)),  # job_end
    (("thread", INT), ("job", INT), ("absolute_deadline", INT)),  # deadline_miss
    (("from_thread", INT), ("to_thread", INT), ("sc", INT)),  # switch
    (("thread", INT), ("by_thread", INT)),  # preempt
    (("thread", INT), ("state", INT)),  # block
    (("thread", INT),),  # wake
    (("thread", INT), ("sc", INT)),  # budget_exhausted
    (("thread", INT), ("sc", INT), ("ready_time", INT)),  # postpone
    (("thread", INT), ("sc", INT)),  # refill_release
    (("thread", INT), ("sc", INT), ("badge", INT), ("consumed_ns", INT)),  # timeout_fault
    (("domain", INT),),  # domain_switch
    (("thread", INT), ("label", STR), ("value", INT)),  # mark
    (("thread", INT), ("syscall", STR), ("error", STR)),  # syscall_error
    (("thread", INT),),  # thread_exit
    (("thread", INT), ("line", STR)),  # log
    (("thread", INT), ("job", INT)),  # job_abort
    (("sender", INT), ("endpoint", INT), ("receiver", INT)),  # ipc_send
    (("caller", INT), ("endpoint", INT), ("receiver", INT)),  # ipc_call
    (("receiver", INT), ("endpoint", INT), ("sender", INT)),  # ipc_recv
    (("replier", INT), ("caller", INT)),  # ipc_reply
    (("signaller", INT), ("notification", INT), ("woken", INT)),  # signal
    (("sc", INT), ("from_thread", INT), ("to_thread", INT)),  # donate
    (("thread", INT), ("job", INT), ("message", STR)),  # fault
    (
        ("thread", INT),
        ("name", STR),
        ("kind", STR),
        ("priority", INT),
        ("domain", INT),
        ("sc", INT),
        ("budget", INT),
        ("period", INT),
    ),  # thread_new
    (("module", STR), ("phase", STR), ("info", MAP)),  # deploy
)
assert len(FIELDS) == len(NAMES)

# The keys of a deploy's info map that readers use, and their types; any may be nil or missing.
INFO_KEYS = {
    "request": INT,
    "thread": INT,
    "status": INT,
    "size": INT,
    "sha256": STR,
    "source": STR,
    "message": STR,
    "args": "strings",
}

_TYPES = {INT: int, STR: str, MAP: dict}


def _kind_check(kind: int) -> Callable[..., None]:
    """The check of one known kind: the record's arity, then each value's exact type."""
    types = (int, int, *(_TYPES[code] for _, code in FIELDS[kind]))
    deploy = kind == DEPLOY

    def check(*record: Any) -> None:
        if len(record) != len(types) or record[0] != kind:
            raise Invalid
        for value, wanted in zip(record, types, strict=True):
            if type(value) is not wanted:
                raise Invalid
        if deploy and info_problem(record[4]) is not None:
            raise Invalid

    return check


def _check_newer(kind: int, t: int, *values: object) -> None:
    """A kind newer than this reader: only its code and ``t`` are known, the rest is skipped."""
    if type(kind) is not int or kind < len(NAMES) or type(t) is not int:
        raise Invalid


# kind code -> a callable taking the record's items, raising on an invalid record.
CHECKS: list[Callable[..., None]] = [_kind_check(kind) for kind in range(len(NAMES))] + [
    _check_newer
] * (MAX_KIND + 1 - len(NAMES))
# values of each known kind whose values are all ints, kind and t included (0: other kinds)
INT_ARITY = tuple(
    len(fields) + 2 if all(code == INT for _, code in fields) else 0 for fields in FIELDS
)


def passes(record: tuple) -> bool:
    """Whether ``CHECKS`` accepts ``record`` (what the summary's loop accepts)."""
    try:
        kind = record[0]
        if type(kind) is not int or kind < 0:
            return False
        CHECKS[kind](*record)
    except Exception:
        return False
    return True


_TYPE_NAMES = {
    tuple: "an array",
    list: "an array",
    dict: "a map",
    int: "an int",
    float: "a float",
    bool: "a bool",
    str: "a string",
    bytes: "binary data",
    type(None): "nil",
}


def describe(obj: object) -> str:
    """'an int: 123', in msgpack's terms, cut short for long or deep values."""
    kind = _TYPE_NAMES.get(type(obj), type(obj).__name__)
    return f"{kind}: {short_repr(obj, 60)}"


def short_repr(obj: object, limit: int) -> str:
    """``repr`` with arrays as lists, at most ``limit`` characters, safe on deep nesting."""
    if isinstance(obj, tuple | list):
        parts, size = [], 2
        for item in obj:
            if size > limit:
                break
            part = short_repr(item, limit - size)
            parts.append(part)
            size += len(part) + 2
        text = "[" + ", ".join(parts) + "]"
    elif isinstance(obj, dict):
        text = "{...}" if obj else "{}"
    elif isinstance(obj, str | bytes):
        text = repr(obj[:limit])
    else:
        text = repr(obj)
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."


def _value_problem(name: str, value: object, code: str) -> str | None:
    if type(value) is _TYPES[code]:
        return None
    return f"{name} is {describe(value)}, expected {_EXPECTED[code]}"


def info_problem(info: dict) -> str | None:
    """What is wrong with a deploy record's info map: a known key with a value of another type."""
    for key, code in INFO_KEYS.items():
        value = info.get(key)
        if value is None:
            continue
        if code == "strings":
            if type(value) is not tuple or any(type(arg) is not str for arg in value):
                return f"info's {key} is {describe(value)}, expected an array of strings"
            continue
        problem = _value_problem(f"info's {key}", value, code)
        if problem is not None:
            return problem
    return None


def record_name(record: tuple) -> str:
    """The kind's name for messages: ``switch``, ``kind 40`` for a newer kind, or ``""``."""
    kind = record[0] if record else None
    if type(kind) is not int or not 0 <= kind <= MAX_KIND:
        return ""
    return NAMES[kind] if kind < len(NAMES) else f"kind {kind}"


def record_problem(record: tuple) -> str | None:
    """What makes ``record`` invalid, in words; None for a valid record."""
    if not record:
        return "an empty array, expected [kind, t, value...]"
    kind = record[0]
    if type(kind) is not int:
        return f"its kind is {describe(kind)}, expected an int"
    if not 0 <= kind <= MAX_KIND:
        return f"its kind {kind} is not a record kind code (0 to {MAX_KIND})"
    if kind >= len(NAMES):
        if len(record) < 2:
            return f"expected at least 2 values, got {len(record)}"
        return _value_problem("t", record[1], INT)
    fields = FIELDS[kind]
    if len(record) != len(fields) + 2:
        return f"expected {len(fields) + 2} values, got {len(record)}"
    problem = _value_problem("t", record[1], INT)
    for (name, code), value in zip(fields, record[2:], strict=True):
        problem = problem or _value_problem(name, value, code)
    if problem is None and kind == DEPLOY:
        problem = info_problem(record[4])
    return problem


def header_problem(header: dict[str, Any]) -> str | None:
    """What is wrong with the fields of a header that readers use; None when nothing is."""
    for key, code in (("seed", INT), ("duration", INT), ("time_unit", STR), ("system", MAP)):
        if key in header:
            problem = _value_problem(key, header[key], code)
            if problem is not None:
                return problem
    if header.get("time_unit", "ns") != "ns":
        return f"time_unit is {header['time_unit']!r}, expected 'ns'"
    for table, required, optional in (
        ("threads", ("id", "name"), {"kind": STR, "priority": INT, "domain": INT}),
        ("scs", ("id",), {"name": STR, "home": INT, "budget": INT, "period": INT}),
    ):
        problem = _table_problem(table, header.get(table, []), required, optional)
        if problem is not None:
            return problem
    return None


def _table_problem(
    table: str, entries: object, required: tuple[str, ...], optional: dict[str, str]
) -> str | None:
    if type(entries) is not list:
        return f"{table} is {describe(entries)}, expected an array of maps"
    seen: dict[Any, int] = {}
    for i, entry in enumerate(entries):
        where = f"{table}[{i}]"
        if type(entry) is not dict:
            return f"{where} is {describe(entry)}, expected a map"
        for key in required:
            if key not in entry:
                return f"{where} has no {key}"
        codes = {"id": INT, "name": STR, **optional}
        for key, code in codes.items():
            if entry.get(key) is not None or key in required:
                problem = _value_problem(f"{where}.{key}", entry[key], code)
                if problem is not None:
                    return problem
        if entry["id"] in seen:
            return f"{where}.id {entry['id']} is already the id of {table}[{seen[entry['id']]}]"
        seen[entry["id"]] = i
    return None


def footer_problem(footer: dict[str, Any]) -> str | None:
    """What is wrong with a footer map (its ``footer`` key already found ``true``)."""
    for key, code in (("end", INT), ("records", INT)):
        if key not in footer:
            return f"it has no {key}"
        problem = _value_problem(key, footer[key], code)
        if problem is not None:
            return problem
    counts = footer.get("counts", {})
    if type(counts) is not dict:
        return f"counts is {describe(counts)}, expected a map"
    for name, n in counts.items():
        if type(name) is not str or type(n) is not int:
            return f"counts maps {describe(name)} to {describe(n)}, expected a name to an int"
    return None
