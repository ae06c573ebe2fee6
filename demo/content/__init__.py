"""The demo's content: the committed catalog, partners and documents, and the builders the
generator uses to synthesize larger ones with the same distributions.

One fictional vendor, Stratosfera Systems (industrial IoT: gateways, SCADA, cloud, analytics),
sells ten products through partners in Ukraine, Poland, the Baltics, Moldova, DACH and CEE.
Its enablement catalog mixes Ukrainian, Russian and English assets of all sixteen asset types.

Everything is template-built from hand-written sentences in the three languages (real
Ukrainian and Russian, not transliteration), kept as data in demo/data/phrases/*.yaml, and a
seeded `random.Random`, so the same call always produces the same text. The templates avoid
inflecting a slot inside a sentence: brand names stay undeclined and industries appear either
in a fixed phrase ("для логістики") or in quotes («Логістика»), which keeps the generated
Ukrainian and Russian grammatical.

    world       ids and weights: products, competitors, industries, regions, languages
    phrases     reads and checks the phrase tables (data/phrases/*.yaml)
    catalog     asset rows: type profiles, titles and summaries (`build_assets`)
    partners    partner rows (`build_partners`)
    notes       the CRM note of a generated deal (`deal_note`)
    documents   the documents beside the catalog: md, txt, html, docx, pdf
    writer      `python -m demo.content`: (re)writes the committed demo data

Used twice:
- `python -m demo.content` writes demo/data/assets.jsonl, partners.csv and documents/ (the
  output is committed; re-running reproduces it);
- `demo.generator.generate` calls `build_assets` / `build_partners` / `deal_note` to
  synthesize larger catalogs, partner lists and deals with the same distributions.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from demo.content.catalog import FAQ_FILE, build_assets, faq_asset, word_count
from demo.content.notes import deal_note
from demo.content.partners import build_partners
from demo.content.phrases import industry_words, table
from demo.content.world import INDUSTRY_PRODUCTS, LANGUAGES, VENDOR
from demo.content.writer import DEMO_DIR, main, render_tables, write_demo

__all__ = [
    "COMPETITORS",
    "DEAL_NEEDS",
    "DEMO_DIR",
    "FAQ_FILE",
    "INDUSTRIES",
    "INDUSTRY_PRODUCTS",
    "LANGUAGES",
    "PRODUCTS",
    "VENDOR",
    "build_assets",
    "build_partners",
    "deal_note",
    "faq_asset",
    "industry_words",
    "main",
    "render_tables",
    "word_count",
    "write_demo",
]

# --- the phrase tables in the shapes this module exported before they became data ----------


@cache
def _products() -> dict[str, dict[str, str]]:
    return {
        slug: {"name": p["name"], **{lang: p["description"][lang] for lang in ("en", "uk", "ru")}}
        for slug, p in table("products").items()
    }


@cache
def _competitors() -> dict[str, dict[str, str]]:
    return {
        slug: {"name": c["name"], **{lang: c["profile"][lang] for lang in ("en", "uk", "ru")}}
        for slug, c in table("competitors").items()
    }


@cache
def _industries() -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for industry in table("industries")["industries"]:
        out[industry] = {}
        for lang in ("en", "uk", "ru"):
            words = industry_words(industry, lang)
            if lang != "en":  # only English has a name of its own
                del words["name"]
            out[industry][lang] = words
    return out


@cache
def _deal_needs() -> dict[str, dict[str, str]]:
    needs = table("deal-notes")["needs"]
    return {lang: {role: text[lang] for role, text in needs.items()} for lang in ("en", "uk", "ru")}


# Declared for type checkers and `__all__`; the values come from __getattr__ below.
PRODUCTS: dict[str, dict[str, str]]
COMPETITORS: dict[str, dict[str, str]]
INDUSTRIES: dict[str, dict[str, dict[str, Any]]]
DEAL_NEEDS: dict[str, dict[str, str]]
# name -> the view built on first use: {slug: {name, en, uk, ru}} for products (their
# description) and competitors (their profile), {industry: {lang: industry_words}},
# {lang: {buyer role: need}}
_VIEWS = {
    "PRODUCTS": _products,
    "COMPETITORS": _competitors,
    "INDUSTRIES": _industries,
    "DEAL_NEEDS": _deal_needs,
}


def __getattr__(name: str) -> Any:
    """PRODUCTS, COMPETITORS, INDUSTRIES and DEAL_NEEDS, read from the phrase tables on first
    use (PEP 562) in the shapes earlier callers index."""
    try:
        return _VIEWS[name]()
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
