"""GET /r/{token}: follow a tracked link from a digest or a recommendation.

No API key: a partner's people click these in e-mails and portals. A genuine, unexpired token
records one `open` of its asset by its partner, tied to the digest or the request it came from
(the journal's `request_id`; a repeat click within the same minute is the same event), and
redirects (302) to the asset's URL as the catalog stores it now: the token names an asset,
never a URL, so nothing can make this an open redirect, and query parameters are ignored.
A forged or expired token, an asset that left the catalog or has no web address, get a short
page saying so (400, 410, 404) and record nothing.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from recommender import ExpiredLink, LinkError, click_event_id, web_url
from service.console.i18n import lang_from_accept
from service.deps import StateDep
from service.routes import ApiRoute
from service.state import ServiceState

log = logging.getLogger(__name__)

router = APIRouter(route_class=ApiRoute, tags=["links"])

PAGES = {
    "en": {
        "forged": ("This link is not valid", "It may have been copied incompletely or changed."),
        "expired": ("This link has expired", "Ask your channel manager for a fresh one."),
        "gone": ("This material is no longer available", "It was removed from the catalog."),
    },
    "uk": {
        "forged": ("Це посилання недійсне", "Можливо, його скопійовано не повністю або змінено."),
        "expired": ("Термін дії посилання минув", "Попросіть свого менеджера каналу про нове."),
        "gone": ("Цей матеріал більше недоступний", "Його прибрали з каталогу."),
    },
}
STATUS = {"forged": 400, "expired": 410, "gone": 404}


# Not in the API's OpenAPI document: people follow these links, programs do not call them.
@router.get("/r/{token}", include_in_schema=False)
async def follow(token: str, request: Request, state: StateDep) -> Response:
    now = datetime.now(UTC)
    lang = lang_from_accept(request.headers.get("accept-language"))
    try:
        claim = state.links.verify(token, now=now)
    except LinkError as exc:
        kind = "expired" if isinstance(exc, ExpiredLink) else "forged"
        state.metrics.tracked_links.labels(outcome=kind).inc()
        return _page(lang, kind)
    snapshot = state.snapshot
    position = snapshot.table.position.get(claim.asset_id)
    url = None if position is None else web_url(snapshot.display["url"][position])
    if url is None:
        state.metrics.tracked_links.labels(outcome="gone").inc()
        return _page(lang, "gone")
    if claim.partner_id in snapshot.partners:
        await run_in_threadpool(_record_open, state, token, claim.partner_id, claim.asset_id,
                                claim.source_id, now)  # fmt: skip
    state.metrics.tracked_links.labels(outcome="followed").inc()
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


def _record_open(
    state: ServiceState, token: str, partner_id: str, asset_id: str, source_id: str, at: datetime
) -> None:
    """The click as an `open` event, on disk before the redirect (durable, idempotent)."""
    event = {
        "event_id": click_event_id(token, at),
        "ts": at.isoformat(),
        "type": "open",
        "partner_id": partner_id,
        "asset_id": asset_id,
        "request_id": source_id,
    }
    result = state.journal.append([event])
    if result.rejected:
        log.warning("a tracked link's open was not recorded: %s", result.rejected[0][1])
        return
    state.seen.forget([partner_id])


def _page(lang: str, kind: str) -> HTMLResponse:
    title, detail = PAGES.get(lang, PAGES["en"])[kind]
    body = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body>"
        f"<main><h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p></main></body></html>"
    )
    return HTMLResponse(
        body,
        status_code=STATUS[kind],
        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'"},
    )
