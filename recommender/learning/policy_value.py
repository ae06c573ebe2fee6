"""Each model's value on the requests a window logged, estimated off-policy from the logs.

Metrics over judged contexts rank the whole catalog and count what was engaged with; they
cannot say what a partner would have done with an asset nobody showed. The logged requests
can, where the serving policy explored: every impression carries the probability that the
policy put that asset in that slot and showed it at all (`propensity`, `propensity_shown`).
For each logged request of the window, every model ranks the request's eligible assets (the
same features, at the request's time); its top L (L = the slots the log filled) is the slate
it would have shown, and `recommender.learning.off_policy` estimates how many of those a
partner would have engaged with:

- reward: 1 for an impression the partner then opened, downloaded or shared (joined by
  request id and asset), else 0; the value is engaged impressions per request;
- position bias: examination per slot from the log itself, on every impression up to the
  window's end (`estimate_examination`: the exploration's randomisation, else an EM click
  model);
- IPS, SNIPS and DR, with bootstrap intervals, effective sample size and support; DR's
  reward model is each asset's examination-corrected engagement rate before the window.

Real logs with propensities get these estimates, generated or not; a log without
propensities gets none, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.codes import table_positions
from features.labels import LabelConfig, impression_labels
from features.timebase import to_micros
from recommender.learning.data import LearningData
from recommender.learning.encoder import PairEncoder
from recommender.learning.evaluation import model_scores
from recommender.learning.off_policy import (
    PositionBias,
    SlateLog,
    estimate_dr,
    estimate_ips,
    estimate_position_bias,
    estimate_snips,
    position_bias_from_exploration,
)
from recommender.learning.queries import Queries, contexts_queries
from recommender.ranking.learned import LearnedScorer

REWARD = "engaged impressions per request (opened, downloaded or shared after being shown)"


@dataclass
class LoggedRequests:
    """A window's logged requests as slates: the log (request codes 0..n-1, asset codes =
    catalog table positions) and one row per request (context = request id, partner_id,
    deal_id, stage, t_us), in request-code order."""

    log: SlateLog
    requests: pd.DataFrame
    slots: int


def logged_impressions(
    data: LearningData, start: pd.Timestamp, end: pd.Timestamp, *, with_propensity: bool
) -> pd.DataFrame:
    """The impressions logged in [start, end) with a request, a slot, a stage and an asset of
    the catalog (its table position as asset_pos); only those carrying a propensity when
    `with_propensity`."""
    ev = data.events
    imp = ev[(ev["type"] == "impression") & (ev["ts"] >= start) & (ev["ts"] < end)]
    imp = imp[imp["request_id"].notna() & imp["position"].notna() & imp["stage"].notna()]
    if with_propensity:
        if "propensity" not in imp:
            return imp.iloc[:0]
        imp = imp[imp["propensity"].notna()]
    return imp.assign(asset_pos=table_positions(data.table, imp["asset_id"])).query(
        "asset_pos >= 0"
    )


def impression_rewards(
    data: LearningData, impressions: pd.DataFrame, end: pd.Timestamp
) -> np.ndarray:
    """1 where the shown asset was engaged with after the impression (same request), else 0."""
    gains = impression_labels(impressions, data.events, LabelConfig(), cutoff=end)
    return (gains > 0).astype(np.float64)


def logged_requests(
    data: LearningData,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    max_requests: int | None = None,
    seed: int = 0,
) -> LoggedRequests | None:
    """The window's impressions that carry propensities, as slates (None when there are
    none); at most `max_requests` requests, sampled whole."""
    imp = logged_impressions(data, start, end, with_propensity=True)
    if not len(imp):
        return None
    ids = imp["request_id"].astype(str).to_numpy()
    unique = pd.unique(ids)
    if max_requests is not None and len(unique) > max_requests:
        rng = np.random.default_rng(seed)
        keep = set(rng.choice(unique, max_requests, replace=False).tolist())
        mask = np.isin(ids, list(keep))
        imp, ids = imp[mask], ids[mask]
    code, names = pd.factorize(ids, sort=True)
    reward = impression_rewards(data, imp, end)
    shown = imp.get("propensity_shown")
    log = SlateLog(
        request=code,
        position=imp["position"].to_numpy(dtype=np.int64),
        asset=imp["asset_pos"].to_numpy(dtype=np.int64),
        propensity=imp["propensity"].to_numpy(dtype=np.float64),
        reward=reward,
        propensity_shown=None if shown is None else shown.to_numpy(dtype=np.float64),
    )
    first = (
        pd.DataFrame(
            {
                "code": code,
                "partner_id": imp["partner_id"].astype(str).to_numpy(),
                "deal_id": imp["deal_id"].astype(object).to_numpy(),
                "stage": imp["stage"].astype(object).to_numpy(),
                "t_us": to_micros(imp["ts"]),
            }
        )
        .groupby("code", sort=True)
        .first()
    )
    requests = pd.DataFrame(
        {
            "context": np.asarray(names, dtype=object),
            "partner_id": first["partner_id"].to_numpy(),
            "deal_id": first["deal_id"].to_numpy(),
            "stage": first["stage"].to_numpy(),
            "t_us": first["t_us"].to_numpy(),
        }
    )
    slots = int(log.position.max()) + 1
    return LoggedRequests(log=log, requests=requests, slots=slots)


def position_bias(data: LearningData, end: pd.Timestamp, slots: int) -> PositionBias:
    """Examination per slot from every logged impression before `end` (the EM click model)."""
    imp = logged_impressions(data, data.events["ts"].min(), end, with_propensity=False)
    return estimate_position_bias(_slate_log(data, imp, end), n_positions=slots)


# explored engagements per slot (on average) above which the exploration's estimate is used
MIN_EXPLORED_ENGAGEMENTS = 40


def examination_curve(data: LearningData, before: pd.Timestamp) -> tuple[float, ...]:
    """How likely a partner is to look at each slot (`estimate_examination`'s curve)."""
    return estimate_examination(data, before)[0]


def estimate_examination(data: LearningData, before: pd.Timestamp) -> tuple[tuple[float, ...], str]:
    """How likely a partner is to look at each slot, and how that was found, from the
    impressions logged before
    `before`: the usage features' examination (`UsageConfig`), made non-increasing.

    From the exploration's randomisation when the log has enough of it (an explored asset
    lands in a uniformly random slot, and shows as propensity_shown > propensity): unbiased
    whatever the logging policy ranked. Otherwise by the EM click model with attractiveness per
    (asset, deal stage), which leans low for lower slots when the logging policy put what
    suited each deal on top (it cannot tell a deal's liking from the slot). Slots the log
    cannot tell take the value above them; () when the log has no impressions with positions
    or no engagement to tell the slots apart. The method: "exploration", "em" or "none"."""
    imp = logged_impressions(data, data.events["ts"].min(), before, with_propensity=False)
    if not len(imp):
        return (), "none"
    slots = int(imp["position"].max()) + 1
    log = _slate_log(data, imp, before)
    theta: np.ndarray | None = None
    method = "exploration"
    if "propensity_shown" in imp:
        explored = (imp["propensity_shown"] > imp["propensity"]).to_numpy()
        engaged = log.reward[explored]
        if engaged.sum() >= MIN_EXPLORED_ENGAGEMENTS * slots:
            try:
                theta = position_bias_from_exploration(log, explored, n_positions=slots).theta
            except ValueError:
                theta = None
    if theta is None:
        method = "em"
        stage = pd.factorize(imp["stage"].astype(str))[0]
        try:
            theta = estimate_position_bias(log, context=stage, n_positions=slots).theta
        except ValueError:  # e.g. no impression was ever engaged with
            return (), "none"
    filled = pd.Series(theta).ffill().to_numpy()
    if not np.isfinite(filled).all():
        return (), "none"
    # later slots are looked at no more than earlier ones (noise aside)
    monotone = np.minimum.accumulate(np.clip(filled, 0.0, 1.0))
    return tuple(round(float(t), 6) for t in monotone), method


def _slate_log(data: LearningData, imp: pd.DataFrame, end: pd.Timestamp) -> SlateLog:
    """Impressions as a slate log for the position bias (propensities are not needed)."""
    return SlateLog(
        request=pd.factorize(imp["request_id"].astype(str))[0],
        position=imp["position"].to_numpy(dtype=np.int64),
        asset=imp["asset_pos"].to_numpy(dtype=np.int64),
        propensity=np.ones(len(imp)),
        reward=impression_rewards(data, imp, end),
    )


def engagement_rates(
    data: LearningData, theta: np.ndarray, before: pd.Timestamp
) -> tuple[np.ndarray, float]:
    """Each asset's engagement per examined impression before `before` (reward / theta of its
    slot), in [0, 1], and the overall rate for assets never shown: DR's reward model."""
    imp = logged_impressions(data, data.events["ts"].min(), before, with_propensity=False)
    n = len(data.table)
    if not len(imp):
        return np.zeros(n), 0.0
    pos = imp["position"].to_numpy(dtype=np.int64)
    ok = pos < len(theta)
    pos, assets = pos[ok], imp["asset_pos"].to_numpy(dtype=np.int64)[ok]
    reward = impression_rewards(data, imp, before)[ok]
    examined = np.nan_to_num(theta[pos], nan=0.0)
    looked = np.bincount(assets, weights=examined, minlength=n)
    engaged = np.bincount(assets, weights=reward, minlength=n)
    overall = float(engaged.sum() / looked.sum()) if looked.sum() > 0 else 0.0
    rate = np.where(looked > 0, engaged / np.maximum(looked, 1e-12), overall)
    return np.clip(rate, 0.0, 1.0), float(np.clip(overall, 0.0, 1.0))


def slates(scores: np.ndarray, queries: Queries, slots: int) -> np.ndarray:
    """(n_queries, slots) asset positions each query's top `slots` by `scores` (ties by catalog
    order, as every ranking here); -1 where a query has fewer eligible assets."""
    out = np.full((len(queries), slots), -1, dtype=np.int64)
    bounds = zip(queries.offsets[:-1].tolist(), queries.offsets[1:].tolist(), strict=True)
    for q, (lo, hi) in enumerate(bounds):
        pos = queries.asset_pos[lo:hi]
        top = pos[np.lexsort((pos, -scores[lo:hi]))[:slots]]
        out[q, : len(top)] = top
    return out


def off_policy_block(
    data: LearningData,
    encoder: PairEncoder,
    scorer: LearnedScorer | None,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    visibility: str = "frozen",
    max_requests: int | None = 3000,
    n_bootstrap: int = 500,
    seed: int = 0,
) -> dict[str, Any]:
    """IPS, SNIPS and DR estimates of each model's engaged impressions per request on the
    window's logged requests (see the module docstring); {"available": False, "reason"} when
    the window logged no propensities or the log cannot tell the position bias."""
    logged = logged_requests(data, start, end, max_requests=max_requests, seed=seed)
    if logged is None:
        return {"available": False, "reason": "no impression of the window carries a propensity"}
    curve, method = estimate_examination(data, end)
    if len(curve) < logged.slots:
        return {
            "available": False,
            "reason": "the log cannot tell how often each slot is looked at",
        }
    bias = np.asarray(curve[: logged.slots])
    if not (bias > 0).all():
        slot = int(np.flatnonzero(~(bias > 0))[0])
        return {
            "available": False,
            "reason": f"no engagement was logged in slot {slot} or below: the log cannot tell "
            "how often those slots are looked at",
        }
    queries = contexts_queries(
        data, encoder, logged.requests, start=start, end=end, visibility=visibility
    )
    scores = model_scores(scorer, queries, data)
    rate, _overall = engagement_rates(data, bias, start)
    models: dict[str, dict[str, Any]] = {}
    logged_value = float(logged.log.reward.sum() / len(logged.log.requests))
    for name, values in scores.items():
        target = slates(values, queries, logged.slots)
        model = np.where(target >= 0, rate[np.maximum(target, 0)], np.nan)
        kwargs = {"n_bootstrap": n_bootstrap, "seed": seed}
        models[name] = {
            "ips": estimate_ips(logged.log, target, bias, **kwargs).to_json(),
            "snips": estimate_snips(logged.log, target, bias, **kwargs).to_json(),
            "dr": estimate_dr(logged.log, target, bias, model, **kwargs).to_json(),
        }
    return {
        "available": True,
        "reward": REWARD,
        "requests": len(logged.log.requests),
        "slots": logged.slots,
        "logged_policy_value": round(logged_value, 6),
        "position_bias": {"method": method, "theta": [float(t) for t in bias]},
        "models": models,
    }
