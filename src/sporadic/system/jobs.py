"""Job records shared by every kind of partition: completion, and a miss when it came late."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mypy_extensions import mypyc_attr

from sporadic import records as ev
from sporadic.kernel.objects import TCB


@mypyc_attr(allow_interpreted_subclasses=True)  # a Microkit PD's runtime is not compiled
class JobLog:
    """Writes the job records of one thread: completion, and a miss when it came late."""

    def __init__(self, kernel: Any, tcb: TCB) -> None:
        self.kernel = kernel
        self.sink: Callable[[tuple], Any] = kernel.sink
        self.tcb = tcb

    def complete(self, t: int, seq: int, deadline: int) -> None:
        """Job ``seq`` completed at ``t``: a miss as well if that is past its deadline."""
        self.sink((ev.JOB_END, t, self.tcb.id, seq))
        if t > deadline:
            self.sink((ev.DEADLINE_MISS, t, self.tcb.id, seq, deadline))

    def miss_if_due(self, end: int, seq: int, deadline: int) -> None:
        """At the end of the run, an unfinished job whose deadline has passed is a miss."""
        if deadline <= end:
            self.sink((ev.DEADLINE_MISS, end, self.tcb.id, seq, deadline))
