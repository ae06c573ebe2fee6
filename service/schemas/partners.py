"""Partners through the API: `PartnerUpsert` in, `PartnerPublic` / `PartnersPublic` out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from features.schema import Language, Maturity, PartnerType, Tier
from recommender import PartnerProfile
from service.schemas.common import MAX_LIST, Day, Id, Slug


class PartnerUpsert(BaseModel):
    """PUT /v1/partners/{partner_id}: the whole profile (a replace, not a patch)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Northwind Integration",
                    "tier": "gold",
                    "maturity": "established",
                    "type": "integrator",
                    "industries": ["banking", "retail"],
                    "regions": ["ua-kyiv"],
                    "languages": ["uk", "en"],
                    "manager": "olena.kovalenko",
                }
            ]
        },
    )

    partner_id: Id | None = Field(default=None, description="if given, must equal the path's id")
    name: str = Field(min_length=1, max_length=200)
    tier: Tier
    maturity: Maturity
    type: PartnerType
    industries: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    regions: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    languages: list[Language] = Field(default_factory=list, max_length=len(Language))
    certified_products: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    joined_at: Day | None = None
    manager: str | None = Field(
        default=None, min_length=1, max_length=200, description="the channel manager's name or id"
    )


class PartnerPublic(BaseModel):
    partner_id: str
    name: str | None
    tier: Tier
    maturity: Maturity
    type: PartnerType | None
    industries: list[str]
    regions: list[str]
    languages: list[Language]
    certified_products: list[str]
    manager: str | None = None

    @classmethod
    def of(cls, p: PartnerProfile) -> PartnerPublic:
        return cls.model_validate(
            {
                "partner_id": p.partner_id or "",
                "name": p.name,
                "tier": p.tier,
                "maturity": p.maturity,
                "type": p.type,
                "industries": list(p.industries),
                "regions": list(p.regions),
                "languages": list(p.languages),
                "certified_products": list(p.certified_products),
                "manager": p.manager,
            }
        )


class PartnersPublic(BaseModel):
    data: list[PartnerPublic]
    count: int
