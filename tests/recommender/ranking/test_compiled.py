"""The ranker's compiled trees score as LightGBM does, are cached by a key no stale model can
share, and leave LightGBM scoring whenever they cannot be built or loaded."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from recommender.ranking.compiled import TOLERANCE, compile_trees
from recommender.ranking.learned import GradientBoostedRanker


def _fit(objective: str, seed: int = 0) -> tuple[GradientBoostedRanker, np.ndarray]:
    """A small model on 6 features, the last a category code (-1 = none), and rows to score
    that include missing values, negative and unseen codes and values beyond every split."""
    rng = np.random.default_rng(seed)
    X = rng.random((2000, 6))
    X[:, 5] = rng.integers(-1, 8, len(X))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = np.nan_to_num(X[:, 0] + X[:, 1] * X[:, 2]) + (X[:, 5] == 3) + rng.normal(0, 0.2, len(X))
    group = None
    if objective == "lambdarank":
        y = np.clip(np.round(y * 2), 0, 5).astype(int)
        group = [20] * (len(X) // 20)
    elif objective == "binary":
        y = (y > np.median(y)).astype(int)
    est = GradientBoostedRanker(
        objective=objective, n_estimators=30, num_leaves=9, min_child_samples=5,
        categorical_features=[5], n_jobs=1,
    ).fit(X, y, group=group)  # fmt: skip
    rows = rng.random((500, 6)).astype(np.float32)
    rows[:, 5] = rng.integers(-3, 12, len(rows))
    rows[rng.random(rows.shape) < 0.1] = np.nan
    rows[:5] = [[1e30, -1e30, 0, 0, 0, -1]] * 5
    return est, rows


@pytest.mark.parametrize("objective", ["lambdarank", "regression", "binary"])
def test_compiled_scores_are_lightgbms(objective: str, tmp_path: Path) -> None:
    est, rows = _fit(objective)
    expected = est.predict_raw(rows)  # LightGBM: nothing compiled yet
    assert est.compile_trees(tmp_path)
    got = est.predict_raw(rows)
    assert got.dtype == np.float64 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    assert np.ptp(expected) > 0.1  # the rows reach different leaves


def test_the_cache_is_keyed_by_the_model(tmp_path: Path) -> None:
    """A second model compiled into the same folder gets its own artifact and its own scores;
    the first model loads its artifact again (no compilation) with the same scores."""
    first, rows = _fit("regression", seed=1)
    second, _ = _fit("regression", seed=2)
    assert first.compile_trees(tmp_path) and second.compile_trees(tmp_path)
    objects = sorted(tmp_path.glob("*.o"))
    assert len(objects) == 2 and first.compiled_.key != second.compiled_.key
    np.testing.assert_allclose(
        second.predict_raw(rows), second.booster_.predict(rows, raw_score=True), atol=TOLERANCE
    )
    stamps = {p: p.stat().st_mtime_ns for p in objects}
    again = GradientBoostedRanker.from_dict(first.to_dict())
    assert again.compile_trees(tmp_path)
    assert {p: p.stat().st_mtime_ns for p in objects} == stamps  # read, not written again
    np.testing.assert_allclose(again.predict_raw(rows), first.predict_raw(rows), atol=0)


@pytest.mark.parametrize("damage", [b"", b"not an object file" * 50], ids=["empty", "garbage"])
def test_a_damaged_artifact_is_compiled_again(damage: bytes, tmp_path: Path) -> None:
    """LLVM aborts the process on a damaged object file: its digest does not match, so it is
    never loaded, and a good one replaces it."""
    est, rows = _fit("regression")
    assert est.compile_trees(tmp_path)
    (artifact,) = tmp_path.glob("*.o")
    good = artifact.read_bytes()
    artifact.write_bytes(damage)
    again = GradientBoostedRanker.from_dict(est.to_dict())
    assert again.compile_trees(tmp_path)
    np.testing.assert_allclose(again.predict_raw(rows), est.predict_raw(rows), atol=0)
    assert artifact.read_bytes() == good


def test_without_the_compiler_lightgbm_scores(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    est, rows = _fit("regression")
    expected = est.booster_.predict(rows, raw_score=True)
    monkeypatch.setitem(sys.modules, "lleaves", None)  # import lleaves raises ImportError
    with caplog.at_level(logging.WARNING, logger="recommender.ranking.compiled"):
        assert not est.compile_trees(tmp_path)
    assert "LightGBM scores it" in caplog.text
    np.testing.assert_array_equal(est.predict_raw(rows), expected)
    assert not list(tmp_path.iterdir())


def test_compiled_trees_that_differ_from_lightgbm_are_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The check at compile time: trees compiled from one model are refused as another's."""
    first, _ = _fit("regression", seed=1)
    second, _ = _fit("regression", seed=2)
    with caplog.at_level(logging.ERROR, logger="recommender.ranking.compiled"):
        wrong = compile_trees(first.booster_.model_to_string(), tmp_path, booster=second.booster_)
    assert wrong is None and "differs from LightGBM" in caplog.text


def test_refitting_drops_the_compiled_trees(tmp_path: Path) -> None:
    est, rows = _fit("regression")
    assert est.compile_trees(tmp_path)
    rng = np.random.default_rng(5)
    X = rng.random((500, 6))
    est.fit(X, X[:, 3])
    np.testing.assert_array_equal(est.predict_raw(rows), est.booster_.predict(rows, raw_score=True))
