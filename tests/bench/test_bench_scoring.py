"""bench_scoring times what is served: its parts, run on a request, give the very features
and scores `Recommender.recommend` gives that request's items. The request is one where the
deal's language is not the partner's, so a copy of the pair constructor that leaves out the
deal's language (as the benchmark once had) would be caught."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from bench.bench_scoring import ServedScoring, day_of
from recommender import DealContext, PartnerProfile, Recommender, build_snapshot


def test_the_benchmark_scores_the_served_features(demo_workspace):
    snap = build_snapshot(demo_workspace, use_model=False)
    partner = PartnerProfile(tier="gold", maturity="developing", languages=("uk",))
    context = DealContext(stage="discovery", industry="manufacturing", buyer_role="cfo",
                          language="en")  # fmt: skip
    now = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    served = Recommender(snap).recommend(context, partner, n=10, now=now)
    assert served.items

    score = ServedScoring(snap, day=day_of(now))
    cands = np.array([snap.table.position[item.asset_id] for item in served.items])
    columns = score.pairs(partner, context, cands, None, score.usage(partner, context, cands))
    for i, item in enumerate(served.items):
        assert {k: float(columns[k][i]) for k in item.features} == pytest.approx(item.features)
    assert score(partner, context, cands, None) == pytest.approx([i.score for i in served.items])
    # the deal's language counts apart from the partner's: the case the old copy got wrong
    assert not np.array_equal(columns["deal_language_match"], columns["language_match"])


def test_deals_read_back_from_parquet_become_the_contexts_a_portal_states(tmp_path):
    """List columns come back from parquet as numpy arrays, missing cells as None or NaN."""
    import pandas as pd

    from bench.bench_scoring import deal_context
    from demo.generator import GeneratorConfig, generate

    deals = generate(GeneratorConfig(n_deals=6, n_events=60, seed=1)).deals
    deals.loc[0, "industry"] = None
    deals.loc[1, "buyer_role"] = None
    deals.to_parquet(tmp_path / "deals.parquet")
    read = pd.read_parquet(tmp_path / "deals.parquet")
    contexts = [deal_context(read.iloc[i], "negotiation") for i in range(len(read))]
    for (_, deal), context in zip(deals.iterrows(), contexts, strict=True):
        assert context.stage == "negotiation"
        assert context.products == tuple(deal["products"])
        assert context.competitors == tuple(deal["competitors"])
        assert (context.language, context.deal_id) == (deal["language"], deal["deal_id"])
    assert contexts[0].industry is None and contexts[1].buyer_role is None
    assert any(c.competitors == () for c in contexts) and any(c.competitors for c in contexts)
    assert deal_context(None, "closing") == DealContext(stage="closing")
