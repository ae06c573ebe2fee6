"""Smoke tests of the benchmark scripts: their metric functions on cases whose answer is
obvious, bench_recommend's synthetic catalog, and bench_ingest end to end at a tiny size. The
runner, the targets and the report have their own files (test_run_all, test_targets,
test_report)."""

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


def test_lift_summary():
    models = {
        "learned": {"ndcg@10": 0.30},
        "popularity": {"ndcg@10": 0.20},
        "playbook": {"ndcg@10": 0.25},
        "oracle": {"ndcg@10": 0.50},
    }
    s = quality.lift_summary(models)
    assert s["best_baseline"] == "playbook"
    assert s["lift_over_best"] == pytest.approx(0.2)
    assert s["gap_closed"] == pytest.approx(0.2)


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


def test_evaluation_runs_demo_train_evaluate_per_variant(tmp_path: Path, monkeypatch):
    """The evaluation table is made by the `recommender` commands (stood in for here): a
    fresh workspace per variant, then train, then evaluate --json, whose models it keeps."""
    calls: list[list[str]] = []
    models = {"learned": {"ndcg@10": 0.3}, "playbook": {"ndcg@10": 0.2}}

    def cli(args: list[str], env: dict[str, str], timeout: float) -> str:
        calls.append(args)
        assert env["RECO_EMBED_CACHE"] == str(tmp_path / "cache.sqlite")
        return "log line\n" + json.dumps({"k": 10, "models": models}) if "evaluate" in args else ""

    monkeypatch.setattr(quality, "_cli", cli)
    out = quality.evaluation(["default", "alt"], events=100, deals=10, seed=7,
                             embed_cache=tmp_path / "cache.sqlite", timeout=60)  # fmt: skip
    assert "skipped" not in out
    assert [c[4] for c in calls] == ["demo", "train", "evaluate"] * 2
    assert calls[0][4:] == ["demo", "--generate", "--variant", "default", "--seed", "7",
                            "--events", "100", "--deals", "10"]  # fmt: skip
    assert out["variants"]["alt"]["models"] == models
    assert out["variants"]["alt"]["summary"]["best_baseline"] == "playbook"
