"""Choosing an engine (issue 14), where wasmer need not be installed: the description's fields
and their errors, ``run --engine``, the header's engine and timing, the message when wasmer-sdk
is missing, the engine interface on wasmtime, and ``engine`` in the deploy channel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sporadic.agent.page import RUN_PARAMS, RunParams
from sporadic.agent.protocol import ProtocolError, parse_request
from sporadic.cli import main
from sporadic.description import engines as description_engines
from sporadic.description import load_text
from sporadic.errors import DescriptionError, SporadicError
from sporadic.simulation import Simulation
from sporadic.wasm import commands
from sporadic.wasm.commands import WasmtimeCommands
from tests.helpers import MS, ROOT

APPS = ROOT / "examples" / "wasm"
MISSING = "engine 'wasmer' needs the wasmer-sdk package: pip install 'sporadic[wasmer]'"


def job(engine: str | None = None, app: str = "nbody.wasm", args: str = '["10"]') -> str:
    chosen = f', engine = "{engine}"' if engine else ""
    return f"""
[system]
duration = "20ms"
[[partition]]
name = "job"
priority = 10
budget = "10ms"
period = "10ms"
release = {{ period = "10ms" }}
job = {{ wasm = "{APPS / app}", args = {args}{chosen} }}
"""


def error(text: str) -> str:
    with pytest.raises(DescriptionError) as info:
        load_text(text, "x.toml")
    return str(info.value)


@pytest.fixture
def no_wasmer(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine without wasmer-sdk (crosscheck first: importing it binds the name)."""
    monkeypatch.setattr("sporadic.system.crosscheck.wasmer_installed", lambda: False)
    monkeypatch.setattr(commands, "wasmer_installed", lambda: False)


# --- the description ------------------------------------------------------------------------


def test_the_engine_is_wasmtime_unless_the_description_says() -> None:
    system = load_text(job(), "x.toml")
    assert (system.engine, system.wasmer_scale, system.partitions[0].wasm.engine) == (
        "wasmtime",
        1.0,
        "wasmtime",
    )


def test_cpu_engine_is_the_default_and_a_job_overrides_it() -> None:
    system = load_text('[cpu]\nengine = "wasmer"\nwasmer_scale = 2.5\n' + job(), "x.toml")
    assert (system.partitions[0].wasm.engine, system.wasmer_scale) == ("wasmer", 2.5)
    system = load_text('[cpu]\nengine = "wasmer"\n' + job("wasmtime"), "x.toml")
    assert system.partitions[0].wasm.engine == "wasmtime"


def test_an_unknown_engine_is_refused_where_it_is_written() -> None:
    assert error(job("v8")) == (
        "x.toml:10: partition \"job\": engine: 'v8' is not one of wasmtime, wasmer"
    )
    assert error('[cpu]\nengine = "v8"\n' + job()) == (
        "x.toml:2: [cpu]: engine: 'v8' is not one of wasmtime, wasmer"
    )


@pytest.mark.parametrize("scale", ["0", "-1.5", "1e9"])
def test_wasmer_scale_must_be_positive_and_at_most_a_million(scale: str) -> None:
    assert error(f"[cpu]\nwasmer_scale = {scale}\n" + job()) == (
        "x.toml:2: [cpu]: wasmer_scale: must be > 0 and <= 1e+06"
    )


def test_wasmer_scale_must_be_finite() -> None:
    assert error("[cpu]\nwasmer_scale = inf\n" + job()) == (
        "x.toml:2: [cpu]: wasmer_scale: inf is not a finite number"
    )


def test_a_reactor_on_wasmer_is_a_located_error_that_says_why() -> None:
    text = f"""
[[protection_domain]]
name = "control"
priority = 100
wasm = "{APPS / "control.wasm"}"
engine = "wasmer"
"""
    assert error(text) == (
        'x.toml:6: protection_domain "control": engine: a reactor (the sporadic host API: '
        "notify, ppcall, now...) runs on wasmtime only; wasmer runs WASI command jobs"
    )


def test_run_engine_overrides_the_description_and_every_job() -> None:
    system = load_text('[cpu]\nengine = "wasmtime"\n' + job("wasmtime"), "x.toml")
    system = description_engines.with_engine(system, "wasmer")
    assert (system.engine, system.partitions[0].wasm.engine) == ("wasmer", "wasmer")


def test_run_engine_on_a_system_without_command_jobs_says_so(capsys) -> None:
    assert main(["run", str(ROOT / "examples" / "isolation" / "isolation.toml"),
                 "--engine", "wasmer", "-o", "/dev/null"]) == 2  # fmt: skip
    assert capsys.readouterr().err.strip() == (
        f"sporadic: error: --engine wasmer: {ROOT / 'examples/isolation/isolation.toml'} has no "
        "WASI command job (reactors, the protection domains with a wasm module, run on "
        "wasmtime only)"
    )


def test_a_deploy_names_its_engine() -> None:
    text = f"""
[system]
duration = "10ms"
[[deploy]]
at = "1ms"
wasm = "{APPS / "hello.wasm"}"
engine = "wasmer"
"""
    assert load_text(text, "x.toml").deploys[0].engine == "wasmer"


def test_description_and_wasm_layers_name_the_same_engines() -> None:
    assert description_engines.ENGINES == commands.ENGINES


# --- the trace says which engine and timing ------------------------------------------------


def test_the_header_and_json_say_wasmtime_and_fuel(tmp_path: Path, capsys) -> None:
    desc = tmp_path / "n.toml"
    desc.write_text(job())
    assert main(["run", str(desc), "-o", str(tmp_path / "n.trace"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["engine"], summary["timing"]) == ("wasmtime", "fuel")
    assert main(["report", str(tmp_path / "n.trace"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["timing"] == "fuel"


def test_a_system_without_modules_has_no_engine_in_its_header() -> None:
    text = '[[partition]]\nname = "a"\npriority = 1\nrelease = { period = "1ms" }\n'
    header = Simulation(load_text(text + 'job = { compute = "1us" }\n', "x.toml")).header()
    assert "engine" not in header and "timing" not in header


# --- wasmer missing ------------------------------------------------------------------------


def test_choosing_wasmer_without_the_package_is_one_line_that_says_how_to_install(
    tmp_path: Path, capsys, no_wasmer: None
) -> None:
    desc = tmp_path / "n.toml"
    desc.write_text(job())
    assert main(["run", str(desc), "-o", str(tmp_path / "n.trace"), "--engine", "wasmer"]) == 2
    assert capsys.readouterr().err == f"sporadic: error: {MISSING}\n"


def test_check_engines_without_wasmer_says_it_compared_nothing(
    tmp_path: Path, capsys, no_wasmer: None
) -> None:
    desc = tmp_path / "n.toml"
    desc.write_text(job())
    assert main(["check", str(desc), "--engines"]) == 0
    out, err = capsys.readouterr()
    assert err == f"note: wasmer is not checked: {MISSING}\n"
    assert out.splitlines()[-1] == "job: one engine only: nothing to compare"


# --- the engine interface on wasmtime --------------------------------------------------------


def test_wasmtime_runs_a_command_job_with_fuel_times_and_its_exit_status() -> None:
    engine = WasmtimeCommands()
    nbody = engine.run(engine.load(APPS / "nbody.wasm"), ["nbody.wasm", "10"], 10 * MS)
    assert (nbody.lines, nbody.ns, nbody.status) == (
        ((5_715, "-0.169075164"), (25_984, "-0.169073022")),
        26_048,
        "exit 0",
    )
    status = engine.run(engine.load(APPS / "status.wasm"), ["status.wasm", "3"], 10 * MS)
    assert (status.exit_code, status.fault(), status.fault(exit_is_fault=False)) == (
        3,
        "exit code 3",
        None,
    )


def test_wasmtime_caps_a_runaway_command_at_its_fuel() -> None:
    engine = WasmtimeCommands()
    run = engine.run(engine.load(APPS / "spin.wasm"), ["spin.wasm"], 2 * MS)
    assert (run.ns, run.capped, run.trap, run.status) == (
        2 * MS,
        True,
        "fuel exhausted (the job's allowance ran out)",
        "cap reached",
    )


# --- the deploy channel --------------------------------------------------------------------


def test_run_params_carry_the_engine_in_the_flags_byte() -> None:
    params = RunParams("m", 20, 1_000_000, 10_000_000, None, True, "wasmer")
    packed = params.pack()
    assert len(packed) == RUN_PARAMS.size + 1  # the same size as before: no copy cost added
    assert packed[RUN_PARAMS.size - 1] == 0b11  # start, and engine 1 (wasmer)
    assert RunParams.unpack(packed) == params
    assert RunParams.unpack(RunParams("m", 20, 1, 2, None).pack()).engine == "wasmtime"


def test_a_deploy_request_with_an_unknown_engine_is_refused() -> None:
    msg = {"v": 1, "id": 1, "op": "deploy", "name": "m", "module": b"x", "engine": "v8"}
    with pytest.raises(ProtocolError) as info:
        parse_request(msg)
    assert str(info.value) == ("deploy: field 'engine' must be one of wasmtime, wasmer, got 'v8'")


def test_with_engine_refuses_an_unknown_name() -> None:
    with pytest.raises(SporadicError, match="--engine: 'v8' is not one of wasmtime, wasmer"):
        description_engines.with_engine(load_text(job(), "x.toml"), "v8")
