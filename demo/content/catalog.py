"""The demo catalog's asset rows: how each asset type is tagged, and its title and summary.

An asset is drafted from its type's profile (stage, depth, role and tier probabilities), an
industry and coherent products (demo.content.world), a publish date spread around the
generator's window, and sentences from the phrase tables (titles.yaml, summaries.yaml, ...)
filled in its language. The sentences are kept with the row (`Draft`) so its document can
reuse them. Deterministic for a given seed.

Titles and summaries are told apart (issue 16): the text choices (a topic of the product, a
customer, a variant of the title and of each sentence) come from a stream of each asset's own,
and skip what the assets drafted before took, in every language (`_Ledger`): a title already
used, or a sentence already in `SENTENCE_LIMIT` summaries. The tags come from the main stream,
which the text choices do not touch.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
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
    LANGUAGES,
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
    "SENTENCE_LIMIT",
    "Draft",
    "build_assets",
    "draft_assets",
    "faq_asset",
    "sentences",
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
    rnd: random.Random,
    asset_id: str,
    atype: str,
    lang: str,
    window_start: date,
    window_days: int,
    *,
    text_rnd: random.Random,
    ledger: _Ledger,
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

    # Text. These draws keep the main stream as it always was (the customer, title, opener and
    # pain used to be drawn here from two variants each), so the tags of every later asset stay
    # what they are; the text's own choices come from `text_rnd`, a stream of this asset's own.
    for _ in range(4):
        rnd.randrange(2)
    choices: dict[str, Any] = {"pct": rnd.randint(12, 38)}
    choices["body"] = atype in ("case_study", "battlecard") or rnd.random() < 0.7
    rnd.randrange(2)  # the audience sentence used to be drawn here
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
    return _render(row, _choose_text(row, choices, text_rnd, ledger))


def translate(draft: Draft, asset_id: str, language: str) -> Draft:
    """`draft` written in `language` under `asset_id`: the same tags, dates and sentence
    choices (the phrase tables are parallel across languages), so its text is a translation."""
    row = {**draft.row, "asset_id": asset_id, "language": language, "document": None}
    row["url"] = URL_PREFIX + asset_id
    return _render(row, draft.choices)


# A sentence appears in at most this many summaries of one language (issue 16: a catalog
# whose summaries repeat the same sentences reads as generated).
SENTENCE_LIMIT = 3
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    """The sentences of a summary: split after ".", "!" or "?" followed by white space."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


@dataclass
class _Ledger:
    """What the assets drafted so far took: their titles and how many summaries use each
    sentence, per language. A draft reserves its text in every language (a translation renders
    the same choices), so neither an asset nor any translation of it repeats what is taken."""

    titles: dict[str, set[str]] = field(default_factory=lambda: {x: set() for x in LANGUAGES})
    uses: dict[str, Counter[str]] = field(default_factory=lambda: {x: Counter() for x in LANGUAGES})

    def title_free(self, titles: dict[str, str]) -> bool:
        return all(title not in self.titles[lang] for lang, title in titles.items())

    def free(self, texts: dict[str, str]) -> bool:
        return all(
            self.uses[lang][s] < SENTENCE_LIMIT for lang, t in texts.items() for s in sentences(t)
        )

    def take(self, draft: Draft) -> None:
        for lang in LANGUAGES:
            row = _render({**draft.row, "language": lang}, draft.choices).row
            self.titles[lang].add(row["title"])
            self.uses[lang].update(set(sentences(row["summary"])))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _slots(row: dict[str, Any], choices: dict[str, Any]) -> dict[str, str]:
    """What titles and sentences are filled with, in the row's language (see titles.yaml and
    summaries.yaml for each placeholder)."""
    lang, products, competitors = row["language"], row["products"], row["competitors"]
    ind = industry_words(row["industries"][0] if row["industries"] else None, lang)
    products_words, competitors_words = table("products"), table("competitors")
    prod = products_words[products[0]]
    customer = ind["customers"][choices["customer"]]
    stage_words = table("stages-and-roles")
    topic = prod["topics"][choices["topic"]][lang]
    return {
        "product": prod["name"],
        "product2": products_words[products[1]]["name"] if len(products) > 1 else "",
        "desc": prod["description"][lang],
        "result": prod["result"][lang].format(pct=choices["pct"]),
        "topic": topic,
        "topic_cap": topic[:1].upper() + topic[1:],
        "ind_for": ind["for"],
        "ind_title": ind["title"],
        "ind_name": ind["name"],
        "ind_pl": ind["pl"],
        "customer": customer,
        "customer_cap": customer[:1].upper() + customer[1:],
        "competitor": competitors_words[competitors[0]]["name"] if competitors else "",
        "profile": (
            competitors_words[competitors[0]]["profile"][lang].rstrip(".") if competitors else ""
        ),
        "weeks": str(choices["weeks"]),
        "stages": _join([stage_words["stages"][x][lang] for x in row["stages"]], lang),
        "roles": _join([stage_words["roles"][x][lang] for x in row["buyer_roles"]], lang),
    }


# The parts of a summary in reading order; the optional ones are left out when every variant
# of them is taken (and some only apply to some assets); `cta` ends a summary under 40 words.
_PARTS = ("opener", "product", "pain", "body", "product2", "audience", "stage", "roles", "region")
_OPTIONAL = frozenset({"pain", "body", "product2", "audience", "roles", "region"})


def _templates(part: str, row: dict[str, Any]) -> list[dict[str, str]]:
    """The variants of one part of `row`'s summary: {lang: template}."""
    summaries = table("summaries")
    said = summaries["sentences"]
    atype = row["type"]
    if part == "opener":
        return list(summaries["openers"][atype])
    if part == "body":
        if atype in ("case_study", "battlecard"):
            return list(said["case" if atype == "case_study" else "battle"])
        return list(summaries["bodies"][atype])
    if part == "audience":
        return list(summaries["audience"][row["depth"]])
    if part == "stage":
        n = len(row["stages"])
        return list(said["any_stage" if not n else "stage_one" if n == 1 else "stage_many"])
    if part == "region":
        return list(table("regions")[row["regions"][0]])
    key = {"product2": "second_product", "cta": "call_to_action"}.get(part, part)
    return list(said[key])


def _keys(part: str, row: dict[str, Any]) -> list[tuple[int, ...]]:
    """The choices a part can take: a variant, and for the pain (frame, pain)."""
    n = len(_templates(part, row))
    if part == "pain":
        industry = row["industries"][0] if row["industries"] else None
        pains = len(industry_words(industry, row["language"])["pains"])
        return [(frame, pain) for frame in range(n) for pain in range(pains)]
    return [(i,) for i in range(n)]


def _part_text(part: str, key: tuple[int, ...], row: dict[str, Any], slots: dict[str, str]) -> str:
    """One part of `row`'s summary, in its language."""
    lang = row["language"]
    template = _templates(part, row)[key[0]][lang]
    if part == "pain":
        industry = row["industries"][0] if row["industries"] else None
        pain = industry_words(industry, lang)["pains"][key[1]].rstrip(".")
        return _tidy(template.format(pain=pain, pain_lc=_lower_first(pain), **slots))
    return _tidy(template.format(**slots))


def _present(part: str, row: dict[str, Any], choices: dict[str, Any]) -> bool:
    """Whether `row`'s summary has this part at all."""
    if part == "body":
        return bool(choices["body"])
    if part == "product2":
        return len(row["products"]) > 1
    if part == "roles":
        return bool(choices["roles"])
    if part == "region":
        return bool(row["regions"])
    return True


def _choose_text(
    row: dict[str, Any], drawn: dict[str, Any], rnd: random.Random, ledger: _Ledger
) -> dict[str, Any]:
    """The text choices of a new asset: its customer, topic and title variant, and a variant
    of each part of its summary, drawn from `rnd` in an order that skips what the ledger says
    is taken (a title already used, a sentence in its limit of summaries), then reserved."""
    industry = row["industries"][0] if row["industries"] else None
    choices = {
        **drawn,
        "customer": rnd.randrange(len(industry_words(industry, "en")["customers"])),
        "weeks": rnd.choice(_WEEKS),
    }
    atype, product = row["type"], row["products"][0]
    as_lang = {lang: {**row, "language": lang} for lang in LANGUAGES}
    titles = table("titles")[atype]
    options = [
        (v, t) for v in range(len(titles)) for t in range(len(table("products")[product]["topics"]))
    ]
    rnd.shuffle(options)
    for variant, topic in options:
        choices.update(title=variant, topic=topic)
        rendered = {
            lang: _tidy(titles[variant][lang].format(**_slots(r, choices)))
            for lang, r in as_lang.items()
        }
        if ledger.title_free(rendered):
            break
    else:
        choices.update(title=options[0][0], topic=options[0][1])
    slots = {lang: _slots(r, choices) for lang, r in as_lang.items()}
    parts: dict[str, tuple[int, ...] | None] = {}
    for part in (*_PARTS, "cta"):
        if part != "cta" and not _present(part, row, choices):
            continue
        keys = _keys(part, row)
        rnd.shuffle(keys)
        free = (
            key
            for key in keys
            if ledger.free(
                {lang: _part_text(part, key, r, slots[lang]) for lang, r in as_lang.items()}
            )
        )
        parts[part] = next(free, None if part in _OPTIONAL else keys[0])
    choices["parts"] = parts
    ledger.take(_render(row, choices))
    return choices


# Weeks from pilot to rollout in case studies: numbers after which Ukrainian and Russian take
# the genitive plural ("12 тижнів", "12 недель").
_WEEKS = (6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 18, 20, 26, 30)


def _render(row: dict[str, Any], choices: dict[str, Any]) -> Draft:
    """The row's title and summary in its language, from the drawn `choices`."""
    lang, atype = row["language"], row["type"]
    slots = _slots(row, choices)
    title = _tidy(table("titles")[atype][choices["title"]][lang].format(**slots))
    parts = {
        part: _part_text(part, key, row, slots)
        for part, key in choices["parts"].items()
        if key is not None
    }
    cta = parts.pop("cta")
    summary = _compose_summary(parts, cta)
    parts["result"] = slots["result"]
    parts["cta"] = cta
    row = {**row, "title": title, "summary": summary}
    return Draft(row=row, parts=parts, slots=slots, choices=choices)


_DROP_ORDER = ("roles", "audience", "product2", "body", "pain")


def _compose_summary(parts: dict[str, str], call_to_action: str) -> str:
    """Join the parts in reading order, dropping optional ones above 150 words and adding a
    call to action below 40."""
    keep = [k for k in _PARTS if k in parts]
    text = " ".join(parts[k] for k in keep)
    for key in _DROP_ORDER:
        if word_count(text) <= MAX_SUMMARY_WORDS:
            break
        if key in keep:
            keep.remove(key)
            text = " ".join(parts[k] for k in keep)
    if word_count(text) < MIN_SUMMARY_WORDS:
        text = f"{text} {call_to_action}"
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
    ledger = _Ledger()
    drafts = []
    for i in range(n):
        asset_id = f"A{first_id + i:0{width}d}"
        text_rnd = random.Random(f"{seed}:{asset_id}:text")
        drafts.append(
            _draft_asset(
                rnd,
                asset_id,
                types[i],
                langs[i],
                start,
                window_days,
                text_rnd=text_rnd,
                ledger=ledger,
            )
        )
    return drafts


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
