"""Percentiles, std, histograms, filters and tardiness of summarise() on hand-made traces."""

from __future__ import annotations

from pathlib import Path

import pytest

from sporadic.errors import TraceFormatError
from sporadic.records import DEADLINE_MISS, JOB_END, JOB_RELEASE, JOB_START, SWITCH
from sporadic.traces import TraceWriter, summarise
from sporadic.traces.metrics import histograms, render_histograms

IDLE, CTL, SENSOR = 0, 1, 2
HEADER = {
    "system": {"name": "metrics"},
    "threads": [
        {"id": IDLE, "name": "idle"},
        {"id": CTL, "name": "ctl"},
        {"id": SENSOR, "name": "sensor"},
    ],
    "scs": [{"id": 4, "name": "ctl", "home": CTL}, {"id": 7, "name": "sensor", "home": SENSOR}],
    "seed": 1,
}
PERIOD = 10_000


def write(path: Path, records: list[tuple], end: int) -> Path:
    with TraceWriter(path, HEADER) as writer:
        writer.emit_batch(records)
        writer.close(end)
    return path


def jobs(thread: int, latencies: list[int], extra: int = 1_000) -> list[tuple]:
    """One job a period per latency; each ends ``extra`` ns after its start."""
    records = []
    for job, lat in enumerate(latencies):
        release = job * PERIOD
        records += [
            (JOB_RELEASE, release, thread, job, release + 5_000),
            (JOB_START, release + lat, thread, job),
            (JOB_END, release + lat + extra, thread, job),
        ]
    return records


def shuffled(n: int) -> list[int]:
    """1..n in a scrambled order (7919 is prime, so i*7919 % n is a permutation)."""
    return [(i * 7919) % n + 1 for i in range(n)]


@pytest.fixture
def thousand(tmp_path: Path) -> Path:
    """ctl: 1000 jobs with latencies 1..1000 ns and responses 1001..2000 ns."""
    return write(tmp_path / "run.trace", jobs(CTL, shuffled(1000)), end=1000 * PERIOD)


def test_thousand_latencies_give_nearest_rank_p90_p99_p999(thousand: Path) -> None:
    ctl = summarise(thousand)["tasks"]["ctl"]
    # mean 500.5 rounds half to even; population std of 1..1000 = sqrt((1000**2 - 1) / 12)
    assert ctl["latency"] == {
        "min": 1,
        "mean": 500,
        "p50": 500,
        "p90": 900,
        "p99": 990,
        "p999": 999,
        "max": 1000,
        "std": 289,
    }
    assert ctl["response"]["p90"] == 1900
    assert ctl["response"]["p999"] == 1999
    assert ctl["response"]["std"] == 289
    assert ctl["latency_std"] == 289  # the old keys stay
    assert ctl["latency_jitter"] == 999


def test_single_sample_percentiles_are_that_sample(tmp_path: Path) -> None:
    ctl = summarise(write(tmp_path / "t", jobs(CTL, [42]), end=PERIOD))["tasks"]["ctl"]
    assert ctl["latency"] == {
        "min": 42,
        "mean": 42,
        "p50": 42,
        "p90": 42,
        "p99": 42,
        "p999": 42,
        "max": 42,
        "std": 0,
    }


def test_histogram_buckets_and_overflow_add_up_to_jobs(thousand: Path) -> None:
    summary = summarise(thousand, histogram_ns=100, histogram_max=5)
    lat = summary["histograms"]["ctl"]["latency"]
    # [0,100): 1..99; then 100 a bucket; 500..1000 (501 samples) at or above 5*100
    assert lat == {"bucket_ns": 100, "counts": [99, 100, 100, 100, 100], "overflow": 501}
    resp = summary["histograms"]["ctl"]["response"]
    assert resp == {"bucket_ns": 100, "counts": [0, 0, 0, 0, 0], "overflow": 1000}
    for part in (lat, resp):
        assert sum(part["counts"]) + part["overflow"] == summary["tasks"]["ctl"]["jobs"] == 1000


def test_histogram_defaults_to_100_buckets_and_only_when_asked(thousand: Path) -> None:
    assert "histograms" not in summarise(thousand)
    lat = histograms(thousand, 10)["ctl"]["latency"]
    assert len(lat["counts"]) == 100
    assert lat["counts"][0] == 9  # 1..9
    assert lat["counts"][99] == 10  # 990..999
    assert lat["overflow"] == 1  # 1000


def test_histogram_puts_negative_samples_in_bucket_zero(tmp_path: Path) -> None:
    records = [(JOB_RELEASE, 100, CTL, 0, 500), (JOB_START, 50, CTL, 0)]
    hist = histograms(write(tmp_path / "t", records, end=200), 10, 3)["ctl"]
    assert hist["latency"] == {"bucket_ns": 10, "counts": [1, 0, 0], "overflow": 0}
    assert hist["response"] == {"bucket_ns": 10, "counts": [0, 0, 0], "overflow": 0}


@pytest.mark.parametrize(("width", "count"), [(0, 10), (-5, 10), (10, 0), (1.5, 10)])
def test_histogram_refuses_bad_width_or_count(thousand: Path, width: float, count: int) -> None:
    with pytest.raises(ValueError, match="histogram bucket"):
        summarise(thousand, histogram_ns=width, histogram_max=count)


def test_render_histograms_prints_bucket_starts_and_counts(tmp_path: Path) -> None:
    trace = write(tmp_path / "t", jobs(CTL, [5, 15, 15, 40], extra=10), end=4 * PERIOD)
    summary = summarise(trace, histogram_ns=10, histogram_max=3)
    text = render_histograms(summary["histograms"])
    assert text == (
        "# ctl: bucket 10 ns\n"
        "#     start_ns    latency   response\n"
        "             0          1          0\n"
        "            10          2          1\n"
        "            20          0          2\n"
        "#     overflow          1          1\n"
        "#        total          4          4\n"
    )
    assert render_histograms(summary) == text
    assert render_histograms(summarise(trace)) == ""


def test_window_keeps_jobs_released_inside_it(thousand: Path) -> None:
    # releases at 0, 10_000, ...: [100_000, 150_000) holds jobs 10..14, latencies below
    lat = [(i * 7919) % 1000 + 1 for i in range(10, 15)]
    summary = summarise(thousand, window=(100_000, 150_000))
    ctl = summary["tasks"]["ctl"]
    assert ctl["jobs"] == 5
    assert ctl["latency"]["min"] == min(lat)
    assert ctl["latency"]["max"] == max(lat)
    assert ctl["response"]["max"] == max(lat) + 1000


def test_window_counts_only_misses_of_its_jobs(tmp_path: Path) -> None:
    records = jobs(CTL, [100, 100, 100], extra=6_000)  # every job ends 1100 ns late
    for job in range(3):
        end = job * PERIOD + 6_100
        at = records.index((JOB_END, end, CTL, job)) + 1
        records.insert(at, (DEADLINE_MISS, end, CTL, job, job * PERIOD + 5_000))
    trace = write(tmp_path / "t", records, end=3 * PERIOD)
    assert summarise(trace)["tasks"]["ctl"]["misses"] == 3
    windowed = summarise(trace, window=(PERIOD, 2 * PERIOD))["tasks"]["ctl"]
    assert windowed["jobs"] == 1
    assert windowed["misses"] == 1
    assert windowed["tardiness"] == {"count": 1, "max": 1_100, "mean": 1_100}


def test_window_must_be_ordered_ints(thousand: Path) -> None:
    with pytest.raises(ValueError, match="window"):
        summarise(thousand, window=(10, 5))


def test_tasks_filter_keeps_only_named_tasks(tmp_path: Path) -> None:
    records = jobs(CTL, [10, 20]) + jobs(SENSOR, [30])
    trace = write(tmp_path / "t", records, end=2 * PERIOD)
    assert list(summarise(trace)["tasks"]) == ["ctl", "sensor"]
    summary = summarise(trace, tasks={"sensor", "nobody"}, histogram_ns=10, histogram_max=4)
    assert list(summary["tasks"]) == ["sensor"]
    assert summary["tasks"]["sensor"]["latency"]["max"] == 30
    assert list(summary["histograms"]) == ["sensor"]


def test_tardiness_of_late_jobs_either_record_order(tmp_path: Path) -> None:
    records = [
        # job 0: the simulator's order, the miss just after the end (400 late)
        (JOB_RELEASE, 0, CTL, 0, 1_000),
        (SWITCH, 0, IDLE, CTL, 4),
        (JOB_START, 0, CTL, 0),
        (JOB_END, 1_400, CTL, 0),
        (DEADLINE_MISS, 1_400, CTL, 0, 1_000),
        # job 1: the miss at the deadline, the end later (700 late)
        (JOB_RELEASE, 2_000, CTL, 1, 3_000),
        (JOB_START, 2_000, CTL, 1),
        (DEADLINE_MISS, 3_000, CTL, 1, 3_000),
        (JOB_END, 3_700, CTL, 1),
        # job 2: on time; job 3: missed, never ended (no tardiness)
        (JOB_RELEASE, 4_000, CTL, 2, 5_000),
        (JOB_START, 4_000, CTL, 2),
        (JOB_END, 4_500, CTL, 2),
        (JOB_RELEASE, 6_000, CTL, 3, 7_000),
        (DEADLINE_MISS, 7_000, CTL, 3, 7_000),
    ]
    ctl = summarise(write(tmp_path / "t", records, end=8_000))["tasks"]["ctl"]
    assert ctl["misses"] == 3
    assert ctl["tardiness"] == {"count": 2, "max": 700, "mean": 550}


def test_tardiness_beyond_64_bits_is_refused(tmp_path: Path) -> None:
    records = jobs(CTL, [10]) + [(DEADLINE_MISS, 1_010, CTL, 0, -(2**63))]
    path = write(tmp_path / "far.trace", records, end=PERIOD)

    with pytest.raises(TraceFormatError, match=f"tardiness of {1_010 + 2**63} ns does not fit"):
        summarise(path)
