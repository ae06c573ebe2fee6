"""Recommend: the answer POST /v1/recommendations gives, journaled or not.

    payload = recommend(state, snapshot, body, request_id=rid)                 # the API
    payload = recommend(state, snapshot, body, request_id=rid, journal=False)  # a preview

The API journals the impressions it served (one event per item, 0-based position, under the
response's request id) so that later opens can be joined to positions, and serves a stored
partner inside the running experiment that holds it (recommender.experiments.live: the
impressions then name the experiment and each slot's arm or team, with the experiment's
propensities, and the response names the experiment); the console's preview
and compare do not (the partner did not see them, so they must not reach the training data).
Everything else is the same code: the partner resolution, the already-seen handling, the
ranking on the one snapshot the caller read, the metric of the time spent ranking.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

from recommender import (
    DealContext,
    Filters,
    Impression,
    Recommendation,
    Recommender,
    Snapshot,
    UnknownPartnerError,
    recommend_in_experiments,
)
from service.operations.errors import NotFound
from service.schemas.recommendations import RecommendationRequest
from service.state import ServiceState


def deal_context(body: RecommendationRequest) -> DealContext:
    """The engine's `DealContext` of a validated request."""
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


def recommend(
    state: ServiceState,
    snapshot: Snapshot,
    body: RecommendationRequest,
    *,
    request_id: str | None = None,
    journal: bool = True,
    base_url: str | None = None,
) -> dict[str, Any]:
    """The response body of POST /v1/recommendations for `body`, ranked on `snapshot`.

    `request_id` (the HTTP request's id) becomes the response's, so that the response, the
    log lines and the impressions share one id (it also seeds the exploration); None keeps
    the engine's own. With `journal` the slate explores as the settings say and its
    impressions are queued for the journal with their propensities. With the body's
    `tracked_links` (a stored partner), each item with a URL gets a `tracked_url` under
    `settings.public_url`, else `base_url` (the address the request came to). Raises
    `NotFound` for a `partner_id` the service does not know when no inline profile is given.
    """
    engine = Recommender(snapshot)  # resolve and rank against this one snapshot
    stated = body.partner.stated() if body.partner is not None else None
    try:
        partner = engine.resolve_partner(body.partner_id, stated)
    except UnknownPartnerError:
        raise NotFound(
            f"partner {body.partner_id!r} not found; send an inline 'partner' profile "
            "to get recommendations for a partner the service does not know"
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
    # Only what a partner sees explores: a preview shows a manager the ranking as it is.
    # Experiments too: a manager previews what the current model serves.
    exploration = state.exploration if journal else None
    result = recommend_in_experiments(
        engine, deal_context(body), partner, n=body.n, filters=filters, seen=seen, now=now,
        snapshot=snapshot, request_id=request_id, exploration=exploration,
        experiments=journal and known,
    )  # fmt: skip
    state.metrics.recommend_seconds.observe(time.perf_counter() - started)
    if journal:
        _journal_impressions(state, snapshot, result, now)
    items = [item.to_dict() for item in result.items]
    if body.tracked_links and known and base_url:
        root = (state.settings.public_url or base_url).rstrip("/")
        for item in items:
            if item["url"] is not None:
                token = state.links.token(
                    asset_id=item["asset_id"], partner_id=str(partner.partner_id),
                    source="request", source_id=result.request_id, now=now,
                )  # fmt: skip
                item["tracked_url"] = f"{root}/r/{token}"
    payload: dict[str, Any] = {
        "request_id": result.request_id,
        "model_version": result.model_version,
        "items": items,
    }
    if result.experiment is not None:
        payload["experiment"] = result.experiment
    return payload


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
            propensity=_known(item.propensity),
            propensity_shown=_known(item.propensity_shown),
            experiment=result.experiment,
            arm=item.arm,
        )
        for position, item in enumerate(result.items)
    ]
    writer.submit(records)
    state.metrics.impression_queue.set(writer.depth)


def _known(p: float) -> float | None:
    """A propensity, or None where the policy could not state it (NaN)."""
    return None if math.isnan(p) else p
