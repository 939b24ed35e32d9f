"""The time between an interrupt and the kernel reading the clock (``handleInterruptEntry`` ->
``updateTimestamp``, src/api/syscall.c): the interrupted thread is charged for it, so a budget
timer overruns the head refill by the latency and ``refill_budget_check`` (src/kernel/sporadic.c:
``handle_overrun``, then ``schedule_used``) leaves a sliver refill that later decides when the
thread runs again (docs/validation.md, the two-thread case)."""

from sporadic.kernel import Kernel, Spin, bind, configure
from sporadic.records import JOB_RELEASE, POSTPONE, SWITCH
from tests.helpers import MS

# measured on seL4 under qemu-arm-virt (docs/validation.md): 4 ticks from a running thread,
# 2 ticks from idle, 16 ns a tick
USER, IDLE = 64, 32


def spin():
    yield Spin()


def two_threads(irq_latency: int, idle_irq_latency: int) -> tuple[Kernel, list[tuple], dict]:
    """A: prio 200, 2 ms every 10 ms; B: prio 100, 3 ms every 5 ms; both spin (the scenario
    of the first real-kernel comparison)."""
    records: list[tuple] = []
    k = Kernel(sink=records.append, irq_latency=irq_latency, idle_irq_latency=idle_irq_latency)
    scs = {}
    for name, prio, budget, period in (("A", 200, 2 * MS, 10 * MS), ("B", 100, 3 * MS, 5 * MS)):
        t = k.create_thread(name, prio, program=spin())
        scs[name] = sc = k.create_sc(name)
        configure(k, sc, budget=budget, period=period)
        bind(k, sc, t)
        k.start(t)
    return k, records, scs


def switches(k: Kernel, records: list[tuple]) -> list[tuple[int, str]]:
    return [(r[1], k.threads[r[3]].name) for r in records if r[0] == SWITCH]


def test_budget_timer_overrun_by_the_latency_leaves_a_sliver_refill() -> None:
    k, _, scs = two_threads(USER, IDLE)
    k.run(2 * MS + 100)
    # A read the clock 64 ns after its 2 ms: a whole head charged one period on, the 64 ns
    # overrun as a refill of its own
    assert scs["A"].refills == [[10_000_064, 1_999_936], [20 * MS, 64]]


def test_two_threads_match_the_real_kernel_timeline() -> None:
    """B idles from 12 to 14 ms as on seL4: its 64 ns sliver becomes the head at 10 ms, the
    queue is full (2 refills), so schedule_used delays the tail to end where the new refill
    would, and the merged head is ready at 14.000096 ms, the real kernel's value."""
    k, records, _ = two_threads(USER, IDLE)
    k.run(40 * MS)
    assert switches(k, records) == [
        (0, "A"),
        (2_000_064, "B"),
        (5_000_128, "idle"),
        (7_000_160, "B"),
        (10_000_128, "A"),
        (12_000_128, "idle"),
        (14_000_128, "B"),
        (17_000_192, "idle"),
        (19_000_224, "B"),
        (20_000_192, "A"),
        (22_000_192, "B"),
        (25_000_256, "idle"),
        (27_000_288, "B"),
        (30_000_256, "A"),
        (32_000_256, "idle"),
        (34_000_256, "B"),
        (37_000_320, "idle"),
        (39_000_352, "B"),
    ]
    b = k.thread_by_name("B").id
    assert [(r[1], r[4]) for r in records if r[0] == POSTPONE and r[2] == b][:3] == [
        (5_000_128, 7_000_128),
        (10_000_128, 14_000_096),
        (17_000_192, 19_000_192),
    ]


def test_without_latency_b_runs_again_at_12_ms() -> None:
    """The zero-latency kernel charges exactly the budget: no sliver, B is ready at 12 ms."""
    k, records, _ = two_threads(0, 0)
    k.run(16 * MS)
    assert switches(k, records)[4:7] == [(10 * MS, "A"), (12 * MS, "B"), (15 * MS, "idle")]


def test_a_device_timer_keeps_its_nominal_time_for_its_handler() -> None:
    """The handler runs when the kernel has read the clock, but is told when it was raised."""
    records: list[tuple] = []
    k = Kernel(sink=records.append, irq_latency=USER, idle_irq_latency=IDLE)
    seen = []
    k.add_timer(5 * MS, 1, lambda t: seen.append((t, k.now)))
    k.run(6 * MS)
    assert seen == [(5 * MS, 5 * MS + IDLE)]
    assert [r for r in records if r[0] == JOB_RELEASE] == []
