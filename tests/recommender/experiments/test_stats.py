"""The binomial test and the Wilson interval against hand-worked values and scipy."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from recommender.experiments import binomial_test, wilson_interval


def test_hand_worked_values() -> None:
    # 9 wins of 10: P(X >= 9) + P(X <= 1) = 2 * (10 + 1) / 1024
    assert binomial_test(9, 1).p_value == pytest.approx(22 / 1024, rel=1e-12)
    assert binomial_test(5, 5).p_value == pytest.approx(1.0)
    # Wilson, 8 of 10 at 95% (z = 1.959964): centre 0.7167, half-width 0.2067
    z = 1.959963984540054
    centre = (0.8 + z * z / 20) / (1 + z * z / 10)
    half = z * math.sqrt(0.8 * 0.2 / 10 + z * z / 400) / (1 + z * z / 10)
    assert wilson_interval(8, 10) == pytest.approx((centre - half, centre + half), rel=1e-12)


@pytest.mark.parametrize(("wins", "losses"), [(0, 1), (3, 17), (60, 40), (512, 488), (7, 0)])
def test_against_scipy(wins: int, losses: int) -> None:
    got = binomial_test(wins, losses)
    ref = stats.binomtest(wins, wins + losses, 0.5)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)
    ci = ref.proportion_ci(confidence_level=0.95, method="wilson")
    assert (got.ci_low, got.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-12)
    assert got.win_rate == wins / (wins + losses)


def test_no_decided_request_says_nothing_and_bad_counts_are_refused() -> None:
    empty = binomial_test(0, 0)
    assert empty.p_value == 1.0 and (empty.ci_low, empty.ci_high) == (0.0, 1.0)
    assert math.isnan(empty.win_rate)
    with pytest.raises(ValueError, match="losses=-1"):
        binomial_test(3, -1)
    with pytest.raises(ValueError, match=r"wins=2\.0"):
        binomial_test(2.0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence=1.0)
