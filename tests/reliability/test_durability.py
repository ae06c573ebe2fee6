"""Durability: every event the server acknowledged survives SIGKILL, exactly once.

A real server process takes a stream of event batches (unique ids) from several client
threads while recommendations are served; the process is killed with SIGKILL mid-stream (no
shutdown, no flush), restarted on the same workspace, and the journal must hold every event of
every batch that got a 200, exactly once. Batches that were in flight when the server died got
no answer: the client retries them after the restart, as a portal would, and the retry must
neither lose nor double any event (idempotency by event_id).

Impressions are written off the request path by a group-commit writer (one transaction per
`impression_flush_seconds`, 10 ms by default): what a crash may lose is the impressions of
the recommendations answered in the last flush interval (and the one being written), never an
acknowledged event. The same kill measures it: every impression of a recommendation answered
more than an interval and 3 s (a slow write on a busy machine) before the kill is in the
journal, exactly once; the ones lost are counted and printed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from recommender.workspace import Workspace
from service.config import Settings
from tests.reliability.helpers import journal_counts
from tests.support import Template, kill, recommendation_body, start_server, stop_server

BATCH = 20
POSTERS = 3


def _batch(template: Template, thread: int, seq: int) -> list[dict[str, object]]:
    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    kinds = ("open", "download", "share")
    return [
        {
            "event_id": f"dur-{thread}-{seq:05d}-{i:02d}",
            "ts": ts,
            "type": kinds[(seq + i) % 3],
            "partner_id": template.partner_ids[(seq + i) % len(template.partner_ids)],
            "asset_id": template.asset_ids[(seq * BATCH + i) % len(template.asset_ids)],
        }
        for i in range(BATCH)
    ]


class Poster(threading.Thread):
    """Posts batches until the server stops answering; sorts each batch by what it got back."""

    def __init__(self, url: str, key: str, template: Template, number: int) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.template, self.number = url, key, template, number
        self.acknowledged: list[list[dict[str, object]]] = []
        self.unanswered: list[list[dict[str, object]]] = []  # in flight when the server died
        self.refused: list[tuple[int, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=30) as c:
            seq = 0
            while not self.stop.is_set():
                batch = _batch(self.template, self.number, seq)
                seq += 1
                try:
                    r = c.post("/v1/events", json={"events": batch})
                except httpx.HTTPError:
                    self.unanswered.append(batch)
                    return  # the server is gone
                if r.status_code == 200 and r.json()["accepted"] == len(batch):
                    self.acknowledged.append(batch)
                else:
                    self.refused.append((r.status_code, r.text[:300]))


def _recommend_until_dead(
    url: str, key: str, stop: threading.Event, out: Counter, served: list[tuple[float, str, int]]
) -> None:
    """Recommends until the server is gone; `served` gets (when the answer arrived, its
    request id, how many items) of every answered request."""
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as c:
        i = 0
        while not stop.is_set():
            try:
                r = c.post("/v1/recommendations", json=recommendation_body(f"P000{1 + i % 9}"))
                out[r.status_code] += 1
                if r.status_code == 200:
                    body = r.json()
                    served.append((time.monotonic(), body["request_id"], len(body["items"])))
            except httpx.HTTPError:
                return
            i += 1


@pytest.mark.slow
def test_sigkill_mid_stream_loses_no_acknowledged_event(
    template: Template, fresh_workspace: Workspace, tmp_path: Path
) -> None:
    ws = fresh_workspace
    before = journal_counts(ws)
    server = start_server(ws, tmp_path / "server.log")
    posters = [Poster(server.url, server.keys["portal"], template, n) for n in range(POSTERS)]
    reco_stop, reco_codes = threading.Event(), Counter[int]()
    served: list[tuple[float, str, int]] = []
    reco = threading.Thread(
        target=_recommend_until_dead,
        args=(server.url, server.keys["portal"], reco_stop, reco_codes, served),
        daemon=True,
    )
    try:
        for p in [*posters, reco]:
            p.start()
        # Kill once the stream is well under way: enough acknowledged batches, posts in flight,
        # and recommendations answered for well over an impression flush interval.
        started = time.monotonic()
        deadline = started + 60
        while time.monotonic() < deadline and (
            sum(len(p.acknowledged) for p in posters) < 40 or time.monotonic() - started < 6
        ):
            time.sleep(0.05)
        kill(server.process)
        killed_time = time.monotonic()
        killed_at = sum(len(p.acknowledged) for p in posters)
    finally:
        for p in posters:
            p.stop.set()
        reco_stop.set()
        if server.process.poll() is None:
            kill(server.process)
    for p in [*posters, reco]:
        p.join(timeout=60)
        assert not p.is_alive()
    acknowledged = [e for p in posters for b in p.acknowledged for e in b]
    unanswered = [b for p in posters for b in p.unanswered]
    assert killed_at >= 40, "the stream did not get going before the kill"
    assert not [r for p in posters for r in p.refused], "the server refused valid batches"
    assert reco_codes[200] > 0 and set(reco_codes) == {200}, reco_codes

    # The journal as the killed process left it: consistent, and every acknowledged event
    # is there exactly once (read before any restart touches the file).
    with sqlite3.connect(ws.events_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counts = journal_counts(ws)
    lost = [e["event_id"] for e in acknowledged if counts.get(str(e["event_id"]), 0) == 0]
    assert not lost, f"{len(lost)} acknowledged events lost, e.g. {lost[:5]}"
    assert all(counts[str(e["event_id"])] == 1 for e in acknowledged)
    assert all(counts.get(k) == v for k, v in before.items()), "older events changed"
    flush = Settings.model_fields["impression_flush_seconds"].default  # the server's
    _check_lost_impressions(served, counts, killed_time, flush_seconds=flush)

    # Restart on the same workspace; the clients retry what never got an answer.
    server = start_server(ws, tmp_path / "server.log")
    try:
        with server.client("portal") as c:
            for batch in unanswered:
                r = c.post("/v1/events", json={"events": batch})
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["rejected"] == [] and body["accepted"] + body["duplicates"] == BATCH
            # ... and the restarted server serves and records as before.
            assert c.post("/v1/recommendations", json=recommendation_body()).status_code == 200
            again = c.post("/v1/events", json={"events": posters[0].acknowledged[0]}).json()
            assert again == {"accepted": 0, "duplicates": BATCH, "rejected": []}
    finally:
        stop_server(server)
    counts = journal_counts(ws)
    everything = acknowledged + [e for b in unanswered for e in b]
    assert all(counts.get(str(e["event_id"])) == 1 for e in everything)
    assert set(counts) == set(before) | {str(e["event_id"]) for e in everything} | {
        k
        for k in counts
        if k.startswith("imp-")  # impressions of the recommendations
    }


def _check_lost_impressions(
    served: list[tuple[float, str, int]],
    counts: dict[str, int],
    killed_time: float,
    *,
    flush_seconds: float,
) -> None:
    """Every impression of a request answered more than a flush interval and 3 s before the
    kill is journaled exactly once; the lost ones (all younger) are counted and printed."""
    settled = flush_seconds + 3.0
    old = [(rid, n) for at, rid, n in served if killed_time - at > settled]
    assert len(old) >= 20, f"too few recommendations answered well before the kill: {len(old)}"
    missing = [rid for rid, n in old for pos in range(n) if counts.get(f"imp-{rid}-{pos}") != 1]
    assert not missing, f"impressions of {len(set(missing))} older requests lost or doubled"
    young = [(at, rid, n) for at, rid, n in served if killed_time - at <= settled]
    lost = [
        (killed_time - at, rid)
        for at, rid, n in young
        for pos in range(n)
        if f"imp-{rid}-{pos}" not in counts
    ]
    oldest = max((age for age, _ in lost), default=0.0)
    print(
        f"\nSIGKILL: {len(served)} recommendations answered; impressions lost: {len(lost)} "
        f"of {sum(n for _, _, n in served)}, of {len({rid for _, rid in lost})} requests "
        f"answered at most {oldest:.2f} s before the kill (flush interval {flush_seconds} s)"
    )
    assert all(counts.get(f"imp-{rid}-{pos}", 1) == 1 for _, rid, n in young for pos in range(n))


def test_a_crash_in_the_middle_of_a_catalog_swap_leaves_a_catalog_to_serve(
    template: Template, fresh_workspace: Workspace
) -> None:
    """`atomic_dir` swaps the catalog folder in two renames (catalog -> .catalog.old, then
    the new folder -> catalog). A crash (SIGKILL, power loss) between them leaves no
    `catalog/` at all, only `.catalog.old` and the new temporary folder: the next start must
    recover the last committed catalog (the interrupted update was never acknowledged)
    instead of refusing to start."""
    import shutil

    from fastapi.testclient import TestClient

    from service.app import create_app
    from tests.support import make_settings

    ws = fresh_workspace
    catalog = ws.catalog_dir
    shutil.copytree(catalog, catalog.with_name(".catalog.tmpcrash"))  # the half-swapped new one
    catalog.rename(catalog.with_name(".catalog.old"))  # the first rename happened, not the 2nd
    app = create_app(make_settings(ws, impressions="off"))
    with TestClient(app) as client:
        assert client.get("/readyz").json()["assets"] == len(template.asset_ids)
        key = app.state.service.demo_keys["portal"]
        r = client.post(
            "/v1/recommendations", json=recommendation_body(), headers={"X-API-Key": key}
        )
        assert r.status_code == 200
