"""Serving and training compute every model feature the same way.

For one (partner, deal, stage, time) and every asset of the demo catalog, the features a request
is scored on (the recommender's steps: note similarity, the usage provider, `request_batch`,
`pair_features`) equal the features training's `PairEncoder` computes for the same rows, for
every name of `features.pairs.MODEL_FEATURES`: over every deal stage, with and without notes,
with the deal's language known and unknown, for a stored partner, one that states no
language (the deal's language stands in) and one the engine does not know.

The deal's notes are embedded alone on both sides, as serving embeds a request's. (Training
embeds a log's notes in batches, whose vectors differ from single ones by ~1e-6: the embedding
engine's arithmetic, bounded by test_training's test_deal_text_matches_the_pipelines_similarity.)

The workspace is the demo catalog (embedded once per machine into the shared test cache) with
300 generated deals and ~30k events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from features.pairs import LANGUAGES, MODEL_FEATURES, STAGES, USAGE_FEATURES, pair_features
from features.timebase import EPOCH_DATETIME, EPOCH_US, day_to_micros, micros_to_day
from recommender.embedding.embedders import Embedder, get_embedder
from recommender.learning.data import LearningData, load_learning_data
from recommender.learning.deal_text import DealText
from recommender.learning.encoder import PairEncoder
from recommender.ranking.build import build_snapshot, usage_provider
from recommender.ranking.candidates import candidate_similarity
from recommender.ranking.recommender import Recommender, request_batch
from recommender.ranking.snapshot import Snapshot
from recommender.storage.usage import JournalUsageProvider
from recommender.types import DealContext, PartnerProfile
from recommender.workspace import Workspace
from tests.support import SHARED_EMBED_CACHE

PARTNERS = ("stored", "no-languages", "unknown")
UNKNOWN_PARTNER = "P-NOT-STORED"


@dataclass
class World:
    ws: Workspace
    embedder: Embedder
    snap: Snapshot  # with the journal's usage provider, as a promoted model would have
    provider: JournalUsageProvider
    data: LearningData
    deal: pd.Series  # the deal every case asks about
    t_us: int  # the request's time: the snapshot's (`_request_time`)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from demo.workspace import build_demo_workspace

    SHARED_EMBED_CACHE.parent.mkdir(parents=True, exist_ok=True)
    ws = Workspace.at(tmp_path_factory.mktemp("parity") / "ws", embed_cache=SHARED_EMBED_CACHE)
    build_demo_workspace(ws, n_deals=300, n_events=30_000, regenerate=True, progress=False)
    embedder = get_embedder("e5")
    snap = build_snapshot(ws, embedder=embedder, use_model=False)
    provider = usage_provider(ws, snap)
    snap = snap.with_changes(usage=provider)
    data = load_learning_data(ws, embedder_id=embedder.id, dim=embedder.dim)
    deals = data.deals
    # A deal that states everything a deal can: industry, products, competitors, buyer role,
    # language and notes, so every match feature has something to match.
    full = deals[
        deals["industry"].notna()
        & deals["products"].map(len).gt(0)
        & deals["competitors"].map(len).gt(0)
        & deals["buyer_role"].notna()
        & deals["language"].notna()
        & deals["notes"].notna()
    ]
    assert len(full), "the demo has no deal stating everything"
    t_us = _request_time(provider.as_of_us)
    return World(ws, embedder, snap, provider, data, full.iloc[0], t_us)


def _request_time(as_of_us: int) -> int:
    """The first microsecond from the snapshot's time (just after the journal's last event)
    whose day survives the trip through serving's clock (day -> microseconds truncates).

    Serving computes asset-level usage (decayed popularity, rates) once per snapshot, as of
    that time (`JournalUsageProvider`), and reads it for any later request; training decays to
    each example's own time. The two agree exactly at the snapshot's time, so the parity is
    checked there; `test_a_later_request_differs_only_in_decayed_popularity` bounds the rest.
    """
    t_us = as_of_us
    while int(day_to_micros(micros_to_day(t_us))) != t_us:
        t_us += 1
    return t_us


def _case(
    world: World, stage: str, notes: bool, deal_language: bool, partner: str
) -> tuple[DealContext, PartnerProfile, pd.DataFrame, pd.DataFrame]:
    """The request serving gets, and the deals and partners tables training reads, for one case
    (the same deal, changed alike on both sides)."""
    deal = world.deal
    deals = world.data.deals.copy()
    row = deals.index[deals["deal_id"] == deal["deal_id"]][0]
    if not notes:
        deals.loc[row, "notes"] = None
    if not deal_language:
        deals.loc[row, "language"] = None
    context = DealContext(
        stage=stage,
        industry=str(deal["industry"]),
        products=tuple(str(p) for p in deal["products"]),
        competitors=tuple(str(c) for c in deal["competitors"]),
        buyer_role=str(deal["buyer_role"]),
        notes=str(deal["notes"]) if notes else None,
        language=str(deal["language"]) if deal_language else None,
        deal_id=str(deal["deal_id"]),
    )
    partners = world.data.partners.copy()
    stored = world.snap.partners[str(deal["partner_id"])]
    if partner == "stored":
        profile = stored
    elif partner == "no-languages":
        profile = replace(stored, languages=())
        at = partners.index[partners["partner_id"] == stored.partner_id][0]
        partners.at[at, "languages"] = []
    else:
        profile = PartnerProfile(partner_id=UNKNOWN_PARTNER)
    assert partner != "stored" or profile.languages, "the stored partner states languages"
    return context, profile, deals, partners


def _served(snap: Snapshot, context: DealContext, partner: PartnerProfile, day: float) -> dict:
    """Every catalog asset's features as `Recommender.recommend` computes a request's."""
    cands = np.arange(len(snap.table))
    query = snap.query_cache.embed(context.text) if context.text else None
    semantic = candidate_similarity(snap, cands, query) if query is not None else None
    assert snap.usage is not None
    usage = snap.usage.features(partner, context, cands, day)
    batch = request_batch(
        snap.table, cands, context, partner, day=day, semantic=semantic, usage=usage
    )
    return pair_features(snap.table, batch, snap.playbook.matrices)


def _trained(
    world: World,
    deals: pd.DataFrame,
    partners: pd.DataFrame,
    partner_id: str,
    stage: str,
    *,
    t_us: int | None = None,
) -> dict:
    """Every catalog asset's features as training computes an example's."""
    data = world.data
    deal_id = str(world.deal["deal_id"])
    mine = deals[deals["deal_id"] == deal_id]
    text = DealText.compute(
        mine,
        data.catalog,
        data.table,
        world.embedder,
        cache_path=world.ws.cache_path,
        progress=False,
    )
    encoder = PairEncoder(data.table, data.playbook, partners, deals, world.provider.index, text)
    n = len(data.table)
    return encoder.encode(
        np.full(n, partner_id, dtype=object),
        np.full(n, deal_id, dtype=object),
        np.full(n, STAGES.index(stage)),
        np.full(n, world.t_us if t_us is None else t_us),
        np.arange(n),
    )


@pytest.mark.parametrize("partner", PARTNERS)
@pytest.mark.parametrize("deal_language", [True, False], ids=["deal-language", "no-language"])
@pytest.mark.parametrize("notes", [True, False], ids=["notes", "no-notes"])
@pytest.mark.parametrize("stage", STAGES)
def test_serving_and_training_compute_every_model_feature_alike(
    world: World, stage: str, notes: bool, deal_language: bool, partner: str
) -> None:
    context, profile, deals, partners = _case(world, stage, notes, deal_language, partner)
    day = float(micros_to_day(world.t_us))
    served = _served(world.snap, context, profile, day)
    trained = _trained(world, deals, partners, profile.partner_id or "", stage)
    for name in MODEL_FEATURES:
        np.testing.assert_array_equal(served[name], trained[name], err_msg=name)


def test_the_case_changes_what_it_says(world: World) -> None:
    """The cases differ where they should, so the parity above is not vacuous."""
    day = float(micros_to_day(world.t_us))

    def served(**case: object) -> dict:
        context, profile, _, _ = _case(world, **case)  # type: ignore[arg-type]
        return _served(world.snap, context, profile, day)

    base = served(stage="discovery", notes=True, deal_language=True, partner="stored")
    assert base["has_text"].all() and base["semantic"].std() > 0
    assert base["industry_match"].any() and base["product_match"].any()
    assert base["competitor_match"].any() and base["role_match"].any()
    assert base["partner_history"].max() > 0 and base["deal_engaged"].any()
    no_notes = served(stage="discovery", notes=False, deal_language=True, partner="stored")
    assert not no_notes["has_text"].any() and not no_notes["semantic"].any()
    fallback = served(stage="discovery", notes=True, deal_language=True, partner="no-languages")
    deal_language = world.snap.table.language_code == LANGUAGES.index(world.deal["language"])
    np.testing.assert_array_equal(fallback["language_match"], deal_language)
    no_lang = served(stage="discovery", notes=True, deal_language=False, partner="no-languages")
    assert not no_lang["language_match"].any() and not no_lang["deal_language_match"].any()
    unknown = served(stage="closing", notes=True, deal_language=True, partner="unknown")
    assert not unknown["partner_history"].any()


DECAYED = ("asset_popularity", "segment_popularity", "segment_engagement")


def test_a_later_request_differs_only_in_decayed_popularity(world: World) -> None:
    """An hour after the snapshot's time, serving still reads the snapshot's popularity
    (decayed to its time, half-life 30 days) while training decays to the hour later: those
    three features differ by < 0.1 %, every other feature is the same."""
    later = world.t_us + 3_600_000_000
    day = float(micros_to_day(later))
    context, profile, deals, partners = _case(world, "solution", True, True, "stored")
    served = _served(world.snap, context, profile, day)
    trained = _trained(world, deals, partners, profile.partner_id or "", "solution", t_us=later)
    for name in MODEL_FEATURES:
        if name in DECAYED:
            np.testing.assert_allclose(served[name], trained[name], rtol=1e-3, err_msg=name)
        else:
            np.testing.assert_array_equal(served[name], trained[name], err_msg=name)
    assert not np.array_equal(served["asset_popularity"], trained["asset_popularity"])


def test_a_served_requests_features_are_the_encoders(world: World) -> None:
    """What `Recommender.recommend` returns for its items (features included) is what the
    encoder computes for those assets, so the reconstruction above is the served one."""
    now = EPOCH_DATETIME + timedelta(microseconds=world.t_us - EPOCH_US)
    table = world.snap.table
    for stage in ("qualification", "negotiation"):
        context, profile, deals, partners = _case(world, stage, True, True, "stored")
        answer = Recommender(world.snap).recommend(context, profile, n=20, now=now)
        assert len(answer.items) == 20
        trained = _trained(world, deals, partners, profile.partner_id or "", stage)
        for item in answer.items:
            row = table.position[item.asset_id]
            for name in MODEL_FEATURES:
                # now -> day rounds once more than t_us -> day: asset age agrees to ~1e-10 days
                assert item.features[name] == pytest.approx(
                    float(trained[name][row]), rel=1e-6, abs=1e-6
                ), (item.asset_id, name)
    assert set(USAGE_FEATURES) <= set(answer.items[0].features)
