"""POST /v1/recommendations: the top-n assets for a partner's deal, with reasons."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.deps import PortalKeyDep, get_state
from service.middleware import request_info
from service.operations.recommend import deal_context, recommend
from service.routes import ApiRoute
from service.schemas.common import API_RESPONSES, ErrorPublic
from service.schemas.recommendations import RecommendationRequest, RecommendationsPublic

router = APIRouter(
    route_class=ApiRoute,
    prefix="/v1/recommendations",
    tags=["recommendations"],
    responses=API_RESPONSES,
)


@router.post(
    "",
    response_model=RecommendationsPublic,
    summary="Recommend assets for a partner's deal",
    responses={404: {"model": ErrorPublic, "description": "unknown partner_id, no inline profile"}},
)
async def post_recommendations(
    body: RecommendationRequest,
    request: Request,
    key: PortalKeyDep,
) -> Response:
    """Top-n assets, best first, each with a score and the reasons it was chosen.

    The partner is the stored profile of `partner_id` merged with what `partner` states (the
    request wins); with only `partner`, an anonymous profile. Assets the partner already
    opened, downloaded or shared are demoted, or left out with `exclude_seen`. The response
    names the model version that served it; the impressions are journaled with their
    positions (0-based) under the response's `request_id`.
    """
    # The state and the snapshot this request reads from start to end (a swap does not
    # affect it) are taken here rather than declared as dependencies: FastAPI resolves
    # each declared dependency per request, which cost this route ~0.1 ms.
    state = await get_state(request)
    snapshot = state.snapshot
    # Ranking is Python that holds the GIL (1-2 ms on the demo catalog, up to ~10 at 100k
    # assets): a thread would not run it beside the event loop, only add a hand-off and GIL
    # switches to every request, so it runs here.
    # Embedding a note the worker has not seen is ~3-8 ms of ONNX Runtime work that releases
    # the GIL: the worker's note embedder (recommender.embedding.notes) does it on a thread of
    # its own with the notes of concurrent requests, the event loop serves others meanwhile,
    # and ranking then finds the vector in the snapshot's query cache.
    text = deal_context(body).text
    if text is not None and text not in snapshot.query_cache:
        await state.notes.embed(snapshot.query_cache, text)
    info = request_info(request.scope)
    payload = recommend(
        state,
        snapshot,
        body,
        request_id=info.request_id if info is not None else None,
        base_url=str(request.base_url) if body.tracked_links else None,
    )
    # orjson: a tenth of the stdlib encoder's time for this payload (scores are finite floats)
    return Response(
        orjson.dumps(payload),
        media_type="application/json",
        headers={"X-Model-Version": payload["model_version"]},
    )
