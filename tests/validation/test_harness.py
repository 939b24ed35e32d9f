"""The validation harness's own parts: the scenario table, the root task's output, the
comparison and the command's exit codes (docs/validation.md)."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sporadic.cli import main
from sporadic.description import load, load_text
from sporadic.errors import ValidationError
from sporadic.validation.compare import compare
from sporadic.validation.corpus import load_golden, random_scenario
from sporadic.validation.scenario import scenario
from sporadic.validation.sel4 import BUILD_MODULES, sources
from sporadic.validation.timeline import Timeline, parse_real, simulate
from tests.helpers import ROOT

HERE = Path(__file__).resolve().parent
V01 = HERE / "scenarios" / "v01_two_spinners.toml"
THREAD = '[[thread]]\nname = "t"\npriority = 10\nsc = {{ budget = "1ms", period = "2ms" }}\n'


def test_scenario_table_of_the_two_spinners() -> None:
    scn = scenario(load(V01))
    assert scn.threads == ("A", "B")
    assert scn.duration_us == 40_000
    assert "    { 200, 2000, 10000, 0, 0, 0, 1 }, /* A */" in scn.header.splitlines()
    assert "    { 100, 3000, 5000, 0, 0, 2, 1 }, /* B */" in scn.header.splitlines()
    assert "#define SCN_NNTFN 0" in scn.header.splitlines()


def test_compute_becomes_counter_ticks_and_loops_nest() -> None:
    text = (
        THREAD.format()
        + 'script = [ { loop = [ { compute = "2us" }, { yield = true } ], times = 3 } ]\n'
    )
    lines = scenario(load_text(text)).header.splitlines()
    ops = lines[lines.index("static const scn_op_t scn_prog[] = {") + 1 :]
    assert ops[:5] == [
        "    { 6, 3 } /* loop */,",
        "    { 2, 125 } /* compute */,",
        "    { 3, 0 } /* yield */,",
        "    { 7, 0 } /* endloop */,",
        "    { 0, 0 } /* end */",
    ]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (
            '{ compute = { uniform = ["1ms", "2ms"] } }',
            'thread "t": compute must be a fixed time on the real kernel, '
            "not a uniform distribution",
        ),
        (
            '{ compute = "1001ns" }',
            'thread "t": compute 1001 ns is not a whole number of 16 ns counter ticks',
        ),
        (
            '{ suspend = "t" }',
            'thread "t": suspend is not in what the validation root task runs '
            "(spin, compute, yield, signal, wait, mark, mark_result, loop, call, send, nbsend, "
            "recv, reply_recv, reply, resume, unbind of a thread's SC)",
        ),
    ],
)
def test_what_the_root_task_cannot_run_is_refused_with_the_reason(
    script: str, message: str
) -> None:
    with pytest.raises(ValidationError) as e:
        scenario(load_text(THREAD.format() + f"script = [ {script} ]\n"))
    assert str(e.value) == message


def test_budgets_must_be_whole_microseconds() -> None:
    text = '[[thread]]\nname = "t"\npriority = 1\nsc = { budget = "20500ns", period = "2ms" }\n'
    with pytest.raises(ValidationError) as e:
        scenario(load_text(text + "script = [ { spin = true } ]\n"))
    assert str(e.value) == (
        'thread "t": budget 20500 ns is not a whole number of microseconds, which is what '
        "seL4_SchedControl_ConfigureFlags takes"
    )


def test_root_task_output_becomes_a_timeline_whose_view_merges_short_gaps() -> None:
    scn = scenario(load(V01))
    out = "\n".join(
        [
            "boot noise",
            "SCN FREQ 62500000",
            "SCN CFG 0 7000",
            "SCN CFG 1 6000",
            "SCN RES 0 3000",
            "SCN RES 1 4000",
            "SCN ROOT 1000",
            "SCN IV 0 960 1000000",
            "SCN IV 0 1004000 2000176",  # 3 us after the last: the same run
            "SCN IV 1 2001104 5000224",
            "SCN DONE",
        ]
    )
    t = parse_real(out, scn)
    assert t.intervals == [("A", 960, 1000000), ("A", 1004000, 2000176), ("B", 2001104, 5000224)]
    assert t.view().intervals == [("A", 960, 2000176), ("B", 2001104, 5000224)]
    assert t.setup == {"cfg": [7000, 6000], "res": [3000, 4000], "root": 1000}


def test_comparison_names_the_first_divergence() -> None:
    real = Timeline([("A", 0, 2_000_000), ("B", 2_000_000, 5_000_000)], end=40_000_000)
    sim = Timeline([("A", 0, 2_000_000), ("B", 2_000_000, 5_020_000)], end=40_000_000)
    c = compare(real, sim)
    assert c.agree is False
    assert c.divergence == (
        "run 0 of B: real B 2000.000-5000.000 us, simulated B 2000.000-5020.000 us: "
        "20000 ns apart (tolerance 10000 ns)"
    )


def test_the_two_spinners_simulated_match_their_golden_timeline() -> None:
    real = load_golden(V01)
    sim = simulate(load(V01), real.setup)
    c = compare(real, sim)
    assert (c.agree, c.intervals) == (True, 12)
    assert c.cpu == {"A": (7_995_808, 7_997_408), "B": (19_983_872, 19_984_384)}


def test_validate_without_sources_exits_2_saying_what_to_give(monkeypatch, capsys) -> None:
    monkeypatch.delenv("SPORADIC_SEL4_SRC", raising=False)
    assert main(["validate", str(V01)]) == 2
    assert capsys.readouterr().err == (
        "sporadic: error: no seL4 sources: give --sel4-src DIR|TGZ or set SPORADIC_SEL4_SRC (a "
        "tree with kernel/, tools/seL4/ and projects/ as seL4's CMake tools lay them out)\n"
    )


def _sel4_sources() -> Path | None:
    for candidate in (ROOT.parent / "shared" / "sel4" / "sel4-sources.tgz",):
        if candidate.exists():
            return candidate
    return None


SOURCES = _sel4_sources()
MODULES = all(importlib.util.find_spec(m) for m in BUILD_MODULES)
TOOLS = all(
    shutil.which(t) for t in ("qemu-system-aarch64", "aarch64-linux-gnu-gcc", "cmake", "ninja")
)


@pytest.mark.skipif(
    not MODULES, reason="the seL4 build's Python modules are missing (sporadic[validate])"
)
@pytest.mark.skipif(SOURCES is None, reason="no seL4 sources beside the repository (shared/sel4)")
@pytest.mark.skipif(
    not TOOLS, reason="qemu-system-arm, the aarch64 cross compiler, cmake or ninja is missing"
)
def test_validate_on_the_real_kernel_agrees_on_the_two_spinners(tmp_path: Path) -> None:
    """Builds seL4 and the root task (about 40 s the first time) and boots it under qemu."""
    env = {**os.environ, "SPORADIC_SEL4_SRC": str(SOURCES), "SPORADIC_CACHE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "sporadic", "validate", str(V01)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    r07 = HERE / "scenarios" / "r07.toml"
    diverged = subprocess.run(
        [sys.executable, "-m", "sporadic", "validate", str(r07), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert diverged.returncode == 1, diverged.stderr
    report = json.loads(diverged.stdout)
    # an image built at another path boots in a different number of instructions, which can
    # move the counter's 16 ns ticks against the events: the same divergence, within a tick
    assert report["agree"] is False
    assert report["divergence"].startswith("run 4 of job1: real job1 32002.9")
    assert report["first_differing_interval"] == 13
    assert report["tolerance_ns"] == {"switch": 10_000, "cpu": 20_000, "cpu_per_run": 1_500}
    assert (
        done.stdout.splitlines()[0] == f"{V01}: real kernel and simulator agree over 12 intervals"
    )


def test_random_scenarios_are_the_generator_s_seeded_output() -> None:
    """The committed r*.toml files are what ``corpus.random_scenario`` makes with seed 1."""
    for path in sorted((HERE / "scenarios").glob("r*.toml")):
        assert random_scenario(int(path.stem[1:]), 1) == path.read_text(), path.name


def test_sources_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPORADIC_SEL4_SRC", raising=False)
    with pytest.raises(ValidationError) as e:
        sources(tmp_path / "nowhere.tgz")
    assert str(e.value) == f"{tmp_path / 'nowhere.tgz'}: no such seL4 source tree or tarball"
    with pytest.raises(ValidationError) as e:
        sources(None)
    assert str(e.value).startswith(
        "no seL4 sources: give --sel4-src DIR|TGZ or set SPORADIC_SEL4_SRC"
    )


def test_overflowing_root_task_buffers_are_a_validation_error() -> None:
    with pytest.raises(ValidationError) as e:
        parse_real("SCN FREQ 62500000\nSCN LOST 1 3 0\nSCN DONE\n", scenario(load(V01)))
    assert str(e.value) == "the root task's buffers overflowed: SCN LOST 1 3 0"
