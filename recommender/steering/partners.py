"""Partner profiles: import (validated, all-or-nothing), storage, lookup."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from features.schema import PARTNERS
from features.validation import validate_table
from recommender.storage.tables import TableImport, read_table, store_table
from recommender.types import PartnerProfile
from recommender.workspace import Workspace

LIST_COLUMNS = ("industries", "regions", "languages", "certified_products")


def validate_partners(frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    return validate_table(frame, PARTNERS, source=source)


def save_partners(workspace: Workspace, partners: pd.DataFrame) -> None:
    """Write the validated partner table atomically (parquet), replacing the stored one."""
    store_table(workspace.partners_path, partners, None, key="partner_id", replace=True)


def import_partners(workspace: Workspace, path: Path, *, replace: bool = True) -> TableImport:
    """Validate a partner file (CSV, JSONL, Parquet; all or nothing) and store it: the whole
    table with `replace`, else upserted by partner_id."""
    frame = validate_partners(read_table(path), source=str(path))
    stored = load_partner_frame(workspace) if workspace.partners_path.exists() else None
    return store_table(workspace.partners_path, frame, stored, key="partner_id", replace=replace)


def load_partner_frame(workspace: Workspace) -> pd.DataFrame:
    if not workspace.partners_path.exists():
        return pd.DataFrame(columns=PARTNERS.names)
    frame = pd.read_parquet(workspace.partners_path)
    for col in LIST_COLUMNS:
        if col in frame:
            frame[col] = [list(v) if v is not None else [] for v in frame[col]]
    return frame


def profile_from_row(row: dict) -> PartnerProfile:  # type: ignore[type-arg]
    def tup(value: object) -> tuple[str, ...]:
        if value is None or isinstance(value, float):
            return ()
        return tuple(str(v) for v in value)  # type: ignore[attr-defined]

    return PartnerProfile(
        partner_id=str(row["partner_id"]),
        name=row.get("name"),
        tier=row.get("tier") or "registered",
        maturity=row.get("maturity") or "developing",
        type=row.get("type"),
        industries=tup(row.get("industries")),
        regions=tup(row.get("regions")),
        languages=tup(row.get("languages")),
        certified_products=tup(row.get("certified_products")),
        manager=_text(row.get("manager")),
    )


def _text(value: object) -> str | None:
    """A stored text value, None when missing (None, NaN, empty)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def load_partners(workspace: Workspace) -> dict[str, PartnerProfile]:
    frame = load_partner_frame(workspace)
    return {str(r["partner_id"]): profile_from_row(r) for r in frame.to_dict("records")}


def upsert_partner(
    workspace: Workspace, record: dict, *, source: str = "request"
) -> PartnerProfile:  # type: ignore[type-arg]
    """Validate one partner record and store it, replacing any with the same id."""
    frame = validate_partners(pd.DataFrame([record]), source=source)
    stored = load_partner_frame(workspace) if workspace.partners_path.exists() else None
    store_table(workspace.partners_path, frame, stored, key="partner_id", replace=False)
    return profile_from_row(frame.iloc[0].to_dict())


def find_partners(
    partners: dict[str, PartnerProfile], query: str, limit: int = 20
) -> Sequence[PartnerProfile]:
    """Partners whose id or name contains `query` (case-insensitive), best match first."""
    q = query.strip().lower()
    if not q:
        return list(partners.values())[:limit]
    hits = [
        p
        for p in partners.values()
        if q in (p.partner_id or "").lower() or q in (p.name or "").lower()
    ]
    hits.sort(key=lambda p: (not (p.name or "").lower().startswith(q), p.name or ""))
    return hits[:limit]
