"""Synthetic programs: what description-file threads and partitions run.

A script (a list of ``Action``) compiles to a generator of kernel actions. Execution times drawn
from a distribution come from a per-thread numpy generator seeded with ``(seed, thread index)``,
drawn in batches so that the hot path pays one list index per job, and so that the same seed
always gives the same times whatever else the system contains. numpy is imported when the first
such generator is made: a system of fixed times never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sporadic.description import Action, Distribution
from sporadic.kernel import syscalls

if TYPE_CHECKING:
    import numpy as np

BATCH = 1024
FIXED, ACTION, GENERATOR = "fixed", "action", "generator"  # the kinds of a compiled step


class Sampler:
    """Draws integer-ns execution times from a ``Distribution``."""

    __slots__ = ("dist", "rng", "_batch", "_i")

    def __init__(self, dist: Distribution, rng: np.random.Generator) -> None:
        self.dist = dist
        self.rng = rng
        self._batch: list[int] = []
        self._i = 0

    def _refill(self) -> None:
        import numpy as np

        d, rng = self.dist, self.rng
        if d.kind == "uniform":
            lo, hi = d.values
            draws = rng.integers(lo, hi + 1, size=BATCH)
        elif d.kind == "normal":
            mean, std, lo, hi = d.values
            draws = np.clip(np.rint(rng.normal(mean, std, size=BATCH)), lo, hi)
        elif d.kind == "exponential":
            mean, lo, hi = d.values
            draws = np.clip(np.rint(rng.exponential(mean, size=BATCH)), lo, hi)
        elif d.kind == "choice":
            draws = rng.choice(np.array(d.values, dtype=np.int64), size=BATCH, p=d.weights)
        else:
            draws = np.full(BATCH, d.values[0])
        self._batch = [int(x) for x in draws]
        self._i = 0

    def __call__(self) -> int:
        if self._i >= len(self._batch):
            self._refill()
        v = self._batch[self._i]
        self._i += 1
        return v


def make_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of one thread: its draws depend on the seed and its index only."""
    import numpy as np

    return np.random.default_rng([seed, index])


class ScriptCompiler:
    """Turns scripts into generators, resolving names through ``resolve``.

    ``resolve(op, name)`` returns the kernel object an action acts on (a thread, its SC, a
    notification, an endpoint). The thread's generator (``make_rng(seed, index)``) is made when
    its first distribution is compiled, and shared by all of them, in the order they draw.
    """

    def __init__(self, resolve: Callable[[str, str], Any], seed: int, index: int) -> None:
        self.resolve = resolve
        self.seed = seed
        self.index = index
        self._rng: np.random.Generator | None = None
        self.last: list[Any] = [None]  # the result of the program's latest syscall

    def compute_step(self, dist: Distribution) -> Callable[[], syscalls.Compute]:
        """A function giving the ``Compute`` of one step; a fixed time is built once."""
        if dist.kind == "fixed":
            action = syscalls.Compute(dist.values[0])
            return lambda: action
        if self._rng is None:
            self._rng = make_rng(self.seed, self.index)
        sample = Sampler(dist, self._rng)
        return lambda: syscalls.Compute(sample())

    def compile(self, actions: tuple[Action, ...]) -> Callable[[], Iterator[Any]]:
        """A function that returns a fresh generator running ``actions`` once."""
        steps = [self._step(a) for a in actions]
        last = self.last

        def run() -> Iterator[Any]:
            for kind, step in steps:
                if kind is FIXED:
                    last[0] = yield step
                elif kind is ACTION:
                    last[0] = yield step()
                else:
                    yield from step()

        return run

    def _step(self, a: Action) -> tuple[str, Any]:
        """One script step as (FIXED, the action), (ACTION, a function making it) or
        (GENERATOR, a function returning a generator of actions)."""
        op, args, r = a.op, a.args, self.resolve
        if op == "compute":
            if args["time"].kind == "fixed":
                return FIXED, syscalls.Compute(args["time"].values[0])
            return ACTION, self.compute_step(args["time"])
        if op == "loop":
            body = self.compile(args["body"])
            times = args["times"]

            def loop() -> Iterator[Any]:
                if times is None:
                    while True:
                        yield from body()
                else:
                    for _ in range(times):
                        yield from body()

            return GENERATOR, loop
        if op == "mark_result":
            label, last = args["label"], self.last
            return ACTION, lambda: syscalls.Mark(label, result_value(last[0]))
        return FIXED, self._fixed_action(op, args, r)

    def _fixed_action(self, op: str, args: dict[str, Any], r: Callable[[str, str], Any]) -> Any:
        target = args.get("target")
        if op == "spin":
            return syscalls.Spin()
        if op == "yield":
            return syscalls.Yield()
        if op == "mark":
            return syscalls.Mark(args["label"], args["value"])
        if op == "signal":
            return syscalls.Signal(r(op, target), args["badge"])
        if op == "wait":
            return syscalls.Wait(r(op, target))
        if op == "poll":
            return syscalls.Poll(r(op, target))
        if op == "suspend":
            return syscalls.Suspend(r(op, target))
        if op == "resume":
            return syscalls.Resume(r(op, target))
        if op == "set_priority":
            return syscalls.SetPriority(r(op, target), args["priority"])
        if op == "configure":
            return syscalls.Configure(
                r(op, target),
                args["budget"],
                args["period"],
                args["extra_refills"],
                args["badge"],
                args["sporadic"],
            )
        if op == "bind":
            return syscalls.Bind(r(op, target), r("bind_to", args["to"]))
        if op == "unbind":
            return syscalls.Unbind(r(op, target))
        if op == "consumed":
            return syscalls.Consumed(r(op, target))
        if op == "yield_to":
            return syscalls.YieldTo(r(op, target))
        if op == "recv":
            return syscalls.Recv(r(op, target))
        if op == "reply":
            via = args["via"]
            return syscalls.Reply(args["label"], args["words"], None if via is None else r(op, via))
        if op == "reply_recv":
            return syscalls.ReplyRecv(r(op, target), args["label"], args["words"])
        if op in ("call", "send", "nbsend"):
            kind = {"call": syscalls.Call, "send": syscalls.Send, "nbsend": syscalls.NBSend}[op]
            return kind(r(op, target), args["badge"], args["label"], args["words"])
        if op in ("nbsend_recv", "nbsend_wait"):
            kind = syscalls.NBSendRecv if op == "nbsend_recv" else syscalls.NBSendWait
            return kind(
                r(op, target), r(op, args["source"]), args["badge"], args["label"], args["words"]
            )
        if op == "bind_notification":
            return syscalls.BindNotification(r(op, target), r(op, args["ntfn"]))
        if op == "unbind_notification":
            return syscalls.UnbindNotification(r(op, target))
        raise ValueError(f"unknown script action {op!r}")  # pragma: no cover - loader checks


def result_value(result: Any) -> int:
    """What ``mark_result`` records: a message's first word (else its badge), a notification
    word, 0 for no result, -1 for a syscall error."""
    if result is None:
        return 0
    if isinstance(result, int):
        return result
    if isinstance(result, str):
        return -1
    words = getattr(result, "words", ())
    return words[0] if words else result.badge
