"""The record bus (traces/bus.py) and the writer's batch path it uses."""

from __future__ import annotations

import io

import pytest
import trio

from sporadic.traces.bus import RecordBus
from sporadic.traces.writer import TraceWriter


@pytest.mark.parametrize("n", [0, 1, 15, 16, 65_535, 65_536, 70_000])
def test_emit_batch_writes_the_same_bytes_as_emit_one_by_one(n: int) -> None:
    """Across msgpack's fixarray, array 16 and array 32 headers, which the batch path drops."""
    records = [(k % 27, k * 1000, k, "x" * (k % 5)) for k in range(n)]
    one, batch = io.BytesIO(), io.BytesIO()
    a, b = TraceWriter(one, {"seed": 1}), TraceWriter(batch, {"seed": 1})
    for r in records:
        a.emit(r)
    b.emit_batch(records)
    a.close(5)
    b.close(5)
    assert one.getvalue() == batch.getvalue()
    assert b.records == n


async def test_a_slow_subscriber_is_told_how_many_records_it_missed() -> None:
    """Queue of 1 batch: the second and third batches are missed (3 records), the fourth
    arrives saying so; the writer got all four."""
    bus = RecordBus()
    sub = bus.subscribe(max_queue=1)
    written: list[tuple] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bus.write_to, written.extend)
        for batch in ([(4, 0)], [(4, 1), (4, 2)], [(4, 3)]):
            bus.batch.extend(batch)
            await bus.publish()
        assert await sub.receive() == ([(4, 0)], 0)
        bus.batch.append((4, 4))
        await bus.publish()
        assert await sub.receive() == ([(4, 4)], 3)
        await bus.close()
    assert written == [(4, k) for k in range(5)]


async def test_a_subscriber_gets_only_the_kinds_it_asked_for() -> None:
    bus = RecordBus()
    sub = bus.subscribe(kinds={16})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bus.write_to, lambda batch: None)
        bus.batch.extend([(4, 0), (16, 1, 3, "hello"), (4, 2)])
        await bus.publish()
        assert await sub.receive() == ([(16, 1, 3, "hello")], 0)
        await bus.close()
