"""Ranking metrics over judged queries, pure numpy, with trec_eval's conventions.

Inputs, in the style of `recommenders` and `pytrec_eval`:

    relevance: {query: {item: gain}}   graded judgements; gain >= 0, an item is *relevant*
                                       when its gain is > 0, unjudged items have gain 0
    ranking:   {query: [item, ...]}    the system's answer, best first, no repeated item

Definitions (rank r is 1-based; "top k" is the first k items of the ranking):

- ``ndcg_at_k``: DCG@k / IDCG@k with DCG@k = sum_{r<=k} gain(item_r) / log2(r + 1), the
  graded gain used *linearly* (not 2**gain - 1), and IDCG@k the DCG@k of the judged gains
  sorted in decreasing order. This is trec_eval's ``ndcg_cut_k``.
- ``recall_at_k``: relevant items in the top k / relevant items judged for the query
  (trec_eval's ``recall_k``).
- ``map_at_k``: AP@k = sum over relevant items in the top k of precision@r, divided by the
  number of relevant items judged for the query -- not by min(k, #relevant) and not by the
  number retrieved (trec_eval's ``map_cut_k``). MAP@k is its mean over queries.
- ``mrr``: 1 / rank of the first relevant item in the *whole* ranking, 0 if there is none
  (trec_eval's ``recip_rank``, which has no cutoff).
- ``catalog_coverage_at_k``: distinct items appearing in any top k / catalog size.

Averages are taken over the queries of `relevance` that have at least one relevant item.
A query judged relevant-bearing but missing from `ranking` scores 0 on every measure (like
``trec_eval -c``): a query the system failed to answer is a miss, not a skipped row. Queries
ranked but not judged are ignored (except by coverage, which describes every answer).

With integer grades these values equal pytrec_eval's ``ndcg_cut_10``, ``recall_10``,
``map_cut_10`` and ``recip_rank`` when pytrec_eval is given strictly decreasing scores in
ranking order (trec_eval re-sorts by score and breaks ties by item id, descending). For
fractional gains trec_eval would call an item with 0 < gain < 1 non-relevant; here it is
relevant.

All measures are computed on one (queries x k) gain matrix, so ~10k queries take tens of
milliseconds; the only per-query Python work is looking up the top-k gains.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Relevance = Mapping[Hashable, Mapping[Hashable, float]]
Ranking = Mapping[Hashable, Sequence[Hashable]]

__all__ = [
    "catalog_coverage_at_k",
    "evaluate_per_query",
    "evaluate_rankings",
    "map_at_k",
    "mrr",
    "ndcg_at_k",
    "recall_at_k",
]


@dataclass(frozen=True)
class _Judged:
    """The evaluable queries as arrays: one row per query with at least one relevant item."""

    queries: list[Hashable]
    gains: np.ndarray  # (n, k) gain of the item at rank r, 0 past the end of the ranking
    ideal: np.ndarray  # (n, k) the query's judged gains, sorted decreasing, 0-padded
    n_relevant: np.ndarray  # (n,) items with gain > 0
    first_hit: np.ndarray  # (n,) 1-based rank of the first relevant item anywhere, 0 if none


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k={k!r} is not an integer; expected a cutoff k >= 1")
    if k < 1:
        raise ValueError(f"k={k!r} is not a valid cutoff; expected k >= 1")
    return int(k)


def _items(query: Hashable, items: Any) -> Sequence[Hashable] | np.ndarray:
    """Check one ranking: an ordered sequence of distinct items."""
    if isinstance(items, (str, bytes)) or not isinstance(items, (Sequence, np.ndarray)):
        raise ValueError(
            f"ranking for query {query!r} is a {type(items).__name__}; expected an ordered "
            "list of items, best first (a {item: score} dict must be sorted into a list)"
        )
    if isinstance(items, np.ndarray) and items.ndim != 1:
        raise ValueError(f"ranking for query {query!r} has shape {items.shape}; expected 1-D")
    if len(set(items)) != len(items):
        seen: set[Hashable] = set()
        for item in items:
            if item in seen:
                raise ValueError(f"ranking for query {query!r} lists item {item!r} twice")
            seen.add(item)
    return items


def _gains(query: Hashable, judged: Any) -> np.ndarray:
    if not isinstance(judged, Mapping):
        raise ValueError(
            f"relevance for query {query!r} is a {type(judged).__name__}; "
            "expected a mapping {item: gain}"
        )
    try:
        gains = np.fromiter(judged.values(), dtype=float, count=len(judged))
    except (TypeError, ValueError):
        bad = next((v for v in judged.values() if not isinstance(v, (int, float, np.number))), None)
        raise ValueError(
            f"relevance for query {query!r} has gain {bad!r}; expected a number"
        ) from None
    if not np.all(np.isfinite(gains)) or np.any(gains < 0):
        bad = next(v for v in judged.values() if not (math.isfinite(v) and v >= 0))
        raise ValueError(
            f"relevance for query {query!r} has gain {bad!r}; expected a finite number >= 0"
        )
    return gains


def _check_inputs(relevance: Any, ranking: Any) -> None:
    if not isinstance(relevance, Mapping):
        raise ValueError(
            f"relevance is a {type(relevance).__name__}; expected {{query: {{item: gain}}}}"
        )
    if not isinstance(ranking, Mapping):
        raise ValueError(f"ranking is a {type(ranking).__name__}; expected {{query: [items]}}")


def _judge(relevance: Relevance, ranking: Ranking, k: int) -> _Judged:
    """Look up the top-k gains of every evaluable query; the only per-query Python loop."""
    _check_inputs(relevance, ranking)
    queries: list[Hashable] = []
    gain_rows: list[list[float]] = []
    ideal_rows: list[np.ndarray] = []
    n_relevant: list[int] = []
    first_hit: list[int] = []
    for query, judged in relevance.items():
        all_gains = _gains(query, judged)
        n_rel = int(np.count_nonzero(all_gains > 0))
        items = _items(query, ranking.get(query, ()))
        if n_rel == 0:
            continue
        queries.append(query)
        n_relevant.append(n_rel)
        gain_rows.append([float(judged.get(item, 0.0)) for item in items[:k]])
        ideal_rows.append(np.sort(all_gains)[::-1][:k])
        hit = 0
        for rank, item in enumerate(items, start=1):
            if judged.get(item, 0) > 0:
                hit = rank
                break
        first_hit.append(hit)
    for query in ranking.keys() - relevance.keys():
        _items(query, ranking[query])  # unjudged answers are ignored, but must be well formed
    if not queries:
        raise ValueError(
            "no query in relevance has a relevant item (gain > 0); there is nothing to average"
        )
    n = len(queries)
    gains = np.zeros((n, k))
    ideal = np.zeros((n, k))
    for i, (row, best) in enumerate(zip(gain_rows, ideal_rows, strict=True)):
        gains[i, : len(row)] = row
        ideal[i, : len(best)] = best
    return _Judged(
        queries=queries,
        gains=gains,
        ideal=ideal,
        n_relevant=np.asarray(n_relevant, dtype=float),
        first_hit=np.asarray(first_hit, dtype=float),
    )


def _ndcg(j: _Judged) -> np.ndarray:
    k = j.gains.shape[1]
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    return (j.gains @ discount) / (j.ideal @ discount)


def _recall(j: _Judged) -> np.ndarray:
    return np.count_nonzero(j.gains > 0, axis=1) / j.n_relevant


def _average_precision(j: _Judged) -> np.ndarray:
    hits = j.gains > 0
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    return (precision * hits).sum(axis=1) / j.n_relevant


def _reciprocal_rank(j: _Judged) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.where(j.first_hit > 0, 1.0 / j.first_hit, 0.0)


def ndcg_at_k(relevance: Relevance, ranking: Ranking, k: int = 10) -> float:
    """Mean NDCG@k, linear gain, log2(rank + 1) discount (trec_eval ``ndcg_cut_k``)."""
    return float(_ndcg(_judge(relevance, ranking, _check_k(k))).mean())


def recall_at_k(relevance: Relevance, ranking: Ranking, k: int = 10) -> float:
    """Mean share of each query's relevant items found in its top k (trec_eval ``recall_k``)."""
    return float(_recall(_judge(relevance, ranking, _check_k(k))).mean())


def map_at_k(relevance: Relevance, ranking: Ranking, k: int = 10) -> float:
    """Mean AP@k, normalised by all relevant items of the query (trec_eval ``map_cut_k``)."""
    return float(_average_precision(_judge(relevance, ranking, _check_k(k))).mean())


def mrr(relevance: Relevance, ranking: Ranking) -> float:
    """Mean reciprocal rank of the first relevant item, no cutoff (trec_eval ``recip_rank``)."""
    return float(_reciprocal_rank(_judge(relevance, ranking, 1)).mean())


def catalog_coverage_at_k(rankings: Ranking, catalog_size: int, k: int = 10) -> float:
    """Share of the catalog that appears in at least one top-k list, in [0, 1].

    Every ranking counts, judged or not: coverage describes what the system shows.
    """
    k = _check_k(k)
    if isinstance(catalog_size, bool) or not isinstance(catalog_size, (int, np.integer)):
        raise ValueError(f"catalog_size={catalog_size!r} is not an integer")
    if catalog_size < 1:
        raise ValueError(f"catalog_size={catalog_size!r} must be >= 1")
    if not isinstance(rankings, Mapping):
        raise ValueError(f"rankings is a {type(rankings).__name__}; expected {{query: [items]}}")
    shown: set[Hashable] = set()
    for query, items in rankings.items():
        shown.update(_items(query, items)[:k])
    if len(shown) > catalog_size:
        raise ValueError(
            f"the top-{k} lists name {len(shown)} distinct items but catalog_size is "
            f"{catalog_size}; pass the size of the catalog the rankings were drawn from"
        )
    return len(shown) / int(catalog_size)


def evaluate_per_query(
    qrels: Relevance, run: Ranking, k: int = 10
) -> dict[Hashable, dict[str, float]]:
    """Every measure for every evaluable query, shaped like pytrec_eval's output.

    Keys: ``ndcg@k``, ``recall@k``, ``map@k``, ``mrr``. Use this for per-segment breakdowns
    and paired significance tests; `evaluate_rankings` is its mean.
    """
    k = _check_k(k)
    j = _judge(qrels, run, k)
    columns = {
        f"ndcg@{k}": _ndcg(j),
        f"recall@{k}": _recall(j),
        f"map@{k}": _average_precision(j),
        "mrr": _reciprocal_rank(j),
    }
    return {
        query: {name: float(values[i]) for name, values in columns.items()}
        for i, query in enumerate(j.queries)
    }


def evaluate_rankings(
    qrels: Relevance, run: Ranking, k: int = 10, catalog_size: int | None = None
) -> dict[str, float]:
    """Mean ``ndcg@k``, ``recall@k``, ``map@k``, ``mrr`` and, given `catalog_size`, ``coverage@k``.

    Means are over the queries of `qrels` with at least one relevant item; coverage is over
    every ranking in `run`. Raises ValueError for malformed input or when no query has a
    relevant item.
    """
    k = _check_k(k)
    j = _judge(qrels, run, k)
    result = {
        f"ndcg@{k}": float(_ndcg(j).mean()),
        f"recall@{k}": float(_recall(j).mean()),
        f"map@{k}": float(_average_precision(j).mean()),
        "mrr": float(_reciprocal_rank(j).mean()),
    }
    if catalog_size is not None:
        result[f"coverage@{k}"] = catalog_coverage_at_k(run, catalog_size, k)
    return result
