"""/console/models (admin): versions and their metrics, model cards, promote and roll back.

Listing, promoting and rolling back call the API's own operations (`service.operations.models`):
the same full build before the swap, the same audit entries as /v1/models.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse, Response

from features.schema import ID_PATTERN
from service.console.pages import (
    CARD_CSP,
    AdminDep,
    FormDep,
    PageError,
    page_router,
    query,
    redirect,
    render,
    security_headers,
)
from service.operations import models
from service.operations.audit import actor
from service.operations.errors import OperationError

router = page_router()

_VERSION = re.compile(ID_PATTERN)


@router.get("/models")
def models_page(page: AdminDep) -> Response:
    p = query(page)
    listing = models.list_models(page.state, page.state.snapshot)
    if p.get("promoted"):
        message = page.t(
            "models.promoted_msg", version=p.get("promoted"), previous=p.get("previous", "")
        )
        page.messages.append(("success", message))
    if p.get("rolled_back"):
        message = page.t(
            "models.rolled_back_msg", version=p.get("rolled_back"), previous=p.get("previous", "")
        )
        page.messages.append(("success", message))
    card = p.get("card")
    versions = [m.version for m in listing.data]
    has_card = {v: models.card_path(page.state.workspace, v) is not None for v in versions}
    return render(
        page,
        "models.html",
        title=page.t("models.title"),
        listing=listing,
        card=card if card in versions else None,
        has_card=has_card,
    )


@router.get("/models/{version}/card")
def model_card(page: AdminDep, version: str) -> Response:
    path = models.card_path(page.state.workspace, version) if _VERSION.match(version) else None
    if path is None:
        raise PageError(page, 404, page.t("models.no_card"))
    return security_headers(HTMLResponse(path.read_text(encoding="utf-8")), CARD_CSP)


@router.post("/models/promote")
def models_promote(page: AdminDep, form: FormDep) -> Response:
    assert page.user is not None
    version = form.get("version", "") or ""
    if not _VERSION.match(version):
        raise PageError(page, 404, page.t("error.not_found"))
    try:
        swap = models.promote(page.state, version, actor=actor(page.user.key))
    except OperationError as exc:
        raise PageError(
            page, exc.status_code, page.t("models.failed", detail=exc.message)
        ) from None
    query_string = urlencode({"promoted": swap.model_version, "previous": swap.previous})
    return redirect(f"/console/models?{query_string}")


@router.post("/models/rollback")
def models_rollback(page: AdminDep, form: FormDep) -> Response:
    assert page.user is not None
    try:
        swap = models.rollback(page.state, actor=actor(page.user.key))
    except OperationError as exc:
        raise PageError(
            page, exc.status_code, page.t("models.failed", detail=exc.message)
        ) from None
    query_string = urlencode({"rolled_back": swap.model_version, "previous": swap.previous})
    return redirect(f"/console/models?{query_string}")
