"""The portfolio's figures for one partner against events, deals and a digest placed by hand
(and its unopened count against the journal's own seen-assets query)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from recommender.outreach.awareness import awareness
from recommender.outreach.portfolio import WEEKS, portfolio
from recommender.outreach.store import DigestRecord, DigestStore
from recommender.ranking.snapshot import Snapshot
from recommender.storage.events import EventJournal
from recommender.workspace import Workspace

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_one_partner_by_hand(snapshot: Snapshot, workspace: Workspace) -> None:
    partner = sorted(snapshot.partners.values(), key=lambda p: p.partner_id or "")[0]
    other = sorted(snapshot.partners.values(), key=lambda p: p.partner_id or "")[1]
    pid = str(partner.partner_id)
    a = list(snapshot.catalog.asset_ids)[:6]

    def event(i: int, kind: str, asset: str | None, days: float, **kw: object) -> dict:
        who = kw.pop("partner", pid)
        ts = (NOW - timedelta(days=days)).isoformat()
        return {"event_id": f"pf-{i}", "ts": ts, "type": kind, "partner_id": who,
                "asset_id": asset, **kw}  # fmt: skip

    events = [
        event(1, "open", a[0], 1),
        event(2, "download", a[1], 10),
        event(3, "share", a[2], 60),
        event(4, "open", a[3], 200),
        event(5, "impression", a[4], 0.5, request_id="r1", position=0),  # not engagement
        event(6, "deal_outcome", None, 5, deal_id="DX1", outcome="won"),
        event(7, "open", a[5], 2, partner=other.partner_id),  # another partner's
    ]
    with EventJournal(workspace.events_path) as journal:
        journal.append(events, all_or_nothing=True)
    deals = pd.DataFrame(
        {
            "deal_id": ["DX1", "DX2", "DX3", "DX4", "DX5"],
            "partner_id": [pid, pid, pid, pid, other.partner_id],
            "stage": ["negotiation", "discovery", "discovery", "closing", "closing"],
        }
    )
    digest = DigestRecord("dg-20261116-00000001", pid, NOW - timedelta(days=20), "test", "uk",
                          "md", (a[1], a[2], a[4]))  # fmt: skip
    fresh = DigestRecord("dg-20261203-00000002", str(other.partner_id), NOW - timedelta(days=3),
                         "test", "en", "md", (a[5],))  # fmt: skip
    with DigestStore(workspace.console_path) as store, EventJournal(workspace.events_path) as j:
        store.record([digest, fresh], actor="test")
        rows = portfolio(snapshot, j, store, [partner, other], deals=deals, now=NOW)
        seen = j.seen_assets(pid)
    row, other_row = rows
    assert row.partner_id == pid and other_row.partner_id == other.partner_id
    assert (row.engaged_30d, row.engaged_90d) == (2, 3)
    expected_weeks = [0] * WEEKS
    for days in (1, 10, 60):
        expected_weeks[WEEKS - 1 - days // 7] += 1
    assert list(row.weekly) == expected_weeks
    assert row.open_deals == {"discovery": 2, "closing": 1}  # DX1 has an outcome
    assert list(row.open_deals) == ["discovery", "closing"]  # stage order
    assert row.last_activity == NOW - timedelta(days=1)  # impressions are not activity
    unopened, _ = awareness(snapshot, partner, seen, limit=None, now=NOW)
    assert row.never_opened == len(unopened) > 0
    effect = row.last_digest
    assert effect is not None and (effect.sent, effect.opened, effect.complete) == (3, 1, True)
    assert other_row.last_digest is not None and not other_row.last_digest.complete
    assert other_row.last_digest.opened == 1  # opened a day after its digest
    record = row.to_record()
    assert record["open_deals"] == 3 and record["last_digest_opened"] == 1
    assert record["weekly"] == ";".join(str(v) for v in expected_weeks)
