"""Model versions: list (manager), promote and roll back (admin), swapping without a restart.

The work (building the new snapshot fully before one reference is swapped, telling the other
workers, auditing) is `service.operations.models`; these routes validate and shape.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path

from service.deps import AdminKeyDep, ManagerKeyDep, SnapshotDep, StateDep
from service.operations import models
from service.operations.audit import actor
from service.routes import ApiRoute
from service.schemas.common import API_RESPONSES, ErrorPublic
from service.schemas.models import ModelPublic, ModelsPublic, ModelSwap

router = APIRouter(
    route_class=ApiRoute, prefix="/v1/models", tags=["models"], responses=API_RESPONSES
)

Version = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


@router.get("", response_model=ModelsPublic, summary="Model versions in the registry (manager)")
def list_models(state: StateDep, snapshot: SnapshotDep, key: ManagerKeyDep) -> ModelsPublic:
    """Every stored version, oldest first, with its headline metrics; which one the registry
    promotes and which one this worker serves."""
    listing = models.list_models(state, snapshot)
    data = [ModelPublic(**asdict(m)) for m in listing.data]
    return ModelsPublic(data=data, count=len(data), serving=listing.serving)


@router.post(
    "/{version}/promote",
    response_model=ModelSwap,
    summary="Promote a model version and serve it (admin)",
    responses={
        404: {"model": ErrorPublic, "description": "no such version"},
        409: {"model": ErrorPublic, "description": "the version cannot be loaded"},
    },
)
def promote(version: Version, state: StateDep, key: AdminKeyDep) -> ModelSwap:
    """Serve `version` from the next request on (in-flight requests finish on the old one)."""
    swap = models.promote(state, version, actor=actor(key))
    return ModelSwap(model_version=swap.model_version, previous=swap.previous)


@router.post(
    "/rollback",
    response_model=ModelSwap,
    summary="Go back to the previously promoted version (admin)",
    responses={409: {"model": ErrorPublic, "description": "nothing to roll back to"}},
)
def rollback(state: StateDep, key: AdminKeyDep) -> ModelSwap:
    """Serve the version promoted before the current one (or the playbook scorer if none)."""
    swap = models.rollback(state, actor=actor(key))
    return ModelSwap(model_version=swap.model_version, previous=swap.previous)
