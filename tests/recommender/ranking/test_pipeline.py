"""The ranking pipeline on the demo catalog with the real embedder: eligibility, diversity,
stage and maturity sensitivity, cross-lingual notes, reasons, overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from features.schema import Depth, rank
from features.timebase import day_number
from recommender.ranking.build import build_snapshot
from recommender.ranking.candidates import eligibility_mask
from recommender.ranking.diversity import diversify
from recommender.ranking.exploration import Exploration
from recommender.ranking.recommender import Recommender, UnknownPartnerError
from recommender.steering.overrides import Override
from recommender.types import DealContext, Filters, PartnerProfile

NOW = datetime(2026, 11, 27, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine(demo_workspace):
    return Recommender(build_snapshot(demo_workspace, use_model=False))


@pytest.fixture(scope="module")
def assets(engine):
    return engine.snapshot.catalog.assets.set_index("asset_id", drop=False)


def everything(engine, partner, context=None, **kw):
    """All eligible assets for a context, in rank order (n large enough to see the whole set)."""
    context = context or DealContext(stage="discovery")
    return engine.recommend(context, partner, n=1000, now=NOW, **kw).ids()


PLATINUM = PartnerProfile(partner_id="x", tier="platinum", maturity="advanced", languages=("en",))
REGISTERED = PartnerProfile(partner_id="y", tier="registered", maturity="new", languages=("uk",))


def test_only_published_unexpired_assets_are_served(engine, assets):
    served = set(everything(engine, PLATINUM))
    unpublished = set(assets.index[assets["status"].fillna("published") != "published"])
    expired = set(assets.index[pd.to_datetime(assets["expires_at"]) <= pd.Timestamp(NOW.date())])
    future = set(assets.index[pd.to_datetime(assets["published_at"]) > pd.Timestamp(NOW.date())])
    assert unpublished and expired, "the demo catalog should exercise these rules"
    assert not served & (unpublished | expired | future)


def test_tier_restriction(engine, assets):
    gold_only = set(assets.index[assets["min_tier"].isin(["gold", "platinum"])])
    assert gold_only
    low = set(everything(engine, REGISTERED))
    assert not low & gold_only
    # what a platinum partner may be shown: the eligibility mask itself (a list holds at most
    # 300 candidates, fewer than the demo's eligible assets, and one member per family)
    snap = engine.snapshot
    mask = eligibility_mask(snap, PLATINUM, Filters(), day_number(NOW))
    high = {str(a) for a in snap.table.ids[mask]}
    eligible_gold = {
        a
        for a in gold_only
        if assets.loc[a, "status"] in (None, "published")
        and not list(assets.loc[a, "regions"])
        and pd.isna(assets.loc[a, "expires_at"])
        and pd.Timestamp(assets.loc[a, "published_at"]) <= pd.Timestamp(NOW.date())
    }
    assert eligible_gold and eligible_gold <= high


def test_region_restriction(engine, assets):
    restricted = assets[[len(r) > 0 for r in assets["regions"]]]
    region = restricted["regions"].iloc[0][0]
    in_region = {
        a for a, r in zip(restricted.index, restricted["regions"], strict=True) if region in r
    }
    local = PartnerProfile(partner_id="z", tier="platinum", maturity="advanced", regions=(region,))
    elsewhere = PartnerProfile(
        partner_id="w", tier="platinum", maturity="advanced", regions=("zz",)
    )
    assert not set(everything(engine, elsewhere)) & set(restricted.index)
    published = {a for a in in_region if assets.loc[a, "status"] in (None, "published")}
    assert published & set(everything(engine, local))


@pytest.mark.parametrize(
    "filters",
    [Filters(types=("battlecard", "roi_calculator")), Filters(languages=("ru",))],
    ids=["types", "languages"],
)
def test_request_filters(engine, assets, filters):
    got = everything(engine, PLATINUM, filters=filters)
    assert got
    if filters.types:
        assert set(assets.loc[got, "type"]) <= set(filters.types)
    else:
        assert set(assets.loc[got, "language"]) == {"ru"}


def test_diversity_caps_types_in_top_ten(engine, assets):
    for stage in ("prospecting", "negotiation", "post_sale"):
        top = engine.recommend(DealContext(stage=stage), PLATINUM, n=10, now=NOW).ids()
        counts = assets.loc[top, "type"].value_counts()
        assert len(top) == 10 and counts.max() <= 3, (stage, counts.to_dict())


def test_diversify_fills_up_when_the_catalog_is_thin():
    types = np.array([0, 0, 0, 0, 0, 1])
    assert diversify(range(6), types, 6, 3) == [0, 1, 2, 5, 3, 4]
    assert diversify(range(6), types, 3, 1, protected=2) == [0, 1, 5]


def test_stage_moves_the_ranking_as_the_playbook_says(engine, assets):
    early = engine.recommend(DealContext(stage="prospecting"), PLATINUM, n=10, now=NOW).ids()
    late = engine.recommend(DealContext(stage="negotiation"), PLATINUM, n=10, now=NOW).ids()
    early_types = set(assets.loc[early, "type"])
    late_types = list(assets.loc[late, "type"])
    assert early_types & {"white_paper", "article"}
    assert not early_types & {"battlecard", "roi_calculator", "tco_calculator"}
    assert sum(t in {"battlecard", "roi_calculator", "tco_calculator"} for t in late_types) >= 5


def test_maturity_moves_depth(engine, assets):
    def mean_depth(maturity):
        p = PartnerProfile(
            partner_id="m", tier="platinum", maturity=maturity, languages=("en", "uk")
        )
        top = engine.recommend(DealContext(stage="discovery"), p, n=10, now=NOW).ids()
        depths = [rank(Depth(d)) for d in assets.loc[top, "depth"] if isinstance(d, str)]
        return float(np.mean(depths))

    assert mean_depth("new") < mean_depth("strategic") - 0.5


def test_a_ukrainian_note_finds_an_english_asset_and_the_reverse(engine, assets):
    partner = PartnerProfile(
        partner_id="c", tier="platinum", maturity="established", languages=("uk", "en", "ru")
    )
    # Hand-written cross-lingual notes for known demo topics.
    cases = [
        (
            "Клієнт порівнює нас з Polar Dynamics, потрібні аргументи проти конкурента",
            "en",
            "battlecard",
            "polar-dynamics",
        ),
        (
            "The customer is comparing us with Helix Automation and wants counter-arguments",
            "uk",
            "battlecard",
            "helix-automation",
        ),
    ]
    for notes, language, asset_type, competitor in cases:
        result = engine.recommend(
            DealContext(stage="discovery", notes=notes),  # a stage that does not favour battlecards
            partner,
            n=5,
            filters=Filters(languages=(language,)),
            now=NOW,
        )
        top = assets.loc[result.ids()]
        hit = top[
            (top["type"] == asset_type).to_numpy()
            & np.array([competitor in c for c in top["competitors"]])
        ]
        assert len(hit), (notes, top[["title", "type"]].to_dict("records"))
        item = next(i for i in result.items if i.asset_id == hit.index[0])
        assert "notes" in {r.code for r in item.reasons}
        without = engine.recommend(
            DealContext(stage="discovery"),
            partner,
            n=5,
            filters=Filters(languages=(language,)),
            now=NOW,
        ).ids()
        assert hit.index[0] not in without  # the note, not the stage, brought it up


def test_partner_languages_rank_first_when_relevance_is_close(engine, assets):
    ctx = DealContext(stage="negotiation")
    uk = PartnerProfile(partner_id="u", tier="platinum", maturity="established", languages=("uk",))
    en = PartnerProfile(partner_id="e", tier="platinum", maturity="established", languages=("en",))
    uk_top = assets.loc[engine.recommend(ctx, uk, n=10, now=NOW).ids(), "language"]
    en_top = assets.loc[engine.recommend(ctx, en, n=10, now=NOW).ids(), "language"]
    assert (uk_top == "uk").sum() > (en_top == "uk").sum()
    assert (en_top == "en").sum() > (uk_top == "en").sum()


def test_reasons_come_from_the_items_own_features(engine, assets):
    ctx = DealContext(stage="solution", industry="manufacturing", products=("edge-gateway",))
    result = engine.recommend(ctx, PLATINUM, n=10, now=NOW)
    seen_codes = set()
    for item in result.items:
        row = assets.loc[item.asset_id]
        codes = {r.code for r in item.reasons}
        seen_codes |= codes
        assert item.reasons
        if "stage" in codes:
            assert "solution" in row["stages"]
        if "industry" in codes:
            assert "manufacturing" in row["industries"]
            assert item.features["industry_match"] == 1.0
        if "product" in codes:
            assert "edge-gateway" in row["products"]
    assert {"stage", "industry"} <= seen_codes


def test_scores_are_sorted_apart_from_diversity(engine):
    result = engine.recommend(DealContext(stage="closing"), PLATINUM, n=10, now=NOW)
    assert len({i.asset_id for i in result.items}) == 10
    assert result.model_version == "playbook"
    assert len(result.request_id) == 32


def test_overrides_pin_boost_hide(engine):
    snap = engine.snapshot
    ctx = DealContext(stage="prospecting")
    base = engine.recommend(ctx, PLATINUM, n=10, now=NOW).ids()
    last = everything(engine, PLATINUM, ctx)[-1]
    future = (NOW + timedelta(days=1)).isoformat()
    overrides = (
        Override("o1", "pin", last, "partner", partner_id="x", expires_at=future),
        Override("o2", "hide", base[0], "global"),
        Override("o3", "pin", base[1], "partner", partner_id="someone-else"),
        Override("o4", "hide", base[2], "segment", tier="platinum", maturity="advanced"),
    )
    steered = snap.with_changes(overrides=overrides)
    got = engine.recommend(ctx, PLATINUM, n=10, now=NOW, snapshot=steered)
    ids = got.ids()
    assert ids[0] == last and got.items[0].reasons[0].code == "pinned"
    assert base[0] not in ids and base[2] not in ids
    # The pin for another partner and the expired override do not act.
    later = engine.recommend(
        ctx, PLATINUM, n=10, now=NOW + timedelta(days=2), snapshot=steered
    ).ids()
    assert later[0] != last


def test_exploration_keeps_pins_never_shows_hidden_assets_and_logs_propensities(engine):
    snap = engine.snapshot
    ctx = DealContext(stage="prospecting")
    ranked = everything(engine, PLATINUM, ctx)
    overrides = (
        Override("p1", "pin", ranked[40], "global"),
        *(Override(f"h{i}", "hide", a, "global") for i, a in enumerate(ranked[10:30])),
    )
    steered = snap.with_changes(overrides=overrides)
    policy = Exploration(rate=0.3, reserve=20)
    plain = engine.recommend(ctx, PLATINUM, n=10, now=NOW, snapshot=steered, request_id="r0")
    assert [i.propensity for i in plain.items] == [1.0] * 10  # no exploration asked for
    hidden = {o.asset_id for o in overrides if o.action == "hide"}
    explored_any = 0
    for k in range(60):
        got = engine.recommend(
            ctx, PLATINUM, n=10, now=NOW, snapshot=steered, request_id=f"req-{k}",
            exploration=policy,
        )  # fmt: skip
        again = engine.recommend(
            ctx, PLATINUM, n=10, now=NOW, snapshot=steered, request_id=f"req-{k}",
            exploration=policy,
        )  # fmt: skip
        assert got.ids() == again.ids() and got.request_id == f"req-{k}"
        assert got.ids()[0] == ranked[40] and got.items[0].propensity == 1.0  # the pin stays
        assert not hidden & set(got.ids())
        for item, kept in zip(got.items[1:], plain.items[1:], strict=True):
            if item.explored:
                explored_any += 1
                assert item.asset_id not in plain.ids()
                assert item.propensity == pytest.approx(0.3 / 20)
                assert item.propensity_shown == pytest.approx(9 * 0.3 / 20)
            else:
                assert item.asset_id == kept.asset_id and item.propensity == pytest.approx(0.7)
    assert explored_any > 60  # about 60 x 9 x 0.3 = 162 explored slots


def test_seen_assets_are_demoted_or_excluded(engine):
    ctx = DealContext(stage="qualification")
    top = engine.recommend(ctx, PLATINUM, n=10, now=NOW).ids()
    demoted = engine.recommend(ctx, PLATINUM, n=10, now=NOW, seen={top[0]}).ids()
    excluded = engine.recommend(
        ctx, PLATINUM, n=10, now=NOW, seen={top[0]}, filters=Filters(exclude_seen=True)
    ).ids()
    assert top[0] not in excluded
    assert demoted.index(top[0]) > 0 if top[0] in demoted else True


def test_partner_resolution(engine):
    stored = next(iter(engine.snapshot.partners.values()))
    merged = engine.resolve_partner(stored.partner_id, {"maturity": "strategic"})
    assert merged.maturity == "strategic" and merged.tier == stored.tier
    with pytest.raises(UnknownPartnerError, match="not found"):
        engine.resolve_partner("NOPE")
    inline = engine.resolve_partner("NOPE", {"tier": "gold", "maturity": "new"})
    assert inline.tier == "gold" and inline.partner_id == "NOPE"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stage": "negotiaton"}, "stage='negotiaton' is not valid; expected one of"),
        ({"stage": "closing", "buyer_role": "king"}, "buyer_role='king'"),
    ],
    ids=["stage", "role"],
)
def test_bad_context_names_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DealContext(**kwargs)


def test_items_show_the_catalog_row_of_each_asset(engine, assets):
    """Items are read from the snapshot's display columns, not the frame: each must still show
    its own asset's title, type, language and url (None where the catalog has none)."""
    rec = engine.recommend(DealContext(stage="solution"), PLATINUM, n=20, now=NOW)
    assert len(rec.items) == 20
    for item in rec.items:
        row = assets.loc[item.asset_id]
        assert item.title == row["title"]
        assert item.type == row["type"]
        assert item.language == (None if pd.isna(row["language"]) else row["language"])
        assert item.url == (None if pd.isna(row["url"]) else row["url"])


def test_display_columns_turn_missing_values_into_none_and_arrays_into_lists():
    from recommender.ranking.snapshot import display_columns

    frame = pd.DataFrame(
        {
            "asset_id": pd.array(["a", "b", "c"], dtype="string[pyarrow]"),
            "title": ["A", "B", "C"],
            "type": ["datasheet", "battlecard", "case_study"],
            "language": pd.array(["uk", None, "en"], dtype="string[pyarrow]"),
            "url": ["https://x/a", np.nan, None],
            "products": [np.array(["p1", "p2"]), [], None],
        }
    )
    cols = display_columns(frame)
    assert cols["language"].tolist() == ["uk", None, "en"]
    assert cols["url"].tolist() == ["https://x/a", None, None]
    assert cols["products"].tolist() == [["p1", "p2"], [], None]
    assert cols["competitors"].tolist() == [None, None, None]  # absent column


def test_the_deal_language_feature_follows_the_context_language_as_in_training(engine, assets):
    """Training sets `deal_language_match` from the deal's own language; serving must too (it
    used to fall back to the partner's languages even when the request named the deal's)."""
    partner = PartnerProfile(
        partner_id="z", tier="platinum", maturity="advanced", languages=("uk",)
    )
    rec = engine.recommend(DealContext(stage="discovery", language="ru"), partner, n=50, now=NOW)
    seen = set()
    for item in rec.items:
        expected = 1.0 if item.language == "ru" else 0.0
        assert item.features["deal_language_match"] == expected, item.asset_id
        seen.add(expected)
    assert seen == {0.0, 1.0}


@pytest.mark.parametrize("n", [1, 2, 5, 300, 301])
def test_text_rank_threshold_is_numpys_80th_percentile(n):
    from recommender.ranking.reasons import text_rank

    sims = np.random.default_rng(n).random(n).astype(np.float32)
    threshold = np.quantile(sims, 0.8)
    top = text_rank(sims, list(range(n)))
    assert top == {i: bool(sims[i] >= threshold) for i in range(n)}


def test_request_ids_are_unique_hex_and_ordered_by_time():
    """The journal keys impressions by request id: ids that grow with time append to its
    primary-key index instead of landing at random places in it."""
    import time

    from recommender.types import new_request_id

    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    earlier = new_request_id()
    time.sleep(0.002)
    later = new_request_id()
    assert earlier < later
    assert abs(int(later[:12], 16) - time.time_ns() // 1_000_000) < 1000  # ms since the epoch


class _Reversed:
    """A scorer that ranks the playbook's order backwards: a model that disagrees with it
    everywhere (the exploration test needs one; nothing else here depends on it)."""

    version = "reversed"

    def score(self, columns):
        from recommender.ranking.content import ContentScorer

        return -ContentScorer().score(columns)


def test_exploration_gives_the_playbooks_best_a_chance_under_any_model(engine):
    """Under a model that puts the playbook's picks last, explored slots still show them
    (with the propensity of a pool of 20 next-ranked plus the playbook's 10 best)."""
    ctx = DealContext(stage="prospecting")
    playbook = engine.recommend(ctx, PLATINUM, n=10, now=NOW, max_per_type=10).ids()
    flipped = engine.snapshot.with_changes(scorer=_Reversed())
    policy = Exploration(rate=0.3, reserve=20, fallback=10)
    explored: set[str] = set()
    for k in range(80):
        got = engine.recommend(
            ctx, PLATINUM, n=10, now=NOW, snapshot=flipped, request_id=f"fb-{k}",
            exploration=policy,
        )  # fmt: skip
        for item in got.items:
            if item.explored:
                explored.add(item.asset_id)
                assert item.propensity == pytest.approx(0.3 / 30)
    assert set(playbook) <= explored  # 240 explored slots over a pool of 30: each about 8
    assert not set(playbook) & set(
        engine.recommend(ctx, PLATINUM, n=30, now=NOW, snapshot=flipped, max_per_type=30).ids()
    )  # the reversed model alone never shows them in its top 30


def test_a_playbook_ranking_lends_its_scores_to_explorations_fallback(engine):
    """When the playbook itself ranked the candidates, exploration's fallback (the playbook's
    ranking of the same candidates) reuses its scores instead of scoring them again: they
    are exactly what scoring the same columns again gives, and a model's ranking (or a
    re-weighted content scorer) lends none."""
    import dataclasses

    from recommender.ranking.content import ContentScorer
    from recommender.ranking.recommender import PLAYBOOK

    snap = engine.snapshot
    request = engine.prepare(
        DealContext(stage="solution", industry="banking"), PLATINUM, n=10, now=NOW
    )
    ranked = engine.rank(request, snap)
    assert ranked.content is not None
    np.testing.assert_array_equal(ranked.content, PLAYBOOK.score(ranked.columns))
    reweighted = ContentScorer(w_prior=0.6, w_text=0.2, w_meta=0.2)
    assert engine.rank(request, dataclasses.replace(snap, scorer=reweighted)).content is None
