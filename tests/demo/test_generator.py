"""The seeded generator: determinism, contracts, and the behaviours evaluation relies on
(position bias, utility -> opens, cold start)."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from demo.generator import (
    GeneratedData,
    GeneratorConfig,
    asset_quality,
    generate,
    true_utility,
    true_utility_pairs,
    truth_parameters,
    write_generated,
)
from features import ASSETS, DEALS, EVENTS, PARTNERS, validate_table

SMALL = GeneratorConfig(seed=11, n_deals=400, n_events=30_000)


@pytest.fixture(scope="module")
def small() -> GeneratedData:
    return generate(SMALL)


def _impressions_with_opens(data: GeneratedData) -> pd.DataFrame:
    """Impressions, each with `opened` = 1 if the same request led to an open of that asset."""
    ev = data.events
    imp = ev[ev["type"] == "impression"]
    opens = ev[(ev["type"] == "open") & ev["request_id"].notna()][["request_id", "asset_id"]]
    opens = opens.drop_duplicates().assign(opened=1)
    out = imp.merge(opens, on=["request_id", "asset_id"], how="left")
    out["opened"] = out["opened"].fillna(0).astype(int)
    return out


def _pair_utilities(data: GeneratedData, rows: pd.DataFrame) -> np.ndarray:
    """True utility of (deal at the event's stage, asset) for event rows."""
    deals = data.deals.set_index("deal_id").loc[rows["deal_id"]].reset_index()
    deals["stage"] = rows["stage"].to_numpy()
    assets = data.assets.set_index("asset_id").loc[rows["asset_id"]].reset_index()
    return true_utility_pairs(deals, assets, data.partners, data.config)


def test_same_seed_gives_identical_frames_and_another_seed_does_not(small):
    again = generate(SMALL)
    for name in ("assets", "partners", "deals", "events"):
        pd.testing.assert_frame_equal(getattr(small, name), getattr(again, name), check_like=False)
    other = generate(GeneratorConfig(seed=12, n_deals=400, n_events=30_000))
    assert not small.deals["partner_id"].equals(other.deals["partner_id"])
    assert len(small.events) != len(other.events) or not small.events["asset_id"].equals(
        other.events["asset_id"]
    )


@pytest.mark.parametrize(
    "config",
    [SMALL, GeneratorConfig(seed=3, n_assets=150, n_partners=40, n_deals=150, n_events=8_000)],
    ids=["demo-catalog", "synthesized"],
)
def test_every_generated_table_passes_its_contract(config, small):
    data = small if config == SMALL else generate(config)
    for name, contract in (
        ("assets", ASSETS),
        ("partners", PARTNERS),
        ("deals", DEALS),
        ("events", EVENTS),
    ):
        validate_table(getattr(data, name), contract, source=name)
    ev = data.events
    assert ev["event_id"].is_unique
    assert ev["ts"].is_monotonic_increasing
    assert set(ev["type"]) == {
        "impression",
        "open",
        "download",
        "share",
        "feedback",
        "deal_outcome",
    }
    imp = ev[ev["type"] == "impression"]
    assert imp[["request_id", "position", "asset_id"]].notna().all().all()
    per_request = imp.groupby("request_id")["position"].agg(["min", "max", "count", "nunique"])
    assert (per_request["min"] == 0).all()
    assert (per_request["count"] == per_request["nunique"]).all()
    assert (per_request["count"] <= config.impressions_per_request).all()
    outcomes = ev[ev["type"] == "deal_outcome"]
    assert outcomes["deal_id"].is_unique and outcomes["amount"].gt(0).all()
    assert ev.loc[ev["type"] == "feedback", "value"].isin([-1.0, 1.0]).all()
    deals = data.deals
    assert deals.loc[deals["language"] == "uk", "notes"].str.contains("[іїєґ]").all()
    assert deals.loc[deals["language"] == "en", "notes"].str.contains("[A-Za-z]").all()
    joined = deals.merge(data.partners[["partner_id", "joined_at"]], on="partner_id")
    assert (joined["joined_at"].isna() | (joined["created_at"] >= joined["joined_at"])).all()


def test_synthesized_catalog_has_the_demo_distributions():
    data = generate(GeneratorConfig(seed=4, n_assets=400, n_partners=60, n_deals=50, n_events=0))
    assert len(data.assets) == 400 and len(data.partners) == 60
    assert data.assets["language"].eq("uk").mean() >= 0.30
    assert data.assets["type"].nunique() == 16
    assert data.assets["summary"].map(lambda s: len(s.split())).between(40, 150).all()


def test_event_count_is_near_the_target(small):
    assert 0.8 * SMALL.n_events < len(small.events) < 1.25 * SMALL.n_events


def test_position_bias_is_visible(small):
    ctr = _impressions_with_opens(small).groupby("position")["opened"].mean()
    assert ctr[0] > 2 * ctr[9]


def test_higher_utility_assets_get_more_opens(small):
    imp = _impressions_with_opens(small)
    u = _pair_utilities(small, imp)
    opened = imp["opened"].to_numpy() == 1
    assert u[opened].mean() > u[~opened].mean() + 0.5
    # Same examination probability: compare utility deciles at one position.
    at0 = imp["position"].to_numpy() == 0
    low, high = np.quantile(u[at0], [0.2, 0.8])
    assert opened[at0 & (u >= high)].mean() > 2 * opened[at0 & (u <= low)].mean()


def test_cold_start_assets_have_no_events_before_publication(small):
    ev = small.events.dropna(subset=["asset_id"]).merge(
        small.assets[["asset_id", "published_at", "expires_at"]], on="asset_id"
    )
    assert (ev["ts"] >= ev["published_at"]).all()
    shown = ev[ev["type"] == "impression"]
    assert (shown["expires_at"].isna() | (shown["ts"] < shown["expires_at"])).all()
    start = pd.Timestamp(SMALL.start)
    cold_from = start + pd.Timedelta(days=0.8 * SMALL.days)
    cold = small.assets["published_at"].between(cold_from, start + pd.Timedelta(days=SMALL.days))
    cold_ids = set(small.assets.loc[cold, "asset_id"])
    assert cold_ids and ev["asset_id"].isin(cold_ids).any()
    # Drafts are never shown.
    drafts = set(small.assets.loc[small.assets["status"] == "draft", "asset_id"])
    assert not shown["asset_id"].isin(drafts).any()


def test_winning_deals_shared_more_useful_content(small):
    ev = small.events
    outcome = ev[ev["type"] == "deal_outcome"].set_index("deal_id")["outcome"]
    shares = ev[(ev["type"] == "share") & ev["deal_id"].isin(outcome.index)]
    u = pd.Series(_pair_utilities(small, shares), index=shares["deal_id"].to_numpy())
    per_deal = u.groupby(level=0).mean()
    by_outcome = per_deal.groupby(outcome.reindex(per_deal.index)).mean()
    assert by_outcome["won"] > by_outcome["lost"]


def test_alt_variant_has_a_different_truth(small):
    alt = GeneratorConfig(seed=SMALL.seed, variant="alt")
    u_default = true_utility(small.deals, small.assets, small.partners, SMALL)
    u_alt = true_utility(small.deals, small.assets, small.partners, alt)
    assert u_default.shape == u_alt.shape == (len(small.deals), len(small.assets))
    assert np.corrcoef(u_default.ravel(), u_alt.ravel())[0, 1] < 0.8
    # The best asset for a deal differs for most deals.
    assert (u_default.argmax(axis=1) != u_alt.argmax(axis=1)).mean() > 0.5
    t_def, t_alt = truth_parameters(SMALL), truth_parameters(alt)
    assert t_def["weights"] != t_alt["weights"]
    best = {
        s: max(t_def["stage_type_affinity"][s], key=t_def["stage_type_affinity"][s].get)
        for s in t_def["stage_type_affinity"]
    }
    best_alt = {
        s: max(t_alt["stage_type_affinity"][s], key=t_alt["stage_type_affinity"][s].get)
        for s in t_alt["stage_type_affinity"]
    }
    assert sum(best[s] != best_alt[s] for s in best) >= 5


def test_truth_is_deterministic_and_pairs_agree_with_the_matrix(small):
    u = true_utility(small.deals, small.assets, small.partners, SMALL)
    assert np.array_equal(u, true_utility(small.deals, small.assets, small.partners, SMALL))
    rng = np.random.default_rng(0)
    di = rng.integers(0, len(small.deals), 200)
    ai = rng.integers(0, len(small.assets), 200)
    pairs = true_utility_pairs(
        small.deals.iloc[di].reset_index(drop=True),
        small.assets.iloc[ai].reset_index(drop=True),
        small.partners,
        SMALL,
    )
    np.testing.assert_allclose(pairs, u[di, ai])
    # Latent quality depends on (seed, asset id) only, not on the catalog around the asset.
    q = asset_quality(small.assets["asset_id"], SMALL)
    assert np.allclose(q[:5], asset_quality(small.assets["asset_id"][:5], SMALL))
    assert not np.allclose(q, asset_quality(small.assets["asset_id"], GeneratorConfig(seed=99)))


def test_affinity_override_changes_exactly_that_cell(small):
    deals = small.deals.assign(stage="negotiation")
    custom = GeneratorConfig(
        seed=SMALL.seed, stage_type_affinity={"negotiation": {"battlecard": 0.0}}
    )
    diff = true_utility(deals, small.assets, small.partners, SMALL) - true_utility(
        deals, small.assets, small.partners, custom
    )
    is_battle = (small.assets["type"] == "battlecard").to_numpy()
    w_stage = truth_parameters(SMALL)["weights"]["w_stage"]
    np.testing.assert_allclose(diff[:, is_battle], w_stage * 1.0)
    np.testing.assert_allclose(diff[:, ~is_battle], 0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"variant": "fancy"}, "variant='fancy' is unknown"),
        ({"stage_type_affinity": {"negotiaton": {"battlecard": 1.0}}}, "is not a deal stage"),
        ({"stage_type_affinity": {"closing": {"brochure": 1.0}}}, "is not an asset type"),
        ({"n_deals": 0}, "n_deals=0"),
        ({"start": "someday"}, "is not a date"),
    ],
    ids=["variant", "stage", "type", "deals", "start"],
)
def test_bad_configs_are_refused_with_the_reason(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GeneratorConfig(**kwargs)


def test_write_generated_round_trips(small, tmp_path):
    paths = write_generated(small, tmp_path / "gen")
    assert set(paths) == {"deals", "events", "partners", "assets", "ground_truth"}
    events = pd.read_parquet(paths["events"])
    validate_table(events, EVENTS, source=str(paths["events"]))
    validate_table(pd.read_parquet(paths["deals"]), DEALS, source=str(paths["deals"]))
    validate_table(pd.read_parquet(paths["assets"]), ASSETS, source=str(paths["assets"]))
    truth = json.loads(paths["ground_truth"].read_text("utf-8"))
    assert truth["config"]["seed"] == SMALL.seed
    assert truth["truth"]["stage_type_affinity"]["negotiation"]["battlecard"] == 1.0
    assert len(truth["asset_quality"]) == len(small.assets)
    # The truth can be rebuilt from the written files alone.
    again = true_utility(
        pd.read_parquet(paths["deals"]).head(20),
        pd.read_parquet(paths["assets"]),
        pd.read_parquet(paths["partners"]),
        GeneratorConfig(**{k: v for k, v in truth["config"].items()}),
    )
    np.testing.assert_allclose(
        again, true_utility(small.deals.head(20), small.assets, small.partners, SMALL)
    )


@pytest.mark.slow
def test_a_million_events_well_under_a_minute():
    started = time.perf_counter()
    data = generate(GeneratorConfig(n_deals=10_000, n_events=1_000_000))
    assert time.perf_counter() - started < 45
    assert len(data.events) > 900_000
