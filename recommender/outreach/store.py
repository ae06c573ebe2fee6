"""Digests as sent: who made one, when, for which partner, with which assets.

Kept in the workspace's console database beside the overrides and the experiments, each
record audited in the same transaction (`digest.record`). The next digest for a partner
leaves out what earlier ones sent (`sent`), puts what was published since the last one first
(`last`), and the portfolio counts how many of a digest's assets were opened soon after.
"""

from __future__ import annotations

import builtins
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from recommender.storage import audit


@dataclass(frozen=True)
class DigestRecord:
    """One digest as stored."""

    digest_id: str
    partner_id: str
    created_at: datetime
    created_by: str
    language: str
    format: str
    asset_ids: tuple[str, ...]
    since: datetime | None = None


def new_digest_id(now: datetime | None = None) -> str:
    """A digest id: dg-<UTC date>-<8 random hex digits> (fits the journal's request_id)."""
    return f"dg-{(now or datetime.now(UTC)):%Y%m%d}-{secrets.token_hex(4)}"


class DigestStore:
    """Digests in the console database, each recorded with its audit entry."""

    def __init__(self, location: Path | str) -> None:
        self._db = audit.ConsoleDatabase(
            location,
            """
            CREATE TABLE IF NOT EXISTS digests (
                digest_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL,
                created_at TEXT NOT NULL, created_by TEXT NOT NULL, language TEXT NOT NULL,
                format TEXT NOT NULL, since TEXT, assets TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS digests_partner ON digests (partner_id, created_at);
            """,
        )

    def __enter__(self) -> DigestStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, records: Sequence[DigestRecord], *, actor: str) -> None:
        """Store `records` (all or none), each with an audit entry."""
        with self._db.write() as conn:
            for r in records:
                conn.execute(
                    "INSERT INTO digests (digest_id, partner_id, created_at, created_by, "
                    "language, format, since, assets) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        r.digest_id, r.partner_id, _iso(r.created_at), r.created_by,
                        r.language, r.format, _iso(r.since) if r.since else None,
                        json.dumps(list(r.asset_ids)),
                    ),
                )  # fmt: skip
                audit.record(
                    conn, actor, "digest.record", r.partner_id,
                    {"digest_id": r.digest_id, "format": r.format, "assets": list(r.asset_ids)},
                )  # fmt: skip

    def list(
        self, partner_ids: Iterable[str] | None = None, *, limit: int | None = None
    ) -> builtins.list[DigestRecord]:
        """Digests (of `partner_ids`, when given), newest first."""
        sql, params = f"SELECT {_COLUMNS} FROM digests", []
        ids = None if partner_ids is None else sorted(set(partner_ids))
        if ids is not None:
            if not ids:
                return []
            sql += f" WHERE partner_id IN ({', '.join('?' * len(ids))})"
            params = list(ids)
        sql += f" ORDER BY created_at DESC, {self._db.row_order} DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [_record(row) for row in rows]

    def get(self, digest_id: str) -> DigestRecord | None:
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM digests WHERE digest_id = ?", (digest_id,)
            ).fetchone()
        return None if row is None else _record(row)

    def last(self, partner_id: str) -> DigestRecord | None:
        """The partner's newest digest."""
        found = self.list([partner_id], limit=1)
        return found[0] if found else None

    def sent(self, partner_id: str) -> set[str]:
        """Every asset a digest has sent the partner."""
        return {a for r in self.list([partner_id]) for a in r.asset_ids}

    def close(self) -> None:
        self._db.close()


_COLUMNS = "digest_id, partner_id, created_at, created_by, language, format, since, assets"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _record(row: tuple) -> DigestRecord:  # type: ignore[type-arg]
    digest_id, partner_id, created_at, created_by, language, fmt, since, assets = row
    return DigestRecord(
        digest_id=digest_id,
        partner_id=partner_id,
        created_at=datetime.fromisoformat(created_at),
        created_by=created_by,
        language=language,
        format=fmt,
        asset_ids=tuple(json.loads(assets)),
        since=datetime.fromisoformat(since) if since else None,
    )
