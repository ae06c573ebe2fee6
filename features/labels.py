"""Training labels and evaluation judgements from engagement and deal outcomes.

A partner's engagement with an asset is graded by `LabelConfig` (share > download > open by
default); an asset engaged with in a deal that was later won earns `won_bonus` on top.
The label of one (context, asset) is its *best* engagement, not the sum, so a partner that
opened a document five times does not outweigh one that shared it with a customer.

Contexts: a request context is one (partner, deal, stage). Impressions carry a request id; an
engagement is joined to its impression by request id when the engagement carries one, else by
(partner, deal, stage, asset) within `horizon_days` after the impression.

Everything here is vectorised pandas; labels may look at events *after* the example (that is
what a label is), but never past `cutoff` when one is given, so training labels cannot peek
into a held-out window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.schema import ENGAGEMENT_TYPES
from features.timebase import to_micros

_NONE = "-"


@dataclass(frozen=True)
class LabelConfig:
    """Gains of engagement kinds and of deal outcomes (all >= 0)."""

    open: float = 1.0
    download: float = 2.0
    share: float = 3.0
    won_bonus: float = 1.0
    horizon_days: float = 14.0

    def __post_init__(self) -> None:
        for name in (*ENGAGEMENT_TYPES, "won_bonus", "horizon_days"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name}={value!r} is not a number >= 0")

    @property
    def weights(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in ENGAGEMENT_TYPES}

    @property
    def max_gain(self) -> float:
        return max(self.weights.values()) + self.won_bonus


def context_keys(frame: pd.DataFrame) -> pd.Series:
    """One string key per row for its request context: partner|deal|stage."""
    parts = [
        frame["partner_id"].astype(str),
        _text(frame, "deal_id"),
        _text(frame, "stage"),
    ]
    return parts[0].str.cat(parts[1:], sep="|")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(_NONE, index=frame.index)
    col = frame[column]
    return col.astype(object).where(col.notna(), _NONE).astype(str)


def engagement_gains(events: pd.DataFrame, config: LabelConfig) -> np.ndarray:
    """The gain of each event's engagement type (0 for other event types)."""
    gains = pd.Series(events["type"].astype(str)).map(config.weights)
    return gains.fillna(0.0).to_numpy(dtype=np.float64)


def won_deals(events: pd.DataFrame, *, cutoff: pd.Timestamp | None = None) -> set[str]:
    """Deal ids whose logged outcome (the last one, if several) is 'won', known before cutoff."""
    out = events[events["type"].astype(str) == "deal_outcome"]
    if cutoff is not None:
        out = out[out["ts"] < cutoff]
    if not len(out):
        return set()
    last = out.sort_values("ts", kind="stable").groupby("deal_id", sort=False)["outcome"].last()
    return set(last.index[last.astype(str) == "won"].astype(str))


def _engagements(
    events: pd.DataFrame, config: LabelConfig, cutoff: pd.Timestamp | None
) -> pd.DataFrame:
    eng = events[events["type"].astype(str).isin(ENGAGEMENT_TYPES) & events["asset_id"].notna()]
    if cutoff is not None:
        eng = eng[eng["ts"] < cutoff]
    eng = eng.assign(gain=engagement_gains(eng, config))
    wins = won_deals(events, cutoff=cutoff)
    if config.won_bonus and wins:
        won = eng["deal_id"].astype(object).isin(wins).to_numpy()
        eng = eng.assign(gain=eng["gain"].to_numpy() + config.won_bonus * won)
    return eng


def impression_labels(
    impressions: pd.DataFrame,
    events: pd.DataFrame,
    config: LabelConfig | None = None,
    *,
    cutoff: pd.Timestamp | None = None,
) -> np.ndarray:
    """Graded gain of each impression row: the best engagement that followed it.

    `impressions` and `events` follow the EVENTS columns (ts tz-naive UTC). An engagement
    counts for an impression of the same asset if it carries the impression's request id, or
    (when it carries none) if it is in the same partner/deal/stage context no earlier than the
    impression and within `horizon_days` after it. Events at or after `cutoff` are ignored.
    """
    config = config or LabelConfig()
    n = len(impressions)
    if n == 0:
        return np.zeros(0)
    eng = _engagements(events, config, cutoff)
    imp = impressions.reset_index(drop=True)
    gain = np.zeros(n)
    has_req = eng["request_id"].notna() if "request_id" in eng else pd.Series(False, eng.index)
    by_req = eng[has_req.to_numpy()]
    if len(by_req) and "request_id" in imp:
        best = by_req.groupby(["request_id", "asset_id"], sort=False)["gain"].max()
        keys = pd.MultiIndex.from_arrays([imp["request_id"].astype(object), imp["asset_id"]])
        found = best.reindex(keys).to_numpy(dtype=np.float64)
        gain = np.fmax(gain, np.nan_to_num(found, nan=0.0))
    by_ctx = eng[~has_req.to_numpy()]
    if len(by_ctx):
        left = pd.DataFrame(
            {
                "row": np.arange(n),
                "ctx": context_keys(imp).to_numpy(),
                "asset_id": imp["asset_id"].astype(str).to_numpy(),
                "t": imp["ts"].to_numpy(),
            }
        )
        right = pd.DataFrame(
            {
                "ctx": context_keys(by_ctx).to_numpy(),
                "asset_id": by_ctx["asset_id"].astype(str).to_numpy(),
                "t_eng": by_ctx["ts"].to_numpy(),
                "gain": by_ctx["gain"].to_numpy(),
            }
        )
        joined = left.merge(right, on=["ctx", "asset_id"])
        horizon = pd.Timedelta(days=config.horizon_days)
        ok = (joined["t_eng"] >= joined["t"]) & (joined["t_eng"] <= joined["t"] + horizon)
        best = joined[ok].groupby("row")["gain"].max()
        gain[best.index.to_numpy()] = np.fmax(gain[best.index.to_numpy()], best.to_numpy())
    return gain


def context_relevance(
    events: pd.DataFrame,
    config: LabelConfig | None = None,
    *,
    cutoff: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Judgements per request context: columns context, asset_id, gain (> 0), best per pair.

    This is the evaluation's ground truth: what each context actually engaged with.
    """
    config = config or LabelConfig()
    eng = _engagements(events, config, cutoff)
    frame = pd.DataFrame(
        {
            "context": context_keys(eng).to_numpy(),
            "asset_id": eng["asset_id"].astype(str).to_numpy(),
            "gain": eng["gain"].to_numpy(),
        }
    )
    best = frame.groupby(["context", "asset_id"], sort=False)["gain"].max().reset_index()
    return best[best["gain"] > 0].reset_index(drop=True)


def as_int_grades(
    gain: np.ndarray, config: LabelConfig | None = None, levels: int = 31
) -> np.ndarray:
    """Gains mapped to integer grades 0..levels-1 (rank objectives such as LambdaRank want ints).

    Integer gains pass through unchanged when they fit; fractional ones are scaled.
    """
    gain = np.asarray(gain, dtype=np.float64)
    if len(gain) == 0:
        return gain.astype(np.int32)
    top = float(gain.max())
    if np.allclose(gain, np.round(gain)) and top < levels:
        return np.round(gain).astype(np.int32)
    scale = (levels - 1) / (config.max_gain if config else max(top, 1e-9))
    return np.clip(np.round(gain * scale), 0, levels - 1).astype(np.int32)


def window_judgements(
    events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, config: LabelConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(judged, window) for the time window [start, end) of a ts-sorted log.

    judged: `context_relevance` of the window's engagement (a deal's outcome known by `end`
    counts for the won bonus); window: the window's events that name a partner, the events a
    request context is made of (a context without deal or stage, e.g. a partner browsing the
    portal, is one as well: partner|-|-).
    """
    in_window = (events["ts"] >= start) & (events["ts"] < end)
    known_outcome = (events["type"] == "deal_outcome") & (events["ts"] < end)
    judged = context_relevance(events[in_window | known_outcome], config)
    window = events[in_window]
    window = window[window["partner_id"].notna()]
    return judged, window


def context_starts(window: pd.DataFrame) -> pd.DataFrame:
    """Each request context's first event in `window`: columns context, partner_id, deal_id,
    stage (text) and t_us (epoch microseconds), one row per context in order of appearance."""
    return (
        pd.DataFrame(
            {
                "context": context_keys(window).to_numpy(),
                "partner_id": window["partner_id"].astype(str).to_numpy(),
                "deal_id": window["deal_id"].astype(object).to_numpy(),
                "stage": window["stage"].astype(str).to_numpy(),
                "t_us": to_micros(window["ts"]),
            }
        )
        .groupby("context", sort=False)
        .first()
        .reset_index()
    )
