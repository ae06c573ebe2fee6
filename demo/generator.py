"""Seeded generator of deals and usage logs from a documented ground-truth utility.

Why: a recommender of enablement content can only be evaluated against a truth it does not see.
This module invents one (a utility of every (deal context, asset) pair), simulates partners
working deals through their stages on a portal whose logging policy is *not* that truth, and
records what they saw, opened, downloaded, shared, rated and won. A model trained on the logs
should recover the truth; the "alt" variant has a different truth, so a model that merely
restates the playbook loses there.

Ground truth (`true_utility`, deterministic given the config's seed and variant)::

    u(d, a) = w_stage      * A[stage(d), type(a)]          stage x asset-type affinity, 0..1
            + w_maturity   * fit(maturity(p), depth(a))    p = the deal's partner
            + w_industry   * ind(d, a)
            + w_product    * prod(d, a)
            + w_competitor * comp(d, a)
            + w_language   * lang(d, p, a)
            + w_tag        * tag(d, a)
            + quality_std  * z(a)                          latent quality, z ~ N(0, 1)
            + bias

    fit  = clip(1 - |slope * rank(maturity) + offset - rank(depth)| / 1.5, -1, 1); 0 if no depth
           (maturity ranks 0..4 new..strategic, depth ranks 0..3 basic..expert)
    ind  = 1 if the deal's industry is among the asset's, 0.4 if the asset names no industry
           (generic) or the deal has none, else 0
    prod = 1 if deal and asset share a product, 0.4 if the asset names none, else 0
    comp = for battlecards only: +1 if the battlecard's competitor is in the deal, else -1
    lang = 1 if the asset is in the deal's language, 0.6 if in another language the partner
           reads (or has no language), 0 otherwise
    tag  = 1 if the author tagged the asset for the deal's stage, 0.5 if untagged, else 0
    z(a) = a standard normal drawn from blake2b(seed, asset_id): the same asset keeps its
           quality whatever the catalog around it

    variant   A          w_stage w_mat w_ind w_prod w_comp w_lang w_tag q_std slope offset bias
    default   DEFAULT    2.5     1.0   0.8   0.8    1.5    2.0    0.4   0.5   0.75  0.0    -6.2
    alt       ALT        1.2     2.0   1.6   0.3    0.6    1.2    0.0   0.9   0.5   0.75   -5.6

DEFAULT_AFFINITY follows DOMAIN.md (white papers early, reference architectures and calculators
at solution design, ROI/TCO calculators and battlecards at negotiation, training after the
sale). ALT_AFFINITY is a "product-led" vendor: self-serve calculators and datasheets early,
case studies and proposal templates late. `stage_type_affinity` overrides cells of either.

Behaviour (simulation, on top of the truth):
- deals: a partner (more mature / higher tier partners have more deals), an industry and
  products from the partner's profile, 0-2 competitors, a buyer role, a size, a note in the
  deal's language. They start at prospecting (70%), qualification or discovery, spend
  2 + Exp(12) days per stage, drop out (lost) after a stage with probability 25/20/15/12/10%
  (prospecting..negotiation), and after closing are won with probability
  sigmoid(0.2 + 1.0 * s + 0.3 * log(1 + n_shared)), s = mean utility of the assets shared
  in the deal (of those opened minus 0.5 if none shared; -2 if none opened). Won deals
  continue into post_sale. Activity stops at the end of the window; open deals have no outcome.
- requests: spread over the (deal, stage) visits (1 + Poisson per visit) so that there are about
  n_events * (1 - organic_share) / (1.1 * impressions_per_request) in all, at business-hours
  times (08:00-18:00) inside the visit. Each shows impressions_per_request assets (positions
  0..k-1), ranked by a logging policy that is NOT the truth: it ranks the
  eligible assets by a playbook-like heuristic (DEFAULT_AFFINITY, stage and maturity tags,
  partner language, industry) plus log popularity plus uniform noise; 10% of requests are
  pure exploration (random order). Eligible: published, published_at <= request day,
  not expired, partner tier >= min_tier, regions overlap (or none).
- a partner examines position p with probability (1 / log2(p + 2)) ** position_bias, opens
  an examined asset with probability sigmoid(u + noise * e), e ~ N(0, 1) per impression, then
  downloads with sigmoid(u' - 1) and shares with sigmoid(u' - 2) (u' = the noisy utility);
  10% of opens leave feedback +1 with probability sigmoid(2 u'), else -1.
- organic opens (about organic_share of the events, no request id or position): searches;
  the partner opens the best of 40 random eligible assets by u + Gumbel noise, and downloads
  it with sigmoid(u - 1); a quarter are browsing outside a deal (no deal id, no stage).
- follow-up events carry the request_id of their impression (to join positions), times a
  few minutes after it; a deal's outcome comes at the end of its last stage, with amount =
  the booked value (won) or the value at stake (lost).
- the quality_std term and the whole truth are deterministic given (seed, variant); the
  noise above is drawn from the seed too, so equal configs give identical frames.
- every event has a unique, deterministic id f"e{seed}-{i}" in timestamp order.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from demo import DEMO_DATA
from demo.content import build_assets, build_partners, deal_note
from demo.content.world import COMPETITOR_IDS, INDUSTRY_PRODUCTS, PRODUCT_IDS
from features.schema import (
    ASSETS,
    DEALS,
    PARTNERS,
    AssetStatus,
    AssetType,
    BuyerRole,
    Depth,
    EventType,
    Language,
    Maturity,
    Outcome,
    Stage,
    TableContract,
    Tier,
    values,
)
from features.validation import is_missing, split_list, validate_table

__all__ = [
    "ALT_AFFINITY",
    "DEFAULT_AFFINITY",
    "DEMO_DIR",
    "VARIANTS",
    "GeneratedData",
    "GeneratorConfig",
    "asset_quality",
    "generate",
    "load_demo_assets",
    "load_demo_partners",
    "true_utility",
    "true_utility_pairs",
    "truth_parameters",
    "write_generated",
]

DEMO_DIR = DEMO_DATA

STAGES: list[str] = values(Stage)
TYPES: list[str] = values(AssetType)
MATURITIES: list[str] = values(Maturity)
DEPTHS: list[str] = values(Depth)
TIERS: list[str] = values(Tier)
LANGUAGES: list[str] = values(Language)
EVENT_TYPES: list[str] = values(EventType)
_POST_SALE = STAGES.index(Stage.POST_SALE)
_CLOSING = STAGES.index(Stage.CLOSING)

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

# Weights of the truth per variant (see the module docstring for the formula).
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

# Simulation constants (documented in the module docstring).
_STAGE_DAYS = (2.0, 12.0)  # minimum + exponential mean, per stage visit
_DROP_AFTER = {0: 0.25, 1: 0.20, 2: 0.15, 3: 0.12, 4: 0.10}
_START_STAGE = (0.7, 0.2, 0.1)  # prospecting, qualification, discovery
_WIN = (0.2, 1.0, 0.3)  # intercept, x mean shared utility, x log(1 + n_shared)
_EVENTS_PER_IMPRESSION = 1.1
_EXPLORATION = 0.1
_ORGANIC_CANDIDATES = 40
_POLICY_NOISE = 2.0
_FEEDBACK_RATE = 0.1
_SIZE_MEDIAN_EUR = 40_000.0


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


@dataclass
class GeneratedData:
    """One generated world: the tables (each valid under its contract) and the config."""

    assets: pd.DataFrame
    partners: pd.DataFrame
    deals: pd.DataFrame
    events: pd.DataFrame
    config: GeneratorConfig

    def truth(self) -> dict[str, Any]:
        """The ground-truth parameters these data were generated from."""
        return truth_parameters(self.config)


# --- loading the committed demo data -----------------------------------------------------------


def load_demo_assets(root: Path = DEMO_DIR) -> pd.DataFrame:
    """The demo catalog (data/demo/assets.jsonl), validated against ASSETS and normalised."""
    path = root / "assets.jsonl"
    with path.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    return _validated(pd.DataFrame.from_records(records), ASSETS, source=str(path))


def load_demo_partners(root: Path = DEMO_DIR) -> pd.DataFrame:
    """The demo partners (data/demo/partners.csv), validated against PARTNERS and normalised."""
    path = root / "partners.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return _validated(frame, PARTNERS, source=str(path))


def _validated(frame: pd.DataFrame, contract: TableContract, *, source: str) -> pd.DataFrame:
    """`validate_table`, then date columns as datetime64 (NaT when missing) so that callers
    can compare and write them without converting cell by cell."""
    out = validate_table(frame, contract, source=source)
    for col in contract.columns:
        if col.kind in ("date", "datetime"):
            out[col.name] = pd.to_datetime(out[col.name])
    return out


# --- the truth ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Truth:
    affinity: np.ndarray  # (n_stages, n_types)
    w_stage: float
    w_maturity: float
    w_industry: float
    w_product: float
    w_competitor: float
    w_language: float
    w_tag: float
    quality_std: float
    depth_slope: float
    depth_offset: float
    bias: float


def _affinity_table(config: GeneratorConfig) -> dict[str, dict[str, float]]:
    base = VARIANTS[config.variant]["affinity"]
    table = {s: dict(base[s]) for s in STAGES}
    for stage, row in (config.stage_type_affinity or {}).items():
        for atype, value in row.items():
            table[stage][atype] = float(value)
    return table


def truth_parameters(config: GeneratorConfig) -> dict[str, Any]:
    """The truth of `config` as plain JSON-able data: variant, weights, affinity table."""
    params = {k: v for k, v in VARIANTS[config.variant].items() if k != "affinity"}
    if config.quality_std is not None:
        params["quality_std"] = float(config.quality_std)
    return {
        "variant": config.variant,
        "seed": config.seed,
        "weights": params,
        "stage_type_affinity": _affinity_table(config),
    }


def _truth(config: GeneratorConfig) -> _Truth:
    params = truth_parameters(config)
    table = params["stage_type_affinity"]
    matrix = np.array([[table[s][t] for t in TYPES] for s in STAGES], dtype=np.float64)
    return _Truth(affinity=matrix, **params["weights"])


def asset_quality(asset_ids: Iterable[str], config: GeneratorConfig) -> np.ndarray:
    """Latent quality of each asset (the `quality_std * z(a)` term), deterministic per
    (seed, asset_id) and independent of the catalog around the asset."""
    z = _hash_normal(list(asset_ids), config.seed)
    return _truth(config).quality_std * z


def _hash_normal(ids: list[str], seed: int) -> np.ndarray:
    """Standard normals from blake2b(seed, id) by Box-Muller (no dependence on Python's hash)."""
    raw = np.empty((len(ids), 2), dtype=np.uint64)
    for i, asset_id in enumerate(ids):
        digest = hashlib.blake2b(f"{seed}|{asset_id}".encode(), digest_size=16).digest()
        raw[i, 0] = int.from_bytes(digest[:8], "little")
        raw[i, 1] = int.from_bytes(digest[8:], "little")
    u = (raw >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    u1 = np.clip(u[:, 0], 1e-12, 1.0)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u[:, 1])


# --- encoding tables as arrays ------------------------------------------------------------------


class _Vocab:
    """Slugs -> bit positions in a uint64 mask (beyond 64 distinct slugs, bits are shared:
    a rare false "match" between two different slugs, acceptable for synthetic data)."""

    def __init__(self, *columns: Iterable[Any]) -> None:
        items = sorted({s for col in columns for cell in col for s in _as_list(cell)})
        self.bit = {s: i % 64 for i, s in enumerate(items)}

    def masks(self, column: Iterable[Any]) -> np.ndarray:
        out = []
        for cell in column:
            m = 0
            for s in _as_list(cell):
                if s in self.bit:
                    m |= 1 << self.bit[s]
            out.append(m)
        return np.array(out, dtype=np.uint64)


def _as_list(cell: Any) -> list[str]:
    """A list cell in any of the forms validation accepts, as lowercase strings (fast paths
    for Python lists and single values, `split_list` for the rest)."""
    if isinstance(cell, (list, tuple, np.ndarray)):
        return [str(v).strip().lower() for v in cell if not is_missing(v)]
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return []
    if isinstance(cell, str) and not any(c in cell for c in "[;,|"):
        text = cell.strip().lower()
        return [text] if text else []
    return [str(v).lower() for v in split_list(cell)]


def _index_of(column: Iterable[Any], allowed: list[str]) -> np.ndarray:
    """Enum column -> positions in `allowed` (-1 when missing)."""
    lookup = {v: i for i, v in enumerate(allowed)}
    out = []
    for cell in column:
        out.append(-1 if is_missing(cell) else lookup.get(str(cell).strip().lower(), -1))
    return np.array(out, dtype=np.int64)


def _enum_masks(column: Iterable[Any], allowed: list[str]) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(allowed)}
    out = []
    for cell in column:
        m = 0
        for v in _as_list(cell):
            if v in lookup:
                m |= 1 << lookup[v]
        out.append(m)
    return np.array(out, dtype=np.int64)


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


@dataclass
class _Assets:
    ids: np.ndarray
    type: np.ndarray
    depth: np.ndarray
    lang: np.ndarray
    ind: np.ndarray
    prod: np.ndarray
    comp: np.ndarray
    region: np.ndarray
    stage_mask: np.ndarray
    mat_mask: np.ndarray
    battlecard: np.ndarray
    pub: np.ndarray  # days since the window start (-inf: no date)
    exp: np.ndarray  # days since the window start (+inf: never)
    live: np.ndarray  # status published (or unset)
    min_tier: np.ndarray
    z: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)


@dataclass
class _Partners:
    ids: np.ndarray
    index: dict[str, int]
    maturity: np.ndarray
    tier: np.ndarray
    lang_mask: np.ndarray
    first_lang: np.ndarray
    region: np.ndarray
    ind: np.ndarray
    cert: np.ndarray
    joined: np.ndarray  # days since the window start (-inf: unknown)


@dataclass
class _Deals:
    partner: np.ndarray
    stage: np.ndarray
    ind: np.ndarray
    prod: np.ndarray
    comp: np.ndarray
    lang: np.ndarray


@dataclass
class _Vocabs:
    industries: _Vocab
    products: _Vocab
    competitors: _Vocab
    regions: _Vocab


def _vocabs(assets: pd.DataFrame, partners: pd.DataFrame, deals: pd.DataFrame | None) -> _Vocabs:
    deal_ind = _column(deals, "industry") if deals is not None else []
    deal_prod = _column(deals, "products") if deals is not None else []
    deal_comp = _column(deals, "competitors") if deals is not None else []
    return _Vocabs(
        industries=_Vocab(_column(assets, "industries"), _column(partners, "industries"), deal_ind),
        products=_Vocab(
            _column(assets, "products"), _column(partners, "certified_products"), deal_prod
        ),
        competitors=_Vocab(_column(assets, "competitors"), deal_comp),
        regions=_Vocab(_column(assets, "regions"), _column(partners, "regions")),
    )


def _days_since(column: list[Any], start: pd.Timestamp, missing: float) -> np.ndarray:
    ts = pd.to_datetime(pd.Series(column, dtype=object), errors="coerce")
    days = (ts - start) / pd.Timedelta(days=1)
    return days.fillna(missing).to_numpy(dtype=np.float64)


def _encode_assets(
    assets: pd.DataFrame, vocabs: _Vocabs, config: GeneratorConfig, start: pd.Timestamp
) -> _Assets:
    ids = np.array([str(v) for v in assets["asset_id"]], dtype=object)
    depth = _index_of(_column(assets, "depth"), DEPTHS).astype(np.float64)
    depth[depth < 0] = np.nan
    status = _index_of(_column(assets, "status"), values(AssetStatus))
    types = _index_of(assets["type"], TYPES)
    if (types < 0).any():
        bad = assets["type"].iloc[int(np.flatnonzero(types < 0)[0])]
        raise ValueError(f"type={bad!r} is not an asset type; expected one of {TYPES}")
    return _Assets(
        ids=ids,
        type=types,
        depth=depth,
        lang=_index_of(_column(assets, "language"), LANGUAGES),
        ind=vocabs.industries.masks(_column(assets, "industries")),
        prod=vocabs.products.masks(_column(assets, "products")),
        comp=vocabs.competitors.masks(_column(assets, "competitors")),
        region=vocabs.regions.masks(_column(assets, "regions")),
        stage_mask=_enum_masks(_column(assets, "stages"), STAGES),
        mat_mask=_enum_masks(_column(assets, "maturities"), MATURITIES),
        battlecard=types == TYPES.index(AssetType.BATTLECARD),
        pub=_days_since(_column(assets, "published_at"), start, -np.inf),
        exp=_days_since(_column(assets, "expires_at"), start, np.inf),
        live=(status < 0) | (status == values(AssetStatus).index(AssetStatus.PUBLISHED)),
        min_tier=_index_of(_column(assets, "min_tier"), TIERS),
        z=_hash_normal(list(ids), config.seed),
    )


def _encode_partners(partners: pd.DataFrame, vocabs: _Vocabs, start: pd.Timestamp) -> _Partners:
    ids = np.array([str(v) for v in partners["partner_id"]], dtype=object)
    langs = [_as_list(c) for c in _column(partners, "languages")]
    first = np.array(
        [LANGUAGES.index(ls[0]) if ls and ls[0] in LANGUAGES else -1 for ls in langs],
        dtype=np.int64,
    )
    return _Partners(
        ids=ids,
        index={pid: i for i, pid in enumerate(ids)},
        maturity=_index_of(partners["maturity"], MATURITIES),
        tier=_index_of(partners["tier"], TIERS),
        lang_mask=_enum_masks(langs, LANGUAGES),
        first_lang=first,
        region=vocabs.regions.masks(_column(partners, "regions")),
        ind=vocabs.industries.masks(_column(partners, "industries")),
        cert=vocabs.products.masks(_column(partners, "certified_products")),
        joined=_days_since(_column(partners, "joined_at"), start, -np.inf),
    )


def _encode_deals(deals: pd.DataFrame, partners: _Partners, vocabs: _Vocabs) -> _Deals:
    try:
        pidx = np.array([partners.index[str(p)] for p in deals["partner_id"]], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"deal partner_id {exc.args[0]!r} is not in the partners table") from None
    stage = _index_of(deals["stage"], STAGES)
    if (stage < 0).any():
        bad = deals["stage"].iloc[int(np.flatnonzero(stage < 0)[0])]
        raise ValueError(f"stage={bad!r} is not a deal stage; expected one of {STAGES}")
    lang = _index_of(_column(deals, "language"), LANGUAGES)
    lang = np.where(lang < 0, partners.first_lang[pidx], lang)
    return _Deals(
        partner=pidx,
        stage=stage,
        ind=vocabs.industries.masks(_column(deals, "industry")),
        prod=vocabs.products.masks(_column(deals, "products")),
        comp=vocabs.competitors.masks(_column(deals, "competitors")),
        lang=lang,
    )


def _utility(
    a: _Assets, p: _Partners, d: _Deals, di: np.ndarray, ai: np.ndarray, truth: _Truth
) -> np.ndarray:
    """u for the pairs (deal di[k], asset ai[k]); see the module docstring."""
    stage = d.stage[di]
    pi = d.partner[di]
    aff = truth.affinity[stage, a.type[ai]]
    depth = a.depth[ai]
    ideal = truth.depth_slope * p.maturity[pi] + truth.depth_offset
    fit = np.where(np.isnan(depth), 0.0, np.clip(1.0 - np.abs(ideal - depth) / 1.5, -1.0, 1.0))
    zero = np.uint64(0)
    a_ind, d_ind = a.ind[ai], d.ind[di]
    ind = np.where((a_ind == zero) | (d_ind == zero), 0.4, ((a_ind & d_ind) != zero) * 1.0)
    a_prod = a.prod[ai]
    prod = np.where(a_prod == zero, 0.4, ((a_prod & d.prod[di]) != zero) * 1.0)
    comp = np.where(a.battlecard[ai], np.where((a.comp[ai] & d.comp[di]) != zero, 1.0, -1.0), 0.0)
    al = a.lang[ai]
    reads = ((p.lang_mask[pi] >> np.maximum(al, 0)) & 1) == 1
    lang = np.where(al < 0, 0.6, np.where(al == d.lang[di], 1.0, np.where(reads, 0.6, 0.0)))
    sm = a.stage_mask[ai]
    tag = np.where(sm == 0, 0.5, ((sm >> stage) & 1) * 1.0)
    return (
        truth.w_stage * aff
        + truth.w_maturity * fit
        + truth.w_industry * ind
        + truth.w_product * prod
        + truth.w_competitor * comp
        + truth.w_language * lang
        + truth.w_tag * tag
        + truth.quality_std * a.z[ai]
        + truth.bias
    )


def _encode_all(
    deals: pd.DataFrame, assets: pd.DataFrame, partners: pd.DataFrame, config: GeneratorConfig
) -> tuple[_Assets, _Partners, _Deals]:
    vocabs = _vocabs(assets, partners, deals)
    start = pd.Timestamp(config.start)
    a = _encode_assets(assets, vocabs, config, start)
    p = _encode_partners(partners, vocabs, start)
    return a, p, _encode_deals(deals, p, vocabs)


def true_utility(
    deals: pd.DataFrame, assets: pd.DataFrame, partners: pd.DataFrame, config: GeneratorConfig
) -> np.ndarray:
    """Ground-truth utility of every (deal, asset) pair, shape (len(deals), len(assets)).

    Each deal row is a context: its `stage`, `industry`, `products`, `competitors`,
    `language` and partner are used. To score a request at another stage than the deal's
    final one, pass a copy of the deal row with `stage` replaced. Latent quality depends on
    config.seed and the asset id only; per-impression noise is not included.
    """
    a, p, d = _encode_all(deals, assets, partners, config)
    truth = _truth(config)
    out = np.empty((len(d.stage), a.n), dtype=np.float64)
    chunk = max(1, 2_000_000 // max(a.n, 1))
    cols = np.arange(a.n)
    for lo in range(0, len(d.stage), chunk):
        rows = np.arange(lo, min(lo + chunk, len(d.stage)))
        di = np.repeat(rows, a.n)
        ai = np.tile(cols, len(rows))
        out[rows] = _utility(a, p, d, di, ai, truth).reshape(len(rows), a.n)
    return out


def true_utility_pairs(
    deal_rows: pd.DataFrame,
    asset_rows: pd.DataFrame,
    partners: pd.DataFrame,
    config: GeneratorConfig,
) -> np.ndarray:
    """Ground-truth utility of aligned pairs: row k of `deal_rows` with row k of `asset_rows`
    (equal lengths; rows may repeat). Same formula and conventions as `true_utility`."""
    if len(deal_rows) != len(asset_rows):
        raise ValueError(
            f"deal_rows has {len(deal_rows)} rows but asset_rows has {len(asset_rows)}; "
            "pairs must be aligned"
        )
    a, p, d = _encode_all(deal_rows, asset_rows, partners, config)
    k = np.arange(len(deal_rows))
    return _utility(a, p, d, k, k, _truth(config))


# --- simulation ---------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _business_hours(t: np.ndarray) -> np.ndarray:
    """Map a continuous time in days onto 08:00-18:00 of the same day (monotonic)."""
    day = np.floor(t)
    return day + (8.0 + 10.0 * (t - day)) / 24.0


@dataclass
class _DealSim:
    frame: pd.DataFrame  # the DEALS table, before the final stage is known
    size: np.ndarray
    visits: dict[str, np.ndarray]  # deal, stage, t0, t1
    closing_done: np.ndarray  # deal finished closing inside the window (outcome pending)
    closing_end: np.ndarray  # when (days)
    dropped: np.ndarray  # lost by dropping out
    dropped_at: np.ndarray
    last_stage: np.ndarray


def _simulate_deals(
    rng: np.random.Generator,
    config: GeneratorConfig,
    partners: pd.DataFrame,
    p: _Partners,
    start: pd.Timestamp,
) -> _DealSim:
    n = config.n_deals
    days = float(config.days)
    weights = (1.0 + 0.5 * p.maturity) * (1.0 + 0.3 * p.tier)
    # Partners that join too late to work a deal in the window get none (unless all do).
    in_time = p.joined < 0.85 * days
    if in_time.any():
        weights = weights * in_time
    pidx = rng.choice(len(p.ids), size=n, p=weights / weights.sum())
    # A deal starts after its partner joined the programme (and early enough to move on).
    lo = np.clip(p.joined[pidx], 0.0, 0.85 * days)
    created = lo + rng.random(n) * (0.9 * days - lo)
    start_stage = rng.choice(3, size=n, p=_START_STAGE)
    size = np.round(
        np.exp(rng.normal(np.log(_SIZE_MEDIAN_EUR * (1.0 + 0.6 * p.tier[pidx])), 0.8)), -2
    )
    size = np.maximum(size, 1000.0)

    # Context attributes from the partner's profile (a Python loop over deals, not events).
    rnd = random.Random(config.seed * 7919 + 17)
    roles = values(BuyerRole)
    role_w = [2, 3, 2, 3, 3, 2, 1]  # cio cfo cto technical business procurement end_user
    ind_col = partners["industries"].tolist()
    cert_col = partners["certified_products"].tolist()
    lang_col = partners["languages"].tolist()
    competitor_slugs = sorted(COMPETITOR_IDS)
    product_slugs = sorted(PRODUCT_IDS)
    rows = []
    for i in range(n):
        pi = int(pidx[i])
        inds = _as_list(ind_col[pi])
        industry = rnd.choice(inds) if inds and rnd.random() < 0.92 else None
        certified = _as_list(cert_col[pi])
        pool = INDUSTRY_PRODUCTS.get(industry or "", product_slugs)
        if certified and rnd.random() < 0.7:
            pool = certified
        products = rnd.sample(pool, k=min(len(pool), rnd.choice((1, 1, 1, 2))))
        r = rnd.random()
        n_comp = 2 if r < 0.1 else (1 if r < 0.6 else 0)
        competitors = rnd.sample(competitor_slugs, k=n_comp)
        role = rnd.choices(roles, weights=role_w)[0]
        langs = _as_list(lang_col[pi]) or ["en"]
        language = "en" if "en" in langs and rnd.random() < 0.2 else langs[0]
        note = deal_note(
            language=language,
            industry=industry,
            products=products,
            competitors=competitors,
            buyer_role=role,
            size=float(size[i]),
            rnd=rnd,
        )
        rows.append((industry, products, competitors, role, note, language))
    width = max(5, len(str(n)))
    created_ts = start + pd.to_timedelta(np.round(_business_hours(created) * 86_400), unit="s")
    frame = pd.DataFrame(
        {
            "deal_id": [f"D{i + 1:0{width}d}" for i in range(n)],
            "partner_id": p.ids[pidx],
            "stage": [STAGES[s] for s in start_stage],
            "industry": [r[0] for r in rows],
            "products": [r[1] for r in rows],
            "size": size,
            "competitors": [r[2] for r in rows],
            "buyer_role": [r[3] for r in rows],
            "notes": [r[4] for r in rows],
            "language": [r[5] for r in rows],
            "created_at": created_ts,
        }
    )

    # Stage timeline, vectorised over deals, one stage at a time.
    t = created.copy()
    alive = np.ones(n, dtype=bool)
    last = start_stage.copy()
    v_deal, v_stage, v_t0, v_t1 = [], [], [], []
    dropped = np.zeros(n, dtype=bool)
    dropped_at = np.full(n, np.nan)
    closing_done = np.zeros(n, dtype=bool)
    closing_end = np.full(n, np.nan)
    for s in range(_CLOSING + 1):
        enter = alive & (start_stage <= s) & (t < days)
        alive &= ~((start_stage <= s) & (t >= days))  # window over before this stage
        idx = np.flatnonzero(enter)
        dur = _STAGE_DAYS[0] + rng.exponential(_STAGE_DAYS[1], size=n)
        end = t + dur
        v_deal.append(idx)
        v_stage.append(np.full(len(idx), s))
        v_t0.append(t[idx])
        v_t1.append(np.minimum(end[idx], days))
        last[idx] = s
        completed = enter & (end < days)
        alive &= ~(enter & ~completed)  # still in this stage when the window ends
        if s < _CLOSING:
            drop = completed & (rng.random(n) < _DROP_AFTER[s])
            dropped |= drop
            dropped_at[drop] = end[drop]
            alive &= ~drop
        else:
            closing_done = completed
            closing_end[completed] = end[completed]
        t = np.where(enter, end, t)
    visits = {
        "deal": np.concatenate(v_deal),
        "stage": np.concatenate(v_stage),
        "t0": np.concatenate(v_t0),
        "t1": np.concatenate(v_t1),
    }
    return _DealSim(
        frame=frame,
        size=size,
        visits=visits,
        closing_done=closing_done,
        closing_end=closing_end,
        dropped=dropped,
        dropped_at=dropped_at,
        last_stage=last,
    )


class _Events:
    """Columns of events accumulated as numpy arrays; times in days since the window start."""

    _FIELDS = (
        "t",
        "type",
        "partner",
        "asset",
        "deal",
        "request",
        "position",
        "stage",
        "value",
        "outcome",
        "amount",
    )

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {f: [] for f in self._FIELDS}

    def add(self, t: np.ndarray, etype: str, partner: np.ndarray, **cols: np.ndarray) -> None:
        n = len(t)
        if n == 0:
            return
        defaults: dict[str, np.ndarray] = {
            "asset": np.full(n, -1, np.int64),
            "deal": np.full(n, -1, np.int64),
            "request": np.full(n, -1, np.int64),
            "position": np.full(n, -1, np.int64),
            "stage": np.full(n, -1, np.int64),
            "value": np.full(n, np.nan),
            "outcome": np.full(n, -1, np.int64),
            "amount": np.full(n, np.nan),
        }
        defaults.update(cols)
        self.parts["t"].append(np.asarray(t, np.float64))
        self.parts["type"].append(np.full(n, EVENT_TYPES.index(etype), np.int64))
        self.parts["partner"].append(np.asarray(partner, np.int64))
        for name, arr in defaults.items():
            self.parts[name].append(np.asarray(arr))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for name, chunks in self.parts.items():
            out[name] = np.concatenate(chunks) if chunks else np.empty(0)
        return out


@dataclass
class _Policy:
    """The logging policy, precomputed per group of requests that score alike.

    score(request, asset) = context[stage, languages read, maturity][asset]
                          + industry[deal industry][asset] + gate[tier, regions][asset]
                          + uniform noise, with time eligibility applied per batch.
    Each table row is one (small) group, so a batch of requests costs a few row gathers.
    """

    context: np.ndarray  # (n_stages * 8 * n_maturities, n_assets) float32
    industry: np.ndarray  # (n_distinct_deal_industries, n_assets) float32
    deal_industry: np.ndarray  # row of `industry` per deal
    gate: np.ndarray  # (n_distinct_partner_gates, n_assets) float32: 0 or -inf
    partner_gate: np.ndarray  # row of `gate` per partner


def _make_policy(rng: np.random.Generator, a: _Assets, p: _Partners, d: _Deals) -> _Policy:
    playbook = np.array([[DEFAULT_AFFINITY[s][t] for t in TYPES] for s in STAGES])
    # Popularity: partly quality (good assets get talked about), partly luck.
    log_pop = 0.5 * a.z + 0.8 * rng.standard_normal(a.n)
    n_s, n_m = len(STAGES), len(MATURITIES)
    context = np.empty((n_s, 8, n_m, a.n), dtype=np.float32)
    for s in range(n_s):
        tag = np.where(a.stage_mask == 0, 0.5, ((a.stage_mask >> s) & 1) * 1.0)
        base = 1.2 * playbook[s, a.type] + 0.8 * tag + 0.5 * log_pop
        for lm in range(8):
            reads = (((lm >> np.maximum(a.lang, 0)) & 1) == 1) | (a.lang < 0)
            for m in range(n_m):
                context[s, lm, m] = base + 1.5 * reads + 0.4 * ((a.mat_mask >> m) & 1)
    zero = np.uint64(0)
    industries, deal_industry = np.unique(d.ind, return_inverse=True)
    industry = np.array(
        [0.5 * ((a.ind & ind) != zero) for ind in industries], dtype=np.float32
    ).reshape(len(industries), a.n)
    keys = np.stack([p.tier, p.region.view(np.int64)], axis=1)
    gates, partner_gate = np.unique(keys, axis=0, return_inverse=True)
    gate = np.zeros((len(gates), a.n), dtype=np.float32)
    for g, (tier, region) in enumerate(gates):
        region_u = np.array([region], dtype=np.int64).view(np.uint64)[0]
        ok = a.live & (a.min_tier <= tier)
        ok &= (a.region == zero) | ((a.region & region_u) != zero)
        gate[g, ~ok] = -np.inf
    return _Policy(
        context=context.reshape(n_s * 8 * n_m, a.n),
        industry=industry,
        deal_industry=deal_industry.ravel(),
        gate=gate,
        partner_gate=partner_gate.ravel(),
    )


def _eligible(
    a: _Assets, p: _Partners, pi: np.ndarray, t: np.ndarray, ai: np.ndarray
) -> np.ndarray:
    """Which candidate assets ai (B, C) partner pi (B,) may see at times t (B,)."""
    zero = np.uint64(0)
    region = a.region[ai]
    ok = a.live[ai] & (a.pub[ai] <= t[:, None]) & (a.exp[ai] > t[:, None])
    ok &= a.min_tier[ai] <= p.tier[pi][:, None]
    ok &= (region == zero) | ((region & p.region[pi][:, None]) != zero)
    return ok


def _show(
    rng: np.random.Generator,
    a: _Assets,
    p: _Partners,
    d: _Deals,
    policy: _Policy,
    req_deal: np.ndarray,
    req_stage: np.ndarray,
    req_t: np.ndarray,
    k: int,
) -> np.ndarray:
    """The logging policy's ranked lists: (n_requests, k) asset indices, -1 where fewer than
    k assets were eligible. Requests must be sorted by time (batches span a short period, so
    only assets published or expiring inside it need a per-request date check)."""
    n_req = len(req_deal)
    k_eff = min(k, a.n)
    shown = np.full((n_req, k), -1, dtype=np.int64)
    batch = max(1, 3_000_000 // max(a.n, 1))
    n_m = len(MATURITIES)
    pi_all = d.partner[req_deal]
    group = (req_stage * 8 + p.lang_mask[pi_all]) * n_m + np.maximum(p.maturity[pi_all], 0)
    for lo in range(0, n_req, batch):
        sl = slice(lo, min(lo + batch, n_req))
        dd, t = req_deal[sl], req_t[sl]
        score = policy.context[group[sl]]
        score += policy.industry[policy.deal_industry[dd]]
        explore = rng.random(len(dd)) < _EXPLORATION
        score[explore] = 0.0
        score += policy.gate[policy.partner_gate[pi_all[sl]]]
        t_lo, t_hi = float(t.min()), float(t.max())
        always = (a.pub <= t_lo) & (a.exp > t_hi)
        maybe = (a.pub <= t_hi) & (a.exp > t_lo)
        score += np.where(maybe, 0.0, -np.inf).astype(np.float32)
        unsure = np.flatnonzero(maybe & ~always)
        if len(unsure):
            sub = score[:, unsure]
            sub[(a.pub[unsure] > t[:, None]) | (a.exp[unsure] <= t[:, None])] = -np.inf
            score[:, unsure] = sub
        score += rng.random(score.shape, dtype=np.float32) * np.float32(_POLICY_NOISE)
        if k_eff < a.n:
            part = np.argpartition(score, a.n - k_eff, axis=1)[:, a.n - k_eff :]
        else:
            part = np.tile(np.arange(a.n), (len(dd), 1))
        vals = np.take_along_axis(score, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        top = np.take_along_axis(part, order, axis=1)
        top_vals = np.take_along_axis(vals, order, axis=1)
        top[~np.isfinite(top_vals)] = -1
        shown[sl, :k_eff] = top
    return shown


@dataclass
class _Behaviour:
    shared_sum: np.ndarray
    shared_n: np.ndarray
    opened_sum: np.ndarray
    opened_n: np.ndarray


def _simulate_requests(
    rng: np.random.Generator,
    config: GeneratorConfig,
    a: _Assets,
    p: _Partners,
    d: _Deals,
    truth: _Truth,
    policy: _Policy,
    visits: dict[str, np.ndarray],
    lam: float,
    first_request: int,
    events: _Events,
) -> tuple[_Behaviour, int]:
    """Requests inside `visits`, their impressions and what the partner did with them."""
    n_visits = len(visits["deal"])
    if lam >= 1.0:
        counts = 1 + rng.poisson(lam - 1.0, size=n_visits)
    else:
        counts = (rng.random(n_visits) < lam).astype(np.int64)
    req_visit = np.repeat(np.arange(n_visits), counts)
    req_deal = visits["deal"][req_visit]
    req_stage = visits["stage"][req_visit]
    t0, t1 = visits["t0"][req_visit], visits["t1"][req_visit]
    req_t = _business_hours(t0 + rng.random(len(req_visit)) * (t1 - t0))
    order = np.lexsort((req_deal, req_t))  # request ids in time order
    req_deal, req_stage, req_t = req_deal[order], req_stage[order], req_t[order]
    n_req = len(req_deal)
    k = config.impressions_per_request
    n_deals = len(d.partner)
    empty = _Behaviour(*(np.zeros(n_deals) for _ in range(4)))
    if n_req == 0 or a.n == 0:
        return empty, 0

    shown = _show(rng, a, p, d, policy, req_deal, req_stage, req_t, k)
    r_idx, pos = np.nonzero(shown >= 0)
    ai = shown[r_idx, pos]
    di = req_deal[r_idx]
    # The deal's stage at this request (the encoding holds the current stage per deal).
    d_at = _Deals(
        partner=d.partner[di],
        stage=req_stage[r_idx],
        ind=d.ind[di],
        prod=d.prod[di],
        comp=d.comp[di],
        lang=d.lang[di],
    )
    k_rows = np.arange(len(ai))
    u = _utility(a, p, d_at, k_rows, ai, truth)
    pi = d.partner[di]
    t = req_t[r_idx]
    request = first_request + r_idx
    stage = req_stage[r_idx]
    events.add(
        t, EventType.IMPRESSION, pi, asset=ai, deal=di, request=request, position=pos, stage=stage
    )

    examine = rng.random(len(ai)) < (1.0 / np.log2(pos + 2.0)) ** config.position_bias
    u_noisy = u + config.noise * rng.standard_normal(len(ai))
    opened = examine & (rng.random(len(ai)) < _sigmoid(u_noisy))
    downloaded = opened & (rng.random(len(ai)) < _sigmoid(u_noisy - 1.0))
    shared = opened & (rng.random(len(ai)) < _sigmoid(u_noisy - 2.0))
    feedback = opened & (rng.random(len(ai)) < _FEEDBACK_RATE)
    fb_value = np.where(rng.random(len(ai)) < _sigmoid(2.0 * u_noisy), 1.0, -1.0)
    minute = 1.0 / 1440.0
    t_open = t + (0.1 + rng.exponential(3.0, len(ai))) * minute
    t_down = t_open + (0.2 + rng.exponential(1.5, len(ai))) * minute
    t_share = t_open + np.minimum(2.0 + rng.exponential(30.0, len(ai)), 180.0) * minute
    t_fb = t_open + (0.5 + rng.exponential(4.0, len(ai))) * minute
    for mask, times, etype in (
        (opened, t_open, EventType.OPEN),
        (downloaded, t_down, EventType.DOWNLOAD),
        (shared, t_share, EventType.SHARE),
    ):
        events.add(
            times[mask],
            etype,
            pi[mask],
            asset=ai[mask],
            deal=di[mask],
            request=request[mask],
            stage=stage[mask],
        )
    events.add(
        t_fb[feedback],
        EventType.FEEDBACK,
        pi[feedback],
        asset=ai[feedback],
        deal=di[feedback],
        request=request[feedback],
        stage=stage[feedback],
        value=fb_value[feedback],
    )
    behaviour = _Behaviour(
        shared_sum=np.bincount(di[shared], weights=u[shared], minlength=n_deals),
        shared_n=np.bincount(di[shared], minlength=n_deals).astype(np.float64),
        opened_sum=np.bincount(di[opened], weights=u[opened], minlength=n_deals),
        opened_n=np.bincount(di[opened], minlength=n_deals).astype(np.float64),
    )
    return behaviour, n_req


def _organic(
    rng: np.random.Generator,
    n: int,
    a: _Assets,
    p: _Partners,
    d: _Deals,
    truth: _Truth,
    visits: dict[str, np.ndarray],
    events: _Events,
) -> None:
    """Opens found by search, without an impression: the best of a few random candidates."""
    if n <= 0 or len(visits["deal"]) == 0 or a.n == 0:
        return
    v = rng.integers(0, len(visits["deal"]), size=n)
    di, stage = visits["deal"][v], visits["stage"][v]
    t0, t1 = visits["t0"][v], visits["t1"][v]
    t = _business_hours(t0 + rng.random(n) * (t1 - t0))
    pi = d.partner[di]
    c = min(_ORGANIC_CANDIDATES, a.n)
    cand = rng.integers(0, a.n, size=(n, c))
    ctx = _Deals(
        partner=pi, stage=stage, ind=d.ind[di], prod=d.prod[di], comp=d.comp[di], lang=d.lang[di]
    )
    rows = np.repeat(np.arange(n), c)
    u = _utility(a, p, ctx, rows, cand.ravel(), truth).reshape(n, c)
    score = u + rng.gumbel(size=(n, c))
    score[~_eligible(a, p, pi, t, cand)] = -np.inf
    best = np.argmax(score, axis=1)
    ok = np.isfinite(score[np.arange(n), best])
    ai = cand[np.arange(n), best][ok]
    ub = u[np.arange(n), best][ok]
    di, pi, stage, t = di[ok], pi[ok], stage[ok], t[ok]
    # A quarter are browsing outside a deal: no deal id, no stage.
    in_deal = rng.random(len(ai)) < 0.75
    deal_col = np.where(in_deal, di, -1)
    stage_col = np.where(in_deal, stage, -1)
    events.add(t, EventType.OPEN, pi, asset=ai, deal=deal_col, stage=stage_col)
    down = rng.random(len(ai)) < _sigmoid(ub - 1.0)
    t_down = t + (0.2 + rng.exponential(1.5, len(ai))) / 1440.0
    events.add(
        t_down[down],
        EventType.DOWNLOAD,
        pi[down],
        asset=ai[down],
        deal=deal_col[down],
        stage=stage_col[down],
    )


def _events_frame(
    ev: dict[str, np.ndarray],
    a: _Assets,
    p: _Partners,
    deal_ids: np.ndarray,
    start: pd.Timestamp,
    seed: int,
) -> pd.DataFrame:
    n = len(ev["t"])
    ms = np.round(ev["t"] * 86_400_000).astype(np.int64)
    order = np.lexsort((ev["asset"], ev["position"], ev["type"], ev["request"], ms))

    def take(name: str) -> np.ndarray:
        return ev[name][order]

    def lookup(ids: np.ndarray, idx: np.ndarray) -> np.ndarray:
        table = np.empty(len(ids) + 1, dtype=object)  # last slot: None for "no value"
        table[: len(ids)] = ids
        return table[np.where(idx >= 0, idx, len(ids))]

    request = take("request").astype(np.int64)
    n_requests = int(request.max(initial=-1)) + 1
    request_ids = np.array([None] + [f"r{seed}-{j}" for j in range(n_requests)], dtype=object)
    position = take("position").astype(np.int64)
    stage = take("stage").astype(np.int64)
    outcome = take("outcome").astype(np.int64)
    frame = pd.DataFrame(
        {
            "event_id": [f"e{seed}-{i}" for i in range(n)],
            "ts": start + pd.to_timedelta(ms[order], unit="ms"),
            "type": np.array(EVENT_TYPES, dtype=object)[take("type").astype(np.int64)],
            "partner_id": p.ids[take("partner").astype(np.int64)],
            "asset_id": lookup(a.ids, take("asset").astype(np.int64)),
            "deal_id": lookup(deal_ids, take("deal").astype(np.int64)),
            "request_id": request_ids[request + 1],
            "position": pd.array(np.where(position >= 0, position, 0), dtype="Int64"),
            "stage": lookup(np.array(STAGES, dtype=object), stage),
            "value": take("value").astype(np.float64),
            "outcome": lookup(np.array(values(Outcome), dtype=object), outcome),
            "amount": take("amount").astype(np.float64),
        }
    )
    frame.loc[position < 0, "position"] = pd.NA
    return frame


def _trusted_frame(rows: list[dict[str, Any]], contract: TableContract) -> pd.DataFrame:
    """A table this module built itself, in the normalised form `validate_table` returns
    (every contract column, dates as datetime64), without re-checking each cell."""
    frame = pd.DataFrame.from_records(rows)
    for col in contract.columns:
        if col.name not in frame.columns:
            empty: list[Any] = (
                [[] for _ in range(len(frame))]
                if col.kind.endswith("_list")
                else [None] * len(frame)
            )
            frame[col.name] = empty
        elif col.kind in ("date", "datetime"):
            frame[col.name] = pd.to_datetime(frame[col.name])
    return frame[contract.names]


def _resolve_tables(
    config: GeneratorConfig, assets: pd.DataFrame | None, partners: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The caller's tables (validated: they come from outside), else the demo tables, else
    synthesized ones with the demo's distributions."""
    if assets is not None:
        assets = _validated(assets, ASSETS, source="assets")
    elif config.n_assets is None:
        assets = load_demo_assets()
    else:
        rows = build_assets(
            config.n_assets, seed=config.seed, window_start=config.start, window_days=config.days
        )
        assets = _trusted_frame(rows, ASSETS)
    if partners is not None:
        partners = _validated(partners, PARTNERS, source="partners")
    elif config.n_partners is None:
        partners = load_demo_partners()
    else:
        partners = _trusted_frame(build_partners(config.n_partners, seed=config.seed), PARTNERS)
    if len(partners) == 0:
        raise ValueError("partners is empty; deals need at least one partner")
    return assets, partners


def generate(
    config: GeneratorConfig,
    *,
    assets: pd.DataFrame | None = None,
    partners: pd.DataFrame | None = None,
) -> GeneratedData:
    """Generate deals and usage events (see the module docstring for the model).

    `assets` / `partners` replace the demo or synthesized tables when given (validated
    against their contracts first). Deterministic: the same config and tables give identical
    frames. Vectorised over requests: 1M events take about 4 s of CPU with the demo catalog,
    about 30 s with 10k synthesized assets (the policy ranks every eligible asset).
    """
    assets, partners = _resolve_tables(config, assets, partners)
    ss = np.random.SeedSequence([config.seed, 20250101])
    rng_deals, rng_policy, rng_req, rng_post, rng_org, rng_out = (
        np.random.default_rng(s) for s in ss.spawn(6)
    )
    start = pd.Timestamp(config.start)
    truth = _truth(config)

    vocab_partners = _vocabs(assets, partners, None)
    p0 = _encode_partners(partners, vocab_partners, start)
    sim = _simulate_deals(rng_deals, config, partners, p0, start)
    a, p, d = _encode_all(sim.frame, assets, partners, config)
    policy = _make_policy(rng_policy, a, p, d)
    events = _Events()

    k = config.impressions_per_request
    n_visits = len(sim.visits["deal"])
    expected_post = 0.5 * float(sim.closing_done.sum())
    target = config.n_events * (1.0 - config.organic_share) / (_EVENTS_PER_IMPRESSION * k)
    lam = target / max(1.0, n_visits + expected_post)
    behaviour, n_req = _simulate_requests(
        rng_req, config, a, p, d, truth, policy, sim.visits, lam, 0, events
    )

    # Outcomes: dropped deals are lost; deals through closing are won with a probability that
    # rises with the utility of what they shared.
    n = config.n_deals
    mean_shared = np.divide(behaviour.shared_sum, np.maximum(behaviour.shared_n, 1.0))
    mean_opened = np.divide(behaviour.opened_sum, np.maximum(behaviour.opened_n, 1.0)) - 0.5
    s = np.where(
        behaviour.shared_n > 0, mean_shared, np.where(behaviour.opened_n > 0, mean_opened, -2.0)
    )
    p_win = _sigmoid(_WIN[0] + _WIN[1] * s + _WIN[2] * np.log1p(behaviour.shared_n))
    won = sim.closing_done & (rng_out.random(n) < p_win)
    lost_close = sim.closing_done & ~won
    t_close = _business_hours(np.nan_to_num(sim.closing_end, nan=0.0))
    t_drop = _business_hours(np.nan_to_num(sim.dropped_at, nan=0.0))
    won_amount = np.round(sim.size * rng_out.uniform(0.85, 1.05, n), 2)
    all_deals = np.arange(n)
    for mask, times, outcome, amount, stage in (
        (won, t_close, Outcome.WON, won_amount, np.full(n, _CLOSING)),
        (lost_close, t_close, Outcome.LOST, sim.size, np.full(n, _CLOSING)),
        (sim.dropped, t_drop, Outcome.LOST, sim.size, sim.last_stage),
    ):
        events.add(
            times[mask],
            EventType.DEAL_OUTCOME,
            d.partner[mask],
            deal=all_deals[mask],
            stage=stage[mask],
            outcome=np.full(int(mask.sum()), values(Outcome).index(outcome)),
            amount=amount[mask],
        )

    # Won deals go on into post-sale (adoption, training) until the window ends.
    days = float(config.days)
    post = np.flatnonzero(won & (sim.closing_end < days))
    post_t0 = sim.closing_end[post]
    post_t1 = np.minimum(
        post_t0 + _STAGE_DAYS[0] + rng_post.exponential(_STAGE_DAYS[1] * 2, len(post)), days
    )
    post_visits = {
        "deal": post,
        "stage": np.full(len(post), _POST_SALE),
        "t0": post_t0,
        "t1": post_t1,
    }
    _simulate_requests(rng_post, config, a, p, d, truth, policy, post_visits, lam, n_req, events)
    last_stage = sim.last_stage.copy()
    last_stage[post] = _POST_SALE

    all_visits = {key: np.concatenate([sim.visits[key], post_visits[key]]) for key in post_visits}
    n_organic = round(config.n_events * config.organic_share / 1.3)
    _organic(rng_org, n_organic, a, p, d, truth, all_visits, events)

    deals = sim.frame.copy()
    deals["stage"] = [STAGES[s] for s in last_stage]
    deals = deals[DEALS.names]
    frame = _events_frame(
        events.arrays(), a, p, deals["deal_id"].to_numpy(dtype=object), start, config.seed
    )
    return GeneratedData(assets=assets, partners=partners, deals=deals, events=frame, config=config)


# --- writing ------------------------------------------------------------------------------------


def write_generated(data: GeneratedData, out_dir: Path) -> dict[str, Path]:
    """Write deals/events/partners/assets parquet files and ground_truth.json to `out_dir`.

    ground_truth.json holds the config, the truth parameters (weights, affinity table) and
    the latent quality of every asset, so an evaluation can rebuild the oracle ranking.
    Returns {name: path}.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        name: out_dir / f"{name}.parquet" for name in ("deals", "events", "partners", "assets")
    }
    data.deals.to_parquet(paths["deals"], index=False)
    data.events.to_parquet(paths["events"], index=False)
    data.partners.to_parquet(paths["partners"], index=False)
    data.assets.to_parquet(paths["assets"], index=False)
    quality = asset_quality(data.assets["asset_id"].astype(str), data.config)
    truth = {
        "config": asdict(data.config),
        "truth": truth_parameters(data.config),
        "formula": __doc__.split("Behaviour (simulation")[0].strip() if __doc__ else "",
        "asset_quality": {
            str(aid): round(float(q), 6)
            for aid, q in zip(data.assets["asset_id"], quality, strict=True)
        },
        "counts": {
            "assets": len(data.assets),
            "partners": len(data.partners),
            "deals": len(data.deals),
            "events": len(data.events),
            "events_by_type": {
                str(k): int(v) for k, v in data.events["type"].value_counts().sort_index().items()
            },
        },
    }
    paths["ground_truth"] = out_dir / "ground_truth.json"
    paths["ground_truth"].write_text(
        json.dumps(truth, ensure_ascii=False, indent=2, default=_json_default) + "\n",
        encoding="utf-8",
    )
    return paths


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)
