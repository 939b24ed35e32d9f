"""Small WASI commands written in WebAssembly text, for the engine tests: each exports its
memory (wasmer's WASI needs one) and does one thing both engines must agree on."""

from __future__ import annotations

from pathlib import Path

import wasmtime

WASI = "wasi_snapshot_preview1"

# fd_write of the bytes at [ptr, ptr + len) to stdout, through an iovec at 64 and nwritten at 72
_PRINT = f"""
  (import "{WASI}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 64) (local.get $ptr))
    (i32.store (i32.const 68) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 72))))
"""

# prints argv[0] and a newline
ARGV0 = f"""(module
  (import "{WASI}" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "{WASI}" "args_get" (func $args (param i32 i32) (result i32)))
  {_PRINT}
  (memory (export "memory") 1)
  (data (i32.const 8) "\\n")
  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $n))
  (func (export "_start") (local $p i32)
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $args (i32.const 256) (i32.const 1024)))
    (local.set $p (i32.load (i32.const 256)))
    (call $print (local.get $p) (call $strlen (local.get $p)))
    (call $print (i32.const 8) (i32.const 1))))"""

# prints "before\\n", then executes unreachable
TRAP = f"""(module
  {_PRINT}
  (memory (export "memory") 1)
  (data (i32.const 16) "before\\n")
  (func (export "_start") (call $print (i32.const 16) (i32.const 7)) unreachable))"""

# proc_exit(-1): WASI's exit code 4294967295
EXIT_MINUS_ONE = f"""(module
  (import "{WASI}" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const -1))))"""

# a command that reads the simulated clock through the sporadic host API
USES_NOW = """(module
  (import "sporadic" "now" (func $now (result i64)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $now))))"""

# a command with no memory: wasmtime runs it, wasmer's WASI refuses it
NO_MEMORY = '(module (func (export "_start")))'


def write(folder: Path, name: str, text: str) -> Path:
    """``text`` compiled to ``folder/name.wasm``; its path."""
    path = folder / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(text))
    return path
