"""`SumsBefore` against a brute-force sum over the events, on random logs: with the key table
(small keys) and without it (keys too large for one), for keys with and without events."""

from __future__ import annotations

import numpy as np
import pytest

from features.point_in_time import SumsBefore

T0, TICK, SPAN = 1_000_000, 1_000, 10_000


def _reference(keys, times, weights, qkeys, qtimes):
    out = np.zeros((len(qkeys), weights.shape[1]))
    ticks = (times - T0) // TICK
    for i, (k, t) in enumerate(zip(qkeys, qtimes, strict=True)):
        if k < 0:
            continue
        qtick = min(max(-((T0 - t) // TICK), 0), SPAN - 1)
        out[i] = weights[(keys == k) & (ticks < qtick)].sum(axis=0)
    return out


@pytest.mark.parametrize("largest_key", [50, 10**9], ids=["table", "no-table"])
@pytest.mark.parametrize("seed", range(4))
def test_sums_before_equal_the_brute_force_sums(largest_key, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    pool = rng.choice(largest_key, size=min(30, largest_key), replace=False)
    keys = rng.choice(pool, size=n)
    keys[rng.random(n) < 0.1] = -1  # events without a key are left out
    times = T0 + rng.integers(0, (SPAN - 2) * TICK, size=n)
    times[rng.random(n) < 0.2] = T0  # a key's first tick: its lower bound exactly
    weights = rng.random((n, 2))
    sums = SumsBefore(keys, times, weights.ravel(), t0=T0, tick=TICK, span=SPAN, n_cols=2)
    after = times.max() + TICK  # serving: every event is before the query
    if largest_key == 50:  # totals by count: no sort until a query inside the events
        assert sums._sorted is None
        np.testing.assert_allclose(
            sums.before(qkeys := np.arange(-1, 55), np.full(len(qkeys), after)),
            _reference(keys, times, weights, qkeys, np.full(len(qkeys), after)),
            rtol=1e-12,
            atol=1e-12,
        )
        assert sums._sorted is None
    # queried keys: with events, without (between and beyond them), and unknown (-1)
    qkeys = np.concatenate([rng.choice(pool, 300), rng.integers(-1, largest_key + 5, 100)])
    qtimes = T0 + rng.integers(-5 * TICK, (SPAN + 5) * TICK, size=len(qkeys))
    expected = _reference(keys, times, weights, qkeys, qtimes)
    np.testing.assert_allclose(sums.before(qkeys, qtimes), expected, rtol=1e-12, atol=1e-12)
    assert bool(sums._table_size) == (largest_key == 50)
    lo, hi = sums.ranges(qkeys, qtimes)
    counted = sums.cum[hi] - sums.cum[lo]
    np.testing.assert_allclose(counted, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        sums.before(qkeys, np.full(len(qkeys), after)),
        _reference(keys, times, weights, qkeys, np.full(len(qkeys), after)),
        rtol=1e-12,
        atol=1e-12,
    )
