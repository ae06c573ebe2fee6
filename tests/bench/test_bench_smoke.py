"""Smoke tests of the benchmark scripts: their metric functions on cases whose answer is
obvious, bench_recommend's synthetic catalog, and bench_ingest end to end at a tiny size. The
runner, the targets, the report and bench_learning have their own files (test_run_all,
test_targets, test_report, test_bench_learning)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import bench_quality as quality


# --- bench_quality's metric functions -------------------------------------------------------
def test_perfect_retrieval_scores_one():
    sims = np.eye(4) + 0.1
    assert quality.retrieval_metrics(sims, [0, 1, 2, 3]) == {
        "top1": 1.0,
        "mrr": 1.0,
        "recall@3": 1.0,
    }


def test_retrieval_ranks_and_ties():
    sims = np.array(
        [
            [0.9, 0.8, 0.1],  # right document (1) second -> reciprocal rank 1/2
            [0.5, 0.5, 0.5],  # a three-way tie counts against the query -> rank 3
            [0.0, 0.1, 0.2],  # right document (2) first
        ]
    )
    m = quality.retrieval_metrics(sims, [1, 1, 2])
    assert m["top1"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["mrr"] == pytest.approx((1 / 2 + 1 / 3 + 1) / 3, abs=1e-4)
    assert m["recall@3"] == 1.0


def test_pearson_uses_only_the_upper_triangle():
    rng = np.random.default_rng(0)
    human = np.triu(rng.random((6, 6)), 1)
    model = 2 * human + 1 + np.tril(rng.random((6, 6)) * 100)  # lower triangle is noise
    assert quality.pearson_upper(model, human) == pytest.approx(1.0)
    assert quality.pearson_upper(-model, human) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="square"):
        quality.pearson_upper(np.zeros((3, 4)), np.zeros((3, 4)))


def test_lee_set_is_the_standard_one():
    docs, human, background = quality.lee_data()
    assert (len(docs), human.shape, len(background)) == (50, (50, 50), 300)
    assert np.count_nonzero(human[np.triu_indices(50, 1)]) == 1225


def test_tfidf_on_lee_correlates_with_people():
    rows = quality.lee(["tfidf"], e5_prefixes=())
    assert rows[0]["pairs"] == 1225
    assert 0.45 < rows[0]["pearson_r"] < 0.7  # 0.565 with scikit-learn 1.9


def test_crosslingual_tfidf_runs_on_the_real_set():
    (row,) = quality.crosslingual(["tfidf"])
    assert row["pairs"] == 24
    assert 0.0 <= row["top1"] <= row["recall@3"] <= 1.0


# --- bench_recommend's synthetic catalogs ---------------------------------------------------
def test_synthetic_catalogs_are_the_ones_the_demo_generator_synthesizes():
    import pandas as pd

    from bench.bench_recommend import synthetic_assets
    from demo.generator import GeneratorConfig, generate
    from recommender import normalise_assets

    config = GeneratorConfig(n_assets=60, n_partners=5, n_deals=5, n_events=50, seed=3)
    generated = normalise_assets(generate(config).assets.reset_index(drop=True))
    pd.testing.assert_frame_equal(synthetic_assets(60, seed=3), generated)
    assert not synthetic_assets(60, seed=4).equals(generated)


# --- bench_ingest at a tiny size ------------------------------------------------------------
@pytest.mark.slow
def test_bench_ingest_tiny(tmp_path: Path):
    from bench import bench_ingest

    out = tmp_path / "ingest.json"
    assert (
        bench_ingest.main(
            ["--assets", "12", "--sample", "4", "--backends", "e5", "--no-demo", "--out", str(out)]
        )
        == 0
    )
    result = json.loads(out.read_text())
    (tp,) = result["throughput"]
    assert tp["backend"] == "e5" and tp["passages"] == 4 and tp["passages_per_s"] > 0
    assert tp["tokens_per_s"] > tp["passages_per_s"]
    inc = result["incremental"]
    assert inc["full"]["embedded"] == 12 and inc["full"]["assets"] == 12
    # 1% of 12 assets rounds up to one edited summary: exactly one passage is embedded anew
    assert inc["reingest"]["changed_assets"] == 1 and inc["reingest"]["embedded"] == 1
    assert inc["upsert"]["embedded"] == 1 and inc["upsert"]["assets"] == 12
    assert 0 < inc["reingest"]["ratio_vs_full"] < 1
