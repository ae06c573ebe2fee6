"""The reliability tests' own helpers: digests of what a workspace stores, to show that a
crash, a hostile request or a refused change left it as it was.

The real servers these tests start, kill and restart are `tests.support.start_server`
(`recommender serve`, one uvicorn worker in the process itself, so SIGKILL to that pid kills
the server with no chance to clean up).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from recommender.workspace import Workspace


def journal_counts(ws: Workspace) -> dict[str, int]:
    """event_id -> number of rows with that id, read through the journal's public API."""
    from recommender.storage.events import EventJournal

    with EventJournal(ws.events_path) as journal:
        ids = journal.read(columns=["event_id"])["event_id"]
    return {str(k): int(v) for k, v in ids.value_counts().items()}


def journal_rows(ws: Workspace) -> list[tuple[Any, ...]]:
    """Every stored event row in write order (read-only connection: what is on disk)."""
    uri = f"file:{ws.events_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        return conn.execute("SELECT * FROM events ORDER BY rowid").fetchall()


# What the service records of a refused request (a 401 or 403 is audited): a hostile request
# may add these, and nothing else.
REFUSALS = ("api.unauthorized", "api.forbidden", "console.sign_in_failed",
            "console.sign_in_refused")  # fmt: skip


def table_digest(
    db: Path, tables: Iterable[str], where: dict[str, str] | None = None
) -> dict[str, str]:
    """sha256 of each table's rows in rowid order (those `where[table]` keeps, if given)."""
    out = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        for table in tables:  # names and conditions from the caller's fixed lists
            digest = hashlib.sha256()
            condition = f" WHERE {where[table]}" if where and table in where else ""
            for row in conn.execute(f"SELECT * FROM {table}{condition} ORDER BY rowid"):
                digest.update(repr(row).encode())
            out[table] = digest.hexdigest()
    return out


def files_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` (relative path -> digest)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def stored_state(ws: Workspace) -> dict[str, Any]:
    """What a hostile request must not change: the event rows, the catalog folder (assets,
    chunks, index), the partner table, the playbook, the overrides, keys and audit log (but
    for the entries that record a refusal, `REFUSALS`)."""
    return {
        "events": hashlib.sha256(repr(journal_rows(ws)).encode()).hexdigest(),
        "catalog": files_digest(ws.catalog_dir),
        "partners": hashlib.sha256(ws.partners_path.read_bytes()).hexdigest(),
        "playbook": hashlib.sha256(ws.playbook_path.read_bytes()).hexdigest(),
        "console": table_digest(
            ws.console_path,
            ["overrides", "api_keys", "audit"],
            {"audit": f"action NOT IN ({', '.join(repr(a) for a in REFUSALS)})"},
        ),
        "promoted": (ws.models_dir / "PROMOTED").read_text()
        if (ws.models_dir / "PROMOTED").exists()
        else None,
    }
