"""POST /v1/events: a batch of usage events and what became of each."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from features.schema import EventType, Outcome, Stage, values
from service.schemas.common import WholeNumber

MAX_EVENTS = 1000


class EventIn(BaseModel):
    """One usage event (the EVENTS contract). Field values are checked event by event: an
    invalid event is rejected with its index and the reason, the valid ones are written."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "evt-000123",
                    "ts": "2026-03-31T09:15:00Z",
                    "type": "open",
                    "partner_id": "p-001",
                    "asset_id": "wp-banking-cloud",
                    "request_id": "4f1c0e9a2b7d4c3e8f6a5b4c3d2e1f00",
                    "position": 0,
                }
            ]
        },
    )

    event_id: str = Field(max_length=200, description="unique id; a repeated id is a duplicate")
    ts: str = Field(max_length=64, description="ISO 8601 time (UTC when no offset is given)")
    type: str = Field(max_length=64, description=f"one of {values(EventType)}")
    partner_id: str = Field(max_length=200)
    asset_id: str | None = Field(default=None, max_length=200)
    deal_id: str | None = Field(default=None, max_length=200)
    request_id: str | None = Field(
        default=None, max_length=200, description="the recommendation that showed the asset"
    )
    position: Annotated[int, WholeNumber] | None = Field(
        default=None, strict=True, description="0-based rank in that recommendation"
    )
    stage: str | None = Field(default=None, max_length=64, description=f"one of {values(Stage)}")
    value: float | None = Field(
        default=None, strict=True, allow_inf_nan=False, description="feedback, -1..1"
    )
    outcome: str | None = Field(
        default=None, max_length=64, description=f"one of {values(Outcome)}"
    )
    amount: float | None = Field(
        default=None, strict=True, allow_inf_nan=False, description="deal amount, >= 0"
    )
    propensity: float | None = Field(
        default=None,
        strict=True,
        allow_inf_nan=False,
        description="impressions a portal ranked itself: P(this asset in this slot), 0 < p <= 1",
    )
    propensity_shown: float | None = Field(
        default=None,
        strict=True,
        allow_inf_nan=False,
        description="impressions: P(this asset anywhere in the response), >= propensity",
    )


class EventsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class RejectedEvent(BaseModel):
    index: int = Field(description="0-based position of the event in the batch")
    error: str


class EventsResult(BaseModel):
    accepted: int = Field(description="events newly written (on disk before this response)")
    duplicates: int = Field(description="events whose event_id was already stored or repeated")
    rejected: list[RejectedEvent]
