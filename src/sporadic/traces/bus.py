"""The record bus: records leave the kernel in batches, one per slice of the run.

The kernel's sink stays a list append (no await, no lock on the hot path). After each slice the
run loop publishes the batch:

- ``taps`` are called synchronously with every batch (the server's per-module log keeper);
- the trace writer gets every batch through a bounded trio channel, so a slow disk slows the
  run (back-pressure) and nothing is dropped;
- live subscribers get batches through their own bounded channels; one that cannot keep up is
  skipped, and the next batch it gets says how many records it missed.

Requests travel the other way through ``requests``: the run loop takes them between slices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

WRITER_QUEUE = 4  # batches in flight to the trace writer


class Subscriber:
    """One live consumer: ``receive()`` gives ``(records, missed)``."""

    def __init__(self, max_queue: int, kinds: set[int] | None) -> None:
        self.send, self.recv = trio.open_memory_channel[tuple[list, int]](max_queue)
        self.kinds = kinds
        self.missed = 0

    def offer(self, batch: list[tuple]) -> None:
        records = batch if self.kinds is None else [r for r in batch if r[0] in self.kinds]
        if not records:
            return
        try:
            self.send.send_nowait((records, self.missed))
            self.missed = 0
        except trio.WouldBlock:
            self.missed += len(records)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def receive(self) -> tuple[list, int]:
        return await self.recv.receive()


class RecordBus:
    """The sink of a live run and the fan-out of its records."""

    def __init__(self) -> None:
        self.batch: list[tuple] = []
        self.sink: Callable[[tuple], Any] = self.batch.append
        self.taps: list[Callable[[list[tuple]], None]] = []
        self.subscribers: set[Subscriber] = set()
        self.published = 0
        self.to_writer, self.writer_batches = trio.open_memory_channel[list](WRITER_QUEUE)
        self.requests_in, self.requests = trio.open_memory_channel[Any](1024)

    def subscribe(self, max_queue: int = 64, kinds: set[int] | None = None) -> Subscriber:
        sub = Subscriber(max_queue, kinds)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        sub.send.close()

    async def publish(self) -> None:
        """Hand the records of the last slice to every consumer."""
        if not self.batch:
            return
        batch = self.batch[:]
        self.batch.clear()
        self.published += len(batch)
        for tap in self.taps:
            tap(batch)
        for sub in list(self.subscribers):
            sub.offer(batch)
        await self.to_writer.send(batch)

    async def write_to(self, write: Callable[[list[tuple]], Any]) -> None:
        """The trace writer's task: every batch, in order, until the bus closes."""
        async with self.writer_batches:
            async for batch in self.writer_batches:
                write(batch)

    async def close(self) -> None:
        await self.publish()
        await self.to_writer.aclose()
        for sub in list(self.subscribers):
            self.unsubscribe(sub)


__all__ = ["RecordBus", "Subscriber"]
