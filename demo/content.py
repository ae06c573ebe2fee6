"""Deterministic builder of the committed demo catalog: assets, partners and documents.

One fictional vendor, Stratosfera Systems (industrial IoT: gateways, SCADA, cloud, analytics),
sells ten products through partners in Ukraine, Poland, the Baltics, Moldova, DACH and CEE.
Its enablement catalog mixes Ukrainian, Russian and English assets of all sixteen asset types.

Everything here is template-built from hand-written sentences in the three languages (real
Ukrainian and Russian, not transliteration), kept as data in data/phrases/*.yaml (demo.phrases
reads and checks them), and a seeded `random.Random`, so the same call always produces the
same text. The templates avoid inflecting a slot inside a sentence: brand names stay
undeclined and industries appear either in a fixed phrase ("для логістики") or in quotes
(«Логістика»), which keeps the generated Ukrainian and Russian grammatical.

Used twice:
- `python -m demo.content` writes data/demo/assets.jsonl, partners.csv and
  documents/ (run once; the output is committed; re-running reproduces it);
- `demo.generator.generate` calls `build_assets` / `build_partners` to synthesize larger
  catalogs and partner lists with the same distributions.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import shutil
import textwrap
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from demo import DEMO_DATA
from demo.phrases import industry_words, table
from demo.world import (
    COMPETITOR_IDS,
    INDUSTRY_PRODUCTS,
    INDUSTRY_WEIGHTS,
    LANGUAGE_REGIONS,
    LANGUAGES,
    PRODUCT_IDS,
    URL_PREFIX,
    VENDOR,
)
from features.schema import AssetType, Depth, Maturity, Stage, rank

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

DEMO_DIR = DEMO_DATA
# The Ukrainian FAQ the product grew from, kept byte for byte in the demo's documents.
FAQ_FILE = "partner-enablement-faq.uk.txt"
DEMO_SEED = 2026
DEMO_ASSETS = 320
DEMO_PARTNERS = 160
# The default generator window (GeneratorConfig.start/days): demo publish dates are spread
# around it so that some assets are "cold" (published in its last 20%).
DEMO_WINDOW_START = "2025-01-01"
DEMO_WINDOW_DAYS = 365
MIN_SUMMARY_WORDS = 40
MAX_SUMMARY_WORDS = 150


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


# --- deal notes (used by demo.generator) ------------------------------------------------------


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


# --- asset profiles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """How an asset type is usually tagged: stage probabilities, depths, roles, and so on."""

    weight: float
    stages: dict[str, float]
    any_stage: float
    depths: dict[str, float]
    roles: tuple[str, ...]
    generic_industry: float
    min_tier: dict[str, float] = field(default_factory=dict)


_PROFILES: dict[str, _Profile] = {
    "white_paper": _Profile(8, {"prospecting": 0.9, "qualification": 0.6, "discovery": 0.4},
                            0.08, {"basic": 0.5, "intermediate": 0.5},
                            ("cio", "business_owner", "cto"), 0.3),
    "article": _Profile(6, {"prospecting": 0.95, "qualification": 0.5}, 0.1,
                        {"basic": 0.8, "intermediate": 0.2}, ("business_owner", "cio"), 0.35),
    "case_study": _Profile(12, {"discovery": 0.7, "solution": 0.8, "negotiation": 0.4,
                                "qualification": 0.2}, 0.05,
                           {"intermediate": 0.7, "advanced": 0.3},
                           ("business_owner", "cfo", "cio", "technical_buyer"), 0.0),
    "roi_calculator": _Profile(6, {"solution": 0.8, "negotiation": 0.9, "discovery": 0.2}, 0.0,
                               {"intermediate": 0.6, "advanced": 0.4},
                               ("cfo", "business_owner"), 0.3),
    "tco_calculator": _Profile(4, {"negotiation": 0.9, "solution": 0.6, "closing": 0.3}, 0.0,
                               {"intermediate": 0.4, "advanced": 0.6},
                               ("cfo", "procurement", "cio"), 0.4),
    "tech_commercial_calculator": _Profile(4, {"solution": 0.95, "negotiation": 0.6}, 0.0,
                                           {"advanced": 0.5, "expert": 0.5},
                                           ("technical_buyer", "cto"), 0.5,
                                           {"gold": 0.3, "platinum": 0.25}),
    "battlecard": _Profile(7, {"qualification": 0.6, "discovery": 0.5, "negotiation": 0.8},
                           0.0, {"intermediate": 0.5, "advanced": 0.5},
                           ("cio", "cto", "procurement"), 0.6),
    "datasheet": _Profile(9, {"discovery": 0.8, "qualification": 0.5, "solution": 0.5}, 0.2,
                          {"basic": 0.6, "intermediate": 0.4},
                          ("technical_buyer", "cto", "end_user"), 0.7),
    "presentation": _Profile(8, {"prospecting": 0.7, "qualification": 0.7, "discovery": 0.5},
                             0.1, {"basic": 0.5, "intermediate": 0.5},
                             ("business_owner", "cio", "cfo"), 0.3),
    "webinar": _Profile(6, {"prospecting": 0.6, "discovery": 0.5, "post_sale": 0.3}, 0.2,
                        {"basic": 0.4, "intermediate": 0.5, "advanced": 0.1},
                        ("cio", "technical_buyer", "end_user"), 0.4),
    "training_course": _Profile(6, {"post_sale": 0.6, "discovery": 0.2}, 0.5,
                                {"basic": 0.5, "intermediate": 0.3, "advanced": 0.2},
                                ("end_user", "technical_buyer"), 0.8),
    "onboarding_guide": _Profile(4, {"prospecting": 0.4, "post_sale": 0.3}, 0.6,
                                 {"basic": 1.0}, ("end_user", "business_owner"), 1.0),
    "playbook": _Profile(5, {"qualification": 0.5, "discovery": 0.5, "solution": 0.4,
                             "negotiation": 0.3, "prospecting": 0.3}, 0.15,
                         {"intermediate": 0.6, "advanced": 0.4}, ("business_owner", "cio"), 0.3),
    "proposal_template": _Profile(4, {"solution": 0.8, "closing": 0.7, "negotiation": 0.3},
                                  0.0, {"intermediate": 0.6, "advanced": 0.4},
                                  ("procurement", "cfo", "business_owner"), 0.5),
    "reference_architecture": _Profile(5, {"solution": 0.9, "discovery": 0.5, "post_sale": 0.2},
                                       0.0, {"advanced": 0.5, "expert": 0.5},
                                       ("cto", "technical_buyer", "cio"), 0.4, {"gold": 0.15}),
    "faq": _Profile(6, {"post_sale": 0.6, "discovery": 0.3, "qualification": 0.3}, 0.4,
                    {"basic": 0.7, "intermediate": 0.3},
                    ("end_user", "technical_buyer", "procurement"), 0.8),
}  # fmt: skip
assert set(_PROFILES) == {t.value for t in AssetType}, "every asset type needs a profile"

_STAGE_ORDER = [s.value for s in Stage]
_MATURITIES = [m.value for m in Maturity]


def _pick(rnd: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rnd.choices(keys, weights=[weights[k] for k in keys])[0]


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    and_ = table("summaries")["sentences"]["and"][lang]
    return f"{', '.join(items[:-1])} {and_} {items[-1]}"


def _tidy(text: str) -> str:
    """Collapse the gaps an empty slot leaves ("для  :" -> "для:")."""
    text = " ".join(text.split())
    for bad, good in ((" :", ":"), (" ,", ","), (" .", "."), (" )", ")"), ("( ", "(")):
        text = text.replace(bad, good)
    return text.strip()


def word_count(text: str) -> int:
    """Words as the summary limits count them: whitespace-separated tokens."""
    return len(text.split())


@dataclass
class _Draft:
    """One asset row plus the sentences it was written from (reused for its document)."""

    row: dict[str, Any]
    parts: dict[str, str]
    slots: dict[str, str]


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _publish_date(rnd: random.Random, window_start: date, window_days: int) -> date:
    """Spread publish dates around the generator window: 60% in the year before it, 22% in
    its first 80%, 9% in its last 20% (cold-start assets), 9% in the 290 days after it."""
    r = rnd.random()
    cold_from = int(window_days * 0.8)
    if r < 0.60:
        lo, hi = window_start - timedelta(days=365), window_start - timedelta(days=1)
    elif r < 0.82:
        lo, hi = window_start, window_start + timedelta(days=cold_from - 1)
    elif r < 0.91:
        lo = window_start + timedelta(days=cold_from)
        hi = window_start + timedelta(days=window_days - 2)
    else:
        lo = window_start + timedelta(days=window_days)
        hi = lo + timedelta(days=290)
    return lo + timedelta(days=rnd.randint(0, max(0, (hi - lo).days)))


def _draft_asset(
    rnd: random.Random, asset_id: str, atype: str, lang: str, window_start: date, window_days: int
) -> _Draft:
    prof = _PROFILES[atype]
    # Industry and products, coherent with each other.
    industry: str | None = None
    if rnd.random() >= prof.generic_industry:
        industry = _pick(rnd, INDUSTRY_WEIGHTS)
    pool = INDUSTRY_PRODUCTS[industry] if industry else sorted(PRODUCT_IDS)
    products = [rnd.choice(pool)]
    if rnd.random() < 0.2:
        other = [p for p in pool if p != products[0]]
        products.append(rnd.choice(other))
    competitors = [rnd.choice(sorted(COMPETITOR_IDS))] if atype == "battlecard" else []
    # Stages: each likely stage independently; sometimes "any stage" (empty).
    if rnd.random() < prof.any_stage:
        stages: list[str] = []
    else:
        stages = [s for s, p in prof.stages.items() if rnd.random() < p]
        if not stages:
            stages = [max(prof.stages, key=lambda s: prof.stages[s])]
        stages.sort(key=_STAGE_ORDER.index)
    depth = _pick(rnd, prof.depths)
    # Maturities the author wrote it for: around the depth, sometimes left empty.
    ideal = rank(Depth(depth)) * 4 / 3
    maturities = [m for i, m in enumerate(_MATURITIES) if abs(i - ideal) <= 1.2]
    if rnd.random() < 0.15:
        lo = max(0, _MATURITIES.index(maturities[0]) - 1)
        maturities = _MATURITIES[lo : _MATURITIES.index(maturities[-1]) + 1]
    if atype == "onboarding_guide":
        maturities = ["new"] if rnd.random() < 0.6 else ["new", "developing"]
    elif rnd.random() < 0.12:
        maturities = []
    roles = rnd.sample(list(prof.roles), k=min(len(prof.roles), rnd.choice((1, 1, 2))))
    regions: list[str] = []
    if rnd.random() < 0.08:
        regions = [rnd.choice(LANGUAGE_REGIONS[lang])]
    min_tier = None
    r = rnd.random()
    for tier, p in prof.min_tier.items():
        if r < p:
            min_tier = tier
            break
        r -= p
    # Status and dates.
    r = rnd.random()
    status = "draft" if r < 0.04 else ("archived" if r < 0.055 else "published")
    published: date | None = _publish_date(rnd, window_start, window_days)
    expires: date | None = None
    window_end = window_start + timedelta(days=window_days)
    if status == "draft":
        published = None
    elif published is not None and (status == "archived" or rnd.random() < 0.06):
        if status == "archived" or rnd.random() < 0.6:  # already expired
            last = max(published + timedelta(days=61), window_end + timedelta(days=290))
            expires = published + timedelta(days=rnd.randint(60, (last - published).days))
        else:
            expires = window_end + timedelta(days=rnd.randint(365, 700))

    # Text.
    products_words, summaries = table("products"), table("summaries")
    sentences = summaries["sentences"]
    ind = industry_words(industry, lang)
    prod = products_words[products[0]]
    customer = rnd.choice(ind["customers"])
    slots = {
        "product": prod["name"],
        "product2": products_words[products[1]]["name"] if len(products) > 1 else "",
        "ind_for": ind["for"],
        "ind_title": ind["title"],
        "ind_name": ind["name"],
        "ind_pl": ind["pl"],
        "customer": customer,
        "customer_cap": customer[:1].upper() + customer[1:],
        "competitor": table("competitors")[competitors[0]]["name"] if competitors else "",
    }
    titles, openers = table("titles")[atype], summaries["openers"][atype]
    variant = rnd.randrange(len(titles))
    title = _tidy(titles[variant][lang].format(**slots))
    parts: dict[str, str] = {
        "opener": _tidy(openers[rnd.randrange(len(openers))][lang].format(**slots)),
        "product": sentences["product"][lang].format(
            name=prod["name"], desc=prod["description"][lang]
        ),
        "pain": rnd.choice(ind["pains"]),
    }
    result = prod["result"][lang].format(pct=rnd.randint(12, 38))
    parts["result"] = result
    if atype == "case_study":
        parts["body"] = sentences["result"][lang].format(result=result)
    elif atype == "battlecard":
        parts["body"] = table("competitors")[competitors[0]]["profile"][lang]
    elif rnd.random() < 0.7:
        parts["body"] = summaries["bodies"][atype][lang]
    if len(products) > 1:
        parts["product2"] = sentences["second_product"][lang].format(product2=slots["product2"])
    parts["audience"] = rnd.choice(summaries["audience"][depth])[lang]
    words = table("stages-and-roles")
    names = [words["stages"][s][lang] for s in stages]
    one, many = sentences["stage_one"][lang], sentences["stage_many"][lang]
    parts["stage"] = (
        sentences["any_stage"][lang]
        if not names
        else (one if len(names) == 1 else many).format(stages=_join(names, lang))
    )
    if rnd.random() < 0.6:
        parts["roles"] = sentences["roles"][lang].format(
            roles=_join([words["roles"][r][lang] for r in roles], lang)
        )
    if regions:
        parts["region"] = table("regions")[regions[0]][lang]
    summary = _compose_summary(parts, lang)
    row = {
        "asset_id": asset_id,
        "title": title,
        "type": atype,
        "language": lang,
        "summary": summary,
        "products": products,
        "industries": [industry] if industry else [],
        "stages": stages,
        "maturities": maturities,
        "depth": depth,
        "buyer_roles": roles,
        "competitors": competitors,
        "regions": regions,
        "min_tier": min_tier,
        "status": status,
        "url": URL_PREFIX + asset_id,
        "published_at": _iso(published),
        "expires_at": _iso(expires),
        "document": None,
    }
    return _Draft(row=row, parts=parts, slots=slots)


_SUMMARY_ORDER = (
    "opener",
    "product",
    "pain",
    "body",
    "product2",
    "audience",
    "stage",
    "roles",
    "region",
)
_DROP_ORDER = ("roles", "product2", "pain", "body")


def _compose_summary(parts: dict[str, str], lang: str) -> str:
    """Join the parts in reading order, dropping optional ones above 150 words and adding a
    call to action below 40."""
    keep = [k for k in _SUMMARY_ORDER if k in parts]
    text = " ".join(parts[k] for k in keep)
    for key in _DROP_ORDER:
        if word_count(text) <= MAX_SUMMARY_WORDS:
            break
        if key in keep:
            keep.remove(key)
            text = " ".join(parts[k] for k in keep)
    if word_count(text) < MIN_SUMMARY_WORDS:
        text = f"{text} {table('summaries')['sentences']['call_to_action'][lang]}"
    return text


def _draft_assets(
    n: int,
    *,
    seed: int,
    window_start: str | date = DEMO_WINDOW_START,
    window_days: int = DEMO_WINDOW_DAYS,
    first_id: int = 1,
    id_width: int | None = None,
) -> list[_Draft]:
    rnd = random.Random(seed)
    start = window_start if isinstance(window_start, date) else date.fromisoformat(window_start)
    width = id_width or max(4, len(str(first_id + n - 1)))
    # Exact language shares: 35% Ukrainian, 15% Russian, the rest English.
    n_uk, n_ru = math.ceil(0.35 * n), round(0.15 * n)
    langs = ["uk"] * n_uk + ["ru"] * n_ru + ["en"] * max(0, n - n_uk - n_ru)
    langs = langs[:n]
    rnd.shuffle(langs)
    # Every type at least once (when n allows), the rest by the profile weights.
    type_names = list(_PROFILES)
    types = type_names[: min(n, len(type_names))]
    types += rnd.choices(
        type_names, weights=[_PROFILES[t].weight for t in type_names], k=n - len(types)
    )
    rnd.shuffle(types)
    return [
        _draft_asset(rnd, f"A{first_id + i:0{width}d}", types[i], langs[i], start, window_days)
        for i in range(n)
    ]


def build_assets(
    n: int,
    *,
    seed: int = DEMO_SEED,
    window_start: str | date = DEMO_WINDOW_START,
    window_days: int = DEMO_WINDOW_DAYS,
    first_id: int = 1,
) -> list[dict[str, Any]]:
    """`n` asset rows (ASSETS contract, lists as Python lists, dates as ISO strings).

    Languages 35% uk / 15% ru / 50% en; every asset type when n >= 16; publish dates spread
    around the window [window_start, window_start + window_days) so that about 9% fall in its
    last 20% (cold-start assets) and 9% after it. Deterministic for a given seed.
    """
    drafts = _draft_assets(
        n, seed=seed, window_start=window_start, window_days=window_days, first_id=first_id
    )
    return [d.row for d in drafts]


# --- partners -----------------------------------------------------------------------------------

_REGION_WEIGHTS = {"ua": 0.45, "pl": 0.18, "baltics": 0.09, "md": 0.06, "dach": 0.09, "cee": 0.13}
_REGION_LANGUAGES: dict[str, list[tuple[list[str], float]]] = {
    "ua": [(["uk", "en"], 0.5), (["uk", "ru", "en"], 0.25), (["uk"], 0.15), (["uk", "ru"], 0.1)],
    "pl": [(["en"], 0.8), (["en", "uk"], 0.2)],
    "baltics": [(["en", "ru"], 0.6), (["en"], 0.4)],
    "md": [(["ru", "en"], 0.8), (["ru"], 0.2)],
    "dach": [(["en"], 1.0)],
    "cee": [(["en"], 0.75), (["en", "ru"], 0.25)],
}  # fmt: skip
_MATURITY_WEIGHTS = {
    "new": 0.22,
    "developing": 0.28,
    "established": 0.25,
    "advanced": 0.17,
    "strategic": 0.08,
}
_PARTNER_TYPES = {"reseller": 0.35, "integrator": 0.35, "distributor": 0.1, "service_provider": 0.2}
_JOINED = {
    "new": (2024, 2025),
    "developing": (2022, 2024),
    "established": (2019, 2023),
    "advanced": (2016, 2021),
    "strategic": (2012, 2018),
}
_TIERS = ["registered", "silver", "gold", "platinum"]


def _partner_name(rnd: random.Random, region: str) -> str:
    """A company name for a partner in `region`, from the parts in partner-names.yaml."""
    names = table("partner-names")
    if region == "ua":
        ua = names["ua"]
        if rnd.random() < 0.5:
            root = rnd.choice(ua["cyrillic_roots"])
            return str(rnd.choice(ua["cyrillic_forms"]).format(root=root))
        return f"{rnd.choice(ua['cities'])} {rnd.choice(names['english_cores'])}" + rnd.choice(
            ua["suffixes"]
        )
    if region == "pl":
        pl = names["pl"]
        return f"{rnd.choice(pl['cores'])} {rnd.choice(pl['cities'])} " + rnd.choice(
            pl["legal_forms"]
        )
    if region == "dach":
        dach = names["dach"]
        return f"{rnd.choice(names['brands'])} {rnd.choice(dach['cores'])} {dach['legal_form']}"
    forms = names[region]["legal_forms"]
    return f"{rnd.choice(names['brands'])} {rnd.choice(names['english_cores'])} {rnd.choice(forms)}"


def build_partners(n: int, *, seed: int = DEMO_SEED, first_id: int = 1) -> list[dict[str, Any]]:
    """`n` partner rows (PARTNERS contract, lists as Python lists, joined_at ISO).

    Maturity ~ 22/28/25/17/8% new..strategic; tier follows maturity loosely (rank ~ 0.75 x
    maturity rank + noise); languages follow the region (Ukraine: uk + en/ru; Poland, DACH,
    CEE: en; Moldova: ru); more mature partners hold more product certifications and joined
    earlier. Names are unique. Deterministic for a given seed.
    """
    rnd = random.Random(seed + 1)
    width = max(4, len(str(first_id + n - 1)))
    seen: set[str] = set()
    rows = []
    for i in range(n):
        maturity = _pick(rnd, _MATURITY_WEIGHTS)
        m = _MATURITIES.index(maturity)
        tier_rank = min(3, max(0, round(m * 0.75 + rnd.gauss(0, 0.55))))
        region = _pick(rnd, _REGION_WEIGHTS)
        regions = [region]
        if rnd.random() < 0.15:
            extra = rnd.choice([r for r in _REGION_WEIGHTS if r != region])
            regions.append(extra)
        options = _REGION_LANGUAGES[region]
        languages = rnd.choices([o[0] for o in options], weights=[o[1] for o in options])[0]
        name = _partner_name(rnd, region)
        tries = 0
        while name in seen:
            tries += 1
            name = _partner_name(rnd, region) if tries < 20 else f"{name} {tries}"
        seen.add(name)
        industries = rnd.sample(list(INDUSTRY_WEIGHTS), k=rnd.choice((1, 1, 2, 2, 3)))
        related = sorted({p for ind in industries for p in INDUSTRY_PRODUCTS[ind]})
        n_cert = min(len(related), max(0, m + rnd.randint(-1, 2)))
        certified = sorted(rnd.sample(related, k=n_cert))
        y0, y1 = _JOINED[maturity]
        joined = date(y0, 1, 1) + timedelta(
            days=rnd.randint(0, (date(y1, 12, 31) - date(y0, 1, 1)).days)
        )
        rows.append(
            {
                "partner_id": f"P{first_id + i:0{width}d}",
                "name": name,
                "tier": _TIERS[tier_rank],
                "maturity": maturity,
                "type": _pick(rnd, _PARTNER_TYPES),
                "industries": industries,
                "regions": regions,
                "languages": list(languages),
                "certified_products": certified,
                "joined_at": joined.isoformat(),
            }
        )
    return rows


# --- the Ukrainian FAQ --------------------------------------------------------------------------


def faq_asset(asset_id: str) -> dict[str, Any]:
    """The asset row of the Ukrainian partner-enablement FAQ (a white paper in Ukrainian)."""
    faq = table("faq")
    return {
        "asset_id": asset_id,
        "title": faq["title"],
        "type": "white_paper",
        "language": "uk",
        "summary": faq["summary"],
        "products": [],
        "industries": [],
        "stages": ["prospecting", "qualification"],
        "maturities": ["new", "developing", "established"],
        "depth": "basic",
        "buyer_roles": ["business_owner"],
        "competitors": [],
        "regions": [],
        "min_tier": None,
        "status": "published",
        "url": URL_PREFIX + asset_id,
        "published_at": "2024-03-15",
        "expires_at": None,
        "document": f"documents/{FAQ_FILE}",
    }


# --- documents ----------------------------------------------------------------------------------

# (format, asset type, language) of the documents written beside the demo catalog.
_DOCUMENT_PLAN: list[tuple[str, str, str]] = [
    ("md", "white_paper", "en"), ("md", "white_paper", "uk"), ("md", "article", "ru"),
    ("md", "playbook", "en"), ("md", "battlecard", "uk"), ("md", "battlecard", "en"),
    ("txt.json", "faq", "en"), ("txt.json", "faq", "ru"), ("txt.json", "onboarding_guide", "uk"),
    ("txt.yaml", "training_course", "en"), ("txt.yaml", "webinar", "uk"),
    ("html", "case_study", "en"), ("html", "case_study", "uk"), ("html", "datasheet", "ru"),
    ("html", "datasheet", "en"),
    ("docx", "proposal_template", "en"), ("docx", "reference_architecture", "uk"),
    ("docx", "reference_architecture", "en"), ("docx", "proposal_template", "ru"),
    ("pdf", "roi_calculator", "uk"), ("pdf", "tco_calculator", "en"),
    ("pdf", "tech_commercial_calculator", "en"), ("pdf", "case_study", "ru"),
]  # fmt: skip


def _sections(draft: _Draft) -> list[tuple[str, list[str], list[str]]]:
    """(heading, paragraphs, bullets) of a full document built from an asset's sentences."""
    row, parts = draft.row, draft.parts
    lang, atype = row["language"], row["type"]
    words, summaries = table("documents"), table("summaries")
    h = {key: heading[lang] for key, heading in words["headings"].items()}
    ind = industry_words(row["industries"][0] if row["industries"] else None, lang)
    solution = [parts["product"]]
    if "product2" in parts:
        solution.append(parts["product2"])
    solution.append(words["typical_result"][lang].format(result=parts["result"]))
    bodies = summaries["bodies"]
    inside = [parts["body"]] if "body" in parts else [bodies.get(atype, bodies["faq"])[lang]]
    bullets: list[str] = []
    if atype.endswith("calculator"):
        bullets = [item[lang] for item in words["calculator_inputs"]]
    elif atype == "battlecard":
        bullets = [question[lang] for question in words["battlecard_questions"]]
    usage = [parts["audience"], parts["stage"]]
    if "roles" in parts:
        usage.append(parts["roles"])
    if "region" in parts:
        usage.append(parts["region"])
    return [
        (h["overview"], [row["summary"]], []),
        (h["challenge"], list(ind["pains"]), []),
        (h["solution"], solution, []),
        (h["inside"], inside, bullets),
        (h["usage"], usage, []),
        (h["next_steps"], [summaries["sentences"]["call_to_action"][lang]], []),
    ]


def _metadata(row: dict[str, Any]) -> dict[str, Any]:
    """The asset fields a document carries for standalone ingestion (all but `document`)."""
    return {k: v for k, v in row.items() if k != "document"}


def _plain_text(draft: _Draft) -> str:
    lines = [draft.row["title"], ""]
    for heading, paragraphs, bullets in _sections(draft):
        lines += [heading, ""]
        lines += [p + "\n" for p in paragraphs]
        if bullets:
            lines += [f"- {b}" for b in bullets] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _markdown(draft: _Draft) -> str:
    import yaml

    front = yaml.safe_dump(_metadata(draft.row), allow_unicode=True, sort_keys=False, width=1000)
    lines = [f"# {draft.row['title']}", ""]
    for heading, paragraphs, bullets in _sections(draft):
        lines += [f"## {heading}", ""]
        for p in paragraphs:
            lines += [p, ""]
        if bullets:
            lines += [f"- {b}" for b in bullets] + [""]
    return f"---\n{front}---\n\n" + "\n".join(lines).rstrip() + "\n"


def _html(draft: _Draft) -> str:
    from html import escape

    row = draft.row
    metas = [f'<meta name="description" content="{escape(row["summary"])}">']
    for key, value in _metadata(row).items():
        if key in ("title", "summary") or value in (None, []):
            continue
        text = ";".join(value) if isinstance(value, list) else str(value)
        metas.append(f'<meta name="asset:{key}" content="{escape(text)}">')
    body = [f"<h1>{escape(row['title'])}</h1>"]
    for heading, paragraphs, bullets in _sections(draft):
        body.append(f"<h2>{escape(heading)}</h2>")
        body += [f"<p>{escape(p)}</p>" for p in paragraphs]
        if bullets:
            body.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in bullets) + "</ul>")
    head = "\n".join(['<meta charset="utf-8">', f"<title>{escape(row['title'])}</title>", *metas])
    return (
        f'<!doctype html>\n<html lang="{row["language"]}">\n<head>\n{head}\n</head>\n'
        f"<body>\n<article>\n" + "\n".join(body) + "\n</article>\n</body>\n</html>\n"
    )


_FIXED_TIME = (2025, 1, 1, 0, 0, 0)


def _docx(draft: _Draft) -> bytes:
    """A DOCX rebuilt with fixed zip timestamps so that re-running gives the same bytes."""
    from datetime import datetime

    from docx import Document

    row = draft.row
    doc = Document()
    props = doc.core_properties
    props.title = row["title"]
    props.subject = row["type"]
    props.language = row["language"]
    props.keywords = ";".join(row["products"] + row["industries"])
    props.author = VENDOR
    props.last_modified_by = VENDOR
    props.created = props.modified = datetime(2025, 1, 1)
    props.revision = 1
    doc.add_heading(row["title"], level=0)
    for heading, paragraphs, bullets in _sections(draft):
        doc.add_heading(heading, level=1)
        for p in paragraphs:
            doc.add_paragraph(p)
        for b in bullets:
            doc.add_paragraph(b, style="List Bullet")
    if row["type"] == "proposal_template":
        grid = doc.add_table(rows=1, cols=3)
        grid.style = "Table Grid"
        for cell, text in zip(
            grid.rows[0].cells, table("documents")["proposal_table"], strict=True
        ):
            cell.text = text
        for i, item in enumerate(row["products"], start=1):
            cells = grid.add_row().cells
            name = table("products")[item]["name"]
            cells[0].text, cells[1].text, cells[2].text = str(i), name, "[...]"
    raw = io.BytesIO()
    doc.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def _pdf(draft: _Draft) -> bytes:
    """A text PDF (TrueType-embedded DejaVu Sans, so Cyrillic extracts back with pypdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    row = draft.row
    lines: list[tuple[str, float, bool]] = []  # (text, font size, bold)
    for part in textwrap.wrap(row["title"], 70):
        lines.append((part, 14, True))
    lines.append(("", 10, False))
    for heading, paragraphs, bullets in _sections(draft):
        lines.append((heading, 12, True))
        for p in paragraphs:
            lines += [(w, 10, False) for w in textwrap.wrap(p, 92)]
            lines.append(("", 6, False))
        for b in bullets:
            wrapped = textwrap.wrap(b, 88)
            lines += [(("• " if j == 0 else "  ") + w, 10, False) for j, w in enumerate(wrapped)]
        if bullets:
            lines.append(("", 6, False))
    out = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}):
        meta = {
            "Title": row["title"],
            "Author": VENDOR,
            "Subject": row["type"],
            "CreationDate": None,
            "Creator": "demo.content",
        }
        with PdfPages(out, metadata=meta) as pdf:
            page_lines: list[tuple[str, float, bool]] = []
            used = 0.0
            pages = []
            for line in lines:
                height = line[1] * 1.45 / 72 / 11.69
                if used + height > 0.86 and page_lines:
                    pages.append(page_lines)
                    page_lines, used = [], 0.0
                page_lines.append(line)
                used += height
            pages.append(page_lines)
            for page in pages:
                fig = plt.figure(figsize=(8.27, 11.69))
                y = 0.94
                for text, size, bold in page:
                    if text:
                        fig.text(
                            0.08, y, text, fontsize=size, fontweight="bold" if bold else "normal"
                        )
                    y -= size * 1.45 / 72 / 11.69
                pdf.savefig(fig)
                plt.close(fig)
    return out.getvalue()


def _pick_documents(drafts: list[_Draft]) -> list[tuple[str, _Draft]]:
    """One published asset per entry of the document plan, first match by type and language."""
    used: set[str] = set()
    chosen = []
    for fmt, atype, lang in _DOCUMENT_PLAN:
        for d in drafts:
            r = d.row
            if (
                r["asset_id"] not in used
                and r["type"] == atype
                and r["language"] == lang
                and r["status"] == "published"
                and r["expires_at"] is None
            ):
                used.add(r["asset_id"])
                chosen.append((fmt, d))
                break
        else:
            raise RuntimeError(f"no published {lang} {atype} for a {fmt} document; change the seed")
    return chosen


def _plan_documents(drafts: list[_Draft]) -> list[tuple[str, _Draft, str]]:
    """(format, draft, file name) of each planned document; sets each chosen row's
    `document` (a path relative to the catalog folder, as ingestion resolves it)."""
    plan = []
    for fmt, draft in _pick_documents(drafts):
        row = draft.row
        stem = f"{row['asset_id']}-{row['type'].replace('_', '-')}-{row['language']}"
        name = f"{stem}.{fmt.split('.')[0]}"
        row["document"] = f"documents/{name}"
        plan.append((fmt, draft, name))
    return plan


def _write_documents(plan: list[tuple[str, _Draft, str]], documents_dir: Path) -> list[Path]:
    """Write the planned documents and their sidecars; return the files written."""
    import yaml

    written: list[Path] = []
    for fmt, draft, name in plan:
        row = draft.row
        path = documents_dir / name
        stem = name.rsplit(".", 1)[0]
        side: Path | None = None
        if fmt == "md":
            path.write_text(_markdown(draft), encoding="utf-8")
        elif fmt.startswith("txt"):
            path.write_text(_plain_text(draft), encoding="utf-8")
            side = documents_dir / f"{stem}.meta.{fmt.split('.')[1]}"
        elif fmt == "html":
            path.write_text(_html(draft), encoding="utf-8")
        else:
            path.write_bytes(_docx(draft) if fmt == "docx" else _pdf(draft))
            side = documents_dir / f"{stem}.meta.json"
        if side is not None:
            if side.suffix == ".json":
                text = json.dumps(_metadata(row), ensure_ascii=False, indent=2) + "\n"
            else:
                text = yaml.safe_dump(_metadata(row), allow_unicode=True, sort_keys=False)
            side.write_text(text, encoding="utf-8")
            written.append(side)
        written.append(path)
    return written


def _demo_drafts(n_assets: int, seed: int) -> tuple[list[_Draft], dict[str, Any]]:
    drafts = _draft_assets(n_assets - 1, seed=seed)
    return drafts, faq_asset(f"A{n_assets:04d}")


def render_tables(
    *, n_assets: int = DEMO_ASSETS, n_partners: int = DEMO_PARTNERS, seed: int = DEMO_SEED
) -> dict[str, str]:
    """The text of assets.jsonl and partners.csv exactly as `write_demo` writes them (the
    documents are planned, so each row's `document` is set, but no file is written)."""
    drafts, faq_row = _demo_drafts(n_assets, seed)
    _plan_documents(drafts)
    rows = [d.row for d in drafts] + [faq_row]
    assets = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    partners = build_partners(n_partners, seed=seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = list(partners[0])
    writer.writerow(columns)
    for p in partners:
        writer.writerow([";".join(p[c]) if isinstance(p[c], list) else p[c] for c in columns])
    return {"assets.jsonl": assets, "partners.csv": out.getvalue()}


def write_demo(
    out_dir: Path = DEMO_DIR,
    *,
    n_assets: int = DEMO_ASSETS,
    n_partners: int = DEMO_PARTNERS,
    seed: int = DEMO_SEED,
    faq_source: Path | None = None,
) -> dict[str, Any]:
    """(Re)write assets.jsonl, partners.csv and documents/ under `out_dir`.

    The FAQ is copied byte for byte from `faq_source` (default: the copy already in
    documents/). Other files in `out_dir` (e.g. playbook.yaml) are left alone;
    documents/ is replaced whole. Returns counts for a report.
    """
    docs_dir = out_dir / "documents"
    candidates = [faq_source] if faq_source else [docs_dir / FAQ_FILE]
    faq_path = next((p for p in candidates if p is not None and p.is_file()), None)
    if faq_path is None:
        raise FileNotFoundError(f"{FAQ_FILE} not found in {[str(c) for c in candidates]}")
    faq_bytes = faq_path.read_bytes()

    drafts, faq_row = _demo_drafts(n_assets, seed)
    plan = _plan_documents(drafts)
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    docs_dir.mkdir(parents=True)
    files = _write_documents(plan, docs_dir)
    (docs_dir / FAQ_FILE).write_bytes(faq_bytes)
    faq_meta = docs_dir / FAQ_FILE.replace(".txt", ".meta.json")
    faq_meta.write_text(
        json.dumps(_metadata(faq_row), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    files += [docs_dir / FAQ_FILE, faq_meta]
    tables = render_tables(n_assets=n_assets, n_partners=n_partners, seed=seed)
    for name, text in tables.items():
        (out_dir / name).write_text(text, encoding="utf-8", newline="")
    return {
        "assets": n_assets,
        "partners": n_partners,
        "documents": len(plan) + 1,
        "files": len(files),
    }


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m demo.content [--out DIR] [--faq PATH]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEMO_DIR)
    parser.add_argument("--faq", type=Path, default=None, help="source of the Ukrainian FAQ")
    args = parser.parse_args(argv)
    counts = write_demo(args.out, faq_source=args.faq)
    print(", ".join(f"{k}: {v}" for k, v in counts.items()), f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
