"""The event journal: usage events in an append-only, idempotent store.

Events follow the EVENTS table contract (`features.schema`). `Journal` is the contract and
everything both backends share; `EventJournal` is the embedded default, one SQLite file
(`Workspace.events_path`); `recommender.storage.pg_events.PostgresJournal` keeps the same
events in PostgreSQL, for several service replicas. Design points (SQLite; PostgreSQL keeps
each with its own means):

- **Durable**: WAL mode with ``synchronous=FULL``: when `append` returns, the events are on disk.
- **Idempotent**: ``event_id`` is the primary key and rows are inserted with INSERT OR IGNORE,
  so a client may retry a batch; an id already stored, or repeated within one batch or file,
  is counted as a duplicate and skipped, never an error.
- **Append-only**: triggers refuse UPDATE and DELETE.
- **Time**: ``ts`` and ``ingested_at`` are stored as INTEGER UTC epoch *microseconds* (compact,
  exact and cheap to compare); indexes on (ts), (partner_id, ts) and (asset_id; impressions
  left out) keep the queries of training, serving and the console off full scans. Reads
  return them as tz-naive UTC ``datetime64[us]``.
- **Usage aggregated as events arrive**: a trigger in the inserting transaction keeps
  ``usage_daily`` (events per UTC day, partner, asset and type) and ``impression_totals``
  (impressions per partner, asset, stage and position, with their first and last time); it
  fires only for rows really inserted, so a retried or repeated event is counted once. A
  snapshot reads those and the events that are not impressions (`Journal.usage_inputs`,
  through the partial index events_engaged), not the whole journal.
- **Threads**: writes go through one connection behind a lock (the HTTP service appends from
  several threads); every read opens its own connection, so under WAL reads never wait for a
  writer.

Two write paths:

- `EventJournal.append`: a batch from the API. Default *partial* mode writes the valid events
  in one transaction and reports the rejected ones by 0-based batch index;
  ``all_or_nothing=True`` raises `SchemaError` (1-based rows) and writes nothing.
- `import_file` (recommender.storage.event_files): a CSV / JSONL / Parquet file, validated
  all-or-nothing while streaming, staged, then copied in with `EventJournal.copy_from_stage`.

Exports are in recommender.storage.event_files; row validation and conversions in
recommender.storage.event_rows.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import os
import re
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import pandas as pd

from features.schema import ENGAGEMENT_TYPES, EventType, values
from features.validation import SchemaError
from recommender.storage.audit import transaction
from recommender.storage.event_rows import (
    COLUMNS_SQL,
    EVENT_COLUMNS,
    READABLE_COLUMNS,
    as_frame,
    now_micros,
    sql_rows,
    timestamp_micros,
    to_frame,
    validate,
)

if TYPE_CHECKING:
    from recommender.workspace import Workspace

__all__ = [
    "IMPRESSION_TOTAL_COLUMNS",
    "SEEN_ASSETS_SQL",
    "AppendResult",
    "EventJournal",
    "Impression",
    "Journal",
    "open_journal",
]


# 1: the EVENTS contract's first columns; 2: + propensity, propensity_shown (impressions);
# 3: + experiment, arm (impressions served in an online experiment); 4: + the usage aggregates
# (usage_daily, impression_totals) kept by a trigger, and the events_engaged index; 5: events_asset
# leaves impressions out (see _ASSET_INDEX)
_SCHEMA_VERSION = 5
_COPY_CACHE_KIB = -65_536  # negative: KiB, i.e. 64 MiB


_WAL_LIMIT_BYTES = 64 * 1024 * 1024


# Engagement (ENGAGEMENT_TYPES) marks an asset as already seen by its partner (the service demotes
# such assets, or leaves them out with exclude_seen). The text of this condition is also the
# partial index's: `type IN ('open', 'download', 'share') AND asset_id IS NOT NULL`.
_SEEN_WHERE = f"type IN ({', '.join(repr(t) for t in ENGAGEMENT_TYPES)}) AND asset_id IS NOT NULL"


# Every event that is not an impression (the partial index events_engaged's WHERE, word for
# word). Impressions are most of a journal; what usage needs of them is kept aggregated.
_ENGAGED_WHERE = "type != 'impression'"

# The usage aggregates a journal keeps as events arrive (a trigger in the inserting transaction,
# so a retried or duplicate event is never counted twice), built once from the stored events
# when a journal is upgraded to them; the same in PostgreSQL (migration 0004).
_AGGREGATE_BACKFILL = (
    "INSERT INTO usage_daily SELECT ts / 86400000000, partner_id, coalesce(asset_id, ''), type,"
    " count(*) FROM events GROUP BY 1, 2, 3, 4",
    "INSERT INTO impression_totals SELECT partner_id, asset_id, coalesce(stage, ''),"
    " coalesce(position, -1), count(*), min(ts), max(ts) FROM events"
    " WHERE type = 'impression' AND asset_id IS NOT NULL GROUP BY 1, 2, 3, 4",
)

# The assets one partner has seen, `?` = partner_id. Impressions are most of a journal (10 per
# recommendation), so the lookup reads the partial index events_seen: one entry per distinct
# asset, not a scan of the partner's events (its WHERE must match the index's for SQLite to use
# it, so the types are literals, not parameters).
SEEN_ASSETS_SQL = f"SELECT DISTINCT asset_id FROM events WHERE partner_id = ? AND {_SEEN_WHERE}"


# Rows per INSERT statement, largest first (1024 rows' parameters stay under SQLite's default
# limit of 32,766 variables).
_STATEMENT_ROWS = (1024, 256, 64, 16, 4, 1)


@functools.cache
def _insert_sql(rows: int) -> str:
    """INSERT OR IGNORE of `rows` events (their columns, then ingested_at) in one statement."""
    one = f"({', '.join('?' * (len(EVENT_COLUMNS) + 1))})"
    return (
        f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}, ingested_at) "
        f"VALUES {', '.join([one] * rows)}"
    )


# The events of an asset, impressions left out (their counts per asset are in the aggregates).
# Impressions are ten rows per recommendation, each for a different asset: indexing them by
# asset dirtied about one page of this index per row in every group commit, a third of what
# writing an impression cost (45 -> 30 us of CPU per row on the demo journal, 40 rows a
# transaction; bench in the commit message). No query reads impressions through it.
_ASSET_INDEX = (
    f"CREATE INDEX IF NOT EXISTS events_asset ON events (asset_id) WHERE {_ENGAGED_WHERE}"
)


_SCHEMA_STATEMENTS = (
    f"""CREATE TABLE IF NOT EXISTS events ({COLUMNS_SQL},
    ingested_at INTEGER NOT NULL   -- UTC epoch microseconds
)""",
    "CREATE INDEX IF NOT EXISTS events_ts ON events (ts)",
    "CREATE INDEX IF NOT EXISTS events_partner_ts ON events (partner_id, ts)",
    _ASSET_INDEX,
    f"CREATE INDEX IF NOT EXISTS events_seen ON events (partner_id, asset_id) WHERE {_SEEN_WHERE}",
    # an experiment's impressions, for its report (NULL for every other event: a small index)
    "CREATE INDEX IF NOT EXISTS events_experiment ON events (experiment, ts)"
    " WHERE experiment IS NOT NULL",
    """CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event journal is append-only'); END;""",
    """CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event journal is append-only'); END;""",
    # Everything but impressions, in time order (a snapshot's usage reads these raw).
    f"CREATE INDEX IF NOT EXISTS events_engaged ON events (ts) WHERE {_ENGAGED_WHERE}",
    """CREATE TABLE IF NOT EXISTS usage_daily (
    day INTEGER NOT NULL,          -- ts / 86400000000: the UTC day (truncated division)
    partner_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,        -- '' for an event without an asset
    type TEXT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (day, partner_id, asset_id, type)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS impression_totals (
    partner_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    stage TEXT NOT NULL,           -- '' for an impression without a stage
    position INTEGER NOT NULL,
    events INTEGER NOT NULL,
    first_ts INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    PRIMARY KEY (partner_id, asset_id, stage, position)
) WITHOUT ROWID""",
    # Fired for the rows an INSERT OR IGNORE really inserts: a duplicate is never counted.
    """CREATE TRIGGER IF NOT EXISTS events_aggregate AFTER INSERT ON events BEGIN
INSERT INTO usage_daily VALUES (
    NEW.ts / 86400000000, NEW.partner_id, coalesce(NEW.asset_id, ''), NEW.type, 1
) ON CONFLICT DO UPDATE SET events = events + 1;
INSERT INTO impression_totals SELECT
    NEW.partner_id, NEW.asset_id, coalesce(NEW.stage, ''), coalesce(NEW.position, -1), 1,
    NEW.ts, NEW.ts
WHERE NEW.type = 'impression' AND NEW.asset_id IS NOT NULL
ON CONFLICT DO UPDATE SET events = events + 1, first_ts = min(first_ts, excluded.first_ts),
    last_ts = max(last_ts, excluded.last_ts);
END;""",
)
_SCHEMA_SQL = "\n".join(s if s.endswith(";") else s + ";" for s in _SCHEMA_STATEMENTS)


_SCHEMA_OBJECTS = frozenset(re.findall(r"IF NOT EXISTS (\w+)", _SCHEMA_SQL))


def _upgrade(conn: sqlite3.Connection) -> None:
    """Create what is missing and add the columns a journal of an older schema lacks, in one
    transaction (stored events keep their values; the new columns are NULL for them)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        table, *rest = _SCHEMA_STATEMENTS
        conn.execute(table)
        have = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
        for name, kind in _ADDED_COLUMNS:
            if name not in have:
                conn.execute(f"ALTER TABLE events ADD COLUMN {name} {kind}")
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        asset_index = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'events_asset'"
        ).fetchone()
        if asset_index is not None and "WHERE" not in asset_index[0]:
            conn.execute("DROP INDEX events_asset")  # schema 4 and older: every event
        for statement in rest:  # indexes may name the added columns
            if "events_aggregate" in statement and "usage_daily" not in present:
                # aggregates new to this journal: first built from what it stores
                for backfill in _AGGREGATE_BACKFILL:
                    conn.execute(backfill)
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# Columns added after schema version 1, with their SQL type.
_ADDED_COLUMNS = (
    ("propensity", "REAL"),
    ("propensity_shown", "REAL"),
    ("experiment", "TEXT"),
    ("arm", "TEXT"),
)


@dataclass(frozen=True)
class AppendResult:
    """Outcome of `EventJournal.append`.

    accepted: events newly written. duplicates: events skipped because their event_id was
    already stored or repeated earlier in the batch. rejected: (0-based index in the batch,
    reason) for every invalid event, in index order.
    """

    accepted: int
    duplicates: int
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _event_types(types: Iterable[str | EventType] | None) -> list[str] | None:
    if types is None:
        return None
    if isinstance(types, str):
        types = [types]
    allowed = values(EventType)
    chosen = [str(t) for t in types]
    for t in chosen:
        if t not in allowed:
            raise ValueError(f"type {t!r} is not an event type; expected one of {allowed}")
    return chosen


def _columns(columns: Iterable[str] | None) -> list[str]:
    if columns is None:
        return list(EVENT_COLUMNS)
    if isinstance(columns, str):
        columns = [columns]
    chosen = list(columns)
    for c in chosen:
        if c not in READABLE_COLUMNS:
            raise ValueError(
                f"column {c!r} is not an event column; expected one of {READABLE_COLUMNS}"
            )
    if not chosen:
        raise ValueError("columns is empty; name at least one column")
    return chosen


def _select_sql(
    *,
    order: str = "rowid",
    start: Any = None,
    end: Any = None,
    types: Iterable[str | EventType] | None = None,
    columns: Iterable[str] | None = None,
    condition: str | None = None,
) -> tuple[str, list[Any], list[str]]:
    """SQL for a time-ordered read: [start, end) in UTC, optional type filter, and an
    optional fixed `condition` (SQL without parameters)."""
    cols = _columns(columns)
    where: list[str] = [condition] if condition else []
    params: list[Any] = []
    if start is not None:
        where.append("ts >= ?")
        params.append(timestamp_micros(start, "start"))
    if end is not None:
        where.append("ts < ?")
        params.append(timestamp_micros(end, "end"))
    chosen = _event_types(types)
    if chosen is not None:
        where.append(f"type IN ({', '.join('?' * len(chosen))})" if chosen else "FALSE")
        params.extend(chosen)
    # Column names come from the fixed list above, so formatting them in is safe.
    sql = f"SELECT {', '.join(cols)} FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # `order` is the backend's insertion order (SQLite's rowid, PostgreSQL's seq). An index
    # entry on ts is (ts, rowid): this order is served by the index, with no sort, and events
    # with the same ts come back in the order they were written.
    sql += f" ORDER BY ts, {order}"
    return sql, params, cols


_READ_SLICE_ROWS = 20_000  # rows converted to a frame per step of `EventJournal.read`
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_MICROSECOND = timedelta(microseconds=1)


def _concat(parts: list[pd.DataFrame], cols: list[str]) -> pd.DataFrame:
    """Frames of consecutive slices of one read as one frame, typed as one conversion of all
    its rows would have typed it."""
    if len(parts) <= 1:
        return parts[0] if parts else to_frame([], cols)
    frame = pd.concat(parts, ignore_index=True)
    for c in cols:
        # A text column with no value in one slice came out as objects there (None); typed as
        # the slices with values were.
        typed = [part[c].dtype for part in parts if part[c].dtype != object]
        if typed and frame[c].dtype != typed[0]:
            frame[c] = frame[c].astype(typed[0])
    return frame


# The impressions aggregated per (partner, asset, stage, position): `Journal.usage_inputs`.
IMPRESSION_TOTAL_COLUMNS = (
    "partner_id", "asset_id", "stage", "position", "events", "first_ts", "last_ts",
)  # fmt: skip


def _impression_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "partner_id": pd.Series([r[0] for r in rows], dtype=object),
            "asset_id": pd.Series([r[1] for r in rows], dtype=object),
            "stage": pd.Series([r[2] or None for r in rows], dtype=object),
            "position": pd.Series([r[3] for r in rows], dtype="int64"),
            "events": pd.Series([r[4] for r in rows], dtype="int64"),
            "first_ts": pd.Series([r[5] for r in rows], dtype="int64"),
            "last_ts": pd.Series([r[6] for r in rows], dtype="int64"),
        }
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Impression:
    """One served item: the asset at `position` (0-based) of a recommendation response."""

    event_id: str
    ts: datetime
    partner_id: str
    asset_id: str
    request_id: str
    position: int
    stage: str | None = None
    deal_id: str | None = None
    # P(this asset in this slot) and P(this asset anywhere in the response) under the serving
    # policy (recommender.ranking.exploration); None when not known.
    propensity: float | None = None
    propensity_shown: float | None = None
    # served inside an online experiment: its name, and the arm or team of this slot
    experiment: str | None = None
    arm: str | None = None

    def row(self) -> tuple[Any, ...]:
        """The journal row, in EVENT_COLUMNS order."""
        ts = self.ts if self.ts.tzinfo is not None else self.ts.replace(tzinfo=UTC)
        micros = (ts - _UTC_EPOCH) // _MICROSECOND
        return (
            self.event_id, micros, EventType.IMPRESSION.value, self.partner_id, self.asset_id,
            self.deal_id, self.request_id, self.position, self.stage, None, None, None,
            self.propensity, self.propensity_shown, self.experiment, self.arm,
        )  # fmt: skip


class Journal(abc.ABC):
    """The event journal's contract, whatever the backend: `EventJournal` (one SQLite file, the
    embedded default) or `recommender.storage.pg_events.PostgresJournal` (a shared PostgreSQL
    database); `open_journal` opens the workspace's.

    Validation, the batch semantics of `append` and every read are written once, here, in SQL
    both backends run (`?` placeholders, which a backend may translate). A backend supplies its
    connections (`_reader`), its durable insert (`_insert`), the copy of a staged import
    (`copy_from_stage`) and a streamed read (`_stream`). Safe to share between threads; use as
    a context manager or call `close`.
    """

    # The column that orders events written at the same ts: the order they were written in.
    _ORDER: ClassVar[str] = "rowid"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def close(self) -> None:
        """Release the journal's connections; reads already streaming finish on their own."""

    @property
    @abc.abstractmethod
    def stage_dir(self) -> Path:
        """Where an import stages its validated rows (a scratch SQLite file) before the copy."""

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the events are, for messages: a file path, or a database URL without its
        password."""

    @abc.abstractmethod
    def _reader(self, *, snapshot: bool = False) -> AbstractContextManager[Any]:
        """A read-only connection with `execute(sql, params)` for `?`-placeholder SQL; with
        `snapshot`, every statement run through it sees one consistent state."""

    @abc.abstractmethod
    def _insert(self, rows: list[tuple[Any, ...]]) -> int:
        """Write `rows` (EVENT_COLUMNS order) in one durable transaction, skipping event ids
        already stored or repeated earlier in `rows`; return how many were new."""

    @abc.abstractmethod
    def copy_from_stage(self, stage_path: Path) -> int:
        """Copy every staged event (a SQLite file with an `events` table of EVENT_COLUMNS, in
        rowid order) into the journal in one transaction; return how many were new."""

    @abc.abstractmethod
    def _stream(
        self, sql: str, params: list[Any], cols: list[str], batch_size: int
    ) -> Iterator[pd.DataFrame]:
        """The rows of `sql` as frames of at most `batch_size`, from one snapshot, holding at
        most one batch in memory."""

    # ---- writing --------------------------------------------------------------------------

    def append(
        self,
        frame_or_records: pd.DataFrame | Iterable[Mapping[str, Any]],
        *,
        known_assets: Collection[str] | None = None,
        known_partners: Collection[str] | None = None,
        all_or_nothing: bool = False,
        source: str = "events",
    ) -> AppendResult:
        """Validate and write a batch of events; return what was accepted, skipped, rejected.

        Every event is checked against the EVENTS contract, the fields its type needs
        (EVENT_REQUIRED_FIELDS) and, when given, the known asset and partner ids. Partial
        mode (the default) writes the valid events in one transaction and lists the invalid
        ones by 0-based index; with ``all_or_nothing=True`` any problem raises `SchemaError`
        naming every problem (1-based rows, as in files) and nothing is written.
        """
        frame = as_frame(frame_or_records)
        if not len(frame):
            return AppendResult(0, 0, [])
        normalised, problems = validate(
            frame,
            source=source,
            first_row=1,
            known_assets=known_assets,
            known_partners=known_partners,
        )
        if problems and all_or_nothing:
            raise SchemaError(problems)
        reasons: dict[int, list[str]] = {}
        everywhere: list[str] = []
        for p in problems:
            text = p.reason if p.column is None else f"column {p.column!r}: {p.reason}"
            if p.row is None:
                everywhere.append(text)
            else:
                reasons.setdefault(p.row - 1, []).append(text)
        if everywhere:
            rejected = [(i, "; ".join(everywhere + reasons.get(i, []))) for i in range(len(frame))]
            return AppendResult(0, 0, rejected)
        rejected = [(i, "; ".join(reasons[i])) for i in sorted(reasons)]
        valid = normalised.drop(index=list(reasons))
        repeated = valid["event_id"].duplicated(keep="first")
        valid = valid[~repeated.to_numpy()]
        rows = sql_rows(valid)
        accepted = self._insert(rows)
        return AppendResult(accepted, int(repeated.sum()) + len(rows) - accepted, rejected)

    def append_impressions(self, impressions: Sequence[Impression]) -> int:
        """Write impressions the engine itself served, in one durable transaction; return how
        many were new (a repeated event id is skipped, as in `append`).

        No contract check: an `Impression` is built by the service from an item it has just
        served (a stored partner, an asset of the snapshot, a valid stage), so its fields are
        valid by construction. Validating them as if they came from a file cost as much CPU
        as ranking the request did.
        """
        return self._insert([imp.row() for imp in impressions])

    # ---- reading (SQL both backends run, with `?` placeholders) ---------------------------

    def count(self) -> int:
        """Number of events stored."""
        with self._reader() as conn:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])

    def read(
        self,
        *,
        start: Any = None,
        end: Any = None,
        types: Iterable[str | EventType] | None = None,
        columns: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Events with start <= ts < end (UTC; naive bounds are UTC), sorted by ts.

        `types` keeps only those event types; `columns` picks columns (EVENT_COLUMNS by
        default; ``ingested_at`` may be asked for). ts is tz-naive UTC datetime64[us],
        position a nullable Int64, missing values None/NaN. For large ranges use
        `iter_batches`.
        """
        sql, params, cols = _select_sql(
            order=self._ORDER, start=start, end=end, types=types, columns=columns
        )
        # Converted a slice at a time: building a million-row frame in one call holds the GIL
        # for a second, which a service reading its journal for a new snapshot would make
        # every request in flight wait out; a slice takes a few milliseconds.
        return _concat(list(self._stream(sql, params, cols, _READ_SLICE_ROWS)), cols)

    def partner_events(
        self,
        partner_ids: Iterable[str],
        *,
        types: Iterable[str | EventType] | None = None,
        columns: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """The events of `partner_ids` (of `types`, when given), oldest first, with `columns`
        (`ts` always among them). Read through the (partner_id, ts) index: a few partners'
        events cost what they are, not what the journal is."""
        cols = _columns(columns)
        if "ts" not in cols:
            cols.append("ts")
        chosen = _event_types(types)
        ids = sorted({str(p) for p in partner_ids})
        parts = []
        with self._reader(snapshot=True) as conn:  # one snapshot for every chunk
            for k in range(0, len(ids), 500):
                chunk = ids[k : k + 500]
                sql = (
                    f"SELECT {', '.join(cols)} FROM events "
                    f"WHERE partner_id IN ({', '.join('?' * len(chunk))})"
                )
                params: list[Any] = list(chunk)
                if chosen is not None:
                    sql += (
                        f" AND type IN ({', '.join('?' * len(chosen))})" if chosen else " AND FALSE"
                    )
                    params.extend(chosen)
                parts.append(to_frame(conn.execute(sql, params).fetchall(), cols))
        if not parts:
            return to_frame([], cols)
        frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        return frame.sort_values("ts", kind="stable").reset_index(drop=True)

    def position(self) -> int:
        """The write order of the last event written (SQLite's rowid, PostgreSQL's seq); 0
        when empty. It grows with every event written, and only then: a cheap way to know
        whether anything was written since."""
        with self._reader() as conn:
            value = conn.execute(f"SELECT max({self._ORDER}) FROM events").fetchone()[0]
        return int(value or 0)

    def newest(self) -> datetime | None:
        """The time of the newest event (naive UTC, as `read` gives times); None when empty."""
        with self._reader() as conn:
            micros = conn.execute("SELECT max(ts) FROM events").fetchone()[0]
        return None if micros is None else datetime(1970, 1, 1) + timedelta(microseconds=micros)

    def pair_counts(self, event_type: str | EventType) -> pd.DataFrame:
        """How many events of `event_type` each (partner_id, asset_id) pair has: columns
        partner_id, asset_id, events, by partner then asset (read from the daily aggregates,
        `usage_daily`: a query that costs the pairs' days, not the journal's events)."""
        (chosen,) = _event_types([event_type]) or [""]
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT partner_id, asset_id, sum(events) FROM usage_daily "
                "WHERE type = ? AND asset_id != '' "
                "GROUP BY partner_id, asset_id ORDER BY partner_id, asset_id",
                (chosen,),
            ).fetchall()
        return pd.DataFrame(
            {
                "partner_id": pd.Series([r[0] for r in rows], dtype=object),
                "asset_id": pd.Series([r[1] for r in rows], dtype=object),
                "events": pd.Series([r[2] for r in rows], dtype="int64"),
            }
        )

    def usage_daily(self) -> pd.DataFrame:
        """The daily aggregates: one row per (UTC day, partner, asset, event type) with how
        many events it has; columns day (days since 1970-01-01), partner_id, asset_id (None
        for events without one), type, events. Kept as events are written (schema 4)."""
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT day, partner_id, asset_id, type, events FROM usage_daily "
                "ORDER BY day, partner_id, asset_id, type"
            ).fetchall()
        return pd.DataFrame(
            {
                "day": pd.Series([r[0] for r in rows], dtype="int64"),
                "partner_id": pd.Series([r[1] for r in rows], dtype=object),
                "asset_id": pd.Series([r[2] or None for r in rows], dtype=object),
                "type": pd.Series([r[3] for r in rows], dtype=object),
                "events": pd.Series([r[4] for r in rows], dtype="int64"),
            }
        )

    def usage_inputs(
        self, columns: Iterable[str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """What usage features read, from one consistent snapshot and without scanning the
        impressions: every event that is not an impression (`columns`, in time order, through
        the events_engaged index), and the impressions aggregated per (partner, asset, stage,
        position) (`IMPRESSION_TOTAL_COLUMNS`; stage None when the impressions had none;
        first_ts and last_ts in UTC epoch microseconds)."""
        sql, params, cols = _select_sql(
            order=self._ORDER, columns=columns, condition=_ENGAGED_WHERE
        )
        with self._reader(snapshot=True) as conn:
            cursor = conn.execute(sql, params)
            parts = []
            while rows := cursor.fetchmany(_READ_SLICE_ROWS):
                parts.append(to_frame(rows, cols))
            totals = conn.execute(
                f"SELECT {', '.join(IMPRESSION_TOTAL_COLUMNS)} FROM impression_totals "
                "ORDER BY partner_id, asset_id, stage, position"
            ).fetchall()
        return _concat(parts, cols), _impression_frame(totals)

    def seen_assets(self, partner_id: str) -> frozenset[str]:
        """The assets `partner_id` opened, downloaded or shared (`SEEN_ASSETS_SQL`)."""
        with self._reader() as conn:
            return frozenset(r[0] for r in conn.execute(SEEN_ASSETS_SQL, (partner_id,)))

    def experiment_events(self, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The impressions an online experiment served (EVENT_COLUMNS, in time order), and
        every later event of its partners that is not an impression: the engagement and deal
        outcomes its report attributes (to a slot through the request id and asset, and to a
        partner from its first impression on)."""
        cols = list(EVENT_COLUMNS)
        select = f"SELECT {', '.join(cols)} FROM events"
        with self._reader(snapshot=True) as conn:  # one snapshot for both reads
            shown = to_frame(
                conn.execute(
                    f"{select} WHERE experiment = ? ORDER BY ts, {self._ORDER}", (name,)
                ).fetchall(),
                cols,
            )
            if not len(shown):
                return shown, to_frame([], cols)
            first = conn.execute(
                "SELECT min(ts) FROM events WHERE experiment = ?", (name,)
            ).fetchone()[0]
            partners = sorted(set(shown["partner_id"].tolist()))
            rows: list[tuple[Any, ...]] = []
            for i in range(0, len(partners), 500):
                chunk = partners[i : i + 500]
                rows += conn.execute(
                    f"{select} WHERE partner_id IN ({', '.join('?' * len(chunk))})"
                    " AND ts >= ? AND type != ?",
                    [*chunk, first, EventType.IMPRESSION.value],
                ).fetchall()
        later = to_frame(rows, cols)
        if len(later):
            later = later.sort_values("ts", kind="stable").reset_index(drop=True)
        return shown, later

    def iter_batches(
        self,
        batch_size: int = 100_000,
        *,
        start: Any = None,
        end: Any = None,
        types: Iterable[str | EventType] | None = None,
        columns: Iterable[str] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Like `read`, as consecutive DataFrames of at most `batch_size` events.

        Memory stays bounded by one batch whatever the journal's size. The read sees one
        consistent snapshot, even if events are appended meanwhile.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} must be an integer >= 1")
        sql, params, cols = _select_sql(
            order=self._ORDER, start=start, end=end, types=types, columns=columns
        )
        return self._stream(sql, params, cols, batch_size)


class EventJournal(Journal):
    """Append-only, idempotent store of usage events in one SQLite file.

    ``EventJournal(workspace.events_path)`` creates the file (and its folder) if needed.
    Safe to share between threads; use as a context manager or call `close`.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise RuntimeError(f"{self.path}: cannot switch the journal to WAL mode ({mode})")
            conn.execute("PRAGMA synchronous=FULL")
            # After a big import, shrink the WAL file back once it has been checkpointed.
            conn.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has journal schema version {version}; this code knows "
                    f"versions up to {_SCHEMA_VERSION}: upgrade the package"
                )
            # Write the schema only when something is missing: opening a journal to read it (a
            # snapshot build during a promotion) must not queue for the write lock behind a
            # busy impression writer (it did, for 30 s, and the promotion failed).
            present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if version < _SCHEMA_VERSION or not present >= _SCHEMA_OBJECTS:
                _upgrade(conn)
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"EventJournal({str(self.path)!r}, {state})"

    def close(self) -> None:
        """Close the write connection; reads already streaming finish on their own."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _writer(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"{self!r}: the journal is closed")
        return self._conn

    @property
    def stage_dir(self) -> Path:
        return self.path.parent  # same disk as the journal, not RAM

    @property
    def location(self) -> str:
        return str(self.path)

    @contextmanager
    def _reader(self, *, snapshot: bool = False) -> Iterator[sqlite3.Connection]:
        self._writer()  # refuse reads after close, like a closed file
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA query_only=ON")
            if not snapshot:
                yield conn
                return
            conn.execute("BEGIN")  # a read transaction: one WAL snapshot until COMMIT
            yield conn
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock: committed whole, or rolled back whole."""
        with self._lock, transaction(self._writer()) as conn:
            yield conn

    # ---- SQLite ---------------------------------------------------------------------------

    def _insert(self, rows: list[tuple[Any, ...]]) -> int:
        """INSERT OR IGNORE `rows` in one durable transaction; return how many were new.

        Rows go in as multi-row statements (of 1024, 256, 64, 16, 4 or 1 rows: a few
        statement texts, which sqlite3 prepares once and keeps), not one statement per row
        (`executemany`): Python's sqlite3 releases the GIL around every statement it steps,
        so a batch of 1,000 impressions made its writer thread take the GIL back 1,000 times
        from the serving thread; now it takes it back a dozen times."""
        if not rows:
            return 0
        stamp = now_micros()
        with self._transaction() as conn:
            accepted = 0
            start = 0
            for size in _STATEMENT_ROWS:
                while len(rows) - start >= size:
                    chunk = rows[start : start + size]
                    # a statement's rowcount leaves out what its triggers changed (aggregates)
                    cur = conn.execute(
                        _insert_sql(size), [v for row in chunk for v in (*row, stamp)]
                    )
                    accepted += cur.rowcount
                    start += size
            return accepted

    def copy_from_stage(self, stage_path: Path) -> int:
        cols = ", ".join(EVENT_COLUMNS)
        with self._lock:  # re-entrant: held from ATTACH to DETACH
            conn = self._writer()
            conn.execute("ATTACH DATABASE ? AS stage", (str(stage_path),))
            # A bulk copy updates four B-trees; a larger page cache for its duration halves
            # the time (1M events: 14 s -> 7 s). The default is restored afterwards.
            default_cache = conn.execute("PRAGMA main.cache_size").fetchone()[0]
            conn.execute(f"PRAGMA main.cache_size={_COPY_CACHE_KIB}")
            try:
                with self._transaction():
                    cur = conn.execute(
                        f"INSERT OR IGNORE INTO main.events ({cols}, ingested_at) "
                        f"SELECT {cols}, ? FROM stage.events ORDER BY rowid",
                        (now_micros(),),
                    )
                    return int(cur.rowcount)
            finally:
                conn.execute(f"PRAGMA main.cache_size={int(default_cache)}")
                conn.execute("DETACH DATABASE stage")

    def _stream(
        self, sql: str, params: list[Any], cols: list[str], batch_size: int
    ) -> Iterator[pd.DataFrame]:
        with self._reader(snapshot=True) as conn:  # one snapshot for the whole stream
            cursor = conn.execute(sql, params)
            while rows := cursor.fetchmany(batch_size):
                yield to_frame(rows, cols)


def open_journal(workspace: Workspace) -> Journal:
    """The workspace's event journal: in its PostgreSQL database when it names one
    (`Workspace.database_url`), else the SQLite file `Workspace.events_path` (created if
    missing)."""
    if workspace.database_url:
        from recommender.storage.pg_events import PostgresJournal

        return PostgresJournal(workspace.database_url, stage_dir=workspace.root)
    return EventJournal(workspace.events_path)
