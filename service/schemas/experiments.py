"""Online experiments: what creating one takes, and how one (and its report) comes back."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.schemas.common import Id


class ExperimentIn(BaseModel):
    """A new experiment between two model versions (`playbook`: the playbook scorer)."""

    model_config = ConfigDict(extra="forbid")

    name: Id
    control: Id = Field(description="the version most partners see now (often the promoted one)")
    treatment: Id = Field(description="the version under test")
    method: Literal["interleave", "ab"]
    share: float = Field(
        default=0.5, gt=0, lt=1, allow_inf_nan=False,
        description="A/B: the treatment's share of partners",
    )  # fmt: skip
    segment: str = Field(
        default="", max_length=500,
        description="partners in the experiment, e.g. 'tier=gold,maturity=new|developing'; "
        "empty: every partner",
    )  # fmt: skip
    comment: str = Field(default="", max_length=500)


class ExperimentPublic(BaseModel):
    name: str
    control: str
    treatment: str
    method: str
    share: float
    segment: dict[str, list[str]]
    status: Literal["running", "stopped"]
    serving: bool = Field(description="this worker serves it (false: stopped, or a model failed)")
    created_at: str
    created_by: str
    stopped_at: str | None = None
    stopped_by: str | None = None
    promoted: str | None = Field(default=None, description="version promoted when it stopped")
    comment: str = ""


class ExperimentsPublic(BaseModel):
    data: list[ExperimentPublic]
    count: int


class ExperimentReport(BaseModel):
    """The report (`recommender experiments report NAME --json` prints the same)."""

    model_config = ConfigDict(extra="allow")

    experiment: dict[str, Any]
    method: str
    requests: int
    partners: int
    impressions: int
    winner: Literal["control", "treatment"] | None
    winner_version: str | None
    decision: str
    cumulative: list[dict[str, Any]]


class WinnerPromoted(BaseModel):
    experiment: ExperimentPublic
    model_version: str = Field(description="the winning version, now serving")
