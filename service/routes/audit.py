"""GET /v1/audit: the audit log, newest first (admin)."""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query

from service.deps import AdminKeyDep, StateDep
from service.schemas.audit import AuditEntry, AuditPublic
from service.schemas.common import API_RESPONSES

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=API_RESPONSES)


def _detail(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


@router.get("", response_model=AuditPublic, summary="Who changed what, newest first (admin)")
def read_audit(
    state: StateDep,
    key: AdminKeyDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AuditPublic:
    rows = cast("list[dict[str, Any]]", state.overrides.audit_log(limit=limit))
    entries = [AuditEntry.model_validate({**r, "detail": _detail(r["detail"])}) for r in rows]
    return AuditPublic(data=entries, count=len(entries))
