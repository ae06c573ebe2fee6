"""A/B statistics: the mSPRT's always-valid p-value on a hand-worked look and in simulation
(looking every day keeps false alarms at alpha, where a fixed-horizon test checked daily does
not), the bootstrap interval against the normal-theory one, and the sample size by hand."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from recommender.experiments.ab import (
    Look,
    bootstrap_difference,
    msprt_p_values,
    sample_size,
)


def test_one_look_by_hand() -> None:
    # V = 0.5/100 + 0.5/100 = 0.01, tau^2 = 0.01, d = 0.3:
    # Lambda = sqrt(0.01 / 0.02) * exp(0.01 * 0.09 / (2 * 0.01 * 0.02)) = 0.70711 * e^2.25
    look = Look(100, 1.3, 0.5, 100, 1.0, 0.5)
    assert look.variance == pytest.approx(0.01)
    expected = 1 / (math.sqrt(0.5) * math.exp(2.25))
    assert msprt_p_values([look], tau=0.1) == [pytest.approx(expected, rel=1e-12)]
    # a look with no difference leaves p at 1; p never rises again
    flat = Look(100, 1.0, 0.5, 100, 1.0, 0.5)
    got = msprt_p_values([flat, look, flat], tau=0.1)
    assert got == [1.0, pytest.approx(expected), pytest.approx(expected)]


def _daily_looks(rng: np.random.Generator, effect: float, days: int, per_day: int):
    """Cumulative looks of one experiment: per_day new N(0, 1) units per arm each day."""
    t = rng.normal(effect, 1.0, size=days * per_day)
    c = rng.normal(0.0, 1.0, size=days * per_day)
    return [Look.of(t[: d * per_day], c[: d * per_day]) for d in range(1, days + 1)]


def test_looking_every_day_keeps_false_alarms_at_alpha() -> None:
    rng = np.random.default_rng(20261206)
    z = NormalDist().inv_cdf(0.975)
    runs, msprt_alarms, naive_alarms = 400, 0, 0
    for _ in range(runs):
        looks = _daily_looks(rng, 0.0, days=30, per_day=40)
        msprt_alarms += min(msprt_p_values(looks, tau=0.2)) <= 0.05
        naive_alarms += any(abs(x.difference) / math.sqrt(x.variance) > z for x in looks)
    sd = math.sqrt(0.05 * 0.95 / runs)
    assert msprt_alarms / runs <= 0.05 + 2 * sd
    assert naive_alarms / runs > 0.15  # the fixed-horizon test peeked at daily: far above 5%


def test_a_real_difference_is_found() -> None:
    rng = np.random.default_rng(7)
    found = sum(
        min(msprt_p_values(_daily_looks(rng, 0.25, days=30, per_day=40), tau=0.2)) <= 0.05
        for _ in range(100)
    )
    assert found >= 90


def test_bootstrap_interval_matches_normal_theory_on_large_arms() -> None:
    rng = np.random.default_rng(3)
    t, c = rng.normal(0.2, 1.0, 4000), rng.normal(0.0, 2.0, 3000)
    diff, low, high = bootstrap_difference(t, c, n_bootstrap=2000, seed=1)
    assert diff == pytest.approx(t.mean() - c.mean())
    half = 1.959964 * math.sqrt(t.var(ddof=1) / 4000 + c.var(ddof=1) / 3000)
    assert low == pytest.approx(diff - half, abs=0.1 * half)
    assert high == pytest.approx(diff + half, abs=0.1 * half)
    assert bootstrap_difference(t, c, seed=1) == bootstrap_difference(t, c, seed=1)


def test_sample_size_by_hand() -> None:
    # (1.959964 + 0.841621)^2 * (1 + 1) / 0.1^2 = 1569.8 -> 1570
    assert sample_size(0.1, 1.0, 1.0) == 1570
    assert sample_size(-0.2, 1.0, 1.0) == math.ceil(1569.78 / 4)


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match=r"control\[1\]=nan"):
        Look.of([1.0, 2.0], [1.0, float("nan")])
    with pytest.raises(ValueError, match="treatment has shape"):
        Look.of([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="tau"):
        msprt_p_values([], tau=0.0)
    with pytest.raises(ValueError, match="delta"):
        sample_size(0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="n_bootstrap"):
        bootstrap_difference([1.0, 2.0], [1.0, 2.0], n_bootstrap=10)
