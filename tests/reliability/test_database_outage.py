"""A real server on a real PostgreSQL that goes away and comes back.

While the database is down: posting events gets 503 with Retry-After (nothing half-stored),
recommendations keep serving from the snapshot (a key verified recently keeps working),
/readyz stays ready and says the database cannot be reached. When it is back the same server,
never restarted, accepts the retried batch, and the impressions served during the outage
reach the journal (the writer retries them). Every acknowledged event is stored exactly once.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from recommender.storage import postgres
from recommender.storage.pg_events import PostgresJournal
from tests.support import recommendation_body, start_server, stop_server

pytestmark = pytest.mark.postgres


def _batch(template, prefix: str, n: int = 10) -> list[dict[str, object]]:
    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [
        {
            "event_id": f"{prefix}-{i:02d}",
            "ts": ts,
            "type": "open",
            "partner_id": template.partner_ids[i % len(template.partner_ids)],
            "asset_id": template.asset_ids[i % len(template.asset_ids)],
        }
        for i in range(n)
    ]


def test_an_outage_gives_503_keeps_recommending_and_recovers(
    fresh_workspace, template, pg_server, database_url, tmp_path
):
    ws = fresh_workspace
    copied = postgres.import_sqlite(ws.events_path, ws.console_path, database_url)
    assert copied["events"] > 0
    server = start_server(ws, tmp_path / "server.log", env={"RECO_DATABASE_URL": database_url})
    restarted = False
    try:
        with server.client("portal", timeout=30) as c:
            before = c.post("/v1/events", json={"events": _batch(template, "before")})
            assert before.status_code == 200 and before.json()["accepted"] == 10
            assert c.post("/v1/recommendations", json=recommendation_body()).status_code == 200
            ready = c.get("/readyz").json()
            assert ready["database"]["reachable"] is True
            assert "postgresql://" in ready["database"]["url"]

            pg_server.stop("fast")
            during = _batch(template, "during")
            refused = c.post("/v1/events", json={"events": during})
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "5"
            assert "unavailable" in refused.json()["detail"]
            time.sleep(2.5)  # past the key cache's ttl: the key is verified from memory
            served = c.post("/v1/recommendations", json=recommendation_body("P0002"))
            assert served.status_code == 200, served.text
            outage_request = served.json()["request_id"]
            ready = c.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["database"]["reachable"] is False
            assert any("cannot be reached" in w for w in ready.json()["warnings"])

            pg_server.start()
            restarted = True
            deadline = time.monotonic() + 30
            while True:  # the client retries the refused batch, as a portal would
                retried = c.post("/v1/events", json={"events": during})
                if retried.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(float(retried.headers.get("Retry-After", "1")) / 5)
            assert retried.status_code == 200, retried.text
            assert retried.json()["accepted"] == 10
    finally:
        if not restarted:
            pg_server.start()
        stop_server(server)

    with PostgresJournal(database_url) as journal:
        stored = journal.read(columns=["event_id", "type", "request_id"])
    counts = Counter(stored["event_id"])
    acknowledged = [e["event_id"] for e in _batch(template, "before") + during]
    assert [counts[i] for i in acknowledged] == [1] * 20
    assert max(counts.values()) == 1
    # the impressions of the recommendation answered during the outage were written later
    shown = stored[(stored["type"] == "impression") & (stored["request_id"] == outage_request)]
    assert len(shown) == 5
