"""Ranking metrics: pinned values, boundaries, errors, and agreement with pytrec_eval."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from recommender.learning.metrics import (
    catalog_coverage_at_k,
    evaluate_per_query,
    evaluate_rankings,
    map_at_k,
    mrr,
    ndcg_at_k,
    recall_at_k,
)

# One query whose answer is easy to work by hand: relevant a (gain 2) and c (gain 1), b judged
# non-relevant; the system ranks x (unjudged), a, c.
QRELS = {"q": {"a": 2, "b": 0, "c": 1}}
RUN = {"q": ["x", "a", "c"]}


@pytest.mark.parametrize(
    ("metric", "k", "expected"),
    [
        # DCG = 2/log2(3) + 1/log2(4); IDCG = 2 + 1/log2(3)
        (ndcg_at_k, 10, (2 / math.log2(3) + 0.5) / (2 + 1 / math.log2(3))),
        (ndcg_at_k, 2, (2 / math.log2(3)) / (2 + 1 / math.log2(3))),
        (recall_at_k, 10, 1.0),
        (recall_at_k, 2, 0.5),
        # AP = (P@2 + P@3) / 2 relevant = (1/2 + 2/3) / 2
        (map_at_k, 10, (1 / 2 + 2 / 3) / 2),
        # only a is in the top 2; still divided by both relevant items
        (map_at_k, 2, (1 / 2) / 2),
    ],
    ids=["ndcg@10", "ndcg@2", "recall@10", "recall@2", "map@10", "map@2-divides-by-all-relevant"],
)
def test_pinned_values_worked_by_hand(metric, k, expected):
    assert metric(QRELS, RUN, k=k) == pytest.approx(expected, rel=1e-12)


def test_pinned_numbers():
    assert ndcg_at_k(QRELS, RUN) == pytest.approx(0.66967181649423)
    assert map_at_k(QRELS, RUN) == pytest.approx(0.58333333333333)
    assert mrr(QRELS, RUN) == pytest.approx(0.5)


def test_mrr_has_no_cutoff():
    qrels = {"q": {"hit": 1}}
    run = {"q": [f"miss{i}" for i in range(19)] + ["hit"]}
    assert mrr(qrels, run) == pytest.approx(1 / 20)
    assert recall_at_k(qrels, run, k=10) == 0.0


def test_linear_gain_not_exponential():
    # With exponential gain (2**rel - 1) swapping a grade-3 and a grade-1 item costs more.
    qrels = {"q": {"hi": 3, "lo": 1}}
    run = {"q": ["lo", "hi"]}
    linear = (1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3))
    assert ndcg_at_k(qrels, run) == pytest.approx(linear, rel=1e-12)


METRICS = {
    "ndcg": ndcg_at_k,
    "recall": recall_at_k,
    "map": map_at_k,
    "mrr": lambda relevance, ranking, k: mrr(relevance, ranking),
}


@pytest.mark.parametrize("name", list(METRICS))
class TestBoundaries:
    def test_perfect_ranking_scores_one(self, name):
        qrels = {"q1": {"a": 3, "b": 2, "c": 1, "z": 0}, "q2": {"d": 1}}
        run = {"q1": ["a", "b", "c", "z", "y"], "q2": ["d", "e"]}
        assert METRICS[name](qrels, run, k=10) == pytest.approx(1.0)

    def test_no_hit_scores_zero(self, name):
        qrels = {"q1": {"a": 1}, "q2": {"b": 2}}
        run = {"q1": ["x", "y"], "q2": ["a", "y"]}
        assert METRICS[name](qrels, run, k=10) == 0.0

    def test_fewer_than_k_items(self, name):
        # Only the items present count; the missing ranks are misses, not padding hits.
        qrels = {"q": {"a": 1, "b": 1}}
        run = {"q": ["a"]}
        expected = {"ndcg": 1 / (1 + 1 / math.log2(3)), "recall": 0.5, "map": 0.5, "mrr": 1.0}
        assert METRICS[name](qrels, run, k=10) == pytest.approx(expected[name], rel=1e-12)

    def test_query_without_ranking_counts_as_miss(self, name):
        qrels = {"answered": {"a": 1}, "forgotten": {"b": 1}}
        run = {"answered": ["a"]}
        assert METRICS[name](qrels, run, k=10) == pytest.approx(0.5)

    def test_queries_without_relevant_items_are_not_averaged(self, name):
        qrels = {"q": {"a": 1}, "nothing-relevant": {"b": 0}, "empty": {}}
        run = {"q": ["a"], "nothing-relevant": ["x"], "unjudged": ["y"]}
        assert METRICS[name](qrels, run, k=10) == pytest.approx(1.0)

    def test_numpy_rankings_and_integer_ids(self, name):
        qrels = {1: {10: 1, 20: 2}}
        run = {1: np.array([20, 10, 30])}
        assert METRICS[name](qrels, run, k=10) == pytest.approx(1.0)


def test_evaluate_rankings_keys_and_coverage():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    run = {"q1": ["a", "x"], "q2": ["x", "b"], "q3": ["y"]}
    result = evaluate_rankings(qrels, run, k=10, catalog_size=10)
    assert set(result) == {"ndcg@10", "recall@10", "map@10", "mrr", "coverage@10"}
    assert result["mrr"] == pytest.approx((1 + 0.5) / 2)
    # a, b, x, y shown (q3 is unjudged for averages but still shown to a partner)
    assert result["coverage@10"] == pytest.approx(4 / 10)
    assert "coverage@10" not in evaluate_rankings(qrels, run)


def test_evaluate_per_query_means_equal_evaluate_rankings():
    rng = np.random.default_rng(7)
    qrels, run = _random_case(rng, n_queries=40, n_items=30)
    per_query = evaluate_per_query(qrels, run, k=5)
    means = evaluate_rankings(qrels, run, k=5)
    for name, value in means.items():
        assert np.mean([row[name] for row in per_query.values()]) == pytest.approx(value)


@pytest.mark.parametrize(
    ("k", "expected"),
    [(1, 2 / 5), (2, 3 / 5), (10, 4 / 5)],
    ids=["k=1", "k=2", "k=10"],
)
def test_catalog_coverage(k, expected):
    rankings = {"q1": ["a", "b", "c"], "q2": ["b", "a"], "q3": ["b", "d"]}
    assert catalog_coverage_at_k(rankings, catalog_size=5, k=k) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ndcg_at_k(QRELS, RUN, k=0), r"k=0 is not a valid cutoff"),
        (lambda: recall_at_k(QRELS, RUN, k=-3), r"k=-3 is not a valid cutoff"),
        (lambda: map_at_k(QRELS, RUN, k=2.5), r"k=2.5 is not an integer"),
        (lambda: ndcg_at_k(QRELS, {"q": ["a", "c", "a"]}), r"lists item 'a' twice"),
        (lambda: ndcg_at_k(QRELS, {"q": "ac"}), r"ranking for query 'q' is a str"),
        (lambda: ndcg_at_k(QRELS, {"q": {"a": 0.9}}), r"must be sorted into a list"),
        (lambda: ndcg_at_k(QRELS, {"q": {"a", "c"}}), r"is a set"),
        (lambda: ndcg_at_k({"q": {"a": -1}}, RUN), r"gain -1; expected a finite number >= 0"),
        (lambda: ndcg_at_k({"q": {"a": "high"}}, RUN), r"gain 'high'; expected a number"),
        (lambda: ndcg_at_k({"q": {"a": math.nan}}, RUN), r"gain nan"),
        (lambda: ndcg_at_k({"q": ["a"]}, RUN), r"expected a mapping \{item: gain\}"),
        (lambda: ndcg_at_k([("q", {"a": 1})], RUN), r"relevance is a list"),
        (lambda: ndcg_at_k({"q": {"a": 0}}, RUN), r"no query in relevance has a relevant item"),
        (lambda: ndcg_at_k({}, RUN), r"no query in relevance has a relevant item"),
        (lambda: mrr(QRELS, {"q": ["a"], "other": ["b", "b"]}), r"query 'other' lists item 'b'"),
        (lambda: catalog_coverage_at_k(RUN, catalog_size=0), r"catalog_size=0 must be >= 1"),
        (lambda: catalog_coverage_at_k(RUN, catalog_size=2), r"name 3 distinct items"),
        (lambda: evaluate_rankings(QRELS, RUN, k=0), r"k=0"),
    ],
    ids=[
        "k-zero",
        "k-negative",
        "k-float",
        "duplicate-item",
        "ranking-is-string",
        "ranking-is-score-dict",
        "ranking-is-set",
        "negative-gain",
        "non-numeric-gain",
        "nan-gain",
        "judgements-not-mapping",
        "relevance-not-mapping",
        "nothing-relevant",
        "empty-relevance",
        "malformed-unjudged-ranking",
        "catalog-size-zero",
        "catalog-too-small",
        "evaluate-k-zero",
    ],
)
def test_malformed_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- agreement with trec_eval ---------------------------------------------------------------


def _random_case(
    rng: np.random.Generator, *, n_queries: int, n_items: int
) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """Graded judgements (0-3, some queries with nothing relevant) and random rankings."""
    items = np.array([f"d{i:03d}" for i in range(n_items)])
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, list[str]] = {}
    for q in range(n_queries):
        judged = rng.choice(items, size=rng.integers(1, n_items // 2), replace=False)
        top_grade = 1 if q % 10 == 0 else 4  # every tenth query has nothing relevant
        qrels[f"q{q}"] = {str(d): int(rng.integers(0, top_grade)) for d in judged}
        # rankings of every length, including shorter than k and empty
        run[f"q{q}"] = [str(d) for d in rng.permutation(items)[: rng.integers(0, n_items)]]
    return qrels, run


def _trec_run(run: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    # Strictly decreasing scores, so trec_eval's sort (score desc, docid desc) keeps our order.
    return {q: {d: float(len(items) - r) for r, d in enumerate(items)} for q, items in run.items()}


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4], ids=lambda s: f"seed={s}")
def test_matches_pytrec_eval(seed):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    rng = np.random.default_rng(seed)
    qrels, run = _random_case(rng, n_queries=200, n_items=60)
    measures = {"ndcg_cut_10", "recall_10", "map_cut_10", "recip_rank"}
    trec = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(_trec_run(run))
    evaluable = [q for q, judged in qrels.items() if any(g > 0 for g in judged.values())]
    assert 50 < len(evaluable) < len(qrels)  # the case exercises both kinds of query

    ours = evaluate_per_query(qrels, run, k=10)
    assert set(ours) == set(evaluable)
    names = {"ndcg@10": "ndcg_cut_10", "recall@10": "recall_10", "map@10": "map_cut_10"}
    names["mrr"] = "recip_rank"
    for q in evaluable:
        for ours_name, trec_name in names.items():
            assert ours[q][ours_name] == pytest.approx(trec[q][trec_name], abs=1e-12), (
                q,
                ours_name,
            )
    means = evaluate_rankings(qrels, run, k=10)
    for ours_name, trec_name in names.items():
        expected = np.mean([trec[q][trec_name] for q in evaluable])
        assert means[ours_name] == pytest.approx(expected, abs=1e-12)


def test_ten_thousand_queries_are_fast():
    rng = np.random.default_rng(11)
    items = [f"a{i}" for i in range(500)]
    qrels = {
        f"q{q}": {items[j]: int(rng.integers(1, 4)) for j in rng.choice(500, 5, replace=False)}
        for q in range(10_000)
    }
    run = {q: [items[j] for j in rng.choice(500, 20, replace=False)] for q in qrels}
    started = time.perf_counter()
    result = evaluate_rankings(qrels, run, k=10, catalog_size=500)
    elapsed = time.perf_counter() - started
    assert 0 < result["ndcg@10"] < 1
    assert elapsed < 2.0, f"evaluate_rankings took {elapsed:.2f}s for 10k queries"
