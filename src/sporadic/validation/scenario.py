"""A description as the scenario table of the validation root task (``roottask/src/main.c``).

The root task runs ``[[thread]]`` entries only: each with its own SC (budget and period in whole
microseconds, as ``seL4_SchedControl_ConfigureFlags`` takes them; extra refills; the sporadic
flag) and a script of ``spin``, fixed ``compute``, ``yield``, ``signal``, ``wait`` on a
notification, ``mark`` (``mark_result`` keeps only the time), ``loop``, IPC on endpoints
(``call``, ``send``, ``nbsend``, ``recv``, ``wait``, ``reply_recv``, ``reply``), ``resume`` of a
thread that does not start, and ``unbind`` of a thread's SC (it makes a server passive).
Anything else is refused with the reason, so a validation
never compares something the real kernel did not run.
"""

from __future__ import annotations

from dataclasses import dataclass

from sporadic.description import Action, System
from sporadic.errors import ValidationError

# opcodes of the root task's interpreter (main.c's enum, in order)
OPS = (
    "end", "spin", "compute", "yield", "signal", "wait", "loop", "endloop", "mark",
    "call", "recv", "reply_recv", "reply", "unbind",
    "send", "nbsend", "wait_ep", "resume",
)  # fmt: skip
OPCODE = {name: code for code, name in enumerate(OPS)}
TICK_NS = 16  # the generic counter of qemu-arm-virt: 62.5 MHz
ROOT_BUDGET_US = 100  # the root task's budget while it sleeps through the scenario
MARGIN_US = 50  # the root task wakes this long after the scenario's end


@dataclass(frozen=True)
class Scenario:
    """What the root task runs and what its output's indices mean."""

    header: str  # scenario.h
    threads: tuple[str, ...]  # thread index -> name
    labels: tuple[str, ...]  # mark label index -> label
    duration_us: int


def _us(ns: int, what: str, thread: str) -> int:
    if ns % 1000:
        raise ValidationError(
            f'thread "{thread}": {what} {ns} ns is not a whole number of microseconds, '
            "which is what seL4_SchedControl_ConfigureFlags takes"
        )
    return ns // 1000


class _Compiler:
    """Scripts into one op array; notifications and labels into indices."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.ops: list[tuple[str, int]] = []
        self.notifications: dict[str, int] = {}
        self.endpoints: dict[str, int] = {}
        self.labels: dict[str, int] = {}
        self.threads = {t.name: i for i, t in enumerate(system.threads)}

    def script(self, thread: str, actions: tuple[Action, ...]) -> None:
        for a in actions:
            self.action(thread, a)

    def action(self, thread: str, a: Action) -> None:
        op, args = a.op, a.args
        if op in ("spin", "yield"):
            self.ops.append((op, 0))
        elif op == "compute":
            dist = args["time"]
            if dist.kind != "fixed":
                raise ValidationError(
                    f'thread "{thread}": compute must be a fixed time on the real kernel, '
                    f"not a {dist.kind} distribution"
                )
            ticks, rest = divmod(dist.values[0], TICK_NS)
            if rest:
                raise ValidationError(
                    f'thread "{thread}": compute {dist.values[0]} ns is not a whole number of '
                    f"{TICK_NS} ns counter ticks"
                )
            self.ops.append(("compute", ticks))
        elif op in ("wait", "send", "nbsend") and args["target"] in self.system.endpoints:
            index = self.endpoints.setdefault(args["target"], len(self.endpoints) + 1)
            self.ops.append(("wait_ep" if op == "wait" else op, index))
        elif op == "resume" and args["target"] in self.threads:
            self.ops.append(("resume", self.threads[args["target"]]))
        elif op in ("signal", "wait"):
            name = args["target"]
            if name not in self.system.notifications:
                raise ValidationError(f'thread "{thread}": {op} "{name}" is not a notification')
            index = self.notifications.setdefault(name, len(self.notifications) + 1)
            self.ops.append((op, index))
        elif op in ("mark", "mark_result"):  # the real side keeps when, not the value
            self.ops.append(("mark", self.labels.setdefault(args["label"], len(self.labels))))
        elif op in ("call", "recv", "reply_recv"):
            name = args["target"]
            index = self.endpoints.setdefault(name, len(self.endpoints) + 1)
            self.ops.append((op, index))
        elif op == "reply" and args.get("via") is None:
            self.ops.append(("reply", 0))
        elif op == "unbind" and args["target"] in self.threads:
            self.ops.append(("unbind", self.threads[args["target"]]))
        elif op == "loop":
            self.ops.append(("loop", args["times"] or 0))
            self.script(thread, args["body"])
            self.ops.append(("endloop", 0))
        else:
            raise ValidationError(
                f'thread "{thread}": {op} is not in what the validation root task runs '
                "(spin, compute, yield, signal, wait, mark, mark_result, loop, call, send, nbsend, "
                "recv, reply_recv, reply, resume, unbind of a thread's SC)"
            )


def scenario(system: System) -> Scenario:
    """The scenario table of ``system``, or a ValidationError saying what it cannot express."""
    unsupported = [
        (system.partitions, "partitions"),
        (system.protection_domains, "protection domains"),
        (system.domains, "a domain schedule"),
    ]
    for present, what in unsupported:
        if present:
            raise ValidationError(f"{system.name}: {what} are not run by the validation root task")
    if not system.threads:
        raise ValidationError(f"{system.name}: no [[thread]] to run")
    compiler = _Compiler(system)
    rows = []
    for t in system.threads:
        if t.sc is None:
            raise ValidationError(f'thread "{t.name}": needs an SC of its own on the real kernel')
        if t.timeout_handler is not None or t.mcp != t.priority:
            raise ValidationError(f'thread "{t.name}": mcp and timeout_handler are not supported')
        budget = _us(t.sc.budget, "budget", t.name)
        period = _us(t.sc.period, "period", t.name)
        start = len(compiler.ops)
        compiler.script(t.name, t.script)
        compiler.ops.append(("end", 0))
        rows.append(
            f"    {{ {t.priority}, {budget}, {period}, {t.sc.extra_refills}, "
            f"{int(t.sc.sporadic)}, {start}, {int(t.start)} }}, /* {t.name} */"
        )
    duration = _us(system.duration, "duration", system.name)
    ops = ",\n".join(f"    {{ {OPCODE[op]}, {arg} }} /* {op} */" for op, arg in compiler.ops)
    header = "\n".join(
        [
            f"/* generated by sporadic validate from {system.name} */",
            f"#define SCN_DURATION_US {duration}",
            f"#define SCN_MARGIN_US {MARGIN_US}",
            f"#define SCN_ROOT_BUDGET_US {ROOT_BUDGET_US}",
            f"#define SCN_NTHREADS {len(system.threads)}",
            f"#define SCN_NNTFN {len(compiler.notifications)}",
            f"#define SCN_NEP {len(compiler.endpoints)}",
            "static const scn_thread_t scn_threads[] = {",
            *rows,
            "};",
            f"static const scn_op_t scn_prog[] = {{\n{ops}\n}};",
            "",
        ]
    )
    labels = tuple(sorted(compiler.labels, key=compiler.labels.__getitem__))
    return Scenario(header, tuple(t.name for t in system.threads), labels, duration)
