"""Usage aggregates: point-in-time correctness (no leakage), values checked by hand and by
brute force, and the serving fast path agreeing with the general one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.codes import lookup_codes
from features.pairs import STAGES, USAGE_FEATURES, AssetTable
from features.point_in_time import stable_order
from features.timebase import to_micros
from features.usage import (
    ASSET_LEVEL_FEATURES,
    PARTNER_LEVEL_FEATURES,
    UsageConfig,
    UsageIndex,
    _deal_pairs,
    segment_code,
)

TYPES = ["white_paper", "case_study", "battlecard", "roi_calculator", "datasheet"]


def _table(n: int = 8) -> AssetTable:
    return AssetTable.from_frame(
        pd.DataFrame(
            {
                "asset_id": [f"A{i}" for i in range(n)],
                "type": [TYPES[i % len(TYPES)] for i in range(n)],
                "stages": [[] for _ in range(n)],
            }
        )
    )


PARTNERS = pd.DataFrame(
    {
        "partner_id": ["P0", "P1", "P2", "P3"],
        "tier": ["gold", "gold", "silver", "registered"],
        "maturity": ["new", "new", "advanced", "developing"],
    }
)


def random_log(n: int = 4000, seed: int = 0, n_assets: int = 8) -> pd.DataFrame:
    """A random but well-formed log: impressions with positions, engagements, outcomes."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(
        ["impression", "open", "download", "share", "feedback", "deal_outcome"],
        size=n,
        p=[0.55, 0.2, 0.08, 0.05, 0.04, 0.08],
    )
    ts = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 90, n)), unit="D")
    # Some events share a timestamp exactly: "strictly before" must exclude them.
    ts = ts.floor("h")
    asset = np.where(
        kinds == "deal_outcome",
        None,
        np.array([f"A{i}" for i in rng.integers(0, n_assets, n)], dtype=object),
    )
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "ts": ts,
            "type": kinds,
            "partner_id": rng.choice(["P0", "P1", "P2", "P3", "P9"], size=n),
            "asset_id": asset,
            "deal_id": rng.choice(["D1", "D2", "D3", "D4", None], size=n),
            "request_id": [f"r{i // 10}" for i in range(n)],
            "position": np.where(kinds == "impression", rng.integers(0, 10, n), -1),
            "stage": rng.choice([*STAGES[:4], None], size=n),
            "outcome": np.where(kinds == "deal_outcome", rng.choice(["won", "lost"], size=n), None),
        }
    )


def _queries(index: UsageIndex, times: list[str], n_assets: int = 8):
    """Every (partner, deal, stage, asset) combination of a few codes at each time."""
    t = to_micros(pd.Series(pd.to_datetime(times)))
    rows = []
    for ti in t:
        for p in ("P0", "P2", "P9", "P-new"):
            for d in ("D1", "D3", None):
                for a in range(n_assets):
                    rows.append((ti, p, d, a % len(STAGES), a))
    frame = pd.DataFrame(rows, columns=["t", "partner", "deal", "stage", "asset"])
    return dict(
        asset=frame["asset"].to_numpy(),
        t_us=frame["t"].to_numpy(),
        partner=index.partner_codes(frame["partner"].to_numpy(dtype=object)),
        deal=index.deal_codes(frame["deal"].to_numpy(dtype=object)),
        stage=frame["stage"].to_numpy(),
    )


CUTS = ["2026-01-20 13:00", "2026-02-10 00:00", "2026-03-15 09:30"]


@pytest.mark.parametrize("cut", CUTS, ids=["early", "middle", "late"])
def test_features_at_t_ignore_every_event_from_t_on(cut):
    """No leakage: changing, dropping or adding events at or after t changes nothing at t."""
    table = _table()
    log = random_log()
    t = pd.Timestamp(cut)
    vectors = np.random.default_rng(1).normal(size=(len(table), 6)).astype(np.float32)
    full = UsageIndex.build(log, table, PARTNERS, asset_vectors=vectors)
    past = log[log["ts"] < t]
    # The future rewritten: other assets, other partners, all shares, every deal won.
    future = log[log["ts"] >= t].copy()
    future["asset_id"] = np.where(future["asset_id"].notna(), "A1", None)
    future["type"] = np.where(future["type"] == "deal_outcome", "deal_outcome", "share")
    future["outcome"] = np.where(future["type"] == "deal_outcome", "won", None)
    future["partner_id"] = "P0"
    rewritten = UsageIndex.build(pd.concat([past, future]), table, PARTNERS, asset_vectors=vectors)
    truncated = UsageIndex.build(past, table, PARTNERS, asset_vectors=vectors)
    for other in (rewritten, truncated):
        q_full = _queries(full, [cut])
        q_other = _queries(other, [cut])
        a = full.features(**q_full)
        b = other.features(**q_other)
        for name in USAGE_FEATURES:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_an_event_at_exactly_t_is_not_before_t():
    table = _table(2)
    log = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-01-01 10:00:00.000000", "2026-01-01 10:00:00.000001"]),
            "type": ["open", "open"],
            "partner_id": ["P0", "P0"],
            "asset_id": ["A0", "A0"],
            "deal_id": ["D1", "D1"],
            "stage": ["discovery", "discovery"],
        }
    )
    index = UsageIndex.build(log, table, PARTNERS)
    p = index.partner_codes(["P0"])[0]
    times = to_micros(
        pd.Series(
            pd.to_datetime(
                [
                    "2026-01-01 10:00:00.000000",
                    "2026-01-01 10:00:00.000001",
                    "2026-01-01 10:00:01.000000",
                ]
            )
        )
    )
    got = index.features(np.zeros(3, dtype=np.int64), times, partner=p)["partner_engaged"]
    np.testing.assert_allclose(got, np.log1p([0, 1, 2]))


def test_partner_and_deal_history_match_brute_force():
    table = _table()
    log = random_log(1500, seed=3)
    index = UsageIndex.build(log, table, PARTNERS)
    eng = log[log["type"].isin(["open", "download", "share"])]
    rng = np.random.default_rng(4)
    for _ in range(40):
        t = pd.Timestamp("2026-01-01") + pd.Timedelta(days=float(rng.uniform(0, 95)))
        pid = str(rng.choice(["P0", "P1", "P2", "P9"]))
        did = str(rng.choice(["D1", "D2"]))
        a = int(rng.integers(0, 8))
        before = eng[eng["ts"] < t]
        mine = before[before["partner_id"] == pid]
        cols = index.features(
            np.array([a]),
            to_micros(pd.Series([t])),
            partner=index.partner_codes([pid]),
            deal=index.deal_codes([did]),
        )
        assert cols["partner_engaged"][0] == pytest.approx(
            np.log1p((mine["asset_id"] == f"A{a}").sum())
        )
        assert cols["partner_history"][0] == pytest.approx(np.log1p(len(mine)))
        in_deal = before[(before["deal_id"] == did) & (before["asset_id"] == f"A{a}")]
        assert cols["deal_engaged"][0] == float(len(in_deal) > 0)


def test_ctr_is_opens_over_examined_impressions_smoothed_towards_the_type():
    table = _table(2)  # A0 white paper, A1 case study
    rows = []
    day = pd.Timestamp("2026-01-05")
    for i in range(100):  # A0 shown 100 times at the top, opened 30 times
        rows.append((day, "impression", "A0", 0))
        if i < 30:
            rows.append((day, "open", "A0", None))
    log = pd.DataFrame(rows, columns=["ts", "type", "asset_id", "position"]).assign(
        partner_id="P0", deal_id="D1", stage="discovery"
    )
    cfg = UsageConfig(prior_strength=20.0)
    index = UsageIndex.build(log, table, PARTNERS, config=cfg)
    after = to_micros(pd.Series([day + pd.Timedelta(days=1)]))
    got = index.features(np.array([0, 1]), np.repeat(after, 2))
    g_ctr = (30 + 1.0) / (100 + 10.0)  # the global rate, itself lightly smoothed
    type_ctr = (30 + 20 * g_ctr) / (100 + 20)
    assert got["ctr"][0] == pytest.approx((30 + 20 * type_ctr) / (100 + 20), rel=1e-5)
    # A case study never shown: its type has no data, so it gets the global rate.
    assert got["ctr"][1] == pytest.approx(g_ctr, rel=1e-5)
    assert got["exposure"][0] == pytest.approx(np.log1p(130))
    assert got["exposure"][1] == 0


def test_popularity_decays_with_the_half_life():
    table = _table(1)
    log = pd.DataFrame(
        {
            "ts": [pd.Timestamp("2026-01-01")],
            "type": ["share"],
            "partner_id": ["P0"],
            "asset_id": ["A0"],
        }
    )
    index = UsageIndex.build(log, table, PARTNERS, config=UsageConfig(half_life_days=10))
    times = to_micros(
        pd.Series(
            pd.to_datetime(["2026-01-01 00:00:01", "2026-01-11 00:00:00", "2026-01-21 00:00:00"])
        )
    )
    pop = np.expm1(index.features(np.zeros(3, dtype=np.int64), times)["asset_popularity"])
    np.testing.assert_allclose(pop, [3.0, 1.5, 0.75], rtol=1e-4)


def test_segment_popularity_is_half_for_an_average_asset_and_higher_for_a_favourite():
    table = _table(4)
    rows = [(pd.Timestamp("2026-01-02"), "P0", "A0")] * 9 + [
        (pd.Timestamp("2026-01-02"), "P0", "A1")
    ]
    log = pd.DataFrame(rows, columns=["ts", "partner_id", "asset_id"]).assign(type="open")
    index = UsageIndex.build(log, table, PARTNERS)
    seg = segment_code("gold", "new")
    after = to_micros(pd.Series([pd.Timestamp("2026-01-03")]))[0]
    got = index.features(np.arange(4), after, segment=seg)["segment_popularity"]
    # A0 has 9 of the segment's 10 engagements, A1 one, A2 and A3 none (4 assets).
    assert got[0] > 0.7
    assert 0.5 > got[1] > got[2] == got[3]
    # Another segment has seen nothing: every asset is average.
    other = index.features(np.arange(4), after, segment=segment_code("platinum", "strategic"))
    assert np.all(np.abs(other["segment_popularity"] - 0.5) < 0.05)


def test_win_influence_counts_deals_where_the_asset_was_used_before_the_outcome():
    table = _table(2)
    ts = pd.to_datetime(
        ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05", "2026-01-06"]
    )
    log = pd.DataFrame(
        {
            "ts": ts,
            "type": ["open", "deal_outcome", "open", "deal_outcome", "open", "deal_outcome"],
            "partner_id": "P0",
            "asset_id": ["A0", None, "A0", None, "A1", None],
            "deal_id": ["D1", "D1", "D2", "D2", "D3", "D3"],
            "outcome": [None, "won", None, "won", None, "lost"],
        }
    )
    index = UsageIndex.build(log, table, PARTNERS, config=UsageConfig(win_prior_strength=5))
    at = to_micros(pd.Series([pd.Timestamp("2026-01-07"), pd.Timestamp("2026-01-03")]))
    got = index.features(np.array([0, 0]), at)
    g = (2 + 1.0) / (3 + 2.0)
    assert got["won_deals"][0] == 2
    assert got["won_rate"][0] == pytest.approx((2 + 5 * g) / (2 + 5))
    # Before the second outcome only D1 is known.
    assert got["won_deals"][1] == 1


def test_co_usage_links_assets_used_in_the_same_deal():
    table = _table(3)
    log = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]),
            "type": "open",
            "partner_id": ["P1", "P1", "P0", "P0"],
            "asset_id": ["A0", "A1", "A0", "A2"],
            "deal_id": ["D1", "D1", "D2", "D9"],
        }
    )
    index = UsageIndex.build(log, table, PARTNERS)
    # P0 used A0 on Jan 3; A1 was used with A0 in deal D1, A2 never with A0 (other deal).
    at = to_micros(pd.Series([pd.Timestamp("2026-01-03 12:00")]))[0]
    got = index.features(np.array([1, 2]), at, partner=index.partner_codes(["P0"])[0])
    assert got["co_usage"][0] > 0
    assert got["co_usage"][1] == 0


def test_deal_pairs_are_the_deals_self_merge_without_an_asset_paired_with_itself():
    """Against pandas: the rows of each deal merged with themselves, same-asset pairs left
    out, each pair at the later of its two first uses (as a multiset: their order is free)."""
    rng = np.random.default_rng(4)
    for _ in range(200):
        n = int(rng.integers(0, 60))
        rows = pd.DataFrame(
            {"deal": rng.integers(0, 8, n), "asset": rng.integers(0, 15, n),
             "t": rng.integers(0, 1000, n)}
        )  # fmt: skip
        first = rows.groupby(["deal", "asset"], sort=False)["t"].min().reset_index()
        merged = first.merge(first, on="deal", suffixes=("_a", "_b"))
        merged = merged[merged["asset_a"] != merged["asset_b"]]
        want = sorted(
            zip(
                (merged["asset_a"] * 15 + merged["asset_b"]).tolist(),
                np.maximum(merged["t_a"], merged["t_b"]).tolist(),
                strict=True,
            )
        )
        keys, times = _deal_pairs(
            first["deal"].to_numpy(), first["asset"].to_numpy(), first["t"].to_numpy(), 15
        )
        assert sorted(zip(keys.tolist(), times.tolist(), strict=True)) == want


def test_co_engagement_links_assets_engaged_with_by_the_same_partners_without_deals():
    table = _table(4)
    day = pd.Timestamp("2026-01-01")
    log = pd.DataFrame(
        {
            "ts": [day + pd.Timedelta(days=i) for i in range(7)],
            "type": "open",
            "partner_id": ["P1", "P1", "P2", "P2", "P3", "P0", "P3"],
            "asset_id": ["A0", "A1", "A0", "A1", "A2", "A0", "A3"],
            "deal_id": None,
        }
    )
    index = UsageIndex.build(log, table, PARTNERS)
    p0 = index.partner_codes(["P0"])[0]
    # P0 opened A0 on Jan 6. A1 was engaged with by both partners who engaged with A0 before
    # (P1, P2); A2 and A3 by neither. Cosine: both / sqrt(partners(A0) * partners(A1)).
    at = to_micros(pd.Series([day + pd.Timedelta(days=5, hours=12)]))[0]
    got = index.features(np.array([1, 2, 3]), at, partner=p0)
    assert got["co_engagement"][0] == pytest.approx(2 / np.sqrt(3 * 2))
    assert got["co_engagement"][1] == 0 and got["co_engagement"][2] == 0
    assert np.all(got["co_usage"] == 0)  # no deals: co-usage knows nothing
    # Before P2's second engagement (Jan 4) only P1 had engaged with both.
    early = to_micros(pd.Series([day + pd.Timedelta(days=2, hours=12)]))[0]
    p1 = index.partner_codes(["P1"])[0]
    got = index.features(np.array([1]), early, partner=p1)
    assert got["co_engagement"][0] == pytest.approx(1 / np.sqrt(2 * 1))


@pytest.mark.parametrize("window", [1, 3, 50])
def test_co_engagement_matches_brute_force(window):
    """Against a direct count over the log: each partner's first engagements, each asset
    paired with the `window` assets the partner first engaged with just before it."""
    n_assets = 8
    table = _table(n_assets)
    log = random_log(1500, seed=11, n_assets=n_assets)
    # Distinct timestamps: the order of first engagements is unambiguous.
    log["ts"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(len(log)), unit="min")
    config = UsageConfig(co_engagement_window=window, recent_assets=4)
    index = UsageIndex.build(log, table, PARTNERS, config=config)
    eng = log[log["type"].isin(["open", "download", "share"]) & log["asset_id"].notna()]
    # Every partner the log names counts (P9 is in the log only).
    firsts = eng.groupby(["partner_id", "asset_id"])["ts"].min().reset_index()
    firsts = firsts.sort_values(["partner_id", "ts"])

    def reference(partner: str, asset: str, t: pd.Timestamp) -> float:
        recent = eng[(eng["partner_id"] == partner) & (eng["ts"] < t)]["asset_id"].tail(4)
        n_of = {a: 0 for a in table.ids}
        both: dict[tuple[str, str], int] = {}
        for _, rows in firsts.groupby("partner_id"):
            order = list(zip(rows["asset_id"], rows["ts"], strict=True))
            for a, ta in order:
                n_of[a] += ta < t
            for i, (a, ta) in enumerate(order):
                for b, _tb in order[max(0, i - window) : i]:
                    if ta < t:  # the later of the two, a, was first engaged with before t
                        both[(a, b)] = both.get((a, b), 0) + 1
                        both[(b, a)] = both.get((b, a), 0) + 1
        values = [
            both.get((asset, other), 0) / np.sqrt(max(n_of[asset] * n_of[other], 1))
            for other in recent
            if other != asset
        ]
        return max(values, default=0.0)

    for when in ["2026-01-01 12:00", "2026-01-02 03:00"]:
        t = pd.Timestamp(when)
        at = to_micros(pd.Series([t]))[0]
        for partner in ["P0", "P2"]:
            code = index.partner_codes([partner])[0]
            got = index.features(np.arange(n_assets), at, partner=code)["co_engagement"]
            want = [reference(partner, a, t) for a in table.ids]
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=f"{partner} {when}")


def test_serving_fast_path_equals_the_general_path():
    """After the last event, per-key totals and the dense co-usage matrix give the same values
    as the binary searches training uses."""
    table = _table()
    log = random_log(3000, seed=7)
    vectors = np.random.default_rng(2).normal(size=(len(table), 5)).astype(np.float32)
    index = UsageIndex.build(log, table, PARTNERS, asset_vectors=vectors)
    after = index.last_event_us + 10_000_000
    q = _queries(index, ["2026-06-01"])
    q["t_us"] = np.full(len(q["asset"]), after)
    fast = index.features(**q)
    # Force the general path: one query earlier than the last event joins the batch.
    q2 = {k: np.r_[v, v[:1]] for k, v in q.items()}
    q2["t_us"][-1] = index.last_event_us - 1
    slow = {k: v[:-1] for k, v in index.features(**q2).items()}
    for name in USAGE_FEATURES:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_asset_and_partner_parts_make_up_the_feature_set():
    assert set(ASSET_LEVEL_FEATURES) | set(PARTNER_LEVEL_FEATURES) == set(USAGE_FEATURES)
    assert not set(ASSET_LEVEL_FEATURES) & set(PARTNER_LEVEL_FEATURES)


def test_as_new_presents_an_asset_as_never_used():
    table = _table()
    log = random_log(2000, seed=5)
    index = UsageIndex.build(log, table, PARTNERS)
    q = _queries(index, ["2026-03-01"])
    used = index.features(**q)
    new = index.features(**q, as_new=True)
    assert used["exposure"].max() > 0
    assert np.all(new["exposure"] == 0) and np.all(new["partner_engaged"] == 0)
    assert np.all(new["deal_engaged"] == 0) and np.all(new["co_usage"] == 0)
    assert np.all(new["won_deals"] == 0)
    # The partner's own history is kept.
    np.testing.assert_array_equal(new["partner_history"], used["partner_history"])


def test_unknown_partner_deal_and_asset_give_neutral_values():
    table = _table()
    index = UsageIndex.build(random_log(500), table, PARTNERS)
    got = index.features(np.array([-1, 0]), index.last_event_us + 1, partner=-1, deal=-1, stage=-1)
    assert got["partner_history"][0] == 0 and got["partner_engaged"][1] == 0
    assert np.all(np.isfinite(np.column_stack([got[n] for n in USAGE_FEATURES])))


def test_an_empty_log_gives_finite_priors():
    table = _table(3)
    empty = random_log(10).iloc[0:0]
    index = UsageIndex.build(empty, table, PARTNERS)
    got = index.features(np.arange(3), to_micros(pd.Series([pd.Timestamp("2026-01-01")]))[0])
    for name in USAGE_FEATURES:
        assert np.all(np.isfinite(got[name])), name
    assert np.all(got["exposure"] == 0)


def test_a_time_ordered_log_and_the_same_log_shuffled_index_alike():
    """A log in time order takes the key-only radix sort (`stable_order`); shuffled, the
    general (key, time) sort: both orders of the same events give the same features."""
    table = _table()
    log = random_log(3000, seed=11)
    log["ts"] = log["ts"] + pd.to_timedelta(np.arange(len(log)), unit="us")  # no ties
    shuffled = log.sample(frac=1.0, random_state=3).reset_index(drop=True)
    ordered_index = UsageIndex.build(log, table, PARTNERS)
    shuffled_index = UsageIndex.build(shuffled, table, PARTNERS)
    assert ordered_index.deal_ids.keys() == shuffled_index.deal_ids.keys()
    for cut in CUTS:
        q = _queries(ordered_index, [cut])
        q_shuffled = _queries(shuffled_index, [cut])
        a, b = ordered_index.features(**q), shuffled_index.features(**q_shuffled)
        for name in USAGE_FEATURES:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("top", [9, 60_000, 3_000_000_000, 2**40])
def teststable_order_is_numpys_stable_argsort(top):
    keys = np.random.default_rng(top).integers(0, top, 50_000)
    keys[::7] = keys[0]  # many ties, whose order must be kept
    np.testing.assert_array_equal(stable_order(keys), np.argsort(keys, kind="stable"))
    assert len(stable_order(keys[:0])) == 0


@pytest.mark.parametrize(
    "ids",
    [
        np.array(["A1", None, "A9", "A1", np.nan, "A0"], dtype=object),
        pd.Series(["A1", None, "A9", "A1", "A0"], dtype="str"),  # Arrow-backed, as read
        pd.Series(["A1", None, "A9", "A1", "A0"], dtype=object, index=[5, 4, 3, 2, 1]),
        np.array([1, 2, 3]),  # ids given as numbers match keys by their text
        "A1",
    ],
    ids=["object", "arrow-str", "object-reindexed", "numbers", "scalar"],
)
def test_lookup_codes_matches_a_dict_lookup(ids):
    mapping = {"A0": 4, "A1": 7, "1": 11, 3: 2}
    expected = [
        -1 if v is None or (isinstance(v, float) and np.isnan(v)) else
        {str(k): c for k, c in mapping.items()}.get(str(v), -1)
        for v in (np.asarray(ids, dtype=object).reshape(-1))
    ]  # fmt: skip
    assert lookup_codes(mapping, ids).tolist() == expected


def test_examination_is_the_estimated_curve_the_last_value_beyond_it_or_none() -> None:
    from features.usage import examination_of

    position = np.array([0, 1, 2, 5])
    assert examination_of((), position).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert examination_of((1.0, 0.5, 0.25), position).tolist() == [1.0, 0.5, 0.25, 0.25]


def _impression_totals(log: pd.DataFrame) -> pd.DataFrame:
    """The log's impressions per (partner, asset, stage, position), as a journal keeps them."""
    shown = log[log["type"] == "impression"]
    frame = pd.DataFrame(
        {
            "partner_id": shown["partner_id"].to_numpy(dtype=object),
            "asset_id": shown["asset_id"].to_numpy(dtype=object),
            "stage": shown["stage"].fillna("").to_numpy(dtype=object),
            "position": shown["position"].to_numpy(dtype=np.int64),
            "t": to_micros(shown["ts"]),
        }
    )
    out = (
        frame.groupby(["partner_id", "asset_id", "stage", "position"])["t"]
        .agg(events="size", first_ts="min", last_ts="max")
        .reset_index()
    )
    out["stage"] = out["stage"].replace("", None)
    return out


@pytest.mark.parametrize("n_assets", [8, 2000], ids=["fine-ticks", "coarse-ticks"])
def test_impressions_given_aggregated_answer_serving_exactly_as_the_raw_log(n_assets):
    """A snapshot reads the journal's impressions as per-group totals: every query after the
    last event (all serving does) gets the features of the raw log, with an examination curve
    (impressions weighted by position), partners seen only in impressions, and a key space
    large enough for coarse time ticks."""
    table = _table(n_assets)
    log = random_log(5000, seed=21, n_assets=n_assets)
    log.loc[log.index[-40:], "partner_id"] = "P-impressions-only"
    log.loc[log.index[-40:], "type"] = "impression"
    log.loc[log.index[-40:], "position"] = 2
    log.loc[log.index[-40:], "asset_id"] = "A1"  # an impression always names its asset
    vectors = np.random.default_rng(4).normal(size=(n_assets, 6)).astype(np.float32)
    config = UsageConfig(examination=(1.0, 0.7, 0.5, 0.4, 0.3))
    raw = UsageIndex.build(log, table, PARTNERS, config=config, asset_vectors=vectors)
    engaged = log[log["type"] != "impression"].reset_index(drop=True)
    totals = _impression_totals(log)
    assert totals["events"].sum() > len(totals)  # groups of several impressions
    agg = UsageIndex.build(
        engaged, table, PARTNERS, config=config, asset_vectors=vectors, impressions=totals
    )
    assert agg.last_event_us == raw.last_event_us
    assert agg.partner_ids.keys() == raw.partner_ids.keys()
    for after in (raw.last_event_us + 1, raw.last_event_us + 86_400_000_000):
        for partner in ("P0", "P2", "P9", "P-impressions-only", "P-new"):
            assets = np.arange(min(n_assets, 64))
            kwargs = dict(stage=assets % len(STAGES), segment=np.full(len(assets), 3))
            want = raw.features(assets, after, partner=raw.partner_codes([partner])[0], **kwargs)
            got = agg.features(assets, after, partner=agg.partner_codes([partner])[0], **kwargs)
            for name in USAGE_FEATURES:
                np.testing.assert_allclose(got[name], want[name], rtol=1e-9, err_msg=name)
    exposure = raw.features(np.arange(8), raw.last_event_us + 1)["exposure"]
    assert exposure.max() > 0  # the impressions do count


def test_the_serving_form_answers_after_the_log_as_the_whole_index_in_less_room():
    import pickle

    table = _table()
    log = random_log(6000, seed=8)
    vectors = np.random.default_rng(3).normal(size=(len(table), 5)).astype(np.float32)
    index = UsageIndex.build(log, table, PARTNERS, asset_vectors=vectors)
    serving = index.for_serving()
    q = _queries(index, ["2026-06-01"])
    q["t_us"] = np.full(len(q["asset"]), index.last_event_us + 1)
    want, got = index.features(**q), serving.features(**q)
    for name in USAGE_FEATURES:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-9, atol=1e-12, err_msg=name)
    assert len(pickle.dumps(serving)) < len(pickle.dumps(index)) / 2
    # a query inside the log (a replay) is answered, as of the log's end
    inside = serving.features(**(q | {"t_us": np.full(len(q["asset"]), index.t_ref - 10**9)}))
    assert all(np.isfinite(inside[name]).all() for name in USAGE_FEATURES)
