"""The demo catalog's asset rows: how each asset type is tagged, and its title and summary.

An asset is drafted from its type's profile (stage, depth, role and tier probabilities), an
industry and coherent products (demo.content.world), a publish date spread around the
generator's window, and sentences from the phrase tables (titles.yaml, summaries.yaml, ...)
filled in its language. The sentences are kept with the row (`Draft`) so its document can
reuse them. Deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from demo.content.phrases import industry_words, table
from demo.content.world import (
    COMPETITOR_IDS,
    DEMO_SEED,
    INDUSTRY_PRODUCTS,
    INDUSTRY_WEIGHTS,
    LANGUAGE_REGIONS,
    PRODUCT_IDS,
    URL_PREFIX,
    pick,
)
from features.schema import AssetType, Depth, Maturity, Stage, rank

__all__ = [
    "DEMO_WINDOW_DAYS",
    "DEMO_WINDOW_START",
    "FAQ_FILE",
    "MAX_SUMMARY_WORDS",
    "MIN_SUMMARY_WORDS",
    "Draft",
    "build_assets",
    "draft_assets",
    "faq_asset",
    "translate",
    "word_count",
]

# The Ukrainian FAQ the product grew from, kept byte for byte in the demo's documents.
FAQ_FILE = "partner-enablement-faq.uk.txt"
# The default generator window (GeneratorConfig.start/days): demo publish dates are spread
# around it so that some assets are "cold" (published in its last 20%).
DEMO_WINDOW_START = "2025-01-01"
DEMO_WINDOW_DAYS = 365
MIN_SUMMARY_WORDS = 40
MAX_SUMMARY_WORDS = 150


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
class Draft:
    """One asset row plus the sentences it was written from (reused for its document)."""

    row: dict[str, Any]
    parts: dict[str, str]
    slots: dict[str, str]
    choices: dict[str, Any] = field(default_factory=dict)  # what `translate` renders again


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
) -> Draft:
    prof = _PROFILES[atype]
    # Industry and products, coherent with each other.
    industry: str | None = None
    if rnd.random() >= prof.generic_industry:
        industry = pick(rnd, INDUSTRY_WEIGHTS)
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
    depth = pick(rnd, prof.depths)
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

    # Text: the random choices first (in the order the generator always drew them), so that a
    # translation renders the same choices in another language (`translate`).
    words = industry_words(industry, lang)
    summaries = table("summaries")
    choices: dict[str, Any] = {
        "customer": rnd.randrange(len(words["customers"])),
        "variant": rnd.randrange(len(table("titles")[atype])),
        "opener": rnd.randrange(len(summaries["openers"][atype])),
        "pain": rnd.randrange(len(words["pains"])),
        "pct": rnd.randint(12, 38),
    }
    choices["body"] = atype in ("case_study", "battlecard") or rnd.random() < 0.7
    choices["audience"] = rnd.randrange(len(summaries["audience"][depth]))
    choices["roles"] = rnd.random() < 0.6
    row = {
        "asset_id": asset_id,
        "title": "",
        "type": atype,
        "language": lang,
        "summary": "",
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
    return _render(row, choices)


def translate(draft: Draft, asset_id: str, language: str) -> Draft:
    """`draft` written in `language` under `asset_id`: the same tags, dates and sentence
    choices (the phrase tables are parallel across languages), so its text is a translation."""
    row = {**draft.row, "asset_id": asset_id, "language": language, "document": None}
    row["url"] = URL_PREFIX + asset_id
    return _render(row, draft.choices)


def _render(row: dict[str, Any], choices: dict[str, Any]) -> Draft:
    """The row's title and summary in its language, from the drawn `choices`."""
    lang, atype = row["language"], row["type"]
    products, competitors = row["products"], row["competitors"]
    industry = row["industries"][0] if row["industries"] else None
    products_words, summaries = table("products"), table("summaries")
    sentences = summaries["sentences"]
    ind = industry_words(industry, lang)
    prod = products_words[products[0]]
    customer = ind["customers"][choices["customer"]]
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
    title = _tidy(titles[choices["variant"]][lang].format(**slots))
    parts: dict[str, str] = {
        "opener": _tidy(openers[choices["opener"]][lang].format(**slots)),
        "product": sentences["product"][lang].format(
            name=prod["name"], desc=prod["description"][lang]
        ),
        "pain": ind["pains"][choices["pain"]],
    }
    result = prod["result"][lang].format(pct=choices["pct"])
    parts["result"] = result
    if atype == "case_study":
        parts["body"] = sentences["result"][lang].format(result=result)
    elif atype == "battlecard":
        parts["body"] = table("competitors")[competitors[0]]["profile"][lang]
    elif choices["body"]:
        parts["body"] = summaries["bodies"][atype][lang]
    if len(products) > 1:
        parts["product2"] = sentences["second_product"][lang].format(product2=slots["product2"])
    parts["audience"] = summaries["audience"][row["depth"]][choices["audience"]][lang]
    words = table("stages-and-roles")
    names = [words["stages"][s][lang] for s in row["stages"]]
    one, many = sentences["stage_one"][lang], sentences["stage_many"][lang]
    parts["stage"] = (
        sentences["any_stage"][lang]
        if not names
        else (one if len(names) == 1 else many).format(stages=_join(names, lang))
    )
    if choices["roles"]:
        parts["roles"] = sentences["roles"][lang].format(
            roles=_join([words["roles"][r][lang] for r in row["buyer_roles"]], lang)
        )
    if row["regions"]:
        parts["region"] = table("regions")[row["regions"][0]][lang]
    row = {**row, "title": title, "summary": _compose_summary(parts, lang)}
    return Draft(row=row, parts=parts, slots=slots, choices=choices)


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


def draft_assets(
    n: int,
    *,
    seed: int,
    window_start: str | date = DEMO_WINDOW_START,
    window_days: int = DEMO_WINDOW_DAYS,
    first_id: int = 1,
    id_width: int | None = None,
) -> list[Draft]:
    """`n` asset drafts: the rows `build_assets` returns, each with the sentences it was
    written from (the documents reuse them)."""
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
    drafts = draft_assets(
        n, seed=seed, window_start=window_start, window_days=window_days, first_id=first_id
    )
    return [d.row for d in drafts]


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
