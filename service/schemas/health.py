"""Liveness and readiness."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str


class RebuildError(BaseModel):
    reason: str = Field(description="the error the build raised")
    failed_at: str = Field(description="when, ISO 8601 UTC")


class DatabaseStatus(BaseModel):
    backend: str = Field(description="'postgresql' (the embedded SQLite files are not listed)")
    url: str = Field(description="the database, without its password")
    reachable: bool
    error: str | None = Field(default=None, description="why not, when it is not")


class UsageStatus(BaseModel):
    events: int = Field(description="journal events the served usage features count")
    as_of: str | None = Field(description="the newest of them, ISO 8601 UTC (None: no event)")
    refreshed_at: str | None = Field(
        description="when a refresh last swapped them in without a new snapshot (None: never)"
    )
    error: str | None = Field(
        default=None, description="why the last refresh failed (the previous features serve)"
    )


class Readiness(BaseModel):
    status: str
    model_version: str
    assets: int
    partners: int
    snapshot_age_seconds: float
    warnings: list[str] = Field(
        default_factory=list, description="e.g. a model that failed to load"
    )
    rebuild_error: RebuildError | None = Field(
        default=None,
        description="the workspace changed and the snapshot for it could not be built: the "
        "previous snapshot keeps serving (still ready) until a build succeeds",
    )
    usage: UsageStatus | None = Field(
        default=None,
        description="the served model's usage features (None: the playbook reads no usage); "
        "they catch up with journaled events every `usage_refresh_seconds`",
    )
    database: DatabaseStatus | None = Field(
        default=None,
        description="the shared database, when the service uses one: while it is unreachable "
        "recommendations keep serving (still ready) and the routes that need it answer 503",
    )
