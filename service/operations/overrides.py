"""Overrides: list, create and remove pins, boosts and hides (the API's and the console's).

A change is stored (and audited by the override store) and a snapshot applying the active
overrides is swapped in under the state's reload lock, so it acts from the next request in
this worker; other workers see the generation file and follow within about a second.
"""

from __future__ import annotations

from datetime import UTC, datetime

from recommender import Override, Snapshot
from service.operations.errors import Invalid, NotFound
from service.schemas.overrides import OverrideCreate
from service.state import ServiceState


def list_overrides(state: ServiceState, *, include_expired: bool = False) -> list[Override]:
    """The stored overrides, oldest first (with `include_expired`, those past expiry too)."""
    return state.overrides.list(include_expired=include_expired)


def _with_active_overrides(state: ServiceState, snapshot: Snapshot) -> Snapshot:
    return snapshot.with_changes(overrides=tuple(state.overrides.list(include_expired=False)))


def create_override(
    state: ServiceState,
    snapshot: Snapshot,
    body: OverrideCreate,
    *,
    actor: str,
    now: datetime | None = None,
) -> Override:
    """Store the override `actor` asks for and serve it from the next request.

    Raises `NotFound` when the asset is not in `snapshot`'s catalog or the partner is not
    known (ids that name nothing, as on every route), `Invalid` when the expiry is not after
    `now` or the store refuses the combination of fields.
    """
    now = now or datetime.now(UTC)
    if body.asset_id not in snapshot.catalog.positions:
        raise NotFound(f"asset {body.asset_id!r} is not in the catalog")
    if body.partner_id is not None and body.partner_id not in snapshot.partners:
        raise NotFound(f"partner {body.partner_id!r} is not known")
    problems: list[tuple[str | None, str]] = []
    if body.expires_at is not None and body.expires_at <= now:
        problems.append(("expires_at", "is in the past; an override must expire in the future"))
    if problems:
        raise Invalid(problems)
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
        return state.change(
            "override-add",
            lambda: state.overrides.add(actor=actor, **fields),
            lambda current: _with_active_overrides(state, current),
        )
    except ValueError as exc:
        raise Invalid([(None, str(exc))]) from None


def remove_override(state: ServiceState, override_id: str, *, actor: str) -> None:
    """Remove the override (audited) and stop serving it; `NotFound` when there is none."""
    removed = state.change(
        "override-remove",
        lambda: state.overrides.remove(override_id, actor=actor),
        lambda current: _with_active_overrides(state, current),
    )
    if not removed:
        raise NotFound(f"override {override_id!r} not found")
