"""POST /v1/events: usage events from the portal, idempotent by event_id, durable on return."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import PortalKeyDep, SnapshotDep, StateDep
from service.routes import ApiRoute
from service.schemas.common import API_RESPONSES
from service.schemas.events import EventsCreate, EventsResult, RejectedEvent

router = APIRouter(
    route_class=ApiRoute, prefix="/v1/events", tags=["events"], responses=API_RESPONSES
)


@router.post(
    "",
    response_model=EventsResult,
    summary="Record a batch of usage events",
)
def post_events(
    body: EventsCreate, state: StateDep, snapshot: SnapshotDep, key: PortalKeyDep
) -> EventsResult:
    """Write the valid events of the batch, durably, before answering.

    Each event is checked on its own (the EVENTS contract, the fields its type needs, known
    asset and partner ids): invalid ones are listed by 0-based index with the reason and the
    others are written. An event_id already stored, or repeated in the batch, counts as a
    duplicate, so a client may safely retry a batch whose response it did not get.
    """
    assets, partners = state.known_ids(snapshot)
    records = [e.model_dump(exclude_none=True) for e in body.events]
    result = state.journal.append(records, known_assets=assets, known_partners=partners)
    rejected_at = {i for i, _ in result.rejected}
    state.seen.forget({r["partner_id"] for i, r in enumerate(records) if i not in rejected_at})
    m = state.metrics
    m.events.labels(outcome="accepted").inc(result.accepted)
    m.events.labels(outcome="duplicate").inc(result.duplicates)
    m.events.labels(outcome="rejected").inc(len(result.rejected))
    return EventsResult(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=[RejectedEvent(index=i, error=e) for i, e in result.rejected],
    )
