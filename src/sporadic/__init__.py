"""sporadic: a simulator of the seL4 MCS microkernel hosting WebAssembly partitions.

The public API, for scripts and notebooks::

    import sporadic

    system = sporadic.load("examples/vehicle/vehicle.toml")
    sporadic.simulate(system, "vehicle.trace", until=2_000_000_000)
    summary = sporadic.summarise("vehicle.trace")

Names are imported on first use, so ``import sporadic`` (and every ``sporadic.x`` module, whose
import runs this file first) stays cheap: the kernel never pulls in trio, numpy or wasmtime.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sporadic.version import __version__

# name -> the module that defines it
_EXPORTS = {
    "load": "sporadic.simulation",
    "simulate": "sporadic.simulation",
    "Simulation": "sporadic.simulation",
    "System": "sporadic.description",
    "load_text": "sporadic.description",
    "Kernel": "sporadic.kernel",
    "read_trace": "sporadic.traces",
    "summarise": "sporadic.traces",
    "render_summary": "sporadic.traces",
    "TraceReader": "sporadic.traces",
    "TraceWriter": "sporadic.traces",
    "SporadicError": "sporadic.errors",
    "DescriptionError": "sporadic.errors",
    "MicrokitError": "sporadic.errors",
    "WasmError": "sporadic.errors",
    "TraceFormatError": "sporadic.errors",
    "SimulationError": "sporadic.errors",
    "KernelError": "sporadic.errors",
    "SeL4Error": "sporadic.errors",
}

__all__ = [
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

if TYPE_CHECKING:
    from sporadic.description import System, load_text
    from sporadic.errors import (
        DescriptionError,
        KernelError,
        MicrokitError,
        SeL4Error,
        SimulationError,
        SporadicError,
        TraceFormatError,
        WasmError,
    )
    from sporadic.kernel import Kernel
    from sporadic.simulation import Simulation, load, simulate
    from sporadic.traces import TraceReader, TraceWriter, read_trace, render_summary, summarise


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sporadic' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
