"""Playing WebAssembly runs in simulated time, as the actions of the thread that runs them.

``play`` turns the segments of a run (see ``instance.py``) into kernel actions: ``Compute`` for
the fuel between two effects, then the effect itself at that simulated time; at a suspending host
call it performs the call (a ``Call`` for ``ppcall``, a clock read for ``now``, a ``Yield``) and
hands the answer back to the module, together with a fresh fuel cap: what the job can still get
at that moment. A run that exhausts its cap or traps is a fault, recorded at the simulated time
it happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sporadic import records as ev
from sporadic.kernel.objects import TCB, Message
from sporadic.kernel.syscalls import INF, Compute, Yield
from sporadic.wasm.engine import WasmEngine
from sporadic.wasm.instance import WasmInstance


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
        engine = self.engine
        ns = engine.ns
        sink = self.kernel.sink
        tid = self.tcb.id

        def cap_at(t: int, used_fuel: int) -> int:
            left = max_job_time - ns(used_fuel)
            if deadline < INF:
                left = min(left, deadline - t)
            return engine.fuel(max(0, left))

        runs = inst.call(export, args, cap_at(self.clock, 0))
        seg = next(runs)
        while True:
            prev = seg.fuel_start
            for e in seg.effects:
                delta = ns(e.fuel) - ns(prev)
                if delta:
                    yield Compute(delta)
                prev = e.fuel
                if e.kind == "log":
                    sink((ev.LOG, self.clock, tid, e.value))
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
                    words = reply.words if isinstance(reply, Message) else ()
                    inst.mrs[: len(words)] = list(words)
                    answer = len(words)
            seg = runs.send((answer, cap_at(self.clock, seg.fuel_end)))
