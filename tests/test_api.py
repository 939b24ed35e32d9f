"""The public API: the names ``sporadic`` exports, and a whole run through them."""

import subprocess
import sys
from pathlib import Path

import pytest

import sporadic

ROOT = Path(__file__).resolve().parents[1]

EXPORTED = [
    "DescriptionError",
    "Kernel",
    "KernelError",
    "MicrokitError",
    "SeL4Error",
    "Simulation",
    "SimulationError",
    "SporadicError",
    "System",
    "TraceFormatError",
    "TraceReader",
    "TraceWriter",
    "WasmError",
    "__version__",
    "load",
    "load_text",
    "read_trace",
    "render_summary",
    "simulate",
    "summarise",
]


def test_exported_names_are_pinned() -> None:
    assert sporadic.__all__ == EXPORTED


def test_every_exported_name_is_the_object_its_home_module_defines() -> None:
    from sporadic import description, errors, kernel, simulation, traces

    homes = {
        "load": simulation,
        "simulate": simulation,
        "Simulation": simulation,
        "System": description,
        "load_text": description,
        "Kernel": kernel,
        "read_trace": traces,
        "summarise": traces,
        "render_summary": traces,
        "TraceReader": traces,
        "TraceWriter": traces,
    }
    for name in EXPORTED:
        if name == "__version__":
            assert sporadic.__version__ == "0.1.0"
        else:
            home = homes.get(name, errors)
            assert getattr(sporadic, name) is getattr(home, name), name


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'sporadic' has no attribute 'nope'"):
        _ = sporadic.nope


def test_every_located_error_is_a_sporadic_error() -> None:
    for name in (
        "DescriptionError",
        "MicrokitError",
        "WasmError",
        "TraceFormatError",
        "SimulationError",
        "KernelError",
    ):
        assert issubclass(getattr(sporadic, name), sporadic.SporadicError), name


def test_importing_the_kernel_loads_no_runtime_dependency() -> None:
    """The kernel and scheduler import neither trio, numpy, wasmtime, msgpack nor rich."""
    code = (
        "import sys, sporadic.kernel; "
        "print(sorted(m for m in ('trio', 'numpy', 'wasmtime', 'msgpack', 'rich') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_load_simulate_summarise(tmp_path: Path) -> None:
    system = sporadic.load(ROOT / "examples" / "vehicle" / "vehicle.toml")
    trace = tmp_path / "vehicle.trace"
    sim = sporadic.simulate(system, trace, until=100_000_000)
    assert sim.system.duration == 100_000_000
    summary = sporadic.summarise(trace)
    with sporadic.read_trace(trace) as reader:
        assert sporadic.summarise(reader) == summary
    control = summary["tasks"]["control"]
    assert (control["jobs"], control["misses"]) == (100, 0)


def test_load_dispatches_system_files_to_microkit() -> None:
    system = sporadic.load(ROOT / "examples" / "microkit" / "microkit_hello.system")
    assert [pd.name for pd in system.protection_domains] == ["hello"]


def test_workload_for_a_toml_description_is_a_description_error(tmp_path: Path) -> None:
    with pytest.raises(sporadic.DescriptionError, match="--workload is for Microkit .system"):
        sporadic.load(ROOT / "examples" / "vehicle" / "vehicle.toml", tmp_path / "w.toml")
