"""The few things the service asks of the model registry (`recommender.storage.registry`).

Kept in one module so the routes do not depend on the registry's internals. When the learning
part is not installed, the registry is empty and the playbook scorer serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recommender import Workspace


class RegistryUnavailable(LookupError):
    """The learning part (recommender.storage.registry) is not installed."""


@dataclass(frozen=True)
class VersionInfo:
    version: str
    created_at: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RollbackTarget:
    """Where a rollback goes: a version, or `None` for no model (the playbook scorer)."""

    version: str | None


def _registry(workspace: Workspace) -> Any:
    try:
        from recommender import Registry
    except ImportError:
        return None
    return Registry.of(workspace)


def versions(workspace: Workspace) -> list[VersionInfo]:
    """Every version in the registry, oldest first."""
    registry = _registry(workspace)
    if registry is None:
        return []
    out = []
    for v in registry.versions():
        try:
            metrics = v.metrics() or {}
        except ValueError:  # an unreadable metrics.json does not hide the version
            metrics = {}
        out.append(VersionInfo(v.name, v.manifest.get("created_at"), _flat(metrics)))
    return out


def promoted(workspace: Workspace) -> str | None:
    registry = _registry(workspace)
    return None if registry is None else registry.promoted()


def promote(workspace: Workspace, version: str) -> None:
    """Move the registry's PROMOTED pointer to `version` (verifies the model file again)."""
    registry = _registry(workspace)
    if registry is None:
        raise RegistryUnavailable("no model registry is installed")
    registry.promote(version)


def rollback_target(workspace: Workspace) -> RollbackTarget | None:
    """Where `rollback` would go, without moving anything; None when no model is promoted."""
    registry = _registry(workspace)
    if registry is None:
        return None
    current = registry.promoted()
    if current is None:
        return None
    stack = list(registry.history()["stack"])
    while stack and stack[-1] != current:
        stack.pop()
    if stack:
        stack.pop()
    return RollbackTarget(stack[-1] if stack else None)


def rollback(workspace: Workspace) -> str | None:
    """Move PROMOTED back to the version before the current one; returns it (None: no model)."""
    registry = _registry(workspace)
    if registry is None:
        raise RegistryUnavailable("no model registry is installed")
    return registry.rollback()


def registry_errors() -> tuple[type[Exception], ...]:
    """Exceptions that mean "this registry operation cannot be done" (409 for the API)."""
    try:
        from recommender import ModelRegistryError
    except ImportError:
        return (RegistryUnavailable,)
    return (ModelRegistryError, RegistryUnavailable)


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


def damaged(workspace: Workspace, version: str) -> str | None:
    """Why `version` cannot be read, when its folder exists but its manifest is damaged."""
    registry = _registry(workspace)
    if registry is None:
        return None
    from recommender import ModelIntegrityError

    try:
        registry.get(version)
    except ModelIntegrityError as exc:
        return f"model version {version!r} is damaged: {exc}"
    except Exception:
        return None
    return None
