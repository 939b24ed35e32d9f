"""The resolved system description: what the loader produces and a trace header stores.

Every value is checked and resolved (durations in integer nanoseconds, wasm paths against the
description's folder) before anything is simulated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sporadic.units import MIN_BUDGET


@dataclass(frozen=True)
class Distribution:
    """Execution time of a job or a compute step: ``fixed`` or drawn from a seeded law."""

    kind: str  # fixed | uniform | normal | exponential | choice
    values: tuple[int, ...]  # fixed: (v,); uniform: (lo, hi); normal: (mean, std, lo, hi);
    # exponential: (mean, lo, hi); choice: the choices
    weights: tuple[float, ...] = ()


@dataclass(frozen=True)
class Action:
    """One step of a script; ``args`` depend on ``op`` (see ``SCRIPT_OPS`` in scripts.py)."""

    op: str
    args: dict[str, Any]
    line: int | None = None


@dataclass(frozen=True)
class SCParams:
    budget: int
    period: int
    extra_refills: int = 0
    sporadic: bool = False
    badge: int = 0


@dataclass(frozen=True)
class Release:
    period: int
    offset: int
    deadline: int


@dataclass(frozen=True)
class FaultJob:
    """What a timeout-handler partition does per fault: compute, then restart or stop."""

    compute: Distribution
    reply: str  # restart | abort | stop


@dataclass(frozen=True)
class WasmSpec:
    """A WebAssembly module a partition or PD runs, with its limits and fault policy.

    ``path`` is resolved against the description's folder. ``on_fault``: ``restart`` (the
    faulting job is abandoned, the next one runs), ``stop`` (the partition stops for good).
    ``fault_channel``: a PD also notifies this channel when it faults. ``fault_handler``: a
    partition's fault goes, like a fault IPC, to that handler partition, whose reply decides
    (``restart``/``abort``: go on; ``stop``: stop).
    """

    path: str
    args: tuple[str, ...] = ()
    memory: int = 64 * 1024 * 1024
    tables: int = 10_000
    max_job_time: int = 1_000_000_000
    on_fault: str = "restart"
    fault_channel: int | None = None
    fault_handler: str | None = None
    engine: str | None = None  # wasmtime | wasmer (description/engines.py); None until resolved


@dataclass(frozen=True)
class Partition:
    name: str
    priority: int
    sc: SCParams
    domain: int = 0
    release: Release | None = None
    job: tuple[Action, ...] = ()
    timeout_handler: str | None = None
    fault_job: FaultJob | None = None
    wasm: WasmSpec | None = None
    line: int | None = None


@dataclass(frozen=True)
class Thread:
    name: str
    priority: int
    mcp: int
    domain: int = 0
    sc: SCParams | None = None
    script: tuple[Action, ...] = ()
    timeout_handler: str | None = None
    timeout_badge: int = 0
    start: bool = True
    line: int | None = None


@dataclass(frozen=True)
class Handlers:
    """A Microkit PD's synthetic entry points: what each handler run does, in order.

    ``notified``/``protected`` map a channel id to its handler; key -1 is the handler for any
    other channel. ``deadline`` is the relative deadline of every handler run (None: none).
    """

    init: tuple[Action, ...] = ()
    notified: dict[int, tuple[Action, ...]] | None = None
    protected: dict[int, tuple[Action, ...]] | None = None
    deadline: int | None = None


@dataclass(frozen=True)
class IrqTimer:
    """A periodic interrupt delivered to a PD on channel ``id`` (a timer or a device)."""

    id: int
    irq: int
    period: int
    offset: int = 0


@dataclass(frozen=True)
class ProtectionDomain:
    name: str
    priority: int
    sc: SCParams
    passive: bool = False
    domain: int = 0
    handlers: Handlers = Handlers()
    irqs: tuple[IrqTimer, ...] = ()
    wasm: WasmSpec | None = None
    line: int | None = None


@dataclass(frozen=True)
class ChannelEnd:
    pd: str
    id: int
    pp: bool = False
    notify: bool = True


@dataclass(frozen=True)
class Channel:
    a: ChannelEnd
    b: ChannelEnd


DEFAULT_HANDLER_NS = 10_000  # a PD without a workload: 10 us per entry point


def default_handlers() -> Handlers:
    """Idle until notified; every entry point costs a small fixed time."""
    step = (Action("compute", {"time": Distribution("fixed", (DEFAULT_HANDLER_NS,))}),)
    return Handlers(init=step, notified={-1: step}, protected={-1: step})


@dataclass(frozen=True)
class KernelSettings:
    """The kernel's constants and costs in ns (``[kernel]``; docs/mcs-semantics.md section 12).

    ``entry_cost``: each kernel entry's time after it reads the clock, charged to the SC current
    at the next entry. ``irq_latency`` / ``idle_irq_latency``: from an interrupt to the kernel
    reading the clock, while a thread runs / while the core idles; the interrupted thread makes
    no progress then but is charged for it. ``fastpath``: Call and ReplyRecv take seL4's IPC
    fastpath when they can (as ``KernelFastpath``, on by default), ``fastpath_cost`` ns from the
    trap to the other thread. ``profile``: the measured platform they came from.
    """

    min_budget: int = MIN_BUDGET
    entry_cost: int = 0
    irq_latency: int = 0
    idle_irq_latency: int = 0
    syscall_latency: int = 0
    fastpath_cost: int = 0
    timer_precision: int = 0
    fastpath: bool = True
    profile: str | None = None


@dataclass(frozen=True)
class AgentSettings:
    """``[agent]``: the deploy channel (docs/deploying.md). The guest is the non-real-time side
    that uploads modules, the runner receives them through one shared 4 KiB page and starts each
    as a partition of its own. Costs are simulated CPU time; caps bound what a request may ask."""

    guest: SCParams = SCParams(2_000_000, 10_000_000)
    guest_priority: int = 1
    runner: SCParams = SCParams(1_000_000, 10_000_000)
    runner_priority: int = 50
    copy_per_kib: int = 1_000  # ns of CPU per KiB copied through the page, on each side
    instantiate_base: int = 100_000  # ns to instantiate a module, plus per KiB below
    instantiate_per_kib: int = 5_000
    module: SCParams = SCParams(1_000_000, 10_000_000)  # a module's SC unless the request says
    module_priority: int = 20
    module_deadline: int | None = None
    max_run_time: int = 60_000_000_000  # a module's CPU time before it is stopped (fuel)
    max_priority: int = 200
    max_utilisation: float = 0.5  # budget / period of one module
    max_module_size: int = 4 * 1024 * 1024
    max_modules: int = 8
    max_memory: int = 64 * 1024 * 1024  # linear memory of one module
    max_frame: int = 16 * 1024 * 1024  # largest wire frame the server reads


@dataclass(frozen=True)
class Deploy:
    """``[[deploy]]``: a deploy made by the guest at simulated time ``at``, as a client would."""

    at: int
    wasm: str
    name: str
    args: tuple[str, ...] = ()
    priority: int | None = None
    budget: int | None = None
    period: int | None = None
    deadline: int | None = None
    line: int | None = None
    engine: str | None = None  # wasmtime | wasmer; None until resolved against the default


@dataclass(frozen=True)
class System:
    name: str
    duration: int
    seed: int
    kernel: KernelSettings
    domains: tuple[tuple[int, int], ...] = ()
    partitions: tuple[Partition, ...] = ()
    threads: tuple[Thread, ...] = ()
    notifications: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    protection_domains: tuple[ProtectionDomain, ...] = ()
    channels: tuple[Channel, ...] = ()
    fuel_per_us: int = 1000  # the CPU model: wasmtime fuel units per simulated microsecond
    engine: str = "wasmtime"  # the command jobs' default engine ([cpu] engine)
    wasmer_scale: float = 1.0  # simulated ns per measured ns of a job run on wasmer
    microkit: dict[str, Any] | None = None  # the whole .system file, resolved, when there was one
    agent: AgentSettings | None = None  # the deploy channel, when [agent] or [[deploy]] is given
    deploys: tuple[Deploy, ...] = ()
    path: str = "<memory>"

    def to_dict(self) -> dict[str, Any]:
        """JSON/msgpack-safe resolved description for trace headers."""
        return _plain(asdict(self))


def _plain(obj: Any) -> Any:
    """``asdict`` keeps tuples; JSON and msgpack want lists."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


__all__ = [
    "DEFAULT_HANDLER_NS",
    "Action",
    "AgentSettings",
    "Deploy",
    "Channel",
    "ChannelEnd",
    "Distribution",
    "FaultJob",
    "Handlers",
    "IrqTimer",
    "KernelSettings",
    "Partition",
    "ProtectionDomain",
    "Release",
    "SCParams",
    "System",
    "Thread",
    "WasmSpec",
    "default_handlers",
]
