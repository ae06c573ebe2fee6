"""Labels and judgements: graded engagement, best not sum, won-deal bonus, joins, cutoffs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.labels import (
    LabelConfig,
    as_int_grades,
    context_keys,
    context_relevance,
    impression_labels,
    won_deals,
)
from features.schema import ENGAGEMENT_TYPES, EventType

T0 = pd.Timestamp("2026-03-01 10:00")


def ev(minutes: float, type_: str, asset: str | None = "A1", **over) -> dict:
    row = {
        "ts": T0 + pd.Timedelta(minutes=minutes),
        "type": type_,
        "partner_id": "P1",
        "asset_id": asset,
        "deal_id": "D1",
        "request_id": None,
        "stage": "solution",
        "position": None,
        "outcome": None,
    }
    row.update(over)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def imp(
    minutes: float = 0, asset: str = "A1", request: str = "r1", position: int = 0, **over
) -> dict:
    return ev(minutes, "impression", asset, request_id=request, position=position, **over)


@pytest.mark.parametrize(
    ("engagements", "expected"),
    [
        ([], 0.0),
        (["open"], 1.0),
        (["open", "download"], 2.0),
        (["open", "share"], 3.0),
        (["open", "open", "open", "open"], 1.0),  # the best engagement, not the sum
    ],
    ids=["nothing", "open", "download", "share", "repeated-opens"],
)
def test_an_impression_is_labelled_with_its_best_engagement(engagements, expected):
    events = frame(imp(), *(ev(1 + i, e, request_id="r1") for i, e in enumerate(engagements)))
    impressions = events[events["type"] == "impression"]
    assert impression_labels(impressions, events)[0] == expected


def test_configured_weights_change_the_grades():
    events = frame(imp(), ev(1, "download", request_id="r1"))
    config = LabelConfig(open=1, download=5, share=9)
    assert impression_labels(events.iloc[:1], events, config)[0] == 5


def test_won_deal_adds_the_bonus_to_engaged_assets_only():
    events = frame(
        imp(0, "A1"),
        imp(0, "A2", position=1),
        ev(1, "share", "A1", request_id="r1"),
        ev(60 * 24, "deal_outcome", None, outcome="won"),
    )
    impressions = events[events["type"] == "impression"]
    np.testing.assert_array_equal(impression_labels(impressions, events), [4.0, 0.0])
    lost = events.assign(outcome=np.where(events["type"] == "deal_outcome", "lost", None))
    np.testing.assert_array_equal(impression_labels(impressions, lost), [3.0, 0.0])


def test_engagement_joins_by_request_id_not_by_asset_alone():
    events = frame(
        imp(0, "A1", "r1"),
        imp(5, "A1", "r2"),
        ev(6, "open", "A1", request_id="r2"),
    )
    impressions = events[events["type"] == "impression"]
    np.testing.assert_array_equal(impression_labels(impressions, events), [0.0, 1.0])


def test_without_request_ids_engagement_joins_by_context_within_the_horizon():
    config = LabelConfig(horizon_days=1)
    events = frame(
        imp(0, "A1"),
        ev(30, "open", "A1"),  # same partner/deal/stage, 30 minutes later: counts
        imp(0, "A2", position=1),
        ev(60 * 24 * 3, "download", "A2"),  # three days later: outside the horizon
        imp(0, "A3", position=2),
        ev(-5, "share", "A3"),  # before the impression: not caused by it
        imp(0, "A4", position=3),
        ev(10, "share", "A4", stage="closing"),  # another stage: another context
    )
    impressions = events[events["type"] == "impression"]
    np.testing.assert_array_equal(impression_labels(impressions, events, config), [1, 0, 0, 0])


def test_labels_ignore_events_from_the_cutoff_on():
    events = frame(imp(0), ev(1, "open", request_id="r1"), ev(120, "share", request_id="r1"))
    cutoff = T0 + pd.Timedelta(minutes=60)
    assert impression_labels(events.iloc[:1], events, cutoff=cutoff)[0] == 1.0
    assert impression_labels(events.iloc[:1], events)[0] == 3.0


def test_outcome_after_the_cutoff_gives_no_bonus():
    events = frame(
        imp(0), ev(1, "open", request_id="r1"), ev(600, "deal_outcome", None, outcome="won")
    )
    assert (
        impression_labels(events.iloc[:1], events, cutoff=T0 + pd.Timedelta(minutes=300))[0] == 1.0
    )
    assert won_deals(events) == {"D1"}
    assert won_deals(events, cutoff=T0) == set()


def test_context_relevance_grades_each_asset_of_each_context():
    events = frame(
        ev(0, "open", "A1"),
        ev(1, "download", "A1"),
        ev(2, "open", "A2", stage="closing"),
        ev(3, "impression", "A3", request_id="r9", position=0),
        ev(4, "feedback", "A4"),
    )
    judged = context_relevance(events).sort_values(["context", "asset_id"]).reset_index(drop=True)
    assert judged.to_dict("records") == [
        {"context": "P1|D1|closing", "asset_id": "A2", "gain": 1.0},
        {"context": "P1|D1|solution", "asset_id": "A1", "gain": 2.0},
    ]


def test_context_keys_mark_missing_parts():
    events = frame(ev(0, "open", deal_id=None, stage=None))
    assert context_keys(events).tolist() == ["P1|-|-"]


def test_int_grades_keep_integer_gains_and_scale_fractional_ones():
    np.testing.assert_array_equal(as_int_grades(np.array([0, 1, 4.0])), [0, 1, 4])
    grades = as_int_grades(
        np.array([0.0, 0.5, 1.5]), LabelConfig(open=0.5, download=1, share=1.5, won_bonus=0)
    )
    assert grades[0] == 0 and grades[1] < grades[2] <= 30


@pytest.mark.parametrize("field", ["open", "download", "share", "won_bonus", "horizon_days"])
def test_negative_weights_are_refused(field):
    with pytest.raises(ValueError, match=f"{field}=-1"):
        LabelConfig(**{field: -1})


def test_engagement_types_are_the_open_download_share_event_types_and_each_has_a_gain():
    assert ENGAGEMENT_TYPES == ("open", "download", "share")
    assert [EventType(t) for t in ENGAGEMENT_TYPES] == [
        EventType.OPEN,
        EventType.DOWNLOAD,
        EventType.SHARE,
    ]
    assert list(LabelConfig(open=1, download=5, share=7).weights.items()) == [
        ("open", 1),
        ("download", 5),
        ("share", 7),
    ]
