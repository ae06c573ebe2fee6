"""The estimators: IPS, SNIPS and doubly robust estimates of a target slate policy's expected
engagement per request, with bootstrap intervals over requests, the effective sample size and
the target's support (see the package docstring for the formulas and when to trust them)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.learning.off_policy.position_bias import PositionBias
from recommender.learning.off_policy.slates import (
    MAX_CODE,
    ArrayLike,
    SlateLog,
    as_floats,
    first_bad,
    fmt,
)

# a resampling block holds at most this many (replicate, request) counts, so memory stays
# bounded (~16 MB of int64) whatever the number of requests and replicates
_BOOTSTRAP_BLOCK = 2_000_000
# below this many effective (request, slot) pairs a result says its interval is unreliable
_SMALL_ESS = 30.0


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
            f"theta[0]={fmt(array[0])}; theta is normalised to theta[0] = 1 (divide by theta[0])"
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
    if (slates >= MAX_CODE).any():
        i, j = np.argwhere(slates >= MAX_CODE)[0]
        raise ValueError(f"target[{i}, {j}]={fmt(slates[i, j])} is not a dense code (< 2**31)")
    if (slates < -1).any():
        i, j = np.argwhere(slates < -1)[0]
        raise ValueError(f"target[{i}, {j}]={fmt(slates[i, j])}; expected an asset code or -1")
    ordered = np.sort(slates, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    if repeated.any():
        i, j = np.argwhere(repeated)[0]
        raise ValueError(
            f"the target slate of request {fmt(log.requests[i])} (row {i}) shows asset "
            f"{fmt(ordered[i, j + 1])} twice"
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
        j = first_bad(bad)
        raise ValueError(
            f"theta[{j}]={fmt(theta_slot[j])} is not an examination probability, and "
            f"the target fills slot {j}"
        )
    if clip is not None and not clip >= 1.0:
        raise ValueError(
            f"clip={fmt(clip)}; weights 1/propensity_shown are >= 1, so a clip below 1 "
            "would cut even on-policy impressions (expected clip >= 1 or None)"
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
            f"theta[{k}]={fmt(theta_all[k])} is not a positive examination probability, and "
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
                f"target_support[{i}, {j}] is False, yet the log shows asset {fmt(slates[i, j])} "
                f"on request {fmt(log.requests[i])}: the logging policy could show it"
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
        raise ValueError(f"n_bootstrap={fmt(n_bootstrap)} is not an integer")
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap={fmt(n_bootstrap)}; expected at least 1 replicate")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={fmt(confidence)}; expected a level in (0, 1), e.g. 0.95")


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
            f"reward_model[{i}, {j}]={fmt(q[i, j])} is not an expected reward >= 0 "
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
    q_logged = as_floats("reward_model_logged", logged)
    if q_logged.size != log.n_impressions:
        raise ValueError(
            f"reward_model_logged has {q_logged.size} entries; expected one per impression "
            f"({log.n_impressions})"
        )
    i, j = np.nonzero(slots.shown)
    rows = slots.row[i, j]
    differ = ~np.isclose(q_logged[rows], q[i, j], rtol=1e-9, atol=1e-12)
    if differ.any():
        b = first_bad(differ)
        raise ValueError(
            f"reward_model_logged[{rows[b]}]={fmt(q_logged[rows[b]])} differs from "
            f"reward_model[{i[b]}, {j[b]}]={fmt(q[i[b], j[b]])} for the same request "
            f"{fmt(log.requests[i[b]])} and asset {fmt(log.asset[rows[b]])}: misaligned arrays?"
        )
