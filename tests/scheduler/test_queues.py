"""Ready queues and the release queue, docs/mcs-semantics.md sections 4.1 and 4.2."""

from __future__ import annotations

from sporadic.scheduler.queues import ReadyQueues, ReleaseQueue


class SC:
    def __init__(self, rtime: int) -> None:
        self.refills = [[rtime, 1000]]


class T:
    """The attributes the queues touch."""

    def __init__(self, name: str, prio: int = 100, domain: int = 0, rtime: int = 0) -> None:
        self.name = name
        self.prio = prio
        self.domain = domain
        self.queued = False
        self.in_release_queue = False
        self.sc = SC(rtime)

    def __repr__(self) -> str:
        return self.name


def test_enqueue_is_head_append_is_tail() -> None:
    """4.1: tcbSchedEnqueue prepends, tcbSchedAppend appends."""
    q = ReadyQueues()
    a, b, c = T("a"), T("b"), T("c")
    q.append(a)
    q.append(b)
    q.enqueue(c)
    assert q.queue(0, 100) == [c, a, b]
    assert a.queued and b.queued and c.queued


def test_enqueue_and_append_ignore_queued_threads() -> None:
    """4.1: both do nothing if the thread is already queued (tcbQueued)."""
    q = ReadyQueues()
    a, b = T("a"), T("b")
    q.append(a)
    q.append(b)
    q.enqueue(b)
    q.append(a)
    assert q.queue(0, 100) == [a, b]


def test_dequeue_anywhere_and_twice() -> None:
    """4.1: tcbSchedDequeue removes a thread wherever it is; a second dequeue is a no-op."""
    q = ReadyQueues()
    a, b, c = T("a"), T("b"), T("c")
    for t in (a, b, c):
        q.append(t)
    q.dequeue(b)
    q.dequeue(b)
    assert q.queue(0, 100) == [a, c]
    assert not b.queued


def test_highest_takes_head_of_highest_priority() -> None:
    """4.1: chooseThread takes the head of the highest non-empty priority (bitmap)."""
    q = ReadyQueues()
    lo, hi1, hi2 = T("lo", 10), T("hi1", 200), T("hi2", 200)
    q.append(lo)
    q.append(hi1)
    q.append(hi2)
    assert q.highest(0) is hi1
    q.dequeue(hi1)
    assert q.highest(0) is hi2
    q.dequeue(hi2)
    assert q.highest(0) is lo
    q.dequeue(lo)
    assert q.highest(0) is None
    assert q.bitmaps[0] == 0


def test_bitmap_tracks_extreme_priorities() -> None:
    """4.1: priorities 0 and 255 (seL4_MaxPrio) are both handled by the bitmap."""
    q = ReadyQueues()
    z, m = T("z", 0), T("m", 255)
    q.append(z)
    assert q.highest(0) is z
    q.append(m)
    assert q.highest(0) is m
    assert q.bitmaps[0] == (1 << 255) | 1
    q.dequeue(m)
    assert q.bitmaps[0] == 1


def test_is_highest_prio() -> None:
    """4.4: isHighestPrio(d, p): queues empty, or their top priority <= p."""
    q = ReadyQueues()
    assert q.is_highest_prio(0, 0)
    q.append(T("a", 100))
    assert q.is_highest_prio(0, 100)
    assert q.is_highest_prio(0, 101)
    assert not q.is_highest_prio(0, 99)


def test_queues_are_per_domain() -> None:
    """1.3/11: ready queues per (domain, priority), each domain with its own bitmap."""
    q = ReadyQueues(num_domains=2)
    a, b = T("a", 50, domain=0), T("b", 200, domain=1)
    q.append(a)
    q.append(b)
    assert q.highest(0) is a
    assert q.highest(1) is b
    assert q.is_highest_prio(0, 50)
    assert q.queue(1, 200) == [b]
    assert q.queue(0, 200) == []


def test_release_queue_ordered_by_head_rtime() -> None:
    """4.2: tcbReleaseEnqueue inserts by ascending head rTime; reports a head change."""
    r = ReleaseQueue()
    a, b, c = T("a", rtime=30), T("b", rtime=10), T("c", rtime=20)
    assert r.enqueue(a)
    assert r.enqueue(b)
    assert not r.enqueue(c)
    assert r.snapshot() == [b, c, a]
    assert r.head_time() == 10
    assert len(r) == 3
    assert a.in_release_queue


def test_release_queue_fifo_on_ties_and_not_by_priority() -> None:
    """4.2/15: equal times -> the new thread goes after the existing ones; priority is ignored."""
    r = ReleaseQueue()
    lo, hi, mid = T("lo", 1, rtime=10), T("hi", 250, rtime=10), T("mid", 100, rtime=10)
    assert r.enqueue(lo)
    assert not r.enqueue(hi)
    assert not r.enqueue(mid)
    assert r.snapshot() == [lo, hi, mid]


def test_release_queue_pop_ready_only_when_due() -> None:
    """4.2 awaken: pop the head only while its head refill is ready (rTime <= now)."""
    r = ReleaseQueue()
    a, b = T("a", rtime=10), T("b", rtime=10)
    c = T("c", rtime=11)
    for t in (a, b, c):
        r.enqueue(t)
    assert r.pop_ready(9) is None
    assert r.pop_ready(10) is a
    assert r.pop_ready(10) is b
    assert r.pop_ready(10) is None
    assert not a.in_release_queue
    assert r.pop_ready(11) is c
    assert r.head_time() is None


def test_release_queue_remove_reports_head() -> None:
    """4.2/3.8: tcbReleaseRemove of the head changes the head (ksReprogram); absent -> no-op."""
    r = ReleaseQueue()
    a, b = T("a", rtime=10), T("b", rtime=20)
    r.enqueue(a)
    r.enqueue(b)
    assert not r.remove(b)
    assert not r.remove(b)
    assert r.remove(a)
    assert len(r) == 0
