"""Hostile host-call arguments: generated WebAssembly modules that call ``fd_write``,
``proc_exit`` and the ``"sporadic"`` host functions (log, notify, mr_get, mr_set, ppcall, now,
yield) with arbitrary i32 and i64 arguments, over arbitrary memory, once, twice or in an endless
loop, run as a WASI command job and as a reactor beside a scripted peer, with a small fuel
allowance (docs/wasm-abi.md).

Whatever the calls, the simulation ends at its duration in bounded time with a readable trace
and its footer; a module's misdeeds are faults of its jobs (never "host error", which would be
a bug of the host functions); output stays within its caps. Only a documented ``SporadicError``
may escape, and then the trace must still read.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import wasmtime
from hypothesis import event, given
from hypothesis import strategies as st

from sporadic import records as ev
from sporadic.description import load_text
from sporadic.errors import SporadicError
from sporadic.simulation import Simulation
from sporadic.traces.reader import TraceReader
from sporadic.wasm.output import JOB_LINES, LINE_BYTES
from tests.fuzz.budget import FUZZ

I32_EDGES = [
    0,
    1,
    -1,
    2,
    3,
    4,
    7,
    8,
    16,
    24,
    63,
    64,
    1024,
    1025,
    65532,
    65535,
    65536,
    2**31 - 1,
    -(2**31),
]
I64_EDGES = [0, -1, 2**63 - 1, -(2**63), 2**32]
i32 = st.one_of(st.sampled_from(I32_EDGES), st.integers(-(2**31), 2**31 - 1))
i64 = st.one_of(st.sampled_from(I64_EDGES), st.integers(-(2**63), 2**63 - 1))

# import name -> (import module, WAT signature, arguments strategy, result dropped?)
IMPORTS = {
    "fd_write": (
        "wasi_snapshot_preview1",
        "(param i32 i32 i32 i32) (result i32)",
        [i32, i32, i32, i32],
        True,
    ),
    "proc_exit": ("wasi_snapshot_preview1", "(param i32)", [i32], False),
    "log": ("sporadic", "(param i32 i32)", [i32, i32], False),
    "notify": ("sporadic", "(param i32)", [i32], False),
    "mr_get": ("sporadic", "(param i32) (result i64)", [i32], True),
    "mr_set": ("sporadic", "(param i32 i64)", [i32, i64], False),
    "ppcall": ("sporadic", "(param i32 i32) (result i32)", [i32, i32], True),
    "now": ("sporadic", "(result i64)", [], True),
    "yield": ("sporadic", "", [], False),
}
# a call made on its own: fewer exits, so that what follows them runs too
WEIGHTS = {"proc_exit": 1}


@st.composite
def calls(draw: st.DrawFn) -> list[tuple[str, list[int]]]:
    names = sorted(IMPORTS)
    pool = [n for n in names for _ in range(WEIGHTS.get(n, 4))]
    out = []
    for _ in range(draw(st.integers(1, 8))):
        name = draw(st.sampled_from(pool))
        out.append((name, [draw(s) for s in IMPORTS[name][2]]))
    return out


# the memory's first bytes: iovecs (pointer, length) that fd_write may be pointed at, most
# of them into the text that follows (at 64: bytes and newlines), then the text
iovec = st.one_of(st.tuples(st.integers(0, 300), st.integers(0, 300)), st.tuples(i32, i32))
memory_bytes = st.tuples(
    st.lists(iovec, min_size=4, max_size=4),
    st.lists(st.sampled_from([b"\n", b"ab", b"\xff", b"\0", b"line"]), max_size=60).map(b"".join),
)


def _wat_call(name: str, args: list[int]) -> str:
    types = ["i64" if (name == "mr_set" and k == 1) else "i32" for k in range(len(args))]
    operands = " ".join(f"({t}.const {a})" for t, a in zip(types, args, strict=True))
    call = f"(call ${name} {operands})"
    return f"(drop {call})" if IMPORTS[name][3] else call


def _data(iovecs: list[tuple[int, int]], text: bytes) -> str:
    raw = b"".join(
        (p & 0xFFFFFFFF).to_bytes(4, "little") + (n & 0xFFFFFFFF).to_bytes(4, "little")
        for p, n in iovecs
    )
    raw += bytes(32) + text  # text from 64 on
    return "".join(f"\\{b:02x}" for b in raw)


def module_wat(
    body: list[tuple[str, list[int]]],
    kind: str,
    repeat: str,
    memory: tuple[list[tuple[int, int]], bytes] | None,
) -> str:
    """A command (``_start``) or reactor (``notified``) that makes ``body``'s calls once,
    twice or for ever, importing only what it calls (so that only suspending calls put it on
    a worker thread)."""
    used = sorted({name for name, _ in body})
    imports = "\n".join(
        f'  (import "{IMPORTS[n][0]}" "{n}" (func ${n} {IMPORTS[n][1]}))' for n in used
    )
    calls_wat = " ".join(_wat_call(n, a) for n, a in body)
    if repeat == "forever":
        run = f"(loop $l {calls_wat} (br $l))"
    else:
        run = " ".join([calls_wat] * int(repeat))
    mem = ""
    if memory is not None:
        mem = f'(memory (export "memory") 1) (data (i32.const 0) "{_data(*memory)}")'
    if kind == "command":
        entry = f'(func (export "_start") {run})'
    else:
        entry = f'(func (export "init")) (func (export "notified") (param i32) {run})'
    return f"(module\n{imports}\n  {mem}\n  {entry})"


def system_toml(command: Path, reactor: Path) -> str:
    """The command as a 1 ms partition job, the reactor woken every 1 ms, each with 50 us of
    fuel per job; channel 1 of the reactor leads to a scripted peer (notify and ppcall)."""
    return f"""
[system]
duration = "2ms"
[[partition]]
name = "cmd"
priority = 10
release = {{ period = "1ms" }}
job = {{ wasm = "{command}" }}
max_job_time = "50us"
[[protection_domain]]
name = "r"
priority = 100
wasm = "{reactor}"
max_job_time = "50us"
irq = [ {{ id = 0, period = "1ms", offset = "100us" }} ]
[[protection_domain]]
name = "peer"
priority = 150
protected = [ {{ compute = "2us" }} ]
notified = [ {{ compute = "1us" }} ]
[[channel]]
ends = [ {{ pd = "r", id = 1, pp = true }}, {{ pd = "peer", id = 1 }} ]
"""


@FUZZ
@given(
    body=calls(),
    repeat=st.sampled_from(["1", "2", "forever"]),
    memory=st.one_of(st.none(), memory_bytes),
)
def test_host_calls_with_any_arguments_end_as_bounded_faults(
    body: list[tuple[str, list[int]]],
    repeat: str,
    memory: tuple[list[tuple[int, int]], bytes] | None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = {}
        for kind in ("command", "reactor"):
            paths[kind] = folder / f"{kind}.wasm"
            paths[kind].write_bytes(wasmtime.wat2wasm(module_wat(body, kind, repeat, memory)))
        text = system_toml(paths["command"], paths["reactor"])
        trace = folder / "run.trace"
        began = time.monotonic()
        try:
            sim = Simulation(load_text(text, str(folder / "system.toml")), trace)
            sim.run()
        except SporadicError as e:  # documented; the trace, if any, still reads
            event(f"refused: {type(e).__name__}")
            if trace.exists():
                with TraceReader(trace) as reader:
                    list(reader)
            return
        assert time.monotonic() - began < 60
        with TraceReader(trace) as reader:
            recs = list(reader)
            footer = reader.footer
        assert footer is not None and footer["end"] == 2_000_000
        faults = [r[4] for r in recs if r[0] == ev.FAULT]
        for message in faults:
            kind = "exit code N" if message.startswith("exit code") else message.split(":")[0]
            event(f"fault: {kind.split(' (')[0]}")
            assert "host error" not in message, message
        logs = [r for r in recs if r[0] == ev.LOG]
        assert all(len(r[3]) <= LINE_BYTES + 40 for r in logs)
        # each thread runs at most 3 jobs here, each of at most JOB_LINES lines and a cut line
        assert len(logs) <= 2 * 3 * (JOB_LINES + 1)
        assert not [t for t in threading.enumerate() if t.name == "wasm-module"]
