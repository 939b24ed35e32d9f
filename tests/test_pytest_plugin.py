"""The ``sporadic`` pytest fixture, run by an inner pytest (pytester): passing and failing
timing assertions with their exact messages, the copyable example, and a cheap import."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from sporadic.pytest_plugin import Job, Stats, UnknownTaskError, _listed, _ms

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
VEHICLE = ROOT / "examples" / "vehicle"
EXAMPLE = ROOT / "examples" / "regression" / "test_deadlines.py"


def plugin_args() -> tuple[str, ...]:
    """Load the plugin by its module until the ``pytest11`` entry point is installed; with it,
    pytest loads it already, and a second ``-p`` of the module would register it twice. This
    module imported the plugin before the inner pytest could mark it for assertion rewriting,
    which it does not need (it raises its AssertionErrors itself): that warning is silenced.
    The inner run leaves faulthandler alone: turning it off and on again at its end would replace
    the signal handlers wasmtime catches traps with, and a later trap would kill this process."""
    quiet = ("-p", "no:faulthandler")
    if entry_points(group="pytest11", name="sporadic"):
        return quiet
    return (
        *quiet,
        "-p",
        "sporadic.pytest_plugin",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    )


def test_fixture_runs_a_description_and_passes_its_bounds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        def test_control(sporadic):
            run = sporadic.run({str(VEHICLE / "vehicle.toml")!r}, until="100ms")
            run.assert_no_misses("control")
            run.assert_latency("control", p99_below="400us", max_below=600_000)
            run.assert_response("control", max_below="1ms")
            control = run.tasks["control"]
            assert (control.jobs, control.misses) == (100, 0)
            assert (control.latency.p99, control.response.max) == (300_000, 675_113)
            assert run.duration == 100_000_000
            assert run.trace.name == "vehicle-1.trace" and run.trace.exists()
        """
    )
    result = pytester.runpytest(*plugin_args())
    result.assert_outcomes(passed=1)


def test_fixture_failures_name_the_task_and_list_its_jobs(pytester: pytest.Pytester) -> None:
    unbudgeted = str(VEHICLE / "vehicle-unbudgeted.toml")
    pytester.makepyfile(
        f"""
        def test_misses(sporadic):
            sporadic.run({unbudgeted!r}, until="100ms").assert_no_misses("fusion", "control")

        def test_latency(sporadic):
            run = sporadic.run({unbudgeted!r}, until="100ms")
            run.assert_latency("control", p99_below="1ms", max_below="3ms")
        """
    )
    result = pytester.runpytest(*plugin_args())
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: control missed 7 of 100 deadlines:",
            "E         job 81 released at 80ms, deadline 81ms: response 4.16ms",
            "E         job 82 released at 81ms, deadline 82ms: response 3.34ms",
            "E         job 83 released at 82ms, deadline 83ms: response 3.39ms",
            "E         job 84 released at 83ms, deadline 84ms: response 2.63ms",
            "E         job 85 released at 84ms, deadline 85ms: response 2.37ms",
            "E         job 86 released at 85ms, deadline 86ms: response 1.61ms",
            "E         job 87 released at 86ms, deadline 87ms: response 1.34ms",
            "E       trace: */test_misses0/vehicle-unbudgeted-1.trace",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: control: latency p99 is 3.16ms, not below 1ms",
            "E       control: latency max is 4ms, not below 3ms",
            "E       6 of 100 jobs have a latency of 1ms or more:",
            "E         job 81 released at 80ms: latency 4ms",
            "E         job 82 released at 81ms: latency 3.16ms",
            "E         job 83 released at 82ms: latency 2.34ms",
            "E         job 84 released at 83ms: latency 2.39ms",
            "E         job 85 released at 84ms: latency 1.63ms",
            "E         job 86 released at 85ms: latency 1.37ms",
            "E       trace: */test_latency0/vehicle-unbudgeted-1.trace",
        ],
        consecutive=True,
    )


def test_copyable_example_passes(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(str(EXAMPLE), *plugin_args())
    result.assert_outcomes(passed=6)


def test_listing_stops_at_ten_jobs_and_counts_the_rest() -> None:
    lines = [f"job {n}" for n in range(1, 14)]
    assert _listed(lines) == [f"  job {n}" for n in range(1, 11)] + ["  ... and 3 more"]
    assert _listed(lines[:10]) == [f"  job {n}" for n in range(1, 11)]


def test_release_times_print_exactly_in_ms() -> None:
    assert [_ms(t) for t in (0, 80_000_000, 1_234_567, 2_000_000_500)] == [
        "0ms",
        "80ms",
        "1.234567ms",
        "2000.0005ms",
    ]


def test_stats_give_summary_fields_as_attributes_and_say_which_exist() -> None:
    stats = Stats({"jobs": 3, "latency": {"p99": 120, "max": None}})
    assert (stats.jobs, stats.latency.p99, stats.latency.max, stats["latency"]["p99"]) == (
        3,
        120,
        None,
        120,
    )
    with pytest.raises(AttributeError, match="no 'p95': one of p99, max"):
        _ = stats.latency.p95


def test_job_latency_and_response_are_none_until_it_starts_and_ends() -> None:
    job = Job(number=4, release=1_000, deadline=2_000, start=1_300)
    assert (job.latency, job.response) == (300, None)


def test_unknown_task_names_the_tasks_there_are(tmp_path: Path) -> None:
    from sporadic.pytest_plugin import RunResult

    result = RunResult(tmp_path / "x.trace", {"duration": 0, "tasks": {"a": {}, "b": {}}})
    with pytest.raises(UnknownTaskError, match="no task 'c' in .*x.trace; its tasks: a, b"):
        result.assert_no_misses("c")
    with pytest.raises(UnknownTaskError, match="no task 'd' in .*x.trace; its tasks: a, b"):
        _ = result.tasks["d"]
    assert "a" in result.tasks and result.tasks.get("d") is None


def test_plugin_import_pulls_in_nothing_heavy() -> None:
    code = (
        "import sys, pytest; before = set(sys.modules); import sporadic.pytest_plugin; "
        "print(sorted(set(sys.modules) - before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['sporadic', 'sporadic.pytest_plugin', 'sporadic.version']"
