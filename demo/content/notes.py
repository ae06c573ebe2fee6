"""The CRM-style note of a generated deal, in the deal's language (deal-notes.yaml)."""

from __future__ import annotations

import random

from demo.content.phrases import industry_words, table
from demo.content.world import LANGUAGES

__all__ = ["deal_note"]


def deal_note(
    *,
    language: str,
    industry: str | None,
    products: list[str],
    competitors: list[str],
    buyer_role: str | None,
    size: float | None,
    rnd: random.Random,
) -> str:
    """A short CRM-style note about a deal, in `language`, naming its industry, product,
    competitor and what the buyer asks for."""
    notes, products_words = table("deal-notes"), table("products")
    lang = language if language in LANGUAGES else "en"
    ind = industry_words(industry, lang)
    product = (
        products_words[products[0]]["name"]
        if products and products[0] in products_words
        else "Stratosfera"
    )
    parts = [
        rnd.choice(notes["openings"])[lang].format(
            ind_name=ind["name"], ind_title=ind["title"], product=product, sites=rnd.randint(3, 60)
        )
    ]
    if competitors:
        name = table("competitors").get(competitors[0], {}).get("name", competitors[0])
        parts.append(rnd.choice(notes["competition"])[lang].format(competitor=name))
    if buyer_role in notes["needs"]:
        parts.append(notes["needs"][buyer_role][lang])
    if size is not None and rnd.random() < 0.6:
        parts.append(notes["budget"][lang].format(size=max(1, round(size / 1000))))
    return " ".join(parts)
