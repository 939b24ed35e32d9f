"""The CLI against hostile input: it never writes a trace over an input, reports OS errors as
one line with exit status 2, prints names, module output and warnings as text (no markup, no
terminal escapes), and stays fast on very long names."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from sporadic.cli import main
from sporadic.live import commands
from sporadic.traces.table import MAX_TASK, plain, printable, render_summary, shorten
from tests.helpers import ROOT

SMALL = """\
[system]
name = "small"
duration = "10ms"
[[partition]]
name = "{name}"
priority = 10
budget = "1ms"
period = "2ms"
release = {{ period = "2ms" }}
job = {{ compute = "100us" }}
"""
OVERWRITE = "the trace would overwrite an input; give -o another path"


def _small(tmp_path: Path, name: str = "a", file: str = "small.toml") -> Path:
    path = tmp_path / file
    path.write_text(SMALL.format(name=name.replace("\\", "\\\\").replace('"', '\\"')))
    return path


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


# -- item 5: a trace never replaces an input


def test_o_the_description_is_refused_and_leaves_it_as_it_was(tmp_path: Path, capsys) -> None:
    desc = _small(tmp_path)
    before = desc.read_bytes()
    assert main(["run", str(desc), "-o", str(desc)]) == 2
    assert _err(capsys) == f"sporadic: error: {desc}: {OVERWRITE}\n"
    assert desc.read_bytes() == before


def test_a_description_named_x_trace_is_not_overwritten_by_its_default_output(
    tmp_path: Path, capsys
) -> None:
    desc = _small(tmp_path, file="x.trace")
    assert main(["run", str(desc)]) == 2
    assert _err(capsys) == f"sporadic: error: {desc}: {OVERWRITE}\n"
    assert desc.read_text().startswith("[system]")


def test_a_hard_link_to_the_description_is_the_same_file(tmp_path: Path, capsys) -> None:
    desc = _small(tmp_path)
    link = tmp_path / "other.trace"
    os.link(desc, link)
    assert main(["run", str(desc), "-o", str(link)]) == 2
    assert _err(capsys) == f"sporadic: error: {desc}: {OVERWRITE}\n"


def test_the_side_file_of_a_system_is_not_overwritten(tmp_path: Path, capsys) -> None:
    src = ROOT / "examples" / "microkit"
    system = tmp_path / "p.system"
    shutil.copy(src / "microkit_passive_server.system", system)
    side = tmp_path / "p.workload.toml"
    shutil.copy(src / "microkit_passive_server.workload.toml", side)
    assert main(["run", str(system), "-o", str(side)]) == 2
    assert _err(capsys) == f"sporadic: error: {side}: {OVERWRITE}\n"
    assert main(["run", str(system), "--workload", str(side), "-o", str(side)]) == 2
    assert _err(capsys) == f"sporadic: error: {side}: {OVERWRITE}\n"


def test_a_wasm_module_the_description_names_is_not_overwritten(tmp_path: Path, capsys) -> None:
    wasm = tmp_path / "nbody.wasm"
    shutil.copy(ROOT / "examples" / "wasm" / "nbody.wasm", wasm)
    before = wasm.read_bytes()
    desc = tmp_path / "n.toml"
    desc.write_text(
        SMALL.format(name="n").replace(
            'job = { compute = "100us" }', 'job = { wasm = "nbody.wasm", args = ["1"] }'
        )
    )
    assert main(["run", str(desc), "-o", str(wasm)]) == 2
    assert _err(capsys) == f"sporadic: error: {wasm}: {OVERWRITE}\n"
    assert wasm.read_bytes() == before


# -- item 10: OS errors are one line


def test_o_a_directory_is_one_line(tmp_path: Path, capsys) -> None:
    desc = _small(tmp_path)
    assert main(["run", str(desc), "-o", str(tmp_path)]) == 2
    assert _err(capsys) == f"sporadic: error: {tmp_path}: Is a directory\n"


@pytest.mark.parametrize("until", ["10ms", "20s"])  # closed at the end; written by a trio task
def test_o_dev_full_is_one_line_naming_it(tmp_path: Path, capsys, until: str) -> None:
    desc = _small(tmp_path)
    assert main(["run", str(desc), "--until", until, "-o", "/dev/full"]) == 2
    assert _err(capsys) == "sporadic: error: /dev/full: No space left on device\n"


def test_o_below_a_file_is_one_line(tmp_path: Path, capsys) -> None:
    desc = _small(tmp_path)
    assert main(["run", str(desc), "-o", str(desc / "x.trace")]) == 2
    assert _err(capsys) == f"sporadic: error: {desc}/x.trace: Not a directory\n"


def test_an_unwritable_o_is_one_line(tmp_path: Path, capsys) -> None:
    desc = _small(tmp_path)
    assert main(["run", str(desc), "-o", "/proc/version"]) == 2
    reason = "Input/output error" if os.geteuid() == 0 else "Permission denied"
    assert _err(capsys) == f"sporadic: error: /proc/version: {reason}\n"


@pytest.mark.parametrize("deploys", [[], ["--deploys"]])
def test_report_of_a_directory_is_one_line(tmp_path: Path, capsys, deploys: list[str]) -> None:
    assert main(["report", str(tmp_path), *deploys]) == 2
    assert _err(capsys) == f"sporadic: error: {tmp_path}: Is a directory\n"


# -- item 6 and 8 at the command line


def test_dev_zero_as_a_description_is_refused_unread(capsys) -> None:
    assert main(["check", "/dev/zero"]) == 2
    assert _err(capsys) == (
        "sporadic: error: /dev/zero: not a regular file (a description is read whole)\n"
    )


def test_dev_zero_as_a_system_or_its_side_file_is_refused_unread(tmp_path: Path, capsys) -> None:
    system = ROOT / "examples" / "microkit" / "microkit_hello.system"
    assert main(["check", str(system), "--workload", "/dev/zero"]) == 2
    assert _err(capsys) == (
        "sporadic: error: /dev/zero: not a regular file (a description is read whole)\n"
    )
    link = tmp_path / "zero.system"
    link.symlink_to("/dev/zero")
    assert main(["run", str(link)]) == 2
    assert _err(capsys) == (
        f"sporadic: error: {link}: not a regular file (a system file is read whole)\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "-1"], "argument --seed: -1 is outside 0..9223372036854775807"),
        (
            ["--seed", "9223372036854775808"],
            "argument --seed: 9223372036854775808 is outside 0..9223372036854775807",
        ),
        (
            ["--until", "18446744073709551616ns"],
            "argument --until: '18446744073709551616ns' is 2^62 ns (146 years) or more, "
            "longer than a simulation holds",
        ),
    ],
)
def test_seeds_and_times_the_simulator_cannot_hold_are_usage_errors(
    tmp_path: Path, capsys, argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as e:
        main(["run", str(_small(tmp_path)), *argv])
    assert e.value.code == 2
    assert _err(capsys).splitlines()[-1] == f"sporadic run: error: {message}"


def test_check_builds_the_system_so_a_module_run_refuses_is_refused_first(
    tmp_path: Path, capsys
) -> None:
    wasm = ROOT / "examples" / "wasm" / "nbody.wasm"
    desc = tmp_path / "m.toml"
    desc.write_text(
        SMALL.format(name="n").replace(
            'job = { compute = "100us" }', f'job = {{ wasm = "{wasm}" }}\nmemory = 1'
        )
    )
    assert main(["check", str(desc)]) == 2
    err = _err(capsys)
    assert err.startswith(f"sporadic: error: {wasm}: ") and err.count("\n") == 1


def test_a_header_over_the_trace_limit_is_refused_by_check_and_run_unwritten(
    tmp_path: Path, capsys
) -> None:
    desc = _small(tmp_path, "p" * 8_000_000)  # the name is in the header three times
    trace = tmp_path / "h.trace"
    head = f"sporadic: error: {desc}: the trace header is 24"  # 24 MB and its paths' bytes
    tail = " bytes, over the trace format's limit of 16777216\n"
    assert main(["check", str(desc)]) == 2
    err = _err(capsys)
    assert err.startswith(head) and err.endswith(tail) and len(err) == len(head + tail) + 6
    assert main(["run", str(desc), "-o", str(trace)]) == 2
    assert _err(capsys) == err
    assert not trace.exists()


# -- item 7: user text is printed as text


@pytest.mark.parametrize("name", ["[/]", "[link=https://evil.example]click[/link]", "[red]x[/red]"])
def test_markup_in_a_name_is_printed_as_written_by_run_check_and_report(
    tmp_path: Path, capsys, name: str
) -> None:
    desc = _small(tmp_path, name)
    trace = tmp_path / "s.trace"
    assert main(["run", str(desc), "-o", str(trace)]) == 0
    row = f"│ {shorten(name, MAX_TASK)} "  # names are cut at 24 characters
    assert row in capsys.readouterr().out
    assert main(["check", str(desc)]) == 0
    assert f"│ {name} " in capsys.readouterr().out
    assert main(["report", str(trace)]) == 0
    assert row in capsys.readouterr().out


def test_a_microkit_pd_named_with_markup_and_a_c1_escape_runs_and_checks(
    tmp_path: Path, capsys
) -> None:
    system = tmp_path / "m.system"
    system.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<system>\n'
        '    <protection_domain name="[/]\x9b2J" priority="10">\n'
        '        <program_image path="pd.elf" />\n    </protection_domain>\n</system>\n'
    )
    assert main(["run", str(system), "--until", "10ms", "-o", str(tmp_path / "m.trace")]) == 0
    assert "│ [/]\\x9b2J │" in capsys.readouterr().out  # short names are shown whole
    assert main(["check", str(system)]) == 0
    out = capsys.readouterr().out
    assert "│ [/]\\x9b2J │" in out and "\x9b" not in out


def test_a_system_name_with_markup_is_the_title_as_written(tmp_path: Path, capsys) -> None:
    desc = tmp_path / "t.toml"
    desc.write_text(SMALL.format(name="a").replace('name = "small"', 'name = "[/][red]t"'))
    assert main(["run", str(desc), "-o", str(tmp_path / "t.trace")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"[/][red]t: trace written to {tmp_path / 't.trace'}"


def test_escapes_in_names_reach_even_a_colour_terminal_as_visible_text(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich writes styles: as a terminal would see it
    desc = tmp_path / "e.toml"
    desc.write_text(
        SMALL.format(name="\\u001b[2Jx").replace(
            'name = "small"', 'name = "\\u001b]0;PWNED\\u0007[link=https://evil.example]c[/link]"'
        )
    )
    assert main(["run", str(desc), "-o", str(tmp_path / "e.trace")]) == 0
    assert main(["check", str(desc)]) == 0
    out = capsys.readouterr().out
    assert "\x1b[1m" in out  # bold: rich did write escapes of its own
    assert "\\x1b[2Jx" in out and "\\x1b]0;PWNED\\x07[link=https://evil.example]c[/link]" in out
    assert "\x1b[2J" not in out and "\x1b]0;" not in out and "\x1b]8;" not in out  # no link


def test_an_error_naming_an_escape_is_one_visible_line(tmp_path: Path, capsys) -> None:
    desc = tmp_path / "d.toml"
    desc.write_text(
        SMALL.format(name="\\u001b[2J\\nx") + '[[partition]]\nname = "\\u001b[2J\\nx"\n'
    )
    assert main(["check", str(desc)]) == 2
    assert _err(capsys) == (
        f"sporadic: error: {desc}:12: partition #2: name: '\\x1b[2J\\nx' is already used by "
        "a partition\n"
    )


def test_a_microkit_warning_with_markup_is_printed_as_written(tmp_path: Path, capsys) -> None:
    system = tmp_path / "w.system"
    system.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<system>\n'
        '    <memory_region name="[red]mr[/red]" size="0x1_000" />\n'
        '    <protection_domain name="pd" priority="10">\n'
        '        <program_image path="pd.elf" />\n    </protection_domain>\n</system>\n'
    )
    assert main(["check", str(system)]) == 0
    out = capsys.readouterr().out.replace("\n", "")
    assert f"warning: {system}:3:5: unused memory region '[red]mr[/red]'" in out


def test_module_output_in_the_summary_is_printed_with_visible_escapes(capsys) -> None:
    summary = {
        "duration": 1000,
        "truncated": False,
        "tasks": {},
        "logs": [{"t": 5, "task": "m\x1b[31m", "line": "\x1b[2J\x1b]0;t\x07[red]x[/red]\x9b"}],
    }
    render_summary(summary)
    out = capsys.readouterr().out
    assert "m\\x1b[31m: \\x1b[2J\\x1b]0;t\\x07[red]x[/red]\\x9b" in out
    assert "\x1b" not in out


def test_agent_list_and_logs_print_module_names_and_lines_as_text(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = {
        "name": "[/]\x1b[2J",
        "state": "exited",
        "exit_status": 0,
        "priority": 20,
        "budget": 1_000_000,
        "period": 10_000_000,
        "size": 10,
        "sha256": "ab" * 32,
    }
    replies = {"list": {"modules": [module]}, "logs": {"lines": [[2_000_000_000, "\x1b]0;t\x07"]]}}

    async def request(address: str, token: str | None, action: str, **fields: object) -> dict:
        return replies[action]

    monkeypatch.setattr(commands.client, "request", request)
    assert main(["agent", "--connect", "127.0.0.1:1", "list"]) == 0
    assert "│ [/]\\x1b[2J │ exited │" in capsys.readouterr().out
    assert main(["agent", "--connect", "127.0.0.1:1", "logs", "m"]) == 0
    assert capsys.readouterr().out == "      2.000000s  \\x1b]0;t\\x07\n"


def test_printable_escapes_c0_del_c1_but_keeps_tabs() -> None:
    assert printable("a\tb\x00\x1b\x7f\x80\x9f\xa0é") == "a\tb\\x00\\x1b\\x7f\\x80\\x9f\xa0é"


# -- item 11: long names


def test_long_names_are_cut_to_64_characters() -> None:
    assert shorten("n" * 100_000) == "n" * 63 + "…"
    assert shorten("\x1b" * 20) == "\\x1b" * 15 + "\\x1…"
    assert plain("ok").plain == "ok"


def test_a_100k_character_name_is_printed_cut_and_fast(tmp_path: Path, capsys) -> None:
    desc = tmp_path / "l.toml"
    desc.write_text(
        SMALL.format(name="p" * 100_000).replace('name = "small"', f'name = "{"n" * 100_000}"')
    )
    trace = tmp_path / "l.trace"
    started = time.monotonic()
    assert main(["run", str(desc), "-o", str(trace)]) == 0
    assert main(["check", str(desc)]) == 0
    assert main(["report", str(trace)]) == 0
    assert time.monotonic() - started < 15  # it took over 50 s to highlight one title
    out = capsys.readouterr().out
    assert f"{'n' * 63}…: trace written to {trace}" in out
    assert "p" * 65 not in out and "n" * 65 not in out
