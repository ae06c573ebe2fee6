"""/console/portfolio and /console/digest: a manager's partners at a glance, and digests.

    GET  /console/portfolio       one row per partner of a manager (all partners: no manager),
                                  filtered (tier, maturity, language, name) and sorted
    GET  /console/portfolio.csv   the same rows as CSV
    GET  /console/digest          the digests of a partner or of a manager's partners (preview,
                                  nothing recorded)
    POST /console/digest          record them as sent and download them (html, md or json)

The portfolio is as of today, or of `as_of` (a day): when the journal's newest event is more
than 30 days old (a demo workspace, a replayed export) the page says so and links to the
portfolio as of that day.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from features.schema import Language, Maturity, Tier, values
from recommender import (
    DIGEST_FORMATS,
    PartnerProfile,
    PortfolioRow,
    Snapshot,
    manager_names,
    partners_of,
    render_digests,
)
from service.console.charts import sparkline
from service.console.forms import partner_pick
from service.console.pages import (
    FormDep,
    Page,
    Params,
    SignedInDep,
    page_router,
    query,
    render,
    security_headers,
)
from service.operations import outreach
from service.operations.audit import actor

router = page_router()

# sort key -> the row's value to sort by
SORTS: dict[str, Any] = {
    "name": lambda r: r.name.casefold(),
    "tier": lambda r: values(Tier).index(r.tier),
    "maturity": lambda r: values(Maturity).index(r.maturity),
    "engaged_30d": lambda r: r.engaged_30d,
    "engaged_90d": lambda r: r.engaged_90d,
    "open_deals": lambda r: r.open_deal_count,
    "never_opened": lambda r: r.never_opened,
    "last_activity": lambda r: r.last_activity or datetime.min.replace(tzinfo=UTC),
    "last_digest": lambda r: (
        (r.last_digest.opened / r.last_digest.sent)
        if r.last_digest and r.last_digest.sent
        else -1.0
    ),
}
MEDIA = {"html": "text/html", "md": "text/markdown", "json": "application/json"}


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _selection(page: Page, p: Params, snapshot: Snapshot) -> dict[str, Any]:
    """The portfolio's filters and sort from the query string (unknown values ignored)."""
    managers = manager_names(snapshot.partners)
    assert page.user is not None
    own = page.user.key.name if page.user.key.name in managers else None
    manager = p.get("manager", own or "") or None
    if manager not in managers:
        manager = None
    sort = p.choice("sort", list(SORTS), "name")
    return {
        "managers": managers,
        "manager": manager,
        "tier": p.choice("tier", values(Tier)),
        "maturity": p.choice("maturity", values(Maturity)),
        "language": p.choice("language", values(Language)),
        "q": (p.get("q", "") or "").strip(),
        "sort": sort,
        "order": p.choice("order", ["asc", "desc"], "asc"),
        "as_of": _day(p.get("as_of")),
    }


def _chosen(snapshot: Snapshot, sel: dict[str, Any]) -> list[PartnerProfile]:
    q = sel["q"].casefold()
    return [
        partner
        for partner in partners_of(snapshot.partners, sel["manager"])
        if (sel["tier"] is None or partner.tier == sel["tier"])
        and (sel["maturity"] is None or partner.maturity == sel["maturity"])
        and (sel["language"] is None or sel["language"] in partner.languages)
        and (
            not q
            or q in (partner.name or "").casefold()
            or q in (partner.partner_id or "").casefold()
        )
    ]


def _rows(page: Page, sel: dict[str, Any]) -> tuple[list[PortfolioRow], datetime]:
    snapshot = page.state.snapshot
    now = datetime.now(UTC)
    as_of = (
        datetime.combine(sel["as_of"], time.max, tzinfo=UTC) if sel["as_of"] is not None else now
    )
    rows = outreach.portfolio_rows(page.state, snapshot, _chosen(snapshot, sel), as_of)
    key = SORTS[sel["sort"]]
    rows.sort(key=lambda r: (key(r), r.name.casefold()), reverse=sel["order"] == "desc")
    return rows, as_of


def _params(sel: dict[str, Any], **changes: Any) -> list[tuple[str, str]]:
    merged = {**sel, **changes}
    keep = ("manager", "tier", "maturity", "language", "q", "sort", "order", "as_of")
    return [(k, str(merged[k])) for k in keep if merged.get(k) not in (None, "")]


@router.get("/portfolio")
async def portfolio_page(page: SignedInDep) -> Response:
    snapshot = page.state.snapshot
    sel = _selection(page, query(page), snapshot)
    rows, as_of = await run_in_threadpool(_rows, page, sel)
    behind = None
    if sel["as_of"] is None:
        behind = outreach.journal_behind(page.state, datetime.now(UTC))
    sort_urls = {
        key: "/console/portfolio?" + urlencode(_params(
            sel, sort=key, order="desc" if sel["sort"] == key and sel["order"] == "asc" else "asc"
        ))
        for key in SORTS
    }  # fmt: skip
    return render(
        page,
        "portfolio.html",
        title=page.t("portfolio.title"),
        sel=sel,
        rows=rows,
        lines={r.partner_id: sparkline(r.weekly) for r in rows},
        as_of=as_of,
        behind=behind,
        behind_url="/console/portfolio?"
        + urlencode(_params(sel, as_of=behind.date().isoformat() if behind else None)),
        csv_url="/console/portfolio.csv?" + urlencode(_params(sel)),
        sort_urls=sort_urls,
        vocab={
            "tiers": values(Tier),
            "maturities": values(Maturity),
            "languages": values(Language),
        },
    )


@router.get("/portfolio.csv")
async def portfolio_csv(page: SignedInDep) -> Response:
    sel = _selection(page, query(page), page.state.snapshot)
    rows, as_of = await run_in_threadpool(_rows, page, sel)
    out = io.StringIO()
    records = [r.to_record() for r in rows]
    columns = list(records[0]) if records else list(PortfolioRow.__dataclass_fields__)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    name = f"portfolio-{as_of:%Y-%m-%d}.csv"
    return security_headers(
        Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    )


# --- digests ----------------------------------------------------------------------------------
def _digest_request(page: Page, p: Params, snapshot: Snapshot) -> dict[str, Any]:
    """Who the digest is for (one partner, or a manager's partners) and how."""
    pick = partner_pick(page, p, snapshot, "/console/digest")
    managers = manager_names(snapshot.partners)
    manager = p.get("manager")
    manager = manager if manager in managers else None
    try:
        n = min(max(int(p.get("n", "5") or 5), 1), 20)
    except ValueError:
        n = 5
    partners: list[PartnerProfile] = []
    if pick["partner"] is not None:
        partners = [pick["partner"]]
    elif manager is not None:
        partners = partners_of(snapshot.partners, manager)
    since = _day(p.get("since"))
    return {
        "pick": pick,
        "managers": managers,
        "manager": manager if pick["partner"] is None else None,
        "partners": partners,
        "n": n,
        "since": since,
        "format": p.choice("format", list(DIGEST_FORMATS), "html"),
    }


def _build(page: Page, request: Request, req: dict[str, Any]) -> list[Any]:
    since = req["since"]
    return outreach.make_digests(
        page.state,
        page.state.snapshot,
        req["partners"],
        base_url=str(request.base_url),
        since=datetime.combine(since, time.min, tzinfo=UTC) if since else None,
        n=req["n"],
    )


@router.get("/digest")
async def digest_page(request: Request, page: SignedInDep) -> Response:
    snapshot = page.state.snapshot
    req = _digest_request(page, query(page), snapshot)
    digests = await run_in_threadpool(_build, page, request, req) if req["partners"] else []
    return render(
        page,
        "digest.html",
        title=page.t("digest.title"),
        req=req,
        digests=digests,
        markdown=render_digests(digests, "md") if digests else "",
        formats=DIGEST_FORMATS,
    )


@router.post("/digest")
async def digest_send(request: Request, page: SignedInDep, form: FormDep) -> Response:
    snapshot = page.state.snapshot
    req = _digest_request(page, form, snapshot)
    if not req["partners"]:
        page.messages.append(("error", page.t("digest.nobody")))
        return render(page, "digest.html", status=422, title=page.t("digest.title"), req=req,
                      digests=[], markdown="", formats=DIGEST_FORMATS)  # fmt: skip
    digests = await run_in_threadpool(_build, page, request, req)
    assert page.user is not None
    fmt = req["format"]
    await run_in_threadpool(
        outreach.record_sent, page.state, digests, actor=actor(page.user.key), fmt=fmt
    )
    who = req["pick"]["partner"].partner_id if req["pick"]["partner"] else req["manager"]
    slug = "".join(c if c.isalnum() else "-" for c in str(who)).strip("-").lower() or "digest"
    name = f"digest-{slug}-{datetime.now(UTC):%Y-%m-%d}.{fmt}"
    return security_headers(
        Response(
            render_digests(digests, fmt),
            media_type=f"{MEDIA[fmt]}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    )
