"""The demo partners: maturity, tier, region, languages, industries, certifications, names.

Maturity ~ 22/28/25/17/8% new..strategic; tier follows maturity loosely; languages follow the
region; company names are drawn from partner-names.yaml. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from demo.content.phrases import table
from demo.content.world import DEMO_SEED, INDUSTRY_PRODUCTS, INDUSTRY_WEIGHTS, REGION_IDS, pick
from features.schema import Maturity, values

__all__ = ["build_partners"]

_MATURITIES = values(Maturity)
_REGION_WEIGHTS = {"ua": 0.45, "pl": 0.18, "baltics": 0.09, "md": 0.06, "dach": 0.09, "cee": 0.13}
_REGION_LANGUAGES: dict[str, list[tuple[list[str], float]]] = {
    "ua": [(["uk", "en"], 0.5), (["uk", "ru", "en"], 0.25), (["uk"], 0.15), (["uk", "ru"], 0.1)],
    "pl": [(["en"], 0.8), (["en", "uk"], 0.2)],
    "baltics": [(["en", "ru"], 0.6), (["en"], 0.4)],
    "md": [(["ru", "en"], 0.8), (["ru"], 0.2)],
    "dach": [(["en"], 1.0)],
    "cee": [(["en"], 0.75), (["en", "ru"], 0.25)],
}  # fmt: skip
assert set(_REGION_WEIGHTS) == set(_REGION_LANGUAGES) == set(REGION_IDS), "one entry per region"
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
    earlier. Names are unique; each has a channel manager by region (`_manager`).
    Deterministic for a given seed.
    """
    rnd = random.Random(seed + 1)
    width = max(4, len(str(first_id + n - 1)))
    seen: set[str] = set()
    rows = []
    for i in range(n):
        maturity = pick(rnd, _MATURITY_WEIGHTS)
        m = _MATURITIES.index(maturity)
        tier_rank = min(3, max(0, round(m * 0.75 + rnd.gauss(0, 0.55))))
        region = pick(rnd, _REGION_WEIGHTS)
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
                "type": pick(rnd, _PARTNER_TYPES),
                "industries": industries,
                "regions": regions,
                "languages": list(languages),
                "certified_products": certified,
                "joined_at": joined.isoformat(),
                "manager": _manager(region, first_id + i),
            }
        )
    return rows


# The vendor's channel managers, by the partner's main region (Ukraine's partners are split
# between two): drawn without the random stream, so every other column stays as it was.
_MANAGERS = {
    "pl": "Marek Nowak",
    "baltics": "Marek Nowak",
    "dach": "Anna Schmidt",
    "cee": "Anna Schmidt",
    "md": "Andrii Melnyk",
}


def _manager(region: str, number: int) -> str:
    if region == "ua":
        return "Olena Kovalenko" if number % 2 == 0 else "Andrii Melnyk"
    return _MANAGERS[region]
