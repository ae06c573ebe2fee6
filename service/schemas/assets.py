"""The catalog through the API: `AssetUpsert` in, `AssetPublic` / `AssetsPublic` out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from features.schema import (
    AssetStatus,
    AssetType,
    BuyerRole,
    Depth,
    Language,
    Maturity,
    Stage,
    Tier,
)
from service.schemas.common import MAX_LIST, Day, Id, Slug

HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2000)]


class AssetFields(BaseModel):
    """Fields an asset has, as the catalog's ASSETS contract declares them."""

    title: str = Field(min_length=1, max_length=300)
    type: AssetType
    language: Language | None = None
    summary: str = Field(min_length=1, max_length=5000)
    products: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    industries: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    stages: list[Stage] = Field(default_factory=list, max_length=len(Stage))
    maturities: list[Maturity] = Field(default_factory=list, max_length=len(Maturity))
    depth: Depth | None = None
    buyer_roles: list[BuyerRole] = Field(default_factory=list, max_length=len(BuyerRole))
    competitors: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    regions: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    min_tier: Tier | None = None
    status: AssetStatus | None = None
    url: HttpUrl | None = None
    published_at: Day | None = None
    expires_at: Day | None = Field(
        default=None,
        description="the last day it is recommended; not before `published_at` (422 otherwise)",
    )
    family_id: Id | None = Field(
        default=None,
        description="translations and versions of one asset share a family; a list shows one "
        "member, in the language the partner reads best",
    )


class AssetUpsert(AssetFields):
    """PUT /v1/assets/{asset_id}: the whole asset (a replace, not a patch)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "TCO calculator: cloud vs on-premises",
                    "type": "tco_calculator",
                    "language": "en",
                    "summary": "Compare five-year cost of ownership for a banking workload.",
                    "industries": ["banking"],
                    "stages": ["negotiation"],
                }
            ]
        },
    )

    asset_id: Id | None = Field(default=None, description="if given, must equal the path's id")
    body: str | None = Field(default=None, max_length=2_000_000, description="full text to index")


class AssetPublic(AssetFields):
    asset_id: str
    url: str | None = None  # type: ignore[assignment]
    text_chars: int = 0
    chunks: int = 0


class AssetsPublic(BaseModel):
    data: list[AssetPublic]
    count: int = Field(description="assets matching the filters (all pages)")
    offset: int
    limit: int


def _day(value: Any) -> date | None:
    if value is None:
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def asset_public(row: dict[str, Any]) -> AssetPublic:
    """A catalog row (as `Catalog.asset` returns it) as the API shows it."""
    fields: dict[str, Any] = {}
    for name in AssetPublic.model_fields:
        value = row.get(name)
        if name in ("published_at", "expires_at"):
            value = _day(value)
        elif isinstance(value, float) and value != value:  # NaN
            value = None
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        if value is not None:  # missing values take the field's default
            fields[name] = value
    return AssetPublic.model_validate(fields)
