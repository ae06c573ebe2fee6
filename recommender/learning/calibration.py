"""Fitting the learned scorer's blend on the validation window, after the ranker is fitted.

The served score of a pair is w * P(model) + (1 - w) * P(prior): the ranker's raw score and the
playbook prior's, each mapped to a probability of engagement by Platt scaling (`calibrate`),
blended by w, the model's share, which grows with the asset's exposure and the partner's
history from floors chosen for never-shown assets and new partners (`choose_cold_start`, when
training's cold-start rule is "blend"; by default the model's share is 1, see
`recommender.ranking.learned`). `learned_scores` computes that blend for a query set, as
serving does for a request; `calibration_bins` shows how well the probabilities hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

import numpy as np

from recommender.learning.metrics import evaluate_per_query
from recommender.learning.queries import Queries, rankings, score_by_query
from recommender.ranking.learned import LearnedScorer, Platt


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
        prior = score_by_query(scorer.prior.score, queries.columns, queries.offsets)
        cached = queries.cache[key] = (model, prior)
    return cached


def calibrate(scorer: LearnedScorer, queries: Queries) -> LearnedScorer:
    """The scorer with model and prior mapped (Platt) to the probability that the query's
    context engages with the asset, fitted on these (validation) queries' pairs."""
    if len(queries) == 0:
        return scorer
    relevant = queries.gain > 0
    model, prior = raw_scores(scorer, queries)
    return replace(
        scorer,
        model_calibration=Platt.fit(model, relevant),
        prior_calibration=Platt.fit(prior, relevant),
    )


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
    if name == "cold_asset_weight":
        return replace(scorer, cold_asset_weight=value)
    return replace(scorer, new_partner_weight=value)


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
