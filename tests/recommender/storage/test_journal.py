"""The event journal: validation, idempotency, durability, threads, reads, served impressions."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading

import pandas as pd
import pytest

from features.validation import SchemaError
from recommender.storage import event_rows, events
from recommender.storage.event_rows import EVENT_COLUMNS
from recommender.storage.events import SEEN_ASSETS_SQL, AppendResult, EventJournal
from tests.recommender.storage.event_samples import (
    KNOWN,
    T0,
    ev,
    mixed_events,
)

# ---- storage ---------------------------------------------------------------------------------


def test_file_is_wal_with_full_sync_and_indexes(sqlite_journal):
    conn = sqlite3.connect(sqlite_journal.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {
        name: [r[2] for r in conn.execute(f"PRAGMA index_info({name})")]
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        if not name.startswith("sqlite_autoindex")
    }
    assert sorted(indexes.values()) == [
        ["asset_id"],  # events_asset, partial: everything but impressions
        ["experiment", "ts"],  # events_experiment, partial: experiments' impressions only
        ["partner_id", "asset_id"],  # events_seen, partial: seen types only
        ["partner_id", "ts"],
        ["ts"],
        ["ts"],  # events_engaged, partial: everything but impressions
    ]
    # synchronous is per connection: FULL (2) on the connection that writes.
    assert sqlite_journal._writer().execute("PRAGMA synchronous").fetchone()[0] == 2


def test_time_range_reads_use_the_ts_index(sqlite_journal):
    sqlite_journal.append([ev(i) for i in range(20)])
    sql, params, _ = events._select_sql(start=T0, end=T0 + pd.Timedelta(hours=1))
    plan = " ".join(
        r[-1]
        for r in sqlite3.connect(sqlite_journal.path).execute(f"EXPLAIN QUERY PLAN {sql}", params)
    )
    assert "USING INDEX events_ts" in plan
    assert "TEMP B-TREE" not in plan  # sorted by the index, no separate sort


def test_seen_assets_come_from_the_partial_index_not_a_scan_of_impressions(sqlite_journal):
    """Impressions are most of a journal; a partner's seen lookup must not read them."""
    events = [ev(i, type="impression", request_id=f"r{i}", position=0) for i in range(300)]
    events += [ev(1000, type="open"), ev(1001, type="share", asset_id="a2"), ev(1002)]
    events += [ev(1003, type="feedback", value=1.0, asset_id="a3", partner_id="p1")]
    events += [ev(1004, type="download", partner_id="p2", asset_id="a3")]
    sqlite_journal.append(events)
    conn = sqlite3.connect(sqlite_journal.path)
    assert sorted(r[0] for r in conn.execute(SEEN_ASSETS_SQL, ("p1",))) == ["a1", "a2"]
    assert [r[0] for r in conn.execute(SEEN_ASSETS_SQL, ("p2",))] == ["a3"]
    plan = " ".join(r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {SEEN_ASSETS_SQL}", ("p1",)))
    assert "USING INDEX events_seen" in plan or "USING COVERING INDEX events_seen" in plan
    assert "TEMP B-TREE" not in plan


def _asset_index_sql(path):
    conn = sqlite3.connect(path)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_asset'").fetchone()[0]
    conn.close()
    return sql


def test_the_asset_index_leaves_impressions_out_and_an_old_journal_is_rebuilt_so(tmp_path):
    """Impressions are most of the rows a service writes, each for another asset: the asset
    index leaves them out (schema 5). A schema 4 journal, whose index holds every event, gets
    the partial index on opening and keeps its events."""
    path = tmp_path / "events.sqlite"
    stored = [ev(i, type="impression", request_id=f"r{i}", position=i) for i in range(6)]
    stored += [ev(10, type="open"), ev(11, type="download")]
    with EventJournal(path) as j:
        j.append(stored)
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP INDEX events_asset; CREATE INDEX events_asset ON events (asset_id);"
        " PRAGMA user_version=4;"
    )
    conn.close()
    assert "WHERE" not in _asset_index_sql(path)  # schema 4: impressions too
    with EventJournal(path) as j:
        assert j.count() == 8
        j.append([ev(20, type="impression", request_id="r20", position=0), ev(21, type="share")])
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 5
    assert _asset_index_sql(path).endswith("WHERE type != 'impression'")
    assert (
        conn.execute(
            "SELECT count(*) FROM events INDEXED BY events_asset"
            " WHERE asset_id = 'a1' AND type != 'impression'"
        ).fetchone()[0]
        == 3
    )  # open, download, share
    # an asset's engagement is read through it, not by a scan
    plan = " ".join(
        r[-1]
        for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT event_id FROM events"
            " WHERE asset_id = ? AND type != 'impression'",
            ("a1",),
        )
    )
    assert "USING INDEX events_asset" in plan


def test_pair_counts_match_a_pandas_count_of_the_events(journal):
    events = mixed_events(64)
    events += [ev(100 + i, type="impression", request_id=f"x{i}", position=0, partner_id="p2",
                  asset_id="a2") for i in range(5)]  # fmt: skip
    journal.append(events)
    stored = journal.read()
    for kind in ("impression", "share", "deal_outcome"):
        rows = stored[(stored["type"] == kind) & stored["asset_id"].notna()]
        want = rows.groupby(["partner_id", "asset_id"]).size().to_dict()
        got = journal.pair_counts(kind)
        assert dict(zip(zip(got["partner_id"], got["asset_id"], strict=True), got["events"],
                        strict=True)) == want  # fmt: skip
    assert journal.pair_counts("impression")["events"].dtype == "int64"


def test_a_journal_made_before_the_seen_index_gets_it_on_open(tmp_path):
    path = tmp_path / "events.sqlite"
    with EventJournal(path) as j:
        j.append([ev(1), ev(2, type="share", asset_id="a2")])
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX events_seen")  # as an older version left the file
    conn.commit()
    conn.close()
    with EventJournal(path) as j:
        plan = " ".join(
            r[-1]
            for r in sqlite3.connect(j.path).execute(
                f"EXPLAIN QUERY PLAN {SEEN_ASSETS_SQL}", ("p1",)
            )
        )
        assert "events_seen" in plan
        assert j.count() == 2


VERSION_1_TABLE = """CREATE TABLE events (
    event_id TEXT PRIMARY KEY NOT NULL, ts INTEGER NOT NULL, type TEXT NOT NULL,
    partner_id TEXT NOT NULL, asset_id TEXT, deal_id TEXT, request_id TEXT, position INTEGER,
    stage TEXT, value REAL, outcome TEXT, amount REAL, ingested_at INTEGER NOT NULL)"""


def test_a_version_1_journal_gains_the_later_columns_and_keeps_its_events(tmp_path):
    path = tmp_path / "events.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(VERSION_1_TABLE)
    conn.execute(
        "INSERT INTO events VALUES ('old1', 1772355600000000, 'impression', 'p1', 'a1', NULL,"
        " 'r0', 0, 'discovery', NULL, NULL, NULL, 1772355600000000)"
    )
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    with EventJournal(path) as j:
        old = j.read()
        assert old["event_id"].tolist() == ["old1"]
        assert old[["propensity", "experiment", "arm"]].isna().all().all()
        j.append(
            [
                ev(5, type="impression", request_id="r1", position=3, propensity=0.25)
                | {"experiment": "x1", "arm": "control"}
            ]
        )
        new = j.read().iloc[1]
        assert (new["propensity"], new["experiment"], new["arm"]) == (0.25, "x1", "control")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 5
    # the aggregates new in version 4 were built from the events stored before
    totals = conn.execute(
        "SELECT partner_id, asset_id, stage, position, events FROM impression_totals ORDER BY stage"
    ).fetchall()
    assert totals == [("p1", "a1", "", 3, 1), ("p1", "a1", "discovery", 0, 1)]
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM events")  # the triggers survived the upgrade


@pytest.mark.parametrize(
    ("overrides", "column", "reason"),
    [
        ({"propensity": 0.5}, "propensity", "only impressions carry a propensity"),
        ({"propensity_shown": 0.5}, "propensity_shown", "only impressions carry a propensity"),
        ({"experiment": "x1", "arm": "control"}, "experiment", "only impressions carry an"),
        (
            {"type": "impression", "request_id": "r", "position": 0, "experiment": "x1"},
            "arm",
            "names both the experiment and its arm",
        ),
        (
            {
                "type": "impression",
                "request_id": "r",
                "position": 0,
                "experiment": "x1",
                "arm": "left",
            },
            "arm",
            "'left'",
        ),
        (
            {"type": "impression", "request_id": "r", "position": 0, "propensity": 0.0},
            "propensity",
            "must be above 0",
        ),
        (
            {"type": "impression", "request_id": "r", "position": 0, "propensity": 1.5},
            "propensity",
            "above the maximum 1",
        ),
        (
            {
                "type": "impression",
                "request_id": "r",
                "position": 0,
                "propensity": 0.5,
                "propensity_shown": 0.25,
            },
            "propensity_shown",
            "below propensity 0.5",
        ),
    ],
    ids=[
        "open",
        "open-shown",
        "open-experiment",
        "experiment-without-arm",
        "unknown-arm",
        "zero",
        "above-one",
        "shown-below-slot",
    ],
)
def test_propensities_are_checked(journal, overrides, column, reason):
    result = journal.append([ev(1, **overrides)])
    assert result.accepted == 0
    ((index, error),) = result.rejected
    assert index == 0 and column in error and reason in error


def test_opening_a_current_journal_to_read_needs_no_write_lock(tmp_path):
    """A snapshot build opens the journal to read it while the impression writer is busy:
    opening must not wait for the write lock (it once waited 30 s and failed a promotion)."""
    path = tmp_path / "events.sqlite"
    with EventJournal(path) as j:
        j.append([ev(1), ev(2)])
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    writer.execute("INSERT INTO events (event_id, ts, type, partner_id, ingested_at) "
                   "VALUES ('e9', 0, 'open', 'p1', 0)")  # fmt: skip
    opened: list[pd.DataFrame] = []

    def read() -> None:
        with EventJournal(path) as j:
            opened.append(j.read())

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=10)
    writer.execute("ROLLBACK")
    assert opened and list(opened[0]["event_id"]) == ["e1", "e2"]


def test_acknowledged_events_survive_reopen_and_are_visible_to_other_connections(tmp_path):
    path = tmp_path / "events.sqlite"
    journal = EventJournal(path)
    assert journal.append([ev(1), ev(2)]).accepted == 2
    # Another process (here: a raw connection) sees them as soon as append returns.
    assert sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()[0] == 2
    journal.close()
    with EventJournal(path) as reopened:
        assert reopened.count() == 2
        assert reopened.append([ev(2), ev(3)]) == AppendResult(1, 1, [])


@pytest.mark.parametrize(
    "statement",
    ["UPDATE events SET type = 'share'", "DELETE FROM events"],
    ids=["update", "delete"],
)
def test_journal_is_append_only(sqlite_journal, statement):
    sqlite_journal.append([ev(1)])
    conn = sqlite3.connect(sqlite_journal.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(statement)
    assert sqlite_journal.read()["type"].tolist() == ["open"]


def test_newer_schema_version_is_refused(tmp_path):
    path = tmp_path / "events.sqlite"
    EventJournal(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(RuntimeError, match="schema version 99"):
        EventJournal(path)


def test_closed_journal_refuses_work(tmp_path):
    with EventJournal(tmp_path / "events.sqlite") as journal:
        journal.append([ev(1)])
    with pytest.raises(ValueError, match="closed"):
        journal.append([ev(2)])
    with pytest.raises(ValueError, match="closed"):
        journal.read()


# ---- append ----------------------------------------------------------------------------------


def test_append_writes_valid_events_and_returns_counts(journal):
    result = journal.append(mixed_events(8), **KNOWN)
    assert result == AppendResult(accepted=8, duplicates=0, rejected=[])
    stored = journal.read()
    assert stored["event_id"].tolist() == [f"e{i}" for i in range(8)]
    first = stored.iloc[0]
    assert (first["type"], first["request_id"], first["position"]) == ("impression", "r0", 0)
    outcome = stored.set_index("event_id").loc["e2"]
    assert (outcome["outcome"], outcome["amount"], outcome["deal_id"]) == ("won", 1250.5, "d1")


def test_append_accepts_a_dataframe(journal):
    frame = pd.DataFrame(mixed_events(4))
    assert journal.append(frame).accepted == 4
    assert journal.count() == 4


def test_append_is_idempotent_by_event_id(journal):
    assert journal.append([ev(0), ev(1), ev(0)]) == AppendResult(2, 1, [])
    # A retry of the same batch, with a changed payload for e1: nothing new, first write wins.
    assert journal.append([ev(0), ev(1, type="share"), ev(0)]) == AppendResult(0, 3, [])
    assert journal.read()["type"].tolist() == ["open", "open"]


INVALID = [
    ({"type": "click"}, "type", "'click' is not a valid type"),
    ({"ts": "yesterday"}, "ts", "'yesterday' is not a date"),
    ({"partner_id": None}, "partner_id", "value is missing"),
    ({"event_id": "e 1!"}, "event_id", "not a valid id"),
    ({"type": "impression", "position": 1}, "request_id", "impression events need"),
    (
        {"type": "impression", "request_id": "r", "position": -1},
        "position",
        "below the minimum",
    ),
    ({"type": "feedback", "value": 2}, "value", "above the maximum"),
    ({"type": "feedback"}, "value", "feedback events need asset_id, value"),
    ({"type": "open", "asset_id": None}, "asset_id", "open events need asset_id"),
    (
        {"type": "deal_outcome", "asset_id": None, "deal_id": "d1"},
        "outcome",
        "deal_outcome events need deal_id, outcome",
    ),
    ({"asset_id": "a404"}, "asset_id", "unknown asset_id 'a404'"),
    ({"partner_id": "p404"}, "partner_id", "unknown partner_id 'p404'"),
]
INVALID_IDS = [
    "bad-type",
    "unparseable-ts",
    "missing-partner",
    "bad-event-id",
    "impression-without-request-id",
    "negative-position",
    "feedback-value-out-of-range",
    "feedback-without-value",
    "open-without-asset",
    "deal-outcome-without-outcome",
    "unknown-asset",
    "unknown-partner",
]


@pytest.mark.parametrize(("overrides", "column", "reason"), INVALID, ids=INVALID_IDS)
def test_partial_append_rejects_invalid_event_by_index(journal, overrides, column, reason):
    result = journal.append([ev(0), ev(1, **overrides), ev(2)], **KNOWN)
    assert (result.accepted, result.duplicates) == (2, 0)
    [(index, message)] = result.rejected
    assert index == 1
    assert f"column {column!r}" in message
    assert reason in message
    assert journal.read()["event_id"].tolist() == ["e0", "e2"]


@pytest.mark.parametrize(("overrides", "column", "reason"), INVALID, ids=INVALID_IDS)
def test_all_or_nothing_append_writes_nothing(journal, overrides, column, reason):
    with pytest.raises(SchemaError, match=reason.replace("(", r"\(")) as caught:
        journal.append([ev(0), ev(1, **overrides)], all_or_nothing=True, **KNOWN)
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, column)]
    assert journal.count() == 0


def test_all_or_nothing_lists_every_problem_in_row_order(journal):
    batch = [ev(0, asset_id="a404"), ev(1), ev(2, type="click", ts="never")]
    with pytest.raises(SchemaError, match=r"3 problem\(s\) found; nothing was written") as caught:
        journal.append(batch, all_or_nothing=True, **KNOWN)
    assert [(p.row, p.column) for p in caught.value.problems] == [
        (1, "asset_id"),
        (3, "ts"),
        (3, "type"),
    ]


def test_unknown_ids_are_only_checked_when_known_sets_are_given(journal):
    assert journal.append([ev(0, asset_id="a404", partner_id="p404")]).accepted == 1


def test_missing_required_column_rejects_every_event(journal):
    frame = pd.DataFrame([ev(0), ev(1)]).drop(columns="partner_id")
    result = journal.append(frame)
    assert [i for i, _ in result.rejected] == [0, 1]
    assert "column 'partner_id': required column is missing" in result.rejected[0][1]
    assert journal.count() == 0


def test_records_may_leave_out_optional_fields(journal):
    # JSON bodies omit keys rather than sending null; a missing key is a missing value.
    result = journal.append([ev(0), {k: v for k, v in ev(1).items() if k != "asset_id"}])
    assert result.accepted == 1
    assert result.rejected == [
        (1, "column 'asset_id': value is missing; open events need asset_id")
    ]


def test_empty_batch_is_a_no_op(journal):
    assert journal.append([]) == AppendResult(0, 0, [])


@pytest.mark.parametrize(
    ("batch", "match"),
    [({"event_id": "e1"}, "not one mapping"), ([("e1", "open")], "record 0 is a tuple")],
    ids=["single-mapping", "tuple-record"],
)
def test_append_rejects_input_that_is_not_records(journal, batch, match):
    with pytest.raises(ValueError, match=match):
        journal.append(batch)


def test_concurrent_appends_from_threads_lose_and_double_nothing(journal):
    # 4 threads, 25 batches each, overlapping ids: every id stored once, every event counted.
    results: list[AppendResult] = []
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for b in range(25):
                batch = [ev(offset * 50 + b * 4 + k) for k in range(8)]
                results.append(journal.append(batch))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    expected_ids = {f"e{t * 50 + b * 4 + k}" for t in range(4) for b in range(25) for k in range(8)}
    assert journal.count() == len(expected_ids)
    assert sum(r.accepted for r in results) == len(expected_ids)
    assert sum(r.accepted + r.duplicates for r in results) == 4 * 25 * 8


# ---- read ------------------------------------------------------------------------------------


def test_read_is_sorted_by_ts_with_journal_types(journal):
    journal.append([ev(3), ev(1), ev(2, type="impression", request_id="r", position=4)])
    frame = journal.read()
    assert frame["event_id"].tolist() == ["e1", "e2", "e3"]
    assert frame["ts"].dtype == "datetime64[us]"
    assert frame["position"].dtype == "Int64"
    assert list(frame.columns) == list(EVENT_COLUMNS)
    assert frame["ts"].iloc[0] == T0 + pd.Timedelta(minutes=1)


def test_ts_is_stored_as_utc(journal):
    journal.append([ev(0, ts="2026-03-01T12:00:00+02:00")])
    assert journal.read()["ts"].iloc[0] == pd.Timestamp("2026-03-01 10:00:00")


READS = [
    {},
    {"columns": ["ts", "type", "outcome", "position"]},
    {"types": ["deal_outcome"]},
    {"types": ["impression"], "columns": ["ts", "outcome", "amount", "deal_id"]},  # NULL only
    {"start": T0 + pd.Timedelta(days=100), "end": T0 + pd.Timedelta(days=200)},
    {"start": "2099-01-01"},  # nothing
    {"columns": [*EVENT_COLUMNS, "ingested_at"]},
]


@pytest.mark.parametrize("kwargs", READS, ids=[str(sorted(k)) for k in READS])
def test_a_read_in_slices_equals_one_conversion_of_every_row(journal, monkeypatch, kwargs):
    # 300 impressions first, read 70 rows a slice: the first slices have no outcome, amount
    # or deal at all, the later ones do; the frame must be typed as if converted at once.
    first = [
        ev(i, type="impression", request_id=f"r{i // 10}", position=i % 10) for i in range(300)
    ]
    rest = mixed_events(40)
    for i, e in enumerate(rest):
        e["event_id"] = f"m{i}"
        e["ts"] = (T0 + pd.Timedelta(days=3 + 7 * i)).isoformat()
    assert journal.append([*first, *rest], all_or_nothing=True).accepted == 340
    monkeypatch.setattr(events, "_READ_SLICE_ROWS", 70)
    sql, params, cols = events._select_sql(order=journal._ORDER, **kwargs)
    with journal._reader() as conn:
        at_once = event_rows.to_frame(conn.execute(sql, params).fetchall(), cols)
    pd.testing.assert_frame_equal(journal.read(**kwargs), at_once)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"start": T0 + pd.Timedelta(minutes=2)}, ["e2", "e3", "e4"]),
        ({"end": T0 + pd.Timedelta(minutes=2)}, ["e0", "e1"]),
        ({"start": "2026-03-01T11:01:00+02:00", "end": "2026-03-01T09:03:00"}, ["e1", "e2"]),
        ({"types": ["share", "feedback"]}, ["e1", "e3"]),
        ({"types": "share"}, ["e1"]),
    ],
    ids=["start-inclusive", "end-exclusive", "tz-aware-bounds", "types", "one-type"],
)
def test_read_filters(journal, kwargs, expected):
    journal.append([ev(0), ev(1, type="share"), ev(2), ev(3, type="feedback", value=1), ev(4)])
    assert journal.read(**kwargs)["event_id"].tolist() == expected


def test_read_selected_columns_and_ingested_at(journal):
    before = pd.Timestamp.now(tz="UTC").tz_localize(None)
    journal.append([ev(0)])
    frame = journal.read(columns=["event_id", "ingested_at"])
    assert list(frame.columns) == ["event_id", "ingested_at"]
    assert before - pd.Timedelta(seconds=5) <= frame["ingested_at"].iloc[0]
    assert frame["ingested_at"].iloc[0] <= before + pd.Timedelta(seconds=60)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"columns": ["event_id", "password"]}, "column 'password' is not an event column"),
        ({"types": ["click"]}, "type 'click' is not an event type"),
        ({"start": "not a date"}, "start='not a date' is not a timestamp"),
    ],
    ids=["unknown-column", "unknown-type", "bad-start"],
)
def test_read_rejects_bad_arguments(journal, kwargs, match):
    with pytest.raises(ValueError, match=match):
        journal.read(**kwargs)


def test_empty_read_keeps_columns_and_types(journal):
    frame = journal.read()
    assert frame.empty
    assert list(frame.columns) == list(EVENT_COLUMNS)
    assert frame["ts"].dtype == "datetime64[us]"


def test_iter_batches_streams_in_order(journal):
    journal.append([ev(i) for i in range(10)])
    batches = list(journal.iter_batches(batch_size=4))
    assert [len(b) for b in batches] == [4, 4, 2]
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), journal.read())


def test_iter_batches_is_a_snapshot(journal):
    journal.append([ev(i) for i in range(6)])
    stream = journal.iter_batches(batch_size=2)
    first = next(stream)
    journal.append([ev(i) for i in range(6, 12)])  # written while the stream is open
    seen = pd.concat([first, *stream])
    assert len(seen) == 6
    assert journal.count() == 12


def test_iter_batches_rejects_bad_batch_size(journal):
    with pytest.raises(ValueError, match="batch_size=0 must be an integer >= 1"):
        journal.iter_batches(batch_size=0)


def test_served_impressions_are_stored_exactly_as_validated_ones(tmp_path):
    """`append_impressions` skips validation (the service builds impressions from what it has
    just served); what it stores must read back identical to the same impressions written
    through `append`, and a repeated event id is skipped in the same way."""
    from datetime import UTC, datetime, timedelta, timezone

    from recommender.storage.events import Impression

    served = [
        Impression(
            event_id=f"imp-r{i // 3}-{i % 3}",
            ts=datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC) + timedelta(seconds=i),
            partner_id=f"P{i % 2}",
            asset_id=f"A{i}",
            request_id=f"r{i // 3}",
            position=i % 3,
            stage="solution" if i % 2 else None,
            deal_id="D7" if i == 4 else None,
        )
        for i in range(6)
    ]
    # The same instant given in another time zone is stored as the same UTC time.
    kyiv = timezone(timedelta(hours=2))
    served.append(
        dataclasses.replace(served[0], event_id="imp-tz", ts=served[0].ts.astimezone(kyiv))
    )
    as_records = [
        {
            "event_id": imp.event_id,
            "ts": imp.ts.isoformat(),
            "type": "impression",
            "partner_id": imp.partner_id,
            "asset_id": imp.asset_id,
            "request_id": imp.request_id,
            "position": imp.position,
            "stage": imp.stage,
            "deal_id": imp.deal_id,
        }
        for imp in served
    ]
    with EventJournal(tmp_path / "a.sqlite") as a, EventJournal(tmp_path / "b.sqlite") as b:
        assert a.append(as_records).accepted == len(served)
        assert b.append_impressions(served) == len(served)
        assert b.append_impressions(served[:2]) == 0  # repeats are skipped
        pd.testing.assert_frame_equal(a.read(), b.read())
        assert b.read().set_index("event_id").loc["imp-tz", "ts"] == pd.Timestamp(
            "2026-03-01 09:30:15.123456"
        )


def test_a_large_batch_goes_in_whole_in_multi_row_statements(tmp_path):
    """A batch is written as multi-row INSERTs of 1024, 256, 64, 16, 4 and 1 rows: 1,711
    impressions (every size used, and one row left over), 400 of them already stored and
    one repeated inside the batch, come back exactly once each, the count of new rows right,
    and every row's columns in their places (the parameters of one row must not slide into
    the next)."""
    from datetime import UTC, datetime, timedelta

    from recommender.storage.events import Impression

    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    served = [
        Impression(
            event_id=f"imp-{i:05d}",
            ts=t0 + timedelta(seconds=i),
            partner_id=f"P{i % 7}",
            asset_id=f"A{i}",
            request_id=f"r{i // 10}",
            position=i % 10,
            stage="solution" if i % 3 else None,
            propensity=i / 10_000,
        )
        for i in range(1711)
    ]
    with EventJournal(tmp_path / "a.sqlite") as journal:
        assert journal.append_impressions(served[:400]) == 400
        assert journal.append_impressions([*served, served[5]]) == 1711 - 400
        assert journal.count() == 1711
        back = journal.read().set_index("event_id").sort_index()
    assert list(back.index) == [imp.event_id for imp in served]
    assert list(back["asset_id"]) == [imp.asset_id for imp in served]
    assert list(back["position"]) == [imp.position for imp in served]
    assert list(back["propensity"]) == pytest.approx([imp.propensity for imp in served])
    assert list(back["ts"]) == [pd.Timestamp(imp.ts).tz_convert(None) for imp in served]
    assert back["stage"].isna().sum() == sum(1 for imp in served if imp.stage is None)
