"""The one eligibility mask: which catalog assets a partner may be shown on a day.

An asset is eligible when its status is published (no status counts as published), it is
published by the day and not expired on it, the partner's tier is at least the asset's
`min_tier`, and the asset names no region or one of the partner's regions. Serving asks it for
one request (`day` a number, `tier` one code, `regions` one multi-hot row: an (n_assets,) mask);
training and evaluation ask it for many (partner, time) rows at once (arrays of rows: an
(n_rows, n_assets) mask). Both get the same booleans from the same code.

Request filters (asset types, languages), overrides and seen assets are the ranking's business
and stay there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.pairs import AssetTable
from features.schema import AssetStatus


def published_assets(assets: pd.DataFrame) -> np.ndarray:
    """(n_assets,) bool aligned with the rows of `assets`: status published, or no status
    (a missing status, or no status column, counts as published)."""
    if "status" not in assets:
        return np.ones(len(assets), dtype=bool)
    published = AssetStatus.PUBLISHED.value
    return np.asarray(assets["status"].fillna(published).to_numpy() == published, dtype=bool)


def unrestricted_assets(table: AssetTable) -> np.ndarray:
    """(n_assets,) bool: the asset names no region, so it is available in every region."""
    return np.asarray(~table.regions.any(axis=1))


def eligible(
    table: AssetTable,
    published: np.ndarray,
    *,
    day: float | np.ndarray,
    tier: int | np.ndarray,
    regions: np.ndarray,
    unrestricted: np.ndarray | None = None,
) -> np.ndarray:
    """Which assets of `table` may be shown: published, on `day`, to a partner of `tier` in
    `regions`.

    published: (n_assets,) bool, `published_assets` of the catalog.
    day: days since 2000-01-01 (`features.timebase`): a number, or (n_rows,) for many rows.
    tier: index into `features.pairs.TIERS` of the partner's tier: an int, or (n_rows,).
    regions: the partner's regions as a multi-hot row over `table.region_vocab`
        ((n_regions,)), or one row per row ((n_rows, n_regions)).
    unrestricted: `unrestricted_assets(table)`, when the caller keeps it (serving does).

    Returns (n_assets,) bool for one partner and day, (n_rows, n_assets) for rows.
    """
    if isinstance(day, np.ndarray):  # rows: one per row, against every asset
        day = day.astype(np.float64, copy=False)[:, None]
    if isinstance(tier, np.ndarray):
        tier = tier[:, None]
    # NaN dates (never expires, publication unknown) compare False: they exclude nothing.
    ok = published & ~(table.expires_day <= day) & ~(table.published_day > day)
    ok &= table.min_tier_code <= tier  # -1: no restriction
    if table.regions.shape[1]:
        if unrestricted is None:
            unrestricted = unrestricted_assets(table)
        if regions.ndim == 1:
            shared = table.regions[:, regions].any(axis=1)
        else:  # (rows, regions) x (regions, assets): how many regions each pair shares
            shared = (regions.astype(np.float32) @ table.regions.T.astype(np.float32)) > 0
        ok &= unrestricted | shared
    return ok
