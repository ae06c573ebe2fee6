"""The tables as arrays: slugs as bits of uint64 masks, enums as positions, dates as days since
the window start, and each asset's latent quality draw. What the truth and the simulation
compute on, vectorised over (deal, asset) pairs.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from demo.generator.config import (
    DEPTHS,
    LANGUAGES,
    MATURITIES,
    STAGES,
    TIERS,
    TYPES,
    GeneratorConfig,
)
from features.schema import AssetStatus, AssetType, values
from features.validation import is_missing, split_list

__all__ = [
    "Assets",
    "Deals",
    "Partners",
    "Vocabs",
    "as_list",
    "build_vocabs",
    "encode_all",
    "encode_partners",
    "hash_normal",
]


def hash_normal(ids: list[str], seed: int) -> np.ndarray:
    """Standard normals from blake2b(seed, id) by Box-Muller (no dependence on Python's hash)."""
    raw = np.empty((len(ids), 2), dtype=np.uint64)
    for i, asset_id in enumerate(ids):
        digest = hashlib.blake2b(f"{seed}|{asset_id}".encode(), digest_size=16).digest()
        raw[i, 0] = int.from_bytes(digest[:8], "little")
        raw[i, 1] = int.from_bytes(digest[8:], "little")
    u = (raw >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    u1 = np.clip(u[:, 0], 1e-12, 1.0)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u[:, 1])


class _Vocab:
    """Slugs -> bit positions in a uint64 mask (beyond 64 distinct slugs, bits are shared:
    a rare false "match" between two different slugs, acceptable for synthetic data)."""

    def __init__(self, *columns: Iterable[Any]) -> None:
        items = sorted({s for col in columns for cell in col for s in as_list(cell)})
        self.bit = {s: i % 64 for i, s in enumerate(items)}

    def masks(self, column: Iterable[Any]) -> np.ndarray:
        out = []
        for cell in column:
            m = 0
            for s in as_list(cell):
                if s in self.bit:
                    m |= 1 << self.bit[s]
            out.append(m)
        return np.array(out, dtype=np.uint64)


def as_list(cell: Any) -> list[str]:
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
        for v in as_list(cell):
            if v in lookup:
                m |= 1 << lookup[v]
        out.append(m)
    return np.array(out, dtype=np.int64)


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


@dataclass
class Assets:
    """The catalog as arrays, one entry per asset."""

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
class Partners:
    """The partners as arrays, one entry per partner; `index` maps partner ids to rows."""

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
class Deals:
    """Deal contexts as arrays, one entry per deal (or per (deal at a stage) request)."""

    partner: np.ndarray
    stage: np.ndarray
    ind: np.ndarray
    prod: np.ndarray
    comp: np.ndarray
    lang: np.ndarray

    def at(self, rows: np.ndarray, stage: np.ndarray) -> Deals:
        """The contexts of deals `rows` (repeats allowed), each at its own `stage`."""
        return Deals(
            partner=self.partner[rows],
            stage=stage,
            ind=self.ind[rows],
            prod=self.prod[rows],
            comp=self.comp[rows],
            lang=self.lang[rows],
        )


@dataclass
class Vocabs:
    """The slug vocabularies shared by assets, partners and deals, so that masks compare."""

    industries: _Vocab
    products: _Vocab
    competitors: _Vocab
    regions: _Vocab


def build_vocabs(
    assets: pd.DataFrame, partners: pd.DataFrame, deals: pd.DataFrame | None
) -> Vocabs:
    """The vocabularies of the slugs the tables use (deals may be None: partners only)."""
    deal_ind = _column(deals, "industry") if deals is not None else []
    deal_prod = _column(deals, "products") if deals is not None else []
    deal_comp = _column(deals, "competitors") if deals is not None else []
    return Vocabs(
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
    assets: pd.DataFrame, vocabs: Vocabs, config: GeneratorConfig, start: pd.Timestamp
) -> Assets:
    ids = np.array([str(v) for v in assets["asset_id"]], dtype=object)
    depth = _index_of(_column(assets, "depth"), DEPTHS).astype(np.float64)
    depth[depth < 0] = np.nan
    status = _index_of(_column(assets, "status"), values(AssetStatus))
    types = _index_of(assets["type"], TYPES)
    if (types < 0).any():
        bad = assets["type"].iloc[int(np.flatnonzero(types < 0)[0])]
        raise ValueError(f"type={bad!r} is not an asset type; expected one of {TYPES}")
    return Assets(
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
        z=hash_normal(list(ids), config.seed),
    )


def encode_partners(partners: pd.DataFrame, vocabs: Vocabs, start: pd.Timestamp) -> Partners:
    """The partners as arrays; dates in days since `start`."""
    ids = np.array([str(v) for v in partners["partner_id"]], dtype=object)
    langs = [as_list(c) for c in _column(partners, "languages")]
    first = np.array(
        [LANGUAGES.index(ls[0]) if ls and ls[0] in LANGUAGES else -1 for ls in langs],
        dtype=np.int64,
    )
    return Partners(
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


def _encode_deals(deals: pd.DataFrame, partners: Partners, vocabs: Vocabs) -> Deals:
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
    return Deals(
        partner=pidx,
        stage=stage,
        ind=vocabs.industries.masks(_column(deals, "industry")),
        prod=vocabs.products.masks(_column(deals, "products")),
        comp=vocabs.competitors.masks(_column(deals, "competitors")),
        lang=lang,
    )


def encode_all(
    deals: pd.DataFrame, assets: pd.DataFrame, partners: pd.DataFrame, config: GeneratorConfig
) -> tuple[Assets, Partners, Deals]:
    """Assets, partners and deals as arrays over shared vocabularies."""
    vocabs = build_vocabs(assets, partners, deals)
    start = pd.Timestamp(config.start)
    a = _encode_assets(assets, vocabs, config, start)
    p = encode_partners(partners, vocabs, start)
    return a, p, _encode_deals(deals, p, vocabs)
