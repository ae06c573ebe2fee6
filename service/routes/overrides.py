"""Channel manager overrides: list, create, remove (manager). They act from the next request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from service.deps import ManagerKeyDep, SnapshotDep, StateDep
from service.operations import overrides
from service.operations.audit import actor
from service.routes import ApiRoute
from service.schemas.common import API_RESPONSES, ErrorPublic
from service.schemas.overrides import OverrideCreate, OverridePublic, OverridesPublic

router = APIRouter(
    route_class=ApiRoute, prefix="/v1/overrides", tags=["overrides"], responses=API_RESPONSES
)

OverrideId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


@router.get("", response_model=OverridesPublic, summary="List overrides (manager)")
def list_overrides(
    state: StateDep,
    key: ManagerKeyDep,
    include_expired: Annotated[bool, Query(description="also those past their expiry")] = False,
) -> OverridesPublic:
    now = datetime.now(UTC)
    items = overrides.list_overrides(state, include_expired=include_expired)
    return OverridesPublic(data=[OverridePublic.of(o, now) for o in items], count=len(items))


@router.post(
    "",
    response_model=OverridePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Pin, boost or hide an asset for a partner, a segment or everyone (manager)",
    responses={404: {"model": ErrorPublic, "description": "the asset or partner is not known"}},
)
def create_override(
    body: OverrideCreate, state: StateDep, snapshot: SnapshotDep, key: ManagerKeyDep
) -> OverridePublic:
    """Store the override (audited) and swap in a snapshot that applies it."""
    now = datetime.now(UTC)
    override = overrides.create_override(state, snapshot, body, actor=actor(key), now=now)
    return OverridePublic.of(override, now)


@router.delete(
    "/{override_id}",
    status_code=204,
    summary="Remove an override (manager)",
    responses={404: {"model": ErrorPublic, "description": "no such override"}},
)
def delete_override(override_id: OverrideId, state: StateDep, key: ManagerKeyDep) -> Response:
    overrides.remove_override(state, override_id, actor=actor(key))
    return Response(status_code=204)
