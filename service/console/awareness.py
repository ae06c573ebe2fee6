"""/console/awareness: relevant assets a partner never opened (`analysis.awareness`)."""

from __future__ import annotations

from fastapi.responses import Response

from service.console import analysis
from service.console.forms import partner_pick
from service.console.pages import SignedInDep, page_router, query, render

router = page_router()


@router.get("/awareness")
def awareness(page: SignedInDep) -> Response:
    snapshot = page.state.snapshot
    pick = partner_pick(page, query(page), snapshot, "/console/awareness")
    partner = pick["partner"]
    errors: list[str] = []
    if pick["unknown_partner"]:
        errors.append(page.t("partner.unknown", id=pick["unknown_partner"]))
    items: list[analysis.AwareItem] = []
    opened: frozenset[str] = frozenset()
    contexts = 0
    if partner is not None:
        opened = page.state.seen.get(partner.partner_id)
        items, contexts = analysis.awareness(snapshot, partner, opened)
    return render(
        page,
        "awareness.html",
        title=page.t("awareness.title"),
        pick=pick,
        errors=errors,
        items=items,
        opened=len(opened),
        contexts=contexts,
    )
