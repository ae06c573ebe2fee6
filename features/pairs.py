"""Context-asset pair features: one function for serving and training.

The catalog is encoded once into an `AssetTable` of integer codes and multi-hot matrices;
a batch of (context, asset) pairs is a `PairBatch` of per-pair arrays. `pair_features`
turns a batch into named float32 columns, vectorised over pairs, so scoring 300 candidates
for one request and building features for a million training examples run the same code.

Everything here is pure numpy: playbook affinities arrive as matrices, semantic similarity
and usage aggregates arrive as per-pair arrays computed by the caller.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.codes import codes_of
from features.schema import AssetType, BuyerRole, Depth, Language, Maturity, Stage, Tier, values
from features.timebase import days_since_epoch

STAGES = values(Stage)
MATURITIES = values(Maturity)
TYPES = values(AssetType)
DEPTHS = values(Depth)
LANGUAGES = values(Language)
ROLES = values(BuyerRole)
TIERS = values(Tier)


def _codes(items: Sequence[object], vocab: Sequence[str]) -> np.ndarray:
    """int16 positions in `vocab` (-1 missing or unknown), as the asset table stores them."""
    column = pd.Series(list(items), dtype=object)
    return codes_of(column, list(vocab), len(column)).astype(np.int16)


def multi_hot(lists: Sequence[Any], vocab: Sequence[str]) -> np.ndarray:
    """(len(lists), len(vocab)) bool: row r marks the items of `lists[r]` (compared as text).

    A missing list (None, or NaN as pandas leaves an empty list cell) marks nothing, and so
    do items not in `vocab`.
    """
    lookup = {v: i for i, v in enumerate(vocab)}
    out = np.zeros((len(lists), len(vocab)), dtype=bool)
    for row, items in enumerate(lists):
        if items is None or isinstance(items, float):
            continue
        for item in items:
            col = lookup.get(str(item))
            if col is not None:
                out[row, col] = True
    return out


@dataclass(frozen=True)
class AssetTable:
    """The catalog as integer codes, aligned with the rows of the assets frame."""

    ids: np.ndarray
    type_code: np.ndarray  # (n,) index into TYPES
    depth_code: np.ndarray  # (n,) index into DEPTHS, -1 when not stated
    language_code: np.ndarray  # (n,) index into LANGUAGES, -1 unknown
    min_tier_code: np.ndarray  # (n,) index into TIERS, -1 = no restriction
    stages: np.ndarray  # (n, len(STAGES)) bool: written for this stage
    maturities: np.ndarray  # (n, len(MATURITIES)) bool: written for this maturity
    roles: np.ndarray  # (n, len(ROLES)) bool
    industries: np.ndarray  # (n, len(industry_vocab)) bool
    products: np.ndarray  # (n, len(product_vocab)) bool
    competitors: np.ndarray  # (n, len(competitor_vocab)) bool
    regions: np.ndarray  # (n, len(region_vocab)) bool; no region = available everywhere
    published_day: np.ndarray  # (n,) days since 2000-01-01 (features.timebase), NaN unknown
    expires_day: np.ndarray  # (n,) NaN = never
    industry_vocab: tuple[str, ...]
    product_vocab: tuple[str, ...]
    competitor_vocab: tuple[str, ...]
    region_vocab: tuple[str, ...]
    position: dict[str, int] = field(repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_frame(cls, assets: pd.DataFrame) -> AssetTable:
        """Encode a validated assets frame (ASSETS contract, list cells as lists)."""

        def lists(column: str) -> list[list[str]]:
            if column not in assets:
                return [[] for _ in range(len(assets))]
            return [
                list(v) if v is not None and not isinstance(v, float) else []
                for v in assets[column]
            ]

        def vocab(column: str) -> tuple[str, ...]:
            return tuple(sorted({x for row in lists(column) for x in row}))

        industry_vocab, product_vocab = vocab("industries"), vocab("products")
        competitor_vocab, region_vocab = vocab("competitors"), vocab("regions")
        ids = assets["asset_id"].astype(str).to_numpy()
        return cls(
            ids=ids,
            type_code=_codes(assets["type"].tolist(), TYPES),
            depth_code=_codes(
                assets.get("depth", pd.Series([None] * len(assets))).tolist(), DEPTHS
            ),
            language_code=_codes(
                assets.get("language", pd.Series([None] * len(assets))).tolist(), LANGUAGES
            ),
            min_tier_code=_codes(
                assets.get("min_tier", pd.Series([None] * len(assets))).tolist(), TIERS
            ),
            stages=multi_hot(lists("stages"), STAGES),
            maturities=multi_hot(lists("maturities"), MATURITIES),
            roles=multi_hot(lists("buyer_roles"), ROLES),
            industries=multi_hot(lists("industries"), industry_vocab),
            products=multi_hot(lists("products"), product_vocab),
            competitors=multi_hot(lists("competitors"), competitor_vocab),
            regions=multi_hot(lists("regions"), region_vocab),
            published_day=days_since_epoch(
                assets.get("published_at", pd.Series([None] * len(assets)))
            ),
            expires_day=days_since_epoch(assets.get("expires_at", pd.Series([None] * len(assets)))),
            industry_vocab=industry_vocab,
            product_vocab=product_vocab,
            competitor_vocab=competitor_vocab,
            region_vocab=region_vocab,
            position={a: i for i, a in enumerate(ids.tolist())},
        )

    @functools.cached_property
    def per_asset(self) -> dict[str, np.ndarray]:
        """Features of the asset alone, float32 (n,), computed once per table: a request
        gathers them instead of recomputing them for every candidate."""
        f32 = np.float32
        return {
            "stage_untagged": (~self.stages.any(axis=1)).astype(f32),
            "maturity_untagged": (~self.maturities.any(axis=1)).astype(f32),
            "industry_agnostic": (~self.industries.any(axis=1)).astype(f32),
            "product_agnostic": (~self.products.any(axis=1)).astype(f32),
            "is_type_battlecard": (
                self.type_code == TYPES.index(AssetType.BATTLECARD.value)
            ).astype(f32),
            "type_code": self.type_code.astype(f32),
            "depth_code": self.depth_code.astype(f32),
        }

    @functools.cached_property
    def maturity_distance(self) -> np.ndarray:
        """(n, len(MATURITIES)) float32: distance from each maturity level to the nearest one
        the asset was written for (0 when it names none)."""
        levels = np.arange(len(MATURITIES))
        dist = np.abs(levels[None, :, None] - levels[None, None, :])  # (1, partner, asset level)
        dist = np.where(self.maturities[:, None, :], dist, 99).min(axis=2)
        return np.where(self.maturities.any(axis=1, keepdims=True), dist, 0).astype(np.float32)

    def hot(self, vocab: Sequence[str], items: Iterable[str]) -> np.ndarray:
        """A multi-hot row over `vocab` for `items` (unknown items are ignored)."""
        lookup = {v: i for i, v in enumerate(vocab)}
        row = np.zeros(len(vocab), dtype=bool)
        for item in items:
            if item in lookup:
                row[lookup[item]] = True
        return row


@dataclass(frozen=True)
class PlaybookMatrices:
    """Playbook affinities as arrays (see recommender.steering.playbook for the editable YAML)."""

    stage_type: np.ndarray  # (len(STAGES), len(TYPES)) in [0, 1]
    maturity_depth: np.ndarray  # (len(MATURITIES), len(DEPTHS)) in [0, 1]
    maturity_type: np.ndarray  # (len(MATURITIES), len(TYPES)) in [0, 1]
    default: float = 0.3
    weights: tuple[float, float, float] = (
        0.5,
        0.25,
        0.25,
    )  # stage_type, maturity_depth, maturity_type


@dataclass
class PairBatch:
    """Per-pair context arrays, aligned with `asset_pos` (positions in the AssetTable).

    Multi-hot context columns use the AssetTable's vocabularies. For one request every row is
    the same context; `PairBatch.single` broadcasts it cheaply.
    """

    asset_pos: np.ndarray  # (p,) int
    stage: np.ndarray  # (p,) index into STAGES, -1 unknown (a log that names no stage)
    maturity: np.ndarray  # (p,) index into MATURITIES
    industry: np.ndarray  # (p, n_industries) bool: the deal's industry (and partner focus)
    products: np.ndarray  # (p, n_products) bool
    competitors: np.ndarray  # (p, n_competitors) bool
    role: np.ndarray  # (p,) index into ROLES, -1 unknown
    languages: np.ndarray  # (p, len(LANGUAGES)) bool: the partner's languages
    day: np.ndarray  # (p,) days since 2000-01-01 of the request
    semantic: np.ndarray  # (p,) cosine similarity of deal text to the asset; 0 without text
    has_text: np.ndarray  # (p,) bool: the context carried notes text
    usage: dict[str, np.ndarray] = field(default_factory=dict)  # learned-from-logs features
    # (p,) index into LANGUAGES of the deal's own language, -1 unknown (None: all unknown).
    deal_language: np.ndarray | None = None
    # The one context every pair shares (`single` sets it): `pair_features` then indexes the
    # table's columns with it instead of pairing per-pair arrays, with the same result. A
    # batch whose context arrays are replaced per pair must drop it (`replace(..., one=None)`).
    one: OneContext | None = None

    @classmethod
    def single(
        cls,
        table: AssetTable,
        asset_pos: np.ndarray,
        *,
        stage: str,
        maturity: str,
        industry: str | None,
        products: Sequence[str],
        competitors: Sequence[str],
        role: str | None,
        languages: Sequence[str],
        day: float,
        semantic: np.ndarray | None,
        usage: dict[str, np.ndarray] | None = None,
        deal_language: str | None = None,
    ) -> PairBatch:
        p = len(asset_pos)

        def rep(row: np.ndarray) -> np.ndarray:
            return np.broadcast_to(row, (p, len(row)))

        one = OneContext(
            stage=STAGES.index(stage),
            maturity=MATURITIES.index(maturity),
            role=ROLES.index(role) if role in ROLES else -1,
            industry=table.hot(table.industry_vocab, [industry] if industry else []),
            products=table.hot(table.product_vocab, products),
            competitors=table.hot(table.competitor_vocab, competitors),
            languages=table.hot(LANGUAGES, languages),
            deal_language=LANGUAGES.index(deal_language) if deal_language in LANGUAGES else -1,
        )
        return cls(
            asset_pos=np.asarray(asset_pos, dtype=np.int64),
            stage=np.full(p, one.stage, dtype=np.int16),
            maturity=np.full(p, one.maturity, dtype=np.int16),
            industry=rep(one.industry),
            products=rep(one.products),
            competitors=rep(one.competitors),
            role=np.full(p, one.role, dtype=np.int16),
            languages=rep(one.languages),
            day=np.full(p, day, dtype=np.float64),
            semantic=(
                np.zeros(p, dtype=np.float32)
                if semantic is None
                else np.asarray(semantic, np.float32)
            ),
            has_text=np.full(p, semantic is not None, dtype=bool),
            usage=usage or {},
            deal_language=np.full(p, one.deal_language, np.int16),
            one=one,
        )


@dataclass(frozen=True)
class OneContext:
    """The context all pairs of a `PairBatch.single` share: codes (-1 unknown) and multi-hot
    rows over the asset table's vocabularies."""

    stage: int
    maturity: int
    role: int
    industry: np.ndarray
    products: np.ndarray
    competitors: np.ndarray
    languages: np.ndarray
    deal_language: int


# Names of the columns `pair_features` returns, in order (models store this list).
CONTENT_FEATURES = (
    "prior_stage_type",
    "prior_maturity_depth",
    "prior_maturity_type",
    "prior",
    "semantic",
    "has_text",
    "stage_tagged",
    "stage_untagged",
    "maturity_tagged",
    "maturity_untagged",
    "maturity_distance",
    "industry_match",
    "industry_agnostic",
    "product_match",
    "product_agnostic",
    "competitor_match",
    "role_match",
    "language_match",
    "age_days",
    "is_type_battlecard",
)


# More context-asset features for a learned scorer: whether the asset is in the deal's own
# language (falls back to language_match when the deal's language is not known), categories
# as integer codes (-1 = not stated; the playbook states a prior for stage x type and
# maturity x depth, a learned scorer finds the real interactions from these codes and the
# logs), and freshness (1 when published today, halving every FRESHNESS_HALF_LIFE_DAYS).
CONTEXT_FEATURES = (
    "deal_language_match",
    "stage_code",
    "maturity_code",
    "type_code",
    "depth_code",
    "role_code",
    "freshness",
)
CATEGORY_FEATURES = ("stage_code", "maturity_code", "type_code", "depth_code", "role_code")
FRESHNESS_HALF_LIFE_DAYS = 180.0

# Usage features (computed from events strictly before each pair's time by
# `features.usage.UsageIndex`, passed in through `PairBatch.usage`); see features/usage.py.
USAGE_FEATURES = (
    "asset_popularity",
    "segment_popularity",
    "segment_engagement",
    "exposure",
    "ctr",
    "ctr_stage",
    "ctr_maturity",
    "engagement_rate",
    "partner_engaged",
    "partner_history",
    "partner_type_affinity",
    "partner_similarity",
    "deal_engaged",
    "co_usage",
    "co_engagement",
    "won_rate",
    "won_deals",
)

# Everything a learned scorer reads, in order (a model's manifest stores its own list).
MODEL_FEATURES = (*CONTENT_FEATURES, *CONTEXT_FEATURES, *USAGE_FEATURES)


def _row_any(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise 'any overlap' of two equally shaped boolean matrices."""
    if a.shape[1] == 0:
        return np.zeros(a.shape[0], dtype=bool)
    return np.logical_and(a, b).any(axis=1)


def prior_components(
    table: AssetTable, batch: PairBatch, playbook: PlaybookMatrices
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three playbook affinities of each pair: stage x type, maturity x depth and
    maturity x type. A pair of no known stage (-1: a log that names none) takes the
    playbook's default for stage x type."""
    pos = batch.asset_pos
    types = table.type_code[pos]
    stage_type = playbook.stage_type[batch.stage, types]
    unknown = batch.stage < 0
    if unknown.any():
        stage_type = np.where(unknown, playbook.default, stage_type)
    depth = table.depth_code[pos]
    maturity_depth = np.where(
        depth >= 0, playbook.maturity_depth[batch.maturity, np.maximum(depth, 0)], playbook.default
    )
    maturity_type = playbook.maturity_type[batch.maturity, types]
    return (
        stage_type.astype(np.float32),
        maturity_depth.astype(np.float32),
        maturity_type.astype(np.float32),
    )


def pair_features(table: AssetTable, batch: PairBatch, playbook: PlaybookMatrices) -> PairColumns:
    """Named float32 feature columns for each pair in `batch`.

    Content features (`CONTENT_FEATURES`, `CONTEXT_FEATURES`) come from catalog metadata, the
    playbook and the deal text; usage features (`batch.usage`, `USAGE_FEATURES`: segment
    popularity, smoothed CTR, win influence, ...) are passed through as computed from events
    strictly before each pair's time by `features.usage.UsageIndex`.
    """
    pos = batch.asset_pos
    st, md, mt = prior_components(table, batch, playbook)
    w_st, w_md, w_mt = playbook.weights
    matches = _matches(table, batch) if batch.one is None else _one_matches(table, pos, batch.one)
    static = {k: v[pos] for k, v in table.per_asset.items()}
    age = batch.day - table.published_day[pos]
    age = np.where(np.isnan(age), 365.0, np.clip(age, 0, None))
    cols: dict[str, np.ndarray] = {
        "prior_stage_type": st,
        "prior_maturity_depth": md,
        "prior_maturity_type": mt,
        "prior": (w_st * st + w_md * md + w_mt * mt).astype(np.float32),
        "semantic": batch.semantic.astype(np.float32),
        "has_text": batch.has_text,
        "stage_tagged": matches["stage_tagged"],
        "stage_untagged": static["stage_untagged"],
        "maturity_tagged": matches["maturity_tagged"],
        "maturity_untagged": static["maturity_untagged"],
        "maturity_distance": matches["maturity_distance"],
        "industry_match": matches["industry_match"],
        "industry_agnostic": static["industry_agnostic"],
        "product_match": matches["product_match"],
        "product_agnostic": static["product_agnostic"],
        "competitor_match": matches["competitor_match"],
        "role_match": matches["role_match"],
        "language_match": matches["language_match"],
        "age_days": age,
        "is_type_battlecard": static["is_type_battlecard"],
        "deal_language_match": matches["deal_language_match"],
        "stage_code": batch.stage,
        "maturity_code": batch.maturity,
        "type_code": static["type_code"],
        "depth_code": static["depth_code"],
        "role_code": batch.role,
        "freshness": np.exp2(-age / FRESHNESS_HALF_LIFE_DAYS),
    }
    out = PairColumns((k, np.asarray(v, dtype=np.float32)) for k, v in cols.items())
    for name, column in batch.usage.items():
        out[name] = np.asarray(column, dtype=np.float32)
    return out


def _matches(table: AssetTable, batch: PairBatch) -> dict[str, np.ndarray]:
    """How each pair's asset fits its own context: tags, vocabularies, role and languages."""
    pos = batch.asset_pos
    n = len(pos)
    role_ok = batch.role >= 0
    role_match = np.zeros(n, dtype=bool)
    if role_ok.any():
        role_match[role_ok] = table.roles[pos[role_ok], batch.role[role_ok]]
    lang = table.language_code[pos]
    language_match = np.zeros(n, dtype=bool)
    known = lang >= 0
    language_match[known] = batch.languages[np.arange(n)[known], lang[known]]
    deal_lang = batch.deal_language if batch.deal_language is not None else np.full(n, -1)
    deal_known = (deal_lang >= 0) & known
    return {
        "stage_tagged": table.stages[pos][np.arange(n), batch.stage] & (batch.stage >= 0),
        "maturity_tagged": table.maturities[pos][np.arange(n), batch.maturity],
        # from the partner's maturity to the nearest one the asset was written for
        "maturity_distance": table.maturity_distance[pos, batch.maturity],
        "industry_match": _row_any(table.industries[pos], batch.industry),
        "product_match": _row_any(table.products[pos], batch.products),
        "competitor_match": _row_any(table.competitors[pos], batch.competitors),
        "role_match": role_match,
        "language_match": language_match,
        "deal_language_match": np.where(
            deal_lang >= 0, deal_known & (lang == deal_lang), language_match
        ),
    }


def _one_matches(table: AssetTable, pos: np.ndarray, one: OneContext) -> dict[str, np.ndarray]:
    """`_matches` when every pair has the context `one`: each column is a gather of the
    table's column for that context (a request's ~300 candidates: a third of the time)."""
    n = len(pos)
    lang = table.language_code[pos]
    known = lang >= 0
    language_match = one.languages[lang] & known  # -1 picks the last, then masked
    no = np.zeros(n, dtype=bool)
    return {
        "stage_tagged": table.stages[pos, one.stage] if one.stage >= 0 else no,
        "maturity_tagged": table.maturities[pos, one.maturity],
        "maturity_distance": table.maturity_distance[pos, one.maturity],
        "industry_match": _any_of(table.industries, pos, one.industry),
        "product_match": _any_of(table.products, pos, one.products),
        "competitor_match": _any_of(table.competitors, pos, one.competitors),
        "role_match": table.roles[pos, one.role] if one.role >= 0 else no,
        "language_match": language_match,
        "deal_language_match": (
            known & (lang == one.deal_language) if one.deal_language >= 0 else language_match
        ),
    }


def _any_of(matrix: np.ndarray, pos: np.ndarray, hot: np.ndarray) -> np.ndarray:
    """Whether each row `pos` of a multi-hot `matrix` has any of the columns `hot` marks."""
    columns = np.flatnonzero(hot)
    if len(columns) == 0:
        return np.zeros(len(pos), dtype=bool)
    if len(columns) == 1:
        return np.asarray(matrix[pos, columns[0]], dtype=bool)
    return np.asarray(matrix[np.ix_(pos, columns)].any(axis=1), dtype=bool)


class PairColumns(dict[str, np.ndarray]):
    """`pair_features`' columns: a dict that keeps the last matrix its columns were stacked
    into (`feature_matrix`), so that two models scoring one request's pairs with the same
    features, as an interleaving experiment's two arms do, stack them once. The matrix is
    read-only, and stacked again when a column has been replaced since."""

    __slots__ = ("_stacked",)

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        key = tuple(names), tuple(id(self[name]) for name in names)
        stacked = getattr(self, "_stacked", None)
        if stacked is not None and stacked[0] == key:
            return stacked[1]
        matrix = _stack(self, names)
        matrix.flags.writeable = False
        self._stacked = (key, matrix)
        return matrix


def feature_matrix(columns: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Stack named columns into an (n_pairs, len(names)) float32 matrix in `names` order
    (read-only when `columns` are `PairColumns`: it may be shared)."""
    if isinstance(columns, PairColumns):
        return columns.matrix(names)
    return _stack(columns, names)


def _stack(columns: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    if not names:
        return np.zeros((0, 0), dtype=np.float32)
    # one (k, n) copy and its transpose made contiguous: half the cost of column_stack
    return np.ascontiguousarray(np.array([columns[name] for name in names], dtype=np.float32).T)
