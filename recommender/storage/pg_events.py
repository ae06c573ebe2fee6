"""The event journal in PostgreSQL: the same contract as the SQLite `EventJournal`, shared by
service replicas on several hosts.

`Journal` holds the validation, the batch semantics and every read; this backend supplies:

- **Durable, idempotent writes.** A batch is one transaction of ``INSERT ... SELECT FROM
  unnest(...) ON CONFLICT (event_id) DO NOTHING`` statements (one per 5,000 rows): the ids
  already stored, or repeated within the batch, are skipped and counted from the statement's
  row count. Connections commit with ``synchronous_commit=on``, so `append` returns once the
  events are on the server's disk. Two writers racing on one id: the second waits for the
  first to commit, then skips it. A deadlock or serialisation failure retries the whole batch
  (it is idempotent).
- **Order.** ``seq`` (an identity column) numbers events as they are written; reads order by
  (ts, seq), as SQLite orders by (ts, rowid). With several concurrent writers, events with the
  same ts are ordered by when their ids were drawn, not when their transactions committed.
- **Snapshots.** A multi-statement read runs in one REPEATABLE READ, READ ONLY transaction;
  a stream (`iter_batches`, `read`) is a server-side cursor in one, so memory holds one batch.
- **Append-only.** Triggers refuse UPDATE, DELETE and TRUNCATE (migration 0001).
- **Usage aggregates** (migration 0004): one trigger per INSERT statement adds the rows it
  really inserted (its transition table) to ``usage_daily`` and ``impression_totals``, in key
  order, in the same transaction.
- **Imports** stage in a SQLite file under `stage_dir` as for SQLite, then COPY into a
  temporary table and insert from it in one transaction.
"""

from __future__ import annotations

import functools
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from recommender.storage.event_rows import (
    EVENT_COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    TIME_COLUMNS,
    now_micros,
    to_frame,
)
from recommender.storage.events import Journal
from recommender.storage.postgres import Qmark, check_current, connect, unavailable_as
from recommender.workspace import redact_url

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["PostgresJournal"]

# Rows per INSERT statement: one array parameter per column, so the statement's size does not
# grow with the rows, but a smaller step keeps one statement's memory on both sides modest.
_STATEMENT_ROWS = 5_000
_RETRIES = 3


def _pg_type(column: str) -> str:
    if column in TIME_COLUMNS:
        return "bigint"
    if column in INT_COLUMNS:
        return "integer"
    if column in FLOAT_COLUMNS:
        return "double precision"
    return "text"


@functools.cache
def _insert_sql() -> str:
    cols = ", ".join(EVENT_COLUMNS)
    arrays = ", ".join(f"%s::{_pg_type(c)}[]" for c in EVENT_COLUMNS)
    aliases = ", ".join(f"u_{c}" for c in EVENT_COLUMNS)
    # The first parameter is ingested_at, then one array per column.
    return (
        f"INSERT INTO events ({cols}, ingested_at) SELECT {aliases}, %s::bigint "
        f"FROM unnest({arrays}) WITH ORDINALITY AS u({aliases}, u_ord) "
        "ORDER BY u_ord ON CONFLICT (event_id) DO NOTHING"
    )


class PostgresJournal(Journal):
    """The event journal in the PostgreSQL database at `url` (whose schema must be current:
    `recommender db upgrade`). Imports stage their rows in `stage_dir` (default: the system's
    temporary folder). Safe to share between threads: each call takes a pooled connection."""

    _ORDER: ClassVar[str] = "seq"

    def __init__(
        self,
        url: str,
        *,
        stage_dir: str | Path | None = None,
        pool_size: int = 4,
        connect_timeout: float = 5.0,
    ) -> None:
        self.url = redact_url(url)
        self._stage_dir = Path(stage_dir) if stage_dir is not None else Path(tempfile.gettempdir())
        self._pool = connect(url, max_size=pool_size, timeout=connect_timeout, name="reco-journal")
        try:
            check_current(self._pool)
        except BaseException:
            self._pool.close()
            raise
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"PostgresJournal({self.url!r}, {state})"

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._pool.close()

    @property
    def stage_dir(self) -> Path:
        return self._stage_dir

    @property
    def location(self) -> str:
        return self.url

    @contextmanager
    def _connection(self) -> Iterator[Connection[Any]]:
        if self._closed:
            raise ValueError(f"{self!r}: the journal is closed")
        with unavailable_as(f"the event journal at {self.url}"), self._pool.connection() as conn:
            yield conn

    def ping(self, timeout: float = 1.0) -> None:
        """Raise `StoreUnavailable` unless the database answers within about `timeout` s."""
        if self._closed:
            raise ValueError(f"{self!r}: the journal is closed")
        with (
            unavailable_as(f"the event journal at {self.url}"),
            self._pool.connection(timeout=timeout) as conn,
        ):
            conn.execute("SELECT 1")

    @contextmanager
    def _reader(self, *, snapshot: bool = False) -> Iterator[Qmark]:
        with self._connection() as conn:
            if not snapshot:
                yield Qmark(conn)
                return
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield Qmark(conn)

    def _insert(self, rows: list[tuple[Any, ...]]) -> int:
        if not rows:
            return 0
        from psycopg import errors

        stamp = now_micros()
        for attempt in range(_RETRIES):
            try:
                with self._connection() as conn, conn.transaction():
                    accepted = 0
                    for start in range(0, len(rows), _STATEMENT_ROWS):
                        chunk = rows[start : start + _STATEMENT_ROWS]
                        columns = [list(c) for c in zip(*chunk, strict=True)]
                        cur = conn.execute(_insert_sql(), [stamp, *columns])
                        accepted += cur.rowcount
                    return accepted
            except (errors.DeadlockDetected, errors.SerializationFailure):
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def copy_from_stage(self, stage_path: Path) -> int:
        cols = ", ".join(EVENT_COLUMNS)
        typed = ", ".join(f"{c} {_pg_type(c)}" for c in EVENT_COLUMNS)
        stage = sqlite3.connect(stage_path)
        try:
            with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
                cur.execute(f"CREATE TEMP TABLE events_stage (ord bigint, {typed}) ON COMMIT DROP")
                with cur.copy(f"COPY events_stage (ord, {cols}) FROM STDIN") as copy:
                    for row in stage.execute(f"SELECT rowid, {cols} FROM events ORDER BY rowid"):
                        copy.write_row(row)
                cur.execute(
                    f"INSERT INTO events ({cols}, ingested_at) SELECT {cols}, %s "
                    "FROM events_stage ORDER BY ord ON CONFLICT (event_id) DO NOTHING",
                    (now_micros(),),
                )
                return cur.rowcount
        finally:
            stage.close()

    def _stream(
        self, sql: str, params: list[Any], cols: list[str], batch_size: int
    ) -> Iterator[pd.DataFrame]:
        with self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with conn.cursor(name=f"journal_{uuid.uuid4().hex}") as cur:
                cur.execute(sql.replace("?", "%s"), params)
                while rows := cur.fetchmany(batch_size):
                    yield to_frame(rows, cols)
