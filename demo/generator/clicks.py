"""The click model: how likely a partner is to look at a slot, and what it then does with the
asset there, as probabilities and as exact expectations.

    examine(p)  = decay ** p                   attention_curve "geometric" (the default)
                = (1 + p) ** -decay            "power"
                = (1 / log2(p + 2)) ** decay   "log" (the curve the generator used to have)
    u'          = u + click_noise * e,  e ~ N(0, 1) per impression
    open        = examined and U < sigmoid(u')
    download    = opened and U < sigmoid(u' - DOWNLOAD_SHIFT)
    share       = opened and U < sigmoid(u' - SHARE_SHIFT)

p is the 0-based slot. The curve and its parameter are hidden generator parameters: no feature
may encode them (the engine has to estimate position bias from its own logs), and the two
configurations (`demo.generator.CONFIGS`) use different curves.

`ClickModel.expected` integrates the noise out with Gauss-Hermite quadrature (exact to ~1e-12
for these smooth functions), so the on-policy value of a slate is an expectation, not a draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CURVES", "DOWNLOAD_SHIFT", "SHARE_SHIFT", "ClickModel", "sigmoid"]

CURVES = ("geometric", "power", "log")
DOWNLOAD_SHIFT = 1.0
SHARE_SHIFT = 2.0
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(48)  # probabilists' Hermite: N(0, 1)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, elementwise."""
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class ClickModel:
    """Examination by slot and engagement by (noisy) true utility; see the module docstring."""

    curve: str = "geometric"
    decay: float = 0.8
    noise: float = 0.5

    def __post_init__(self) -> None:
        if self.curve not in CURVES:
            raise ValueError(
                f"attention_curve={self.curve!r} is unknown; expected one of {list(CURVES)}"
            )
        if self.curve == "geometric" and not 0.0 < self.decay <= 1.0:
            raise ValueError(
                f"attention_decay={self.decay!r} must be in (0, 1] for the geometric curve"
            )
        if self.decay < 0:
            raise ValueError(f"attention_decay={self.decay!r} must be >= 0")
        if self.noise < 0:
            raise ValueError(f"click_noise={self.noise!r} must be >= 0")

    def examine(self, position: np.ndarray) -> np.ndarray:
        """P(the partner looks at 0-based slot `position`), elementwise; 1 at slot 0."""
        p = np.asarray(position, dtype=np.float64)
        if self.curve == "geometric":
            return self.decay**p
        if self.curve == "power":
            return (1.0 + p) ** -self.decay
        return (1.0 / np.log2(p + 2.0)) ** self.decay

    def expected(
        self, u: np.ndarray, gains: tuple[float, float, float] = (1.0, 2.0, 3.0)
    ) -> tuple[np.ndarray, np.ndarray]:
        """(P(open), E[graded gain]) of an examined asset of true utility `u`, elementwise,
        over the click noise. The graded gain is that of the best engagement: `gains` =
        (open, download, share) (`features.labels.LabelConfig`'s defaults), 0 if not opened."""
        u = np.asarray(u, dtype=np.float64)
        x = u[..., None] + self.noise * _NODES  # (..., nodes)
        p_open = sigmoid(x)
        p_down = sigmoid(x - DOWNLOAD_SHIFT)
        p_share = sigmoid(x - SHARE_SHIFT)
        g_open, g_down, g_share = gains
        # Download and share are drawn independently once opened; the best engagement counts.
        best = np.zeros_like(x)
        for down, share in ((0, 0), (0, 1), (1, 0), (1, 1)):
            prob = (p_down if down else 1.0 - p_down) * (p_share if share else 1.0 - p_share)
            best += prob * max(g_open, g_down * down, g_share * share)
        return p_open @ _WEIGHTS, (p_open * best) @ _WEIGHTS
