"""Deals: import from a CRM export (validated, all-or-nothing, upsert by deal_id) and reading.

A deal is what a recommendation request describes (stage, industry, products, competitors,
buyer role, notes, language); events name it by `deal_id`, and training reads a deal's fields
for every event on it. A deal's partner must be in the partner table, as an event's must.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pandas as pd

from features.schema import DEALS
from features.validation import Problem, SchemaError, check_table
from recommender.storage.tables import TableImport, read_table, store_table
from recommender.workspace import Workspace


def load_deal_frame(workspace: Workspace) -> pd.DataFrame | None:
    """The stored deals, or None when none were imported or generated."""
    if not workspace.deals_path.exists():
        return None
    return pd.read_parquet(workspace.deals_path)


def import_deals(
    workspace: Workspace, path: Path, *, known_partners: Collection[str], replace: bool = False
) -> TableImport:
    """Validate a deals file (CSV, JSONL, Parquet) against the DEALS contract and the known
    partner ids, and store it (upsert by deal_id, or the whole table with `replace`). Raises
    `SchemaError` listing every problem, having written nothing."""
    source = str(path)
    frame, problems = check_table(read_table(Path(path)), DEALS, source=source)
    known = set(known_partners)
    for i, partner in enumerate(frame["partner_id"]):
        if partner is not None and str(partner) not in known:
            problems.append(
                Problem(source, i + 1, "partner_id",
                        f"{partner!r} is not in the partner table; import partners first "
                        "(`recommender partners import FILE`)")
            )  # fmt: skip
    if problems:
        raise SchemaError(problems)
    return store_table(
        workspace.deals_path, frame, load_deal_frame(workspace), key="deal_id", replace=replace
    )


def unknown_deals(events: pd.DataFrame, deals: pd.DataFrame | None) -> tuple[int, list[str]]:
    """(events naming a deal the deals table lacks, those deal ids sorted), for the warning
    `train` gives: such events train without their deal's industry, products or notes."""
    if "deal_id" not in events:
        return 0, []
    named = events["deal_id"].dropna().astype(str)
    named = named[named != ""]
    known = set() if deals is None or "deal_id" not in deals else set(deals["deal_id"].astype(str))
    missing = named[~named.isin(known)]
    return len(missing), sorted(set(missing))
