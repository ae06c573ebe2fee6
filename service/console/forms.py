"""Form pieces several pages share: the deal form, the partner picker, errors by field label.

The console's forms are GET forms (every view is a shareable URL) whose values become the same
pydantic request the API validates (`RecommendationRequest`, `OverrideCreate`), so a value
the API refuses is refused here with the API's reason, next to the field's label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from features.schema import BuyerRole, Language, Maturity, Stage, Tier, values
from recommender import PartnerProfile, Snapshot, find_partners
from service.console.pages import Page, Params
from service.schemas.recommendations import RecommendationRequest

# A field of the API's request -> the label key the console shows it under.
FIELD_LABELS = {
    "stage": "field.stage",
    "industry": "field.industry",
    "products": "field.products",
    "buyer_role": "field.buyer_role",
    "notes": "field.notes",
    "n": "field.n",
    "partner_id": "partner.id",
    "maturity": "partner.maturity",
    "action": "steer.action",
    "asset_id": "steer.asset",
    "scope": "steer.scope",
    "tier": "steer.tier",
    "boost": "steer.boost",
    "expires_at": "steer.expires",
    "comment": "steer.comment",
}


def field_error(page: Page, error: Any) -> str:
    """One validation problem (pydantic's, or an operation's 422 item) as "Label: reason"."""
    loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
    name = next((p for p in reversed(loc) if p in FIELD_LABELS), None)
    msg = str(error.get("msg", ""))
    return f"{page.t(FIELD_LABELS[name])}: {msg}" if name else msg


@dataclass
class DealForm:
    """The deal context fields of the preview and compare pages."""

    stage: str = Stage.DISCOVERY.value
    industry: str | None = None
    products: list[str] = field(default_factory=list)
    buyer_role: str | None = None
    notes: str = ""
    n: int = 10
    submitted: bool = False

    @classmethod
    def parse(cls, p: Params) -> DealForm:
        """The form's fields from the query; the industry stays unset until the manager picks
        one (a partner's first industry is rarely the deal's)."""
        raw_n = p.get("n")
        try:
            n = int(raw_n) if raw_n else 10
        except ValueError:
            n = 10
        stage = p.get("stage")
        return cls(
            stage=stage if stage in values(Stage) else Stage.DISCOVERY.value,
            industry=p.get("industry") or None,
            products=p.getlist("products"),
            buyer_role=p.get("buyer_role"),
            notes=p.get("notes", "") or "",
            n=max(1, min(n, 50)),
            submitted=stage is not None,
        )

    def body(self, partner_id: str, **override: Any) -> dict[str, Any]:
        """The JSON body of POST /v1/recommendations for this deal (`stage`, `maturity`
        override the form's)."""
        context: dict[str, Any] = {"stage": override.get("stage", self.stage)}
        if self.industry:
            context["industry"] = self.industry
        if self.products:
            context["products"] = self.products
        if self.buyer_role:
            context["buyer_role"] = self.buyer_role
        if self.notes:
            context["notes"] = self.notes
        body: dict[str, Any] = {"partner_id": partner_id, "context": context, "n": self.n}
        if override.get("maturity"):
            body["partner"] = {"maturity": override["maturity"]}
        return body


def validate_body(
    page: Page, body: dict[str, Any]
) -> tuple[RecommendationRequest | None, list[str]]:
    """The API's request for `body`, or None and the problems by field label."""
    try:
        return RecommendationRequest.model_validate(body), []
    except ValidationError as exc:
        return None, [field_error(page, e) for e in exc.errors()]


def vocab(snapshot: Snapshot) -> dict[str, Any]:
    """The values the selects offer: the schema's enums and the catalog's vocabularies."""
    table = snapshot.table
    return {
        "stages": values(Stage),
        "maturities": values(Maturity),
        "tiers": values(Tier),
        "roles": values(BuyerRole),
        "languages": values(Language),
        "industries": list(table.industry_vocab),
        "products": list(table.product_vocab),
    }


def partner_pick(page: Page, p: Params, snapshot: Snapshot, action: str) -> dict[str, Any]:
    """The partner part of a page: the search, its matches (links), the chosen partner."""
    q = p.get("q", "") or ""
    partner_id = p.get("partner_id")
    partner = snapshot.partners.get(partner_id) if partner_id else None
    matches: list[tuple[PartnerProfile, str]] = []
    if q and partner is None:
        keep = [
            (k, v)
            for k, v in page.request.query_params.multi_items()
            if k not in ("q", "partner_id")
        ]
        for hit in find_partners(snapshot.partners, q, limit=20):
            url = f"{action}?{urlencode([('partner_id', hit.partner_id or ''), *keep])}"
            matches.append((hit, url))
    unknown = partner_id if partner_id and partner is None else None
    return {
        "q": q,
        "partner": partner,
        "matches": matches,
        "unknown_partner": unknown,
        "action": action,
    }
