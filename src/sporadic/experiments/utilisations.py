"""Utilisation vectors for synthetic task sets: n values summing to a target, each in bounds.

Three samplers, each drawing from a seeded numpy ``Generator`` so that a task set is a pure
function of its seed:

- ``uunifast_discard``: Bini and Buttazzo's UUniFast ("Measuring the performance of
  schedulability tests", Real-Time Systems 30, 2005), with Davis and Burns' discard step for
  vectors outside the bounds (RTSS 2009). Uniform over the simplex; the discard keeps it uniform
  over the bounded region, but gets slow when that region is a small part of the simplex.
- ``randfixedsum``: Stafford's RandFixedSum (2006; used for task sets by Emberson, Stafford and
  Davis, WATERS 2010): uniform over the region where every value is in one common ``[lo, hi]``,
  without discarding.
- ``cfs``: Griffin and Davis' ConvolutionalFixedSum (RTAS 2025, the ``convolutionalfixedsum``
  package, successor of their Dirichlet-Rescale algorithm): uniform with a bound *per task*.
  Its analytical sampler is used, with its own seeded generator (the numeric one draws from
  Python's global ``random``, which threads would share).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_DISCARDS = 100_000


def uunifast(rng: np.random.Generator, n: int, total: float) -> np.ndarray:
    """Bini and Buttazzo's UUniFast: ``n`` utilisations summing to ``total``."""
    out = np.empty(n)
    rest = total
    for i in range(1, n):
        nxt = rest * rng.random() ** (1.0 / (n - i))
        out[i - 1] = rest - nxt
        rest = nxt
    out[n - 1] = rest
    return out


def uunifast_discard(
    rng: np.random.Generator,
    n: int,
    total: float,
    lower: Sequence[float],
    upper: Sequence[float],
) -> np.ndarray:
    """UUniFast, drawn again until every value lies in its bounds."""
    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    for _ in range(MAX_DISCARDS):
        u = uunifast(rng, n, total)
        if np.all(u >= lo) and np.all(u <= hi):
            return u
    raise ValueError(
        f"UUniFast-discard found no vector of {n} utilisations summing to {total} within the "
        f"bounds after {MAX_DISCARDS} draws; use randfixedsum or cfs"
    )


def randfixedsum(
    rng: np.random.Generator, n: int, total: float, lo: float, hi: float
) -> np.ndarray:
    """Stafford's RandFixedSum for one vector: uniform over ``sum = total``, ``lo <= u <= hi``.

    A port of the published MATLAB function (one column, ``m = 1``): the region is cut into
    simplices whose probabilities come from a table of polytope volumes, built in rescaled
    form so that it cannot overflow; one simplex is chosen, a point drawn in it, and the
    coordinates permuted at random.
    """
    if not n * lo <= total <= n * hi or hi <= lo:
        raise ValueError(f"no {n} values in [{lo}, {hi}] sum to {total}")
    if n == 1:
        return np.array([total])
    s = (total - n * lo) / (hi - lo)
    k = max(min(int(np.floor(s)), n - 1), 0)
    s = max(min(s, k + 1), k)
    s1 = s - np.arange(k, k - n, -1)  # s - k, s - k + 1, ...: never negative
    s2 = np.arange(k + n, k, -1) - s
    huge = np.finfo(float).max
    tiny = np.nextafter(0.0, 1.0)
    w = np.zeros((n, n + 1))
    w[0, 1] = huge
    t = np.zeros((n - 1, n))
    for i in range(2, n + 1):
        tmp1 = w[i - 2, 1 : i + 1] * s1[:i] / i
        tmp2 = w[i - 2, 0:i] * s2[n - i :] / i
        w[i - 1, 1 : i + 1] = tmp1 + tmp2
        tmp3 = w[i - 1, 1 : i + 1] + tiny
        right = s2[n - i :] > s1[:i]
        t[i - 2, :i] = np.where(right, tmp2 / tmp3, 1 - tmp1 / tmp3)
    x = np.zeros(n)
    rt = rng.random(n - 1)
    rs = rng.random(n - 1)
    j = k + 1  # 1-based column of t, as in the MATLAB source
    sm, pr = 0.0, 1.0
    for i in range(n - 1, 0, -1):
        e = 1 if rt[n - i - 1] <= t[i - 1, j - 1] else 0
        sx = rs[n - i - 1] ** (1.0 / i)
        sm += (1 - sx) * pr * s / (i + 1)
        pr *= sx
        x[n - i - 1] = sm + pr * e
        s -= e
        j -= e
    x[n - 1] = sm + pr * s
    return (hi - lo) * x[rng.permutation(n)] + lo


def cfs(
    rng: np.random.Generator,
    n: int,
    total: float,
    lower: Sequence[float],
    upper: Sequence[float],
) -> np.ndarray:
    """ConvolutionalFixedSum (analytical, ``cfsa``): uniform with per-task bounds."""
    from convolutionalfixedsum import CFSAConfig, cfsa

    lo, hi = [float(v) for v in lower], [float(v) for v in upper]
    if not sum(lo) < total < sum(hi):
        raise ValueError(f"the bounds admit no {n} utilisations summing to {total}")
    # the package seeds its xoroshiro generator only with a non-zero seed
    config = CFSAConfig(seed=int(rng.integers(1, 2**63)))
    return np.asarray(cfsa(n, total, lower_constraints=lo, upper_constraints=hi, config=config))


__all__ = ["cfs", "randfixedsum", "uunifast", "uunifast_discard"]
