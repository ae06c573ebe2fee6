"""The statistics of an interleaving experiment: how often the treatment wins the requests it
does not tie, with an exact two-sided binomial test against 1/2 and a Wilson interval.

The binomial test is the exact one (the p-value sums the probabilities of every outcome no more
likely than the one observed, as R's binom.test and scipy's binomtest do); the Wilson score
interval keeps its coverage near the nominal level for small counts and rates near 0 or 1,
where the normal approximation does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

# relative tolerance when comparing outcome probabilities (ties in the two-sided sum)
_RELATIVE = 1 + 1e-7


@dataclass(frozen=True)
class BinomialTest:
    """Wins and losses of the treatment (ties left out), its win rate, the two-sided p-value
    against a rate of 1/2 and the Wilson interval at `confidence`."""

    wins: int
    losses: int
    win_rate: float
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float


def binomial_test(wins: int, losses: int, *, confidence: float = 0.95) -> BinomialTest:
    """The exact two-sided binomial test of `wins` out of `wins + losses` against 1/2."""
    for name, value in (("wins", wins), ("losses", losses)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name}={value!r} must be a count (an int >= 0)")
    n = wins + losses
    if n == 0:
        return BinomialTest(0, 0, float("nan"), 1.0, 0.0, 1.0, confidence)
    low, high = wilson_interval(wins, n, confidence=confidence)
    return BinomialTest(wins, losses, wins / n, _two_sided_p(wins, n), low, high, confidence)


def _two_sided_p(k: int, n: int) -> float:
    """P(an outcome no more likely than k) for Binomial(n, 1/2), summed exactly in log space."""
    log_pmf = [_log_choose(n, i) - n * math.log(2) for i in range(n + 1)]
    bar = log_pmf[k] + math.log(_RELATIVE)
    return min(1.0, sum(math.exp(v) for v in log_pmf if v <= bar))


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion `successes / n` at `confidence`."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} must be in (0, 1)")
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"successes={successes!r} of n={n!r}: expected 0 <= successes <= n, n > 0")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
