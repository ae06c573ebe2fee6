"""Off-policy estimates of a slate policy's expected engagement per request, from logged
impressions and their propensities, under the position-based model (PBM).

What it estimates: for a target policy that would have shown the slate (b_0, ..., b_{L-1}) on
each logged request x, V = mean over requests of sum_j theta_j * gamma(x, b_j), in engagements
per request (a reward of 1 per engaged impression, or the graded reward as logged), where
theta_j is the probability that a partner examines slot j (theta_0 = 1) and gamma(x, a) the
expected reward of asset a once examined (the reward it would get in slot 0).

When to trust it:
- **Support.** An asset the logging policy could not have shown on a request tells the log
  nothing: IPS counts such a slot as 0 (biased low), SNIPS as the mean of the slot's supported
  requests, DR as the reward model alone. Every result reports its support and says so.
- **Effective sample size.** ESS = (sum u)^2 / sum u^2 over the target's (request, slot)
  pairs, u the importance weight below. A few large weights (assets the logger showed only by
  exploration) mean an ESS far below `n_slots` and a wide, itself unreliable, interval.
- **The model.** PBM: P(engage | asset a in slot k, request x) = theta_k * gamma(x, a), i.e.
  examination depends on the slot only, not on the asset or its neighbours, and the rewards of
  different slots are independent. Cascade-like behaviour (a partner who found what it needed
  stops reading) breaks it. theta comes from the log (`estimate_position_bias`) and is taken
  as known by the intervals, which therefore leave out its own estimation error.

Estimators (a target slot j of request i holds asset b = b_ij; if the log shows b on
request i, in slot k with reward y and propensity_shown p, then u_ij = 1 / p, clipped to
`clip` when asked, and y~_ij = y / theta_k, the reward it would have had in slot 0; otherwise
u_ij = y~_ij = 0):

    IPS    V = 1/N sum_i sum_j theta_j u_ij y~_ij
    SNIPS  V = 1/N sum_i sum_j theta_j (u_ij / mean_i' u_i'j) y~_ij      (weights mean 1 per
           target slot j, over the requests whose target has a slot j)
    DR     V = 1/N sum_i sum_j theta_j (q_ij + u_ij (y~_ij - q_ij))     (q: a reward model's
           gamma for (request, asset) supplied by the caller)

E[u_ij y~_ij] = gamma(x_i, b_ij) when b_ij could be shown: the item-level PBM estimator of
Li et al. (2018), "Offline Evaluation of Ranking Policies with Click Models". Intervals are
percentile bootstraps over requests (the ratio in SNIPS recomputed in each replicate).

The position bias itself: `estimate_position_bias` (an EM click model on any log where assets
appear in several slots) and `position_bias_from_exploration` (explored impressions land in
uniformly random slots, so their mean reward per slot is proportional to theta_k).

Pure numpy: callers turn journal rows into integer codes and arrays (`SlateLog`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "OffPolicyEstimate",
    "PositionBias",
    "SlateLog",
    "estimate_dr",
    "estimate_ips",
    "estimate_position_bias",
    "estimate_snips",
    "position_bias_from_exploration",
]

ArrayLike = npt.ArrayLike

# a resampling block holds at most this many (replicate, request) counts, so memory stays
# bounded (~16 MB of int64) whatever the number of requests and replicates
_BOOTSTRAP_BLOCK = 2_000_000
# below this many effective (request, slot) pairs a result says its interval is unreliable
_SMALL_ESS = 30.0
# asset codes and positions stay below this, so (request, asset) keys fit in an int64
_MAX_CODE = 2**31


# --------------------------------------------------------------------------- validation


def _v(value: Any) -> str:
    """repr of a value for a message, numpy scalars as plain Python ones (0.5, not
    np.float64(0.5))."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _as_codes(name: str, values: ArrayLike, *, signed: bool = False) -> np.ndarray:
    """A 1-D int64 array of codes (>= 0 and below 2**31 unless `signed`), or a ValueError
    quoting the bad value. The bound keeps (request, asset) keys inside int64."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} has shape {array.shape}; expected a 1-D array")
    if array.size == 0:
        return array.astype(np.int64)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"{name} has dtype {array.dtype}; expected integer codes (encode ids with "
            "pandas.factorize or numpy.unique(..., return_inverse=True))"
        )
    array = array.astype(np.int64, copy=False)
    if signed:
        return array
    if array.min() < 0:
        i = _first_bad(array < 0)
        raise ValueError(f"{name}[{i}]={_v(array[i])} is negative; expected codes >= 0")
    if array.max() >= _MAX_CODE:
        i = _first_bad(array >= _MAX_CODE)
        raise ValueError(
            f"{name}[{i}]={_v(array[i])} is not a dense code (expected < 2**31): encode ids "
            "with pandas.factorize"
        )
    return array


def _as_floats(name: str, values: ArrayLike) -> np.ndarray:
    """A 1-D float64 array with no NaN or infinity, or a ValueError quoting the bad value."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must hold numbers: {exc}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} has shape {array.shape}; expected a 1-D array")
    if not np.isfinite(array).all():
        i = _first_bad(~np.isfinite(array))
        raise ValueError(f"{name}[{i}]={_v(array[i])} is not a finite number")
    return array


def _check_propensity(name: str, p: np.ndarray) -> None:
    bad = (p <= 0.0) | (p > 1.0)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(
            f"{name}[{i}]={_v(p[i])} is outside (0, 1]; a logged impression was shown, so the "
            "logging policy gave it a probability above 0 and at most 1"
        )


# --------------------------------------------------------------------------- the log


@dataclass(frozen=True, eq=False)
class SlateLog:
    """Logged impressions as aligned 1-D arrays, one entry per impression, in any order.

    request           int code of the request (slate) an impression belongs to, any integer;
                      a request's impressions need not be consecutive
    position          0-based slot of the impression in its slate
    asset             int code of the asset shown, dense: 0 <= code < 2**31
    propensity        P(the logging policy put this asset in this slot | request), in (0, 1]
    reward            engagement that followed the impression: >= 0, 0/1 or graded
    propensity_shown  P(the logging policy showed this asset anywhere in the slate | request),
                      in [propensity, 1]; None when the logger did not record it: then an
                      asset is taken to appear only in the slot it was logged in
                      (propensity_shown = propensity, `shown_logged` False)

    Derived: `requests`, the sorted distinct request codes (row i of a target slate array is
    request `requests[i]`), and `request_index`, each impression's row in it. A request holds
    at most one impression per slot and shows an asset at most once.
    """

    request: np.ndarray
    position: np.ndarray
    asset: np.ndarray
    propensity: np.ndarray
    reward: np.ndarray
    propensity_shown: np.ndarray | None = None
    requests: np.ndarray = field(init=False, repr=False)
    request_index: np.ndarray = field(init=False, repr=False)
    shown_logged: bool = field(init=False)

    def __post_init__(self) -> None:
        request = _as_codes("request", self.request, signed=True)
        position = _as_codes("position", self.position)
        asset = _as_codes("asset", self.asset)
        propensity = _as_floats("propensity", self.propensity)
        reward = _as_floats("reward", self.reward)
        shown_logged = self.propensity_shown is not None
        shown = (
            _as_floats("propensity_shown", self.propensity_shown)
            if self.propensity_shown is not None
            else propensity.copy()
        )
        lengths = {
            "request": request.size,
            "position": position.size,
            "asset": asset.size,
            "propensity": propensity.size,
            "reward": reward.size,
            "propensity_shown": shown.size,
        }
        if len(set(lengths.values())) != 1:
            raise ValueError(f"the arrays of a SlateLog must have one length; got {lengths}")
        if request.size == 0:
            raise ValueError("the log holds no impression")
        _check_propensity("propensity", propensity)
        _check_propensity("propensity_shown", shown)
        below = shown < propensity * (1.0 - 1e-9)
        if below.any():
            i = _first_bad(below)
            raise ValueError(
                f"propensity_shown[{i}]={_v(shown[i])} is below propensity[{i}]="
                f"{_v(propensity[i])}; showing an asset anywhere is at least as likely as "
                "showing it in one slot"
            )
        if (reward < 0).any():
            i = _first_bad(reward < 0)
            raise ValueError(f"reward[{i}]={_v(reward[i])} is negative; expected rewards >= 0")
        requests, request_index = np.unique(request, return_inverse=True)
        _check_unique_pairs(request_index, position, requests, "position", "slot")
        _check_unique_pairs(request_index, asset, requests, "asset", "asset")
        for name, value in (
            ("request", request),
            ("position", position),
            ("asset", asset),
            ("propensity", propensity),
            ("reward", reward),
            ("propensity_shown", shown),
            ("requests", requests),
            ("request_index", request_index.astype(np.int64)),
            ("shown_logged", shown_logged),
        ):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def n_impressions(self) -> int:
        return int(self.request.size)

    @property
    def n_requests(self) -> int:
        return int(self.requests.size)

    @property
    def n_positions(self) -> int:
        """Slots seen in the log: the highest logged position + 1."""
        return int(self.position.max()) + 1

    @property
    def shown(self) -> np.ndarray:
        """propensity_shown as used: logged, or the slot propensity when it was not."""
        assert self.propensity_shown is not None  # filled in __post_init__
        return self.propensity_shown


def _check_unique_pairs(
    row: np.ndarray, value: np.ndarray, requests: np.ndarray, name: str, what: str
) -> None:
    width = int(value.max()) + 1
    keys = row * width + value
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    if (counts > 1).any():
        i = first[_first_bad(counts > 1)]
        raise ValueError(
            f"request {_v(requests[row[i]])} has {counts[counts > 1][0]} impressions with "
            f"{name}={_v(value[i])} (first at index {i}); a slate holds one impression per {what}"
        )


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
        raise ValueError(f"n_positions={_v(n_positions)} is not an integer")
    if n_positions < log.n_positions:
        raise ValueError(
            f"n_positions={_v(n_positions)} is below the log's {log.n_positions} slots "
            f"(position {log.n_positions - 1} is logged)"
        )
    return int(n_positions)


def _item_codes(log: SlateLog, context: ArrayLike | None) -> np.ndarray:
    """Codes of the items gamma is kept for: assets, or (context, asset) pairs."""
    if context is None:
        return np.unique(log.asset, return_inverse=True)[1].astype(np.int64)
    ctx = _as_codes("context", context)
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
        raise ValueError(f"max_iter={_v(max_iter)} is not a positive integer")
    if not tol > 0:
        raise ValueError(f"tol={_v(tol)} must be > 0")
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


# --------------------------------------------------------------------------- estimates


@dataclass(frozen=True, eq=False)
class OffPolicyEstimate:
    """A target policy's expected engagement per request, estimated from a log.

    value               engagements per request under the target (the estimator's mean)
    ci_low, ci_high     percentile bootstrap interval over requests, at `confidence`
    ess                 effective sample size of the importance weights, in target
                        (request, slot) pairs: (sum u)^2 / sum u^2, compare with `n_slots`
    n_requests          logged requests the estimate averages over
    n_slots             the target's filled (request, slot) pairs
    support             share of those whose asset the logging policy could have shown:
                        from `target_support` when given (`support_known`), else the share
                        the log shows on the same request (a lower bound)
    n_clipped           weights cut to `clip`
    notes               what the numbers cannot tell, in words (support, ESS, assumptions)
    per_request         (n_requests,) each request's contribution (their mean is `value`)
    """

    estimator: str
    value: float
    ci_low: float
    ci_high: float
    confidence: float
    ess: float
    n_requests: int
    n_slots: int
    support: float
    support_known: bool
    clip: float | None
    n_clipped: int
    n_bootstrap: int
    notes: tuple[str, ...]
    per_request: np.ndarray = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "estimator": self.estimator,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": self.confidence,
            "ess": self.ess,
            "n_requests": self.n_requests,
            "n_slots": self.n_slots,
            "support": self.support,
            "support_known": self.support_known,
            "clip": self.clip,
            "n_clipped": self.n_clipped,
            "n_bootstrap": self.n_bootstrap,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class _Slots:
    """The target's slots against the log, as (n_requests, L) arrays."""

    theta: np.ndarray  # (L,) examination of each target slot
    filled: np.ndarray  # bool: the target has an asset there
    shown: np.ndarray  # bool: the log shows that asset on that request
    row: np.ndarray  # int: the impression that shows it (meaningless where not shown)
    weight: np.ndarray  # u = 1 / propensity_shown (clipped), 0 where not shown
    debiased: np.ndarray  # y~ = reward / theta_(logged slot), 0 where not shown
    supported: np.ndarray  # bool: the logging policy could have shown it (or was seen to)
    support_known: bool
    n_clipped: int


def _theta_array(theta: PositionBias | ArrayLike) -> np.ndarray:
    values = theta.theta if isinstance(theta, PositionBias) else theta
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"theta has shape {array.shape}; expected one value per slot")
    if array[0] != 1.0:
        raise ValueError(
            f"theta[0]={_v(array[0])}; theta is normalised to theta[0] = 1 (divide by theta[0])"
        )
    return array


def _check_target(log: SlateLog, target: ArrayLike) -> np.ndarray:
    slates = np.asarray(target)
    if slates.ndim != 2 or slates.shape[0] != log.n_requests or slates.shape[1] == 0:
        raise ValueError(
            f"target has shape {slates.shape}; expected (n_requests={log.n_requests}, slots), "
            "row i the target's slate for request log.requests[i], -1 for an empty slot"
        )
    if slates.dtype == bool or not np.issubdtype(slates.dtype, np.integer):
        raise ValueError(f"target has dtype {slates.dtype}; expected integer asset codes")
    slates = slates.astype(np.int64)
    if (slates >= _MAX_CODE).any():
        i, j = np.argwhere(slates >= _MAX_CODE)[0]
        raise ValueError(f"target[{i}, {j}]={_v(slates[i, j])} is not a dense code (< 2**31)")
    if (slates < -1).any():
        i, j = np.argwhere(slates < -1)[0]
        raise ValueError(f"target[{i}, {j}]={_v(slates[i, j])}; expected an asset code or -1")
    ordered = np.sort(slates, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    if repeated.any():
        i, j = np.argwhere(repeated)[0]
        raise ValueError(
            f"the target slate of request {_v(log.requests[i])} (row {i}) shows asset "
            f"{_v(ordered[i, j + 1])} twice"
        )
    return slates


def _slots(
    log: SlateLog,
    target: ArrayLike,
    theta: PositionBias | ArrayLike,
    *,
    clip: float | None,
    target_support: ArrayLike | None,
) -> _Slots:
    slates = _check_target(log, target)
    theta_all = _theta_array(theta)
    n_target_slots = slates.shape[1]
    if n_target_slots > theta_all.size:
        raise ValueError(
            f"the target has {n_target_slots} slots but theta covers {theta_all.size}: the "
            f"examination of slot {theta_all.size} is unknown"
        )
    theta_slot = theta_all[:n_target_slots]
    filled = slates >= 0
    used = filled.any(axis=0)
    bad = used & ~(np.isfinite(theta_slot) & (theta_slot >= 0))
    if bad.any():
        j = _first_bad(bad)
        raise ValueError(
            f"theta[{j}]={_v(theta_slot[j])} is not an examination probability, and the target "
            f"fills slot {j}"
        )
    if clip is not None and not clip >= 1.0:
        raise ValueError(
            f"clip={_v(clip)}; weights 1/propensity_shown are >= 1, so a clip below 1 would cut "
            "even on-policy impressions (expected clip >= 1 or None)"
        )

    # find each target (request, asset) among the logged impressions of that request
    base = int(max(log.asset.max(), slates.max())) + 1
    logged_keys = log.request_index * base + log.asset
    order = np.argsort(logged_keys, kind="stable")
    sorted_keys = logged_keys[order]
    target_keys = np.arange(log.n_requests)[:, None] * base + np.where(filled, slates, 0)
    at = np.minimum(np.searchsorted(sorted_keys, target_keys), sorted_keys.size - 1)
    shown = filled & (sorted_keys[at] == target_keys)
    row = np.where(shown, order[at], 0)

    logged_slot = log.position[row]
    if (shown & (logged_slot >= theta_all.size)).any():
        k = int(logged_slot[shown].max())
        raise ValueError(f"theta covers {theta_all.size} slots but an asset was logged in {k}")
    theta_logged = theta_all[np.minimum(logged_slot, theta_all.size - 1)]
    bad_logged = shown & ~(np.isfinite(theta_logged) & (theta_logged > 0))
    if bad_logged.any():
        k = int(logged_slot[bad_logged][0])
        raise ValueError(
            f"theta[{k}]={_v(theta_all[k])} is not a positive examination probability, and "
            f"target assets were logged in slot {k}: their reward cannot be debiased"
        )
    raw = np.where(shown, 1.0 / log.shown[row], 0.0)
    weight = raw if clip is None else np.minimum(raw, clip)
    n_clipped = 0 if clip is None else int((raw > clip).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        debiased = np.where(shown, log.reward[row] / theta_logged, 0.0)

    if target_support is None:
        supported, known = shown, False
    else:
        supported = np.asarray(target_support)
        if supported.dtype != bool or supported.shape != slates.shape:
            raise ValueError(
                f"target_support must be a bool array shaped like target {slates.shape}; "
                f"got dtype {supported.dtype}, shape {supported.shape}"
            )
        contradicted = shown & ~supported
        if contradicted.any():
            i, j = np.argwhere(contradicted)[0]
            raise ValueError(
                f"target_support[{i}, {j}] is False, yet the log shows asset {_v(slates[i, j])} "
                f"on request {_v(log.requests[i])}: the logging policy could show it"
            )
        supported, known = supported & filled, True
    return _Slots(
        theta=theta_slot,
        filled=filled,
        shown=shown,
        row=row,
        weight=weight,
        debiased=debiased,
        supported=supported,
        support_known=known,
        n_clipped=n_clipped,
    )


def _ess(weight: np.ndarray) -> float:
    total, squares = float(weight.sum()), float((weight**2).sum())
    return total * total / squares if squares > 0 else 0.0


def _resample_counts(n: int, n_bootstrap: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks of (replicates, n) counts: how often each request is drawn in a replicate.

    Draws n requests with replacement per replicate; the blocks depend on n only, so a seed
    gives the same replicates on every machine.
    """
    rng = np.random.default_rng(seed)
    block = max(1, _BOOTSTRAP_BLOCK // n)
    for start in range(0, n_bootstrap, block):
        b = min(block, n_bootstrap - start)
        draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)


def _check_bootstrap(n_bootstrap: int, confidence: float) -> None:
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)):
        raise ValueError(f"n_bootstrap={_v(n_bootstrap)} is not an integer")
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap={_v(n_bootstrap)}; expected at least 1 replicate")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={_v(confidence)}; expected a level in (0, 1), e.g. 0.95")


def _interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(replicates, [alpha / 2, 1.0 - alpha / 2])
    return float(low), float(high)


_UNSUPPORTED = {
    "ips": "IPS counts them as 0, so the value is biased low",
    "snips": "SNIPS gives them the mean of the slot's supported requests",
    "dr": "DR values them by the reward model alone",
}


def _notes(estimator: str, slots: _Slots, log: SlateLog, ess: float) -> tuple[str, ...]:
    n_slots = int(slots.filled.sum())
    unsupported = n_slots - int(slots.supported.sum())
    notes = []
    if slots.support_known:
        if unsupported:
            notes.append(
                f"{unsupported} of {n_slots} target slots hold an asset the logging policy "
                f"could not have shown: {_UNSUPPORTED[estimator]}"
            )
    elif unsupported:
        notes.append(
            f"the log shows the asset of {n_slots - unsupported} of {n_slots} target slots on "
            "the same request; the others may still be within the logging policy's reach "
            "(exploration), which the log cannot tell (pass target_support): for those "
            f"outside it, {_UNSUPPORTED[estimator]}"
        )
    if ess < _SMALL_ESS:
        notes.append(
            f"effective sample size {ess:.1f} (of {n_slots} target slots): too few weighted "
            "observations for the interval to be trusted"
        )
    if not log.shown_logged:
        notes.append(
            "propensity_shown was not logged: each asset is taken to appear only in the slot "
            "it was logged in (propensity_shown = propensity)"
        )
    if slots.n_clipped:
        notes.append(
            f"{slots.n_clipped} weights clipped: lower variance, biased "
            + ("towards the reward model" if estimator == "dr" else "low")
        )
    return tuple(notes)


def _result(
    estimator: str,
    slots: _Slots,
    log: SlateLog,
    per_request: np.ndarray,
    replicates: np.ndarray,
    *,
    clip: float | None,
    confidence: float,
) -> OffPolicyEstimate:
    ess = _ess(slots.weight[slots.filled])
    low, high = _interval(replicates, confidence)
    n_slots = int(slots.filled.sum())
    return OffPolicyEstimate(
        estimator=estimator,
        value=float(per_request.mean()),
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        ess=ess,
        n_requests=log.n_requests,
        n_slots=n_slots,
        support=float(slots.supported.sum() / n_slots) if n_slots else 0.0,
        support_known=slots.support_known,
        clip=clip,
        n_clipped=slots.n_clipped,
        n_bootstrap=int(replicates.size),
        notes=_notes(estimator, slots, log, ess),
        per_request=per_request,
    )


def _mean_replicates(per_request: np.ndarray, n_bootstrap: int, seed: int) -> np.ndarray:
    n = per_request.size
    return np.concatenate(
        [counts @ per_request / n for counts in _resample_counts(n, n_bootstrap, seed)]
    )


def estimate_ips(
    log: SlateLog,
    target: ArrayLike,
    theta: PositionBias | ArrayLike,
    *,
    clip: float | None = None,
    target_support: ArrayLike | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> OffPolicyEstimate:
    """Item-level IPS under the PBM: V = 1/N sum_i sum_j theta_j u_ij y~_ij.

    log             the logged impressions
    target          (n_requests, L) int asset codes, row i the deterministic slate the
                    target policy shows on request log.requests[i], best slot first; -1
                    for an empty slot (slates may be shorter than the logged ones)
    theta           examination per slot, theta[0] = 1, covering the target's slots and the
                    slots its assets were logged in (`estimate_position_bias`)
    clip            cap on the weights u = 1/propensity_shown; None (default) keeps IPS
                    unbiased, a cap trades a downward bias for lower variance
    target_support  optional (n_requests, L) bool: could the logging policy have shown that
                    asset on that request (e.g. it was among the top-n or the reserves)
    n_bootstrap, confidence, seed   the percentile bootstrap over requests

    Unbiased when every target asset could have been shown (propensity_shown > 0) and the
    PBM holds with the given theta; a slot whose asset the logger could not show counts 0.
    """
    _check_bootstrap(n_bootstrap, confidence)
    slots = _slots(log, target, theta, clip=clip, target_support=target_support)
    per_request = (slots.theta * slots.weight * slots.debiased).sum(axis=1)
    replicates = _mean_replicates(per_request, n_bootstrap, seed)
    return _result("ips", slots, log, per_request, replicates, clip=clip, confidence=confidence)


def estimate_snips(
    log: SlateLog,
    target: ArrayLike,
    theta: PositionBias | ArrayLike,
    *,
    clip: float | None = None,
    target_support: ArrayLike | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> OffPolicyEstimate:
    """Self-normalised IPS: the weights of each target slot scaled to mean 1 over requests.

    V = sum_j (N_j / N) theta_j (sum_i u_ij y~_ij) / (sum_i u_ij), the sums over the N_j
    requests whose target fills slot j: per slot, the weighted mean of the debiased rewards
    of the requests that showed the slot's asset. The normalisation is per target slot, not
    per request: within one request a deterministic target has a handful of weights, so
    per-request normalisation would not converge, while over requests E[u_ij] = 1 for a
    supported slot. A slot no request supports adds 0. Biased (slightly) but consistent,
    bounded by the largest debiased reward, and far less variable than IPS when a few
    requests carry large weights. Arguments as in `estimate_ips`; the bootstrap recomputes
    the ratio in every replicate.
    """
    _check_bootstrap(n_bootstrap, confidence)
    slots = _slots(log, target, theta, clip=clip, target_support=target_support)
    n = log.n_requests
    numerator = slots.theta * slots.weight * slots.debiased  # (N, L)
    weight = slots.weight
    filled = slots.filled.astype(np.float64)

    def value(num: np.ndarray, den: np.ndarray, count: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, count / n * num / den, 0.0).sum(axis=-1)

    mean_weight = weight.sum(axis=0) / np.maximum(filled.sum(axis=0), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_request = np.where(mean_weight > 0, numerator / mean_weight, 0.0).sum(axis=1)
    replicates = np.concatenate(
        [
            value(counts @ numerator, counts @ weight, counts @ filled)
            for counts in _resample_counts(n, n_bootstrap, seed)
        ]
    )
    return _result("snips", slots, log, per_request, replicates, clip=clip, confidence=confidence)


def estimate_dr(
    log: SlateLog,
    target: ArrayLike,
    theta: PositionBias | ArrayLike,
    reward_model: ArrayLike,
    *,
    reward_model_logged: ArrayLike | None = None,
    clip: float | None = None,
    target_support: ArrayLike | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> OffPolicyEstimate:
    """Doubly robust: V = 1/N sum_i sum_j theta_j (q_ij + u_ij (y~_ij - q_ij)).

    reward_model         (n_requests, L) float: the model's gamma for (request i, asset
                         target[i, j]), the expected reward in slot 0 (examination 1); any
                         value where the target slot is empty (-1), NaN included
    reward_model_logged  optional (n_impressions,) the same model on the logged impressions.
                         Only the impressions of target assets enter the correction, and for
                         those it must equal `reward_model` (same request, same asset): when
                         given, it is checked against it, which catches misaligned arrays

    Unbiased when either the weights are right (every target asset could have been shown)
    or the reward model is; a slot whose asset the logger could not show gets theta_j q_ij.
    Other arguments as in `estimate_ips`; clipping biases towards the reward model.
    """
    _check_bootstrap(n_bootstrap, confidence)
    slots = _slots(log, target, theta, clip=clip, target_support=target_support)
    q = np.asarray(reward_model, dtype=np.float64)
    if q.shape != slots.filled.shape:
        raise ValueError(
            f"reward_model has shape {q.shape}; expected the target's {slots.filled.shape}"
        )
    bad = slots.filled & ~(np.isfinite(q) & (q >= 0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"reward_model[{i}, {j}]={_v(q[i, j])} is not an expected reward >= 0 "
            "(the target fills that slot)"
        )
    q = np.where(slots.filled, q, 0.0)
    if reward_model_logged is not None:
        _check_logged_model(log, slots, q, reward_model_logged)
    correction = slots.weight * (slots.debiased - q)
    per_request = np.where(slots.filled, slots.theta * (q + correction), 0.0).sum(axis=1)
    replicates = _mean_replicates(per_request, n_bootstrap, seed)
    return _result("dr", slots, log, per_request, replicates, clip=clip, confidence=confidence)


def _check_logged_model(log: SlateLog, slots: _Slots, q: np.ndarray, logged: ArrayLike) -> None:
    q_logged = _as_floats("reward_model_logged", logged)
    if q_logged.size != log.n_impressions:
        raise ValueError(
            f"reward_model_logged has {q_logged.size} entries; expected one per impression "
            f"({log.n_impressions})"
        )
    i, j = np.nonzero(slots.shown)
    rows = slots.row[i, j]
    differ = ~np.isclose(q_logged[rows], q[i, j], rtol=1e-9, atol=1e-12)
    if differ.any():
        b = _first_bad(differ)
        raise ValueError(
            f"reward_model_logged[{rows[b]}]={_v(q_logged[rows[b]])} differs from "
            f"reward_model[{i[b]}, {j[b]}]={_v(q[i[b], j[b]])} for the same request "
            f"{_v(log.requests[i[b]])} and asset {_v(log.asset[rows[b]])}: misaligned arrays?"
        )
