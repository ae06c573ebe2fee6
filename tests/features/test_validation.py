import pandas as pd
import pytest

from features import ASSETS, EVENTS, PARTNERS, SchemaError, Tier, check_table, rank, validate_table
from features.validation import split_list


def asset(**over):
    row = {
        "asset_id": "A1",
        "title": "ROI calculator",
        "type": "roi_calculator",
        "language": "en",
        "summary": "A calculator.",
        "stages": ["negotiation"],
        "published_at": "2025-01-01",
    }
    row.update(over)
    return row


def test_valid_rows_are_normalised():
    frame = pd.DataFrame([asset(stages="Negotiation;closing", industries="Retail, banking")])
    out = validate_table(frame, ASSETS, source="a.csv")
    assert out.loc[0, "stages"] == ["negotiation", "closing"]
    assert out.loc[0, "industries"] == ["retail", "banking"]
    assert out.loc[0, "published_at"] == pd.Timestamp("2025-01-01")
    assert out.loc[0, "products"] == []


@pytest.mark.parametrize(
    ("over", "column", "match"),
    [
        ({"type": "brochure"}, "type", "'brochure' is not a valid type; expected one of"),
        ({"stages": ["negotiaton"]}, "stages", "'negotiaton' is not a valid stages"),
        ({"published_at": "31/31/2025"}, "published_at", "is not a date"),
        ({"asset_id": "../etc/passwd"}, "asset_id", "is not a valid id"),
        ({"title": None}, "title", "value is missing"),
        ({"expires_at": "2024-01-01"}, "expires_at", "is before published_at"),
        ({"industries": ["Retail & Co"]}, "industries", "is not a valid industries value"),
    ],
    ids=[
        "unknown-type",
        "unknown-stage",
        "bad-date",
        "path-id",
        "missing-title",
        "expired-before-published",
        "bad-slug",
    ],
)
def test_each_problem_names_row_column_and_reason(over, column, match):
    frame = pd.DataFrame([asset(asset_id="A0"), asset(**over)])
    with pytest.raises(SchemaError, match=match) as info:
        validate_table(frame, ASSETS, source="assets.jsonl")
    problem = info.value.problems[0]
    assert (problem.source, problem.row, problem.column) == ("assets.jsonl", 2, column)


def test_every_problem_is_reported_at_once():
    frame = pd.DataFrame(
        [asset(type="x"), asset(asset_id="A2", language="fr"), asset(asset_id="A2")]
    )
    _, problems = check_table(frame, ASSETS, source="f")
    reasons = sorted((p.row, p.column) for p in problems)
    assert reasons == [(1, "type"), (2, "language"), (3, "asset_id")]


def test_repeated_cells_are_judged_on_every_row_and_by_their_own_type():
    """Each distinct value is checked once per column: a repeated bad value is still a
    problem on each of its rows, list cells stay separate lists, and 1, 1.0 and True (equal
    as dict keys) keep their own verdicts."""
    rows = [asset(asset_id=f"A{i}", type="brochure" if i % 2 else "roi_calculator",
                  stages=None if i < 2 else "negotiation") for i in range(6)]  # fmt: skip
    out, problems = check_table(pd.DataFrame(rows), ASSETS, source="f")
    assert sorted(p.row for p in problems if p.column == "type") == [2, 4, 6]
    assert list(out["type"]) == ["roi_calculator", None] * 3
    assert out.loc[0, "stages"] == [] and out.loc[0, "stages"] is not out.loc[1, "stages"]
    assert out.loc[2, "stages"] is not out.loc[3, "stages"]
    events = pd.DataFrame(
        [
            {"event_id": f"e{i}", "ts": "2025-01-01T10:00:00Z", "type": "feedback",
             "partner_id": "P1", "value": value}
            for i, value in enumerate([1, 1.0, True, 1, 0.5, True, 2])
        ]
    )  # fmt: skip
    out, problems = check_table(events, EVENTS, source="e")
    reasons = {p.row: p.reason for p in problems if p.column == "value"}
    assert set(reasons) == {3, 6, 7}  # True is not a number, wherever it repeats; 2 > 1
    assert "not a number" in reasons[3] and "not a number" in reasons[6]
    assert list(out["value"])[:2] == [1.0, 1.0] and list(out["value"])[4] == 0.5


def test_missing_required_column():
    frame = pd.DataFrame([{"partner_id": "P1", "name": "X", "tier": "gold"}])
    with pytest.raises(SchemaError) as info:
        validate_table(frame, PARTNERS, source="p.csv")
    assert {p.column for p in info.value.problems} == {"maturity", "type"}


def test_event_numbers_are_range_checked():
    frame = pd.DataFrame(
        [
            {
                "event_id": "e1",
                "ts": "2025-01-01T10:00:00Z",
                "type": "feedback",
                "partner_id": "P1",
                "value": 5,
            }
        ]
    )
    with pytest.raises(SchemaError, match="above the maximum 1"):
        validate_table(frame, EVENTS, source="events.csv")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("a;b", ["a", "b"]), ('["a", "b"]', ["a", "b"]), ("a, b", ["a", "b"]), (None, []), ("", [])],
    ids=["semicolon", "json", "comma", "none", "blank"],
)
def test_split_list(cell, expected):
    assert split_list(cell) == expected


def test_rank_orders_tiers():
    assert rank(Tier.REGISTERED) < rank(Tier.SILVER) < rank(Tier.GOLD) < rank(Tier.PLATINUM)
