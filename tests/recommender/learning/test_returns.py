"""The return ratio: how much less (or more) partners engage again with an asset they used,
per examined impression, checked by hand and recovered from a simulated log."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from features.pairs import AssetTable
from recommender.learning.returns import PRIOR_EXAMINED, return_ratio
from recommender.ranking.seen import DEFAULT_RETURN_RATIO

START = pd.Timestamp("2026-03-01")


def _data(events: list[dict[str, Any]], n_assets: int = 4) -> Any:
    table = AssetTable.from_frame(
        pd.DataFrame(
            {
                "asset_id": [f"A{i}" for i in range(n_assets)],
                "type": ["white_paper"] * n_assets,
                "stages": [[] for _ in range(n_assets)],
            }
        )
    )
    frame = pd.DataFrame(events).sort_values("ts", kind="stable").reset_index(drop=True)
    for column in ("deal_id", "request_id", "position", "stage"):
        if column not in frame:
            frame[column] = None
    return cast(Any, SimpleNamespace(events=frame, table=table))


def _impression(t: int, partner: str, asset: str, request: str, slot: int = 0) -> dict:
    return {
        "ts": START + pd.Timedelta(minutes=t),
        "type": "impression",
        "partner_id": partner,
        "asset_id": asset,
        "request_id": request,
        "position": slot,
        "stage": "discovery",
    }


def _open(t: int, partner: str, asset: str, request: str | None) -> dict:
    return {
        "ts": START + pd.Timedelta(minutes=t),
        "type": "open",
        "partner_id": partner,
        "asset_id": asset,
        "request_id": request,
        "stage": "discovery",
    }


def test_the_ratio_by_hand():
    """Ten partners are each shown A1 once, in slot 0, and four open it: 0.4 engagements per
    examined impression of an unseen asset. P1, which opened A0 outside any request, is shown
    A0 six times in slot 1 (examined half the time: 3 looks) and opens it once."""
    events = [_open(0, "P1", "A0", None)]
    for i in range(10):
        events.append(_impression(10 + i, f"U{i}", "A1", f"u{i}"))
        if i < 4:
            events.append(_open(10 + i, f"U{i}", "A1", f"u{i}"))  # same time: still after
    for i in range(6):
        events.append(_impression(100 + i, "P1", "A0", f"s{i}", slot=1))
    events.append(_open(100, "P1", "A0", "s0"))
    got = return_ratio(_data(events), (1.0, 0.5), START + pd.Timedelta(days=1))
    assert got["method"] == "log"
    assert (got["seen_impressions"], got["seen_engaged"]) == (6, 1)
    assert (got["unseen_impressions"], got["unseen_engaged"]) == (10, 4)
    unseen_rate = 4 / 10
    seen_rate = (1 + PRIOR_EXAMINED * DEFAULT_RETURN_RATIO * unseen_rate) / (3 + PRIOR_EXAMINED)
    assert got["ratio"] == pytest.approx(seen_rate / unseen_rate, abs=1e-6)


def test_a_log_without_impressions_or_engagement_keeps_the_default():
    only_opens = [_open(i, "P1", "A0", None) for i in range(3)]
    got = return_ratio(_data(only_opens), (1.0,), START + pd.Timedelta(days=1))
    assert got["method"] == "prior" and got["ratio"] == DEFAULT_RETURN_RATIO
    never_opened = [_impression(i, "P1", "A1", f"r{i}") for i in range(5)]
    got = return_ratio(_data(never_opened), (1.0,), START + pd.Timedelta(days=1))
    assert got["method"] == "prior" and got["unseen_impressions"] == 5
    got = return_ratio(_data(never_opened), (), START + pd.Timedelta(days=1))
    assert got["method"] == "prior"


@pytest.mark.parametrize("true_ratio", [0.25, 1.0, 2.0])
def test_the_ratio_is_recovered_from_a_simulated_log(true_ratio):
    """Partners are shown one asset per request in one of three slots (examined 1, 0.6,
    0.3) and open it with probability 0.2 x examination, times `true_ratio` if they opened
    it before; the measured ratio lands near the true one (many seen impressions: the prior
    weighs little)."""
    rng = np.random.default_rng(7)
    theta = (1.0, 0.6, 0.3)
    used: set[tuple[str, str]] = set()
    events = []
    for r in range(30_000):
        partner, asset, slot = f"P{rng.integers(300)}", f"A{rng.integers(4)}", rng.integers(3)
        events.append(_impression(r, partner, asset, f"r{r}", slot=int(slot)))
        p = 0.2 * theta[slot] * (true_ratio if (partner, asset) in used else 1.0)
        if rng.random() < p:
            events.append(_open(r, partner, asset, f"r{r}"))
            used.add((partner, asset))
    got = return_ratio(_data(events), theta, START + pd.Timedelta(days=30))
    assert got["seen_impressions"] > 5000
    assert got["ratio"] == pytest.approx(true_ratio, rel=0.08)
