"""Usage aggregated as events arrive (journal schema 4, PostgreSQL migration 0004): the daily
and impression aggregates always equal a GROUP BY over the stored events, whatever path wrote
them (batches, retries, duplicates, served impressions, imports, concurrent writers), on both
backends; and a snapshot's usage features read from them are the features of the raw journal.

The reference here is pandas over `Journal.read()`, an independent computation from the
stored events; the triggers are the code under test."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from recommender.storage.event_files import import_file
from recommender.storage.events import EventJournal, Impression
from tests.recommender.storage.event_samples import KNOWN, ev, mixed_events, write_events

US_PER_DAY = 86_400_000_000


def _micros(ts: pd.Series) -> np.ndarray:
    return ts.to_numpy(dtype="datetime64[us]").astype(np.int64)


def expected_daily(events: pd.DataFrame) -> pd.DataFrame:
    t = _micros(events["ts"])
    frame = pd.DataFrame(
        {
            "day": np.trunc(t / US_PER_DAY).astype(np.int64),
            "partner_id": events["partner_id"].to_numpy(dtype=object),
            "asset_id": events["asset_id"].fillna("").to_numpy(dtype=object),
            "type": events["type"].to_numpy(dtype=object),
        }
    )
    out = frame.groupby(["day", "partner_id", "asset_id", "type"]).size().rename("events")
    out = out.reset_index().astype({"events": "int64"})
    out["asset_id"] = out["asset_id"].replace("", None)
    return out


def expected_impressions(events: pd.DataFrame) -> pd.DataFrame:
    shown = events[(events["type"] == "impression") & events["asset_id"].notna()]
    frame = pd.DataFrame(
        {
            "partner_id": shown["partner_id"].to_numpy(dtype=object),
            "asset_id": shown["asset_id"].to_numpy(dtype=object),
            "stage": shown["stage"].fillna("").to_numpy(dtype=object),
            "position": shown["position"].fillna(-1).to_numpy(dtype=np.int64),
            "t": _micros(shown["ts"]),
        }
    )
    out = (
        frame.groupby(["partner_id", "asset_id", "stage", "position"])["t"]
        .agg(events="size", first_ts="min", last_ts="max")
        .reset_index()
    )
    out["stage"] = out["stage"].replace("", None)
    return out.astype({"events": "int64", "first_ts": "int64", "last_ts": "int64"})


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as objects with None for a missing value (pandas' string dtype and
    objects compare as unequal otherwise)."""
    out = frame.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def assert_aggregates_match(journal) -> None:
    stored = journal.read()
    daily = journal.usage_daily()
    pd.testing.assert_frame_equal(_plain(daily), _plain(expected_daily(stored)), check_dtype=False)
    engaged, totals = journal.usage_inputs()
    pd.testing.assert_frame_equal(
        _plain(totals), _plain(expected_impressions(stored)), check_dtype=False
    )
    rest = stored[stored["type"] != "impression"].reset_index(drop=True)
    pd.testing.assert_frame_equal(_plain(engaged), _plain(rest))
    assert int(totals["events"].sum()) + len(engaged) == len(stored)


def _impression(i: int, *, position: int = 0, stage: str | None = "discovery") -> Impression:
    return Impression(
        event_id=f"imp{i}",
        ts=datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(minutes=37 * i),
        partner_id=f"p{1 + i % 2}",
        asset_id=f"a{1 + i % 3}",
        request_id=f"r{i // 5}",
        position=position,
        stage=stage,
    )


def test_aggregates_equal_a_group_by_after_every_kind_of_write(journal, tmp_path):
    journal.append(mixed_events(40))
    # a retried batch and a batch repeating an id count nothing twice
    journal.append(mixed_events(40))
    journal.append([ev(900), ev(900), ev(901, type="download", stage="closing")])
    # a partial batch: the rejected event is not counted
    journal.append([ev(902, type="share"), ev(903, type="nonsense")])
    # impressions the service served, one of them served twice
    served = [
        _impression(i, position=i % 4, stage=None if i % 5 == 0 else "solution") for i in range(30)
    ]
    journal.append_impressions(served)
    journal.append_impressions(served[:3])
    # an import, overlapping what is stored
    frame = pd.DataFrame([*mixed_events(60), ev(950, type="open", asset_id="a2")])
    import_file(journal, write_events(frame, tmp_path / "more.csv"), progress=False, **KNOWN)
    assert_aggregates_match(journal)
    _, totals = journal.usage_inputs()
    assert int(totals["events"].sum()) == int((journal.read()["type"] == "impression").sum()) > 40


def test_pair_counts_come_from_the_daily_aggregates(journal):
    journal.append(mixed_events(64))
    journal.append_impressions([_impression(i) for i in range(12)])
    stored = journal.read()
    for kind in ("impression", "share", "feedback"):
        rows = stored[(stored["type"] == kind) & stored["asset_id"].notna()]
        want = rows.groupby(["partner_id", "asset_id"]).size().rename("events").reset_index()
        got = journal.pair_counts(kind)
        pd.testing.assert_frame_equal(_plain(got), _plain(want), check_dtype=False)
        assert len(got) > 0
    with pytest.raises(ValueError, match="'nonsense' is not an event type"):
        journal.pair_counts("nonsense")


def test_an_empty_journal_has_empty_aggregates(journal):
    engaged, totals = journal.usage_inputs(["ts", "type", "partner_id"])
    assert len(engaged) == len(totals) == len(journal.usage_daily()) == 0
    assert list(engaged.columns) == ["ts", "type", "partner_id"]


def test_usage_inputs_are_one_state_of_the_journal(journal):
    """Engagements and impression totals come from one read snapshot: while batches of one
    open and three impressions are written, every read sees three impressions per open."""
    stop = threading.Event()

    def write() -> None:
        for b in range(150):
            journal.append(
                [ev(10 * b, type="open", asset_id="a2")]
                + [ev(10 * b + k, type="impression", request_id=f"r{b}", position=k)
                   for k in (1, 2, 3)]
            )  # fmt: skip
        stop.set()

    writer = threading.Thread(target=write)
    writer.start()
    seen = set()
    while not stop.is_set():
        engaged, totals = journal.usage_inputs(["ts", "type"])
        assert int(totals["events"].sum()) == 3 * len(engaged)
        seen.add(len(engaged))
    writer.join()
    engaged, totals = journal.usage_inputs(["ts", "type"])
    assert len(engaged) == 150 and int(totals["events"].sum()) == 450
    assert len(seen) > 1  # the reads did overlap the writes


def test_the_engagement_read_uses_the_partial_index(sqlite_journal):
    sqlite_journal.append(mixed_events(20))
    conn = sqlite3.connect(sqlite_journal.path)
    plan = " ".join(
        r[-1]
        for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT ts, type FROM events WHERE type != 'impression'"
            " ORDER BY ts, rowid"
        )
    )
    assert "events_engaged" in plan, plan


def test_a_version_3_journal_gets_its_aggregates_from_its_events(tmp_path):
    path = tmp_path / "events.sqlite"
    with EventJournal(path) as j:
        j.append(mixed_events(48))
        j.append_impressions([_impression(i) for i in range(9)])
    conn = sqlite3.connect(path)  # as schema 3 left the file
    conn.executescript(
        "DROP TRIGGER events_aggregate; DROP TABLE usage_daily; DROP TABLE impression_totals;"
        " DROP INDEX events_engaged; PRAGMA user_version=3;"
    )
    conn.close()
    with EventJournal(path) as j:
        assert_aggregates_match(j)
        j.append([ev(500, type="open", asset_id="a2")])
        assert_aggregates_match(j)


@pytest.mark.postgres
def test_concurrent_writers_on_postgresql_keep_the_aggregates_exact(database_url):
    """Two pools write overlapping batches of impressions on the same keys at once (the
    aggregate rows every writer updates): no deadlock, no count lost or doubled."""
    from recommender.storage.pg_events import PostgresJournal

    served = [_impression(i, position=i % 3) for i in range(600)]
    batches = [served[k : k + 120] for k in range(0, 600, 60)]

    def post(journal, order):
        for batch in order:
            journal.append_impressions(batch)

    with PostgresJournal(database_url) as a, PostgresJournal(database_url) as b:
        threads = [
            threading.Thread(target=post, args=(a, batches)),
            threading.Thread(target=post, args=(b, batches[::-1])),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert a.count() == 600
        assert_aggregates_match(a)


def _served_log(partners: list[str], assets: list[str], n_requests: int) -> list[dict]:
    """A portal's log: 10 impressions per request (its partner's deal, stage, positions 0-9,
    with assets shown again and again), opens and downloads of some, deal outcomes."""
    rng = np.random.default_rng(17)
    stages = ["discovery", "solution", None]
    start = pd.Timestamp("2025-06-01")
    out: list[dict] = []
    for r in range(n_requests):
        partner = partners[int(rng.integers(len(partners)))]
        deal = f"D{int(rng.integers(300)):04d}"
        stage = stages[int(rng.integers(len(stages)))]
        ts = start + pd.Timedelta(minutes=41 * r)
        shown = rng.choice(len(assets), 10, replace=False)
        for pos, a in enumerate(shown.tolist()):
            common = {"partner_id": partner, "asset_id": assets[a], "deal_id": deal}
            out.append(
                {"event_id": f"i{r}-{pos}", "ts": ts.isoformat(), "type": "impression",
                 "request_id": f"r{r}", "position": pos, "stage": stage, **common}
            )  # fmt: skip
            if rng.random() < 0.04 * (10 - pos) / 5:
                kind = "open" if rng.random() < 0.7 else "download"
                later = (ts + pd.Timedelta(minutes=3)).isoformat()
                out.append({"event_id": f"e{r}-{pos}", "ts": later, "type": kind, **common})
        if r % 40 == 39:
            out.append(
                {"event_id": f"o{r}", "ts": (ts + pd.Timedelta(minutes=9)).isoformat(),
                 "type": "deal_outcome", "partner_id": partner, "deal_id": deal,
                 "outcome": "won" if rng.random() < 0.4 else "lost"}
            )  # fmt: skip
    return out


def test_a_snapshot_reads_the_aggregates_and_serves_the_features_of_the_raw_journal(
    demo_workspace, tmp_path
):
    """The demo catalog and partners with a portal's journal: the usage provider a snapshot
    builds from the engagements and impression totals equals the one built from every raw
    event, for the asset grid, the popular lists and partners' features."""
    from features.timebase import micros_to_day
    from recommender.ranking.build import build_snapshot
    from recommender.steering.partners import load_partner_frame
    from recommender.storage.usage import (
        JournalUsageProvider,
        read_journal,
        read_usage_inputs,
        usage_config,
    )
    from recommender.types import DealContext
    from recommender.workspace import Workspace

    shutil.copytree(demo_workspace.root, tmp_path / "ws")
    ws = Workspace.at(tmp_path / "ws", embed_cache=demo_workspace.embed_cache)
    snapshot = build_snapshot(ws, use_model=False)
    partners = load_partner_frame(ws)
    ids = sorted(snapshot.partners)
    with EventJournal(ws.events_path) as journal:
        log = _served_log([*ids[:6], "P-unknown"], snapshot.table.ids.tolist()[:30], 2500)
        journal.append(log, all_or_nothing=True)
    config = usage_config({"examination": [1.0, 0.8, 0.62, 0.5, 0.41, 0.35, 0.3]})
    raw = read_journal(ws)
    engaged, totals = read_usage_inputs(ws)
    assert totals is not None and len(engaged) + int(totals["events"].sum()) == len(raw)
    assert len(engaged) + len(totals) < len(raw) / 2  # fewer rows to read and index
    want = JournalUsageProvider.build(raw, snapshot.table, partners, config=config)
    got = JournalUsageProvider.build(
        engaged, snapshot.table, partners, config=config, impressions=totals
    )
    assert (got.as_of_us, got.n_events) == (want.as_of_us, want.n_events)
    np.testing.assert_allclose(got.asset_grid, want.asset_grid, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(got.popular_by_segment, want.popular_by_segment)
    assert want.asset_grid.max() > 0
    day = float(micros_to_day(want.as_of_us)) + 1  # a day after the journal
    assets = np.arange(len(snapshot.table))
    for partner in ids[:8]:
        context = DealContext(stage="solution", deal_id="D0012")
        a = want.features(snapshot.partners[partner], context, assets, day)
        b = got.features(snapshot.partners[partner], context, assets, day)
        for name in a:
            np.testing.assert_allclose(b[name], a[name], rtol=1e-6, err_msg=name)


def test_the_position_moves_with_every_event_written_and_only_then(journal):
    assert journal.position() == 0
    journal.append([ev(1), ev(2)])
    first = journal.position()
    assert first > 0
    journal.append([ev(1), ev(2)])  # duplicates write nothing
    assert journal.position() == first
    journal.append_impressions([_impression(5)])
    assert journal.position() > first
