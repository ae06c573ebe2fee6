"""Query sets of a time window: what evaluation ranks and calibration fits on.

One query per request context (partner, deal, stage) with engagement in [start, end), at the
context's first event in the window; its candidates are the *full eligible catalog* at that
time (`features.eligibility`), each pair with its features (`PairEncoder`, usage as of the
window's start or rolling) and its judged gain (`features.labels.context_relevance`). See
`recommender.learning.evaluation` for the whole protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.codes import codes_of, table_positions
from features.labels import LabelConfig, context_starts, window_judgements
from features.pairs import MATURITIES, STAGES
from features.schema import ENGAGEMENT_TYPES
from features.timebase import micros_to_day, to_micros
from recommender.learning.data import LearningData
from recommender.learning.encoder import PairEncoder


@dataclass
class Queries:
    """Evaluation queries with every (query, eligible asset) pair and its features."""

    contexts: pd.DataFrame  # context, partner_id, deal_id, stage, maturity, t_us, new_partner
    offsets: np.ndarray  # (n_queries + 1,) pair rows of each query
    asset_pos: np.ndarray  # (n_pairs,)
    columns: dict[str, np.ndarray]
    relevance: dict[str, dict[str, float]]
    cold: np.ndarray  # (n_pairs,) asset published inside the window
    start: pd.Timestamp
    end: pd.Timestamp
    visibility: str
    asset_ids: np.ndarray  # the catalog's ids by AssetTable position
    gain: np.ndarray  # (n_pairs,) the pair's judged gain (0 = not engaged)
    train_counts: dict[str, np.ndarray] = field(default_factory=dict)  # popularity baselines
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)  # scores per model

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.contexts)


def prepare_queries(
    data: LearningData,
    encoder: PairEncoder,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    labels: LabelConfig | None = None,
    max_queries: int | None = None,
    seed: int = 0,
    visibility: str = "frozen",
) -> Queries:
    """The queries of the window [start, end): contexts with engagement, every eligible asset."""
    if visibility not in ("frozen", "rolling"):
        raise ValueError(
            f"visibility={visibility!r} is not supported; expected 'frozen' or 'rolling'"
        )
    ctx, judged = window_contexts(data, start, end, labels or LabelConfig())
    if max_queries is not None and len(ctx) > max_queries:
        pick = np.sort(np.random.default_rng(seed).choice(len(ctx), max_queries, replace=False))
        ctx = ctx.iloc[pick].reset_index(drop=True)
    return contexts_queries(
        data, encoder, ctx, start=start, end=end, visibility=visibility, judged=judged
    )


def window_contexts(
    data: LearningData, start: pd.Timestamp, end: pd.Timestamp, labels: LabelConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The window's query contexts (`context_starts` of those with engagement with a catalog
    asset) and their judgements: what `prepare_queries` builds its queries from."""
    judged, window = window_judgements(data.events, start, end, labels)
    judged = judged[table_positions(data.table, judged["asset_id"]) >= 0]
    first = context_starts(window)
    ctx = first[first["context"].isin(set(judged["context"]))].reset_index(drop=True)
    return ctx, judged


def contexts_queries(
    data: LearningData,
    encoder: PairEncoder,
    ctx: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    visibility: str = "frozen",
    judged: pd.DataFrame | None = None,
) -> Queries:
    """Queries of the given contexts (columns context, partner_id, deal_id, stage, t_us: one
    query each, e.g. the logged requests of a window), every eligible asset of each, with the
    features the models score; `judged` (context, asset_id, gain) grades the pairs (none: no
    relevance, for scoring only)."""
    ev = data.events
    ctx = ctx.reset_index(drop=True).copy()
    if judged is None:
        judged = pd.DataFrame({"context": [], "asset_id": [], "gain": []})
    before = ev[ev["ts"] < start]
    seen_partners = set(before["partner_id"].astype(str))
    ctx["new_partner"] = ~ctx["partner_id"].isin(seen_partners)
    prow = encoder.partner_rows(ctx["partner_id"].to_numpy())
    ctx["maturity"] = [MATURITIES[m] for m in encoder.p_maturity[prow]]
    ctx["stage_code"] = codes_of(ctx["stage"], STAGES, len(ctx))
    static_ok = data.static_ok
    ok = encoder.eligible(ctx["partner_id"].to_numpy(), ctx["t_us"].to_numpy(), static_ok)
    sizes = ok.sum(axis=1)
    q_idx, asset_pos = np.nonzero(ok)
    offsets = np.r_[0, np.cumsum(sizes)]
    deal = ctx["deal_id"].to_numpy(dtype=object)
    start_us = int(to_micros(pd.Series([start]))[0])
    columns = encoder.encode(
        ctx["partner_id"].to_numpy(dtype=object)[q_idx],
        deal[q_idx],
        ctx["stage_code"].to_numpy()[q_idx],
        ctx["t_us"].to_numpy()[q_idx],
        asset_pos,
        visible_before=start_us if visibility == "frozen" else None,
    )
    table = data.table
    start_day = micros_to_day(start_us)
    cold_asset = np.nan_to_num(table.published_day, nan=-np.inf) >= start_day
    relevance: dict[str, dict[str, float]] = {}
    mine = judged[judged["context"].isin(set(ctx["context"]))]
    for c, a, g in zip(
        mine["context"].to_numpy(dtype=object),
        mine["asset_id"].to_numpy(dtype=object),
        mine["gain"].to_numpy(dtype=np.float64).tolist(),
        strict=True,
    ):
        relevance.setdefault(c, {})[a] = g
    pair_ctx = ctx["context"].to_numpy()[q_idx]
    judged_pairs = pd.Series(
        judged["gain"].to_numpy(),
        index=pd.MultiIndex.from_arrays(
            [judged["context"].to_numpy(), judged["asset_id"].to_numpy()]
        ),
    )
    pair_gain = (
        judged_pairs.reindex(pd.MultiIndex.from_arrays([pair_ctx, table.ids[asset_pos]]))
        .fillna(0.0)
        .to_numpy(dtype=np.float64)
    )
    queries = Queries(
        contexts=ctx,
        offsets=offsets,
        asset_pos=asset_pos,
        columns=columns,
        relevance=relevance,
        cold=cold_asset[asset_pos],
        start=start,
        end=end,
        visibility=visibility,
        asset_ids=table.ids,
        gain=pair_gain,
    )
    queries.train_counts = _popularity_counts(data, before, encoder)
    return queries


def _popularity_counts(
    data: LearningData, before: pd.DataFrame, encoder: PairEncoder
) -> dict[str, np.ndarray]:
    """Engagement counts before the window: per asset, and per (tier x maturity segment, asset)."""
    n = len(data.table)
    eng = before[before["type"].astype(str).isin(ENGAGEMENT_TYPES)]
    pos = table_positions(data.table, eng["asset_id"])
    ok = pos >= 0
    overall = np.bincount(pos[ok], minlength=n).astype(np.float64)
    prow = encoder.partner_rows(eng["partner_id"].astype(str).to_numpy())
    seg = encoder.p_tier[prow].astype(np.int64) * len(MATURITIES) + encoder.p_maturity[prow]
    n_seg = (int(encoder.p_tier.max()) + 1) * len(MATURITIES) if len(encoder.p_tier) else 1
    n_seg = max(n_seg, 4 * len(MATURITIES))
    by_segment = np.zeros((n_seg, n), dtype=np.float64)
    np.add.at(by_segment, (seg[ok], pos[ok]), 1.0)
    return {"overall": overall, "segment": by_segment}


def score_by_query(
    score: Callable[[dict[str, np.ndarray]], np.ndarray],
    columns: dict[str, np.ndarray],
    offsets: np.ndarray,
) -> np.ndarray:
    """`score` run on each query's pairs alone (rows offsets[q]:offsets[q + 1] of `columns`):
    for scorers that normalise within a request, as the content scorer does."""
    out = np.zeros(int(offsets[-1]), dtype=np.float64)
    for lo, hi in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        if hi > lo:
            out[lo:hi] = score({k: v[lo:hi] for k, v in columns.items()})
    return out


def rankings(
    scores: np.ndarray,
    queries: Queries,
    *,
    k: int = 10,
    mask: np.ndarray | None = None,
    relevance: dict[str, dict[str, float]] | None = None,
) -> dict[str, list[str]]:
    """Each query's assets best first (ties by catalog order), optionally only `mask` pairs.

    Lists are cut after rank k, or after the first relevant asset when that comes later:
    every metric reads only that much (MRR needs the first hit, the rest the top k).
    """
    out: dict[str, list[str]] = {}
    ids = queries.asset_ids
    relevance = queries.relevance if relevance is None else relevance
    contexts = queries.contexts["context"].tolist()
    bounds = zip(queries.offsets[:-1].tolist(), queries.offsets[1:].tolist(), strict=True)
    for q, (lo, hi) in enumerate(bounds):
        s = scores[lo:hi]
        pos = queries.asset_pos[lo:hi]
        if mask is not None:
            keep = mask[lo:hi]
            s, pos = s[keep], pos[keep]
        ranked = ids[pos[np.lexsort((pos, -s))]]
        cut = k
        rel = relevance.get(contexts[q])
        if rel and len(ranked) > k:
            hits = np.flatnonzero(np.isin(ranked, list(rel)))
            cut = max(k, int(hits[0]) + 1) if len(hits) else len(ranked)
        out[contexts[q]] = ranked[:cut].tolist()
    return out
