"""Model versions: list (manager), promote and roll back (admin), swapping without a restart.

A promotion builds the new snapshot completely (catalog, index, the new model and its usage
features) before the registry's pointer moves and one reference is swapped: requests in flight
finish on the old snapshot, later ones get the new one, and none fails. If the build fails,
nothing changed. Other workers see the moved pointer and swap within about a second.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from service import registry_api
from service.deps import AdminKeyDep, ManagerKeyDep, SnapshotDep, StateDep, actor
from service.schemas.common import API_RESPONSES, ErrorPublic
from service.schemas.models import ModelPublic, ModelsPublic, ModelSwap
from service.state import ServiceState

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/models", tags=["models"], responses=API_RESPONSES)

Version = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
PLAYBOOK = "playbook"


@router.get("", response_model=ModelsPublic, summary="Model versions in the registry (manager)")
def list_models(state: StateDep, snapshot: SnapshotDep, key: ManagerKeyDep) -> ModelsPublic:
    """Every stored version, oldest first, with its headline metrics; which one the registry
    promotes and which one this worker serves."""
    versions = registry_api.versions(state.workspace)
    promoted = registry_api.promoted(state.workspace)
    serving = snapshot.model_version
    data = [
        ModelPublic(
            version=v.version,
            created_at=v.created_at,
            promoted=v.version == promoted,
            serving=v.version == serving,
            metrics=v.metrics,
        )
        for v in versions
    ]
    return ModelsPublic(data=data, count=len(data), serving=serving)


def _swap(state: ServiceState, reason: str, target: str | None, move_pointer) -> ModelSwap:  # type: ignore[no-untyped-def]
    """Build for `target` (None = no model), move the registry's pointer, swap, tell the others."""
    try:
        snapshot = state.build(model_version=target, use_model=target is not None)
    except registry_api.registry_errors() as exc:
        raise HTTPException(status_code=409, detail=f"the model cannot be served: {exc}") from None
    except Exception as exc:  # the catalog, index, partners or playbook on disk
        log.exception("a %s cannot build its snapshot; nothing was changed", reason)
        raise HTTPException(
            status_code=409,
            detail=f"the workspace cannot be loaded, so nothing was changed (still serving "
            f"{state.recommender.snapshot.model_version}): {exc}",
        ) from None
    move_pointer()
    old = state.install(snapshot, reason)
    state.publish(reason)
    return ModelSwap(model_version=snapshot.model_version, previous=old.model_version)


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
    with state.reload_lock:
        if version not in {v.version for v in registry_api.versions(state.workspace)}:
            damaged = registry_api.damaged(state.workspace, version)
            if damaged is not None:
                raise HTTPException(status_code=409, detail=damaged)
            raise HTTPException(status_code=404, detail=f"model version {version!r} not found")
        result = _swap(
            state, "promote", version, lambda: registry_api.promote(state.workspace, version)
        )
        state.overrides.audit(actor(key), "model.promote", version, {"previous": result.previous})
    return result


@router.post(
    "/rollback",
    response_model=ModelSwap,
    summary="Go back to the previously promoted version (admin)",
    responses={409: {"model": ErrorPublic, "description": "nothing to roll back to"}},
)
def rollback(state: StateDep, key: AdminKeyDep) -> ModelSwap:
    """Serve the version promoted before the current one (or the playbook scorer if none)."""
    with state.reload_lock:
        target = registry_api.rollback_target(state.workspace)
        if target is None:
            raise HTTPException(
                status_code=409, detail="no model is promoted; nothing to roll back"
            )
        result = _swap(
            state, "rollback", target.version, lambda: registry_api.rollback(state.workspace)
        )
        state.overrides.audit(
            actor(key),
            "model.rollback",
            target.version or PLAYBOOK,
            {"previous": result.previous},
        )
    return result
