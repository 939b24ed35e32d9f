"""WebAssembly partitions: modules compiled once by wasmtime, run with fuel metering, and played
in simulated time as kernel actions (the ABI is in docs/wasm-abi.md).

``engine`` compiles and checks modules, ``instance`` instantiates and runs them, ``host`` holds
the host functions (every argument checked), ``output`` the caps on what modules print,
``worker`` lets a module wait in a host call, ``player`` turns runs into kernel actions.
"""

from sporadic.errors import WasmError
from sporadic.wasm.engine import LoadedModule, WasmEngine
from sporadic.wasm.instance import Effect, InstantiateError, Segment, WasmInstance
from sporadic.wasm.player import Player

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
