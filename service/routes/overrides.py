"""Channel manager overrides: list, create, remove (manager). They act from the next request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from recommender import Snapshot
from service.deps import ManagerKeyDep, SnapshotDep, StateDep, actor
from service.schemas.common import API_RESPONSES, ErrorPublic
from service.schemas.overrides import OverrideCreate, OverridePublic, OverridesPublic
from service.state import ServiceState

router = APIRouter(prefix="/v1/overrides", tags=["overrides"], responses=API_RESPONSES)

OverrideId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _with_active_overrides(state: ServiceState):  # type: ignore[no-untyped-def]
    def rebuild(snapshot: Snapshot) -> Snapshot:
        return snapshot.with_changes(overrides=tuple(state.overrides.list(include_expired=False)))

    return rebuild


@router.get("", response_model=OverridesPublic, summary="List overrides (manager)")
def list_overrides(
    state: StateDep,
    key: ManagerKeyDep,
    include_expired: Annotated[bool, Query(description="also those past their expiry")] = False,
) -> OverridesPublic:
    now = datetime.now(UTC)
    items = state.overrides.list(include_expired=include_expired)
    return OverridesPublic(data=[OverridePublic.of(o, now) for o in items], count=len(items))


@router.post(
    "",
    response_model=OverridePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Pin, boost or hide an asset for a partner, a segment or everyone (manager)",
)
def create_override(
    body: OverrideCreate, state: StateDep, snapshot: SnapshotDep, key: ManagerKeyDep
) -> OverridePublic:
    """Store the override (audited) and swap in a snapshot that applies it."""
    problems = []
    if body.asset_id not in snapshot.catalog.positions:
        problems.append(("asset_id", f"asset {body.asset_id!r} is not in the catalog"))
    if body.partner_id is not None and body.partner_id not in snapshot.partners:
        problems.append(("partner_id", f"partner {body.partner_id!r} is not known"))
    now = datetime.now(UTC)
    if body.expires_at is not None and body.expires_at <= now:
        problems.append(("expires_at", "is in the past; an override must expire in the future"))
    if problems:
        raise HTTPException(
            status_code=422,
            detail=[
                {"loc": ["body", f], "field": f, "msg": m, "type": "value_error"}
                for f, m in problems
            ],
        )
    expires = (
        body.expires_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        if body.expires_at is not None
        else None
    )
    fields = {
        "action": body.action.value,
        "asset_id": body.asset_id,
        "scope": body.scope.value,
        "partner_id": body.partner_id,
        "tier": body.tier.value if body.tier else None,
        "maturity": body.maturity.value if body.maturity else None,
        "industry": body.industry,
        "boost": body.boost,
        "expires_at": expires,
        "comment": body.comment,
    }
    try:
        override = state.change(
            "override-add",
            lambda: state.overrides.add(actor=actor(key), **fields),
            _with_active_overrides(state),
        )
    except ValueError as exc:
        raise HTTPException(
            status_code=422,
            detail=[{"loc": ["body"], "field": None, "msg": str(exc), "type": "value_error"}],
        ) from None
    return OverridePublic.of(override, now)


@router.delete(
    "/{override_id}",
    status_code=204,
    summary="Remove an override (manager)",
    responses={404: {"model": ErrorPublic, "description": "no such override"}},
)
def delete_override(override_id: OverrideId, state: StateDep, key: ManagerKeyDep) -> Response:
    removed = state.change(
        "override-remove",
        lambda: state.overrides.remove(override_id, actor=actor(key)),
        _with_active_overrides(state),
    )
    if not removed:
        raise HTTPException(status_code=404, detail=f"override {override_id!r} not found")
    return Response(status_code=204)
