"""Partners: search (manager), read (portal), create/replace (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import JSONResponse

from features.schema import ID_PATTERN
from features.validation import SchemaError
from recommender import find_partners, upsert_partner
from service.deps import AdminKeyDep, ManagerKeyDep, PortalKeyDep, SnapshotDep, StateDep
from service.errors import schema_error_details
from service.operations.audit import actor
from service.operations.errors import Conflict
from service.routes import ApiRoute
from service.schemas.common import API_RESPONSES, ErrorPublic
from service.schemas.partners import PartnerPublic, PartnersPublic, PartnerUpsert

router = APIRouter(
    route_class=ApiRoute, prefix="/v1/partners", tags=["partners"], responses=API_RESPONSES
)

PartnerId = Annotated[str, Path(pattern=ID_PATTERN, description="the partner's id")]


@router.get("", response_model=PartnersPublic, summary="Search partners by id or name (manager)")
def search_partners(
    snapshot: SnapshotDep,
    key: ManagerKeyDep,
    q: Annotated[str, Query(max_length=200, description="part of the id or name")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> PartnersPublic:
    hits = find_partners(snapshot.partners, q, limit=limit)
    return PartnersPublic(data=[PartnerPublic.of(p) for p in hits], count=len(hits))


@router.get(
    "/{partner_id}",
    response_model=PartnerPublic,
    summary="Read one partner's profile",
    responses={404: {"model": ErrorPublic, "description": "no such partner"}},
)
def get_partner(partner_id: PartnerId, snapshot: SnapshotDep, key: PortalKeyDep) -> PartnerPublic:
    profile = snapshot.partners.get(partner_id)
    if profile is None:
        raise HTTPException(status_code=404, detail=f"partner {partner_id!r} not found")
    return PartnerPublic.of(profile)


@router.put(
    "/{partner_id}",
    response_model=PartnerPublic,
    summary="Create or replace a partner's profile (admin)",
    responses={
        201: {"description": "created", "model": PartnerPublic},
        409: {"model": ErrorPublic, "description": "the body's partner_id names another partner"},
    },
)
def put_partner(
    partner_id: PartnerId, body: PartnerUpsert, state: StateDep, key: AdminKeyDep
) -> JSONResponse:
    """Validate and store the profile; the next request sees it (200 replaced, 201 created)."""
    if body.partner_id is not None and body.partner_id != partner_id:
        raise Conflict(
            f"the body's partner_id {body.partner_id!r} differs from the path's {partner_id!r}"
        )
    record = body.model_dump(mode="json", exclude={"partner_id"})
    record["partner_id"] = partner_id
    existed = partner_id in state.snapshot.partners
    stored = {}

    def write() -> None:
        stored["profile"] = upsert_partner(state.workspace, record, source="request")
        state.overrides.audit(
            actor(key), "partner.put", partner_id, {"name": body.name, "new": not existed}
        )

    try:
        state.change(
            "partner-put",
            write,
            lambda snap: snap.with_changes(
                partners={**snap.partners, partner_id: stored["profile"]}
            ),
        )
    except SchemaError as exc:
        raise HTTPException(status_code=422, detail=schema_error_details(exc)) from None
    return JSONResponse(
        PartnerPublic.of(stored["profile"]).model_dump(mode="json"),
        status_code=200 if existed else 201,
    )
