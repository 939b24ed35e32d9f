"""The job bookkeeping of partitions as kernel programs: releases, starts, completions, misses.

These generators are what partition threads run: on the kernel's hot path (a release interrupt,
a job's first dispatch, its end), so they are compiled with the kernel in the compiled build.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from sporadic import records as ev
from sporadic.kernel.kernel import Kernel
from sporadic.kernel.notification import send_signal
from sporadic.kernel.objects import TCB, Endpoint, Notification
from sporadic.kernel.syscalls import Recv, ReplyRecv, Wait
from sporadic.system.jobs import JobLog

FAULT_WASM = 100  # the label of the fault message a WebAssembly partition sends its handler

# Fault-reply labels: 0 restarts the thread, anything else leaves it Inactive. "abort" restarts
# it at the top of its job loop, as a handler that rewrites the registers in its reply would.
REPLY_LABELS = {"restart": 0, "abort": 0, "stop": 1}


class PartitionRuntime(JobLog):
    """The job bookkeeping of one partition: releases, starts, completions, misses."""

    def __init__(
        self,
        kernel: Kernel,
        tcb: TCB,
        ntfn: Notification,
        irq: int,
        deadline: int,
        period: int,
        job: Callable[[], Generator[Any, Any, Any]],
    ) -> None:
        super().__init__(kernel, tcb)
        self.ntfn = ntfn
        self.irq = irq
        self.deadline = deadline
        self.period = period
        self.job = job
        self.pending: deque[tuple[int, int, int]] = deque()
        self.current: tuple[int, int, int] | None = None
        self.seq = 0
        self.aborted = False
        self.stopped = False

    def abort(self, t: int) -> None:
        """Abandon the current job from outside (a fault handler's reply): the thread restarts
        at the top of its job loop."""
        if self.give_up(t):
            self.aborted = True
            self.tcb.remaining = 0
            self.tcb.retry = None

    def give_up(self, t: int) -> bool:
        """Record that the current job will never complete (a miss); False if there is none."""
        if self.current is None:
            return False
        seq, _, dl = self.current
        self.current = None
        self.sink((ev.JOB_ABORT, t, self.tcb.id, seq))
        self.sink((ev.DEADLINE_MISS, t, self.tcb.id, seq, dl))
        return True

    def release(self, t: int) -> None:
        """Timer interrupt handler: queue a job, signal the partition, re-arm."""
        self.seq += 1
        dl = t + self.deadline
        self.pending.append((self.seq, t, dl))
        self.sink((ev.JOB_RELEASE, t, self.tcb.id, self.seq, dl))
        send_signal(self.kernel, self.ntfn, 1)
        self.kernel.add_timer(t + self.period, self.irq, self.release)

    def _start(self, t: int) -> None:
        self.current = job = self.pending.popleft()
        self.sink((ev.JOB_START, t, self.tcb.id, job[0]))

    def _end(self, t: int) -> None:
        current = self.current
        assert current is not None  # called only while a job runs
        seq, _, dl = current
        self.current = None
        self.complete(t, seq, dl)

    def program(self) -> Generator[Any, Any, None]:
        """Wait for releases, then run every pending job. Code between two yields runs when
        the kernel asks the thread for its next action, so ``kernel.hw`` is the simulated time
        it happens at: the job's first dispatch, the end of its last compute step."""
        wait = Wait(self.ntfn)
        pending = self.pending
        job = self.job
        kernel = self.kernel
        while not self.stopped:
            yield wait
            while pending and not self.stopped:
                self._start(kernel.hw)
                self.aborted = False
                body = job()
                result: Any = None
                while True:  # ``yield from``, but an abort can cut the job short
                    try:
                        action = body.send(result)
                    except StopIteration:
                        if self.current is not None:  # not given up by the job itself
                            self._end(kernel.hw)
                        break
                    result = yield action
                    if self.aborted:
                        body.close()
                        break

    def finish(self, end: int) -> None:
        """At the end of the run: jobs whose deadline has passed without completion are misses."""
        late = [self.current] if self.current else []
        late.extend(self.pending)
        for seq, _, dl in late:
            self.miss_if_due(end, seq, dl)


class FaultHandlerRuntime(JobLog):
    """A partition that handles timeout faults: one job per fault received."""

    def __init__(
        self,
        kernel: Kernel,
        tcb: TCB,
        ep: Endpoint,
        deadline: int,
        compute: Any,
        label: int,
        abort: Callable[[int, int], None] | None,
    ) -> None:
        super().__init__(kernel, tcb)
        self.ep = ep
        self.deadline = deadline
        self.compute = compute
        self.label = label
        self.abort = abort
        self.seq = 0
        self.current: tuple[int, int] | None = None
        self.tcb_message: Any = None

    def _start(self, t: int) -> None:
        msg = self.tcb_message
        self.seq += 1
        self.current = (self.seq, msg.sent + self.deadline)
        self.sink((ev.JOB_RELEASE, msg.sent, self.tcb.id, self.seq, msg.sent + self.deadline))
        self.sink((ev.JOB_START, t, self.tcb.id, self.seq))

    def _end(self, t: int) -> None:
        current = self.current
        assert current is not None  # called only while a job runs
        seq, dl = current
        self.current = None
        if self.abort is not None:
            self.abort(self.tcb_message.badge, t)
        self.complete(t, seq, dl)

    def program(self) -> Generator[Any, Any, None]:
        """Receive a fault, run the handler's job, reply with ``label``; the reply receives the
        next fault, as a handler's ``ReplyRecv`` loop does."""
        reply_recv = ReplyRecv(self.ep, self.label)
        kernel = self.kernel
        self.tcb_message = yield Recv(self.ep)
        while True:
            self._start(kernel.hw)
            yield self.compute()
            self._end(kernel.hw)
            self.tcb_message = yield reply_recv

    def finish(self, end: int) -> None:
        """At the end of the run: an unfinished handler job whose deadline has passed is a miss."""
        if self.current:
            self.miss_if_due(end, *self.current)
