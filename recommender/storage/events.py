"""The event journal: usage events in an append-only SQLite file, and their import and export.

Events follow the EVENTS table contract (`features.schema`). The journal is the embedded
default store (one file, `Workspace.events_path`); the same contract can later be served by
PostgreSQL. Design points:

- **Durable**: WAL mode with ``synchronous=FULL``: when `append` returns, the events are on disk.
- **Idempotent**: ``event_id`` is the primary key and rows are inserted with INSERT OR IGNORE,
  so a client may retry a batch; an id already stored, or repeated within one batch or file,
  is counted as a duplicate and skipped, never an error.
- **Append-only**: triggers refuse UPDATE and DELETE.
- **Time**: ``ts`` and ``ingested_at`` are stored as INTEGER UTC epoch *microseconds* (compact,
  exact and cheap to compare); indexes on (ts), (partner_id, ts) and (asset_id) keep the
  queries of training, serving and the console off full scans. Reads return them as
  tz-naive UTC ``datetime64[us]``.
- **Threads**: writes go through one connection behind a lock (the HTTP service appends from
  several threads); every read opens its own connection, so under WAL reads never wait for a
  writer.

Two write paths:

- `EventJournal.append`: a batch from the API. Default *partial* mode writes the valid events
  in one transaction and reports the rejected ones by 0-based batch index;
  ``all_or_nothing=True`` raises `SchemaError` (1-based rows) and writes nothing.
- `import_file`: a CSV / JSONL / Parquet file (or a folder of Parquet, e.g. an export),
  validated all-or-nothing while streaming in chunks. Valid rows are staged in a temporary
  SQLite file beside the journal; only when the whole file is clean are they copied into the
  journal in one transaction. The journal is never locked while a large file is being parsed,
  and a rejected file leaves no trace.

Exports: `export_parquet` writes a hive-partitioned dataset (``date=YYYY-MM-DD/part-0.parquet``)
for analysts, `export_csv` a spreadsheet-safe CSV, and `read_events_parquet` reads an export
back in the journal's column types.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import itertools
import json
import os
import re
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from features.schema import ENGAGEMENT_TYPES, EVENT_REQUIRED_FIELDS, EVENTS, EventType, values
from features.validation import Problem, SchemaError, check_table
from recommender.workspace import atomic_dir

__all__ = [
    "EVENT_COLUMNS",
    "SEEN_ASSETS_SQL",
    "AppendResult",
    "EventJournal",
    "ImportReport",
    "export_csv",
    "export_parquet",
    "import_file",
    "read_events_parquet",
]

EVENT_COLUMNS: tuple[str, ...] = tuple(EVENTS.names)
"""The EVENTS contract's columns, in contract order: what `read` returns by default."""

_READABLE = (*EVENT_COLUMNS, "ingested_at")
_TIME_COLUMNS = ("ts", "ingested_at")
_INT_COLUMNS = ("position",)
_FLOAT_COLUMNS = ("value", "amount")
_STR_COLUMNS = tuple(
    c for c in EVENT_COLUMNS if c not in (*_TIME_COLUMNS, *_INT_COLUMNS, *_FLOAT_COLUMNS)
)
# check_table reports a repeated key as a problem; for events a repeat is a duplicate to skip.
_EVENTS_NO_KEY = dataclasses.replace(EVENTS, key=None)
_SCHEMA_VERSION = 1
_MAX_IMPORT_PROBLEMS = 10_000
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_EPOCH = pd.Timestamp(0)
_COPY_CACHE_KIB = -65_536  # negative: KiB, i.e. 64 MiB
_WAL_LIMIT_BYTES = 64 * 1024 * 1024

_COLUMNS_SQL = """
    event_id    TEXT PRIMARY KEY NOT NULL,
    ts          INTEGER NOT NULL,  -- UTC epoch microseconds
    type        TEXT NOT NULL,
    partner_id  TEXT NOT NULL,
    asset_id    TEXT,
    deal_id     TEXT,
    request_id  TEXT,
    position    INTEGER,
    stage       TEXT,
    value       REAL,
    outcome     TEXT,
    amount      REAL"""

# Engagement (ENGAGEMENT_TYPES) marks an asset as already seen by its partner (the service demotes
# such assets, or leaves them out with exclude_seen). The text of this condition is also the
# partial index's: `type IN ('open', 'download', 'share') AND asset_id IS NOT NULL`.
_SEEN_WHERE = f"type IN ({', '.join(repr(t) for t in ENGAGEMENT_TYPES)}) AND asset_id IS NOT NULL"
# The assets one partner has seen, `?` = partner_id. Impressions are most of a journal (10 per
# recommendation), so the lookup reads the partial index events_seen: one entry per distinct
# asset, not a scan of the partner's events (its WHERE must match the index's for SQLite to use
# it, so the types are literals, not parameters).
SEEN_ASSETS_SQL = f"SELECT DISTINCT asset_id FROM events WHERE partner_id = ? AND {_SEEN_WHERE}"

_SCHEMA_SQL = f"""
CREATE TABLE IF NOT EXISTS events ({_COLUMNS_SQL},
    ingested_at INTEGER NOT NULL   -- UTC epoch microseconds
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_partner_ts ON events (partner_id, ts);
CREATE INDEX IF NOT EXISTS events_asset ON events (asset_id);
CREATE INDEX IF NOT EXISTS events_seen ON events (partner_id, asset_id) WHERE {_SEEN_WHERE};
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event journal is append-only'); END;
"""

_SCHEMA_OBJECTS = frozenset(re.findall(r"IF NOT EXISTS (\w+)", _SCHEMA_SQL))

_ARROW_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("ts", pa.timestamp("us")),
        ("type", pa.string()),
        ("partner_id", pa.string()),
        ("asset_id", pa.string()),
        ("deal_id", pa.string()),
        ("request_id", pa.string()),
        ("position", pa.int64()),
        ("stage", pa.string()),
        ("value", pa.float64()),
        ("outcome", pa.string()),
        ("amount", pa.float64()),
    ]
)
assert _ARROW_SCHEMA.names == list(EVENT_COLUMNS), "keep the export schema in contract order"


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


@dataclass(frozen=True)
class ImportReport:
    """Outcome of a successful `import_file`: events written, duplicates skipped, the file."""

    accepted: int
    duplicates: int
    source: str


# ---- conversions ----------------------------------------------------------------------------


def _to_micros(value: Any, name: str) -> int:
    """A time bound (anything pandas reads as a timestamp) as UTC epoch microseconds."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not a timestamp; expected ISO 8601") from None
    if pd.isna(ts):
        raise ValueError(f"{name}={value!r} is not a timestamp; expected ISO 8601")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    # Timestamp.value is always nanoseconds whatever the unit; count microseconds instead.
    return int((ts - _EPOCH) // pd.Timedelta(1, "us"))


def _now_micros() -> int:
    return time.time_ns() // 1000


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
        if c not in _READABLE:
            raise ValueError(f"column {c!r} is not an event column; expected one of {_READABLE}")
    if not chosen:
        raise ValueError("columns is empty; name at least one column")
    return chosen


def _select_sql(
    *,
    start: Any = None,
    end: Any = None,
    types: Iterable[str | EventType] | None = None,
    columns: Iterable[str] | None = None,
) -> tuple[str, list[Any], list[str]]:
    """SQL for a time-ordered read: [start, end) in UTC, optional type filter."""
    cols = _columns(columns)
    where: list[str] = []
    params: list[Any] = []
    if start is not None:
        where.append("ts >= ?")
        params.append(_to_micros(start, "start"))
    if end is not None:
        where.append("ts < ?")
        params.append(_to_micros(end, "end"))
    chosen = _event_types(types)
    if chosen is not None:
        where.append(f"type IN ({', '.join('?' * len(chosen))})" if chosen else "0")
        params.extend(chosen)
    # Column names come from the fixed list above, so formatting them in is safe.
    sql = f"SELECT {', '.join(cols)} FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # An index entry on ts is (ts, rowid): this order is served by the index, with no sort,
    # and events with the same ts come back in the order they were written.
    sql += " ORDER BY ts, rowid"
    return sql, params, cols


_READ_SLICE_ROWS = 20_000  # rows converted to a frame per step of `EventJournal.read`


def _frame(rows: list[tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    """Rows from SQLite as a DataFrame with the journal's column types."""
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for c in columns:
        if c in _TIME_COLUMNS:
            frame[c] = pd.to_datetime(frame[c].astype("int64"), unit="us").astype("datetime64[us]")
        elif c in _INT_COLUMNS:
            frame[c] = frame[c].astype("Int64")
        elif c in _FLOAT_COLUMNS:
            frame[c] = frame[c].astype("float64")
        elif not rows:
            frame[c] = frame[c].astype(object)
    return frame


def _sql_rows(valid: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Normalised (validated) events as tuples in EVENT_COLUMNS order, NULL for missing."""
    out: list[list[Any]] = []
    for c in EVENT_COLUMNS:
        col = valid[c]
        if c == "ts":
            micros = pd.to_datetime(col).to_numpy(dtype="datetime64[us]").astype(np.int64)
            out.append(micros.tolist())
            continue
        present = col.notna().to_numpy()
        cells = col.to_numpy(dtype=object)
        if c in _INT_COLUMNS:
            out.append([int(v) if p else None for v, p in zip(cells, present, strict=True)])
        elif c in _FLOAT_COLUMNS:
            out.append([float(v) if p else None for v, p in zip(cells, present, strict=True)])
        else:
            out.append([str(v) if p else None for v, p in zip(cells, present, strict=True)])
    return list(zip(*out, strict=True))


# ---- validation -----------------------------------------------------------------------------


def _validate(
    frame: pd.DataFrame,
    *,
    source: str,
    first_row: int,
    known_assets: Collection[str] | None,
    known_partners: Collection[str] | None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Contract checks, per-type required fields and unknown ids; every problem, row-located."""
    normalised, problems = check_table(frame, _EVENTS_NO_KEY, source=source, first_row=first_row)
    if not len(normalised):
        return normalised, problems
    flagged = {(p.row, p.column) for p in problems}
    rows = np.arange(first_row, first_row + len(normalised))
    types = normalised["type"].to_numpy(dtype=object)
    for event_type, fields in EVENT_REQUIRED_FIELDS.items():
        of_type = types == event_type.value
        if not of_type.any():
            continue
        for name in fields:
            missing = of_type & normalised[name].isna().to_numpy()
            for row in rows[missing]:
                if (int(row), name) not in flagged:
                    reason = f"value is missing; {event_type.value} events need {', '.join(fields)}"
                    problems.append(Problem(source, int(row), name, reason))
    for name, known, what in (
        ("asset_id", known_assets, "the catalog"),
        ("partner_id", known_partners, "the partner table"),
    ):
        if known is None:
            continue
        col = normalised[name]
        unknown = (col.notna() & ~col.isin(list(known))).to_numpy()
        for row, value in zip(rows[unknown], col.to_numpy(dtype=object)[unknown], strict=True):
            problems.append(
                Problem(source, int(row), name, f"unknown {name} {value!r}; not in {what}")
            )
    # Report in file order: whole-file problems first, then row by row (stable within a row).
    problems.sort(key=lambda p: -1 if p.row is None else p.row)
    return normalised, problems


def _as_frame(frame_or_records: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    if isinstance(frame_or_records, pd.DataFrame):
        return frame_or_records.reset_index(drop=True)
    if isinstance(frame_or_records, Mapping):
        raise ValueError("append takes a DataFrame or a list of event records, not one mapping")
    records = list(frame_or_records)
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise ValueError(f"record {i} is a {type(record).__name__}; expected a mapping")
    # A key a record leaves out is a missing value of that record, not a missing column.
    return pd.DataFrame.from_records(records).reindex(
        columns=list(dict.fromkeys([*EVENT_COLUMNS, *(k for r in records for k in r)]))
    )


# ---- the journal ----------------------------------------------------------------------------


_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


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

    def row(self) -> tuple[Any, ...]:
        """The journal row, in EVENT_COLUMNS order."""
        ts = self.ts if self.ts.tzinfo is not None else self.ts.replace(tzinfo=UTC)
        micros = (ts - _UTC_EPOCH) // _MICROSECOND
        return (
            self.event_id, micros, EventType.IMPRESSION.value, self.partner_id, self.asset_id,
            self.deal_id, self.request_id, self.position, self.stage, None, None, None,
        )  # fmt: skip


class EventJournal:
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
                conn.executescript(_SCHEMA_SQL)
                conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"EventJournal({str(self.path)!r}, {state})"

    def __enter__(self) -> EventJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        self._writer()  # refuse reads after close, like a closed file
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA query_only=ON")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock: committed whole, or rolled back whole."""
        with self._lock:
            conn = self._writer()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

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
        frame = _as_frame(frame_or_records)
        if not len(frame):
            return AppendResult(0, 0, [])
        normalised, problems = _validate(
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
        rows = _sql_rows(valid)
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

    def _insert(self, rows: list[tuple[Any, ...]]) -> int:
        """INSERT OR IGNORE `rows` in one durable transaction; return how many were new."""
        if not rows:
            return 0
        sql = (
            f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}, ingested_at) "
            f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))}, {_now_micros()})"
        )
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(sql, rows)
            return conn.total_changes - before

    def _copy_from_stage(self, stage_path: Path) -> int:
        """Copy every staged event into the journal in one transaction; return how many were new."""
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
                    before = conn.total_changes
                    conn.execute(
                        f"INSERT OR IGNORE INTO main.events ({cols}, ingested_at) "
                        f"SELECT {cols}, ? FROM stage.events ORDER BY rowid",
                        (_now_micros(),),
                    )
                    return conn.total_changes - before
            finally:
                conn.execute(f"PRAGMA main.cache_size={int(default_cache)}")
                conn.execute("DETACH DATABASE stage")

    # ---- reading --------------------------------------------------------------------------

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
        sql, params, cols = _select_sql(start=start, end=end, types=types, columns=columns)
        # Converted a slice at a time: building a million-row frame in one call holds the GIL
        # for a second, which a service reading its journal for a new snapshot would make
        # every request in flight wait out; a slice takes a few milliseconds.
        parts = list(self._stream(sql, params, cols, _READ_SLICE_ROWS))
        if len(parts) <= 1:
            return parts[0] if parts else _frame([], cols)
        frame = pd.concat(parts, ignore_index=True)
        for c in cols:
            # A text column with no value in one slice came out as objects there (None);
            # typed as the slices with values were, as one conversion of all rows types it.
            typed = [part[c].dtype for part in parts if part[c].dtype != object]
            if typed and frame[c].dtype != typed[0]:
                frame[c] = frame[c].astype(typed[0])
        return frame

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
        sql, params, cols = _select_sql(start=start, end=end, types=types, columns=columns)
        return self._stream(sql, params, cols, batch_size)

    def _stream(
        self, sql: str, params: list[Any], cols: list[str], batch_size: int
    ) -> Iterator[pd.DataFrame]:
        with self._reader() as conn:
            conn.execute("BEGIN")  # one snapshot for the whole stream
            cursor = conn.execute(sql, params)
            while rows := cursor.fetchmany(batch_size):
                yield _frame(rows, cols)
            conn.execute("COMMIT")


# ---- import ---------------------------------------------------------------------------------


@dataclass
class _Chunk:
    source: str
    first_row: int
    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    skip_rows: frozenset[int] = frozenset()  # rows already reported as unreadable


_SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".parquet")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir():
        return "parquet-dir"
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return suffix.split(".")[1].replace("ndjson", "jsonl")
    raise ValueError(
        f"{path}: cannot tell the format from the name; expected one of {list(_SUFFIXES)} "
        "or a folder of parquet files"
    )


def _csv_chunks(path: Path, chunk_size: int) -> Iterator[_Chunk]:
    source = str(path)
    first_row = 1
    try:
        # Every cell as text: ids like "007" stay ids; validation parses numbers and dates.
        reader = pd.read_csv(
            path,
            chunksize=chunk_size,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
        )
        with reader:
            for frame in reader:
                yield _Chunk(source, first_row, frame)
                first_row += len(frame)
    except pd.errors.EmptyDataError:
        yield _Chunk(source, first_row, pd.DataFrame(), [Problem(source, None, None, "empty file")])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = f"cannot read the CSV after row {first_row - 1}: {exc}"
        yield _Chunk(source, first_row, pd.DataFrame(), [Problem(source, None, None, reason)])


def _jsonl_chunks(path: Path, chunk_size: int) -> Iterator[_Chunk]:
    source = str(path)
    gzipped = path.name.lower().endswith(".gz")
    opener: Callable[..., IO[str]] = gzip.open if gzipped else open  # type: ignore[assignment]
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    unreadable: set[int] = set()
    first_row = row = 1

    def flush() -> _Chunk:
        nonlocal records, problems, unreadable, first_row
        frame = pd.DataFrame.from_records(records).reindex(
            columns=list(dict.fromkeys([*EVENT_COLUMNS, *(k for r in records for k in r)]))
        )
        chunk = _Chunk(source, first_row, frame, problems, frozenset(unreadable))
        first_row += len(records)
        records, problems, unreadable = [], [], set()
        return chunk

    try:
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            for line in fh:
                if not line.strip():
                    continue  # blank lines are not records
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    record, reason = {}, f"not valid JSON ({exc.msg} at column {exc.colno})"
                else:
                    reason = "" if isinstance(record, dict) else "expected one JSON object"
                if reason:
                    problems.append(Problem(source, row, None, reason))
                    unreadable.add(row)
                    record = {}
                records.append(record)
                row += 1
                if len(records) >= chunk_size:
                    yield flush()
    except (UnicodeDecodeError, OSError) as exc:
        problems.append(
            Problem(source, None, None, f"cannot read the file after row {row - 1}: {exc}")
        )
    if records or problems:
        yield flush()


def _parquet_chunks(path: Path, chunk_size: int) -> Iterator[_Chunk]:
    files = sorted(p for p in path.rglob("*.parquet") if p.is_file()) if path.is_dir() else [path]
    if not files:
        yield _Chunk(
            str(path), 1, pd.DataFrame(), [Problem(str(path), None, None, "no parquet files")]
        )
    for file in files:
        source = str(file)
        first_row = 1
        try:
            # Streams row group by row group: memory is bounded by one row group + one batch.
            with pq.ParquetFile(file) as parquet:
                for batch in parquet.iter_batches(batch_size=chunk_size):
                    frame = batch.to_pandas()
                    yield _Chunk(source, first_row, frame)
                    first_row += len(frame)
        except (pa.ArrowException, OSError) as exc:
            reason = f"cannot read the parquet file after row {first_row - 1}: {exc}"
            yield _Chunk(source, first_row, pd.DataFrame(), [Problem(source, None, None, reason)])


def _total_rows(path: Path, kind: str) -> int | None:
    """Row count when it is cheap to know (parquet metadata), for the progress bar."""
    if kind == "parquet":
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowException, OSError):
            return None
    if kind == "parquet-dir":
        try:
            return sum(pq.ParquetFile(p).metadata.num_rows for p in path.rglob("*.parquet"))
        except (pa.ArrowException, OSError):
            return None
    return None


@contextmanager
def _stage(near: Path) -> Iterator[tuple[sqlite3.Connection, Path]]:
    """A throwaway SQLite file beside the journal (same disk, not RAM) for validated rows."""
    with tempfile.TemporaryDirectory(prefix=".events-import-", dir=near.parent) as tmp:
        stage_path = Path(tmp) / "stage.sqlite"
        conn = sqlite3.connect(stage_path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=OFF")  # scratch data: no durability needed
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(f"CREATE TABLE events ({_COLUMNS_SQL})")
            yield conn, stage_path
        finally:
            conn.close()


def import_file(
    journal: EventJournal,
    path: str | os.PathLike[str],
    *,
    known_assets: Collection[str] | None,
    known_partners: Collection[str] | None,
    progress: bool = True,
    chunk_size: int = 50_000,
) -> ImportReport:
    """Import a CSV, JSONL or Parquet file of events (or a folder of Parquet), all or nothing.

    The file is read in chunks of `chunk_size` rows (bounded memory, with a progress bar) and
    every row is validated as `EventJournal.append` does, with the asset and partner ids
    checked against `known_assets` / `known_partners` (pass None explicitly to skip a check).
    If any problem is found, `SchemaError` lists each one (file, 1-based row, column, reason;
    at most 10,000 are kept) and the journal is unchanged. Otherwise the events are written in
    one transaction; event ids already stored or repeated within the file are skipped and
    counted as duplicates.
    """
    path = Path(path)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be an integer >= 1")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    kind = _kind(path)
    reader = {"csv": _csv_chunks, "jsonl": _jsonl_chunks}.get(kind, _parquet_chunks)
    assets = frozenset(known_assets) if known_assets is not None else None
    partners = frozenset(known_partners) if known_partners is not None else None

    problems: list[Problem] = []
    file_level: set[Problem] = set()  # e.g. a missing column, found again in every chunk
    unlisted = 0
    staged_rows = staged_new = 0
    bar = tqdm(
        total=_total_rows(path, kind),
        unit=" events",
        desc=f"import {path.name}",
        disable=not progress,
    )
    with bar, _stage(journal.path) as (stage, stage_path):
        for chunk in reader(path, chunk_size):
            found = list(chunk.problems)
            normalised, checked = _validate(
                chunk.frame,
                source=chunk.source,
                first_row=chunk.first_row,
                known_assets=assets,
                known_partners=partners,
            )
            if len(chunk.frame.columns):
                found += [p for p in checked if p.row not in chunk.skip_rows]
            found = [p for p in found if p.row is not None or p not in file_level]
            file_level.update(p for p in found if p.row is None)
            if not found and not problems and len(normalised):
                # Stage while the file is clean so far; once a problem is seen, only validate.
                rows = _sql_rows(normalised)
                stage.execute("BEGIN")
                before = stage.total_changes
                stage.executemany(
                    f"INSERT OR IGNORE INTO events VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
                    rows,
                )
                staged_new += stage.total_changes - before
                stage.execute("COMMIT")
                staged_rows += len(rows)
            room = _MAX_IMPORT_PROBLEMS - len(problems)
            problems += found[:room]
            unlisted += max(0, len(found) - room)
            bar.update(len(chunk.frame))
        if problems:
            if unlisted:
                problems.append(
                    Problem(str(path), None, None, f"{unlisted} more problem(s) not listed")
                )
            raise SchemaError(problems)
        stage.close()
        accepted = journal._copy_from_stage(stage_path) if staged_new else 0
    return ImportReport(accepted=accepted, duplicates=staged_rows - accepted, source=str(path))


# ---- export ---------------------------------------------------------------------------------


def _day_runs(frame: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """Split a ts-sorted batch into consecutive runs of one UTC date each."""
    days = frame["ts"].to_numpy().astype("datetime64[D]")
    cuts = [0, *(np.flatnonzero(days[1:] != days[:-1]) + 1).tolist(), len(frame)]
    for a, b in itertools.pairwise(cuts):
        yield str(days[a]), frame.iloc[a:b]


def export_parquet(
    journal: EventJournal,
    out_dir: str | os.PathLike[str],
    *,
    start: Any = None,
    end: Any = None,
    batch_size: int = 100_000,
) -> list[Path]:
    """Write events with start <= ts < end as parquet partitioned by UTC date; return the files.

    Layout: ``out_dir/date=YYYY-MM-DD/part-0.parquet`` (hive style), so
    ``pd.read_parquet(out_dir)`` or `read_events_parquet` reads it back with a ``date``
    column. Events arrive sorted by ts, so each date is one contiguous run: one file is open
    at a time and memory is bounded by one batch (a buffering dataset writer would hold every
    open partition). `out_dir` is replaced whole and atomically: readers never see a
    half-written export, and the folder holds exactly this export.
    """
    out = Path(out_dir)
    written: list[Path] = []
    with atomic_dir(out) as tmp:
        writer: pq.ParquetWriter | None = None
        current = None
        try:
            for frame in journal.iter_batches(batch_size, start=start, end=end):
                for day, run in _day_runs(frame):
                    if day != current:
                        if writer is not None:
                            writer.close()
                        relative = Path(f"date={day}") / "part-0.parquet"
                        (tmp / relative).parent.mkdir()
                        writer = pq.ParquetWriter(tmp / relative, _ARROW_SCHEMA)
                        written.append(relative)
                        current = day
                    assert writer is not None
                    writer.write_table(
                        pa.Table.from_pandas(run, schema=_ARROW_SCHEMA, preserve_index=False)
                    )
        finally:
            if writer is not None:
                writer.close()
    return [out / r for r in written]


def _neutralise(column: pd.Series) -> pd.Series:
    """Prefix text that a spreadsheet would run as a formula with a single quote (OWASP)."""
    text = column.astype(object)
    risky = text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_PREFIXES))
    return text.where(~risky.astype(bool), "'" + text[risky].astype(str))


def export_csv(
    journal: EventJournal,
    path: str | os.PathLike[str],
    *,
    start: Any = None,
    end: Any = None,
    batch_size: int = 100_000,
) -> Path:
    """Write events as a CSV that is safe to open in a spreadsheet; return its path.

    ts is ISO 8601 UTC (``2026-03-31T09:15:00.000000Z``). Any text cell starting with
    ``= + - @``, tab or carriage return is prefixed with ``'`` so it is shown, not executed
    (OWASP CSV injection); numeric columns are written as numbers. The file is written to a
    temporary name and renamed, so a reader never sees half of it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(EVENT_COLUMNS)
            for frame in journal.iter_batches(batch_size, start=start, end=end):
                frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                for c in _STR_COLUMNS:
                    frame[c] = _neutralise(frame[c])
                frame.to_csv(fh, header=False, index=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_events_parquet(path_or_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an events parquet file or a hive-partitioned export into the journal's types.

    Returns EVENT_COLUMNS (plus ``date`` when read from a partitioned export), ts as tz-naive
    UTC datetime64[us], sorted by ts. Raises SchemaError if a required column is absent.
    """
    path = Path(path_or_dir)
    dataset = ds.dataset(path, format="parquet", partitioning="hive" if path.is_dir() else None)
    names = dataset.schema.names
    missing = [c.name for c in EVENTS.columns if c.required and c.name not in names]
    if missing:
        raise SchemaError(
            Problem(str(path), None, c, "required column is missing") for c in missing
        )
    wanted = [c for c in (*EVENT_COLUMNS, "date") if c in names]
    frame = dataset.to_table(columns=wanted).to_pandas()
    for c in EVENT_COLUMNS:
        if c not in frame:
            frame[c] = None
    ts = pd.to_datetime(frame["ts"])
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    frame["ts"] = ts.astype("datetime64[us]")
    frame["position"] = frame["position"].astype("Int64")
    for c in _FLOAT_COLUMNS:
        frame[c] = frame[c].astype("float64")
    if "date" in frame:
        frame["date"] = frame["date"].astype(str)
    columns = [*EVENT_COLUMNS, *(["date"] if "date" in frame else [])]
    return frame[columns].sort_values("ts", kind="stable").reset_index(drop=True)
