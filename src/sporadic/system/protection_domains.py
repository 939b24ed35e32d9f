"""Microkit protection domains on the simulated kernel (docs/microkit.md).

Each PD is what libmicrokit sets up: one thread, one SC (badge ``0x100 + index``), an endpoint
with the PD's notification bound to its thread, and a reply object. Its program is libmicrokit's
event loop: ``init`` once, then receive; a badge with bit 63 set is a protected call on channel
``badge & 0x3f`` (``protected``, answered by the next ``ReplyRecv``), any other badge is a word of
notification bits, each set bit ``i`` giving one ``notified(i)`` in ascending order.

``microkit_notify(ch)`` signals the peer's notification with bit ``peer_id``;
``microkit_ppcall(ch)`` Calls the peer's endpoint with badge ``1 << 63 | peer_id``, donating the
caller's SC to a passive peer. A passive PD, after ``init``, tells the monitor (priority 255)
with an ``NBSendRecv`` combined with its first receive; the monitor unbinds the PD's SC and binds
it to the PD's notification, so from then on the PD runs on its notification's SC for
``notified`` and on its callers' SCs for ``protected``.

Every handler run is a job: released when its notification or call arrived, deadline from the
workload (none by default).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sporadic import records as ev
from sporadic.description import Action, Channel, ProtectionDomain
from sporadic.errors import WasmError
from sporadic.kernel.kernel import Kernel
from sporadic.kernel.notification import bind_notification, send_signal
from sporadic.kernel.objects import TCB, Endpoint, Notification
from sporadic.kernel.schedcontext import bind, configure
from sporadic.kernel.syscalls import (
    INF,
    Bind,
    Call,
    Mark,
    NBSendRecv,
    Recv,
    ReplyRecv,
    Signal,
    Unbind,
)
from sporadic.system.jobs import JobLog
from sporadic.system.kinds import MONITOR, PD

if TYPE_CHECKING:  # wasmtime is imported when a PD is a WebAssembly module
    from sporadic.wasm import LoadedModule, WasmEngine

PPC_BIT = 1 << 63
CHANNEL_MASK = 0x3F
MONITOR_PRIORITY = 255
SC_BADGE_BASE = 0x100


def translate(actions: tuple[Action, ...], peers: dict[int, tuple[str, int]]) -> tuple[Action, ...]:
    """Rewrite ``notify``/``ppcall`` on a channel into a signal/call on the peer's objects."""
    out = []
    for a in actions:
        if a.op == "notify":
            pd, peer_id = peers[a.args["channel"]]
            out.append(Action("signal", {"target": f"{pd}.ntfn", "badge": 1 << peer_id}, a.line))
        elif a.op == "ppcall":
            pd, peer_id = peers[a.args["channel"]]
            args = {
                "target": f"{pd}.ep",
                "badge": PPC_BIT | peer_id,
                "label": 0,
                "words": a.args["words"],
            }
            out.append(Action("call", args, a.line))
        elif a.op == "loop":
            body = translate(a.args["body"], peers)
            out.append(Action("loop", {**a.args, "body": body}, a.line))
        else:
            out.append(a)
    return tuple(out)


class PDRuntime(JobLog):
    """One PD's thread program and its job records."""

    def __init__(
        self,
        kernel: Kernel,
        tcb: TCB,
        ep: Endpoint,
        index: int,
        passive: bool,
        monitor_ep: Endpoint,
        handlers: dict[str, Callable[[int], Callable[[], Iterator[Any]] | None]],
        deadline: int | None,
    ) -> None:
        super().__init__(kernel, tcb)
        self.ep = ep
        self.index = index
        self.passive = passive
        self.monitor_ep = monitor_ep
        self.handlers = handlers
        self.deadline = INF if deadline is None else deadline
        self.seq = 0
        self.released = 0
        self.message: Any = None  # the protected call being served
        self.reply_words: tuple[int, ...] = ()
        self.stopped = False

    def _run(self, body: Callable[[], Iterator[Any]], released: int) -> Iterator[Any]:
        """One handler run as a job; a body that returns True faulted and never completes."""
        self.seq += 1
        self.released = released
        self.sink((ev.JOB_RELEASE, released, self.tcb.id, self.seq, released + self.deadline))
        kernel = self.kernel
        self._start(kernel.hw)  # runs at the dispatch: see PartitionRuntime.program
        faulted = yield from body()
        (self._abort if faulted else self._end)(kernel.hw)

    def _abort(self, t: int) -> None:
        """A faulted run never completes: a miss, if it had a deadline to miss."""
        self.sink((ev.JOB_ABORT, t, self.tcb.id, self.seq))
        if self.deadline < INF:
            self.sink((ev.DEADLINE_MISS, t, self.tcb.id, self.seq, self.released + self.deadline))

    def _start(self, t: int) -> None:
        self.sink((ev.JOB_START, t, self.tcb.id, self.seq))

    def _end(self, t: int) -> None:
        self.complete(t, self.seq, self.released + self.deadline)

    def program(self) -> Iterator[Any]:
        """libmicrokit's event loop: ``init``, then each received badge as handler runs."""
        init = self.handlers["init"](0)
        if init is not None:
            yield from self._run(init, 0)
        if self.passive:
            msg = yield NBSendRecv(self.monitor_ep, self.ep, self.index)
        else:
            msg = yield Recv(self.ep)
        recv = Recv(self.ep)
        reply_recv = ReplyRecv(self.ep)
        notified, protected = self.handlers["notified"], self.handlers["protected"]
        while not self.stopped:
            badge = msg.badge
            if badge & PPC_BIT:
                self.message = msg
                self.reply_words = ()
                body = protected(badge & CHANNEL_MASK)
                if body is not None:
                    yield from self._run(body, msg.sent)
                msg = (
                    yield ReplyRecv(self.ep, 0, self.reply_words)
                    if self.reply_words
                    else reply_recv
                )
                continue
            while badge and not self.stopped:
                low = badge & -badge
                badge ^= low
                body = notified(low.bit_length() - 1)
                if body is not None:
                    yield from self._run(body, msg.sent)
            if not self.stopped:
                msg = yield recv

    def finish(self, end: int) -> None:
        """Handler runs carry no deadline unless the workload gives one; none is checked at
        the end (a PD idles between events by design)."""


class MonitorRuntime:
    """The monitor's part in passive PDs: move each PD's SC to its notification."""

    def __init__(self, ep: Endpoint, pds: list[tuple[Any, Notification]]) -> None:
        self.ep = ep
        self.pds = pds

    def program(self) -> Iterator[Any]:
        """Serve each passive PD's message: its SC goes from the PD to its notification."""
        recv = Recv(self.ep)
        msg = yield recv
        while True:
            sc_obj, ntfn = self.pds[msg.badge]
            yield Unbind(sc_obj)
            yield Bind(sc_obj, ntfn)
            yield Mark("passive", msg.badge)
            msg = yield recv


def peers_of(pd: str, channels: tuple[Channel, ...]) -> dict[int, tuple[str, int]]:
    """Channel id as seen by ``pd`` -> (peer PD, the peer's id for the same channel)."""
    out = {}
    for c in channels:
        if c.a.pd == pd:
            out[c.a.id] = (c.b.pd, c.b.id)
        if c.b.pd == pd:
            out[c.b.id] = (c.a.pd, c.a.id)
    return out


def build_protection_domains(
    kernel: Kernel,
    pds: tuple[ProtectionDomain, ...],
    channels: tuple[Channel, ...],
    objects: dict[str, Any],
    compiler_for: Callable[[TCB], Any],
    irq_base: int,
    wasm_engine: Callable[[], WasmEngine],
) -> tuple[list[PDRuntime], list[TCB], dict[int, str]]:
    """Create the monitor and every PD; return their runtimes, threads to start, and kinds."""
    if not pds:
        return [], [], {}
    kinds: dict[int, str] = {}
    monitor = kernel.create_thread("monitor", MONITOR_PRIORITY)
    kinds[monitor.id] = MONITOR
    monitor_sc = kernel.create_sc("monitor")
    configure(kernel, monitor_sc, 1_000_000, 1_000_000)
    bind(kernel, monitor_sc, monitor)
    monitor_ep = kernel.create_endpoint("monitor.ep")
    tcbs = []
    made = []
    for index, p in enumerate(pds):
        t = kernel.create_thread(p.name, p.priority, domain=p.domain)
        kinds[t.id] = PD
        s = kernel.create_sc(p.name)
        configure(
            kernel,
            s,
            p.sc.budget,
            p.sc.period,
            p.sc.extra_refills,
            SC_BADGE_BASE + index,
            p.sc.sporadic,
        )
        bind(kernel, s, t)
        ep = kernel.create_endpoint(f"{p.name}.ep")
        ntfn = kernel.create_notification(f"{p.name}.ntfn")
        bind_notification(t, ntfn)
        objects[p.name] = t
        objects[f"{p.name}.ep"] = ep
        objects[f"{p.name}.ntfn"] = ntfn
        made.append((index, p, t, s, ep, ntfn))
    runtimes = []
    passive_pds = []
    for index, p, t, s, ep, ntfn in made:
        peers = peers_of(p.name, channels)
        h = p.handlers
        rt = PDRuntime(kernel, t, ep, index, p.passive, monitor_ep, {}, h.deadline)
        if p.wasm is not None:
            rt.handlers = _wasm_handlers(kernel, rt, p, peers, channels, objects, wasm_engine())
        else:
            compiler = compiler_for(t)
            init_body = compiler.compile(translate(h.init, peers)) if h.init else None
            rt.handlers = {
                "init": lambda _ch, body=init_body: body,
                "notified": _handler_table(compiler, peers, h.notified),
                "protected": _handler_table(compiler, peers, h.protected),
            }
        t.program = rt.program()
        runtimes.append(rt)
        tcbs.append(t)
        passive_pds.append((s, ntfn))
        for irq in p.irqs:
            _arm_irq(kernel, ntfn, irq.id, irq.period, irq.offset, irq_base + irq.irq)
    mon = MonitorRuntime(monitor_ep, passive_pds)
    monitor.program = mon.program()
    return runtimes, [monitor, *tcbs], kinds


def _wasm_handlers(
    kernel: Kernel,
    rt: PDRuntime,
    p: ProtectionDomain,
    peers: dict[int, tuple[str, int]],
    channels: tuple[Channel, ...],
    objects: dict[str, Any],
    engine: WasmEngine,
) -> dict[str, Any]:
    """Entry points of a reactor module: each handler run is one run of its export."""
    from sporadic.wasm import Player, WasmInstance
    from sporadic.wasm.host import NUM_MRS

    spec = p.wasm
    loaded = load_checked(engine, spec.path, "reactor", p.name)
    argv = [Path(spec.path).name, *spec.args]
    # instantiation (a start function, _initialize) gets max_job_time's fuel, at load time
    inst = WasmInstance(loaded, argv, spec.memory, spec.tables, engine.fuel(spec.max_job_time))
    can_notify = {e.id for c in channels for e in (c.a, c.b) if e.pd == p.name and e.notify}
    can_call = {e.id for c in channels for e in (c.a, c.b) if e.pd == p.name and e.pp}

    def notify(ch: int) -> Any:
        if ch not in can_notify or ch not in peers:
            return None
        peer, peer_id = peers[ch]
        return Signal(objects[f"{peer}.ntfn"], 1 << peer_id)

    def ppcall(ch: int, words: tuple[int, ...]) -> Any:
        if ch not in can_call or ch not in peers:
            return None
        peer, peer_id = peers[ch]
        return Call(objects[f"{peer}.ep"], PPC_BIT | peer_id, 0, words)

    player = Player(engine, kernel, rt.tcb, notify, ppcall)

    def run(export: str, args: tuple[int, ...]) -> Iterator[Any]:
        seg = yield from player.play(
            inst, export, args, rt.released + rt.deadline, spec.max_job_time, rt.seq
        )
        if seg.trap is None:
            if export == "protected":
                count = max(0, min(int(seg.result or 0), len(inst.mrs)))
                rt.reply_words = tuple(inst.mrs[:count])
            return False
        if spec.fault_channel is not None:
            action = notify(spec.fault_channel)
            if action is not None:
                yield action
        if spec.on_fault == "stop":
            rt.stopped = True
        return True

    def protected(ch: int) -> Any:
        words = tuple(rt.message.words)[:NUM_MRS]  # a longer message cannot grow the MRs
        inst.mrs[: len(words)] = list(words)
        return lambda: run("protected", (ch, len(words)))

    return {
        "init": lambda _ch: lambda: run("init", ()),
        "notified": lambda ch: lambda: run("notified", (ch,)),
        "protected": protected if loaded.has_protected else (lambda ch: None),
    }


def load_checked(engine: WasmEngine, path: str, kind: str, owner: str) -> LoadedModule:
    """Load a module for ``owner`` and insist on its kind (reactor for PDs, command for jobs)."""
    loaded = engine.load(path)
    if loaded.kind != kind:
        where = "a [[protection_domain]]" if kind == "command" else "a partition's job"
        raise WasmError(
            f"{path}: {owner} needs a {kind} module, but this is a {loaded.kind} "
            f"(a {loaded.kind} goes in {where})"
        )
    return loaded


def _handler_table(
    compiler: Any, peers: dict[int, tuple[str, int]], handlers: dict[int, tuple[Action, ...]] | None
) -> Callable[[int], Callable[[], Iterator[Any]] | None]:
    """Channel id -> compiled handler (key -1 of ``handlers`` serves any other channel)."""
    bodies = {ch: compiler.compile(translate(a, peers)) for ch, a in (handlers or {}).items()}
    fallback = bodies.get(-1)
    return lambda ch: bodies.get(ch, fallback)


def _arm_irq(
    kernel: Kernel, ntfn: Notification, ch: int, period: int, offset: int, irq: int
) -> None:
    bit = 1 << ch

    def fire(t: int) -> None:
        send_signal(kernel, ntfn, bit)
        kernel.add_timer(t + period, irq, fire)

    kernel.add_timer(offset, irq, fire)
