"""Hostile descriptions: each one that used to crash ``run`` after ``check`` said it was valid, or
to take gigabytes, is refused at load time with one line naming the file, the line and the field.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sporadic.description import DescriptionError, load, load_text
from sporadic.description.bounds import MAX_TEXT
from sporadic.scheduler.domains import DomainSchedule
from sporadic.units import INF, MAX_PERIOD, parse_duration, parse_size

BASE = """\
[system]
name = "s"
duration = "10ms"
seed = 1
[[partition]]
name = "a"
priority = 10
budget = "1ms"
period = "2ms"
release = { period = "2ms" }
job = { compute = "100us" }
"""
JOB = 'job = { compute = "100us" }'


def _error(text: str) -> str:
    with pytest.raises(DescriptionError) as e:
        load_text(text, "x.toml")
    return str(e.value)


def _nested_loops(n: int) -> str:
    return "[ { loop = " * n + '[ { compute = "1us" } ]' + ", times = 1 } ]" * n


# -- item 6: the domain number


@pytest.mark.parametrize("domain", [10_000, 1_000_000_000, 256])
def test_a_domain_above_255_is_refused_before_anything_is_allocated(domain: int) -> None:
    text = BASE + f'[domains]\nschedule = [ {{ domain = {domain}, length = "1ms" }} ]\n'
    assert _error(text) == (
        f"x.toml:13: [domains] schedule[0]: domain: {domain} is above 255 "
        "(seL4 has at most 256 domains)"
    )


def test_domain_255_is_the_last_one_accepted() -> None:
    text = BASE + '[domains]\nschedule = [ { domain = 255, length = "1ms" } ]\n'
    assert load_text(text).domains == ((255, 1_000_000),)


def test_the_domain_schedule_itself_refuses_domain_256() -> None:
    with pytest.raises(ValueError, match=r"invalid domain schedule entry \(256, 1000\)"):
        DomainSchedule([(256, 1000)])


# -- item 6: what is read


def test_dev_zero_is_refused_as_not_a_regular_file() -> None:
    with pytest.raises(DescriptionError) as e:
        load("/dev/zero")
    assert str(e.value) == "/dev/zero: not a regular file (a description is read whole)"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    with pytest.raises(DescriptionError) as e:
        load(fifo)
    assert str(e.value) == f"{fifo}: not a regular file (a description is read whole)"


def test_a_description_over_16_mib_is_refused_by_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    with big.open("wb") as f:
        f.truncate(MAX_TEXT + 1)  # sparse: nothing of it is written or read
    with pytest.raises(DescriptionError) as e:
        load(big)
    assert str(e.value) == f"{big}: 16777217 bytes, above the 16 MiB a description may have"


def test_a_description_of_exactly_16_mib_is_read(tmp_path: Path) -> None:
    text = BASE + "#" * (MAX_TEXT - len(BASE) - 1) + "\n"
    path = tmp_path / "full.toml"
    path.write_text(text)
    assert load(path).name == "s"


# -- item 8: integers and floats the simulator cannot hold


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ("-1", "seed: -1 is outside 0..9223372036854775807"),
        ("9223372036854775808", "seed: 9223372036854775808 is outside 0..9223372036854775807"),
        (
            "18446744073709551616",
            "seed: 18446744073709551616 is outside -9223372036854775808..18446744073709551615",
        ),
    ],
)
def test_a_seed_outside_0_to_2_63_is_refused(seed: str, message: str) -> None:
    assert _error(BASE.replace("seed = 1", f"seed = {seed}")) == f"x.toml:4: [system]: {message}"


def test_the_largest_seed_is_accepted() -> None:
    assert load_text(BASE.replace("seed = 1", "seed = 9223372036854775807")).seed == 2**63 - 1


@pytest.mark.parametrize("badge", ["-1", "18446744073709551616"])
def test_an_sc_badge_outside_a_word_is_refused(badge: str) -> None:
    assert _error(BASE + f"badge = {badge}\n") == (
        f'x.toml:12: partition "a": badge: {badge} is outside 0..18446744073709551615'
    )


def test_a_signal_badge_below_0_is_refused_at_its_line() -> None:
    text = (
        BASE + '[[thread]]\nname = "t"\npriority = 1\nscript = [ { signal = "n", badge = -5 } ]\n'
    )
    assert _error(text) == (
        'x.toml:15: thread "t": script[0].badge: -5 is outside 0..18446744073709551615'
    )


@pytest.mark.parametrize("value", ["9223372036854775808", "18446744073709551616"])
def test_a_mark_value_outside_int64_is_refused(value: str) -> None:
    text = BASE.replace(JOB, f'job = {{ script = [ {{ mark = "m", value = {value} }} ] }}')
    assert _error(text) == (
        f'x.toml:11: partition "a": job.script[0].value: {value} is outside '
        "-9223372036854775808..9223372036854775807"
    )


def test_an_integer_of_5000_digits_is_a_description_error() -> None:
    assert _error(BASE.replace("seed = 1", "seed = " + "9" * 5000)) == (
        "x.toml: cannot read a value: Exceeds the limit (4300 digits) for integer string "
        "conversion: value has 5000 digits"
    )


@pytest.mark.parametrize("duration", ["18446744073709551616ns", "4611686018427387904ns"])
def test_a_duration_of_2_62_ns_or_more_is_refused(duration: str) -> None:
    text = BASE.replace('duration = "10ms"', f'duration = "{duration}"')
    assert _error(text) == (
        f"x.toml:3: [system]: duration: '{duration}' is 2^62 ns (146 years) or more, longer "
        "than a simulation holds"
    )


def test_parse_duration_takes_up_to_inf_minus_one() -> None:
    assert parse_duration(f"{INF - 1}ns") == INF - 1
    with pytest.raises(ValueError, match="2\\^62 ns"):
        parse_duration(f"{INF}ns")


def test_a_period_above_max_period_is_refused_as_sel4_does() -> None:
    text = BASE.replace('period = "2ms"\nrelease', f'period = "{MAX_PERIOD + 1}ns"\nrelease')
    assert _error(text) == (
        'x.toml:9: partition "a": period: 72057594037927937 ns is above MAX_PERIOD '
        "72057594037927936 ns (seL4 rejects it with RangeError)"
    )


def test_a_thread_sc_period_of_max_period_is_accepted() -> None:
    sc = f'sc = {{ budget = "1ms", period = "{MAX_PERIOD}ns" }}'
    text = BASE + f'[[thread]]\nname = "t"\npriority = 1\n{sc}\n'
    assert load_text(text).threads[0].sc.period == MAX_PERIOD


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("[nan, 1.0]", "job.compute.weights[0]: nan is not a finite number"),
        ("[inf, 1.0]", "job.compute.weights[0]: inf is not a finite number"),
        ("[1e308, 1e308]", "job: weights must be finite, and so must their sum"),
    ],
)
def test_weights_that_numpy_cannot_normalise_are_refused(weights: str, message: str) -> None:
    text = BASE.replace(
        JOB, f'job = {{ compute = {{ choice = ["1us", "2us"], weights = {weights} }} }}'
    )
    assert _error(text) == f'x.toml:11: partition "a": {message}'


def test_a_normal_whose_clip_is_beyond_2_62_ns_is_refused() -> None:
    text = BASE.replace(JOB, 'job = { compute = { normal = ["1s", "4611686018427387000ns"] } }')
    assert _error(text) == (
        'x.toml:11: partition "a": job: normal: mean + 6 std is 2^62 ns or more'
    )


def test_nan_anywhere_is_refused_with_its_field() -> None:
    assert _error(BASE + "[agent]\nmax_utilisation = nan\n") == (
        "x.toml:13: [agent]: max_utilisation: nan is not a finite number"
    )


def test_extra_refills_beyond_the_largest_sc_are_refused() -> None:
    assert _error(BASE + "extra_refills = 1000000000000000\n") == (
        'x.toml:12: partition "a": extra_refills: 1000000000000000 is more than the '
        "8796093022200 an SC holds"
    )


def test_fuel_per_us_above_a_million_is_refused() -> None:
    assert _error(BASE + "[cpu]\nfuel_per_us = 1000000000\n") == (
        "x.toml:13: [cpu]: fuel_per_us: must be at most 1000000"
    )


def test_a_wasm_memory_limit_above_int64_is_refused() -> None:
    text = BASE.replace(
        JOB,
        'job = { wasm = "../../examples/wasm/nbody.wasm" }\nmemory = "99999999999999999999GiB"',
    )
    with pytest.raises(DescriptionError) as e:
        load_text(text, str(Path(__file__)))
    assert str(e.value).endswith(
        "partition \"a\": memory: '99999999999999999999GiB' is above 9223372036854775807 bytes"
    )


def test_parse_size_refuses_sizes_above_int64() -> None:
    assert parse_size("8589934591GiB") == 8589934591 * 2**30
    with pytest.raises(ValueError, match="is above 9223372036854775807 bytes"):
        parse_size("8589934592GiB")


def test_a_wasm_path_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    text = BASE.replace(JOB, 'job = { wasm = "" }')
    with pytest.raises(DescriptionError) as e:
        load_text(text, str(tmp_path / "x.toml"))
    assert str(e.value) == (
        f'{tmp_path}/x.toml:11: partition "a": wasm: {tmp_path} is not a regular file'
    )


def test_a_release_period_below_min_budget_is_refused() -> None:
    text = BASE.replace('release = { period = "2ms" }', 'release = { period = "1ns" }')
    assert _error(text) == (
        'x.toml:10: partition "a": release: period: 1 ns is below MIN_BUDGET 20000 ns'
    )


# -- item 8: nesting


def test_33_nested_loops_are_refused_and_32_accepted() -> None:
    assert _error(BASE.replace(JOB, f"job = {{ script = {_nested_loops(33)} }}")) == (
        'x.toml:11: partition "a": job.script[0].loop[0].loop[0].loop…: loops nested deeper than 32'
    )
    assert load_text(BASE.replace(JOB, f"job = {{ script = {_nested_loops(32)} }}")).partitions


def test_300_nested_loops_are_a_description_error_not_a_recursion_error() -> None:
    text = BASE.replace(JOB, f"job = {{ script = {_nested_loops(300)} }}")
    assert _error(text) == "x.toml: arrays or tables nested too deep to read"


def test_5000_nested_arrays_are_a_description_error() -> None:
    assert _error(BASE + "x = " + "[" * 5000 + "]" * 5000 + "\n") == (
        "x.toml: arrays or tables nested too deep to read"
    )


def test_inline_tables_nested_150_deep_are_refused_at_100() -> None:
    text = BASE.replace('name = "s"', "name = " + "{a = " * 150 + "1" + "}" * 150)
    assert _error(text) == (
        "x.toml:2: [system]: name.a.a.a.a.a.a.a…: nested deeper than 100 tables and arrays"
    )


def test_a_dotted_key_of_65_parts_is_refused_before_tomllib_reads_it() -> None:
    assert _error(BASE + "a." * 64 + "b = 1\n") == ("x.toml:12: a dotted key of more than 64 parts")


def test_a_dotted_key_of_64_parts_reaches_the_field_checks() -> None:
    assert _error(BASE + "a." * 63 + "b = 1\n").startswith(
        "x.toml:5: partition \"a\": unknown field 'a' (known: badge, budget, "
    )


# -- item 8: kernel costs that would charge an SC for trillions of periods at once


@pytest.mark.parametrize("key", ["entry_cost", "irq_latency", "syscall_latency"])
def test_a_kernel_cost_above_min_budget_is_refused(key: str) -> None:
    text = BASE + f'[kernel]\n{key} = "4611686018427387903ns"\n'
    assert _error(text) == (
        f"x.toml:13: [kernel]: {key}: 4611686018427387903 ns is above MIN_BUDGET 20000 ns"
    )


def test_a_min_budget_above_one_second_is_refused() -> None:
    assert _error(BASE + '[kernel]\nmin_budget = "2s"\n') == (
        "x.toml:13: [kernel]: min_budget: 2000000000 ns is above 1000000000 ns (1s)"
    )
