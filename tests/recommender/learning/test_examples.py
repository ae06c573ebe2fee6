"""Training examples count every engagement: a partner browsing the portal outside any deal
(no deal id, no stage) is a positive like one inside a deal, and a log that names no deal and
no stage at all still yields examples whose features serving's code computes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from features.labels import LabelConfig
from features.pairs import AssetTable
from features.usage import UsageIndex
from recommender.learning.encoder import PairEncoder
from recommender.learning.examples import build_context_examples, build_examples
from recommender.steering.playbook import Playbook

ASSETS = pd.DataFrame(
    {
        "asset_id": [f"A{i}" for i in range(8)],
        "type": ["white_paper", "case_study", "roi_calculator", "battlecard"] * 2,
        "published_at": pd.to_datetime(["2025-01-01"] * 8),
        "status": ["published"] * 8,
    }
)
PARTNERS = pd.DataFrame(
    {
        "partner_id": ["P1", "P2"],
        "tier": ["gold", "gold"],
        "maturity": ["new", "advanced"],
        "languages": [["en"], ["en"]],
        "regions": [[], []],
    }
)
DEALS = pd.DataFrame({"deal_id": ["D1"], "partner_id": ["P1"], "stage": ["negotiation"]})


def _event(i: int, partner: str, asset: str, deal: object, stage: object, type_="open") -> dict:
    return {
        "event_id": f"e{i}",
        "ts": pd.Timestamp("2026-03-01") + pd.Timedelta(hours=i),
        "type": type_,
        "partner_id": partner,
        "asset_id": asset,
        "deal_id": deal,
        "request_id": None,
        "position": None,
        "stage": stage,
        "outcome": None,
    }


def _world(events: pd.DataFrame):  # type: ignore[no-untyped-def]
    table = AssetTable.from_frame(ASSETS)
    usage = UsageIndex.build(events, table, PARTNERS)
    encoder = PairEncoder(table, Playbook.load().matrices, PARTNERS, DEALS, usage)
    data = SimpleNamespace(events=events, table=table, static_ok=np.ones(len(table), bool))
    return data, encoder


# P1 opens A1 inside deal D1 at negotiation; P2 browses: opens A2 and shares A3 with no deal
# and no stage (missing as None in one row, as NaN in the other, as parquet and CSV give them)
LOG = pd.DataFrame(
    [
        _event(0, "P1", "A1", "D1", "negotiation"),
        _event(1, "P2", "A2", None, None),
        _event(2, "P2", "A3", np.nan, np.nan, type_="share"),
    ]
)
WINDOW = {"start": pd.Timestamp("2026-02-01"), "end": pd.Timestamp("2026-04-01")}


@pytest.mark.parametrize("build", [build_examples, build_context_examples], ids=["free", "context"])
def test_engagements_without_deal_or_stage_are_positives(build) -> None:  # type: ignore[no-untyped-def]
    data, encoder = _world(LOG)
    ex = build(data, encoder, labels=LabelConfig(), negatives=3, seed=0, **WINDOW)
    positives = {
        (p, int(a), int(s))
        for p, a, s, g in zip(ex.partner_id, ex.asset_pos, ex.stage, ex.gain, strict=True)
        if g > 0
    }
    assert positives == {("P1", 1, 4), ("P2", 2, -1), ("P2", 3, -1)}
    assert set(ex.deal_id[ex.partner_id == "P2"]) == {None}
    ex.encode(encoder)  # serving's features, with the stage unknown where the log names none
    stage_less = ex.stage == -1
    assert np.all(ex.columns["stage_code"][stage_less] == -1)
    assert np.all(ex.columns["stage_tagged"][stage_less] == 0)
    assert np.allclose(ex.columns["prior_stage_type"][stage_less], Playbook.load().matrices.default)
