"""Statistics of the summary's per-job samples: percentile blocks, tardiness and histograms.

Kept apart from the streaming pass (summary.py) so that the pass stays one tight loop: what is
here runs once per task at the end. A block of fewer than NUMPY_FROM samples is sorted by
Python (a small run's report never imports numpy); a larger one by numpy, over the int64 array,
never a Python object per sample. Both give the same integers: percentiles are order
statistics, and the mean and the standard deviation are computed exactly.
"""

from __future__ import annotations

import os
from array import array
from fractions import Fraction
from math import isqrt
from operator import mul
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

NUMPY_FROM = 50_000  # samples in a block from which numpy sorts them (its import costs more below)

# The summary's latency and response blocks; percentiles are nearest-rank, in per mille so
# that the 99.9th is exact in integers.
PERCENTILES = (("p50", 500), ("p90", 900), ("p99", 990), ("p999", 999))
STAT_KEYS = ("min", "mean", "p50", "p90", "p99", "p999", "max", "std")
TARDINESS_KEYS = ("count", "max", "mean")


def nearest_rank(ordered: Any, per_mille: int) -> int:
    """The smallest sample with at least ``per_mille``/1000 of the samples at or below it."""
    rank = -(-per_mille * len(ordered) // 1000)
    return int(ordered[max(rank, 1) - 1])


def _mean(samples: array) -> int:
    """The mean rounded to the nearest ns, exact however large the sum (Python ints)."""
    return round(Fraction(sum(samples), len(samples)))


def population_std(samples: array, total: int | None = None) -> int:
    """The population standard deviation rounded to the nearest ns (halves to even, as
    ``round``), exact: from integer sums, whatever the samples' size. ``total``: their sum,
    when the caller has it."""
    n = len(samples)
    if total is None:
        total = sum(samples)
    spread = n * sum(map(mul, samples, samples)) - total * total  # n^2 times the variance
    root = isqrt(4 * spread)  # floor(2 sqrt(spread)): std = sqrt(spread) / n
    std, rest = divmod(root + n, 2 * n)
    if rest == 0 and root * root == 4 * spread and std % 2:  # exactly half-way: to even
        std -= 1
    return std


def _ordered(samples: array) -> Any:
    """The samples sorted: a list, or a numpy array from NUMPY_FROM samples."""
    if len(samples) < NUMPY_FROM:
        return sorted(samples)
    import numpy as np

    return np.sort(np.frombuffer(samples, dtype=np.int64))


def stats(samples: array) -> tuple[dict[str, int | None], int | None, int | None]:
    """(the block of STAT_KEYS, jitter, population std); all None without samples."""
    if not samples:
        return dict.fromkeys(STAT_KEYS), None, None
    ordered = _ordered(samples)
    total = sum(samples)
    std = population_std(samples, total)
    block: dict[str, int | None] = {
        "min": int(ordered[0]),
        "mean": round(Fraction(total, len(samples))),
    }
    block.update((key, nearest_rank(ordered, per_mille)) for key, per_mille in PERCENTILES)
    block["max"] = int(ordered[-1])
    block["std"] = std
    return block, int(ordered[-1]) - int(ordered[0]), std


def weighted_stats(values: np.ndarray, counts: np.ndarray) -> dict[str, int | None]:
    """The block of STAT_KEYS of the samples that are ``values[i]`` taken ``counts[i]`` times
    (int64 arrays): samples given as runs, since an SC's idle periods may be billions of zeros."""
    import numpy as np

    keep = counts > 0
    values, counts = values[keep], counts[keep]
    if not len(values):
        return dict.fromkeys(STAT_KEYS)
    order = np.argsort(values, kind="stable")
    ordered, cumulative = values[order], np.cumsum(counts[order])
    total = int(cumulative[-1])
    weighted_sum = int(np.dot(values, counts))
    mean = weighted_sum / total
    spread = np.dot(counts, (values - mean) ** 2) / total
    block: dict[str, int | None] = {
        "min": int(ordered[0]),
        "mean": round(Fraction(weighted_sum, total)),
    }
    for key, per_mille in PERCENTILES:
        rank = max(-(-per_mille * total // 1000), 1)
        block[key] = int(ordered[np.searchsorted(cumulative, rank)])
    block["max"] = int(ordered[-1])
    block["std"] = int(round(float(np.sqrt(spread))))
    return block


def tardiness(samples: array) -> dict[str, int | None]:
    """count, max and mean of the tardiness (end - absolute deadline) of late jobs."""
    if not samples:
        return {"count": 0, "max": None, "mean": None}
    return {"count": len(samples), "max": max(samples), "mean": _mean(samples)}


def check_histogram(bucket_ns: int, max_buckets: int) -> None:
    """Refuse a width or bucket count that would make an empty or unbounded histogram."""
    if type(bucket_ns) is not int or bucket_ns <= 0:
        raise ValueError(f"histogram bucket width must be a positive int of ns, not {bucket_ns!r}")
    if type(max_buckets) is not int or max_buckets <= 0:
        raise ValueError(f"histogram bucket count must be a positive int, not {max_buckets!r}")


def histogram(samples: array, bucket_ns: int, max_buckets: int) -> dict[str, Any]:
    """cyclictest-style buckets: ``counts[i]`` holds the samples in [i*w, (i+1)*w), ``overflow``
    those at or above max_buckets*w. A negative sample (times need not increase in a trace)
    counts in bucket 0, so counts and overflow add up to the samples."""
    import numpy as np

    values = np.frombuffer(samples, dtype=np.int64)
    limit = bucket_ns * max_buckets
    inside = values[values < limit] if limit <= np.iinfo(np.int64).max else values
    index = np.maximum(inside // bucket_ns, 0)
    counts = np.bincount(index, minlength=max_buckets) if len(index) else np.zeros(max_buckets)
    return {
        "bucket_ns": bucket_ns,
        "counts": [int(c) for c in counts],
        "overflow": int(len(values) - len(inside)),
    }


def histograms(
    trace: Any | str | os.PathLike[str], bucket_ns: int, max_buckets: int = 100, **filters: Any
) -> dict[str, dict[str, Any]]:
    """Per task, latency and response histograms (``summarise(..., histogram_ns=...)``'s
    ``histograms``); ``filters`` are summarise's ``window`` and ``tasks``."""
    from sporadic.traces.summary import summarise  # summary imports this module

    summary = summarise(trace, histogram_ns=bucket_ns, histogram_max=max_buckets, **filters)
    return summary["histograms"]


def render_histograms(result: dict[str, Any]) -> str:
    """Plain text, one block per task as cyclictest prints it: a line per bucket (its start in
    ns, then the latency and response counts), then the overflows and the totals. Takes the
    ``histograms`` result or a whole summary that has them."""
    whole = "tasks" in result and "duration" in result
    per_task = result.get("histograms", {}) if whole else result
    lines: list[str] = []
    for name, pair in per_task.items():
        lat, resp = pair["latency"], pair["response"]
        width = lat["bucket_ns"]
        lines.append(f"# {name}: bucket {width} ns")
        lines.append(f"# {'start_ns':>12} {'latency':>10} {'response':>10}")
        for i, (a, b) in enumerate(zip(lat["counts"], resp["counts"], strict=True)):
            lines.append(f"{i * width:>14} {a:>10} {b:>10}")
        lines.append(f"# {'overflow':>12} {lat['overflow']:>10} {resp['overflow']:>10}")
        total_lat = sum(lat["counts"]) + lat["overflow"]
        total_resp = sum(resp["counts"]) + resp["overflow"]
        lines.append(f"# {'total':>12} {total_lat:>10} {total_resp:>10}")
    return "\n".join(lines) + ("\n" if lines else "")
