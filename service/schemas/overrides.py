"""Channel manager overrides (pin, boost, hide) through the API."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from features.schema import Maturity, Tier
from recommender import Override, OverrideScope
from recommender import OverrideAction as Action
from service.schemas.common import Id, IsoText, Slug


class OverrideCreate(BaseModel):
    """A new override. `scope` decides who it applies to: one partner (`partner_id`), a segment
    (any of `tier`, `maturity`, `industry`), or everyone."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # what `_consistent` checks, stated in the document (JSON Schema's if/then)
            "allOf": [
                {
                    "if": {"properties": {"scope": {"const": "partner"}}, "required": ["scope"]},
                    "then": {
                        "required": ["partner_id"],
                        "properties": {"partner_id": {"type": "string"}},
                    },
                },
                {
                    "if": {"properties": {"action": {"const": "boost"}}, "required": ["action"]},
                    "then": {
                        "required": ["boost"],
                        "properties": {"boost": {"type": "number", "not": {"const": 0}}},
                    },
                },
            ],
            "examples": [
                {
                    "action": "pin",
                    "asset_id": "wp-banking-cloud",
                    "scope": "segment",
                    "tier": "gold",
                    "industry": "banking",
                    "expires_at": "2030-06-30T00:00:00Z",
                    "comment": "Q2 banking campaign",
                }
            ],
        },
    )

    action: Action
    asset_id: Id
    scope: OverrideScope
    partner_id: Id | None = None
    tier: Tier | None = None
    maturity: Maturity | None = None
    industry: Slug | None = None
    boost: float | None = Field(
        default=None,
        strict=True,
        ge=-1,
        le=1,
        allow_inf_nan=False,
        description="for 'boost': added to the score",
    )
    expires_at: Annotated[AwareDatetime, IsoText] | None = Field(
        default=None, description="when it stops acting (with a UTC offset, e.g. ...Z)"
    )
    comment: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _consistent(self) -> OverrideCreate:
        if self.scope == OverrideScope.PARTNER and not self.partner_id:
            raise ValueError("partner_id is required for scope 'partner'")
        if self.action == Action.BOOST and not self.boost:
            raise ValueError("boost must be a non-zero number between -1 and 1 for action 'boost'")
        return self


class OverridePublic(BaseModel):
    override_id: str
    action: Action
    asset_id: str
    scope: OverrideScope
    partner_id: str | None
    tier: str | None
    maturity: str | None
    industry: str | None
    boost: float
    expires_at: str | None
    comment: str
    created_by: str
    created_at: str
    active: bool

    @classmethod
    def of(cls, o: Override, now: datetime) -> OverridePublic:
        return cls.model_validate({**asdict(o), "active": o.active(now)})


class OverridesPublic(BaseModel):
    data: list[OverridePublic]
    count: int
