"""The evaluation protocol on small logs whose right answers are obvious: queries, candidates
(the full eligible catalog), graded relevance, slices, baselines, the oracle, the JSON shape."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from features.labels import LabelConfig
from features.pairs import AssetTable
from features.usage import UsageIndex
from recommender.learning.calibration import calibration_bins
from recommender.learning.encoder import PairEncoder
from recommender.learning.evaluation import (
    MODEL_ORDER,
    EvaluationResult,
    _metrics,
    evaluate,
    model_scores,
)
from recommender.learning.queries import prepare_queries, rankings
from recommender.steering.playbook import Playbook

ASSETS = pd.DataFrame(
    {
        "asset_id": ["A0", "A1", "A2", "A3", "A4", "A5"],
        "type": ["white_paper", "case_study", "roi_calculator", "battlecard", "datasheet", "faq"],
        "stages": [["prospecting"], ["discovery"], ["negotiation"], ["negotiation"], [], []],
        "min_tier": [None, None, None, "gold", None, None],
        # A4 is published inside the test window (cold), A5 after the last query (never eligible).
        "published_at": pd.to_datetime(
            ["2025-01-01", "2025-01-01", "2025-01-01", "2025-01-01", "2026-02-05", "2026-12-01"]
        ),
        "status": ["published"] * 6,
    }
)
PARTNERS = pd.DataFrame(
    {
        "partner_id": ["P1", "P2", "P3"],
        "tier": ["registered", "gold", "gold"],
        "maturity": ["new", "advanced", "established"],
        "languages": [["en"], ["en"], ["uk"]],
        "regions": [[], [], []],
    }
)
DEALS = pd.DataFrame(
    {
        "deal_id": ["D1", "D2", "D3"],
        "partner_id": ["P1", "P2", "P3"],
        "stage": ["negotiation", "discovery", "negotiation"],
        "language": ["en", "en", "uk"],
    }
)
TEST_START = pd.Timestamp("2026-02-01")


def _event(
    ts: str, type_: str, partner: str, asset: str | None, deal: str, stage: str, **over
) -> dict:
    row = {
        "ts": pd.Timestamp(ts),
        "type": type_,
        "partner_id": partner,
        "asset_id": asset,
        "deal_id": deal,
        "request_id": None,
        "position": None,
        "stage": stage,
        "outcome": None,
    }
    row.update(over)
    return row


def _log() -> pd.DataFrame:
    rows = [
        # Train window: A1 is popular, A0 a little.
        *[
            _event(f"2026-01-{d:02d} 10:00", "open", "P2", "A1", "D2", "discovery")
            for d in range(2, 12)
        ],
        _event("2026-01-03 10:00", "open", "P1", "A0", "D1", "negotiation"),
        # Test window. P1 at negotiation: shares A2, opens A4 (new), downloads A0.
        _event(
            "2026-02-10 09:00",
            "impression",
            "P1",
            "A2",
            "D1",
            "negotiation",
            request_id="r1",
            position=0,
        ),
        _event("2026-02-10 09:01", "share", "P1", "A2", "D1", "negotiation", request_id="r1"),
        _event("2026-02-10 09:05", "open", "P1", "A4", "D1", "negotiation"),
        _event("2026-02-11 09:05", "download", "P1", "A0", "D1", "negotiation"),
        # P2 at discovery opens A1.
        _event("2026-02-12 09:00", "open", "P2", "A1", "D2", "discovery"),
        # P3 (no event before the window: a new partner) opens A3 at negotiation.
        _event("2026-02-13 09:00", "open", "P3", "A3", "D3", "negotiation"),
        # A context with impressions only: not a query.
        _event(
            "2026-02-14 09:00",
            "impression",
            "P2",
            "A0",
            "D2",
            "closing",
            request_id="r2",
            position=0,
        ),
        # D1 is won: its engaged assets get the bonus.
        _event("2026-02-20 09:00", "deal_outcome", "P1", None, "D1", None, outcome="won"),
    ]
    return pd.DataFrame(rows).sort_values("ts", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def world():
    table = AssetTable.from_frame(ASSETS)
    events = _log()
    usage = UsageIndex.build(events, table, PARTNERS)
    encoder = PairEncoder(table, Playbook.load().matrices, PARTNERS, DEALS, usage)
    data = SimpleNamespace(
        events=events,
        table=table,
        partners=PARTNERS,
        deals=DEALS,
        oracle=None,
        static_ok=np.ones(len(table), dtype=bool),
    )
    queries = prepare_queries(data, encoder, start=TEST_START, end=pd.Timestamp("2026-03-01"))
    return data, encoder, queries


def test_one_query_per_context_with_engagement(world):
    _data, _enc, q = world
    assert sorted(q.contexts["context"]) == [
        "P1|D1|negotiation",
        "P2|D2|discovery",
        "P3|D3|negotiation",
    ]
    first = q.contexts.set_index("context")["t_us"]
    assert first["P1|D1|negotiation"] == pd.Timestamp("2026-02-10 09:00").value // 1000


def test_candidates_are_the_full_eligible_catalog(world):
    _data, _enc, q = world
    by_ctx = {
        c: sorted(q.asset_ids[q.asset_pos[lo:hi]].tolist())
        for c, lo, hi in zip(q.contexts["context"], q.offsets[:-1], q.offsets[1:], strict=True)
    }
    # Registered P1 cannot see the gold-only A3; A5 is not published yet for anyone.
    assert by_ctx["P1|D1|negotiation"] == ["A0", "A1", "A2", "A4"]
    assert by_ctx["P3|D3|negotiation"] == ["A0", "A1", "A2", "A3", "A4"]


def test_relevance_is_graded_engagement_with_the_won_bonus(world):
    _data, _enc, q = world
    assert q.relevance["P1|D1|negotiation"] == {"A2": 4.0, "A4": 2.0, "A0": 3.0}
    assert q.relevance["P2|D2|discovery"] == {"A1": 1.0}
    lo, hi = q.offsets[0], q.offsets[1]
    gains = dict(zip(q.asset_ids[q.asset_pos[lo:hi]], q.gain[lo:hi], strict=True))
    assert gains == {"A0": 3.0, "A1": 0.0, "A2": 4.0, "A4": 2.0}


def test_cold_assets_and_new_partners_are_flagged(world):
    _data, _enc, q = world
    assert set(q.asset_ids[np.unique(q.asset_pos[q.cold])]) == {"A4"}
    new = dict(zip(q.contexts["context"], q.contexts["new_partner"], strict=True))
    assert new == {"P1|D1|negotiation": False, "P2|D2|discovery": False, "P3|D3|negotiation": True}


def test_frozen_visibility_hides_the_window_from_usage_features(world):
    data, encoder, q = world
    rolling = prepare_queries(
        data, encoder, start=TEST_START, end=pd.Timestamp("2026-03-01"), visibility="rolling"
    )
    # P1's download of A0 on Feb 11 is after its query (Feb 10) either way; P2's query on
    # Feb 12 sees P1's Feb 10 share of A2 only when rolling.
    i = list(q.contexts["context"]).index("P2|D2|discovery")
    lo, hi = q.offsets[i], q.offsets[i + 1]
    a2 = lo + list(q.asset_ids[q.asset_pos[lo:hi]]).index("A2")
    assert q.columns["exposure"][a2] == 0
    assert rolling.columns["exposure"][a2] > 0


def test_perfect_and_reversed_rankings(world):
    _data, _enc, q = world
    perfect = _metrics(q.relevance, rankings(q.gain, q, k=10), 10, 6)
    assert perfect["ndcg@10"] == pytest.approx(1.0) and perfect["mrr"] == pytest.approx(1.0)
    reverse = _metrics(q.relevance, rankings(-q.gain, q, k=10), 10, 6)
    assert reverse["ndcg@10"] < 0.8
    assert set(perfect) == {"ndcg@10", "recall@10", "map@10", "mrr", "coverage@10"}


def test_rankings_stop_after_k_or_the_first_hit(world):
    _data, _enc, q = world
    run = rankings(-q.gain, q, k=1)
    # k=1: the list goes on to the first relevant asset, which MRR needs, and no further.
    assert run["P2|D2|discovery"][-1] == "A1"
    assert all(len(v) >= 1 for v in run.values())


def test_popularity_baselines_count_only_the_train_window(world):
    data, _enc, q = world
    scores = model_scores(None, q, data)
    assert set(scores) == {"popularity", "segment_popularity", "semantic", "playbook"}
    pos = list(q.asset_pos[q.offsets[0] : q.offsets[1]])
    pop = dict(zip(q.asset_ids[pos], scores["popularity"][: len(pos)], strict=True))
    assert pop == {"A0": 1.0, "A1": 10.0, "A2": 0.0, "A4": 0.0}


def test_evaluation_json_shape_and_slices(world):
    data, _enc, q = world
    result = evaluate(None, q, data)
    out = result.to_json()
    assert set(out) == {"k", "models", "slices", "true_utility", "off_policy"} and out["k"] == 10
    assert out["true_utility"] == {}  # no oracle knows these data
    assert list(out["models"]) == [m for m in MODEL_ORDER if m in out["models"]]
    assert "cold_start_assets" in out["slices"] and "new_partners" in out["slices"]
    assert "stage=negotiation" in out["slices"] and "maturity=new" in out["slices"]
    # The cold slice ranks only A4 for P1, so every model finds it first.
    cold = out["slices"]["cold_start_assets"]
    assert all(m["ndcg@10"] == pytest.approx(1.0) for m in cold.values())
    assert result.details["slice_queries"]["new_partners"] == 1


def test_metrics_against_the_truth_by_hand():
    """One query over four assets (catalog order A, B, C, D) with true utilities 2, 0, -2 and
    0 (gains sigmoid: .8808, .5, .1192, .5) and k = 2. The oracle orders A, B (B before D:
    catalog order), ideal DCG = .8808 + .5/log2(3) = 1.1963. A model ranking D, A scores
    (.5 + .8808/log2(3)) / 1.1963 = .8825 and recall 1/2 (A of {A, B}); one ranking C, B scores
    (.1192 + .5/log2(3)) / 1.1963 = .3634 and recall 1/2."""
    from types import SimpleNamespace

    from recommender.learning.truth import truth_metrics

    u = np.array([2.0, 0.0, -2.0, 0.0])
    queries = SimpleNamespace(offsets=np.array([0, 4]), asset_pos=np.arange(4))
    scores = {
        "oracle": u,
        "d_then_a": np.array([3.0, 0.0, 0.0, 4.0]),
        "c_then_b": np.array([0.0, 1.0, 2.0, 0.0]),
    }
    got = truth_metrics(scores, u, queries, k=2)  # type: ignore[arg-type]
    assert got["oracle"] == {"ndcg@2": 1.0, "recall@2": 1.0}
    assert got["d_then_a"]["ndcg@2"] == pytest.approx(0.8825, abs=1e-4)
    assert got["c_then_b"]["ndcg@2"] == pytest.approx(0.3634, abs=1e-4)
    assert got["d_then_a"]["recall@2"] == got["c_then_b"]["recall@2"] == 0.5
    # the cold slice ranks B and D only (tie broken by catalog order): B first for the oracle
    cold = truth_metrics(scores, u, queries, k=2, mask=np.array([False, True, False, True]))
    assert cold["oracle"]["ndcg@2"] == 1.0 and cold["d_then_a"]["ndcg@2"] == 1.0  # equal gains


def test_summary_lift_and_gap():
    models = {
        "learned": {"ndcg@10": 0.30},
        "popularity": {"ndcg@10": 0.10},
        "segment_popularity": {"ndcg@10": 0.20},
        "semantic": {"ndcg@10": 0.05},
        "playbook": {"ndcg@10": 0.15},
        "oracle": {"ndcg@10": 0.35},
    }
    summary = EvaluationResult(k=10, models=models, slices={}, details={}).summary
    assert summary["best_baseline"] == "segment_popularity"
    assert summary["lift_over_best"] == pytest.approx(0.5)
    assert summary["gap_closed"] == pytest.approx(2 / 3)


def test_calibration_bins_follow_the_observed_rate():
    rng = np.random.default_rng(0)
    p = rng.random(20_000)
    bins = calibration_bins(p, rng.random(20_000) < p)
    assert len(bins["predicted"]) == 10
    np.testing.assert_allclose(bins["predicted"], bins["observed"], atol=0.03)


def test_an_empty_window_is_reported(world):
    data, encoder, _q = world
    empty = prepare_queries(
        data, encoder, start=pd.Timestamp("2027-01-01"), end=pd.Timestamp("2027-02-01")
    )
    with pytest.raises(ValueError, match="no context with engagement"):
        evaluate(None, empty, data)


def test_label_weights_flow_into_relevance(world):
    data, encoder, _q = world
    q = prepare_queries(
        data,
        encoder,
        start=TEST_START,
        end=pd.Timestamp("2026-03-01"),
        labels=replace(LabelConfig(), share=10.0, won_bonus=0.0),
    )
    assert q.relevance["P1|D1|negotiation"]["A2"] == 10.0
