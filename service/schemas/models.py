"""Model versions in the registry, and the result of promoting or rolling back."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ModelPublic(BaseModel):
    version: str
    created_at: str | None = None
    promoted: bool = Field(description="the registry's PROMOTED pointer names this version")
    serving: bool = Field(description="this worker's snapshot is scored by this version")
    metrics: dict[str, Any] = Field(default_factory=dict)


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int
    serving: str = Field(description="model version of the current snapshot ('playbook' = none)")


class ModelSwap(BaseModel):
    model_version: str = Field(description="the version now serving")
    previous: str = Field(description="the version that served before")
