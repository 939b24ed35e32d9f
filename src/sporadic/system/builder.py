"""Builds a kernel from a resolved description: partitions, scripted threads, timers.

A partition is one thread and one SC in the Microkit style. Its jobs are released by a device
timer: at each release the timer's interrupt enters the kernel and signals the partition's
notification, exactly as a timer driver would. The partition's thread waits on that notification
and then runs every job released so far, oldest first, so a job released while the previous one
is still running starts as soon as that one completes (its latency counts the wait).

A partition named as another's ``timeout_handler`` runs one job per timeout fault: it receives the
fault on an endpoint, computes its ``fault_job`` time, and replies to restart or stop the faulted
partition. A partition's job may also be a WebAssembly command, one fresh instance per job.
Scripted threads and Microkit protection domains (``microkit_runtime``) are built here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sporadic.description import SCParams, System, WasmSpec
from sporadic.kernel.kernel import Kernel
from sporadic.kernel.objects import TCB, Endpoint, SchedContext
from sporadic.kernel.schedcontext import bind, configure, size_bits_for
from sporadic.kernel.syscalls import Call
from sporadic.scheduler.domains import DomainSchedule
from sporadic.system.kinds import IDLE, PARTITION, THREAD
from sporadic.system.programs import ScriptCompiler
from sporadic.system.protection_domains import build_protection_domains, load_checked
from sporadic.system.runtimes import (
    FAULT_WASM,
    REPLY_LABELS,
    FaultHandlerRuntime,
    PartitionRuntime,
)

if TYPE_CHECKING:  # wasmtime is imported when a description has a WebAssembly partition
    from sporadic.wasm import WasmEngine, WasmInstance
    from sporadic.wasm.commands import CommandEngine


class BuiltSystem:
    """A kernel with everything of a description in it, ready to ``run``."""

    def __init__(self, system: System, sink: Callable[[tuple], Any] | None = None) -> None:
        self.system = system
        ks = system.kernel
        domains = DomainSchedule(system.domains) if system.domains else None
        self.kernel = k = Kernel(
            min_budget=ks.min_budget,
            entry_cost=ks.entry_cost,
            irq_latency=ks.irq_latency,
            idle_irq_latency=ks.idle_irq_latency,
            syscall_latency=ks.syscall_latency,
            fastpath=ks.fastpath,
            fastpath_cost=ks.fastpath_cost,
            timer_precision=ks.timer_precision,
            domain_schedule=domains,
            sink=sink,
        )
        self.runtimes: list[Any] = []
        self._engine: WasmEngine | None = None
        self._commands: dict[str, CommandEngine] = {}  # measured engines, closed by finish()
        self.engines_started: set[str] = set()  # every engine a session was made of
        self.fault_endpoints: dict[str, Endpoint] = {}
        self.objects: dict[str, Any] = {}
        for name in system.notifications:
            self.objects[name] = k.create_notification(name)
        for name in system.endpoints:
            self.objects.setdefault(name, k.create_endpoint(name))
        self.kinds: dict[int, str] = {k.idle.id: IDLE}
        try:
            self._build_partitions()
            self._build_threads()
            self._build_protection_domains()
        except BaseException:  # a module refused at load: no engine session is left open
            self.close_engines()
            raise

    def _make_sc(self, name: str, params: SCParams) -> SchedContext:
        k = self.kernel
        sc_obj = k.create_sc(name, size_bits_for(params.extra_refills))
        configure(
            k,
            sc_obj,
            params.budget,
            params.period,
            params.extra_refills,
            params.badge,
            params.sporadic,
        )
        return sc_obj

    def _build_partitions(self) -> None:
        k, system = self.kernel, self.system
        handler_eps = self.fault_endpoints
        for p in system.partitions:
            if p.fault_job is not None:
                handler_eps[p.name] = k.create_endpoint(f"{p.name}.faults")
        tcbs = []
        for index, p in enumerate(system.partitions):
            t = k.create_thread(p.name, p.priority, domain=p.domain)
            self.objects[p.name] = t
            self.kinds[t.id] = PARTITION
            bind(k, self._make_sc(p.name, p.sc), t)
            compiler = ScriptCompiler(self._resolve, system.seed, t.id)
            if p.fault_job is not None:
                rt: PartitionRuntime | FaultHandlerRuntime = FaultHandlerRuntime(
                    k,
                    t,
                    handler_eps[p.name],
                    p.sc.period,
                    compiler.compute_step(p.fault_job.compute),
                    REPLY_LABELS[p.fault_job.reply],
                    self._abort if p.fault_job.reply == "abort" else None,
                )
            else:
                ntfn = k.create_notification(f"{p.name}.timer")
                rt = PartitionRuntime(
                    k,
                    t,
                    ntfn,
                    irq=index,
                    deadline=p.release.deadline,
                    period=p.release.period,
                    job=compiler.compile(p.job) if p.wasm is None else _no_job,
                )
                if p.wasm is not None:
                    rt.job = self._wasm_job(rt, p.wasm, index + 1)
                k.add_timer(p.release.offset, index, rt.release)
            if p.timeout_handler is not None:
                t.timeout_handler = handler_eps[p.timeout_handler]
                t.timeout_badge = index + 1
            t.program = rt.program()
            self.runtimes.append(rt)
            tcbs.append(t)
        for t in tcbs:
            k.start(t)

    def _build_threads(self) -> None:
        k, system = self.kernel, self.system
        made = []
        for d in system.threads:
            t = k.create_thread(d.name, d.priority, mcp=d.mcp, domain=d.domain)
            self.objects[d.name] = t
            self.kinds[t.id] = THREAD
            if d.sc is not None:
                bind(k, self._make_sc(d.name, d.sc), t)
            if d.timeout_handler is not None:
                t.timeout_handler = self.objects[d.timeout_handler]
                t.timeout_badge = d.timeout_badge
            made.append((t, d))
        for t, d in made:
            compiler = ScriptCompiler(self._resolve, system.seed, t.id)
            t.program = compiler.compile(d.script)()
            if d.start:
                k.start(t)

    def _build_protection_domains(self) -> None:
        k, system = self.kernel, self.system
        runtimes, tcbs, kinds = build_protection_domains(
            k,
            system.protection_domains,
            system.channels,
            self.objects,
            lambda t: ScriptCompiler(self._resolve, system.seed, t.id),
            irq_base=len(system.partitions),
            wasm_engine=self.wasm_engine,
        )
        self.runtimes.extend(runtimes)
        self.kinds.update(kinds)
        for t in tcbs:
            k.start(t)

    def wasm_engine(self) -> WasmEngine:
        """The run's wasmtime engine, made on first use (modules are cached in it)."""
        if self._engine is None:
            from sporadic.wasm import WasmEngine

            self._engine = WasmEngine(self.system.fuel_per_us)
        return self._engine

    def command_engine(self, name: str) -> CommandEngine:
        """The run's session of engine ``name`` (wasmer: made on first use, closed by
        ``finish`` or ``close_engines``)."""
        if name not in self._commands:
            from sporadic.wasm.commands import command_engine

            self._commands[name] = command_engine(
                name, self.system.fuel_per_us, self.system.wasmer_scale
            )
            self.engines_started.add(name)
        return self._commands[name]

    def close_engines(self) -> None:
        """End every engine session of the run: no thread or sandbox of it outlives it."""
        while self._commands:
            self._commands.popitem()[1].close()

    def _wasm_job(
        self, rt: PartitionRuntime, spec: WasmSpec, badge: int
    ) -> Callable[[], Iterator[Any]]:
        """A WASI command as a periodic job: a fresh instance per job, ``_start`` to the end.
        Its instantiation (a start function) is part of the job, and a fault of it too.
        A fault goes to ``spec.fault_handler`` (if any) with ``badge``, as a fault IPC would."""
        from sporadic.wasm import Player, WasmInstance
        from sporadic.wasm.commands import measured_job

        engine = self.wasm_engine()
        loaded = load_checked(engine, spec.path, "command", rt.tcb.name)
        argv = [Path(spec.path).name, *spec.args]
        # reject bad limits, and a start function that traps or never ends, at load time
        WasmInstance(loaded, argv, spec.memory, spec.tables, engine.fuel(spec.max_job_time))
        player = Player(engine, self.kernel, rt.tcb)
        handler_ep = self.fault_endpoints.get(spec.fault_handler) if spec.fault_handler else None
        if spec.engine == "wasmer":  # time measured, not counted (wasm/wasmer_engine.py)
            measured = self.command_engine("wasmer")
            module = measured.load(spec.path, None, spec.memory, spec.tables)
            run = measured_job(
                measured, module, argv, self.kernel, rt.tcb.id, spec.max_job_time, engine.output
            )

        def make(fuel: int) -> WasmInstance:
            return WasmInstance(loaded, argv, spec.memory, spec.tables, fuel)

        def job() -> Iterator[Any]:
            seq, _, deadline = rt.current
            if spec.engine == "wasmer":
                faulted = (yield from run(deadline, seq)) is not None
            else:
                inst = yield from player.instantiate(make, deadline, spec.max_job_time, seq)
                faulted = inst is None
                if inst is not None:
                    left = spec.max_job_time - engine.ns(inst.init_fuel_used)
                    seg = yield from player.play(inst, "_start", (), deadline, left, seq)
                    faulted = seg.trap is not None
            if faulted:
                rt.give_up(player.clock)
                stop = spec.on_fault == "stop"
                if handler_ep is not None:
                    # like a fault IPC: the handler's reply label decides (0: go on)
                    reply = yield Call(handler_ep, badge, FAULT_WASM, (seq,))
                    stop = getattr(reply, "label", 0) != 0
                if stop:
                    rt.stopped = True

        return job

    def _resolve(self, op: str, name: str) -> Any:
        obj = self.objects.get(name)
        if obj is None:
            self.objects[name] = obj = self.kernel.create_notification(name)
        if op in ("configure", "consumed", "yield_to", "unbind", "bind") and isinstance(obj, TCB):
            return obj.sc if obj.sc is not None else _NoSC(name)
        return obj

    def sc_table(self) -> list[dict[str, Any]]:
        """The trace header's ``scs`` table: every SC, its parameters and its home thread."""
        return [
            {
                "id": c.id,
                "name": c.name,
                "budget": c.budget,
                "period": c.period,
                "extra_refills": max(0, c.refill_max - 2),
                "sporadic": c.sporadic,
                "home": -1 if c.home is None else c.home.id,
            }
            for c in self.kernel.scs
        ]

    def thread_table(self) -> list[dict[str, Any]]:
        """The trace header's ``threads`` table, with the kind of each thread."""
        return [
            {
                "id": t.id,
                "name": t.name,
                "kind": self.kinds.get(t.id, THREAD),
                "priority": t.prio,
                "domain": t.domain,
            }
            for t in self.kernel.threads
        ]

    def _abort(self, badge: int, t: int) -> None:
        """A handler's "abort" reply: badge ``i + 1`` names the i-th partition."""
        rt = self.runtimes[badge - 1]
        if isinstance(rt, PartitionRuntime):
            rt.abort(t)

    def set_sink(self, sink: Callable[[tuple], Any]) -> None:
        """Send every record to ``sink`` (set before the run starts)."""
        self.kernel.sink = sink
        for rt in self.runtimes:
            rt.sink = sink

    def finish(self, end: int) -> None:
        """Record what the end of the run decides (misses), then close every program, which
        lets a WebAssembly module suspended in a host call unwind and its thread end."""
        for rt in self.runtimes:
            rt.finish(end)
        for t in self.kernel.threads:
            if t.program is not None:
                t.program.close()
        self.close_engines()


def _no_job() -> Iterator[Any]:
    """Placeholder until a WebAssembly job is attached."""
    return iter(())


class _NoSC:
    """Stands for "the SC of a thread that has none": invocations on it fail as in seL4."""

    def __init__(self, owner: str) -> None:
        self.owner = owner

    def __repr__(self) -> str:
        return f"<no SC of {self.owner}>"
