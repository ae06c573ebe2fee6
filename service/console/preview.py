"""/console/preview: a partner's deal -> the top-N exactly as POST /v1/recommendations answers.

The same request, validated by the API's own schema, answered by the API's own operation
(`service.operations.recommend`) on one snapshot: the one difference is deliberate, a preview
is not journaled as impressions (the partner did not see it).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

from recommender import Snapshot
from service.console.forms import DealForm, partner_pick, validate_body, vocab
from service.console.pages import Page, SignedInDep, page_router, query, render
from service.middleware import request_info
from service.operations.errors import OperationError
from service.operations.recommend import recommend
from service.schemas.recommendations import RecommendationRequest

router = page_router()


def preview_recommend(
    page: Page, snapshot: Snapshot, body: RecommendationRequest
) -> dict[str, Any]:
    """The response body POST /v1/recommendations gives for `body` on `snapshot`, under this
    request's id and not journaled. Raises `OperationError` as the API would."""
    info = request_info(page.request.scope)
    return recommend(
        page.state,
        snapshot,
        body,
        request_id=info.request_id if info is not None else None,
        journal=False,
    )


@router.get("/preview")
def preview(page: SignedInDep) -> Response:
    p = query(page)
    snapshot = page.state.snapshot
    pick = partner_pick(page, p, snapshot, "/console/preview")
    partner = pick["partner"]
    deal = DealForm.parse(p)
    errors: list[str] = []
    result = request_json = response_json = None
    if pick["unknown_partner"]:
        errors.append(page.t("partner.unknown", id=pick["unknown_partner"]))
    if partner is not None and deal.submitted:
        body = deal.body(partner.partner_id or "")
        parsed, errors = validate_body(page, body)
        if parsed is not None:
            try:
                result = preview_recommend(page, snapshot, parsed)
            except OperationError as exc:
                errors.append(exc.message)
            else:
                request_json = json.dumps(body, ensure_ascii=False, indent=2)
                response_json = json.dumps(result, ensure_ascii=False, indent=2)
    return render(
        page,
        "preview.html",
        title=page.t("preview.title"),
        pick=pick,
        deal=deal,
        vocab=vocab(snapshot),
        errors=errors,
        result=result,
        request_json=request_json,
        response_json=response_json,
    )
