"""Model versions: list, promote and roll back, swapping snapshots without a restart.

A promotion builds the new snapshot completely (the new model and its usage features; the
catalog and its index are those served, unless their files changed: `ServiceState.derive`)
before the registry's pointer moves and one reference is swapped: requests in flight
finish on the old snapshot, later ones get the new one, and none fails. If the build fails,
nothing changed. Other workers see the moved pointer and swap within about a second. Every
swap is audited (`model.promote`, `model.rollback`).

This is the one module of the service that reads the model registry
(`recommender.Registry`); the API's /v1/models routes and the console's models and compare
pages call it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender import (
    ModelIntegrityError,
    ModelRegistryError,
    Registry,
    Snapshot,
    Workspace,
)
from service.operations.errors import Conflict, NotFound
from service.state import ServiceState

log = logging.getLogger(__name__)

PLAYBOOK = "playbook"
"""The model version name of a snapshot scored without a model (the playbook prior)."""


@dataclass(frozen=True)
class ModelInfo:
    """One stored version as the listings show it."""

    version: str
    created_at: str | None = None
    promoted: bool = False  # the registry's PROMOTED pointer names it
    serving: bool = False  # the snapshot the caller read is scored by it
    metrics: dict[str, Any] = field(default_factory=dict)  # flat: "group.name" -> scalar


@dataclass(frozen=True)
class ModelListing:
    data: list[ModelInfo]
    serving: str  # the model version of the caller's snapshot (PLAYBOOK: none)


@dataclass(frozen=True)
class Swap:
    model_version: str  # serving now
    previous: str  # served before


def versions(workspace: Workspace) -> list[str]:
    """The names of the stored versions, oldest first."""
    return [v.name for v in Registry.of(workspace).versions()]


def list_models(state: ServiceState, snapshot: Snapshot) -> ModelListing:
    """Every stored version, oldest first, with its headline metrics; which one the registry
    promotes and which one `snapshot` is scored by."""
    registry = Registry.of(state.workspace)
    promoted = registry.promoted()
    serving = snapshot.model_version
    data = []
    for v in registry.versions():
        try:
            metrics = v.metrics() or {}
        except ValueError:  # an unreadable metrics.json does not hide the version
            metrics = {}
        data.append(
            ModelInfo(
                version=v.name,
                created_at=v.manifest.get("created_at"),
                promoted=v.name == promoted,
                serving=v.name == serving,
                metrics=_flat(metrics),
            )
        )
    return ModelListing(data=data, serving=serving)


def promote(state: ServiceState, version: str, *, actor: str) -> Swap:
    """Serve `version` from the next request on (in-flight requests finish on the old one).

    Raises `NotFound` for a version the registry does not hold, `Conflict` for one that is
    damaged or cannot be served (nothing changes then).
    """
    registry = Registry.of(state.workspace)
    with state.reload_lock:
        if version not in versions(state.workspace):
            damaged = _damaged(registry, version)
            if damaged is not None:
                raise Conflict(damaged)
            raise NotFound(f"model version {version!r} not found")
        swap = _swap(state, "promote", version, lambda: registry.promote(version))
        state.overrides.audit(actor, "model.promote", version, {"previous": swap.previous})
    return swap


def rollback(state: ServiceState, *, actor: str) -> Swap:
    """Serve the version promoted before the current one (or the playbook scorer if none);
    `Conflict` when no model is promoted."""
    registry = Registry.of(state.workspace)
    with state.reload_lock:
        target = _rollback_target(registry)
        if target is None:
            raise Conflict("no model is promoted; nothing to roll back")
        swap = _swap(state, "rollback", target.version, registry.rollback)
        state.overrides.audit(
            actor, "model.rollback", target.version or PLAYBOOK, {"previous": swap.previous}
        )
    return swap


def card_path(workspace: Workspace, version: str) -> Path | None:
    """The model card (HTML written by training) of `version`, if it has one."""
    try:
        path = Registry.of(workspace).get(version).card_path
    except (ModelRegistryError, OSError):  # not a version name, not stored, unreadable
        return None
    return path if path.is_file() else None


# --- internals -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _RollbackTarget:
    version: str | None  # None: no model (the playbook scorer)


def _rollback_target(registry: Registry) -> _RollbackTarget | None:
    """Where `rollback` would go, without moving anything; None when no model is promoted."""
    current = registry.promoted()
    if current is None:
        return None
    stack = list(registry.history()["stack"])
    while stack and stack[-1] != current:
        stack.pop()
    if stack:
        stack.pop()
    return _RollbackTarget(stack[-1] if stack else None)


def _swap(
    state: ServiceState, reason: str, target: str | None, move_pointer: Callable[[], Any]
) -> Swap:
    """Build for `target` (None = no model), move the registry's pointer, swap, tell the others."""
    try:
        snapshot = state.derive(model_version=target, use_model=target is not None)
    except ModelRegistryError as exc:
        raise Conflict(f"the model cannot be served: {exc}") from None
    except Exception as exc:  # the catalog, index, partners or playbook on disk
        log.exception("a %s cannot build its snapshot; nothing was changed", reason)
        raise Conflict(
            f"the workspace cannot be loaded, so nothing was changed (still serving "
            f"{state.recommender.snapshot.model_version}): {exc}"
        ) from None
    move_pointer()
    old = state.install(snapshot, reason)
    state.publish(reason)
    return Swap(model_version=snapshot.model_version, previous=old.model_version)


def _damaged(registry: Registry, version: str) -> str | None:
    """Why `version` cannot be read, when its folder exists but its manifest is damaged."""
    try:
        registry.get(version)
    except ModelIntegrityError as exc:
        return f"model version {version!r} is damaged: {exc}"
    except Exception:
        return None
    return None


def _flat(metrics: dict[str, Any]) -> dict[str, Any]:
    """Top-level scalar metrics, and scalars one level down as "group.name" (for listings)."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, (int, float, str, bool)) or value is None:
            out[key] = value
        elif isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, (int, float, str, bool)):
                    out[f"{key}.{sub}"] = inner
    return out
