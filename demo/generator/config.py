"""What to generate: `GeneratorConfig`, and the two variants of the truth it chooses between
(the weights of each utility term and the stage x asset-type affinity tables).

The formula these parameters enter is documented in the package docstring (demo.generator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from demo.generator.clicks import ClickModel
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
    "CONFIGS",
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
    synthesizes that many with the demo's distributions. n_events is a target: the number of
    impressions is set for it (1.1 events per impression), so the open loop meets it within a
    few percent; in the closed loop the engine's slates engage more (about +10% events at the
    demo's size). stage_type_affinity overrides cells ({stage: {asset_type: value}}) of the
    variant's table. quality_std: None = the variant's.

    The click model (`demo.generator.clicks`, hidden from the engine): attention_curve
    ("geometric", "power" or "log") and its attention_decay; click_noise, the std of the
    per-impression utility noise.

    The display policy of the closed loop (`demo.generator.loop`): the portal shows
    impressions_per_request assets per request, exploring with the engine's
    `Exploration(exploration, exploration_reserve, exploration_fallback)`; the window is served
    in `rounds` periods, the engine retrained and promoted after each. The open loop
    (`generate`) shows impressions_per_request assets ranked by its own heuristic and ignores
    the other four.

    `CONFIGS` names the two documented configurations; `GeneratorConfig.preset` starts from one.
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
    attention_curve: str = "geometric"
    attention_decay: float = 0.8
    click_noise: float = 0.5
    impressions_per_request: int = 10
    quality_std: float | None = None
    organic_share: float = 0.04
    exploration: float = 0.05
    exploration_reserve: int = 30
    exploration_fallback: int = 10
    rounds: int = 4

    @classmethod
    def preset(cls, name: str, **changes: Any) -> GeneratorConfig:
        """The configuration `CONFIGS[name]` with `changes` (e.g. seed, n_deals) applied."""
        if name not in CONFIGS:
            raise ValueError(f"preset={name!r} is unknown; expected one of {sorted(CONFIGS)}")
        return replace(CONFIGS[name], **changes)

    @property
    def click_model(self) -> ClickModel:
        """The click model these parameters describe (`demo.generator.clicks`)."""
        return ClickModel(
            curve=self.attention_curve, decay=self.attention_decay, noise=self.click_noise
        )

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
        self.click_model  # noqa: B018 - validates the curve, its decay and the noise
        if not 0.0 <= self.exploration < 1.0:
            raise ValueError(f"exploration={self.exploration!r} must be in [0, 1)")
        if self.exploration_reserve < 1:
            raise ValueError(f"exploration_reserve={self.exploration_reserve!r} must be at least 1")
        if self.exploration_fallback < 0:
            raise ValueError(
                f"exploration_fallback={self.exploration_fallback!r} must be 0 or more"
            )
        if self.rounds < 1:
            raise ValueError(f"rounds={self.rounds!r} must be at least 1")
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


# The two documented configurations. They differ in everything a model could overfit to: the
# seed (deals, partners' activity, noise), the truth (variant: weights and affinity table), the
# click model (examination curve and its parameter, noise) and the display policy
# (exploration rate and reserve, slate size).
CONFIGS: dict[str, GeneratorConfig] = {
    "default": GeneratorConfig(),
    "second": GeneratorConfig(
        seed=8,
        variant="alt",
        attention_curve="power",
        attention_decay=0.9,
        click_noise=0.8,
        impressions_per_request=8,
        exploration=0.1,
        exploration_reserve=20,
    ),
}
