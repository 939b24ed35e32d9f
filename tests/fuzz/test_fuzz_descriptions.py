"""Hostile descriptions through the CLI, in process: the repository's examples with values
replaced by other TOML types and extremes (huge and negative integers, nan and inf, long,
markup and control-character strings, empty and deeply nested tables and arrays), and Microkit
files with attribute values replaced alike.

Whatever the file holds, ``check`` and ``run`` end with status 0 or 2 (a one-line error), never
an exception; and a file ``check`` accepts, ``run`` runs: what the simulator would crash on must
be refused at load time, with its file, line and field.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import math
import signal
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from sporadic.cli import main
from sporadic.errors import SporadicError
from sporadic.simulation import load
from tests.fuzz.budget import FUZZ
from tests.helpers import ROOT

EXAMPLES = ROOT / "examples"


def _loads(path: Path) -> bool:
    """Whether ``path`` is a description (or side file) that loads as it is."""
    system = path.with_name(path.name.replace(".workload.toml", ".system"))
    try:
        load(system, path) if system != path else load(path)
    except SporadicError:
        return False
    return True


# every example description, and side files (run with their .system); not other TOML files
DESCRIPTIONS = [p for p in sorted(EXAMPLES.glob("*/*.toml")) if _loads(p)]
SYSTEMS = sorted((EXAMPLES / "microkit").glob("*.system"))

HUGE_INTS = [
    2**64,
    2**64 - 1,
    2**63,
    2**63 - 1,
    -(2**63) - 1,
    2**62,
    2**56 + 1,
    10**30,
    -1,
    0,
    1,
    256,
    10_000,
    1_000_000_000,
]
FLOATS = [math.nan, math.inf, -math.inf, 1e308, -0.0, 0.5, 1e-300]
STRINGS = [
    "",
    "[/]",
    "[link=https://evil.example]click[/link]",
    "[red]x[/red]",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "a\nb\rc\x00\x7f\x9b",
    "x" * 10_000,
    "18446744073709551616ns",
    "4611686018427387904ns",
    "72057594037927937ns",
    "0ns",
    "1ns",
    "1.5ns",
    "-1ms",
    "99999999999999999999999s",
    "16MiB",
    "99999999999999999999GiB",
]


class Raw(str):
    """TOML text the emitter writes as it is: nestings deeper than a recursive emitter goes."""


def _deep(depth: int, kind: str) -> Raw:
    if kind == "loops":
        return Raw('{"loop" = [' * depth + '{"compute" = "1us"}' + "]}" * depth)
    if kind == "arrays":
        return Raw("[" * depth + "]" * depth)
    return Raw('{"a" = ' * depth + "1" + "}" * depth)


EXTREMES = st.one_of(
    st.sampled_from(HUGE_INTS),
    st.integers(),
    st.sampled_from(FLOATS),
    st.floats(),
    st.sampled_from(STRINGS),
    st.text(max_size=20).filter(lambda s: all(not 0xD800 <= ord(c) <= 0xDFFF for c in s)),
    st.booleans(),
    st.builds(dict),  # new containers each time: later mutations may go inside them
    st.builds(list),
    st.builds(lambda: [{}]),
    st.just(datetime.datetime(1979, 5, 27, 7, 32)),
    st.builds(
        _deep, st.sampled_from([10, 33, 60, 120, 700]), st.sampled_from(["loops", "arrays", "x"])
    ),
    st.lists(st.sampled_from(HUGE_INTS + FLOATS), max_size=4),
)

DURATIONS = [
    "0ns",
    "1ns",
    "19999ns",
    "20us",
    "72057594037927936ns",  # MAX_PERIOD
    "72057594037927937ns",
    "4611686018427387903ns",  # INF - 1
    "4611686018427387904ns",
    "18446744073709551616ns",
    "0.000000001s",
    "1e3ms",
]
ORDINARY = ["50us", "100us", "1ms", "3ms", "10ms", "1s"]  # values a run gets to, for once
NAMES = ["[/]", "[red]x[/red]", "\x1b[2J", "\x1b]0;t\x07", "a\u202eb", "n" * 300, "-", "x y"]


def _replacement(old: Any) -> st.SearchStrategy[Any]:
    """A value like ``old`` at an extreme, four times as likely as anything else: more runs
    then get past the type checks to where the bounds are."""
    if isinstance(old, bool):
        like: st.SearchStrategy[Any] = st.booleans()
    elif isinstance(old, int):
        like = st.one_of(st.sampled_from(HUGE_INTS), st.integers(), st.integers(0, 300))
    elif isinstance(old, float):
        like = st.one_of(st.sampled_from(FLOATS), st.floats())
    elif isinstance(old, str) and (old[-2:] in ("ns", "us", "ms") or old[-1:] == "s"):
        like = st.one_of(st.sampled_from(DURATIONS), st.sampled_from(ORDINARY))
    elif isinstance(old, str):
        like = st.sampled_from(NAMES)
    else:
        like = EXTREMES
    return st.one_of(like, like, like, like, EXTREMES)


MUTATIONS = st.sampled_from([1, 1, 1, 2, 3])  # mostly one, so that more files pass check


# -- a tiny TOML emitter: every table inline, every key quoted


def _string(s: str) -> str:
    text = json.dumps(s, ensure_ascii=False)  # \" \\ \n \uXXXX: TOML's basic-string escapes
    return text.replace("\x7f", "\\u007f")  # DEL must be escaped in TOML, not in JSON


def _value(v: Any) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, datetime.date | datetime.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{_string(k)} = {_value(x)}" for k, x in v.items()) + "}"


def to_toml(data: dict[str, Any]) -> str:
    """``data`` as TOML that tomllib reads back equal (one top-level key a line)."""
    return "".join(f"{_string(k)} = {_value(v)}\n" for k, v in data.items())


# -- where a mutation can land


def _paths(value: Any, limit: int = 12) -> list[tuple]:
    """Every position in ``value`` down to ``limit`` levels: each key of each table and each
    item of each array (iteratively: a mutation may have nested 700 levels)."""
    out: list[tuple] = []
    stack: list[tuple[Any, tuple]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if not isinstance(node, dict | list) or len(path) >= limit:
            continue
        for key, item in node.items() if isinstance(node, dict) else enumerate(node):
            out.append((*path, key))
            stack.append((item, (*path, key)))
    return sorted(out, key=repr)


def _get(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


def _set(data: Any, path: tuple, new: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = new


def _absolute_wasm(data: Any, base: Path) -> None:
    """Module paths relative to the example's folder, made absolute for a copy elsewhere."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "wasm" and isinstance(value, str) and not Path(value).is_absolute():
                data[key] = str((base / value).resolve())
            else:
                _absolute_wasm(value, base)
    elif isinstance(data, list):
        for item in data:
            _absolute_wasm(item, base)


class TooSlow(Exception):
    """A command took longer than ``SLOW`` seconds: a hang is a failure with its example."""


SLOW = 20


def _alarm(signum: int, frame: Any) -> None:
    raise TooSlow(f"over {SLOW} s")


def _cli(*argv: str) -> tuple[int, str]:
    """``sporadic ARGV`` in process: its status and stderr; any exception fails the test."""
    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SLOW)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            return main(list(argv)), err.getvalue()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check_then_run(path: Path, *extra: str, src: Path | None = None) -> None:
    """``check`` PATH, then ``run`` it if it passed (``src``: a file to copy to PATH first)."""
    if src is not None:
        path.write_bytes(src.read_bytes())
    status, err = _cli("check", str(path), *extra)
    event(f"check: status {status}")  # --hypothesis-show-statistics: how many got to run
    assert status in (0, 2), err
    assert status == 0 or err.count("\n") == 1 and err.startswith("sporadic: error: "), err
    if status == 0:  # what check accepts, run runs
        trace = path.with_name("out.trace")
        status, err = _cli("run", str(path), *extra, "--until", "20ms", "-o", str(trace))
        # a .system without its side file runs idle, with one note saying so
        assert (status, [ln for ln in err.splitlines() if not ln.startswith("note: ")]) == (
            0,
            [],
        ), path


@FUZZ
@given(st.sampled_from(DESCRIPTIONS), st.data())
def test_toml_mutations_end_in_status_0_or_2_and_check_accepts_only_what_runs(
    example: Path, data: st.DataObject
) -> None:
    description = tomllib.loads(example.read_text())
    _absolute_wasm(description, example.parent)
    for _ in range(data.draw(MUTATIONS, label="mutations")):
        path = data.draw(st.sampled_from(_paths(description)), label="where")
        _set(description, path, data.draw(_replacement(_get(description, path)), label="value"))
    with tempfile.TemporaryDirectory() as tmp:
        mutated = Path(tmp) / example.name
        mutated.write_text(to_toml(description), encoding="utf-8")
        if example.name.endswith(".workload.toml"):
            system = example.with_name(example.name.replace(".workload.toml", ".system"))
            _check_then_run(Path(tmp) / system.name, "--workload", str(mutated), src=system)
        else:
            _check_then_run(mutated)


SYSTEM_VALUES = st.one_of(
    st.sampled_from([str(v) for v in HUGE_INTS]),
    st.sampled_from(["10", "19", "20", "0x10", "1_0", "-1", "", "true", "1 us", "10 ticks"]),
    st.sampled_from([s for s in STRINGS if s.isprintable()] + ["[/]\x9b2J", "\x85\u202e"]),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=12),
)


@FUZZ
@given(st.sampled_from(SYSTEMS), st.data())
def test_microkit_attribute_mutations_end_in_status_0_or_2_and_check_accepts_only_what_runs(
    example: Path, data: st.DataObject
) -> None:
    root = ET.fromstring(example.read_text())
    elements = [e for e in root.iter() if e.attrib]
    for _ in range(data.draw(MUTATIONS, label="mutations")):
        element = data.draw(st.sampled_from(elements), label="element")
        names = sorted(element.attrib) + ["budget", "period", "priority"]
        name = data.draw(st.sampled_from(names), label="attribute")
        element.set(name, data.draw(SYSTEM_VALUES, label="value"))
    with tempfile.TemporaryDirectory() as tmp:
        mutated = Path(tmp) / example.name
        mutated.write_bytes(ET.tostring(root))
        side = example.with_name(example.stem + ".workload.toml")
        if side.exists():
            mutated.with_name(side.name).write_text(side.read_text())
        _check_then_run(mutated)
