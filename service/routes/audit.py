"""GET /v1/audit: the audit log, newest first (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.deps import AdminKeyDep, StateDep
from service.operations.audit import audit_log
from service.routes import ApiRoute
from service.schemas.audit import AuditEntry, AuditPublic
from service.schemas.common import API_RESPONSES

router = APIRouter(
    route_class=ApiRoute, prefix="/v1/audit", tags=["audit"], responses=API_RESPONSES
)


@router.get("", response_model=AuditPublic, summary="Who changed what, newest first (admin)")
def read_audit(
    state: StateDep,
    key: AdminKeyDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AuditPublic:
    entries = [AuditEntry.model_validate(e) for e in audit_log(state, limit=limit)]
    return AuditPublic(data=entries, count=len(entries))
