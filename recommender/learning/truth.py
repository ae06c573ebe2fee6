"""Metrics against the true utility, when an oracle knows it (generated data).

Logged engagement rewards a model for ranking what the logging policy happened to show: an
asset never shown cannot be opened, so it never counts as relevant. Against the truth every
eligible asset counts by what it is worth, whether it was shown or not. For each query and
model, over the same eligible assets the logged metrics rank:

- ``ndcg@k``: the gain of an asset is sigmoid(true utility), its probability of being opened
  once a partner looks at it; linear gains, log2(rank + 1) discount, divided by the best
  order's DCG (the oracle scores 1 by construction);
- ``recall@k``: the share of the k assets of highest true utility that the model puts in its
  top k (ties in the truth broken by catalog order, as every ranking here).

Means are over queries whose assets the oracle knows. A `mask` restricts both the ranking and
the truth to some pairs (the cold-start slice ranks the assets new in the window among
themselves).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recommender.learning.queries import Queries

TRUTH_GAIN = "sigmoid(true utility): the probability of an open once looked at"
TRUTH_RELEVANT = "the {k} eligible assets of highest true utility"


def truth_metrics(
    scores: dict[str, np.ndarray],
    utility: np.ndarray,
    queries: Queries,
    *,
    k: int = 10,
    mask: np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    """{model: {"ndcg@k", "recall@k"}} of each model's `scores` against `utility` (aligned
    with the queries' pairs; -inf where the oracle does not know the asset)."""
    gains = 1.0 / (1.0 + np.exp(-np.clip(utility, -30, 30)))
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    per: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in scores}
    bounds = zip(queries.offsets[:-1].tolist(), queries.offsets[1:].tolist(), strict=True)
    for lo, hi in bounds:
        pos = queries.asset_pos[lo:hi]
        u = utility[lo:hi]
        keep = np.isfinite(u) if mask is None else np.isfinite(u) & mask[lo:hi]
        if not keep.any() or (mask is None and not keep.all()):
            continue
        pos, u, g = pos[keep], u[keep], gains[lo:hi][keep]
        best = np.lexsort((pos, -u))[:k]
        ideal = float(g[best] @ discount[: len(best)])
        if ideal <= 0:
            continue
        truly_best = set(best.tolist())
        for name, s in scores.items():
            top = np.lexsort((pos, -s[lo:hi][keep]))[:k]
            ndcg, recall = per[name]
            ndcg.append(float(g[top] @ discount[: len(top)]) / ideal)
            recall.append(len(truly_best.intersection(top.tolist())) / len(best))
    return {
        name: {f"ndcg@{k}": round(float(np.mean(n)), 6), f"recall@{k}": round(float(np.mean(r)), 6)}
        for name, (n, r) in per.items()
        if n
    }


def truth_summary(
    models: dict[str, dict[str, float]], baselines: tuple[str, ...], *, k: int = 10
) -> dict[str, Any]:
    """The learned model's true NDCG@k against the best baseline's and the oracle's, and the
    share of the gap between them it closes (None where a part is missing)."""
    key = f"ndcg@{k}"
    learned = models.get("learned", {}).get(key)
    base = {m: models[m][key] for m in baselines if m in models}
    best_name = max(base, key=lambda m: base[m]) if base else None
    best = base[best_name] if best_name else None
    oracle = models.get("oracle", {}).get(key)
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
        "gap_closed": gap,
    }
