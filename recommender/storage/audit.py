"""The audit log: who changed what, when, in the workspace's console database.

One table (`audit`) beside the overrides and the API keys in `Workspace.console_path`. Stores
that own a connection to that database (`OverrideStore`) record through `record` inside their
own transactions, so a change and its audit entry commit together; `AuditLog` is the same log
for a caller that has no such connection (creating or revoking a key from the CLI).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

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


def record(
    conn: sqlite3.Connection, actor: str, action: str, target: str, detail: dict[str, Any]
) -> None:
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


def entries(conn: sqlite3.Connection, limit: int = 200) -> list[dict[str, object]]:
    """The newest `limit` entries, newest first; `detail` is the stored JSON text."""
    rows = conn.execute(
        "SELECT seq, at, actor, action, target, detail FROM audit ORDER BY seq DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


class AuditLog:
    """The audit log of one console database, opened on its own."""

    def __init__(self, path: Path) -> None:
        self._conn = open_database(path)
        self._lock = threading.Lock()

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
        with self._lock:
            record(self._conn, actor, action, target, detail)

    def entries(self, limit: int = 200) -> list[dict[str, object]]:
        with self._lock:
            return entries(self._conn, limit)

    def close(self) -> None:
        self._conn.close()
