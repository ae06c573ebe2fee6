"""Position bias: how likely a partner is to look at each slot, from the logs themselves (an EM
click model under the position-based model) or from exploration (explored assets land in
uniformly random slots)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.learning.off_policy.slates import ArrayLike, SlateLog, as_codes, fmt

# --------------------------------------------------------------------------- position bias


@dataclass(frozen=True, eq=False)
class PositionBias:
    """Examination probability per slot, theta (theta[0] = 1), and what informed it.

    theta            (n_positions,) float; NaN for a slot the log cannot relate to slot 0
    n_impressions    (n_positions,) impressions logged in each slot (explored ones, for
                     the exploration estimate)
    n_items          (n_positions,) distinct items (assets, or (context, asset) pairs) seen
                     in each slot
    n_linking_items  (n_positions,) of those, the items also seen in another slot: they are
                     what ties a slot's theta to the others (0 means theta is unidentified)
    method           "em" or "exploration"
    n_iter, converged   EM steps taken and whether theta's change fell below `tol`
    """

    theta: np.ndarray
    n_impressions: np.ndarray
    n_items: np.ndarray
    n_linking_items: np.ndarray
    method: str
    n_iter: int = 0
    converged: bool = True

    @property
    def identified(self) -> np.ndarray:
        """(n_positions,) bool: the slots whose theta the log determines."""
        return np.isfinite(self.theta)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "theta": [None if not np.isfinite(t) else float(t) for t in self.theta],
            "n_impressions": self.n_impressions.tolist(),
            "n_items": self.n_items.tolist(),
            "n_linking_items": self.n_linking_items.tolist(),
            "n_iter": self.n_iter,
            "converged": self.converged,
        }


def _n_positions(log: SlateLog, n_positions: int | None) -> int:
    if n_positions is None:
        return log.n_positions
    if isinstance(n_positions, bool) or not isinstance(n_positions, (int, np.integer)):
        raise ValueError(f"n_positions={fmt(n_positions)} is not an integer")
    if n_positions < log.n_positions:
        raise ValueError(
            f"n_positions={fmt(n_positions)} is below the log's {log.n_positions} slots "
            f"(position {log.n_positions - 1} is logged)"
        )
    return int(n_positions)


def _item_codes(log: SlateLog, context: ArrayLike | None) -> np.ndarray:
    """Codes of the items gamma is kept for: assets, or (context, asset) pairs."""
    if context is None:
        return np.unique(log.asset, return_inverse=True)[1].astype(np.int64)
    ctx = as_codes("context", context)
    if ctx.size != log.n_impressions:
        raise ValueError(
            f"context has {ctx.size} entries; expected one per impression ({log.n_impressions})"
        )
    pairs = np.stack([ctx, log.asset], axis=1)
    return np.unique(pairs, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _item_counts(
    position: np.ndarray, item: np.ndarray, n_positions: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Impressions, distinct items and items also seen elsewhere, per slot."""
    n_impressions = np.bincount(position, minlength=n_positions)
    n_items_total = int(item.max()) + 1 if item.size else 0
    pairs = np.unique(position * max(n_items_total, 1) + item)
    pair_position = pairs // max(n_items_total, 1)
    pair_item = pairs % max(n_items_total, 1)
    slots_per_item = np.bincount(pair_item, minlength=n_items_total)
    n_items = np.bincount(pair_position, minlength=n_positions)
    n_linking = np.bincount(
        pair_position, weights=slots_per_item[pair_item] > 1, minlength=n_positions
    ).astype(np.int64)
    return n_impressions, n_items, n_linking


def _linked_to_top(position: np.ndarray, item: np.ndarray, n_positions: int) -> np.ndarray:
    """(n_positions,) bool: the slots joined to slot 0 by a chain of shared items."""
    reached = np.zeros(n_positions, dtype=bool)
    reached[0] = True
    while True:
        items = np.unique(item[reached[position]])
        slots = np.zeros(n_positions, dtype=bool)
        slots[np.unique(position[np.isin(item, items)])] = True
        if (slots | reached).sum() == reached.sum():
            return reached
        reached |= slots


def estimate_position_bias(
    log: SlateLog,
    *,
    context: ArrayLike | None = None,
    n_positions: int | None = None,
    max_iter: int = 2000,
    tol: float = 1e-7,
) -> PositionBias:
    """Examination probability per slot from the log, by EM on the position-based model.

    The model: P(engage | item g examined in slot k) = theta_k * gamma_g, with latent
    examination (prob. theta_k, the slot only) and attractiveness (prob. gamma_g, the item
    only). An item is an asset, or an (asset, context) pair when `context` (int codes aligned
    with the impressions, e.g. deal stage) is given: gamma then varies by context, and only
    pairs seen in several slots inform theta. EM (Chuklin et al., "Click Models for Web
    Search", ch. 4) alternates the posteriors of examination and attractiveness of each
    impression with their means per slot and per item, from theta = gamma = 1/2, accelerated
    by SQUAREM extrapolation (the likelihood never drops), and stops when no theta_k
    (normalised to theta_0 = 1) moves by `tol` or after about `max_iter` EM steps: the same
    log gives the same theta. Graded rewards above 1 are divided by the largest reward first
    (PBM's theta is unchanged by rescaling rewards; the EM needs them in [0, 1]).

    Slots the log cannot tie to slot 0 through items seen in both (directly or by a chain)
    get theta NaN, as do slots up to `n_positions` that were never logged.
    """
    P = _n_positions(log, n_positions)
    if not log.reward.any():
        raise ValueError("no impression has a reward > 0: position bias cannot be estimated")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter={fmt(max_iter)} is not a positive integer")
    if not tol > 0:
        raise ValueError(f"tol={fmt(tol)} must be > 0")
    item = _item_codes(log, context)
    position = log.position
    if not (position == 0).any():
        raise ValueError("no impression in slot 0: theta is relative to slot 0")
    n_impressions, n_items, n_linking = _item_counts(position, item, P)
    linked = _linked_to_top(position, item, P)
    keep = linked[position]
    slots = np.flatnonzero(linked)
    k = np.searchsorted(slots, position[keep])  # slot -> its place among the linked slots
    g = np.unique(item[keep], return_inverse=True)[1].reshape(-1)
    s = log.reward[keep] / max(1.0, float(log.reward.max()))
    theta_linked, n_iter, converged = _pbm_em(k, g, s, max_iter=int(max_iter), tol=tol)
    normalised = np.full(P, np.nan)
    normalised[slots] = theta_linked
    return PositionBias(
        theta=normalised,
        n_impressions=n_impressions,
        n_items=n_items,
        n_linking_items=n_linking,
        method="em",
        n_iter=n_iter,
        converged=converged,
    )


def _pbm_em(
    k: np.ndarray, g: np.ndarray, s: np.ndarray, *, max_iter: int, tol: float
) -> tuple[np.ndarray, int, bool]:
    """theta (theta[0] = 1) of the PBM by EM, with SQUAREM's extrapolation.

    k, g: each impression's slot and item (dense codes, slot 0 present); s: rewards in [0, 1].
    Plain EM crawls here (most of the examination is unobserved: thousands of steps on a
    sparse log), so each cycle takes two EM steps, extrapolates along them (Varadhan and
    Roland 2008, "SQUAREM", scheme S3), takes one more EM step from there and keeps that
    point only if the likelihood did not drop (else the plain two-step point): likelihood
    never decreases, the answer is EM's fixed point, reached in tens of cycles. Returns
    theta, the EM steps taken (at most about `max_iter`) and whether theta moved by < tol.
    """
    n_slots = int(k.max()) + 1
    per_slot = np.bincount(k, minlength=n_slots).astype(np.float64)
    per_item = np.bincount(g).astype(np.float64)

    def step(x: np.ndarray) -> np.ndarray:
        t, a = x[:n_slots][k], x[n_slots:][g]
        miss = np.maximum(1.0 - t * a, 1e-12)
        examined = s + (1.0 - s) * t * (1.0 - a) / miss
        attractive = s + (1.0 - s) * (1.0 - t) * a / miss
        theta = np.bincount(k, weights=examined, minlength=n_slots) / per_slot
        gamma = np.bincount(g, weights=attractive) / per_item
        return np.clip(np.concatenate([theta, gamma]), 1e-12, 1.0)

    def log_likelihood(x: np.ndarray) -> float:
        p = x[:n_slots][k] * x[n_slots:][g]
        return float(
            np.sum(
                s * np.log(np.maximum(p, 1e-300)) + (1 - s) * np.log1p(-np.minimum(p, 1 - 1e-15))
            )
        )

    x = np.full(n_slots + per_item.size, 0.5)
    theta = x[:n_slots] / x[0]
    n_iter, converged = 0, False
    while n_iter < max_iter and not converged:
        x1 = step(x)
        x2 = step(x1)
        n_iter += 2
        r, v = x1 - x, x2 - 2.0 * x1 + x
        norm_v = float(np.linalg.norm(v))
        if norm_v > 0:
            alpha = min(-float(np.linalg.norm(r)) / norm_v, -1.0)
            jumped = step(np.clip(x - 2.0 * alpha * r + alpha * alpha * v, 1e-12, 1.0))
            n_iter += 1
            x = jumped if log_likelihood(jumped) >= log_likelihood(x2) else x2
        else:
            x = x2
        previous, theta = theta, x[:n_slots] / x[0]
        converged = bool(np.max(np.abs(theta - previous)) < tol)
    return theta, n_iter, converged


def position_bias_from_exploration(
    log: SlateLog, explored: ArrayLike, *, n_positions: int | None = None
) -> PositionBias:
    """Examination probability per slot from the exploration's randomisation.

    `explored` (bool, aligned with the impressions) marks the impressions the logging policy
    placed at random: explored assets land in uniformly random slots, so the expected
    attractiveness of what was explored is the same in every slot and the mean reward of
    explored impressions in slot k is proportional to theta_k: theta_k = mean_k / mean_0. It
    assumes nothing about assets but needs enough explored engagement in every slot, slot 0
    included; slots never explored (pinned ones) get NaN. If the requests that can explore a
    slot differ by slot (pins only on some kinds of request), the ratio mixes them.
    """
    P = _n_positions(log, n_positions)
    mask = np.asarray(explored)
    if mask.dtype != bool or mask.shape != (log.n_impressions,):
        raise ValueError(
            f"explored must be a bool array with one entry per impression "
            f"({log.n_impressions}); got dtype {mask.dtype}, shape {mask.shape}"
        )
    k = log.position[mask]
    n_impressions = np.bincount(k, minlength=P)
    engaged = np.bincount(k, weights=log.reward[mask], minlength=P)
    if n_impressions[0] == 0 or engaged[0] == 0:
        raise ValueError(
            f"slot 0 has {n_impressions[0]} explored impressions and {engaged[0]:g} reward: "
            "theta is relative to slot 0, which needs explored engagement"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_impressions > 0, engaged / n_impressions, np.nan)
    _, n_items, n_linking = _item_counts(k, log.asset[mask], P)
    return PositionBias(
        theta=mean / mean[0],
        n_impressions=n_impressions,
        n_items=n_items,
        n_linking_items=n_linking,
        method="exploration",
    )
