"""Who is in the demo world and how common each is: ids and weights, no words.

One fictional vendor, Stratosfera Systems (industrial IoT), sells ten products through partners
in Ukraine, Poland, the Baltics, Moldova, DACH and CEE, against four named competitors. The
words for all of them (names, descriptions, sentences) are in data/phrases/; the phrase loader
checks that those files name exactly the ids declared here.
"""

from __future__ import annotations

import random

__all__ = [
    "COMPETITOR_IDS",
    "DEMO_SEED",
    "INDUSTRY_PRODUCTS",
    "INDUSTRY_WEIGHTS",
    "LANGUAGES",
    "LANGUAGE_REGIONS",
    "PRODUCT_IDS",
    "REGION_IDS",
    "URL_PREFIX",
    "VENDOR",
    "pick",
]

# The seed the committed demo catalog and partners were built with.
DEMO_SEED = 2026
VENDOR = "Stratosfera Systems"
URL_PREFIX = "https://enablement.example.com/assets/"
LANGUAGES = ("uk", "ru", "en")

PRODUCT_IDS = (
    "edge-gateway",
    "scada-suite",
    "stratos-cloud",
    "secure-link",
    "vision-ai",
    "asset-monitor",
    "energy-optimizer",
    "field-service",
    "data-hub",
    "iot-sensors",
)
COMPETITOR_IDS = ("vortex-networks", "helix-automation", "northwind-iot", "polar-dynamics")
REGION_IDS = ("ua", "pl", "baltics", "md", "dach", "cee")

# Which products an industry buys (keeps product and industry of one asset coherent).
INDUSTRY_PRODUCTS: dict[str, list[str]] = {
    "manufacturing": [
        "asset-monitor", "vision-ai", "edge-gateway", "scada-suite", "data-hub", "iot-sensors",
    ],
    "retail": ["energy-optimizer", "vision-ai", "iot-sensors", "secure-link", "stratos-cloud"],
    "banking": ["secure-link", "energy-optimizer", "stratos-cloud", "field-service"],
    "healthcare": ["iot-sensors", "energy-optimizer", "asset-monitor", "stratos-cloud"],
    "energy": ["scada-suite", "secure-link", "edge-gateway", "asset-monitor", "field-service"],
    "logistics": ["iot-sensors", "stratos-cloud", "field-service", "vision-ai", "data-hub"],
    "public-sector": ["energy-optimizer", "stratos-cloud", "iot-sensors", "secure-link"],
    "telecom": [
        "secure-link", "stratos-cloud", "edge-gateway", "energy-optimizer", "field-service",
    ],
}  # fmt: skip
# How often an asset (or a partner) is about each industry.
INDUSTRY_WEIGHTS: dict[str, float] = {
    "manufacturing": 0.24,
    "retail": 0.12,
    "banking": 0.09,
    "healthcare": 0.1,
    "energy": 0.15,
    "logistics": 0.12,
    "public-sector": 0.1,
    "telecom": 0.08,
}
assert set(INDUSTRY_PRODUCTS) == set(INDUSTRY_WEIGHTS), "every industry needs products and a weight"
assert {p for ps in INDUSTRY_PRODUCTS.values() for p in ps} <= set(PRODUCT_IDS), "unknown product"

# Region restrictions that make sense for an asset in a given language.
LANGUAGE_REGIONS: dict[str, list[str]] = {
    "uk": ["ua"],
    "ru": ["ua", "md", "baltics"],
    "en": ["pl", "dach", "cee", "baltics"],
}


def pick(rnd: random.Random, weights: dict[str, float]) -> str:
    """One key of `weights`, drawn with those weights."""
    keys = list(weights)
    return rnd.choices(keys, weights=[weights[k] for k in keys])[0]
