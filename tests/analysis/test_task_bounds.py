"""``task_bounds``: textbook response times, blocking by protected calls into passive servers,
jitter along notify chains, busy periods of several jobs, and what budgets change; each bound
checked against the simulation where the simulation can reach it."""

from __future__ import annotations

from math import lcm

from sporadic.analysis.bounds import task_bounds
from sporadic.analysis.fixed_priority import Interferer, Job, response_time
from sporadic.description import load_text
from sporadic.simulation import Simulation, load
from sporadic.traces import summarise
from tests.helpers import MS, ROOT, US


def _fixed_priority(specs: list[tuple[int, int, int]]) -> list[int | None]:
    """Response times of tasks ``(C, T, D)`` listed highest priority first (bare recurrence)."""
    out = []
    for i, (c, t, d) in enumerate(specs):
        above = [Interferer((Job(hc, ht),)) for hc, ht, _ in specs[:i]]
        out.append(response_time(c, 0, above, t, d))
    return out


def _partitions(specs: list[tuple[str, int, int, int]], unit: int, duration: int) -> str:
    """Partitions ``(name, C, T, D)`` in ``unit``s, highest priority first, round-robin SCs."""
    parts = [f'[system]\nname = "textbook"\nduration = "{duration * unit}ns"\n']
    for rank, (name, c, t, d) in enumerate(specs):
        parts.append(
            f'[[partition]]\nname = "{name}"\npriority = {200 - rank}\n'
            f'budget = "{t * unit}ns"\nperiod = "{t * unit}ns"\n'
            f'release = {{ period = "{t * unit}ns", deadline = "{d * unit}ns" }}\n'
            f'job = {{ compute = "{c * unit}ns" }}\n'
        )
    return "\n".join(parts)


def _simulated(text: str, tmp_path) -> dict:
    trace = tmp_path / "t.trace"
    Simulation(load_text(text), trace).run()
    return summarise(trace)["tasks"]


BUTTAZZO_DM = [("t1", 1, 4, 3), ("t2", 1, 5, 4), ("t3", 2, 6, 5), ("t4", 1, 11, 10)]


def test_buttazzo_deadline_monotonic_example_gives_the_published_response_times(tmp_path):
    """Buttazzo, *Hard Real-Time Computing Systems*, 3rd ed. (Springer 2011), section 4.5.2:
    the deadline-monotonic task set C = (1, 1, 2, 1), T = (4, 5, 6, 11), D = (3, 4, 5, 10). The
    book's response-time test iterates tau4 as 5, 6, 7, 9, 10, 10, so R4 = 10 <= D4 = 10; the
    same recurrence gives R1 = 1, R2 = 2, R3 = 4. The simulation of the synchronous release
    reaches each bound exactly."""
    specs = [(c, t, d) for _, c, t, d in BUTTAZZO_DM]
    assert _fixed_priority(specs) == [1, 2, 4, 10]
    text = _partitions(BUTTAZZO_DM, MS, lcm(4, 5, 6, 11))
    bounds = task_bounds(load_text(text))
    assert {n: b["bound"] for n, b in bounds.items()} == {
        "t1": 1 * MS,
        "t2": 2 * MS,
        "t3": 4 * MS,
        "t4": 10 * MS,
    }
    assert all(b["schedulable"] is True for b in bounds.values())
    simulated = _simulated(text, tmp_path)
    assert {n: simulated[n]["response"]["max"] for n in bounds} == {
        n: b["bound"] for n, b in bounds.items()
    }


def test_buttazzo_exercise_4_3_solution_response_times():
    """Buttazzo, *Hard Real-Time Computing Systems*, 3rd ed., solution to exercise 4.3: rate
    monotonic, C = (1, 2, 3), T1 = 4, T2 = 6, deadlines equal to periods; R1 = 1, R2 = 3, and
    R3 iterates 6, 7, 9, 10, 10, so R3 = 10 (tau3 has the lowest priority: any period of 10 or
    more gives the same)."""
    assert _fixed_priority([(1, 4, 4), (2, 6, 6), (3, 10, 10)]) == [1, 3, 10]


def test_burns_wellings_task_set_d_response_times(tmp_path):
    """Burns and Wellings, *Real-Time Systems and Programming Languages*, 4th ed. (2009),
    chapter 11, task set D: T = (7, 12, 20), C = (3, 3, 5), rate monotonic; the response-time
    analysis gives R = 3, 6 and 20 (tau_c's iteration: 5, 11, 14, 17, 20, 20)."""
    specs = [("a", 3, 7, 7), ("b", 3, 12, 12), ("c", 5, 20, 20)]
    text = _partitions(specs, MS, lcm(7, 12, 20))
    bounds = task_bounds(load_text(text))
    assert [b["bound"] for b in bounds.values()] == [3 * MS, 6 * MS, 20 * MS]
    simulated = _simulated(text, tmp_path)
    assert [simulated[n]["response"]["max"] for n in bounds] == [3 * MS, 6 * MS, 20 * MS]


def test_burns_wellings_task_set_a_misses_its_first_deadline(tmp_path):
    """Burns and Wellings, 4th ed., chapter 11, task set A: (T, C) = (50, 12), (40, 10),
    (30, 10), utilisation 0.82 above the bound for three tasks; the book's time line shows task
    a missing its deadline at 50. Response times: c 10, b 20, a 52 > 50."""
    specs = [("c", 10, 30, 30), ("b", 10, 40, 40), ("a", 12, 50, 50)]
    bounds = task_bounds(load_text(_partitions(specs, MS, 600)))
    assert [bounds[n]["bound"] for n in ("c", "b", "a")] == [10 * MS, 20 * MS, None]
    assert bounds["a"]["schedulable"] is False
    assert bounds["a"]["note"].startswith("misses")
    # with the deadline moved to 52 the busy window fits: R = 52 exactly, as simulated
    text = _partitions([*specs[:2], ("a", 12, 50, 60)], MS, 600)
    assert task_bounds(load_text(text))["a"]["bound"] == 52 * MS
    assert _simulated(text, tmp_path)["a"]["response"]["max"] == 52 * MS


def test_a_busy_period_of_two_jobs_is_followed_past_the_period(tmp_path):
    """C = (3, 3), T = (5, 8), D2 = 10: job 0 of the low task completes at 9 > T = 8, so job 1
    (released at 8) is in the same busy period: w1 = 15, R1 = 15 - 8 = 7; R = max(9, 7) = 9."""
    assert _fixed_priority([(3, 5, 5), (3, 8, 10)]) == [3, 9]
    text = _partitions([("h", 3, 5, 5), ("l", 3, 8, 10)], MS, 2 * lcm(5, 8))
    assert task_bounds(load_text(text))["l"]["bound"] == 9 * MS
    assert _simulated(text, tmp_path)["l"]["response"]["max"] == 9 * MS


PASSIVE = """
[system]
name = "blocking"
duration = "40ms"

[[protection_domain]]
name = "server"          # passive: runs at 200 on its caller's SC
priority = {server}
budget = "10ms"
period = "10ms"
passive = true
init = []
protected = [ {{ compute = "3ms" }} ]

[[protection_domain]]
name = "high"
priority = 150
budget = "10ms"
period = "10ms"
deadline = "10ms"
init = []
irq = [ {{ id = 0, period = "10ms", offset = "10us" }} ]
notified = {{ 0 = [ {{ compute = "1ms" }} ] }}

[[protection_domain]]
name = "middle"
priority = 120
budget = "10ms"
period = "10ms"
deadline = "10ms"
init = []
irq = [ {{ id = 0, period = "10ms", offset = "10us" }} ]
notified = {{ 0 = [ {{ compute = "2ms" }} ] }}

[[protection_domain]]
name = "low"             # calls the server at once, then computes 1 ms of its own
priority = 100
budget = "10ms"
period = "10ms"
deadline = "10ms"
init = []
irq = [ {{ id = 0, period = "10ms" }} ]
notified = {{ 0 = [ {{ ppcall = 1 }}, {{ compute = "1ms" }} ] }}

[[channel]]
ends = [ {{ pd = "low", id = 1, pp = true }}, {{ pd = "server", id = 0 }} ]
"""


def test_protected_call_into_a_passive_server_blocks_higher_tasks(tmp_path):
    """The low PD's protected call runs the server for 3 ms at priority 200: high (150) and
    middle (120), released 10 us later, wait for it. Blocking 3 ms: high 1 + 3 = 4 ms, middle
    2 + 3 + 1 = 6 ms; low pays the server's 3 ms in its own WCET: 4 + 1 + 2 = 7 ms. The
    simulation shows the blocking: 10 us less than each bound, the offset the analysis drops."""
    text = PASSIVE.format(server=200)
    bounds = task_bounds(load_text(text))
    assert bounds == {
        "high": _row(1 * MS, 4 * MS),
        "middle": _row(2 * MS, 6 * MS),
        "low": _row(4 * MS, 7 * MS),
    }
    simulated = _simulated(text, tmp_path)
    assert simulated["high"]["response"]["max"] == 4 * MS - 10 * US
    assert simulated["middle"]["response"]["max"] == 6 * MS - 10 * US
    assert simulated["low"]["response"]["max"] == 7 * MS


def test_a_server_below_a_task_does_not_block_it():
    """With the server at 130 (still above its caller), high (150) preempts it: no blocking;
    middle (120) is still blocked."""
    bounds = task_bounds(load_text(PASSIVE.format(server=130)))
    assert bounds["high"]["bound"] == 1 * MS
    assert bounds["middle"]["bound"] == 6 * MS


def _row(wcet: int, bound: int) -> dict:
    return {
        "wcet": wcet,
        "bound": bound,
        "bound_with_budgets": bound,
        "schedulable": True,
        "note": "",
    }


def test_pipeline_notify_chain_bounds_hold_in_simulation(tmp_path):
    """examples/pipeline: sensor 80 us + init handlers at or above it (store, sensor: 20) +
    blocking by a protected call into the store (60) = 160 us; filter 310 (with the store's
    60) + 60 + inits 30 + sensor 80 = 480 us, notified with jitter 160 - 80 = 80 us; actuator
    120 + inits 40 + sensor 80 + filter 310 = 550 us. Its SCs are constant-bandwidth with
    budgets below bound + WCET, so the budget-aware analysis cannot vouch for them."""
    system = load(ROOT / "examples" / "pipeline" / "pipeline.toml")
    bounds = task_bounds(system)
    assert {n: b["bound"] for n, b in bounds.items()} == {
        "sensor": 160 * US,
        "filter": 480 * US,
        "actuator": 550 * US,
    }
    assert [b["schedulable"] for b in bounds.values()] == [False, None, None]
    assert bounds["filter"]["note"] == "sensor, which notifies it, has no bound"
    trace = tmp_path / "p.trace"
    Simulation(system, trace).run()
    tasks = summarise(trace)["tasks"]
    for name, b in bounds.items():
        assert tasks[name]["response"]["max"] <= b["bound"], name


def _one(budget: str, sporadic: bool, extra: str = "") -> dict:
    text = f"""
{extra}
[[partition]]
name = "hi"
priority = 20
budget = "1ms"
period = "1ms"
release = {{ period = "1ms" }}
job = {{ compute = "300us" }}
[[partition]]
name = "lo"
priority = 10
budget = "{budget}"
period = "2ms"
sporadic = {str(sporadic).lower()}
release = {{ period = "2ms" }}
job = {{ compute = "500us" }}
"""
    return task_bounds(load_text(text))["lo"]


def test_a_budget_needs_min_budget_of_headroom_over_the_wcet():
    """lo: C = 500 us under hi (300 us every 1 ms): R = 800 us. With a sporadic SC of 500 us
    the kernel can throttle it (its refill falls below MIN_BUDGET before the job ends); with
    520 us it cannot."""
    assert _one("500us", True) == {
        "wcet": 500 * US,
        "bound": 800 * US,
        "bound_with_budgets": None,
        "schedulable": False,
        "note": "budget 500000 ns is below WCET + MIN_BUDGET (500000 + 20000 ns): the kernel "
        "can throttle a job",
    }
    assert _one("520us", True)["bound_with_budgets"] == 800 * US
    assert _one("520us", True)["schedulable"] is True


def test_a_constant_bandwidth_budget_must_cover_bound_plus_wcet():
    """Without the sporadic flag refills come back a period after each switch-in: 520 us is
    not enough (800 + 500 = 1300 us is needed), 1300 us is."""
    assert _one("520us", False)["schedulable"] is False
    assert "constant-bandwidth" in _one("520us", False)["note"]
    assert _one("1300us", False)["bound_with_budgets"] == 800 * US


def test_kernel_costs_make_the_verdict_unknown():
    lo = _one("520us", True, '[kernel]\nentry_cost = "1us"')
    assert (lo["bound"], lo["schedulable"]) == (800 * US, None)
    assert lo["note"] == "kernel costs (entry_cost) not modelled"


def test_vehicle_budgets_bound_interference_but_not_constant_bandwidth_tasks():
    """The vehicle's control loop: classic analysis sees fusion's 4 ms and misses; with budgets
    its busy window is 850 us, but its own constant-bandwidth SC (500 us) is below 850 + 250."""
    bounds = task_bounds(load(ROOT / "examples" / "vehicle" / "vehicle.toml"))
    control = bounds["control"]
    assert (control["wcet"], control["bound"], control["bound_with_budgets"]) == (
        250 * US,
        None,
        None,
    )
    assert control["note"].startswith("constant-bandwidth SC (sporadic = false): budget 500000")
    assert "850000 + 250000" in control["note"]
    assert bounds["fusion"]["bound"] == 4 * MS


def test_a_caller_out_of_budget_inside_a_server_leaves_its_other_callers_unbounded():
    """A second caller of the server with a throttling SC could exhaust its budget inside the
    server; the high task, which calls the same server, then waits for that refill."""
    text = PASSIVE.format(server=200).replace(
        'notified = { 0 = [ { compute = "1ms" } ] }',
        'notified = { 0 = [ { compute = "1ms" }, { ppcall = 1 } ] }',
    )
    text = text.replace(
        'name = "low"             # calls the server at once, then computes 1 ms of its own\n'
        'priority = 100\nbudget = "10ms"',
        'name = "low"\npriority = 100\nbudget = "5ms"',
    )
    text += "[[channel]]\n"
    text += 'ends = [ { pd = "high", id = 1, pp = true }, { pd = "server", id = 1 } ]\n'
    high = task_bounds(load_text(text))["high"]
    assert high["bound"] == 7 * MS  # 1 + its own call 3 + blocking 3
    assert high["bound_with_budgets"] is None
    assert high["note"] == "server 'server' can be held by 'low' out of budget"


TWO_SOURCES = """
[system]
name = "coalesce"
duration = "700ms"

[[protection_domain]]
name = "a"
priority = 150
budget = "5ms"
period = "5ms"
init = []
irq = [ { id = 0, period = "5ms" } ]
notified = { 0 = [ { compute = "1ms" }, { notify = 1 } ] }

[[protection_domain]]
name = "b"
priority = 100
budget = "7ms"
period = "7ms"
deadline = "7ms"
init = []
irq = [ { id = 0, period = "7ms", offset = "1ms" } ]
notified = { 0 = [ { compute = "1ms" } ], 1 = [ { compute = "500us" } ] }

[[channel]]
ends = [ { pd = "a", id = 1 }, { pd = "b", id = 1 } ]
"""


def test_a_pd_with_two_sources_counts_coalesced_runs_from_the_first_event(tmp_path):
    """b handles its own 7 ms interrupt (1 ms) and a's notify every 5 ms (500 us, jitter
    1 ms - 1 ms = 0). Each source alone: irq 1 + a 1 + the other handler 0.5 = 2.5 ms; notify
    0.5 + 1 + 1 = 2.5 ms. Both bits can wait in one notification word, and each run counts from
    the word's first event, up to one bound earlier: 2 x 2.5 = 5 ms for b."""
    text = TWO_SOURCES
    bounds = task_bounds(load_text(text))
    assert bounds["a"]["bound"] == 1 * MS
    assert bounds["b"] == _row(1 * MS, 5 * MS)
    simulated = _simulated(text, tmp_path)
    assert simulated["b"]["response"]["max"] <= 5 * MS
    assert simulated["b"]["misses"] == 0
