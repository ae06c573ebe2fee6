"""POST /v1/recommendations: who asks, about which deal, and what comes back."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from features.schema import AssetType, BuyerRole, Language, Maturity, PartnerType, Stage, Tier
from service.schemas.common import MAX_LIST, Id, Slug, WholeNumber


class PartnerInline(BaseModel):
    """What the request states about the partner; it takes precedence over the stored profile."""

    model_config = ConfigDict(extra="forbid")

    maturity: Maturity | None = None
    tier: Tier | None = None
    type: PartnerType | None = None
    industries: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    region: Slug | None = Field(default=None, description="one region (merged into `regions`)")
    regions: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    languages: list[Language] = Field(default_factory=list, max_length=len(Language))
    certified_products: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)

    def stated(self) -> dict[str, Any]:
        """The fields given, as `PartnerProfile.merged` takes them."""
        regions = list(dict.fromkeys([*self.regions, *([self.region] if self.region else [])]))
        out: dict[str, Any] = {
            "maturity": self.maturity.value if self.maturity else None,
            "tier": self.tier.value if self.tier else None,
            "type": self.type.value if self.type else None,
            "industries": tuple(self.industries),
            "regions": tuple(regions),
            "languages": tuple(dict.fromkeys(lang.value for lang in self.languages)),
            "certified_products": tuple(self.certified_products),
        }
        return {k: v for k, v in out.items() if v not in (None, ())}


class DealContextIn(BaseModel):
    """The deal at hand."""

    model_config = ConfigDict(extra="forbid")

    stage: Stage
    industry: Slug | None = None
    products: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    size: float | None = Field(default=None, strict=True, ge=0, le=1e13, allow_inf_nan=False)
    competitors: list[Slug] = Field(default_factory=list, max_length=MAX_LIST)
    buyer_role: BuyerRole | None = None
    notes: str | None = Field(default=None, max_length=5000, description="free text, any language")
    language: Language | None = None
    deal_id: Id | None = None


class FiltersIn(BaseModel):
    """Restrictions on what may be recommended; empty lists mean no restriction."""

    model_config = ConfigDict(extra="forbid")

    types: list[AssetType] = Field(default_factory=list, max_length=len(AssetType))
    languages: list[Language] = Field(default_factory=list, max_length=len(Language))


class RecommendationRequest(BaseModel):
    """A partner (by id, inline, both, or neither: an anonymous visitor) and a deal; `n`
    assets come back, best first."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "partner_id": "p-001",
                    "context": {
                        "stage": "negotiation",
                        "industry": "banking",
                        "competitors": ["globex"],
                        "notes": "CFO wants a TCO comparison against the incumbent",
                    },
                    "n": 5,
                }
            ]
        },
    )

    partner_id: Id | None = Field(
        default=None,
        description="a stored partner; without it (and without `partner`) the deal alone is "
        "ranked for an anonymous partner, and nothing is journaled",
    )
    partner: PartnerInline | None = None
    context: DealContextIn
    n: Annotated[int, WholeNumber] = Field(default=10, strict=True, ge=1, le=50)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    exclude_seen: bool = Field(
        default=False,
        strict=True,
        description="leave out assets the partner already opened, downloaded or shared "
        "(otherwise they are only demoted)",
    )
    tracked_links: bool = Field(
        default=False,
        strict=True,
        description="give each item a `tracked_url` (/r/{token} on this service): following "
        "it records an `open` under this response's request_id and redirects to the asset's "
        "url (stored partners only)",
    )


class ReasonPublic(BaseModel):
    code: str = Field(description="machine-readable reason, e.g. 'stage', 'industry', 'notes'")
    text: str


class RecommendedItemPublic(BaseModel):
    asset_id: str
    title: str
    type: AssetType
    language: Language | None
    url: str | None
    score: float
    reasons: list[ReasonPublic]
    tracked_url: str | None = Field(
        default=None, description="with `tracked_links`: the asset's link that records an open"
    )


class RecommendationsPublic(BaseModel):
    request_id: str = Field(description="also the request_id of the journaled impressions")
    model_version: str = Field(description="the model version that served this request")
    items: list[RecommendedItemPublic]
