"""WebAssembly partitions: real modules through `sporadic run`, with exact fuel-derived times,
faults, limits and load errors (issue: WebAssembly partitions; docs/wasm-abi.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import wasmtime

from sporadic import records as ev
from sporadic.cli import main
from sporadic.description import load_text
from sporadic.simulation import Simulation
from sporadic.traces.reader import TraceReader
from tests.helpers import MS, ROOT

APPS = ROOT / "examples" / "wasm"


def simulate(text: str, path: Path) -> tuple[Simulation, dict[str, int]]:
    desc = path / "system.toml"
    desc.write_text(text)
    sim = Simulation(load_text(text, str(desc)))
    sim.run()
    return sim, {t.name: t.id for t in sim.kernel.threads}


def records(sim: Simulation, kind: int, thread: int | None = None) -> list[tuple]:
    return [r for r in sim.records if r[0] == kind and (thread is None or r[2] == thread)]


NBODY = f"""
[system]
duration = "100ms"
[cpu]
fuel_per_us = 1000
[[partition]]
name = "nbody"
priority = 10
budget = "50ms"
period = "50ms"
release = {{ period = "50ms" }}
job = {{ wasm = "{APPS / "nbody.wasm"}", args = ["10"] }}
"""


def test_nbody_prints_its_energies_at_fuel_derived_times(tmp_path: Path, capsys) -> None:
    desc = tmp_path / "nbody.toml"
    desc.write_text(NBODY)
    assert main(["run", str(desc), "-o", str(tmp_path / "n.trace"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    # nbody 10 steps: 26 048 units of fuel in all (fd_write is the host's, not counted), the
    # first line after 5 715 units; at 1000 fuel/us that is 26.048 us and 5.715 us
    assert summary["logs"] == [
        {"t": 5_715, "task": "nbody", "line": "-0.169075164"},
        {"t": 25_984, "task": "nbody", "line": "-0.169073022"},
        {"t": 50 * MS + 5_715, "task": "nbody", "line": "-0.169075164"},
        {"t": 50 * MS + 25_984, "task": "nbody", "line": "-0.169073022"},
    ]
    nbody = summary["tasks"]["nbody"]
    assert (nbody["jobs"], nbody["misses"]) == (2, 0)
    assert nbody["response"]["max"] == nbody["cpu"] // 2 == 26_048


def test_fuel_and_times_are_identical_across_runs(tmp_path: Path) -> None:
    a, _ = simulate(NBODY, tmp_path)
    b, _ = simulate(NBODY, tmp_path)
    assert a.records == b.records


def test_cpu_model_scales_time(tmp_path: Path) -> None:
    sim, ids = simulate(NBODY.replace("fuel_per_us = 1000", "fuel_per_us = 2000"), tmp_path)
    ends = [r[1] for r in records(sim, ev.JOB_END, ids["nbody"])]
    assert ends == [13_024, 50 * MS + 13_024]  # twice the speed, half the time


def test_hello_command_output_and_argv(tmp_path: Path) -> None:
    text = f"""
[system]
duration = "1ms"
[[partition]]
name = "hello"
priority = 10
release = {{ period = "1ms" }}
job = {{ wasm = "{APPS / "hello.wasm"}", args = ["sel4", "mcs"] }}
"""
    sim, ids = simulate(text, tmp_path)
    lines = [r[3] for r in records(sim, ev.LOG, ids["hello"])]
    assert lines == ["Hello, world!", "arg: sel4", "arg: mcs"]


def _reactors(tmp_path: Path) -> str:
    return f"""
[system]
duration = "60ms"
[[protection_domain]]
name = "store"
priority = 200
passive = true
wasm = "{APPS / "server.wasm"}"
[[protection_domain]]
name = "filter"
priority = 100
budget = "500us"
period = "1ms"
wasm = "{APPS / "filter.wasm"}"
irq = [ {{ id = 0, period = "1ms" }} ]
[[channel]]
ends = [ {{ pd = "filter", id = 2, pp = true }}, {{ pd = "store", id = 0 }} ]
"""


def test_two_reactors_exchange_protected_calls_in_simulated_order(tmp_path: Path) -> None:
    sim, ids = simulate(_reactors(tmp_path), tmp_path)
    store, flt = ids["store"], ids["filter"]
    logs = [(r[1], r[2], r[3]) for r in records(sim, ev.LOG)]
    # inits first (store is higher priority), then every 50th filter sample logs before its
    # call, and the store's replies follow in simulated time
    assert logs[0][1:] == (store, "server: init")
    assert logs[1][1:] == (flt, "filter: init")
    sample_logs = [entry for entry in logs if entry[1] == flt and "sample" in entry[2]]
    assert [entry[2].split()[2] for entry in sample_logs] == ["50"]
    assert sorted(logs) == logs  # log lines are in simulated-time order
    calls = records(sim, ev.IPC_CALL, flt)
    assert len(calls) == 60  # one protected call per 1 kHz sample
    # the passive store runs on the filter's SC for every call
    sc_of = {s.name: s.id for s in sim.kernel.scs}
    store_runs = {r[4] for r in records(sim, ev.SWITCH) if r[3] == store and r[1] > 0}
    assert store_runs == {sc_of["filter"]}


def test_now_returns_the_simulated_time_of_the_call(tmp_path: Path) -> None:
    clock = tmp_path / "clock.wasm"
    clock.write_bytes(
        wasmtime.wat2wasm(
            """(module
  (import "sporadic" "now" (func $now (result i64)))
  (import "sporadic" "mr_set" (func $mr_set (param i32 i64)))
  (func (export "init"))
  (func (export "notified") (param i32))
  (func (export "protected") (param i32 i32) (result i32)
    (local i32)
    (loop (local.set 2 (i32.add (local.get 2) (i32.const 1)))
          (br_if 0 (i32.lt_u (local.get 2) (i32.const 1000))))
    (call $mr_set (i32.const 0) (call $now))
    (i32.const 1)))"""
        )
    )
    text = f"""
[system]
duration = "1ms"
[[protection_domain]]
name = "clock"
priority = 200
wasm = "{clock}"
[[protection_domain]]
name = "client"
priority = 100
init = [ {{ compute = "30us" }}, {{ ppcall = 0 }}, {{ mark_result = "t" }} ]
[[channel]]
ends = [ {{ pd = "client", id = 0, pp = true }}, {{ pd = "clock", id = 0 }} ]
"""
    sim, ids = simulate(text, tmp_path)
    (mark,) = records(sim, ev.MARK, ids["client"])
    (reply,) = records(sim, ev.IPC_REPLY)
    # clock's empty init: 1 fuel, 0..1ns. The client computes 30us and calls at 30 001ns;
    # the loop costs 8 003 fuel (8 003ns at 1000 fuel/us) and now() itself 1 000 (a suspending
    # host call's cost), so now() answers 39 004, and the two instructions after it end the
    # call at 39 006.
    assert mark[4] == 39_004
    assert reply[1] == 39_006


def test_traps_are_faults_and_the_simulation_goes_on(tmp_path: Path) -> None:
    text = f"""
[system]
duration = "3500us"
[[protection_domain]]
name = "trap"
priority = 100
deadline = "1ms"
wasm = "{APPS / "trap.wasm"}"
irq = [ {{ id = 0, period = "2ms", offset = "500us" }},
        {{ id = 1, period = "2ms", offset = "1500us" }} ]
"""
    sim, ids = simulate(text, tmp_path)
    faults = [(r[1], r[3], r[4]) for r in records(sim, ev.FAULT, ids["trap"])]
    assert [(job, message) for _, job, message in faults] == [
        (2, "unreachable executed"),
        (3, "out of bounds memory access"),
        (4, "unreachable executed"),
    ]
    aborts = [r[3] for r in records(sim, ev.JOB_ABORT, ids["trap"])]
    misses = [r[3] for r in records(sim, ev.DEADLINE_MISS, ids["trap"])]
    assert aborts == misses == [2, 3, 4]


def test_runaway_stops_at_its_fuel_allowance(tmp_path: Path) -> None:
    text = f"""
[system]
duration = "20ms"
[[protection_domain]]
name = "runaway"
priority = 100
budget = "10ms"
period = "10ms"
wasm = "{APPS / "runaway.wasm"}"
max_job_time = "3ms"
irq = [ {{ id = 0, period = "10ms", offset = "1ms" }} ]
"""
    sim, ids = simulate(text, tmp_path)
    faults = [(r[1], r[4]) for r in records(sim, ev.FAULT, ids["runaway"])]
    fault = "fuel exhausted (the job's allowance ran out)"
    # init takes a few ns; each run starts at the IRQ and is cut after 3ms of CPU
    assert [(t - start, m) for (t, m), start in zip(faults, (1 * MS, 11 * MS), strict=True)] == [
        (3 * MS, fault),
        (3 * MS, fault),
    ]


def test_stop_policy_stops_the_partition(tmp_path: Path) -> None:
    text = f"""
[system]
duration = "10ms"
[[protection_domain]]
name = "trap"
priority = 100
wasm = "{APPS / "trap.wasm"}"
on_fault = "stop"
irq = [ {{ id = 0, period = "1ms" }} ]
"""
    sim, ids = simulate(text, tmp_path)
    assert len(records(sim, ev.FAULT, ids["trap"])) == 1
    assert records(sim, ev.THREAD_EXIT, ids["trap"])


def test_isolation_demo(tmp_path: Path, capsys) -> None:
    summaries = {}
    for name in ("isolation", "isolation-unbudgeted"):
        path = ROOT / "examples" / "isolation" / f"{name}.toml"
        out = tmp_path / f"{name}.trace"
        assert main(["run", str(path), "-o", str(out), "--json"]) == 0
        summaries[name] = json.loads(capsys.readouterr().out)["tasks"]
    assert summaries["isolation"]["control"]["misses"] == 0
    assert summaries["isolation"]["control"]["jobs"] == 201
    assert summaries["isolation-unbudgeted"]["control"]["misses"] > 0


WATS = {
    "missing_exports": ('(module (func (export "init")))', "missing export 'notified'"),
    "wrong_signature": (
        '(module (func (export "init")) (func (export "notified") (param i64)))',
        "export 'notified' has the wrong signature",
    ),
    "unknown_import": (
        '(module (import "env" "abort" (func)) (func (export "_start")))',
        "imports env.abort; only the 'sporadic' host API",
    ),
    "unknown_host_call": (
        '(module (import "sporadic" "sleep" (func)) (func (export "_start")))',
        "imports sporadic.sleep, which the host does not provide",
    ),
    "wrong_import_type": (
        '(module (import "sporadic" "notify" (func (param i64))) (func (export "_start")))',
        "import sporadic.notify has the wrong signature",
    ),
    "big_memory": ('(module (memory 1024) (func (export "_start")))', "exceeds memory limits"),
}


@pytest.mark.parametrize("name", sorted(WATS))
def test_bad_modules_are_rejected_at_load(name: str, tmp_path: Path, capsys) -> None:
    wat, message = WATS[name]
    module = tmp_path / f"{name}.wasm"
    module.write_bytes(wasmtime.wat2wasm(wat))
    _expect_load_error(module, message, tmp_path, capsys)


def test_not_wasm_and_invalid_wasm_are_rejected(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"#!/bin/sh\necho hi\n")
    _expect_load_error(junk, "not a WebAssembly module", tmp_path, capsys)
    cut = tmp_path / "cut.wasm"
    cut.write_bytes(wasmtime.wat2wasm('(module (func (export "_start")))')[:12])
    _expect_load_error(cut, "invalid WebAssembly", tmp_path, capsys)
    reactor = APPS / "control.wasm"
    _expect_load_error(reactor, "needs a command module, but this is a reactor", tmp_path, capsys)


def _expect_load_error(module: Path, message: str, tmp_path: Path, capsys) -> None:
    desc = tmp_path / "bad.toml"
    desc.write_text(
        f'[[partition]]\nname = "p"\npriority = 1\nmemory = "16MiB"\n'
        f'release = {{ period = "1ms" }}\njob = {{ wasm = "{module}" }}\n'
    )
    assert main(["run", str(desc), "-o", str(tmp_path / "x.trace")]) == 2
    err = capsys.readouterr().err
    assert str(module) in err and message in err, err


def test_trace_log_records_carry_the_thread(tmp_path: Path) -> None:
    trace = tmp_path / "n.trace"
    desc = tmp_path / "nbody.toml"
    desc.write_text(NBODY)
    Simulation(load_text(NBODY, str(desc)), trace).run()
    with TraceReader(trace) as reader:
        names = reader.thread_names
        logs = [(r[1], names[r[2]], r[3]) for r in reader.records(ev.LOG)]
    assert logs[:2] == [(5_715, "nbody", "-0.169075164"), (25_984, "nbody", "-0.169073022")]


def test_reactors_notify_and_call_in_simulated_order(tmp_path: Path) -> None:
    """control.wasm notifies the store on every tick; filter.wasm calls it on every sample;
    the store (server.wasm, passive, higher priority) logs each notification at once."""
    text = f"""
[system]
duration = "2500us"
[[protection_domain]]
name = "store"
priority = 200
passive = true
wasm = "{APPS / "server.wasm"}"
[[protection_domain]]
name = "control"
priority = 120
budget = "500us"
period = "1ms"
wasm = "{APPS / "control.wasm"}"
irq = [ {{ id = 0, period = "1ms" }} ]
[[protection_domain]]
name = "filter"
priority = 100
budget = "500us"
period = "1ms"
wasm = "{APPS / "filter.wasm"}"
irq = [ {{ id = 0, period = "1ms", offset = "500us" }} ]
[[channel]]
ends = [ {{ pd = "control", id = 1 }}, {{ pd = "store", id = 5 }} ]
[[channel]]
ends = [ {{ pd = "filter", id = 2, pp = true }}, {{ pd = "store", id = 0 }} ]
"""
    sim, ids = simulate(text, tmp_path)
    names = {v: k for k, v in ids.items()}
    logs = [(r[1], names[r[2]], r[3]) for r in records(sim, ev.LOG)]
    notify_at = [r[1] for r in records(sim, ev.SIGNAL, ids["control"])]
    # each tick, control.c runs its PID step (84 units of fuel), calls microkit_notify(1),
    # then simulates the plant (87 000 more); the first tick waits for its init (4..8 ns).
    # The notification wakes the higher-priority store at once; its notified() logs after
    # 124 units of fuel. The filter, lowest, runs its init only after control's first tick.
    assert notify_at == [8 + 84, 1 * MS + 84, 2 * MS + 84]
    assert logs == [
        (4, "store", "server: init"),
        (8, "control", "control: init"),
        (92 + 124, "store", "server: notified ch=5"),
        (87_303 + 4, "filter", "filter: init"),
        (1 * MS + 84 + 124, "store", "server: notified ch=5"),
        (2 * MS + 84 + 124, "store", "server: notified ch=5"),
    ]
    calls = [(r[1], r[4]) for r in records(sim, ev.IPC_CALL, ids["filter"])]
    assert [t for t, _ in calls] == sorted(t for t, _ in calls)
    assert {dest for _, dest in calls} == {ids["store"]}
    assert len(calls) == 2  # samples at 0.5 ms and 1.5 ms (2.5 ms is the end)


def test_fault_channel_notifies_a_handler(tmp_path: Path) -> None:
    text = f"""
[system]
duration = "2ms"
[[protection_domain]]
name = "trap"
priority = 100
wasm = "{APPS / "trap.wasm"}"
fault_channel = 3
irq = [ {{ id = 0, period = "1ms", offset = "100us" }} ]
[[protection_domain]]
name = "watchdog"
priority = 200
notified = {{ 7 = [ {{ compute = "5us" }} ] }}
[[channel]]
ends = [ {{ pd = "trap", id = 3 }}, {{ pd = "watchdog", id = 7 }} ]
"""
    sim, ids = simulate(text, tmp_path)
    faults = [r[1] for r in records(sim, ev.FAULT, ids["trap"])]
    starts = [r[1] for r in records(sim, ev.JOB_START, ids["watchdog"])]
    assert len(faults) == 2
    assert starts[1:] == faults  # the watchdog's notified(7) runs the moment each fault lands


def test_no_module_thread_outlives_the_run(tmp_path: Path) -> None:
    """filter.wasm suspends in ppcall on a worker thread; a run that ends while it waits
    must not leave that thread behind."""
    import threading

    text = _reactors(tmp_path).replace('duration = "60ms"', 'duration = "1120ns"')
    sim, ids = simulate(text, tmp_path)
    # the filter calls the store at 1 100 ns (100 ns of work, then the call's own 1 000 units
    # of fuel); the store is still serving it when the run ends at 1 120 ns, so the filter's
    # module is suspended in ppcall
    assert [r[1] for r in records(sim, ev.IPC_CALL, ids["filter"])] == [1100]
    assert records(sim, ev.IPC_REPLY) == []
    assert not [t for t in threading.enumerate() if t.name == "wasm-module"]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ('memory = "lots"', 'memory: a size such as "16MiB" or bytes'),
        ('on_fault = "explode"', "on_fault: restart or stop"),
        ("fault_channel = 70", "fault_channel: a channel id 0..61"),
        ('max_job_time = "soon"', "max_job_time"),
    ],
)
def test_wasm_limit_errors_name_the_field(field: str, message: str, tmp_path: Path) -> None:
    from sporadic.description import DescriptionError

    text = (
        f'[[partition]]\nname = "p"\npriority = 1\n{field}\n'
        f'release = {{ period = "1ms" }}\njob = {{ wasm = "{APPS / "hello.wasm"}" }}\n'
    )
    with pytest.raises(DescriptionError) as info:
        load_text(text, str(tmp_path / "w.toml"))
    assert message in str(info.value)
    assert f"{tmp_path / 'w.toml'}:4:" in str(info.value)


def test_missing_module_file_is_a_description_error(tmp_path: Path) -> None:
    from sporadic.description import DescriptionError

    text = '[[partition]]\nname = "p"\npriority = 1\nrelease = { period = "1ms" }\n'
    text += 'job = { wasm = "nowhere.wasm" }\n'
    with pytest.raises(DescriptionError, match="nowhere.wasm does not exist") as info:
        load_text(text, str(tmp_path / "w.toml"))
    assert info.value.line == 5


def test_sizes() -> None:
    from sporadic.units import parse_size

    assert parse_size("16MiB") == 16 * 1024 * 1024
    assert parse_size("64KiB") == 65536
    assert parse_size(4096) == 4096


def test_memory_limit_defaults_to_64_mib() -> None:
    text = '[[partition]]\nname = "p"\npriority = 1\nrelease = { period = "1ms" }\n'
    text += f'job = {{ wasm = "{ROOT / "examples" / "wasm" / "hello.wasm"}" }}\n'
    (p,) = load_text(text).partitions
    assert p.wasm.memory == 64 * 1024 * 1024


@pytest.mark.parametrize(("reply", "stopped"), [("restart", False), ("stop", True)])
def test_partition_fault_goes_to_its_handler(reply: str, stopped: bool, tmp_path: Path) -> None:
    """A trapping WASI job sends its fault to a handler partition, like a fault IPC; the
    handler's reply decides whether the partition goes on."""
    trap = tmp_path / "trap.wasm"
    trap.write_bytes(wasmtime.wat2wasm('(module (func (export "_start") unreachable))'))
    text = f"""
[system]
duration = "3500us"
[[partition]]
name = "job"
priority = 10
release = {{ period = "1ms" }}
job = {{ wasm = "{trap}" }}
fault_handler = "watchdog"
[[partition]]
name = "watchdog"
priority = 200
budget = "100us"
period = "1ms"
fault_job = {{ compute = "20us", reply = "{reply}" }}
"""
    sim, ids = simulate(text, tmp_path)
    faults = [r[1] for r in records(sim, ev.FAULT, ids["job"])]
    handled = [(r[1], r[3]) for r in records(sim, ev.JOB_RELEASE, ids["watchdog"])]
    if stopped:
        assert faults == [1]  # the first job traps at once (1 unit of fuel); then it stops
        assert records(sim, ev.THREAD_EXIT, ids["job"])
    else:
        assert faults == [1, 1 * MS + 1, 2 * MS + 1, 3 * MS + 1]
    # the watchdog gets each fault the moment it is raised, as one of its jobs
    assert handled == [(t, n) for n, t in enumerate(faults, 1)]
