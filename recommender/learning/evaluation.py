"""Offline evaluation on the held-out window, against baselines and an oracle.

Protocol (the same for every model, k = 10 by default):

- **Window.** The held-out window is the last part of the log by time (`Split.test` to the
  last event). Models are trained on events before it.
- **Queries.** One query per request context in the window: a (partner, deal, stage) with at
  least one engagement there. Its time is the context's first event in the window.
- **Candidates.** Every model ranks the *full eligible catalog* for the query: published by
  the query day, not expired, allowed for the partner's tier and regions (the mask serving
  uses, `features.eligibility`), not just the assets that were impressed.
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

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from features.pairs import MATURITIES, STAGES
from features.usage import segment_code
from recommender.learning.calibration import calibration_bins, learned_scores
from recommender.learning.data import LearningData
from recommender.learning.metrics import evaluate_rankings
from recommender.learning.queries import Queries, rankings, score_by_query
from recommender.learning.truth import TRUTH_GAIN, TRUTH_RELEVANT, truth_metrics, truth_summary
from recommender.ranking.content import ContentScorer
from recommender.ranking.learned import LearnedScorer

BASELINES = ("popularity", "segment_popularity", "semantic", "playbook")
MODEL_ORDER = ("learned", *BASELINES, "oracle")
METRIC_NAMES = ("ndcg@{k}", "recall@{k}", "map@{k}", "mrr", "coverage@{k}")


def model_scores(
    scorer: LearnedScorer | None, queries: Queries, data: LearningData
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
    out["playbook"] = score_by_query(ContentScorer().score, queries.columns, queries.offsets)
    oracle = data.oracle
    if oracle is not None:
        u = oracle.utility(ctx["deal_id"].tolist(), ctx["stage"].tolist(), data.table)
        scores = u[q_of_pair, pos]
        if np.isfinite(scores).any():
            out["oracle"] = scores
    return out


def _partner_rows(data: LearningData, partner_ids: np.ndarray) -> np.ndarray:
    ids = data.partners["partner_id"].astype(str).tolist() if len(data.partners) else []
    lookup = {p: i for i, p in enumerate(ids)}
    return np.array([lookup.get(str(p), -1) for p in partner_ids], dtype=np.int64)


def data_segment(data: LearningData, prow: np.ndarray) -> np.ndarray:
    """The tier x maturity segment (`features.usage.segment_code`) of each partner row of
    `data.partners` (-1 = a partner not in it, who gets the engine's defaults)."""
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


@dataclass
class EvaluationResult:
    k: int
    models: dict[str, dict[str, float]]
    slices: dict[str, dict[str, dict[str, float]]]
    details: dict[str, Any]
    calibration: dict[str, list[float]] = field(default_factory=dict)
    # Against the generator's true utility (`learning.truth`), when an oracle knows it: the
    # honest figures, free of what the logging policy happened to show. {} for real logs.
    true_utility: dict[str, Any] = field(default_factory=dict)
    # Each model's engaged impressions per logged request, estimated off-policy from the
    # window's logged propensities (`learning.policy_value`); {} when not computed.
    off_policy: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The `recommender evaluate --json` shape: {"k", "models", "slices", "true_utility",
        "off_policy"}; "models" and "slices" judge by logged engagement (biased towards what
        was shown), "true_utility" by the truth ({} when no oracle knows it), "off_policy"
        by off-policy estimates from the logged propensities (usable on real logs)."""
        return {
            "k": self.k,
            "models": self.models,
            "slices": self.slices,
            "true_utility": self.true_utility,
            "off_policy": self.off_policy,
        }

    @property
    def summary(self) -> dict[str, Any]:
        """NDCG lift of the learned model over the best baseline and share of the gap to the
        oracle it closes (None where a part is missing)."""
        out = truth_summary(self.models, BASELINES, k=self.k)
        learned, best = out["learned_ndcg"], out["best_baseline_ndcg"]
        lift = (learned / best - 1.0) if learned is not None and best else None
        gap = out.pop("gap_closed")
        return {**out, "lift_over_best": lift, "gap_closed": gap}


def _metrics(
    relevance: dict[str, dict[str, float]], run: dict[str, list[str]], k: int, catalog_size: int
) -> dict[str, float] | None:
    judged = {q: r for q, r in relevance.items() if q in run and any(g > 0 for g in r.values())}
    if not judged:
        return None
    m = evaluate_rankings(cast(Any, judged), cast(Any, run), k=k, catalog_size=max(catalog_size, 1))
    return {name.format(k=k): round(float(m[name.format(k=k)]), 6) for name in METRIC_NAMES}


def nothing_to_evaluate(start: object, end: object) -> ValueError:
    """The error of a held-out window without a query: the log is too short to train on."""
    return ValueError(
        f"the held-out window {start} .. {end} has no context with engagement; "
        "there is nothing to evaluate (is the log too short?)"
    )


def evaluate(
    scorer: LearnedScorer | None,
    queries: Queries,
    data: LearningData,
    *,
    k: int = 10,
    progress: bool = False,
) -> EvaluationResult:
    """Every model and slice of the protocol (module docstring) on `queries`."""
    if len(queries) == 0:
        raise nothing_to_evaluate(queries.start, queries.end)
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
        result.true_utility = true_utility_block(scores, queries, k=k)
    return result


def true_utility_block(
    scores: dict[str, np.ndarray], queries: Queries, *, k: int = 10
) -> dict[str, Any]:
    """Every model against the oracle's true utility (its own scores), overall and on the
    cold-start slice (assets new in the window ranked among themselves), with the summary."""
    utility = scores["oracle"]
    models = truth_metrics(scores, utility, queries, k=k)
    slices: dict[str, dict[str, dict[str, float]]] = {}
    if queries.cold.any():
        cold = truth_metrics(scores, utility, queries, k=k, mask=queries.cold)
        if cold:
            slices["cold_start_assets"] = cold
    return {
        "k": k,
        "gain": TRUTH_GAIN,
        "relevant": TRUTH_RELEVANT.format(k=k),
        "queries": len(queries),
        "models": models,
        "slices": slices,
        "summary": truth_summary(models, BASELINES, k=k),
    }
