"""The one eligibility mask: a catalog whose right answers are obvious, one row (serving) equal
to many rows (training), and both equal to the two copies it replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.eligibility import eligible, published_assets, unrestricted_assets
from features.pairs import TIERS, AssetTable, multi_hot
from features.timebase import days_since_epoch

# One asset per rule; "A-open" is eligible for everyone, always.
ASSETS = pd.DataFrame(
    {
        "asset_id": ["A-open", "A-draft", "A-nostatus", "A-expires", "A-future", "A-gold", "A-eu"],
        "type": ["faq"] * 7,
        "status": ["published", "draft", None, "published", "published", "archived", None],
        "published_at": pd.to_datetime(
            [None, None, None, "2025-01-01", "2026-02-01", None, "2025-06-01"]
        ),
        "expires_at": pd.to_datetime([None, None, None, "2026-01-10", None, None, None]),
        "min_tier": [None, None, None, None, None, "gold", None],
        "regions": [[], [], [], [], [], [], ["eu", "uk"]],
    }
)
ASSETS.loc[5, "status"] = "published"  # A-gold is published; its rule is the tier
TABLE = AssetTable.from_frame(ASSETS)
PUBLISHED = published_assets(ASSETS)


def day(date: str) -> float:
    return float(days_since_epoch([pd.Timestamp(date)])[0])


def regions(*names: str) -> np.ndarray:
    return TABLE.hot(TABLE.region_vocab, names)


def ids(mask: np.ndarray) -> list[str]:
    return TABLE.ids[mask].tolist()


def test_published_status_missing_counts_as_published() -> None:
    np.testing.assert_array_equal(PUBLISHED, [True, False, True, True, True, True, True])
    assert published_assets(ASSETS.drop(columns="status")).all()
    np.testing.assert_array_equal(unrestricted_assets(TABLE), [True] * 6 + [False])


@pytest.mark.parametrize(
    ("tier", "where", "date", "expected"),
    [
        (
            "registered",
            (),
            "2026-01-05",
            ["A-open", "A-nostatus", "A-expires"],
        ),
        ("registered", (), "2026-01-10", ["A-open", "A-nostatus"]),  # expired that day
        ("registered", (), "2026-02-01", ["A-open", "A-nostatus", "A-future"]),  # published
        ("gold", (), "2026-01-05", ["A-open", "A-nostatus", "A-expires", "A-gold"]),
        ("platinum", ("uk",), "2026-03-01", ["A-open", "A-nostatus", "A-future", "A-gold", "A-eu"]),
        ("silver", ("us",), "2026-03-01", ["A-open", "A-nostatus", "A-future"]),
        ("registered", ("eu",), "2025-05-31", ["A-open", "A-nostatus", "A-expires"]),
    ],
    ids=[
        "before-expiry",
        "on-expiry-day",
        "on-publication-day",
        "gold-tier",
        "platinum-in-uk",
        "silver-elsewhere",
        "region-before-publication",
    ],
)
def test_each_rule_on_an_obvious_catalog(
    tier: str, where: tuple[str, ...], date: str, expected: list[str]
) -> None:
    mask = eligible(
        TABLE, PUBLISHED, day=day(date), tier=TIERS.index(tier), regions=regions(*where)
    )
    assert ids(mask) == expected


def test_many_rows_equal_one_row_at_a_time() -> None:
    rng = np.random.default_rng(0)
    n = 60
    days = rng.uniform(day("2024-12-01"), day("2026-04-01"), n)
    days[:3] = [day("2026-01-10"), day("2026-02-01"), day("2025-06-01")]  # on the boundaries
    tiers = rng.integers(0, len(TIERS), n).astype(np.int16)
    rows = rng.random((n, len(TABLE.region_vocab))) < 0.4
    many = eligible(TABLE, PUBLISHED, day=days, tier=tiers, regions=rows)
    assert many.shape == (n, len(TABLE))
    for r in range(n):
        one = eligible(TABLE, PUBLISHED, day=float(days[r]), tier=int(tiers[r]), regions=rows[r])
        np.testing.assert_array_equal(many[r], one, err_msg=f"row {r}")


def test_a_catalog_without_regions_restricts_no_one() -> None:
    table = AssetTable.from_frame(ASSETS.drop(columns="regions"))
    mask = eligible(table, PUBLISHED, day=day("2026-03-01"), tier=0, regions=np.zeros(0, bool))
    assert ids(mask) == ["A-open", "A-nostatus", "A-future", "A-eu"]


# ---- the two copies it replaced, verbatim but for their inputs -------------------------------


def _old_serving(
    t: AssetTable, static_ok: np.ndarray, unrestricted: np.ndarray, tier: str, where, day: float
) -> np.ndarray:  # recommender.ranking.candidates.eligibility_mask, without the filters
    ok = static_ok.copy()
    ok &= ~(t.expires_day <= day)
    ok &= ~(t.published_day > day)
    tier_rank = TIERS.index(tier)
    ok &= t.min_tier_code <= tier_rank
    if t.regions.shape[1]:
        mine = t.hot(t.region_vocab, where)
        ok &= unrestricted | t.regions[:, mine].any(axis=1)
    return ok


def _old_training(
    t: AssetTable, static_ok: np.ndarray, p_tier: np.ndarray, p_region: np.ndarray, day
) -> np.ndarray:  # recommender.learning.training.PairEncoder.eligible, rows already looked up
    day = day[:, None]
    ok = static_ok[None, :] & ~(t.expires_day[None, :] <= day) & ~(t.published_day[None, :] > day)
    ok &= t.min_tier_code[None, :] <= p_tier[:, None]
    if t.regions.shape[1]:
        unrestricted = np.asarray(~t.regions.any(axis=1), dtype=bool)
        mine = (p_region.astype(np.uint8) @ t.regions.T.astype(np.uint8)) > 0
        ok &= unrestricted[None, :] | mine
    return ok


def _random_catalog(rng: np.random.Generator, n: int) -> pd.DataFrame:
    region_names = ["eu", "us", "ua", "uk", "apac"]
    dates = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    return pd.DataFrame(
        {
            "asset_id": [f"A{i}" for i in range(n)],
            "type": ["faq"] * n,
            "status": rng.choice(np.array(["published", "draft", "archived", None]), n),
            "published_at": dates.where(rng.random(n) < 0.8),
            "expires_at": (dates + pd.to_timedelta(rng.integers(1, 300, n), unit="D")).where(
                rng.random(n) < 0.3
            ),
            "min_tier": rng.choice(np.array([None, *TIERS], dtype=object), n),
            "regions": [
                list(rng.choice(region_names, int(rng.integers(0, 3)), replace=False))
                for _ in range(n)
            ],
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_gives_the_booleans_of_both_old_copies(seed: int) -> None:
    rng = np.random.default_rng(seed)
    assets = _random_catalog(rng, 200)
    table = AssetTable.from_frame(assets)
    published = published_assets(assets)
    old_static = assets["status"].fillna("published").to_numpy() == "published"
    np.testing.assert_array_equal(published, old_static)
    n = 40
    days = rng.uniform(day("2024-12-01"), day("2026-09-01"), n)
    tiers = rng.choice(TIERS, n).tolist()
    wheres = [tuple(rng.choice(["eu", "us", "ua", "mars"], int(rng.integers(0, 3)))) for _ in tiers]
    p_tier = np.array([TIERS.index(t) for t in tiers], dtype=np.int16)
    p_region = multi_hot([list(w) for w in wheres], table.region_vocab)
    rows = eligible(table, published, day=days, tier=p_tier, regions=p_region)
    np.testing.assert_array_equal(rows, _old_training(table, old_static, p_tier, p_region, days))
    unrestricted = unrestricted_assets(table)
    for r in range(n):
        one = eligible(
            table,
            published,
            day=float(days[r]),
            tier=TIERS.index(tiers[r]),
            regions=table.hot(table.region_vocab, wheres[r]),
            unrestricted=unrestricted,
        )
        old = _old_serving(table, old_static, unrestricted, tiers[r], wheres[r], float(days[r]))
        np.testing.assert_array_equal(one, old, err_msg=f"row {r}")
