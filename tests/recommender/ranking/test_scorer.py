"""The learned scorer: the scikit-learn estimator contract, ranking that learns, the cold-start
blend with the playbook prior, and JSON persistence that reproduces predictions exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from features.pairs import MODEL_FEATURES
from recommender.ranking.content import ContentScorer
from recommender.ranking.learned import MODEL_FORMAT, GradientBoostedRanker, LearnedScorer, Platt


@parametrize_with_checks(
    [GradientBoostedRanker(n_estimators=10, min_child_samples=1, n_jobs=1)],
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data": (
            "LightGBM's min_data_in_leaf and bagging count rows, not weight"
        ),
    },
)
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


def _ranking_data(n_groups: int = 300, size: int = 10, seed: int = 0):
    """Groups of items; the relevant ones have x0 > 0.5 (x1 is noise)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_groups * size, 3)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int) * (1 + (X[:, 0] > 0.8))
    return X, y, np.full(n_groups, size)


def test_lambdarank_learns_the_relevant_feature():
    X, y, groups = _ranking_data()
    est = GradientBoostedRanker(n_estimators=40, min_child_samples=5).fit(X, y, group=groups)
    assert est.objective_ == "lambdarank"
    Xt, yt, _ = _ranking_data(seed=1)
    scores = est.predict(Xt)
    assert np.corrcoef(scores, yt)[0, 1] > 0.8
    assert est.feature_importances_.argmax() == 0
    assert est.feature_importances_.sum() == pytest.approx(1.0)


def test_without_groups_it_regresses():
    X, y, _ = _ranking_data()
    est = GradientBoostedRanker(n_estimators=20).fit(X, y)
    assert est.objective_ == "regression"


@pytest.mark.parametrize(
    ("params", "fit_kwargs", "match"),
    [
        ({"objective": "pairwise"}, {}, "objective='pairwise' is not supported"),
        ({"n_estimators": 0}, {}, "n_estimators=0 must be an integer >= 1"),
        ({"learning_rate": 2.0}, {}, r"learning_rate=2.0 must be a number in \(0, 1\]"),
        ({}, {"group": [3, 3]}, "group sizes sum to 6"),
        ({"categorical_features": (7,)}, {}, "categorical feature index 7 is out of range"),
    ],
    ids=["objective", "trees", "learning-rate", "groups", "categorical"],
)
def test_bad_parameters_are_refused_in_fit(params, fit_kwargs, match):
    X, y, groups = _ranking_data(n_groups=20)
    kwargs = {"group": groups, **fit_kwargs}
    with pytest.raises(ValueError, match=match):
        GradientBoostedRanker(**params).fit(X, y, **kwargs)


def test_lambdarank_needs_integer_grades():
    X, _, groups = _ranking_data(n_groups=20)
    with pytest.raises(ValueError, match="integer grades"):
        GradientBoostedRanker().fit(X, np.full(len(X), 0.5), group=groups)


def test_categorical_codes_below_zero_are_missing():
    rng = np.random.default_rng(0)
    cat = rng.integers(-1, 4, 2000)
    X = np.column_stack([cat, rng.random(2000)]).astype(np.float32)
    y = (cat == 2).astype(int)
    est = GradientBoostedRanker(
        n_estimators=20, categorical_features=(0,), min_child_samples=5
    ).fit(X, y, group=np.full(200, 10))
    scores = est.predict(np.array([[2, 0.5], [1, 0.5], [-1, 0.5]], dtype=np.float32))
    assert scores[0] > scores[1] and scores[0] > scores[2]


# ---- the pipeline scorer ------------------------------------------------------------------------


def _columns(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    cols = {name: rng.random(n).astype(np.float32) for name in MODEL_FEATURES}
    for name in (
        "has_text",
        "stage_tagged",
        "stage_untagged",
        "maturity_untagged",
        "industry_match",
        "industry_agnostic",
        "product_match",
        "product_agnostic",
        "competitor_match",
        "role_match",
        "language_match",
        "is_type_battlecard",
        "maturity_tagged",
    ):
        cols[name] = (cols[name] > 0.5).astype(np.float32)
    return cols


@pytest.fixture(scope="module")
def fitted() -> LearnedScorer:
    rng = np.random.default_rng(0)
    cols = _columns(3000, rng)
    from features.pairs import feature_matrix

    X = feature_matrix(cols, MODEL_FEATURES)
    # Engagement follows the usage evidence (ctr), not the prior: the model and the prior
    # disagree, which makes the blend visible.
    y = (cols["ctr"] > 0.6).astype(int)
    est = GradientBoostedRanker(n_estimators=30, min_child_samples=5).fit(
        X, y, group=np.full(300, 10)
    )
    return LearnedScorer(
        estimator=est,
        features=MODEL_FEATURES,
        model_calibration=Platt(a=1.0, b=0.0),
        prior_calibration=Platt(a=4.0, b=-2.0),
        cold_start_strength=5.0,
        cold_asset_weight=0.0,
        new_partner_weight=1.0,
    )


def test_a_never_shown_asset_is_ranked_by_the_playbook_prior(fitted):
    rng = np.random.default_rng(1)
    cols = _columns(50, rng)
    cols["exposure"] = np.zeros(50, dtype=np.float32)  # no asset was ever shown
    scores = fitted.score(cols)
    prior = ContentScorer().score(cols)
    assert np.all(np.isfinite(scores)) and np.all(scores > 0)  # never scored as zero
    np.testing.assert_array_equal(
        np.argsort(-scores, kind="stable"), np.argsort(-prior, kind="stable")
    )


def test_with_exposure_the_model_takes_over(fitted):
    rng = np.random.default_rng(2)
    cols = _columns(200, rng)
    cols["exposure"] = np.full(200, np.log1p(10_000), dtype=np.float32)
    scores = fitted.score(cols)
    model = fitted.model_score(cols)
    assert np.corrcoef(scores, model)[0, 1] > 0.99
    w = fitted.blend_weight(cols)
    assert np.all(w > 0.99)


@pytest.mark.parametrize(
    ("exposure", "history", "w0", "v0", "expected"),
    [
        (0, 100_000, 0.0, 0.5, 0.0),
        (0, 100_000, 0.25, 0.5, 0.25),
        (5, 100_000, 0.0, 0.5, 0.5),  # n / (n + s) with s = 5
        (100_000, 0, 0.0, 0.5, 0.5),  # a partner without history
        (100_000, 0, 0.0, 1.0, 1.0),
    ],
    ids=["new-asset", "new-asset-floor", "half-evidence", "new-partner", "new-partner-trusted"],
)
def test_blend_weight(fitted, exposure, history, w0, v0, expected):
    from dataclasses import replace

    scorer = replace(fitted, cold_asset_weight=w0, new_partner_weight=v0)
    cols = {"exposure": np.log1p([float(exposure)]), "partner_history": np.log1p([float(history)])}
    assert scorer.blend_weight(cols)[0] == pytest.approx(expected, abs=1e-3)


def test_json_round_trip_reproduces_scores(fitted):
    data = fitted.to_json()
    again = LearnedScorer.from_json(data, version="v-test")
    cols = _columns(100, np.random.default_rng(3))
    np.testing.assert_array_equal(again.score(cols), fitted.score(cols))
    assert again.version == "v-test"
    assert b"pickle" not in data and data.startswith(b"{")


def test_a_file_of_another_format_is_refused():
    with pytest.raises(ValueError, match=f"expected {MODEL_FORMAT!r}"):
        LearnedScorer.from_json(b'{"format": "something-else"}')
    with pytest.raises(ValueError, match="not valid JSON"):
        LearnedScorer.from_json(b"\x80\x04garbage")


def test_missing_feature_columns_are_named(fitted):
    cols = _columns(5, np.random.default_rng(4))
    del cols["ctr"]
    with pytest.raises(KeyError, match="'ctr'"):
        fitted.score(cols)


def test_platt_maps_scores_to_probabilities():
    rng = np.random.default_rng(0)
    score = rng.normal(size=5000)
    relevant = rng.random(5000) < 1 / (1 + np.exp(-(2 * score - 1)))
    platt = Platt.fit(score, relevant)
    assert platt.a == pytest.approx(2, abs=0.3) and platt.b == pytest.approx(-1, abs=0.3)
    assert Platt.fit(score, np.zeros(5000, bool)).a == 0.0  # degenerate: a constant rate


def test_position_aware_lambdarank_learns_past_what_the_logging_policy_put_on_top():
    """Clicks from a position-based model (slot p looked at 1/(p+1) of the time, then clicked
    by relevance r) on slates a logging policy ordered by an irrelevant feature q: a plain
    LambdaMART on clicks learns q (what was on top got clicked); given the slots, LightGBM's
    position-aware LambdaMART learns the slots' bias with the ranker and ranks by r."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    n_queries, m = 2000, 10
    r, q = rng.normal(size=(n_queries, m)), rng.normal(size=(n_queries, m))
    slot = np.argsort(np.argsort(-q, axis=1), axis=1)  # the logger ranks by q
    looked = 1.0 / (1.0 + slot)
    click = rng.random((n_queries, m)) < looked / (1.0 + np.exp(-2.0 * r))
    X = np.stack([r.ravel(), q.ravel()], axis=1)
    fresh = rng.normal(size=(5000, 2))
    reliance = {}
    for aware in (False, True):
        ranker = GradientBoostedRanker(n_estimators=50, num_leaves=7, min_child_samples=20)
        ranker.fit(
            X,
            click.ravel().astype(float),
            group=[m] * n_queries,
            position=slot.ravel() if aware else None,
        )
        scores = ranker.predict(fresh)
        reliance[aware] = (spearmanr(scores, fresh[:, 0])[0], spearmanr(scores, fresh[:, 1])[0])
    assert reliance[True][0] > reliance[False][0] + 0.1  # more on relevance
    assert reliance[True][1] < reliance[False][1] - 0.15  # less on the logger's feature


def test_position_needs_one_slot_per_row():
    X = np.random.default_rng(1).normal(size=(20, 2))
    with pytest.raises(ValueError, match=r"position has shape \(19,\); expected one slot per row"):
        GradientBoostedRanker(n_estimators=2).fit(
            X, np.arange(20) % 2, group=[10, 10], position=np.zeros(19)
        )
