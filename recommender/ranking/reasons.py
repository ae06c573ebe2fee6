"""Reasons: why each recommended item was chosen, derived from that item's own feature values
(and from the steering that placed it), never from a template per asset type."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from recommender.types import DealContext, PartnerProfile, Reason

_STAGE_LABEL = {
    "prospecting": "prospecting",
    "qualification": "qualification",
    "discovery": "discovery",
    "solution": "solution-design",
    "negotiation": "negotiation",
    "closing": "closing",
    "post_sale": "post-sale",
}


def _label(slug: str) -> str:
    return slug.replace("_", " ").replace("-", " ")


def _role_label(role: str) -> str:
    """'cio' -> 'CIO', 'technical_buyer' -> 'technical buyer'."""
    return role.upper() if len(role) <= 3 else _label(role)


def text_rank(semantic: np.ndarray, chosen: Sequence[int]) -> dict[int, bool]:
    """Which chosen items are among the closest to the notes (top third of candidates)."""
    if len(semantic) == 0:
        return {}
    # The 80th percentile (numpy's default "linear" quantile) from one partition: np.quantile
    # itself cost as much as scoring the candidates.
    k = 0.8 * (len(semantic) - 1)
    lo = int(np.floor(k))
    part = np.partition(semantic, (lo, min(lo + 1, len(semantic) - 1)))
    threshold = float(part[lo] + (k - lo) * (part[min(lo + 1, len(semantic) - 1)] - part[lo]))
    return {i: bool(semantic[i] >= threshold) for i in chosen}


ReasonRule = Callable[[dict[str, float], Any, DealContext, PartnerProfile], Reason | None]


def explain(
    f: dict[str, float],
    row: Any,
    context: DealContext,
    partner: PartnerProfile,
    *,
    text_top: bool = False,
    pinned: bool = False,
    boosted: bool = False,
    also_in: Sequence[str] = (),
    missing: str | None = None,
    asked: str | None = None,
    limit: int = 4,
) -> list[Reason]:
    """Reasons for one item, each derived from that item's own feature values, at most
    `limit`; then, for an asset in a language the partner does not read, the language it
    lacks (`missing`, a language code); then, for a family member, the other languages it is
    available in (`also_in`, language codes). `asked` labels what the notes ask for that an
    asset of this type answers ("a payback calculation")."""
    type_label = _label(str(row["type"]))
    stage_label = _STAGE_LABEL.get(context.stage, context.stage)
    reasons: list[Reason] = []
    if pinned:
        reasons.append(Reason("pinned", "Pinned by your channel manager"))
    if boosted:
        reasons.append(Reason("boosted", "Recommended by your channel manager"))
    if asked:
        reasons.append(Reason("asked", f"Your notes ask for {asked}"))
    if f.get("stage_tagged", 0) > 0:
        reasons.append(Reason("stage", f"Written for the {stage_label} stage"))
    elif f.get("prior_stage_type", 0) >= 0.8:
        reasons.append(
            Reason("playbook_stage", f"Playbook: a {type_label} fits the {stage_label} stage")
        )
    if f.get("competitor_match", 0) > 0:
        comp = next((c for c in context.competitors if c in (row.get("competitors") or [])), None)
        reasons.append(
            Reason("competitor", f"Positions us against {_label(comp or 'the competitor')}")
        )
    if f.get("industry_match", 0) > 0 and context.industry:
        reasons.append(
            Reason(
                "industry",
                f"{type_label.capitalize()} in {_label(context.industry)}, like this deal",
            )
        )
    if text_top and f.get("semantic", 0) > 0:
        reasons.append(Reason("notes", "Matches your notes"))
    if f.get("product_match", 0) > 0:
        prod = next((p for p in context.products if p in (row.get("products") or [])), None)
        if prod:
            reasons.append(Reason("product", f"Covers {_label(prod)}"))
    if f.get("won_rate", 0) > 0.5 and f.get("won_deals", 0) >= 2:
        reasons.append(Reason("won_with", "Used in deals that similar partners won"))
    if f.get("segment_popularity", 0) > 0.5:
        reasons.append(Reason("popular", "Popular with partners like you"))
    if f.get("maturity_tagged", 0) > 0 or f.get("prior_maturity_depth", 0) >= 0.85:
        reasons.append(Reason("maturity", f"Right depth for a {partner.maturity} partner"))
    if f.get("role_match", 0) > 0 and context.buyer_role:
        reasons.append(
            Reason(
                "buyer_role",
                f"Written for a {_role_label(context.buyer_role)} audience",
            )
        )
    if f.get("language_match", 0) > 0 and len(reasons) < limit:
        reasons.append(Reason("language", f"In your language ({row.get('language')})"))
    if not reasons:
        reasons.append(Reason("playbook", f"Playbook fit for {stage_label} deals"))
    reasons = reasons[:limit]
    if missing is not None:
        own = row.get("language")
        text = (
            f"No {language_name(missing)} version yet"
            if also_in or own is None
            else f"Only in {language_name(str(own))}; no {language_name(missing)} version yet"
        )
        reasons.append(Reason("unreadable", text))
    if also_in:
        reasons.append(Reason("also_in", f"Also in {_language_list(also_in)}"))
    return reasons


LANGUAGE_NAMES = {"en": "English", "uk": "Ukrainian", "ru": "Russian"}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def _language_list(codes: Sequence[str]) -> str:
    names = [language_name(c) for c in codes]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
