"""POST /v1/recommendations: the top-n assets for a partner's deal, with reasons."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from recommender import (
    DealContext,
    Filters,
    Impression,
    KeyInfo,
    Recommendation,
    Recommender,
    Snapshot,
    UnknownPartnerError,
)
from service.deps import PortalKeyDep, SnapshotDep, StateDep
from service.middleware import request_info
from service.schemas.common import API_RESPONSES, ErrorPublic
from service.schemas.recommendations import RecommendationRequest, RecommendationsPublic
from service.state import ServiceState

router = APIRouter(prefix="/v1/recommendations", tags=["recommendations"], responses=API_RESPONSES)


def _context(body: RecommendationRequest) -> DealContext:
    c = body.context
    return DealContext(
        stage=c.stage.value,
        industry=c.industry,
        products=tuple(c.products),
        size=c.size,
        competitors=tuple(c.competitors),
        buyer_role=c.buyer_role.value if c.buyer_role else None,
        notes=c.notes,
        language=c.language.value if c.language else None,
        deal_id=c.deal_id,
    )


def _journal_impressions(
    state: ServiceState, snapshot: Snapshot, result: Recommendation, served_at: datetime
) -> None:
    """Queue one impression per item (0-based position) for the background writer."""
    writer = state.impressions
    if writer is None or not result.items:
        return
    partner_id = result.partner.partner_id
    if partner_id is None or partner_id not in snapshot.partners:
        # The journal keeps events of known partners only (training joins them to profiles).
        state.metrics.impressions.labels(outcome="skipped").inc(len(result.items))
        return
    records = [
        Impression(
            event_id=f"imp-{result.request_id}-{position}",
            ts=served_at,
            partner_id=partner_id,
            asset_id=item.asset_id,
            request_id=result.request_id,
            position=position,
            stage=result.context.stage,
            deal_id=result.context.deal_id,
        )
        for position, item in enumerate(result.items)
    ]
    writer.submit(records)
    state.metrics.impression_queue.set(writer.depth)


@router.post(
    "",
    response_model=RecommendationsPublic,
    summary="Recommend assets for a partner's deal",
    responses={404: {"model": ErrorPublic, "description": "unknown partner_id, no inline profile"}},
)
async def post_recommendations(
    body: RecommendationRequest,
    request: Request,
    state: StateDep,
    snapshot: SnapshotDep,
    key: PortalKeyDep,
) -> Response:
    """Top-n assets, best first, each with a score and the reasons it was chosen.

    The partner is the stored profile of `partner_id` merged with what `partner` states (the
    request wins); with only `partner`, an anonymous profile. Assets the partner already
    opened, downloaded or shared are demoted, or left out with `exclude_seen`. The response
    names the model version that served it; the impressions are journaled with their
    positions (0-based) under the response's `request_id`.
    """
    # Ranking is Python that holds the GIL (1-2 ms on the demo catalog, up to ~10 at 100k
    # assets): a thread would not run it beside the event loop, only add a hand-off and GIL
    # switches to every request, so it runs here.
    # Embedding a note the worker has not seen is ~5-15 ms of ONNX Runtime work that releases
    # the GIL: that part runs on an embedding thread, and the event loop serves others
    # meanwhile; ranking then finds the vector in the snapshot's query cache.
    text = _context(body).text
    if text is not None and text not in snapshot.query_cache:
        await anyio.to_thread.run_sync(
            snapshot.query_cache.embed, text, limiter=state.embed_limiter
        )
    return recommend(body, request, state, snapshot, key)


def recommend(
    body: RecommendationRequest,
    request: Request,
    state: ServiceState,
    snapshot: Snapshot,
    key: KeyInfo,
) -> Response:
    """The response POST /v1/recommendations gives for `body` on `snapshot` (synchronous: the
    endpoint calls it once the notes are embedded; the console's preview calls it directly,
    with a state whose `impressions` is None so that previews are not journaled)."""
    info = request_info(request.scope)
    payload = _serve(state, snapshot, body, info.request_id if info is not None else None)
    # orjson: a tenth of the stdlib encoder's time for this payload (scores are finite floats)
    return Response(
        orjson.dumps(payload),
        media_type="application/json",
        headers={"X-Model-Version": payload["model_version"]},
    )


def _serve(
    state: ServiceState, snapshot: Snapshot, body: RecommendationRequest, request_id: str | None
) -> dict[str, Any]:
    engine = Recommender(snapshot)  # resolve and rank against this one snapshot
    stated = body.partner.stated() if body.partner is not None else None
    try:
        partner = engine.resolve_partner(body.partner_id, stated)
    except UnknownPartnerError:
        raise HTTPException(
            status_code=404,
            detail=f"partner {body.partner_id!r} not found; send an inline 'partner' profile "
            "to get recommendations for a partner the service does not know",
        ) from None
    known = partner.partner_id in snapshot.partners
    seen = state.seen.get(partner.partner_id) if known else frozenset()
    filters = Filters(
        types=tuple(t.value for t in body.filters.types),
        languages=tuple(lang.value for lang in body.filters.languages),
        exclude_seen=body.exclude_seen,
    )
    now = datetime.now(UTC)
    started = time.perf_counter()
    result = engine.recommend(
        _context(body), partner, n=body.n, filters=filters, seen=seen, now=now, snapshot=snapshot
    )
    state.metrics.recommend_seconds.observe(time.perf_counter() - started)
    if request_id is not None:  # one id for the response, the log lines and the impressions
        result = dataclasses.replace(result, request_id=request_id)
    _journal_impressions(state, snapshot, result, now)
    return {
        "request_id": result.request_id,
        "model_version": result.model_version,
        "items": [item.to_dict() for item in result.items],
    }
