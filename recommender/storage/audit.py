"""The console database, and its audit log: who changed what, when.

The console database holds the API keys, overrides, experiments, digests and the audit log:
the workspace's SQLite file (`Workspace.console_path`), or the shared PostgreSQL database when
the workspace names one (`Workspace.console_location`; its tables come from the numbered
migrations, recommender.storage.postgres). Each store reaches it through a `ConsoleDatabase`:
`write()` is one transaction, `read()` a connection to query, both running SQL written once
for the two backends (``?`` placeholders).

One table (`audit`) beside the others. Stores record through `record` inside their own write
transactions, so a change and its audit entry commit together; `AuditLog` is the same log for
a caller that has no such transaction (creating or revoking a key from the CLI).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from recommender.storage import postgres

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
"""
COLUMNS = ("seq", "at", "actor", "action", "target", "detail")


def open_database(path: Path, schema: str = "") -> sqlite3.Connection:
    """A connection to the console database at `path` (created, with its folder, if missing):
    WAL, durable writes (synchronous=FULL), autocommit (callers open their own transactions,
    `transaction`), usable from any thread behind the caller's lock; the caller's `schema`
    and the audit table are created if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(schema + SCHEMA)
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on `conn`: committed whole, or rolled back whole."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class ConsoleDatabase:
    """A store's handle on the console database at `location`: a SQLite file (one connection
    behind a lock; `schema` is created there if missing) or a ``postgresql://`` URL (the
    process's shared pool; the schema must be current). Safe to share between threads."""

    def __init__(self, location: str | os.PathLike[str], schema: str = "") -> None:
        self._lock = threading.Lock()
        self._pool: Any = None
        self._conn: sqlite3.Connection | None = None
        if postgres.is_postgres_url(str(location)):
            self.backend = "postgresql"
            # the order rows were written in (SQLite's rowid; an identity column here)
            self.row_order = "seq"
            self._pool = postgres.acquire_pool(str(location))
        else:
            self.backend = "sqlite"
            self.row_order = "rowid"
            self._conn = open_database(Path(location), schema)

    @contextmanager
    def write(self, *, lock: str | None = None) -> Iterator[Any]:
        """One write transaction: committed whole, or rolled back whole. SQLite serialises
        writers (BEGIN IMMEDIATE); PostgreSQL does not, so a check-then-write names a `lock`
        (an advisory lock held to the commit) that every writer of that kind takes."""
        if self._conn is not None:
            with self._lock, transaction(self._conn) as conn:
                yield conn
            return
        with self._pg() as conn, conn.transaction():
            if lock is not None:
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
            yield postgres.Qmark(conn)

    @contextmanager
    def read(self) -> Iterator[Any]:
        """A connection for queries (each statement sees the committed state)."""
        if self._conn is not None:
            with self._lock:
                yield self._conn
            return
        with self._pg() as conn:
            yield postgres.Qmark(conn)

    @contextmanager
    def _pg(self) -> Iterator[Any]:
        if self._pool is None:
            raise ValueError(f"the console database ({self.backend}) is closed")
        with postgres.unavailable_as("the console database"), self._pool.connection() as conn:
            yield conn

    def generation(self) -> int | None:
        """The shared database's service generation (`bump_generation`); None on SQLite,
        where workers watch the workspace's generation file instead."""
        if self.backend != "postgresql":
            return None
        with self.read() as conn:
            row = conn.execute("SELECT generation FROM service_generation WHERE id = 1").fetchone()
        return int(row[0])

    def bump_generation(self, reason: str) -> int | None:
        """Tell every replica on the shared database that the workspace changed; return the
        new generation (None on SQLite, where this does nothing)."""
        if self.backend != "postgresql":
            return None
        with self.write() as conn:
            row = conn.execute(
                "UPDATE service_generation SET generation = generation + 1, reason = ?, "
                "changed_at = now() WHERE id = 1 RETURNING generation",
                (reason[:200],),
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            elif self._pool is not None:
                postgres.release_pool(self._pool)
                self._pool = None


def record(conn: Any, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
    """Append one entry through `conn` (in the caller's transaction, if one is open)."""
    conn.execute(
        "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (
            datetime.now(UTC).isoformat(timespec="seconds"),
            actor,
            action,
            target,
            json.dumps(detail, default=str, ensure_ascii=False),
        ),
    )


def entries(conn: Any, limit: int = 200) -> list[dict[str, object]]:
    """The newest `limit` entries, newest first; `detail` is the stored JSON text."""
    rows = conn.execute(
        "SELECT seq, at, actor, action, target, detail FROM audit ORDER BY seq DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


class AuditLog:
    """The audit log of one console database, opened on its own."""

    def __init__(self, location: Path | str) -> None:
        self._db = ConsoleDatabase(location)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def record(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        with self._db.write() as conn:
            record(conn, actor, action, target, detail)

    def entries(self, limit: int = 200) -> list[dict[str, object]]:
        with self._db.read() as conn:
            return entries(conn, limit)

    def close(self) -> None:
        self._db.close()
