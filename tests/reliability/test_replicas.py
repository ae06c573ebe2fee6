"""Two service replicas (two `recommender serve` processes on their own ports) sharing one real
PostgreSQL database and one workspace folder.

- A promotion and an override made through replica A are served by replica B within 5 s.
- Replicas on other hosts (their own workspace folder, so no shared generation file) learn of
  an override made through one of them from the database's generation row, within 5 s.
- Clients post events to both while A is killed with SIGKILL and started again: every batch
  either replica acknowledged is in the journal exactly once (retried batches included).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from recommender.storage import postgres
from recommender.storage.pg_events import PostgresJournal
from tests.support import (
    copy_workspace,
    kill,
    recommendation_body,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.postgres

BATCH = 10


@pytest.fixture
def replicas(fresh_workspace, database_url, tmp_path):
    ws = fresh_workspace
    postgres.import_sqlite(ws.events_path, ws.console_path, database_url)
    env = {"RECO_DATABASE_URL": database_url}
    a = start_server(ws, tmp_path / "a.log", env=env)
    b = start_server(ws, tmp_path / "b.log", env=env, keys=a.keys)
    servers = [a, b]
    yield servers, env, tmp_path
    for s in servers:
        if s.process.poll() is None:
            stop_server(s)


def _top(server, body) -> list[str]:
    r = httpx.post(
        f"{server.url}/v1/recommendations", json=body, headers=server.headers("portal"), timeout=30
    )
    assert r.status_code == 200, r.text
    return [i["asset_id"] for i in r.json()["items"]]


def _hide_through_a_and_wait_on_b(a, b) -> None:
    body = recommendation_body("P0001", n=10)
    hidden = _top(b, body)[0]  # what B puts first, hidden through A
    made = httpx.post(
        f"{a.url}/v1/overrides",
        json={"action": "hide", "asset_id": hidden, "scope": "global"},
        headers=a.headers("manager"),
        timeout=60,
    )
    assert made.status_code in (200, 201), made.text
    deadline = time.monotonic() + 5
    while hidden in _top(b, body):
        assert time.monotonic() < deadline, "replica B still shows the hidden asset after 5 s"
        time.sleep(0.2)


def _served_version(server, partner: str = "P0001") -> str:
    r = httpx.post(
        f"{server.url}/v1/recommendations",
        json=recommendation_body(partner),
        headers=server.headers("portal"),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.headers["X-Model-Version"]


def test_a_promotion_and_an_override_through_one_replica_reach_the_other(replicas, template):
    (a, b), _env, _ = replicas
    start = _served_version(b)
    target = next(v for v in template.versions if v != start)
    promoted = httpx.post(
        f"{a.url}/v1/models/{target}/promote", headers=a.headers("admin"), timeout=120
    )
    assert promoted.status_code == 200, promoted.text
    deadline = time.monotonic() + 5
    while _served_version(b) != target:
        assert time.monotonic() < deadline, "replica B still serves the old model after 5 s"
        time.sleep(0.2)

    _hide_through_a_and_wait_on_b(a, b)


def test_replicas_on_other_hosts_learn_of_a_change_from_the_database(
    fresh_workspace, template, database_url, tmp_path
):
    """Each replica has its own copy of the workspace folder (as on another host with its
    own disk): an override made through A reaches B only through the generation row."""
    ws_a = fresh_workspace
    ws_b = copy_workspace(template, tmp_path / "host-b" / "ws")
    postgres.import_sqlite(ws_a.events_path, ws_a.console_path, database_url)
    env = {"RECO_DATABASE_URL": database_url}
    a = start_server(ws_a, tmp_path / "a.log", env=env)
    try:
        b = start_server(ws_b, tmp_path / "b.log", env=env, keys=a.keys)
        try:
            _hide_through_a_and_wait_on_b(a, b)
        finally:
            stop_server(b)
    finally:
        stop_server(a)


class Poster(threading.Thread):
    """Posts batches of new events, alternating replicas; a batch without an answer (the
    replica died) is retried on the other, as a load balancer would."""

    def __init__(self, servers, template, number: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.servers, self.template, self.number, self.stop = servers, template, number, stop
        self.acknowledged: list[str] = []

    def _batch(self, seq: int) -> list[dict[str, object]]:
        ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        partners, assets = self.template.partner_ids, self.template.asset_ids
        return [
            {
                "event_id": f"rep-{self.number}-{seq:05d}-{i:02d}",
                "ts": ts,
                "type": "open",
                "partner_id": partners[(seq + i) % len(partners)],
                "asset_id": assets[(seq * BATCH + i) % len(assets)],
            }
            for i in range(BATCH)
        ]

    def run(self) -> None:
        seq = 0
        while not self.stop.is_set():
            batch = self._batch(seq)
            for attempt in range(40):
                server = self.servers[(seq + attempt) % 2]
                try:
                    r = httpx.post(
                        f"{server.url}/v1/events",
                        json={"events": batch},
                        headers=server.headers("portal"),
                        timeout=10,
                    )
                except httpx.HTTPError:
                    time.sleep(0.1)
                    continue
                if r.status_code == 200:
                    self.acknowledged += [str(e["event_id"]) for e in batch]
                    break
                time.sleep(0.1)
            seq += 1


def test_killing_a_replica_while_clients_post_to_both_loses_and_doubles_nothing(
    replicas, template, database_url
):
    (a, b), env, tmp_path = replicas
    stop = threading.Event()
    posters = [Poster([a, b], template, n, stop) for n in range(3)]
    for p in posters:
        p.start()
    time.sleep(3)
    kill(a.process)  # SIGKILL: no shutdown of any kind
    time.sleep(2)
    restarted = start_server(a.workspace, tmp_path / "a2.log", env=env, keys=a.keys)
    posters_servers = [restarted, b]
    for p in posters:
        p.servers = posters_servers
    time.sleep(3)
    stop.set()
    for p in posters:
        p.join(timeout=120)
    stop_server(restarted)

    acknowledged = [e for p in posters for e in p.acknowledged]
    assert len(acknowledged) > 20 * BATCH  # both replicas took a real stream
    with PostgresJournal(database_url) as journal:
        ids = journal.read(columns=["event_id"])["event_id"]
    counts = Counter(ids)
    assert max(counts.values()) == 1
    missing = [e for e in acknowledged if counts[e] != 1]
    assert missing == []
