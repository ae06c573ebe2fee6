"""/console/coverage: stage x maturity counts of eligible, well-scored assets, and the
localisation view: the families that lack a language, sortable (`analysis`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response

from features.schema import Language, values
from recommender import Snapshot
from service.console import analysis
from service.console.forms import vocab
from service.console.pages import SignedInDep, page_router, query, render

router = page_router()
LOCALISATION_ROWS = 100  # the families listed (the most pressing first, by the chosen sort)


def _asset_summary(snapshot: Snapshot, asset_id: str) -> dict[str, Any]:
    row = snapshot.catalog.asset(asset_id)

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    return {
        "asset_id": asset_id,
        "title": str(row.get("title", "")),
        "type": str(row.get("type", "")),
        "language": text(row.get("language")),
        "url": text(row.get("url")),
    }


@router.get("/coverage")
def coverage(page: SignedInDep) -> Response:
    p = query(page)
    snapshot = page.state.snapshot
    words = vocab(snapshot)
    language = p.choice("language", values(Language))
    industry = p.choice("industry", words["industries"])
    try:
        threshold = float(p.get("threshold", "") or analysis.DEFAULT_THRESHOLD)
    except ValueError:
        threshold = analysis.DEFAULT_THRESHOLD
    threshold = min(max(threshold, 0.0), 1.0)
    result = analysis.coverage(snapshot, language=language, industry=industry, threshold=threshold)
    cell = None
    raw_cell = p.get("cell", "") or ""
    if ":" in raw_cell:
        stage, maturity = raw_cell.split(":", 1)
        if (stage, maturity) in result.cells:
            cell = result.cell(stage, maturity)
    base = [
        (k, v)
        for k, v in (
            ("language", language),
            ("industry", industry),
            ("threshold", f"{threshold:g}"),
        )
        if v
    ]
    cell_urls = {
        key: "/console/coverage?" + urlencode([*base, ("cell", f"{key[0]}:{key[1]}")]) + "#cell"
        for key in result.cells
    }
    cell_assets = [_asset_summary(snapshot, a) for a in cell.asset_ids] if cell else []
    loc_sort = p.choice("loc_sort", list(analysis.LOCALISATION_SORTS)) or "partners"
    loc = analysis.localisation(
        snapshot, page.state.journal.pair_counts("impression"), sort=loc_sort
    )
    loc_urls = {
        key: "/console/coverage?"
        + urlencode([*base, *([("cell", raw_cell)] if cell else []), ("loc_sort", key)])
        + "#localisation"
        for key in analysis.LOCALISATION_SORTS
    }
    return render(
        page,
        "coverage.html",
        title=page.t("coverage.title"),
        vocab=words,
        cov=result,
        language=language,
        industry=industry,
        threshold=f"{threshold:g}",
        cell=cell,
        cell_assets=cell_assets,
        cell_urls=cell_urls,
        levels=("none", "thin", "fair", "good"),
        loc=loc,
        loc_rows=loc.rows[:LOCALISATION_ROWS],
        loc_urls=loc_urls,
    )
