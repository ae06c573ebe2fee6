"""What to generate: `GeneratorConfig`, and the two variants of the truth it chooses between
(the weights of each utility term and the stage x asset-type affinity tables).

The formula these parameters enter is documented in the package docstring (demo.generator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from features.schema import (
    AssetType,
    Depth,
    EventType,
    Language,
    Maturity,
    Stage,
    Tier,
    values,
)

__all__ = [
    "ALT_AFFINITY",
    "DEFAULT_AFFINITY",
    "DEPTHS",
    "EVENT_TYPES",
    "LANGUAGES",
    "MATURITIES",
    "STAGES",
    "TIERS",
    "TYPES",
    "VARIANTS",
    "GeneratorConfig",
]

STAGES: list[str] = values(Stage)
TYPES: list[str] = values(AssetType)
MATURITIES: list[str] = values(Maturity)
DEPTHS: list[str] = values(Depth)
TIERS: list[str] = values(Tier)
LANGUAGES: list[str] = values(Language)
EVENT_TYPES: list[str] = values(EventType)

# Columns:  white_paper article case_study roi tco tech_comm battlecard datasheet presentation
#           webinar training onboarding playbook proposal ref_arch faq   (AssetType order)
_DEFAULT_ROWS = {
    "prospecting": [.9, .9, .4, .2, .1, .0, .2, .3, .7, .7, .2, .2, .4, .0, .1, .4],
    "qualification": [.8, .6, .5, .3, .2, .1, .5, .6, .7, .5, .2, .2, .6, .1, .2, .5],
    "discovery": [.6, .3, .7, .4, .3, .3, .6, .8, .6, .4, .2, .1, .5, .2, .6, .5],
    "solution": [.3, .1, .9, .7, .6, .9, .4, .7, .5, .2, .2, .1, .4, .8, 1.0, .3],
    "negotiation": [.1, .0, .6, 1.0, .9, .8, 1.0, .3, .3, .1, .1, .0, .4, .6, .3, .3],
    "closing": [.0, .0, .4, .6, .6, .5, .6, .2, .2, .0, .1, .0, .3, .9, .2, .4],
    "post_sale": [.2, .2, .3, .1, .2, .2, .0, .5, .2, .5, .9, .7, .5, .0, .5, .8],
}  # fmt: skip
_ALT_ROWS = {
    "prospecting": [.2, .3, .3, .9, .5, .2, .3, .8, .4, .9, .3, .2, .2, .0, .1, .3],
    "qualification": [.3, .2, .5, .8, .6, .3, .9, .7, .6, .5, .2, .1, .3, .1, .2, .4],
    "discovery": [.5, .1, .8, .5, .4, .4, .8, .5, .7, .3, .2, .1, .5, .2, .5, .6],
    "solution": [.8, .2, .6, .3, .4, .5, .4, .3, .5, .2, .4, .1, .6, .5, .7, .3],
    "negotiation": [.7, .3, .9, .2, .3, .6, .3, .2, .6, .1, .1, .0, .5, .8, .4, .4],
    "closing": [.4, .2, .8, .3, .5, .4, .2, .2, .4, .1, .2, .1, .4, 1.0, .6, .5],
    "post_sale": [.3, .5, .7, .1, .1, .2, .1, .4, .3, .4, .8, .3, .9, .0, .8, .9],
}  # fmt: skip
DEFAULT_AFFINITY: dict[str, dict[str, float]] = {
    s: dict(zip(TYPES, row, strict=True)) for s, row in _DEFAULT_ROWS.items()
}
ALT_AFFINITY: dict[str, dict[str, float]] = {
    s: dict(zip(TYPES, row, strict=True)) for s, row in _ALT_ROWS.items()
}

# Weights of the truth per variant (see the package docstring for the formula).
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {
        "affinity": DEFAULT_AFFINITY,
        "w_stage": 2.5,
        "w_maturity": 1.0,
        "w_industry": 0.8,
        "w_product": 0.8,
        "w_competitor": 1.5,
        "w_language": 2.0,
        "w_tag": 0.4,
        "quality_std": 0.5,
        "depth_slope": 0.75,
        "depth_offset": 0.0,
        "bias": -6.2,
    },
    "alt": {
        "affinity": ALT_AFFINITY,
        "w_stage": 1.2,
        "w_maturity": 2.0,
        "w_industry": 1.6,
        "w_product": 0.3,
        "w_competitor": 0.6,
        "w_language": 1.2,
        "w_tag": 0.0,
        "quality_std": 0.9,
        "depth_slope": 0.5,
        "depth_offset": 0.75,
        "bias": -5.6,
    },
}


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. All randomness flows from `seed`; equal configs give equal data.

    n_assets / n_partners: None uses the committed demo catalog / partners; a number
    synthesizes that many with the demo's distributions. n_events is a target, met within a
    few percent. stage_type_affinity overrides cells ({stage: {asset_type: value}}) of the
    variant's table. position_bias: exponent of the 1/log2(p+2) examination curve (0 = none).
    noise: std of the per-impression utility noise. quality_std: None = the variant's.
    """

    seed: int = 7
    n_assets: int | None = None
    n_partners: int | None = None
    n_deals: int = 3000
    n_events: int = 200_000
    start: str = "2025-01-01"
    days: int = 365
    stage_type_affinity: dict[str, dict[str, float]] | None = None
    variant: str = "default"
    position_bias: float = 1.0
    noise: float = 0.5
    impressions_per_request: int = 10
    quality_std: float | None = None
    organic_share: float = 0.04

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(
                f"variant={self.variant!r} is unknown; expected one of {sorted(VARIANTS)}"
            )
        for name in ("n_assets", "n_partners"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name}={value!r} must be None or at least 1")
        if self.n_deals < 1:
            raise ValueError(f"n_deals={self.n_deals!r} must be at least 1")
        if self.n_events < 0:
            raise ValueError(f"n_events={self.n_events!r} must not be negative")
        if self.days < 1:
            raise ValueError(f"days={self.days!r} must be at least 1")
        if self.impressions_per_request < 1:
            raise ValueError(
                f"impressions_per_request={self.impressions_per_request!r} must be at least 1"
            )
        if self.position_bias < 0 or self.noise < 0:
            raise ValueError(
                f"position_bias={self.position_bias!r} and noise={self.noise!r} must be >= 0"
            )
        if not 0 <= self.organic_share < 1:
            raise ValueError(f"organic_share={self.organic_share!r} must be in [0, 1)")
        try:
            pd.Timestamp(self.start)
        except ValueError:
            raise ValueError(f"start={self.start!r} is not a date like 2025-01-01") from None
        for stage, row in (self.stage_type_affinity or {}).items():
            if stage not in STAGES:
                raise ValueError(f"stage={stage!r} is not a deal stage; expected one of {STAGES}")
            for atype, value in row.items():
                if atype not in TYPES:
                    raise ValueError(f"{atype!r} is not an asset type; expected one of {TYPES}")
                if not math.isfinite(float(value)):
                    raise ValueError(f"affinity[{stage!r}][{atype!r}]={value!r} is not finite")
