"""Dependencies shared by the routers, as `Annotated[..., Depends(...)]` aliases ending in `Dep`.

    def endpoint(state: StateDep, key: AdminKeyDep) -> ...

API keys come in `X-API-Key: <key>` or `Authorization: Bearer <key>`. Scopes are ordered
(portal < manager < admin): a request without a valid key gets 401, a valid key of too low a
scope 403, a key over its rate limit 429 with Retry-After. Only the key id is ever logged.
Every 401 and 403 is audited; a client address that made `auth_failure_burst` failed
attempts gets 429 with Retry-After, whatever key it sends, until it has earned one back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from recommender import KeyInfo, Snapshot, scope_allows
from recommender import KeyScope as Scope
from service.config import Settings
from service.logs import key_id_var
from service.middleware import client_address, request_info
from service.operations.audit import refuse
from service.state import ServiceState

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key (reco_<scope>_...)"
)
_bearer = HTTPBearer(auto_error=False, description="the API key as a bearer token")


async def get_state(request: Request) -> ServiceState:
    state = getattr(request.app.state, "service", None)
    if state is None:  # only before the lifespan ran or after it ended
        raise HTTPException(status_code=503, detail="the service is not ready")
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_snapshot(state: StateDep) -> Snapshot:
    """The snapshot this request reads from start to end (swaps do not affect it)."""
    return state.snapshot


SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]


async def get_settings_dep(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _require(needed: Scope):  # type: ignore[no-untyped-def]
    async def check(
        request: Request,
        api_key: Annotated[str | None, Security(_api_key_header)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    ) -> KeyInfo:
        # the state is read here, not declared as a dependency: FastAPI resolves each
        # declared one per request (with its cache key), which cost more than the check
        state = await get_state(request)
        address = client_address(request.scope)
        refused_for = state.auth_guard.wait(address)
        if refused_for > 0:  # before the key is looked at: guessing keys gets nowhere
            state.metrics.auth_failures.labels(status="429").inc()
            raise HTTPException(
                status_code=429,
                detail="too many failed authentications from this address; retry later",
                headers={"Retry-After": state.auth_guard.retry_after(refused_for)},
            )
        key = api_key or (bearer.credentials if bearer is not None else None)
        if not key:
            await _refuse(state, request, 401, "no API key")
            raise _unauthorized("an API key is required (X-API-Key header or Bearer token)")
        info = state.keys.verify(key)
        if info is None:
            await _refuse(state, request, 401, "invalid API key")
            raise _unauthorized("the API key is not valid (unknown, malformed or revoked)")
        key_id_var.set(info.key_id)
        current = request_info(request.scope)
        if current is not None:
            current.key_id = info.key_id
        if not scope_allows(info.scope, needed.value):
            await _refuse(state, request, 403, f"needs scope {needed.value}", info)
            raise HTTPException(
                status_code=403,
                detail=f"this key has scope {info.scope!r}; this operation needs {needed.value!r}",
            )
        wait = state.limiter.acquire(info.key_id)
        if wait > 0:
            state.metrics.rate_limited.inc()
            raise HTTPException(
                status_code=429,
                detail="rate limit exceeded for this key; retry later",
                headers={"Retry-After": state.limiter.retry_after(wait)},
            )
        return info

    check.__name__ = f"require_{needed.value}"
    return check


async def _refuse(
    state: ServiceState, request: Request, status: int, reason: str, key: KeyInfo | None = None
) -> None:
    """Count, audit (`api.unauthorized`, `api.forbidden`) and, for a 401, charge the
    client's address for a refused request (service.operations.audit.refuse)."""
    await run_in_threadpool(
        refuse,
        state,
        address=client_address(request.scope),
        method=request.method,
        path=request.url.path,
        status=status,
        action="api.unauthorized" if status == 401 else "api.forbidden",
        reason=reason,
        key=key,
    )


PortalKeyDep = Annotated[KeyInfo, Depends(_require(Scope.PORTAL))]
ManagerKeyDep = Annotated[KeyInfo, Depends(_require(Scope.MANAGER))]
AdminKeyDep = Annotated[KeyInfo, Depends(_require(Scope.ADMIN))]
