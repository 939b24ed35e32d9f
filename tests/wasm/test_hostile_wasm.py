"""Hostile modules and descriptions (issue: hostile-input audit): each repro either fails to
load with one clear line (exit status 2) or ends as a bounded fault in the trace, never as a
hang, a traceback or unbounded output (docs/wasm-abi.md, "Faults and limits")."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import wasmtime

from sporadic import records as ev
from sporadic.cli import main
from sporadic.description import DescriptionError, load_text
from sporadic.errors import WasmError
from sporadic.simulation import Simulation
from sporadic.traces.reader import TraceReader
from sporadic.wasm import WasmEngine
from sporadic.wasm.host import HostFunctions
from sporadic.wasm.output import RUN_CUT, JobOutput, RunOutput
from sporadic.wasm.worker import Worker
from tests.helpers import MS

WASI = '(import "wasi_snapshot_preview1" "{0}" (func ${0} (param {1}) {2}))'
FD_WRITE = WASI.format("fd_write", "i32 i32 i32 i32", "(result i32)")
PROC_EXIT = WASI.format("proc_exit", "i32", "")
NOW = '(import "sporadic" "now" (func $now (result i64)))'
LOG = '(import "sporadic" "log" (func $log (param i32 i32)))'
OUT_OF_FUEL = "fuel exhausted (the job's allowance ran out)"


def module(tmp_path: Path, wat: str, name: str = "m") -> Path:
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    return path


def command(path: Path, duration: str = "2ms", limits: str = "") -> str:
    """A description running ``path`` as a WASI command job every 1 ms."""
    return (
        f'[system]\nduration = "{duration}"\n[[partition]]\nname = "p"\npriority = 10\n'
        f'release = {{ period = "1ms" }}\njob = {{ wasm = "{path}" }}\n{limits}'
    )


def reactor(path: Path, extra: str = "") -> str:
    """A description with ``path`` as the reactor PD "r", and ``extra`` after it."""
    return (
        f'[system]\nduration = "1ms"\n[[protection_domain]]\nname = "r"\npriority = 200\n'
        f'wasm = "{path}"\n{extra}'
    )


def simulate(text: str, tmp_path: Path) -> tuple[list[tuple], dict[str, int]]:
    desc = tmp_path / "system.toml"
    desc.write_text(text)
    sim = Simulation(load_text(text, str(desc)))
    sim.run()
    return sim.records, {t.name: t.id for t in sim.kernel.threads}


def of(recs: list[tuple], kind: int) -> list[tuple]:
    return [r for r in recs if r[0] == kind]


def run_cli(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``sporadic run`` of ``text``: its exit status and its stderr."""
    desc = tmp_path / "system.toml"
    desc.write_text(text)
    status = main(["run", str(desc), "-o", str(tmp_path / "t.trace")])
    return status, capsys.readouterr().err


# ============================================================ 1a: start functions, _initialize

SPIN_START = (
    '(module (memory (export "memory") 1) (func $s (loop $l (br $l))) (start $s) '
    '(func (export "_start")))'
)


def test_start_function_that_never_returns_is_a_load_error(tmp_path: Path, capsys) -> None:
    path = module(tmp_path, SPIN_START)
    status, err = run_cli(command(path, limits='max_job_time = "1ms"\n'), tmp_path, capsys)
    assert status == 2
    assert err == (
        f"sporadic: error: {path}: cannot instantiate: fuel exhausted (instantiation's "
        "allowance of 1000000 units ran out)\n"
    )


def test_start_function_with_the_default_allowance_fails_in_bounded_time(
    tmp_path: Path, capsys
) -> None:
    """The issue's repro as it is: the default max_job_time, 1 s, is 10^9 units of fuel."""
    path = module(tmp_path, SPIN_START)
    began = time.monotonic()
    status, err = run_cli(command(path), tmp_path, capsys)
    assert time.monotonic() - began < 30
    assert status == 2
    assert err.endswith("allowance of 1000000000 units ran out)\n")


@pytest.mark.parametrize(
    ("spin", "stage"),
    [
        ('(func (export "_initialize") (loop $l (br $l)))', "_initialize failed"),
        ("(func $s (loop $l (br $l))) (start $s)", "cannot instantiate"),
    ],
    ids=["_initialize", "start"],
)
def test_reactor_instantiation_that_never_returns_is_a_load_error(
    spin: str, stage: str, tmp_path: Path, capsys
) -> None:
    path = module(
        tmp_path, f'(module {spin} (func (export "init")) (func (export "notified") (param i32)))'
    )
    status, err = run_cli(reactor(path, 'max_job_time = "2ms"\n'), tmp_path, capsys)
    assert status == 2
    assert err == (
        f"sporadic: error: {path}: {stage}: fuel exhausted (instantiation's "
        "allowance of 2000000 units ran out)\n"
    )


def _burn(units: int) -> str:
    """A function body that uses about ``units`` of fuel (8 per turn of its loop)."""
    return (
        f"(local i32) (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) "
        f"(br_if $l (i32.lt_u (local.get 0) (i32.const {units // 8}))))"
    )


def test_start_function_is_charged_to_the_job(tmp_path: Path) -> None:
    path = module(
        tmp_path,
        f'(module (func $s {_burn(40_000)}) (start $s) (func (export "_start") {_burn(4_000)}))',
    )
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    # the start function's 40 002 units of fuel and _start's 4 002 make the job's 44 004 ns
    assert [r[1] for r in of(recs, ev.JOB_END)] == [44_004]


def test_start_function_over_the_job_allowance_is_a_run_time_fault(tmp_path: Path) -> None:
    """At load the start function has max_job_time (1 s) of fuel and finishes; in a job it
    has only what the job has before its 1 ms deadline."""
    path = module(
        tmp_path, f'(module (func $s {_burn(2_000_000)}) (start $s) (func (export "_start")))'
    )
    recs, _ = simulate(command(path), tmp_path)
    message = (
        "cannot instantiate: fuel exhausted (instantiation's allowance of 1000000 units ran out)"
    )
    assert [(r[1], r[3], r[4]) for r in of(recs, ev.FAULT)] == [(1 * MS, 1, message)]
    assert [r[3] for r in of(recs, ev.JOB_ABORT)] == [1]


# ==================================================================== 1b: empty loops


@pytest.mark.parametrize(
    ("loop", "message"),
    [
        ("{ loop = [ ] }", "loop: an empty loop never lets time pass; give it at least one action"),
        (
            '{ loop = [ { loop = [ { compute = "1us" } ], times = 0 } ] }',
            "loop: its body does no action (every action in it is a loop run 0 times); "
            "give it at least one action",
        ),
        (
            "{ loop = [ ], times = 5 }",
            "loop: an empty loop never lets time pass; give it at least one action",
        ),
    ],
)
def test_loop_that_does_nothing_is_a_description_error(loop: str, message: str) -> None:
    text = f'[[thread]]\nname = "t"\npriority = 5\nscript = [ {{ compute = "1us" }}, {loop} ]\n'
    with pytest.raises(DescriptionError) as info:
        load_text(text, "bad.toml")
    assert str(info.value) == f'bad.toml:4: thread "t": script[1]: {message}'


def test_loop_with_an_action_still_loads() -> None:
    text = '[[thread]]\nname = "t"\npriority = 5\nscript = [ { loop = [ { yield = true } ] } ]\n'
    (thread,) = load_text(text).threads
    assert [a.op for a in thread.script] == ["loop"]


# ======================================================= 1c: suspending host calls cost fuel


def test_each_suspending_call_costs_a_kernel_entry_of_fuel(tmp_path: Path) -> None:
    """``now() - now()`` across one call: the call's own 1 000 units and the 3 instructions
    up to it (local.set, i32.const, call)."""
    path = module(
        tmp_path,
        f"""(module {NOW}
  (import "sporadic" "mr_set" (func $mr_set (param i32 i64)))
  (func (export "init")) (func (export "notified") (param i32))
  (func (export "protected") (param i32 i32) (result i32) (local i64)
    (local.set 2 (call $now))
    (call $mr_set (i32.const 0) (i64.sub (call $now) (local.get 2)))
    (i32.const 1)))""",
    )
    extra = (
        '[[protection_domain]]\nname = "client"\npriority = 100\n'
        'init = [ { ppcall = 0 }, { mark_result = "dt" } ]\n'
        '[[channel]]\nends = [ { pd = "client", id = 0, pp = true }, { pd = "r", id = 0 } ]\n'
    )
    recs, _ = simulate(reactor(path, extra), tmp_path)
    assert [r[4] for r in of(recs, ev.MARK)] == [1_003]


def test_a_loop_on_now_ends_at_the_job_allowance(tmp_path: Path) -> None:
    path = module(
        tmp_path,
        f'(module {NOW} (func (export "_start") (loop $l (drop (call $now)) (br $l))))',
    )
    began = time.monotonic()
    recs, _ = simulate(command(path, limits='max_job_time = "2ms"\n', duration="5ms"), tmp_path)
    assert time.monotonic() - began < 20  # about 2 000 hand-offs per job, not millions
    # each job has 1 ms (its deadline); about 1 000 calls fit in it
    faults = [(r[1], r[3], r[4]) for r in of(recs, ev.FAULT)]
    assert faults[:2] == [(1 * MS, 1, OUT_OF_FUEL), (2 * MS, 2, OUT_OF_FUEL)]


# ================================================================ 1d: module files


def test_fifo_as_module_is_refused_without_blocking(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "fifo.wasm"
    os.mkfifo(fifo)
    with pytest.raises(WasmError) as info:
        WasmEngine().load(fifo)
    assert str(info.value) == f"{fifo}: not a regular file"
    # `sporadic run` refuses it too, in one line (the description's check may see it first)
    status, err = run_cli(command(fifo), tmp_path, capsys)
    assert status == 2
    assert err.count("\n") == 1 and f"{fifo}" in err and "not a regular file" in err


def test_directory_as_module_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WasmError) as info:
        WasmEngine().load(tmp_path)
    assert str(info.value) == f"{tmp_path}: not a regular file"


def test_module_file_over_64_mib_is_refused(tmp_path: Path, capsys) -> None:
    big = tmp_path / "big.wasm"
    with open(big, "wb") as f:  # sparse: no 64 MiB written
        f.truncate(64 * 1024 * 1024 + 1)
    status, err = run_cli(command(big), tmp_path, capsys)
    assert status == 2
    assert err == f"sporadic: error: {big}: 67108865 bytes, above the 64 MiB a module may have\n"


def test_deployed_bytes_over_64_mib_are_refused() -> None:
    with pytest.raises(WasmError) as info:
        WasmEngine().load_bytes(b"\0asm" + bytes(64 * 1024 * 1024), Path("d.wasm"))
    assert str(info.value) == "d.wasm: 67108868 bytes, above the 64 MiB a module may have"


# ==================================================================== 2a: host arguments


def _fd_write_module(tmp_path: Path, args: str, suspending: bool) -> Path:
    """A command that exits with what ``fd_write(args)`` returns. Memory: an iovec for
    "hi\\n" at 0, a wrapping one at 32, one of length -1 at 40."""
    return module(
        tmp_path,
        f"""(module {FD_WRITE} {PROC_EXIT} {NOW if suspending else ""}
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\\n")
  (func (export "_start")
    {"(drop (call $now))" if suspending else ""}
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (i32.store (i32.const 32) (i32.const -16)) (i32.store (i32.const 36) (i32.const 32))
    (i32.store (i32.const 40) (i32.const 16)) (i32.store (i32.const 44) (i32.const -1))
    (call $proc_exit (call $fd_write {args}))))""",
    )


FD_WRITE_CASES = {
    "iovs_len -1 (the issue's repro)": ("1 0 -1 100", "exit code 28"),  # EINVAL
    "iovs_len above IOV_MAX": ("1 0 1025 100", "exit code 28"),
    "iovs beyond memory": ("1 -8 1 100", "exit code 21"),  # EFAULT
    "iovs array crossing the end": ("1 65532 1 100", "exit code 21"),
    "iov wrapping around 2^32": ("1 32 1 100", "exit code 21"),
    "iov length -1": ("1 40 1 100", "exit code 21"),
    "nwritten beyond memory": ("1 0 1 65533", "exit code 21"),
    "nwritten -1": ("1 0 1 -1", "exit code 21"),
    "fd 3": ("3 0 1 100", "exit code 8"),  # EBADF
    "fd -1": ("-1 0 1 100", "exit code 8"),
}


@pytest.mark.parametrize("suspending", [False, True], ids=["direct", "on-a-worker"])
@pytest.mark.parametrize("case", sorted(FD_WRITE_CASES))
def test_fd_write_bad_arguments_return_errno(case: str, suspending: bool, tmp_path: Path) -> None:
    args, fault = FD_WRITE_CASES[case]
    args = " ".join(f"(i32.const {a})" for a in args.split())
    path = _fd_write_module(tmp_path, args, suspending)
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    assert [r[4] for r in of(recs, ev.FAULT)] == [fault]
    assert of(recs, ev.LOG) == []
    assert not [t for t in threading.enumerate() if t.name == "wasm-module"]


@pytest.mark.parametrize("suspending", [False, True], ids=["direct", "on-a-worker"])
def test_fd_write_good_arguments_still_write(suspending: bool, tmp_path: Path) -> None:
    args = " ".join(f"(i32.const {a})" for a in (1, 0, 1, 100))
    path = _fd_write_module(tmp_path, args, suspending)
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    assert of(recs, ev.FAULT) == []
    assert [r[3] for r in of(recs, ev.LOG)] == ["hi"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("65530 100", "log: bytes 65530..65630 are outside the module's memory (65536 bytes)"),
        ("0 -1", "log: bytes 0..4294967295 are outside the module's memory (65536 bytes)"),
        ("-1 2", "log: bytes 4294967295..4294967297 are outside the module's memory (65536 bytes)"),
    ],
)
def test_log_outside_memory_is_a_fault(args: str, message: str, tmp_path: Path) -> None:
    ptr, length = args.split()
    path = module(
        tmp_path,
        f'(module {LOG} (memory (export "memory") 1) (func (export "_start") '
        f"(call $log (i32.const {ptr}) (i32.const {length}))))",
    )
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    assert [(r[3], r[4]) for r in of(recs, ev.FAULT)] == [(1, message)]


def test_log_without_memory_is_a_fault(tmp_path: Path) -> None:
    path = module(
        tmp_path, f'(module {LOG} (func (export "_start") (call $log (i32.const 0) (i32.const 1))))'
    )
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    assert [r[4] for r in of(recs, ev.FAULT)] == [
        "log: the module has no memory to read (it exports none as 'memory', or it is still "
        "in its start function)"
    ]


MR_GET = '(import "sporadic" "mr_get" (func $mr_get (param i32) (result i64)))'


@pytest.mark.parametrize("suspending", [False, True], ids=["direct", "on-a-worker"])
def test_error_inside_a_host_function_is_a_fault_of_the_job(
    suspending: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    def broken(self: HostFunctions, i: int) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(HostFunctions, "_host_mr_get", broken)
    path = module(
        tmp_path,
        f'(module {MR_GET} {NOW if suspending else ""} (func (export "_start") '
        f"{'(drop (call $now))' if suspending else ''} (drop (call $mr_get (i32.const 0)))))",
    )
    recs, _ = simulate(command(path), tmp_path)
    message = "mr_get: host error: RuntimeError: boom"
    assert [(r[1] % MS > 0, r[3], r[4]) for r in of(recs, ev.FAULT)] == [
        (True, 1, message),
        (True, 2, message),
    ]
    assert "Exception in thread" not in capsys.readouterr().err
    assert not [t for t in threading.enumerate() if t.name == "wasm-module"]


def test_worker_hands_an_error_back_to_the_kernel_thread() -> None:
    def body() -> None:
        raise KeyError("lost")

    with pytest.raises(KeyError, match="lost"):
        Worker(body).start()


def test_poll_oneoff_cannot_sleep_in_real_time(tmp_path: Path) -> None:
    """A 1-hour clock subscription: WASI would sleep for an hour; ours returns ENOSYS (52)."""
    path = module(
        tmp_path,
        f"""(module {WASI.format("poll_oneoff", "i32 i32 i32 i32", "(result i32)")} {PROC_EXIT}
  (memory (export "memory") 1)
  (func (export "_start")
    (i64.store (i32.const 24) (i64.const 3600000000000))
    (call $proc_exit (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1)
                                        (i32.const 128)))))""",
    )
    began = time.monotonic()
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    assert time.monotonic() - began < 10
    assert [r[4] for r in of(recs, ev.FAULT)] == ["exit code 52"]


# ================================================ 2b, 2c: calls during instantiation, exits


def test_now_in_a_start_function_is_a_load_error(tmp_path: Path, capsys) -> None:
    path = module(
        tmp_path,
        f'(module {NOW} (func $s (drop (call $now))) (start $s) (func (export "_start")))',
    )
    status, err = run_cli(command(path), tmp_path, capsys)
    assert status == 2
    assert err == (
        f"sporadic: error: {path}: cannot instantiate: a suspending host call (now) during "
        "instantiation\n"
    )


def test_now_in_initialize_is_a_load_error(tmp_path: Path, capsys) -> None:
    path = module(
        tmp_path,
        f'(module {NOW} (func (export "_initialize") (drop (call $now))) (func (export "init")) '
        '(func (export "notified") (param i32)))',
    )
    status, err = run_cli(reactor(path), tmp_path, capsys)
    assert status == 2
    assert err == (
        f"sporadic: error: {path}: _initialize failed: a suspending host call (now) during "
        "instantiation\n"
    )


@pytest.mark.parametrize(
    ("code", "fault"),
    [("-1", "exit code 4294967295"), ("3", "exit code 3"), ("255", "exit code 255")],
)
def test_proc_exit_code_is_recorded_as_unsigned(code: str, fault: str, tmp_path: Path) -> None:
    path = module(
        tmp_path,
        f'(module {PROC_EXIT} (func (export "_start") (call $proc_exit (i32.const {code}))))',
    )
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    assert [r[4] for r in of(recs, ev.FAULT)] == [fault]


def test_proc_exit_zero_is_no_fault(tmp_path: Path) -> None:
    path = module(
        tmp_path, f'(module {PROC_EXIT} (func (export "_start") (call $proc_exit (i32.const 0))))'
    )
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    assert of(recs, ev.FAULT) == []
    assert len(of(recs, ev.JOB_END)) == 1


# ============================================================== 3: output is bounded


def _logger(tmp_path: Path, length: int, times: int, data: str = "") -> Path:
    """A command that logs the ``length`` bytes at 0 ``times`` times."""
    return module(
        tmp_path,
        f"""(module {LOG} (memory (export "memory") 1) (data (i32.const 0) "{data}")
  (func (export "_start") (local i32)
    (loop $l (call $log (i32.const 0) (i32.const {length}))
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 0) (i32.const {times}))))))""",
    )


def test_a_long_log_line_is_cut_at_4096_bytes(tmp_path: Path) -> None:
    path = _logger(tmp_path, 65536, 1, "x" * 5000)
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    (line,) = [r[3] for r in of(recs, ev.LOG)]
    assert line == "x" * 4096 + " [... 61440 more bytes]"


def test_a_job_logs_at_most_256_kib_then_one_cut_line(tmp_path: Path) -> None:
    """The issue's repro, 2 000 times log(0, 65536): 64 lines of 4 096 kept bytes fill
    256 KiB; the other 1 936 lines (65 536 bytes each) are counted in one last line."""
    path = _logger(tmp_path, 65536, 2000)
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    lines = [r[3] for r in of(recs, ev.LOG)]
    assert len(lines) == 65
    assert lines[0] == "\0" * 4096 + " [... 61440 more bytes]"
    assert lines[-1] == f"[output cut: {1936 * 65536} more bytes in 1936 lines]"


def test_a_job_logs_at_most_1000_lines(tmp_path: Path) -> None:
    path = _logger(tmp_path, 5, 1500, "hello")
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    lines = [r[3] for r in of(recs, ev.LOG)]
    assert lines == ["hello"] * 1000 + ["[output cut: 2500 more bytes in 500 lines]"]


def _writer(tmp_path: Path, text_len: int, times: int, data: str = "") -> Path:
    """A command that writes the ``text_len`` bytes at 16 to stdout ``times`` times."""
    return module(
        tmp_path,
        f"""(module {FD_WRITE} (memory (export "memory") 2) (data (i32.const 16) "{data}")
  (func (export "_start") (local i32)
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const {text_len}))
    (loop $l (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 0) (i32.const {times}))))))""",
    )


def test_a_line_written_without_newline_is_cut(tmp_path: Path) -> None:
    """The issue's repro: 500 writes of 64 KiB and no newline made one 32 MB line."""
    path = _writer(tmp_path, 65536, 500, "y" * 100)
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    (line,) = [r[3] for r in of(recs, ev.LOG)]
    assert line == "y" * 100 + "\0" * 3996 + f" [... {500 * 65536 - 4096} more bytes]"


def test_stdout_lines_past_the_job_cap_are_counted(tmp_path: Path) -> None:
    path = _writer(tmp_path, 4, 1200, "abc\\n")
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    lines = [r[3] for r in of(recs, ev.LOG)]
    assert lines == ["abc"] * 1000 + ["[output cut: 600 more bytes in 200 lines]"]


def test_the_run_has_a_budget_of_log_text(tmp_path: Path) -> None:
    """Two partitions share the run's budget (cut to 5 000 bytes here, 16 MiB by default):
    once it is spent each thread gets one notice, then nothing more."""
    path = _logger(tmp_path, 100, 20, "z" * 100)
    text = command(path, duration="3ms") + command(path).split("\n", 2)[2].replace(
        'name = "p"', 'name = "q"'
    )
    desc = tmp_path / "system.toml"
    desc.write_text(text)
    sim = Simulation(load_text(text, str(desc)))
    sim.built.wasm_engine().output = RunOutput(5_000)
    sim.run()
    ids = {t.name: t.id for t in sim.kernel.threads}
    per_thread = {
        name: [r[3] for r in of(sim.records, ev.LOG) if r[2] == ids[name]] for name in "pq"
    }
    # at 0 ms p logs its 20 lines of 100 bytes, then q its 20; at 1 ms p's second job has
    # room for 10 more, and its 11th gets the notice; q's next line gets its own notice
    assert per_thread["p"] == ["z" * 100] * 30 + [RUN_CUT]
    assert per_thread["q"] == ["z" * 100] * 20 + [RUN_CUT]
    assert RUN_CUT == "[output cut: the run's 16 MiB of log text is used up]"


def test_trace_of_a_log_flood_is_small_and_complete(tmp_path: Path) -> None:
    path = _logger(tmp_path, 65536, 20_000)
    desc = tmp_path / "system.toml"
    desc.write_text(command(path, duration="1ms"))
    assert main(["run", str(desc), "-o", str(tmp_path / "t.trace")]) == 0
    assert (tmp_path / "t.trace").stat().st_size < 1024 * 1024
    with TraceReader(tmp_path / "t.trace") as reader:
        logs = list(reader.records(ev.LOG))
        assert reader.footer is not None
    assert logs[-1][3] == f"[output cut: {19_936 * 65536} more bytes in 19936 lines]"


def test_partial_line_memory_is_bounded_by_the_line_cap() -> None:
    out = JobOutput()
    for _ in range(100):
        assert out.write(1, b"w" * 65536) == []
    assert len(out._head[1]) == 4096
    assert out.flush() == ["w" * 4096 + f" [... {100 * 65536 - 4096} more bytes]"]


# ====================================================== what else a module can flood


def test_notify_flood_is_a_fault(tmp_path: Path) -> None:
    path = module(
        tmp_path,
        """(module (import "sporadic" "notify" (func $notify (param i32)))
  (func (export "_start") (loop $l (call $notify (i32.const 0)) (br $l))))""",
    )
    recs, _ = simulate(command(path, duration="1ms"), tmp_path)
    assert [r[4] for r in of(recs, ev.FAULT)] == [
        "notify: more than 10000 notifications in one run"
    ]


def test_a_message_longer_than_the_mrs_is_cut_to_64_words(tmp_path: Path) -> None:
    """A protected call of 70 words reaches the reactor as 64: its count and its MRs."""
    path = module(
        tmp_path,
        """(module (import "sporadic" "mr_set" (func $mr_set (param i32 i64)))
  (func (export "init")) (func (export "notified") (param i32))
  (func (export "protected") (param i32 i32) (result i32)
    (call $mr_set (i32.const 0) (i64.extend_i32_u (local.get 1))) (i32.const 1)))""",
    )
    words = ", ".join(str(w) for w in range(70))
    extra = (
        '[[protection_domain]]\nname = "client"\npriority = 100\n'
        f'init = [ {{ ppcall = 0, words = [{words}] }}, {{ mark_result = "count" }} ]\n'
        '[[channel]]\nends = [ { pd = "client", id = 0, pp = true }, { pd = "r", id = 0 } ]\n'
    )
    recs, _ = simulate(reactor(path, extra), tmp_path)
    assert [r[4] for r in of(recs, ev.MARK)] == [64]
