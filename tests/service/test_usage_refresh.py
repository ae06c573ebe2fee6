"""Usage features catch up with journaled events without a new snapshot: every
`usage_refresh_seconds` a worker rebuilds the served model's usage features when events were
written since, in its child process (service.runtime.usage_process), and swaps them in."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.service.helpers import Api
from tests.support import Template, copy_workspace, make_settings, recommendation_body


@pytest.fixture
def refreshing(template: Template, tmp_path) -> Iterator[Api]:
    """The app on a fresh copy, refreshing usage every 0.3 s, the first version promoted."""
    from service.app import create_app

    ws = copy_workspace(template, tmp_path / "ws")
    app = create_app(make_settings(ws, usage_refresh_seconds=0.3, reload_check_seconds=0.1))
    with TestClient(app) as client:
        api = Api(client, dict(app.state.service.demo_keys), ws)
        r = api.post(f"/v1/models/{template.versions[0]}/promote", scope="admin")
        assert r.status_code == 200, r.text
        yield api


def _usage(api: Api) -> dict:
    body = api.get("/readyz").json()
    assert body["usage"] is not None, body
    return body["usage"]


def _opens(partner: str, assets: list[str], tag: str) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [
        {"event_id": f"{tag}-{i}", "ts": now, "type": "open", "partner_id": partner,
         "asset_id": a}
        for i, a in enumerate(assets)
    ]  # fmt: skip


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time allowed")
        time.sleep(0.1)


def test_new_events_reach_the_usage_features_without_a_new_snapshot(
    refreshing: Api, template: Template
) -> None:
    api = refreshing
    state = api.client.app.state.service
    before = _usage(api)
    assert before["refreshed_at"] is None and before["events"] > 0
    snapshot = state.recommender.snapshot
    partner = template.partner_ids[0]
    feature_before = snapshot.usage.features(
        snapshot.partners[partner], _context(), [0, 1, 2], 9999.0
    )["partner_history"]
    r = api.post("/v1/events", {"events": _opens(partner, template.asset_ids[:3], "fresh")})
    assert r.status_code == 200 and r.json()["accepted"] == 3, r.text

    def refreshed() -> bool:
        # a request runs the cheap check that starts a refresh when one is due
        api.post("/v1/recommendations", recommendation_body(partner))
        return _usage(api)["events"] >= before["events"] + 3

    _wait_for(refreshed)
    after = _usage(api)
    assert after["refreshed_at"] is not None and after["error"] is None
    fresh = state.recommender.snapshot
    assert fresh is not snapshot and fresh.model_version == snapshot.model_version
    assert fresh.catalog is snapshot.catalog  # the catalog and index were not rebuilt
    feature_after = fresh.usage.features(fresh.partners[partner], _context(), [0, 1, 2], 9999.0)[
        "partner_history"
    ]
    assert (feature_after > feature_before).all()  # the partner's three opens count
    # built in the worker's child process, not on its threads
    pid = state.usage_source.child_pid()
    assert pid is not None and pid != os.getpid()
    assert state.usage_source.builds >= 1 and state.usage_source.fallbacks == 0


def test_nothing_new_journaled_means_no_refresh(refreshing: Api) -> None:
    api = refreshing
    state = api.client.app.state.service
    if state.impressions is not None:
        state.impressions.flush()
    state.refresh_usage_now()  # catch up with whatever the promotion's requests journaled
    snapshot = state.recommender.snapshot
    for _ in range(8):
        api.client.get("/v1/assets", headers=api.headers("manager"))
        time.sleep(0.1)
    state.refresh_usage_now()
    assert state.recommender.snapshot is snapshot


def test_a_killed_usage_process_is_replaced(refreshing: Api, template: Template) -> None:
    api = refreshing
    state = api.client.app.state.service
    events = _usage(api)["events"]
    api.post("/v1/events", {"events": _opens(template.partner_ids[1], template.asset_ids[:2], "a")})
    state.refresh_usage_now()
    pid = state.usage_source.child_pid()
    os.kill(pid, signal.SIGKILL)
    api.post(
        "/v1/events", {"events": _opens(template.partner_ids[1], template.asset_ids[2:4], "b")}
    )
    state.refresh_usage_now()
    assert _usage(api)["events"] >= events + 4
    assert state.usage_source.child_pid() not in (None, pid)
    assert state.usage_source.fallbacks == 0


def _context():
    from recommender.types import DealContext

    return DealContext(stage="negotiation")
