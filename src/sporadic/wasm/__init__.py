"""WebAssembly partitions: modules compiled once by wasmtime, run with fuel metering, and played
in simulated time as kernel actions (the ABI is in docs/wasm-abi.md); WASI command jobs can run
on wasmer too, measured rather than counted.

``engine`` compiles and checks modules, ``instance`` instantiates and runs them, ``host`` holds
the host functions (every argument checked), ``output`` the caps on what modules print,
``worker`` lets a module wait in a host call, ``player`` turns runs into kernel actions.
``commands`` is the engine interface of command jobs, which wasmtime and ``wasmer_engine``
implement; ``wasmer_worker`` is the process that runs wasmer-sdk. Each name here is imported
when first used, so that the wasmer worker, which needs none of them, does not load wasmtime.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "WasmError": "sporadic.errors",
    "LoadedModule": "sporadic.wasm.engine",
    "WasmEngine": "sporadic.wasm.engine",
    "Effect": "sporadic.wasm.instance",
    "InstantiateError": "sporadic.wasm.instance",
    "Segment": "sporadic.wasm.instance",
    "WasmInstance": "sporadic.wasm.instance",
    "Player": "sporadic.wasm.player",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'sporadic.wasm' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


__all__ = [
    "Effect",
    "InstantiateError",
    "LoadedModule",
    "Player",
    "Segment",
    "WasmEngine",
    "WasmError",
    "WasmInstance",
]
