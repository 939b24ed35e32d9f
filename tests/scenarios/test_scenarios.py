"""Public scenarios of docs/mcs-semantics.md section 14, run end to end through the CLI.

Each ``sNN_*.toml`` next to this file is one scenario (its comment block quotes what the spec
says it checks). Every test runs ``sporadic run FILE -o TRACE --json`` via ``cli.main``, then
reads the trace and checks the outcome with exact values, derived by hand from the spec's rules
under the section-14 defaults: constant bandwidth, MIN_BUDGET = 20 us, exact timer, zero-cost
kernel. A spinner never enters the kernel; a mark takes no time; a yield is a kernel entry.

Conventions of the derivations: boot queues threads in file order (tail); a thread whose budget
runs out goes to the release queue (next refill not ready) or to the tail (ready); releases in
one kernel entry end up LIFO in the ready queue; a preempted thread goes to the head.
"""

from __future__ import annotations

from pathlib import Path

from sporadic import records as ev
from tests.helpers import MS, SCENARIOS, US, S, Scenario, busiest_window, run_cli

# ------------------------------------------------------------------------------- scenario 1


def test_s01_periodic_spinner_share(scenario: Scenario) -> None:
    """T (1 ms / 10 ms, prio 100) runs exactly [10k, 10k+1) ms, B (RR 5 ms, prio 50) the rest.

    t=0: T's head {0, 1ms}; timer at 1 ms. At 1 ms the head is used up: single refill ->
    {10ms, 1ms}, not ready -> postponed to 10 ms; B runs. B's RR slices end at 6 ms (refilled,
    re-picked, no SWITCH); the next timer is min(6+5, 10) = 10 ms: T released, preempts B
    (B to the head, 1 ms of its slice left); the same every 10 ms.
    """
    run = scenario("s01_periodic_spinner_share")
    # T uses its whole budget in each of its ten periods, and exhausts it there; B is RR
    used = dict.fromkeys(("min", "mean", "p50", "p90", "p99", "p999", "max"), MS) | {"std": 0}
    t_sc = {"home": "T", "budget": MS, "period": 10 * MS, "sporadic": False, "periods": 10}
    assert run.summary == {
        "tasks": {},
        "scs": {"T": {**t_sc, "used": used, "exhausted": 10}},
        "duration": 100 * MS,
        "truncated": False,
        "logs": [],
    }
    expected = [(0, "idle", "T")]
    for k in range(10):
        if k:
            expected.append((10 * k * MS, "B", "T"))
        expected.append(((10 * k + 1) * MS, "T", "B"))
    assert run.switches() == expected
    assert run.intervals("T") == [(10 * k * MS, (10 * k + 1) * MS) for k in range(10)]
    assert run.cpu("T") == 10 * MS  # 10% of 100 ms
    assert run.cpu("B") == 90 * MS
    assert run.postpones("T") == [((10 * k + 1) * MS, 10 * (k + 1) * MS) for k in range(10)]
    assert run.of(ev.TIMEOUT_FAULT, ev.SYSCALL_ERROR) == []


# ------------------------------------------------------------------------------- scenario 2


def test_s02_round_robin_slices_in_fifo_order(scenario: Scenario) -> None:
    """After each yield of the monitor, s1..s4 run one 5 ms slice each, in FIFO order.

    Boot queue (prio 100): monitor, s1, s2, s3, s4. The monitor yields at 0: RR refill, tail.
    s1 [0,5), s2 [5,10), s3 [10,15), s4 [15,20) (each appended at its slice end), monitor at
    20: "after" = 20 ms, computes 2 ms, "before" at 22, ... Rounds start at 0, 22, 44 ms; the
    monitor exits at 66 ms and the four keep rotating.
    """
    run = scenario("s02_round_robin_fifo")
    before = run.mark_times("before")
    after = run.mark_times("after")
    assert before == [0, 22 * MS, 44 * MS]
    assert after == [20 * MS, 42 * MS, 64 * MS]
    for b, a in zip(before, after, strict=True):
        assert a - b == 20 * MS  # exactly 4 slices of 5 ms
        assert 0.98 * 4 * 5 * MS <= a - b < 1.02 * 5 * 5 * MS  # SCHED0021's tolerance
    expected = [(0, "idle", "monitor")]
    for base in (0, 22 * MS, 44 * MS):
        expected += [
            (base, "monitor", "s1"),
            (base + 5 * MS, "s1", "s2"),
            (base + 10 * MS, "s2", "s3"),
            (base + 15 * MS, "s3", "s4"),
            (base + 20 * MS, "s4", "monitor"),
        ]
    expected += [
        (66 * MS, "monitor", "s1"),
        (71 * MS, "s1", "s2"),
        (76 * MS, "s2", "s3"),
        (81 * MS, "s3", "s4"),
        (86 * MS, "s4", "s1"),
        (91 * MS, "s1", "s2"),
        (96 * MS, "s2", "s3"),
    ]
    assert run.switches() == expected
    assert [(r[1], run.names[r[2]]) for r in run.of(ev.THREAD_EXIT)] == [(66 * MS, "monitor")]
    # the monitor's yields are not preemptions
    monitor = run.ids["monitor"]
    assert [r for r in run.of(ev.PREEMPT) if r[2] == monitor] == []


# ------------------------------------------------------------------------------- scenario 3


def test_s03_yield_returns_after_the_helpers_whole_slice(scenario: Scenario) -> None:
    """Each yield of the caller returns exactly 100 ms later (SCHED0011: 100 ms +- 2 ms).

    The caller yields at 0: RR refill, tail behind the helper; the helper spins its whole
    100 ms slice, goes to the tail, the caller runs at 100 ms, and so on. The fourth yield
    returns at 400 ms and the script ends (exit).
    """
    run = scenario("s03_scheduler_accuracy")
    ticks = run.mark_times("tick")
    assert ticks == [0, 100 * MS, 200 * MS, 300 * MS]
    for a, b in zip(ticks, ticks[1:], strict=False):
        assert b - a == 100 * MS
        assert abs((b - a) - 100 * MS) <= 2 * MS
    assert run.intervals("helper") == [
        (0, 100 * MS),
        (100 * MS, 200 * MS),
        (200 * MS, 300 * MS),
        (300 * MS, 400 * MS),
        (400 * MS, 450 * MS),
    ]
    assert run.cpu("caller") == 0  # marks and yields take no time
    assert [(r[1], run.names[r[2]]) for r in run.of(ev.THREAD_EXIT)] == [(400 * MS, "caller")]


# ------------------------------------------------------------------------------- scenario 4


def test_s04_one_periodic_yielder_counts_once_per_second(scenario: Scenario) -> None:
    """Budget 200 ms, period 1 s, loop {mark; yield}: marks at exactly 0, 1, 2, 3 s.

    At k s the head is {k s, 200 ms}; the yield charges all of it: single refill ->
    {(k+1) s, 200 ms}, not ready -> postponed; released at (k+1) s, it preempts the test
    thread. (The run is 3.5 s of simulated time but only a few dozen events.)
    """
    run = scenario("s04_one_periodic_yielder")
    assert run.mark_times("counter") == [0, 1 * S, 2 * S, 3 * S]
    assert run.postpones("yielder") == [(k * S, (k + 1) * S) for k in range(4)]
    expected = [(0, "idle", "yielder"), (0, "yielder", "test")]
    for k in range(1, 4):
        expected += [(k * S, "test", "yielder"), (k * S, "yielder", "test")]
    assert run.switches() == expected
    assert run.cpu("test") == 3500 * MS  # the yielder's runs take no time


# ------------------------------------------------------------------------------- scenario 5


def test_s05_two_periodic_yielders_rate_two_to_one(scenario: Scenario) -> None:
    """Budgets 99 ms, periods 100/200 ms: counter0 at 100k ms, counter1 at 200k ms.

    Each yield postpones its thread to head rTime + period (the head slid to the release time
    at switch-in), so each counts exactly once per period from t = 0. The test thread (below)
    computes 5 ms, then checks every 10 ms: checks at 15, 25, ..., 995 ms.
    """
    run = scenario("s05_two_periodic_yielders")
    assert run.mark_times("counter0") == [100 * k * MS for k in range(10)]
    assert run.mark_times("counter1") == [200 * k * MS for k in range(5)]
    counts = {"counter0": 0, "counter1": 0}
    checks = []
    for t, _, label, _ in run.marks(with_label=True):
        if label in counts:
            counts[label] += 1
        else:
            checks.append((t, counts["counter0"], counts["counter1"]))
    assert [c[0] for c in checks] == [(10 * k + 5) * MS for k in range(1, 100)]
    for t, c0, c1 in checks:
        assert (c0, c1) == (t // (100 * MS) + 1, t // (200 * MS) + 1)
        if t > 150 * MS:
            assert c0 > c1
    assert counts == {"counter0": 10, "counter1": 5}


# ------------------------------------------------------------------------------- scenario 6


def test_s06_three_periodic_yielders(scenario: Scenario) -> None:
    """Budgets 20 ms, periods 25/50/100 ms: when counter2 reaches 11, counter0 == 41 and
    counter1 == 21 (spec: >= 40 and >= 20).

    Every yielder counts at each multiple of its period from 0. At a common release the
    release queue holds them in postpone order (y2, y1, y0 at 100k ms); they are released in
    one kernel entry, which queues them LIFO: y0, y1, y2 run in that order, so at 1000 ms y0
    and y1 have counted before y2's 11th count.
    """
    run = scenario("s06_three_periodic_yielders")
    assert run.mark_times("counter0") == [25 * k * MS for k in range(41)]
    assert run.mark_times("counter1") == [50 * k * MS for k in range(21)]
    assert run.mark_times("counter2") == [100 * k * MS for k in range(11)]
    counts = {"counter0": 0, "counter1": 0, "counter2": 0}
    at_eleven = None
    for t, _, label, _ in run.marks(with_label=True):
        counts[label] += 1
        if label == "counter2" and counts[label] == 11:
            at_eleven = (t, counts["counter0"], counts["counter1"])
    assert at_eleven == (1000 * MS, 41, 21)
    assert at_eleven[1] >= 40 and at_eleven[2] >= 20
    at_1000 = [m[2] for m in run.marks(with_label=True) if m[0] == 1000 * MS]
    assert at_1000 == ["counter0", "counter1", "counter2"]


# ------------------------------------------------------------------------------- scenario 7


def test_s07_two_spinners_do_not_exceed_their_shares(scenario: Scenario) -> None:
    """fifty (100/200 ms) and thirty (100/300 ms) at one priority, test thread below.

    0: fifty {0,100}. 100: fifty used up -> {200,100}, postponed; thirty switched in, its
    head slides 0 -> 100: {100,100}. 200: thirty used up -> {400,100} (not 300: the slide);
    fifty released, runs to 300 -> {400,100}. 300-400: test. 400: thirty and fifty released
    in one entry (queued in that order) -> LIFO: fifty 400-500 -> {600}; thirty slides to 500,
    500-600 -> {800}; fifty 600-700 -> {800}; test 700-800; 800 repeats 400 with +400 ms.
    Over 1.2 s: fifty 600 ms (50%), thirty 300 ms (25% < 33.3%), test 300 ms (25% >= 17%).
    """
    run = scenario("s07_budget_overrun_two_spinners")
    fifty = [(0, 100), (200, 300), (400, 500), (600, 700), (800, 900), (1000, 1100)]
    thirty = [(100, 200), (500, 600), (900, 1000)]
    test = [(300, 400), (700, 800), (1100, 1200)]
    assert run.intervals("fifty") == [(a * MS, b * MS) for a, b in fifty]
    assert run.intervals("thirty") == [(a * MS, b * MS) for a, b in thirty]
    assert run.intervals("test") == [(a * MS, b * MS) for a, b in test]
    total = run.end
    assert total == 1200 * MS
    shares = {n: run.cpu(n) for n in ("fifty", "thirty", "test")}
    assert shares == {"fifty": 600 * MS, "thirty": 300 * MS, "test": 300 * MS}
    assert shares["fifty"] > shares["thirty"]
    assert shares["fifty"] / total <= 0.5
    assert shares["thirty"] / total <= 1 / 3
    assert shares["test"] / total >= 0.17
    # each ready time is the start of the run just ended plus the period (the head slid to
    # the start at switch-in): thirty ran [100, 200) and is ready at 400, not at 300
    assert run.postpones("fifty") == [(t * MS, (t + 100) * MS) for t in range(100, 1200, 200)]
    assert run.postpones("thirty") == [(t * MS, (t + 200) * MS) for t in (200, 600, 1000)]
    # the test thread marks at every 3 ms of its own CPU time c; c < 100 ms runs at wall
    # 300 + c, 100 <= c < 200 at 600 + c, 200 <= c < 300 at 900 + c
    cpu_marks = range(0, 300, 3)
    offsets = [300 if c < 100 else 600 if c < 200 else 900 for c in cpu_marks]
    wall = [(c + o) * MS for c, o in zip(cpu_marks, offsets, strict=True)]
    assert run.mark_times("progress") == wall


# ------------------------------------------------------------------------------- scenario 8


def test_s08_suspend_resume_cannot_add_budget(scenario: Scenario) -> None:
    """Budget 1 s, period 600 s: after 10 rounds of suspend/resume/yield, state stays 1.

    t=0: the counter marks and yields: its head {0,1s} is charged whole -> {600s,1s},
    postponed. The caller (below) computes 1 ms per round, suspends (release queue left,
    Inactive) and resumes it: the head is not ready, so schedContext_resume postpones it again
    (ready time 600 s); the counter never runs again. The caller exits at 10 ms.
    """
    run = scenario("s08_suspend_resume_no_budget")
    assert run.mark_times("state") == [0]
    assert run.mark_times("round") == [k * MS for k in range(1, 11)]
    assert run.postpones("counter") == [(0, 600 * S)] + [(k * MS, 600 * S) for k in range(1, 11)]
    assert run.switches() == [
        (0, "idle", "counter"),
        (0, "counter", "caller"),
        (10 * MS, "caller", "idle"),
    ]
    assert run.of(ev.SYSCALL_ERROR) == []
    assert run.of(ev.REFILL_RELEASE) == []


# ------------------------------------------------------------------------------- scenario 9


def test_s09_timeout_fault_every_two_ms(scenario: Scenario) -> None:
    """Spinner 1 ms / 2 ms, badge 1, tfep: faults at exactly 1, 3, ..., 19 ms, consumed 1 ms.

    The handler (higher priority) blocks in recv at 0; the spinner runs [0,1): at 1 ms its
    head is used up -> {2ms,1ms}, and with a timeout handler the fault is sent (badge 1,
    consumed 1 ms). The handler marks and replies 0: the spinner restarts but its head is not
    ready, so it is postponed (no second fault for a timeout) to 2 ms; [2,3) faults at 3 ms...
    """
    run = scenario("s09_timeout_fault_basics")
    spinner = run.ids["spinner"]
    faults = run.of(ev.TIMEOUT_FAULT)
    times = [(2 * k + 1) * MS for k in range(10)]
    assert [r[1] for r in faults] == times
    assert {r[2] for r in faults} == {spinner}
    assert len({r[3] for r in faults}) == 1  # always the spinner's own SC
    assert [(r[4], r[5]) for r in faults] == [(1, 1_000_000)] * 10  # badge 1, 1000 us
    assert run.marks("fault", with_label=True) == [(t, "handler", "fault", 0) for t in times]
    assert run.intervals("spinner") == [(2 * k * MS, (2 * k + 1) * MS) for k in range(10)]
    assert run.postpones("spinner") == [(t, t + MS) for t in times]
    assert run.cpu("handler") == 0


# ------------------------------------------------------------------------------ scenario 23


def test_s23_configure_errors(scenario: Scenario) -> None:
    """The errors of SchedControl_Configure, in seL4's check order, one step at a time.

    1 (5000us, 5000us) ok; 2 budget 0 < MIN_BUDGET: RangeError; 3 period 0 < MIN_BUDGET:
    RangeError; 4 budget > period: RangeError; 5 budget 1 us < MIN_BUDGET: RangeError; 6 budget
    20 us (= MIN_BUDGET) ok; 7 a notification: InvalidCapability (the argument checks pass).
    Step 6 on the runnable target keeps only its head, trimmed to 20 us (refill_update), period
    5 ms: once the configurer exits at 0, the target runs [5k ms, 5k ms + 20 us).
    """
    run = scenario("s23_configure_errors")
    config = run.ids["config"]
    step = 0
    errors: dict[int, list[str]] = {}
    for r in run.records:
        if r[0] == ev.MARK and r[2] == config and r[3] == "cfg":
            assert r[4] == step + 1
            step = r[4]
        elif r[0] == ev.SYSCALL_ERROR:
            assert (r[1], r[2], r[3]) == (0, config, "Configure")
            errors.setdefault(step, []).append(r[4])
    assert step == 8
    assert errors == {
        2: ["RangeError"],
        3: ["RangeError"],
        4: ["RangeError"],
        5: ["RangeError"],
        7: ["InvalidCapability"],
    }
    assert run.intervals("target") == [(5 * k * MS, 5 * k * MS + 20 * US) for k in range(4)]


# ------------------------------------------------------------------------------ scenario 24


def test_s24_domain_switch(scenario: Scenario) -> None:
    """Two 10 ms domains; X (domain 1, 3 ms / 5 ms) spins; Y, Y2 (domain 0, RR 3.5 ms) spin.

    Domain 1 at 10: X's head slides to 10: runs [10,13), postponed to 15, [15,18), postponed
    to 20; the refill matures at 20 as domain 0 starts (released into domain 1's queue, head),
    and X runs again at 30 with its head slid to 30. Domain 0: Y [0,3.5), Y2 [3.5,7), Y [7,10)
    with 0.5 ms of its slice left when the window ends: parked at the head, not charged, so Y
    runs first at 20 and its slice ends at 20.5; Y2 [20.5,24), Y [24,27.5), Y2 [27.5,30) with
    1 ms left -> Y2 [40,41), Y [41,44.5), Y2 [44.5,48), Y [48,50).
    """
    run = scenario("s24_domain_switch")
    assert [(r[1], r[2]) for r in run.of(ev.DOMAIN_SWITCH)] == [
        (10 * k * MS, k % 2) for k in range(6)
    ]
    x = [(10, 13), (15, 18), (30, 33), (35, 38), (50, 53), (55, 58)]
    assert run.intervals("X") == [(a * MS, b * MS) for a, b in x]
    # X runs only inside domain-1 windows [20j + 10, 20j + 20)
    for a, b in run.intervals("X"):
        assert (a // (10 * MS)) % 2 == 1 and (b - 1) // (10 * MS) == a // (10 * MS)
    # at most 3 ms of X in any 5 ms window (windows start every 100 us)
    start, busy = busiest_window(run.intervals("X"), 5 * MS, starts=range(0, 60 * MS, 100 * US))
    assert busy <= 3 * MS, start
    assert run.postpones("X") == [(t * MS, (t + 2) * MS) for t in (13, 18, 33, 38, 53, 58)]
    x_id = run.ids["X"]
    assert [r[1] for r in run.of(ev.REFILL_RELEASE) if r[2] == x_id] == [
        t * MS for t in (15, 20, 35, 40, 55)
    ]
    y = [(0, 3.5), (7, 10), (20, 20.5), (24, 27.5), (41, 44.5), (48, 50)]
    y2 = [(3.5, 7), (20.5, 24), (27.5, 30), (40, 41), (44.5, 48)]
    assert run.intervals("Y") == [(int(a * MS), int(b * MS)) for a, b in y]
    assert run.intervals("Y2") == [(int(a * MS), int(b * MS)) for a, b in y2]
    # slice ends of Y/Y2 (RR: never postponed); none at a domain end (10, 30, 50 ms)
    exhausted = [
        (r[1], run.names[r[2]]) for r in run.of(ev.BUDGET_EXHAUSTED) if run.names[r[2]] != "X"
    ]
    assert exhausted == [
        (int(t * MS), n)
        for t, n in [
            (3.5, "Y"),
            (7, "Y2"),
            (20.5, "Y"),
            (24, "Y2"),
            (27.5, "Y"),
            (41, "Y2"),
            (44.5, "Y"),
            (48, "Y2"),
        ]
    ]


# ------------------------------------------------------------------------------ CLI behaviour

DETERMINISM = SCENARIOS / "determinism.toml"


def test_same_description_gives_byte_identical_traces(tmp_path: Path, capsys) -> None:
    a = run_cli(DETERMINISM, tmp_path, capsys, out="a")
    b = run_cli(DETERMINISM, tmp_path, capsys, out="b")
    assert (tmp_path / "a.trace").read_bytes() == (tmp_path / "b.trace").read_bytes()
    assert a.summary == b.summary
    assert a.summary["duration"] == 200 * MS
    assert len(a.records) > 100  # a real workload, not an empty trace


def test_until_and_seed_override_the_description(tmp_path: Path, capsys) -> None:
    full = run_cli(DETERMINISM, tmp_path, capsys, out="full")
    assert full.header["seed"] == 1 and full.end == 200 * MS

    short = run_cli(DETERMINISM, tmp_path, capsys, "--until", "50ms", out="short")
    assert short.summary["duration"] == short.end == 50 * MS
    # the same run, cut at 50 ms: identical records before it, nothing after it (jobs whose
    # deadline has passed unfinished are reported as misses at the end time itself)
    assert [r for r in short.records if r[1] < 50 * MS] == [
        r for r in full.records if r[1] < 50 * MS
    ]
    assert all(r[0] == ev.DEADLINE_MISS for r in short.records if r[1] >= 50 * MS)
    assert max(r[1] for r in short.records) <= 50 * MS

    same_seed = run_cli(DETERMINISM, tmp_path, capsys, "--seed", "1", out="seed1")
    assert (tmp_path / "seed1.trace").read_bytes() == (tmp_path / "full.trace").read_bytes()
    other = run_cli(DETERMINISM, tmp_path, capsys, "--seed", "2", out="seed2")
    assert other.header["seed"] == 2
    assert other.header["system"]["seed"] == 2
    assert other.end == 200 * MS
    assert other.records != full.records  # the random execution times changed
    assert same_seed.summary == full.summary != other.summary


def test_until_is_the_requested_duration_in_the_header(tmp_path: Path, capsys) -> None:
    short = run_cli(DETERMINISM, tmp_path, capsys, "--until", "50ms", out="short")
    assert short.header["duration"] == 50 * MS
