"""Playing WebAssembly runs in simulated time, as the actions of the thread that runs them.

``play`` turns the segments of a run (see ``instance.py``) into kernel actions: ``Compute`` for
the fuel between two effects, then the effect itself at that simulated time; at a suspending host
call it performs the call (a ``Call`` for ``ppcall``, a clock read for ``now``, a ``Yield``) and
hands the answer back to the module, together with a fresh fuel cap: what the job can still get
at that moment. A run that exhausts its cap or traps is a fault, recorded at the simulated time
it happened. Log lines go through the run's budget of log text (``RunOutput``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sporadic import records as ev
from sporadic.kernel.objects import TCB, Message
from sporadic.kernel.syscalls import INF, Compute, Yield
from sporadic.wasm.engine import WasmEngine
from sporadic.wasm.host import NUM_MRS
from sporadic.wasm.instance import InstantiateError, WasmInstance


class Player:
    """Plays runs of one thread's module; LOG and FAULT records go to the kernel's sink.

    ``notify(ch)`` and ``ppcall(ch, words)`` turn the module's channel operations into kernel
    actions (None: the channel does not allow it, and the call is dropped)."""

    def __init__(
        self,
        engine: WasmEngine,
        kernel: Any,
        tcb: TCB,
        notify: Callable[[int], Any] | None = None,
        ppcall: Callable[[int, tuple[int, ...]], Any] | None = None,
    ) -> None:
        self.engine = engine
        self.kernel = kernel
        self.tcb = tcb
        self.notify = notify
        self.ppcall = ppcall

    @property
    def clock(self) -> int:
        """Simulated now: the generator only runs when the kernel steps this thread."""
        return self.kernel.hw

    def allowance(self, deadline: int, max_job_time: int, used_fuel: int = 0) -> int:
        """The fuel a job can still have now, ``used_fuel`` into it: up to its deadline, or
        its maximum job time if that comes first."""
        left = max_job_time - self.engine.ns(used_fuel)
        if deadline < INF:
            left = min(left, deadline - self.clock)
        return self.engine.fuel(max(0, left))

    def instantiate(
        self,
        make: Callable[[int], WasmInstance],
        deadline: int,
        max_job_time: int,
        job: int,
    ) -> Iterator[Any]:
        """Make a job's instance with ``make(init_fuel)``, the job's allowance, and charge
        the fuel its start function used as the job's CPU time; its value is the instance, or
        None when instantiation failed, which is a fault of the job."""
        try:
            inst = make(self.allowance(deadline, max_job_time))
        except InstantiateError as e:
            if self.engine.ns(e.fuel):
                yield Compute(self.engine.ns(e.fuel))
            self.kernel.sink((ev.FAULT, self.clock, self.tcb.id, job, e.fault))
            return None
        if self.engine.ns(inst.init_fuel_used):
            yield Compute(self.engine.ns(inst.init_fuel_used))
        return inst

    def play(
        self,
        inst: WasmInstance,
        export: str,
        args: tuple[int, ...],
        deadline: int,
        max_job_time: int,
        job: int,
    ) -> Iterator[Any]:
        """Yield the actions of one run; its value (StopIteration) is the final segment."""
        ns = self.engine.ns
        sink = self.kernel.sink
        tid = self.tcb.id
        output = self.engine.output
        runs = inst.call(export, args, self.allowance(deadline, max_job_time))
        seg = next(runs)
        while True:
            prev = seg.fuel_start
            for e in seg.effects:
                delta = ns(e.fuel) - ns(prev)
                if delta:
                    yield Compute(delta)
                prev = e.fuel
                if e.kind == "log":
                    line = output.admit(tid, e.value)
                    if line is not None:
                        sink((ev.LOG, self.clock, tid, line))
                elif e.kind == "notify" and self.notify is not None:
                    action = self.notify(e.value)
                    if action is not None:
                        yield action
            delta = ns(seg.fuel_end) - ns(prev)
            if delta:
                yield Compute(delta)
            if seg.done:
                if seg.trap is not None:
                    sink((ev.FAULT, self.clock, tid, job, seg.trap))
                return seg
            kind, value = seg.request
            answer: Any = None
            if kind == "now":
                answer = self.clock
            elif kind == "yield":
                yield Yield()
            elif kind == "ppcall":
                ch, count = value
                action = None if self.ppcall is None else self.ppcall(ch, tuple(inst.mrs[:count]))
                if action is None:
                    answer = 0
                else:
                    reply = yield action
                    words = reply.words[:NUM_MRS] if isinstance(reply, Message) else ()
                    inst.mrs[: len(words)] = list(words)
                    answer = len(words)
            seg = runs.send((answer, self.allowance(deadline, max_job_time, seg.fuel_end)))
