"""Ready queues and the release queue (docs/mcs-semantics.md sections 4.1 and 4.2).

Both hold thread objects and only touch the attributes ``prio``, ``domain``, ``queued``,
``in_release_queue`` and ``sc.refills``; they know nothing else about threads.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from typing import Any

NUM_PRIORITIES = 256

__all__ = ["NUM_PRIORITIES", "ReadyQueues", "ReleaseQueue"]


class ReadyQueues:
    """One FIFO per (domain, priority) and a bitmap per domain, as ``ksReadyQueues``."""

    __slots__ = ("queues", "bitmaps")

    def __init__(self, num_domains: int = 1) -> None:
        self.queues: list[list[deque[Any]]] = [
            [deque() for _ in range(NUM_PRIORITIES)] for _ in range(num_domains)
        ]
        self.bitmaps = [0] * num_domains

    def enqueue(self, t: Any) -> None:
        """``tcbSchedEnqueue``: put at the HEAD of its queue, unless already queued."""
        if t.queued:
            return
        d = t.domain
        self.queues[d][t.prio].appendleft(t)
        self.bitmaps[d] |= 1 << t.prio
        t.queued = True

    def append(self, t: Any) -> None:
        """``tcbSchedAppend``: put at the TAIL of its queue, unless already queued."""
        if t.queued:
            return
        d = t.domain
        self.queues[d][t.prio].append(t)
        self.bitmaps[d] |= 1 << t.prio
        t.queued = True

    def dequeue(self, t: Any) -> None:
        """``tcbSchedDequeue``: remove wherever it is, if queued."""
        if not t.queued:
            return
        d = t.domain
        q = self.queues[d][t.prio]
        q.remove(t)
        if not q:
            self.bitmaps[d] &= ~(1 << t.prio)
        t.queued = False

    def highest(self, domain: int) -> Any:
        """Head of the highest non-empty priority of ``domain``, or None."""
        bm = self.bitmaps[domain]
        if not bm:
            return None
        return self.queues[domain][bm.bit_length() - 1][0]

    def is_highest_prio(self, domain: int, prio: int) -> bool:
        """``isHighestPrio``: nothing queued in ``domain`` beats ``prio``."""
        bm = self.bitmaps[domain]
        return bm == 0 or bm.bit_length() - 1 <= prio

    def queue(self, domain: int, prio: int) -> list[Any]:
        """A copy of one queue, head first (for inspection and tests)."""
        return list(self.queues[domain][prio])


class ReleaseQueue:
    """``ksReleaseQueue``: threads waiting for their head refill, by its ``rTime``, FIFO on ties."""

    __slots__ = ("keys", "threads", "_seq")

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.threads: list[Any] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self.threads)

    def enqueue(self, t: Any) -> bool:
        """Insert after every thread with an equal or earlier time; True if the head changed."""
        self._seq += 1
        key = (t.sc.refills[0][0], self._seq)
        i = bisect_right(self.keys, key)
        self.keys.insert(i, key)
        self.threads.insert(i, t)
        t.in_release_queue = True
        return i == 0

    def remove(self, t: Any) -> bool:
        """Remove ``t`` if present; True if it was the head."""
        if not t.in_release_queue:
            return False
        i = self.threads.index(t)
        del self.threads[i]
        del self.keys[i]
        t.in_release_queue = False
        return i == 0

    def head_time(self) -> int | None:
        return self.keys[0][0] if self.keys else None

    def pop_ready(self, now: int) -> Any:
        """Remove and return the head if its refill is ready at ``now``, else None."""
        if self.keys and self.keys[0][0] <= now:
            del self.keys[0]
            t = self.threads.pop(0)
            t.in_release_queue = False
            return t
        return None

    def snapshot(self) -> list[Any]:
        return list(self.threads)
