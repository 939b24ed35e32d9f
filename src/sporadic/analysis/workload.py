"""What response-time analysis needs from a description: its tasks, what each costs at worst,
what releases it, and the protected calls that can block others.

A task is a periodic partition, or one event source of a Microkit protection domain: a periodic
interrupt (``irq``), or the ``notify`` of another task's handler (released when that handler
notifies, so with its response time as release jitter). A handler's worst case adds up its
compute steps (each at its distribution's upper bound) and, for every ``ppcall``, the server's
``protected`` handler: the server runs at its own priority but on the caller's SC, so that time
is the caller's. ``init`` handlers run once, at boot.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sporadic.description import Action, Distribution, ProtectionDomain, SCParams, System

__all__ = ["Cost", "Server", "Task", "Workload", "upper_bound", "workload"]

MAX_NESTING = 16  # protected calls deeper than this are taken for a cycle


def upper_bound(d: Distribution) -> int:
    """The largest value a distribution draws (the samplers clip to it)."""
    if d.kind in ("fixed", "choice"):
        return max(d.values)
    if d.kind == "uniform":
        return d.values[1]
    return d.values[-1]  # normal and exponential: the clip bound


def lower_bound(d: Distribution) -> int:
    """The smallest value a distribution draws."""
    if d.kind == "choice":
        return min(d.values)
    if d.kind == "normal":
        return d.values[2]
    if d.kind == "exponential":
        return d.values[1]
    return d.values[0]  # fixed, uniform


@dataclass
class Cost:
    """A handler's or job's worst case (None: unknown) and best case, the tasks it notifies
    (PD, channel id as the PD sees it, best-case time before the notify) and the servers it
    calls, nested calls included."""

    time: int | None = 0
    best: int = 0
    notifies: list[tuple[str, int, int]] = field(default_factory=list)
    calls: set[str] = field(default_factory=set)
    why: str = ""

    def add(self, other: Cost, times: int = 1) -> None:
        """``other`` run ``times`` times after what this cost holds."""
        if self.time is not None:
            self.time = None if other.time is None else self.time + times * other.time
        self.notifies += [(pd, ch, self.best + b) for pd, ch, b in other.notifies]
        self.best += times * other.best
        self.calls |= other.calls
        self.why = self.why or other.why


@dataclass(frozen=True)
class Task:
    """One analysed task. ``name`` is the partition or PD it belongs to (what a trace summary
    reports); a PD with several event sources gives one task per source, all with its name."""

    name: str
    priority: int
    wcet: int | None
    period: int
    deadline: int | None
    sc: SCParams
    source: int | None = None  # index of the task whose notify releases it
    source_best: int = 0  # the best-case time from that task's release to its notify
    calls: frozenset[str] = frozenset()
    why: str = ""  # why the WCET is unknown
    pd: bool = False  # a PD's handler: its events coalesce, so one job at a time is analysed


@dataclass(frozen=True)
class Server:
    """A PD that answers protected calls: its priority, longest handler and its callers."""

    name: str
    priority: int
    longest: int | None
    callers: frozenset[str]


@dataclass
class Workload:
    tasks: list[Task]
    servers: dict[str, Server]
    once: dict[str, int | None]  # PD -> its init handler's worst case (one-shot, at boot)
    handlers: list[tuple[str, int, SCParams]]  # fault handlers: (name, priority, SC)
    problems: list[str]  # what makes every bound unknown (threads, domains, an agent)
    priorities: dict[str, int]  # every partition and PD
    thread_priority: int = -1  # the highest priority (or MCP) of any [[thread]]


class _Costing:
    """Worst cases of PD handlers, following protected calls through channels."""

    def __init__(self, system: System) -> None:
        self.pds = {p.name: p for p in system.protection_domains}
        self.peers: dict[str, dict[int, tuple[str, int]]] = {p: {} for p in self.pds}
        for c in system.channels:
            self.peers.setdefault(c.a.pd, {})[c.a.id] = (c.b.pd, c.b.id)
            self.peers.setdefault(c.b.pd, {})[c.b.id] = (c.a.pd, c.a.id)

    def actions(self, actions: tuple[Action, ...], pd: str | None, depth: int = 0) -> Cost:
        """The worst case of a script run by ``pd`` (None: a partition's job)."""
        cost = Cost()
        for a in actions:
            if a.op == "compute":
                time = a.args["time"]
                cost.add(Cost(upper_bound(time), lower_bound(time)))
            elif a.op in ("mark", "mark_result"):
                continue
            elif a.op == "loop" and a.args["times"] is not None:
                cost.add(self.actions(a.args["body"], pd, depth), a.args["times"])
            elif a.op == "notify" and pd is not None:
                cost.notifies.append((*self.peers[pd][a.args["channel"]], cost.best))
            elif a.op == "ppcall" and pd is not None:
                server, sid = self.peers[pd][a.args["channel"]]
                cost.calls.add(server)
                cost.add(self.protected(server, sid, depth + 1))
            else:
                cost.add(Cost(None, why=f"its {a.op!r} steps have no known worst case"))
        return cost

    def protected(self, server: str, channel: int, depth: int) -> Cost:
        """The worst case of the server's ``protected`` handler for ``channel``."""
        pd = self.pds[server]
        if depth > MAX_NESTING:
            return Cost(None, why="protected calls nest too deep (a cycle?)")
        if pd.wasm is not None:
            return Cost(None, why=f"server {server!r} runs a wasm module")
        table = pd.handlers.protected or {}
        body = table.get(channel, table.get(-1))
        return self.actions(body, server, depth) if body else Cost()

    def handler(self, pd: ProtectionDomain, channel: int) -> Cost | None:
        """The ``notified`` handler a PD runs for ``channel`` (None: it has none)."""
        if pd.wasm is not None:
            return Cost(None, why="it runs a wasm module")
        table = pd.handlers.notified or {}
        body = table.get(channel, table.get(-1))
        return None if body is None else self.actions(body, pd.name)


def _partitions(system: System, costing: _Costing) -> list[Task]:
    out = []
    for p in system.partitions:
        if p.release is None:
            continue
        if p.wasm is not None:
            cost = Cost(None, why="it runs a wasm module")
        else:
            cost = costing.actions(p.job, None)
        r = p.release
        out.append(Task(p.name, p.priority, cost.time, r.period, r.deadline, p.sc, why=cost.why))
    return out


def _protection_domains(system: System, costing: _Costing) -> tuple[list[Task], list[str]]:
    """One task per (PD, channel, event source); notify chains are followed from the
    interrupts. A handler reached from two sources is two tasks (the conservative view of a
    coalesced notification); a cycle of notifies gives tasks whose jitter never settles."""
    tasks: list[Task] = []
    problems: list[str] = []
    # pd, channel, period, source task, best case before its notify
    pending: list[tuple[str, int, int, int | None, int]] = []
    for pd in system.protection_domains:
        pending += [(pd.name, irq.id, irq.period, None, 0) for irq in pd.irqs]
        init = costing.actions(pd.handlers.init, pd.name) if pd.wasm is None else Cost()
        if init.notifies:
            problems.append(f"{pd.name}'s init notifies: one-shot chains are not analysed")
    seen: set[tuple[str, int, int | None]] = set()
    while pending:
        name, channel, period, source, best = pending.pop(0)
        if (name, channel, source) in seen:
            continue
        seen.add((name, channel, source))
        pd = costing.pds[name]
        cost = costing.handler(pd, channel)
        if cost is None:
            continue
        index = len(tasks)
        tasks.append(
            Task(
                name,
                pd.priority,
                cost.time,
                period,
                pd.handlers.deadline,
                pd.sc,
                source,
                best,
                frozenset(cost.calls),
                cost.why,
                pd=True,
            )
        )
        pending += [(peer, ch, period, index, b) for peer, ch, b in cost.notifies]
    return tasks, problems


def _servers(system: System, costing: _Costing) -> dict[str, Server]:
    """Every PD that a channel lets another call, with its callers (by the ``pp`` ends)."""
    callers: dict[str, set[str]] = {}
    for c in system.channels:
        for caller, callee in ((c.a, c.b), (c.b, c.a)):
            if caller.pp:
                callers.setdefault(callee.pd, set()).add(caller.pd)
    out = {}
    for name, who in callers.items():
        pd = costing.pds[name]
        table = pd.handlers.protected or {}
        costs = [costing.protected(name, ch, 1).time for ch in table] or [0]
        if pd.wasm is not None:
            costs = [None]
        longest = None if None in costs else max(costs)
        out[name] = Server(name, pd.priority, longest, frozenset(who))
    return out


def workload(system: System) -> Workload:
    """The tasks, servers and one-shot loads of ``system`` (module docstring)."""
    costing = _Costing(system)
    pd_tasks, problems = _protection_domains(system, costing)
    partitions = _partitions(system, costing)
    shift = len(partitions)
    tasks = partitions + [
        t if t.source is None else replace(t, source=t.source + shift) for t in pd_tasks
    ]
    once: dict[str, int | None] = {}
    for pd in system.protection_domains:
        once[pd.name] = None if pd.wasm else costing.actions(pd.handlers.init, pd.name).time
    handlers = [(p.name, p.priority, p.sc) for p in system.partitions if p.release is None]
    if len({d for d, _ in system.domains}) > 1:
        problems.append("the domain schedule is not analysed")
    if system.agent is not None:
        problems.append("deployed modules are not analysed")
    top = max((max(t.priority, t.mcp) for t in system.threads), default=-1)
    servers = _servers(system, costing)
    priorities = {p.name: p.priority for p in (*system.partitions, *system.protection_domains)}
    return Workload(tasks, servers, once, handlers, problems, priorities, top)
