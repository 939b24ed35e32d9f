"""The description loader: the fixed core of the format, defaults, and errors that name the file,
the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sporadic.description import DescriptionError, load, load_text
from sporadic.units import format_duration, parse_duration

CORE = """\
[system]
name = "example"
duration = "10s"          # simulated time; --until overrides
seed = 1

[kernel]
min_budget = "20us"       # MIN_BUDGET

[[partition]]             # one thread + one SC, Microkit style
name = "control"
priority = 200            # 0..254
budget = "1ms"            # default 1000us
period = "10ms"           # default = budget, which means round robin
extra_refills = 0
sporadic = false          # the seL4_SchedContext_Sporadic flag
release = { period = "10ms", offset = "0ms", deadline = "10ms" }  # periodic jobs
job = { compute = "400us" }   # synthetic job: fixed compute time
"""


def test_fixed_core_resolves_to_integer_ns() -> None:
    s = load_text(CORE, "core.toml")
    assert (s.name, s.duration, s.seed) == ("example", 10_000_000_000, 1)
    assert s.kernel.min_budget == 20_000
    (p,) = s.partitions
    assert (p.name, p.priority) == ("control", 200)
    assert (p.sc.budget, p.sc.period, p.sc.extra_refills, p.sc.sporadic) == (
        1_000_000,
        10_000_000,
        0,
        False,
    )
    assert (p.release.period, p.release.offset, p.release.deadline) == (10_000_000, 0, 10_000_000)
    assert p.job[0].op == "compute" and p.job[0].args["time"].values == (400_000,)
    assert s.to_dict()["partitions"][0]["sc"]["budget"] == 1_000_000


def test_defaults_budget_1ms_period_equals_budget_deadline_equals_period() -> None:
    s = load_text(
        '[[partition]]\nname = "a"\npriority = 1\nrelease = { period = "5ms" }\n'
        'job = { compute = "1ms" }\n'
    )
    p = s.partitions[0]
    assert (p.sc.budget, p.sc.period) == (1_000_000, 1_000_000)
    assert p.release.deadline == 5_000_000 and p.release.offset == 0
    assert s.duration == 1_000_000_000 and s.seed == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250us", 250_000),
        ("10ms", 10_000_000),
        ("1.5s", 1_500_000_000),
        ("0.1ms", 100_000),
        ("7ns", 7),
        ("0us", 0),
    ],
)
def test_durations(text: str, expected: int) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["10", "1.5ns", "ms", "10 days", "-1ms"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for ns in (1, 999, 1000, 250_000, 1_500_000, 2_000_000_000):
        assert parse_duration(format_duration(ns)) == ns


def _error(text: str) -> DescriptionError:
    with pytest.raises(DescriptionError) as info:
        load_text(text, "bad.toml")
    return info.value


def test_budget_over_period_names_file_line_and_field() -> None:
    e = _error(CORE.replace('budget = "1ms"', 'budget = "20ms"'))
    assert e.line == 12
    assert str(e) == (
        'bad.toml:12: partition "control": budget: 20000000 ns exceeds the period 10000000 ns'
    )


def test_priority_out_of_range() -> None:
    e = _error(CORE.replace("priority = 200", "priority = 255"))
    assert (e.line, e.where) == (11, 'partition "control"')
    assert "priority: 255 is outside 0..254" in str(e)


def test_duration_without_unit() -> None:
    e = _error(CORE.replace('period = "10ms"           #', "period = 10000           #"))
    assert e.line == 13
    assert "period" in str(e) and "unit" in str(e)


def test_unknown_field_is_rejected_with_its_line() -> None:
    e = _error(CORE.replace("extra_refills = 0", "extra_refils = 0"))
    assert e.line == 14
    assert "unknown field 'extra_refils'" in str(e)


def test_budget_below_min_budget() -> None:
    e = _error(CORE.replace('budget = "1ms"', 'budget = "10us"'))
    assert e.line == 12 and "below MIN_BUDGET 20000 ns" in str(e)


def test_toml_syntax_error_has_line_and_column() -> None:
    e = _error(CORE.replace('name = "control"', 'name = "control'))
    assert e.line == 10
    assert str(e).startswith("bad.toml:10: TOML syntax error")


def test_release_inline_table_field() -> None:
    e = _error(CORE.replace('offset = "0ms"', 'offset = "soon"'))
    assert e.line == 16 and "offset" in str(e)


def test_duplicate_names() -> None:
    e = _error(CORE + CORE.split("\n\n", 2)[2])
    assert e.line == 19 and "'control' is already used" in str(e)


def test_unknown_timeout_handler() -> None:
    e = _error(CORE + 'timeout_handler = "nobody"\n')
    assert "no partition named 'nobody'" in str(e)


def test_partition_without_release_needs_to_be_a_handler() -> None:
    e = _error('[[partition]]\nname = "a"\npriority = 1\njob = { compute = "1ms" }\n')
    assert "release: missing" in str(e)


def test_script_errors_point_at_the_script() -> None:
    text = '[[thread]]\nname = "t"\npriority = 5\nscript = [ { compute = "1ms" }, { jump = 1 } ]\n'
    e = _error(text)
    assert e.line == 4 and e.where == 'thread "t": script[1]'
    assert "no action" in str(e)


def test_script_references_must_exist() -> None:
    text = '[[thread]]\nname = "t"\npriority = 5\nscript = [ { resume = "ghost" } ]\n'
    assert "no thread named 'ghost'" in str(_error(text))


def test_distribution_forms() -> None:
    text = CORE.replace(
        'job = { compute = "400us" }',
        'job = { compute = { choice = ["300us", "4ms"], weights = [3, 1] } }',
    )
    d = load_text(text).partitions[0].job[0].args["time"]
    assert (d.kind, d.values, d.weights) == ("choice", (300_000, 4_000_000), (0.75, 0.25))
    bad = CORE.replace('job = { compute = "400us" }', 'job = { compute = { uniform = ["2ms"] } }')
    assert "expected two values" in str(_error(bad))


def test_missing_file_and_binary_file(tmp_path: Path) -> None:
    with pytest.raises(DescriptionError, match="cannot read"):
        load(tmp_path / "nope.toml")
    binary = tmp_path / "x.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DescriptionError, match="not a UTF-8"):
        load(binary)


def test_domains_and_domain_field() -> None:
    text = (
        '[domains]\nschedule = [ { domain = 0, length = "10ms" }, '
        '{ domain = 1, length = "5ms" } ]\n' + CORE.split("\n\n", 2)[2] + "domain = 1\n"
    )
    s = load_text(text)
    assert s.domains == ((0, 10_000_000), (1, 5_000_000))
    assert s.partitions[0].domain == 1
    e = _error(CORE + "domain = 1\n")
    assert "domain: 1 is not in the domain schedule" in str(e)
