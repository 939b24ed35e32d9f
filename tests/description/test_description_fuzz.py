"""Whatever a field holds, loading a description either works or raises DescriptionError with
a location: never a traceback from deep inside."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sporadic.description import DescriptionError, load_text

BASE = """\
[system]
name = "fuzz"
duration = "10ms"
seed = 1
[kernel]
min_budget = "20us"
[[partition]]
name = "a"
priority = 200
budget = "1ms"
period = "2ms"
extra_refills = 0
sporadic = false
release = { period = "2ms", offset = "0ms", deadline = "2ms" }
job = { compute = { uniform = ["100us", "300us"] } }
timeout_handler = "h"
[[partition]]
name = "h"
priority = 250
budget = "100us"
period = "1ms"
fault_job = { compute = "10us", reply = "restart" }
[[thread]]
name = "t"
priority = 10
sc = { budget = "1ms", period = "5ms" }
script = [ { loop = [ { compute = "1ms" }, { yield = true }, { signal = "n" } ], times = 3 } ]
[[protection_domain]]
name = "pd"
priority = 100
notified = [ { compute = "10us" }, { notify = 1 } ]
[[protection_domain]]
name = "peer"
priority = 50
[[channel]]
ends = [ { pd = "pd", id = 1 }, { pd = "peer", id = 2 } ]
"""

VALUE_LINES = [i for i, line in enumerate(BASE.splitlines()) if " = " in line]

JUNK = [
    "-5", "0", "99999999999999999999", "true", "false", "1e3", "inf",
    '"0us"', '"1.5ns"', '"-1ms"', '"10 parsecs"', '""', '"x"', '"h"', '"pd"',
    "[]", "{}", '["1ms"]', '[1, "a"]', "{ x = 1 }",
    '{ uniform = ["2ms", "1ms"] }', "{ choice = [] }", '{ normal = ["1ms"] }',
    '{ exponential = "x" }', '{ choice = ["1ms"], weights = [-1] }',
    '{ choice = ["1ms"], weights = ["a"] }', '{ compute = "1ms", script = [] }',
    '{ period = "0ms" }', "[ { nothing = 1 } ]", "[ { compute = 5 } ]", "[ { loop = 5 } ]",
    "[ { loop = [], times = -1 } ]", '[ { compute = "1ms" }, 5 ]',
    '{ pd = "ghost", id = 1 }', '[ { pd = "pd", id = 99 }, { pd = "peer", id = 2 } ]',
    '[ { pd = 3, id = "a" }, { pd = "peer", id = 2 } ]',
]  # fmt: skip


def _with(index: int, value: str) -> str:
    lines = BASE.splitlines()
    key = lines[index].split(" = ", 1)[0]
    lines[index] = f"{key} = {value}"
    return "\n".join(lines) + "\n"


def test_every_junk_value_in_every_field_loads_or_fails_clearly() -> None:
    failures = 0
    for index in VALUE_LINES:
        for value in JUNK:
            try:
                load_text(_with(index, value), "fuzz.toml")
            except DescriptionError as e:
                assert str(e).startswith("fuzz.toml"), str(e)
                failures += 1
    assert failures > len(VALUE_LINES) * len(JUNK) // 2  # most of these must be refused


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VALUE_LINES), st.integers().map(str) | st.text(max_size=8).map(repr))
def test_random_scalars_load_or_fail_clearly(index: int, value: str) -> None:
    try:
        load_text(_with(index, value.replace("'", '"')), "fuzz.toml")
    except DescriptionError as e:
        assert str(e).startswith("fuzz.toml")


def test_base_is_valid() -> None:
    system = load_text(BASE, "fuzz.toml")
    assert [p.name for p in system.partitions] == ["a", "h"]
    with pytest.raises(DescriptionError):
        load_text(BASE.replace("priority = 200", 'priority = "high"'), "fuzz.toml")
