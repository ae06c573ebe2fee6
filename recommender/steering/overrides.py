"""Channel manager overrides: pin, boost or hide an asset for a partner, a segment or everyone.

An override is a fact with a scope and an optional expiry. The pipeline asks which overrides
apply to a (partner, deal) at request time, so an expired override stops acting without anyone
deleting it. Storage lives in `OverrideStore` (its changes are audited in the same transaction,
recommender.storage.audit); the snapshot holds the active list and is swapped when a manager
changes it.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from features.schema import ID_PATTERN, Maturity, Tier, values
from recommender.storage import audit
from recommender.types import DealContext, PartnerProfile


class Action(StrEnum):
    PIN = "pin"
    BOOST = "boost"
    HIDE = "hide"


class Scope(StrEnum):
    PARTNER = "partner"
    SEGMENT = "segment"  # tier x maturity x industry; any of the three may be left open
    GLOBAL = "global"


@dataclass(frozen=True)
class Override:
    override_id: str
    action: str
    asset_id: str
    scope: str
    partner_id: str | None = None
    tier: str | None = None
    maturity: str | None = None
    industry: str | None = None
    boost: float = 0.0  # added to the score (scores are roughly 0..1)
    expires_at: str | None = None  # ISO 8601 UTC
    comment: str = ""
    created_by: str = ""
    created_at: str = ""

    def active(self, now: datetime) -> bool:
        if not self.expires_at:
            return True
        return datetime.fromisoformat(self.expires_at).replace(tzinfo=UTC) > now

    def applies_to(self, partner: PartnerProfile, context: DealContext) -> bool:
        if self.scope == Scope.GLOBAL:
            return True
        if self.scope == Scope.PARTNER:
            return partner.partner_id is not None and partner.partner_id == self.partner_id
        industries = set(partner.industries) | ({context.industry} if context.industry else set())
        return (
            (self.tier is None or self.tier == partner.tier)
            and (self.maturity is None or self.maturity == partner.maturity)
            and (self.industry is None or self.industry in industries)
        )

    def describe_scope(self) -> str:
        if self.scope == Scope.GLOBAL:
            return "everyone"
        if self.scope == Scope.PARTNER:
            return f"partner {self.partner_id}"
        parts = [p for p in (self.tier, self.maturity, self.industry) if p]
        return "segment " + (" x ".join(parts) if parts else "all")


def validate_override(
    *,
    action: str,
    asset_id: str,
    scope: str,
    partner_id: str | None = None,
    tier: str | None = None,
    maturity: str | None = None,
    industry: str | None = None,
    boost: float | None = None,
    expires_at: str | None = None,
) -> list[str]:
    """Problems with a proposed override, each naming the field (empty list = valid)."""
    import re

    problems: list[str] = []
    if action not in values(Action):
        problems.append(f"action={action!r} is not valid; expected one of {values(Action)}")
    if scope not in values(Scope):
        problems.append(f"scope={scope!r} is not valid; expected one of {values(Scope)}")
    if not re.match(ID_PATTERN, asset_id or ""):
        problems.append(f"asset_id={asset_id!r} is not a valid id")
    if scope == Scope.PARTNER and not partner_id:
        problems.append("partner_id is required for scope 'partner'")
    if tier is not None and tier not in values(Tier):
        problems.append(f"tier={tier!r} is not valid; expected one of {values(Tier)}")
    if maturity is not None and maturity not in values(Maturity):
        problems.append(f"maturity={maturity!r} is not valid; expected one of {values(Maturity)}")
    if action == Action.BOOST and (boost is None or not -1.0 <= boost <= 1.0 or boost == 0):
        problems.append(f"boost={boost!r} must be a non-zero number between -1 and 1")
    if expires_at:
        try:
            datetime.fromisoformat(expires_at)
        except ValueError:
            problems.append(f"expires_at={expires_at!r} is not an ISO 8601 date-time")
    return problems


class OverrideStore:
    """Overrides and their audit log in the console database (SQLite, or the shared
    PostgreSQL database): durable, and every change is recorded with it."""

    def __init__(self, location: Path | str) -> None:
        self._db = audit.ConsoleDatabase(
            location,
            """
            CREATE TABLE IF NOT EXISTS overrides (
                override_id TEXT PRIMARY KEY, data TEXT NOT NULL, deleted INTEGER DEFAULT 0);
            """,
        )

    def __enter__(self) -> OverrideStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list(self, *, include_expired: bool = True) -> list[Override]:
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT data FROM overrides WHERE deleted = 0 ORDER BY {self._db.row_order}"
            ).fetchall()
        items = [Override(**json.loads(r[0])) for r in rows]
        if not include_expired:
            now = datetime.now(UTC)
            items = [o for o in items if o.active(now)]
        return items

    def add(self, *, actor: str, **fields: object) -> Override:
        checked = {k: v for k, v in fields.items() if k != "comment"}
        problems = validate_override(**checked)  # type: ignore[arg-type]
        if problems:
            raise ValueError("; ".join(problems))
        override = Override(
            override_id=uuid.uuid4().hex[:12],
            created_by=actor,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            **{k: v for k, v in fields.items() if v is not None},  # type: ignore[arg-type]
        )
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO overrides (override_id, data) VALUES (?, ?)",
                (override.override_id, json.dumps(asdict(override))),
            )
            audit.record(
                conn, actor, f"override.{override.action}", override.asset_id, asdict(override)
            )
        return override

    def remove(self, override_id: str, *, actor: str) -> bool:
        with self._db.write() as conn:
            removed = conn.execute(
                "UPDATE overrides SET deleted = 1 WHERE override_id = ? AND deleted = 0",
                (override_id,),
            ).rowcount
            if removed:
                audit.record(conn, actor, "override.remove", override_id, {})
        return bool(removed)

    def audit(self, actor: str, action: str, target: str, detail: dict[str, object]) -> None:
        """Record an action that is not an override change (e.g. a model promotion)."""
        with self._db.write() as conn:
            audit.record(conn, actor, action, target, detail)

    def audit_log(self, limit: int = 200) -> builtins.list[dict[str, object]]:
        """The audit log's newest `limit` entries (recommender.storage.audit)."""
        with self._db.read() as conn:
            return audit.entries(conn, limit)

    def close(self) -> None:
        self._db.close()


def applicable(
    overrides: Sequence[Override], partner: PartnerProfile, context: DealContext, now: datetime
) -> list[Override]:
    return [o for o in overrides if o.active(now) and o.applies_to(partner, context)]
