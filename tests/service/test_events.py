"""POST /v1/events: per-event validation, idempotency, durability, limits."""

from __future__ import annotations

import sqlite3

import pytest

from tests.service.helpers import Api


def event(i: int, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": f"evt-{i:05d}",
        "ts": "2026-01-05T12:00:00Z",
        "type": "open",
        "partner_id": "P0001",
        "asset_id": "A0001",
    }
    return base | fields


def stored(api: Api, event_id: str) -> int:
    """Rows with this event id, read through a separate connection (what is on disk)."""
    with sqlite3.connect(api.workspace.events_path) as conn:
        return conn.execute(
            "SELECT count(*) FROM events WHERE event_id = ?", (event_id,)
        ).fetchone()[0]


def test_valid_events_are_accepted_and_on_disk_when_the_response_comes(api: Api) -> None:
    batch = [event(1), event(2, type="download"), event(3, type="feedback", value=1)]
    r = api.post("/v1/events", {"events": batch})
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert [stored(api, f"evt-{i:05d}") for i in (1, 2, 3)] == [1, 1, 1]


def test_a_repeated_batch_is_all_duplicates(api: Api) -> None:
    batch = [event(10), event(11)]
    assert api.post("/v1/events", {"events": batch}).json()["accepted"] == 2
    again = api.post("/v1/events", {"events": batch}).json()
    assert again == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert stored(api, "evt-00010") == 1


def test_an_id_repeated_within_the_batch_counts_once(api: Api) -> None:
    r = api.post("/v1/events", {"events": [event(20), event(20)]}).json()
    assert (r["accepted"], r["duplicates"]) == (1, 1)


def test_invalid_events_are_rejected_by_index_and_the_rest_written(api: Api) -> None:
    batch = [
        event(30),
        event(31, type="glance"),  # unknown type
        event(32, asset_id="no-such-asset"),  # unknown asset
        event(33, partner_id="no-such-partner"),
        event(34, type="feedback"),  # feedback needs a value
        event(35, ts="yesterday"),
        event(36, type="impression"),  # needs request_id and position
        event(37, type="deal_outcome", asset_id=None, deal_id="D1", outcome="won"),
    ]
    r = api.post("/v1/events", {"events": batch})
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 2
    rejected = {x["index"]: x["error"] for x in body["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4, 5, 6]
    assert "impression" in rejected[1] and "open" in rejected[1]  # lists the allowed types
    assert "no-such-asset" in rejected[2]
    assert "no-such-partner" in rejected[3]
    assert "value" in rejected[4]
    assert stored(api, "evt-00030") == 1 and stored(api, "evt-00031") == 0


def test_batches_over_1000_events_are_422(api: Api) -> None:
    batch = [event(100_000 + i) for i in range(1001)]
    r = api.post("/v1/events", {"events": batch})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "events"


@pytest.mark.parametrize(
    "body",
    [{"events": []}, {"events": [{"event_id": "x"}]}, {"events": "nope"}, {}],
    ids=["empty", "missing-fields", "not-a-list", "no-events"],
)
def test_malformed_batches_are_422(api: Api, body: dict) -> None:
    assert api.post("/v1/events", body).status_code == 422


def test_events_need_a_key(api: Api) -> None:
    r = api.client.post("/v1/events", json={"events": [event(200)]})
    assert r.status_code == 401
    r = api.client.post(
        "/v1/events", json={"events": [event(200)]}, headers={"X-API-Key": "reco_portal_x"}
    )
    assert r.status_code == 401
    assert stored(api, "evt-00200") == 0


def test_a_body_over_the_limit_is_413_even_without_content_length(api: Api) -> None:
    def chunks():
        for _ in range(300):
            yield b"x" * 8192  # 2.4 MB in chunks: only the stream tells the size

    r = api.client.post(
        "/v1/events",
        content=chunks(),
        headers={**api.headers("portal"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413


def test_metrics_count_accepted_events(api: Api) -> None:
    api.post("/v1/events", {"events": [event(300), event(301)]})
    text = api.client.get("/metrics").text
    line = next(
        x for x in text.splitlines() if x.startswith('reco_events_total{outcome="accepted"}')
    )
    assert float(line.split()[-1]) >= 2
