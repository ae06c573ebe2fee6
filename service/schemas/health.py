"""Liveness and readiness."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    model_version: str
    assets: int
    partners: int
    snapshot_age_seconds: float
    warnings: list[str] = Field(
        default_factory=list, description="e.g. a model that failed to load"
    )
