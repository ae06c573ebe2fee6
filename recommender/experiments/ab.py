"""The statistics of an A/B test between two arms of partners: the difference of the arms'
means with a bootstrap interval, an always-valid p-value that may be looked at every day, and
the sample still needed for a stated power.

- Bootstrap: partners are resampled within each arm (the unit that was randomised), the
  percentile interval of the difference of means.
- Always valid: the mixture sequential probability ratio test (mSPRT; Johari, Pekelis and
  Walsh, "Always valid inference", 2017) with a normal mixing distribution N(0, tau^2) over the
  difference. At each look n, with the difference d and its variance V = s_t^2/n_t + s_c^2/n_c,

      Lambda_n = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2)))

  and the p-value is p_n = min(p_(n-1), 1 / Lambda_n), p_0 = 1. Rejecting when p_n <= alpha
  keeps the chance of ever rejecting a true null at alpha or below, however often one looks
  (for normal data with known variances; the plug-in variances make it approximate for small
  arms). tau is the size of difference one expects: a smaller tau detects small effects sooner
  and large ones later.
- Sample size: per arm, n = (z_(1-alpha/2) + z_power)^2 (s_t^2 + s_c^2) / delta^2 for a
  two-sided z-test of a difference delta.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Look:
    """The two arms as they stood at one look: counts, means and variances (ddof=1)."""

    n_treatment: int
    mean_treatment: float
    var_treatment: float
    n_control: int
    mean_control: float
    var_control: float

    @classmethod
    def of(cls, treatment: ArrayLike, control: ArrayLike) -> Look:
        t, c = _values("treatment", treatment), _values("control", control)
        return cls(len(t), float(t.mean()), float(t.var(ddof=1)), len(c), float(c.mean()),
                   float(c.var(ddof=1)))  # fmt: skip

    @property
    def difference(self) -> float:
        return self.mean_treatment - self.mean_control

    @property
    def variance(self) -> float:
        """The variance of the difference of the means."""
        return self.var_treatment / self.n_treatment + self.var_control / self.n_control


def _values(name: str, values: ArrayLike) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or len(array) < 2:
        raise ValueError(f"{name} has shape {array.shape}; expected at least 2 values, 1-d")
    if not np.isfinite(array).all():
        i = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{name}[{i}]={float(array[i])!r} is not a finite number")
    return array


def msprt_p_values(looks: Sequence[Look], tau: float) -> list[float]:
    """The always-valid p-value after each look (non-increasing); see the module docstring."""
    if not tau > 0:
        raise ValueError(f"tau={tau!r} must be > 0: the size of difference one expects")
    tau2, p, out = tau * tau, 1.0, []
    for look in looks:
        v = look.variance
        if v > 0:
            log_lambda = 0.5 * math.log(v / (v + tau2)) + tau2 * look.difference**2 / (
                2 * v * (v + tau2)
            )
            p = min(p, math.exp(-log_lambda)) if log_lambda > 0 else p
        elif look.difference != 0:  # no variance and a difference: certain
            p = 0.0
        out.append(p)
    return out


def bootstrap_difference(
    treatment: ArrayLike,
    control: ArrayLike,
    *,
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """The difference of means (treatment - control) and its percentile bootstrap interval,
    resampling each arm's units (partners) with replacement."""
    t, c = _values("treatment", treatment), _values("control", control)
    if n_bootstrap < 100 or not 0 < confidence < 1:
        raise ValueError(
            f"n_bootstrap={n_bootstrap!r} must be >= 100 and confidence={confidence!r} in (0, 1)"
        )
    rng = np.random.default_rng(seed)
    means_t = t[rng.integers(0, len(t), size=(n_bootstrap, len(t)))].mean(axis=1)
    means_c = c[rng.integers(0, len(c), size=(n_bootstrap, len(c)))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means_t - means_c, [tail, 100 - tail])
    return float(t.mean() - c.mean()), float(low), float(high)


def sample_size(
    delta: float, sd_treatment: float, sd_control: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Units per arm for a two-sided z-test at `alpha` to find a difference `delta` with
    `power`."""
    if not delta != 0 or not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(
            f"delta={delta!r} must be non-zero, alpha={alpha!r} and power={power!r} in (0, 1)"
        )
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return math.ceil(z * z * (sd_treatment**2 + sd_control**2) / (delta * delta))
