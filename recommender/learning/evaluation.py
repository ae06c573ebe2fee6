"""Offline evaluation on the held-out window, against baselines and an oracle.

Protocol (the same for every model, k = 10 by default):

- **Window.** The held-out window is the last part of the log by time (`Split.test` to the
  last event). Models are trained on events before it.
- **Queries.** One query per request context in the window: a (partner, deal, stage) with at
  least one engagement there. Its time is the context's first event in the window.
- **Candidates.** Every model ranks the *full eligible catalog* for the query: published by
  the query day, not expired, allowed for the partner's tier and regions (the pipeline's
  eligibility), not just the assets that were impressed.
- **Relevance.** The context's observed engagement in the window, graded: open 1,
  download 2, share 3, +1 when the asset was used in a deal that was won (the best grade per
  asset; `features.labels`). Unengaged assets have gain 0.
- **What models may know.** Everything logged before the window starts ("frozen", the
  default): the learned model's usage features and the popularity baselines count events
  before the window only (decay and asset age still run to the query's time). With
  ``visibility="rolling"`` the learned model also sees the window's events before each query,
  as a service whose snapshot is rebuilt as events arrive.
- **Metrics** (`recommender.learning.metrics`, checked against trec_eval/pytrec_eval): NDCG@k with
  *linear* gains and a log2(rank + 1) discount; recall@k; MAP@k whose AP divides by *all*
  relevant items of the query (trec_eval's map_cut); MRR over the whole ranking; catalog
  coverage@k = distinct assets in any top k / assets in the catalog. Means are over queries.
- **Models.** `learned` (the model with its cold-start blend); `popularity` (engagements
  before the window, all partners); `segment_popularity` (the same within the partner's
  tier x maturity segment); `semantic` (cosine similarity of the deal notes to the asset's
  best chunk); `playbook` (the content scorer: playbook prior + notes + metadata, i.e. what
  serves before any model exists); `oracle` (the generator's true utility, only for data the
  generator made). Ties are broken by catalog order.
- **Slices.** `cold_start_assets`: judgments *and* rankings restricted to assets published
  inside the window (how well new assets are ordered among themselves); `new_partners`:
  queries of partners with no event before the window; `stage=<stage>` and
  `maturity=<maturity>`: the queries of each deal stage and partner maturity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd

from features.labels import LabelConfig, context_keys, context_relevance
from features.pairs import MATURITIES, STAGES, AssetTable
from features.schema import ENGAGEMENT_TYPES
from features.timebase import micros_to_day, to_micros
from features.usage import codes_of, table_positions
from recommender.learning.metrics import evaluate_rankings
from recommender.ranking.content import ContentScorer
from recommender.ranking.learned import LearnedScorer

BASELINES = ("popularity", "segment_popularity", "semantic", "playbook")
MODEL_ORDER = ("learned", *BASELINES, "oracle")
METRIC_NAMES = ("ndcg@{k}", "recall@{k}", "map@{k}", "mrr", "coverage@{k}")


# ---- the oracle ---------------------------------------------------------------------------------


class Oracle(Protocol):
    """The true utility of (deal at a stage, asset), which only a simulator knows: the demo
    generator's (`demo.oracle_for`) or another's. Evaluation ranks by it as the `oracle`
    model and scores every model against it (`truth_ndcg`)."""

    def utility(
        self, deal_ids: Sequence[Any], stages: Sequence[str], table: AssetTable
    ) -> np.ndarray:
        """(n, len(table)) utility of each (deal at stage) for every catalog asset; -inf for
        assets or deals the oracle does not know."""
        ...


# ---- queries ------------------------------------------------------------------------------------


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
    data: Any,
    encoder: Any,
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
    labels = labels or LabelConfig()
    ev = data.events
    in_window = (ev["ts"] >= start) & (ev["ts"] < end)
    # Engagement inside the window; deal outcomes known by its end (for the won bonus).
    judged = context_relevance(
        ev[in_window | ((ev["type"] == "deal_outcome") & (ev["ts"] < end))], labels
    )
    window = ev[in_window]
    window = window[window["stage"].notna() & window["partner_id"].notna()]
    judged = judged[table_positions(data.table, judged["asset_id"]) >= 0]
    relevant_contexts = set(judged["context"])
    keys = context_keys(window)
    first = (
        pd.DataFrame(
            {
                "context": keys.to_numpy(),
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
    ctx = first[first["context"].isin(relevant_contexts)].reset_index(drop=True)
    if max_queries is not None and len(ctx) > max_queries:
        pick = np.sort(np.random.default_rng(seed).choice(len(ctx), max_queries, replace=False))
        ctx = ctx.iloc[pick].reset_index(drop=True)
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


def _popularity_counts(data: Any, before: pd.DataFrame, encoder: Any) -> dict[str, np.ndarray]:
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


# ---- scoring ------------------------------------------------------------------------------------


def _per_group(fn: Any, columns: dict[str, np.ndarray], offsets: np.ndarray) -> np.ndarray:
    out = np.zeros(int(offsets[-1]), dtype=np.float64)
    for lo, hi in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        if hi > lo:
            out[lo:hi] = fn({k: v[lo:hi] for k, v in columns.items()})
    return out


def learned_scores(scorer: LearnedScorer, queries: Queries) -> np.ndarray:
    """The learned scorer's score of every pair: the model vectorised over all pairs, the
    prior (which normalises within a request) per query; the same blend as `score`."""
    raw_model, raw_prior = raw_scores(scorer, queries)
    w = scorer.blend_weight(queries.columns)
    return w * scorer.model_calibration(raw_model) + (1.0 - w) * scorer.prior_calibration(raw_prior)


def raw_scores(scorer: LearnedScorer, queries: Queries) -> tuple[np.ndarray, np.ndarray]:
    """The model's raw score and the prior's score of every pair (computed once per scorer
    and query set: calibration and the cold-start choice both need them)."""
    key = id(scorer.estimator)
    cached = queries.cache.get(key)
    if cached is None:
        model = scorer.model_score(queries.columns)
        prior = _per_group(scorer.prior.score, queries.columns, queries.offsets)
        cached = queries.cache[key] = (model, prior)
    return cached


def calibrate(scorer: LearnedScorer, queries: Queries) -> LearnedScorer:
    """The scorer with model and prior mapped (Platt) to the probability that the query's
    context engages with the asset, fitted on these (validation) queries' pairs."""
    from dataclasses import replace

    from recommender.ranking.learned import Platt

    if len(queries) == 0:
        return scorer
    relevant = queries.gain > 0
    model, prior = raw_scores(scorer, queries)
    return replace(
        scorer,
        model_calibration=Platt.fit(model, relevant),
        prior_calibration=Platt.fit(prior, relevant),
    )


def calibration_bins(
    predicted: np.ndarray, relevant: np.ndarray, bins: int = 10
) -> dict[str, list[float]]:
    """Mean predicted probability and observed rate in quantile bins of the prediction."""
    predicted = np.asarray(predicted, dtype=np.float64)
    observed = np.asarray(relevant, dtype=np.float64)
    if not len(predicted):
        return {}
    edges = np.unique(np.quantile(predicted, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, max(len(edges) - 2, 0))
    out: dict[str, list[float]] = {"predicted": [], "observed": [], "count": []}
    for b in range(max(len(edges) - 1, 1)):
        member = which == b
        if member.any():
            out["predicted"].append(round(float(predicted[member].mean()), 6))
            out["observed"].append(round(float(observed[member].mean()), 6))
            out["count"].append(int(member.sum()))
    return out


def model_scores(
    scorer: LearnedScorer | None, queries: Queries, data: Any, encoder: Any = None
) -> dict[str, np.ndarray]:
    """Scores of every pair by each model of MODEL_ORDER (oracle only when known)."""
    ctx = queries.contexts
    q_of_pair = np.repeat(np.arange(len(ctx)), queries.sizes)
    pos = queries.asset_pos
    out: dict[str, np.ndarray] = {}
    if scorer is not None:
        out["learned"] = learned_scores(scorer, queries)
    counts = queries.train_counts
    out["popularity"] = counts["overall"][pos]
    prow = _partner_rows(data, ctx["partner_id"].to_numpy())
    seg = data_segment(data, prow)
    seg_pair = seg[q_of_pair]
    seg_scores = np.zeros(len(pos))
    valid = (seg_pair >= 0) & (seg_pair < counts["segment"].shape[0])
    seg_scores[valid] = counts["segment"][seg_pair[valid], pos[valid]]
    # Within the segment first; the overall count only breaks ties.
    out["segment_popularity"] = seg_scores + 1e-6 * counts["overall"][pos]
    out["semantic"] = queries.columns["semantic"].astype(np.float64)
    out["playbook"] = _per_group(ContentScorer().score, queries.columns, queries.offsets)
    oracle = getattr(data, "oracle", None)
    if oracle is not None:
        u = oracle.utility(ctx["deal_id"].tolist(), ctx["stage"].tolist(), data.table)
        scores = u[q_of_pair, pos]
        if np.isfinite(scores).any():
            out["oracle"] = scores
    return out


def _partner_rows(data: Any, partner_ids: np.ndarray) -> np.ndarray:
    ids = data.partners["partner_id"].astype(str).tolist() if len(data.partners) else []
    lookup = {p: i for i, p in enumerate(ids)}
    return np.array([lookup.get(str(p), -1) for p in partner_ids], dtype=np.int64)


def data_segment(data: Any, prow: np.ndarray) -> np.ndarray:
    from features.usage import segment_code

    partners = data.partners
    segs = np.array(
        [segment_code(t, m) for t, m in zip(partners["tier"], partners["maturity"], strict=True)]
        if len(partners)
        else [],
        dtype=np.int64,
    )
    # Unknown partners: the engine's defaults (registered, developing).
    default = segment_code("registered", "developing")
    return np.where(prow >= 0, segs[np.maximum(prow, 0)] if len(segs) else default, default)


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


# ---- the evaluation -----------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    k: int
    models: dict[str, dict[str, float]]
    slices: dict[str, dict[str, dict[str, float]]]
    details: dict[str, Any]
    calibration: dict[str, list[float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The `recommender evaluate --json` shape: {"k", "models", "slices"}."""
        return {"k": self.k, "models": self.models, "slices": self.slices}

    @property
    def summary(self) -> dict[str, Any]:
        """NDCG lift of the learned model over the best baseline and share of the gap to the
        oracle it closes (None where a part is missing)."""
        key = f"ndcg@{self.k}"
        learned = self.models.get("learned", {}).get(key)
        base = {m: self.models[m][key] for m in BASELINES if m in self.models}
        best_name = max(base, key=base.get) if base else None  # type: ignore[arg-type]
        best = base.get(best_name) if best_name else None
        oracle = self.models.get("oracle", {}).get(key)
        lift = (learned / best - 1.0) if learned is not None and best else None
        gap = (
            (learned - best) / (oracle - best)
            if learned is not None and best is not None and oracle is not None and oracle > best
            else None
        )
        return {
            "best_baseline": best_name,
            "best_baseline_ndcg": best,
            "learned_ndcg": learned,
            "oracle_ndcg": oracle,
            "lift_over_best": lift,
            "gap_closed": gap,
        }  # type: ignore[dict-item]


def _metrics(
    relevance: dict[str, dict[str, float]], run: dict[str, list[str]], k: int, catalog_size: int
) -> dict[str, float] | None:
    judged = {q: r for q, r in relevance.items() if q in run and any(g > 0 for g in r.values())}
    if not judged:
        return None
    m = evaluate_rankings(cast(Any, judged), cast(Any, run), k=k, catalog_size=max(catalog_size, 1))
    return {name.format(k=k): round(float(m[name.format(k=k)]), 6) for name in METRIC_NAMES}


def evaluate(
    scorer: LearnedScorer | None,
    queries: Queries,
    data: Any,
    *,
    k: int = 10,
    progress: bool = False,
) -> EvaluationResult:
    """Every model and slice of the protocol (module docstring) on `queries`."""
    if len(queries) == 0:
        raise ValueError(
            f"the held-out window {queries.start} .. {queries.end} has no context with engagement; "
            "there is nothing to evaluate (is the log too short?)"
        )
    table = data.table
    scores = model_scores(scorer, queries, data)
    names = [m for m in MODEL_ORDER if m in scores]
    runs = {m: rankings(scores[m], queries, k=k) for m in names}
    models = {}
    for m in names:
        values = _metrics(queries.relevance, runs[m], k, len(table))
        if values is not None:
            models[m] = values
    ctx = queries.contexts
    slices: dict[str, dict[str, dict[str, float]]] = {}
    counts: dict[str, int] = {}
    # Cold-start assets: judgments and rankings restricted to assets new in the window.
    cold_ids = set(table.ids[np.unique(queries.asset_pos[queries.cold])].tolist())
    cold_rel = {
        q: {a: g for a, g in r.items() if a in cold_ids} for q, r in queries.relevance.items()
    }
    cold_rel = {q: r for q, r in cold_rel.items() if r}
    if cold_rel:
        entry = {}
        for m in names:
            run = rankings(scores[m], queries, k=k, mask=queries.cold, relevance=cold_rel)
            values = _metrics(cold_rel, run, k, len(cold_ids))
            if values is not None:
                entry[m] = values
        slices["cold_start_assets"] = entry
        counts["cold_start_assets"] = len(cold_rel)
    groups: list[tuple[str, np.ndarray]] = [("new_partners", ctx["new_partner"].to_numpy())]
    groups += [(f"stage={s}", (ctx["stage"] == s).to_numpy()) for s in STAGES]
    groups += [(f"maturity={m}", (ctx["maturity"] == m).to_numpy()) for m in MATURITIES]
    for name, member in groups:
        chosen = set(ctx["context"][member])
        rel = {q: r for q, r in queries.relevance.items() if q in chosen}
        if not rel:
            continue
        entry = {}
        for m in names:
            run = {q: runs[m][q] for q in rel}
            values = _metrics(rel, run, k, len(table))
            if values is not None:
                entry[m] = values
        slices[name] = entry
        counts[name] = len(rel)
    details = {
        "queries": len(queries),
        "pairs": int(queries.offsets[-1]),
        "window": {"start": queries.start.isoformat(), "end": queries.end.isoformat()},
        "visibility": queries.visibility,
        "slice_queries": counts,
        "catalog_size": len(table),
        "cold_start_assets": len(cold_ids),
    }
    result = EvaluationResult(k=k, models=models, slices=slices, details=details)
    result.details["summary"] = result.summary
    if "learned" in scores:
        result.calibration = calibration_bins(scores["learned"], queries.gain > 0)
        result.details["calibration"] = result.calibration
    if "oracle" in scores:
        result.details["truth"] = truth_ndcg(scores, queries, k=k)
    return result


def truth_ndcg(scores: dict[str, np.ndarray], queries: Queries, *, k: int = 10) -> dict[str, Any]:
    """NDCG@k of each model against the generator's truth instead of the logs: the gain of an
    asset is sigmoid(true utility), its probability of being opened once examined. The oracle
    scores 1 by construction; this shows how much of the truth a model recovered, free of the
    logging policy's exposure (which the observed-engagement metrics also reward)."""
    gains = 1.0 / (1.0 + np.exp(-np.clip(scores["oracle"], -30, 30)))
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    out: dict[str, float] = {}
    for name, s in scores.items():
        values = []
        for lo, hi in zip(queries.offsets[:-1].tolist(), queries.offsets[1:].tolist(), strict=True):
            g = gains[lo:hi]
            if hi - lo == 0 or not np.isfinite(g).all():
                continue
            top = np.lexsort((queries.asset_pos[lo:hi], -s[lo:hi]))[:k]
            ideal = np.sort(g)[::-1][:k]
            values.append(
                float(g[top] @ discount[: len(top)]) / float(ideal @ discount[: len(ideal)])
            )
        if values:
            out[name] = round(float(np.mean(values)), 6)
    return {f"ndcg@{k}": out, "gain": "sigmoid(true utility)", "queries": len(queries)}


def choose_cold_start(
    scorer: LearnedScorer,
    queries: Queries,
    *,
    strengths: Sequence[float] = (1.0, 3.0, 10.0, 30.0),
    floors: Sequence[float] = (0.0, 0.25, 0.5, 0.75),
    k: int = 10,
    default_floor: float = 0.5,
    z: float = 1.645,
    min_queries: int = 20,
) -> tuple[LearnedScorer, dict[str, Any]]:
    """The scorer with its cold-start blend chosen on (validation) queries; what was tried.

    w0 (the model's share for a never-shown asset) is chosen on the new-asset slice and v0
    (for a partner without history) on the new-partner slice: the floor with the best NDCG@k,
    but only if it beats the pure prior (floor 0) by a one-sided paired z-test at level `z`
    over the slice's queries; otherwise 0, so the model takes a share of a newcomer's score
    only where it has shown it earns it. A slice with fewer than `min_queries` queries (too few
    to tell) gets `default_floor`. Then the
    strength maximises NDCG@k on all queries. The model and prior are computed once.
    """
    from dataclasses import replace

    from recommender.learning.metrics import evaluate_per_query

    tried: dict[str, Any] = {}
    if len(queries) == 0:
        return replace(
            scorer, cold_asset_weight=default_floor, new_partner_weight=default_floor
        ), tried
    cols = queries.columns
    raw_model, raw_prior = raw_scores(scorer, queries)
    p_model = scorer.model_calibration(raw_model)
    p_prior = scorer.prior_calibration(raw_prior)
    mid = float(strengths[len(strengths) // 2])
    key = f"ndcg@{k}"

    def per_query(
        candidate: LearnedScorer, mask: np.ndarray | None, relevance: dict[str, dict[str, float]]
    ) -> dict[Any, float]:
        w = candidate.blend_weight(cols)
        scores = w * p_model + (1.0 - w) * p_prior
        run = rankings(scores, queries, k=k, mask=mask, relevance=relevance)
        judged = {q: r for q, r in relevance.items() if q in run}
        if not judged:
            return {}
        per = evaluate_per_query(cast(Any, judged), cast(Any, run), k=k)
        return {q: m[key] for q, m in per.items()}

    cold_ids = set(queries.asset_ids[np.unique(queries.asset_pos[queries.cold])].tolist())
    cold_rel = {
        q: {a: g for a, g in r.items() if a in cold_ids} for q, r in queries.relevance.items()
    }
    cold_rel = {q: r for q, r in cold_rel.items() if r}
    new = set(queries.contexts["context"][queries.contexts["new_partner"].to_numpy()])
    new_rel = {q: r for q, r in queries.relevance.items() if q in new}
    chosen = replace(scorer, cold_start_strength=mid, cold_asset_weight=0.0, new_partner_weight=0.0)
    for name, mask, rel in (
        ("cold_asset_weight", queries.cold, cold_rel),
        ("new_partner_weight", None, new_rel),
    ):
        if len(rel) < min_queries:
            tried[name] = {"queries": len(rel), "chosen": default_floor}
            chosen = _with_floor(chosen, name, float(default_floor))
            continue
        results = {f: per_query(_with_floor(chosen, name, float(f)), mask, rel) for f in floors}
        base = results.get(0.0) or per_query(_with_floor(chosen, name, 0.0), mask, rel)
        means = {f: float(np.mean(list(r.values()))) if r else 0.0 for f, r in results.items()}
        best = max(floors, key=lambda f: (means[f], -f))
        diff = np.array([results[best][q] - base[q] for q in base if q in results[best]])
        se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("inf")
        significant = bool(len(diff) > 1 and diff.mean() > 0 and (se == 0 or diff.mean() / se > z))
        pick = float(best) if significant else 0.0
        tried[name] = {
            "queries": len(base),
            "ndcg": {str(f): round(m, 6) for f, m in means.items()},
            "best": float(best),
            "z": None if not np.isfinite(se) or se == 0 else round(float(diff.mean() / se), 3),
            "chosen": pick,
        }
        chosen = _with_floor(chosen, name, pick)
    values = {}
    for strength in strengths:
        scores = per_query(
            replace(chosen, cold_start_strength=float(strength)), None, queries.relevance
        )
        values[strength] = float(np.mean(list(scores.values()))) if scores else 0.0
    tried["cold_start_strength"] = {str(s): round(v, 6) for s, v in values.items()}
    best_s = max(strengths, key=lambda s: (values[s], -abs(s - mid)))
    return replace(chosen, cold_start_strength=float(best_s)), tried


def _with_floor(scorer: LearnedScorer, name: str, value: float) -> LearnedScorer:
    from dataclasses import replace

    if name == "cold_asset_weight":
        return replace(scorer, cold_asset_weight=value)
    return replace(scorer, new_partner_weight=value)
