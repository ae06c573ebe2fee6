"""Each model's value on the logged requests, estimated off-policy: on a log served as the engine
serves (a fixed ranking with exploration and its propensities, partners clicking by a known
position-based model), the position bias and the oracle's value are found, and a log without
propensities says it has none."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from features.pairs import AssetTable
from features.usage import UsageIndex
from recommender.learning.encoder import PairEncoder
from recommender.learning.policy_value import (
    logged_requests,
    off_policy_block,
    slates,
)
from recommender.ranking.exploration import Exploration
from recommender.steering.playbook import Playbook

N_ASSETS = 12
TYPES = ["white_paper", "case_study", "roi_calculator", "battlecard", "datasheet", "faq"]
ASSETS = pd.DataFrame(
    {
        "asset_id": [f"A{i}" for i in range(N_ASSETS)],
        "type": [TYPES[i % len(TYPES)] for i in range(N_ASSETS)],
        "stages": [["negotiation"]] * N_ASSETS,
        "published_at": pd.to_datetime(["2025-01-01"] * N_ASSETS),
        "status": ["published"] * N_ASSETS,
    }
)
PARTNERS = pd.DataFrame(
    {
        "partner_id": ["P1", "P2"],
        "tier": ["gold", "gold"],
        "maturity": ["advanced", "new"],
        "languages": [["en"], ["en"]],
        "regions": [[], []],
    }
)
DEALS = pd.DataFrame(
    {"deal_id": ["D1", "D2"], "partner_id": ["P1", "P2"], "stage": ["negotiation"] * 2}
)
THETA = np.array([1.0, 0.6, 0.4, 0.3])
# true attractiveness: the logger ranks A0 first, but A7, A9 and A8 (reserves) are better;
# A10 and A11 the logger never shows
UTILITY = np.array([0.5, 0.0, -0.5, -1.0, -1.5, -2.0, -2.5, 2.0, 1.0, 1.5, -3.5, -4.0])
GAMMA = 1.0 / (1.0 + np.exp(-UTILITY))
START = pd.Timestamp("2026-03-01")
WINDOW = pd.Timestamp("2026-03-15")


class Oracle:
    """The truth of this little world: the same utility for every deal and stage."""

    def utility(self, deal_ids, stages, table):  # type: ignore[no-untyped-def]
        return np.tile(UTILITY[[int(a[1:]) for a in table.ids]], (len(deal_ids), 1))


def _log(
    n_requests: int, *, propensities: bool = True, seed: int = 3, theta: np.ndarray = THETA
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    policy = Exploration(rate=0.25, reserve=6)
    ranked, reserves = [0, 1, 2, 3], [4, 5, 6, 7, 8, 9]
    rows = []
    for r in range(n_requests):
        t = START + pd.Timedelta(minutes=10 * r)
        partner = f"P{1 + r % 2}"
        served = policy.serve(ranked, reserves, pinned=0, request_id=f"req-{r}")
        for slot, asset in enumerate(served.items):
            row = {
                "event_id": f"i{r}-{slot}",
                "ts": t,
                "type": "impression",
                "partner_id": partner,
                "asset_id": f"A{asset}",
                "deal_id": f"D{1 + r % 2}",
                "request_id": f"req-{r}",
                "position": slot,
                "stage": "negotiation",
                "propensity": served.propensity[slot] if propensities else np.nan,
                "propensity_shown": served.propensity_shown[slot] if propensities else np.nan,
            }
            rows.append(row)
            if rng.random() < theta[slot] * GAMMA[asset]:
                rows.append(
                    row
                    | {
                        "event_id": f"o{r}-{slot}",
                        "ts": t + pd.Timedelta(minutes=1),
                        "type": "open",
                        "position": None,
                        "propensity": np.nan,
                        "propensity_shown": np.nan,
                    }
                )
    return pd.DataFrame(rows).sort_values("ts", kind="stable").reset_index(drop=True)


def _world(events: pd.DataFrame):  # type: ignore[no-untyped-def]
    table = AssetTable.from_frame(ASSETS)
    usage = UsageIndex.build(events, table, PARTNERS)
    encoder = PairEncoder(table, Playbook.load().matrices, PARTNERS, DEALS, usage)
    data = SimpleNamespace(
        events=events,
        table=table,
        partners=PARTNERS,
        deals=DEALS,
        oracle=Oracle(),
        static_ok=np.ones(len(table), dtype=bool),
    )
    return data, encoder


@pytest.fixture(scope="module")
def estimated() -> dict:
    events = _log(20_000)
    data, encoder = _world(events)
    end = events["ts"].max() + pd.Timedelta(microseconds=1)
    return off_policy_block(data, encoder, None, start=WINDOW, end=end, n_bootstrap=200)


def test_the_log_becomes_slates_with_rewards_joined_by_request() -> None:
    events = _log(40)
    data, _ = _world(events)
    logged = logged_requests(data, START, WINDOW)
    assert logged is not None and logged.slots == 4
    assert len(logged.requests) == 40 and len(logged.log.request) == 160
    opens = events[events["type"] == "open"]
    opened = set(zip(opens["request_id"], opens["asset_id"], strict=True))
    names = logged.requests["context"].to_numpy()
    got = {
        (names[r], f"A{a}")
        for r, a, y in zip(logged.log.request, logged.log.asset, logged.log.reward, strict=True)
        if y > 0
    }
    assert got == opened


def test_the_position_bias_and_the_oracles_value_are_found(estimated: dict) -> None:
    assert estimated["available"] and estimated["slots"] == 4
    # the log explored enough: examination from the randomisation, free of the ranking
    assert estimated["position_bias"]["method"] == "exploration"
    theta = np.array(estimated["position_bias"]["theta"])
    assert np.allclose(theta, THETA, atol=0.08)
    top = np.argsort(-UTILITY, kind="stable")[:4]
    truth = float(THETA @ GAMMA[top])  # the oracle's engaged impressions per request
    for estimator in ("ips", "snips", "dr"):
        value = estimated["models"]["oracle"][estimator]["value"]
        assert value == pytest.approx(truth, rel=0.12), (estimator, value, truth)
    # the logger's own ranking is worse than the oracle's, and the estimates say so
    logged_truth = float(THETA @ GAMMA[:4])
    assert estimated["logged_policy_value"] == pytest.approx(logged_truth, rel=0.1)
    assert estimated["models"]["oracle"]["dr"]["value"] > 1.3 * estimated["logged_policy_value"]


def test_a_log_without_propensities_gets_no_estimate() -> None:
    events = _log(200, propensities=False)
    data, encoder = _world(events)
    end = events["ts"].max() + pd.Timedelta(microseconds=1)
    block = off_policy_block(data, encoder, None, start=WINDOW, end=end)
    assert block == {
        "available": False,
        "reason": "no impression of the window carries a propensity",
    }


def test_a_slot_nobody_engaged_in_gets_no_estimate_instead_of_an_error() -> None:
    """A small log may have no engagement at all in the last slot: its examination is
    estimated 0, which no estimator can divide by, so the block says why it has no figures
    (a training run on such a log goes on) instead of raising."""
    events = _log(2600, theta=np.array([1.0, 0.6, 0.4, 0.0]))
    data, encoder = _world(events)
    end = events["ts"].max() + pd.Timedelta(microseconds=1)
    block = off_policy_block(data, encoder, None, start=WINDOW, end=end, n_bootstrap=50)
    assert block["available"] is False
    assert "slot 3" in block["reason"]


class _Queries:
    """Two queries: assets 4, 2, 7 and assets 1, 9."""

    offsets = np.array([0, 3, 5])
    asset_pos = np.array([4, 2, 7, 1, 9])

    def __len__(self) -> int:
        return 2


def test_slates_are_each_querys_top_with_ties_by_catalog_order() -> None:
    scores = np.array([1.0, 1.0, 3.0, 0.5, 0.5])
    got = slates(scores, _Queries(), 3)  # type: ignore[arg-type]
    assert got.tolist() == [[7, 2, 4], [1, 9, -1]]
