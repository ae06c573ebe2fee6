"""Whether partners come back to an asset: the return ratio serving applies to seen assets.

The ratio is the engagement rate of impressions of an asset the partner had already engaged
with, over that of impressions of assets it had not, each rate per examined impression (the
slot's examination, `policy_value.estimate_examination`, so that where the portal happened
to show seen assets does not count). Few seen impressions say little: the seen rate is shrunk
towards `DEFAULT_RETURN_RATIO` times the unseen one by `PRIOR_EXAMINED` examined impressions'
worth. `recommender.ranking.seen` applies the ratio, on ranks, the same for every scorer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.codes import table_positions
from features.schema import ENGAGEMENT_TYPES
from recommender.learning.data import LearningData
from recommender.learning.policy_value import impression_rewards, logged_impressions
from recommender.ranking.seen import DEFAULT_RETURN_RATIO, MAX_RETURN_RATIO, MIN_RETURN_RATIO

PRIOR_EXAMINED = 50.0


def return_ratio(
    data: LearningData, examination: tuple[float, ...], before: pd.Timestamp
) -> dict[str, Any]:
    """The return ratio from the impressions logged before `before`, with the counts behind it:
    {"ratio", "method" ("log" or "prior"), "seen_impressions", "seen_engaged",
    "unseen_impressions", "unseen_engaged"}. "prior" (the default ratio) when the log has no
    impressions, no examination curve or no engagement after an unseen impression."""
    imp = logged_impressions(data, data.events["ts"].min(), before, with_propensity=False)
    out: dict[str, Any] = {"ratio": DEFAULT_RETURN_RATIO, "method": "prior"}
    if not len(imp) or not examination:
        return out | _counts(0, 0.0, 0, 0.0)
    theta = np.asarray(examination, dtype=np.float64)
    pos = np.minimum(imp["position"].to_numpy(dtype=np.int64), len(theta) - 1)
    examined = theta[pos]
    reward = impression_rewards(data, imp, before)
    seen = _engaged_before(data, imp)
    n_seen, n_unseen = int(seen.sum()), int((~seen).sum())
    e_seen, e_unseen = float(examined[seen].sum()), float(examined[~seen].sum())
    c_seen, c_unseen = float(reward[seen].sum()), float(reward[~seen].sum())
    counts = _counts(n_seen, c_seen, n_unseen, c_unseen)
    if c_unseen <= 0 or e_unseen <= 0:
        return out | counts
    unseen_rate = c_unseen / e_unseen
    seen_rate = (c_seen + PRIOR_EXAMINED * DEFAULT_RETURN_RATIO * unseen_rate) / (
        e_seen + PRIOR_EXAMINED
    )
    ratio = float(np.clip(seen_rate / unseen_rate, MIN_RETURN_RATIO, MAX_RETURN_RATIO))
    return {"ratio": round(ratio, 6), "method": "log"} | counts


def _counts(n_seen: int, c_seen: float, n_unseen: int, c_unseen: float) -> dict[str, Any]:
    return {
        "seen_impressions": n_seen,
        "seen_engaged": int(c_seen),
        "unseen_impressions": n_unseen,
        "unseen_engaged": int(c_unseen),
    }


def _engaged_before(data: LearningData, imp: pd.DataFrame) -> np.ndarray:
    """Whether the impression's partner had engaged with its asset strictly before it."""
    ev = data.events
    eng = ev[ev["type"].astype(str).isin(ENGAGEMENT_TYPES) & ev["partner_id"].notna()]
    eng = eng.assign(asset_pos=table_positions(data.table, eng["asset_id"]))
    first = (
        eng[eng["asset_pos"] >= 0]
        .groupby(["partner_id", "asset_pos"], sort=False)["ts"]
        .min()
        .rename("first_engaged")
        .reset_index()
    )
    keyed = imp[["partner_id", "asset_pos", "ts"]].reset_index(drop=True)
    joined = keyed.merge(first, on=["partner_id", "asset_pos"], how="left")
    return (joined["first_engaged"] < joined["ts"]).fillna(False).to_numpy(dtype=bool)
