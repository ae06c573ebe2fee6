"""The ranking pipeline: candidates -> eligibility -> features -> score -> steer -> diversify.

`Snapshot` is everything one request reads (catalog, index, playbook, partners, model,
overrides), immutable once built; `Recommender.recommend` runs one request against it. The
service swaps whole snapshots, so a request never sees half an update.

Scoring before any usage log exists is the `ContentScorer`: the playbook prior, the deal text's
semantic similarity and metadata matches. A learned scorer (recommender.ranking.learned)
replaces it when a model is promoted; it consumes the same `pair_features` columns plus usage
features.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from features.pairs import (
    LANGUAGES,
    MATURITIES,
    STAGES,
    TIERS,
    TYPES,
    AssetTable,
    PairBatch,
    pair_features,
)
from recommender.catalog.catalog import Catalog
from recommender.embedding.embedders import Embedder, QueryCache
from recommender.steering.overrides import Action, Override, applicable
from recommender.steering.playbook import Playbook
from recommender.types import (
    DealContext,
    Filters,
    PartnerProfile,
    Reason,
    Recommendation,
    RecommendedItem,
    new_request_id,
)

MAX_CANDIDATES = 300
SEMANTIC_CANDIDATES = 150
TAGGED_CANDIDATES = 150
POPULAR_CANDIDATES = 50
SEEN_PENALTY = 0.15

_STAGE_LABEL = {
    "prospecting": "prospecting",
    "qualification": "qualification",
    "discovery": "discovery",
    "solution": "solution-design",
    "negotiation": "negotiation",
    "closing": "closing",
    "post_sale": "post-sale",
}


def _label(slug: str) -> str:
    return slug.replace("_", " ").replace("-", " ")


def _role_label(role: str) -> str:
    """'cio' -> 'CIO', 'technical_buyer' -> 'technical buyer'."""
    return role.upper() if len(role) <= 3 else _label(role)


class Scorer(Protocol):
    """Scores feature columns of candidate pairs; higher is better."""

    @property
    def version(self) -> str: ...

    def score(self, columns: dict[str, np.ndarray]) -> np.ndarray: ...


class UsageProvider(Protocol):
    """Usage features (popularity, CTR, history...) for candidate pairs, from the journal."""

    def features(
        self, partner: PartnerProfile, context: DealContext, asset_pos: np.ndarray, day: float
    ) -> dict[str, np.ndarray]: ...

    def popular(self, partner: PartnerProfile, k: int) -> np.ndarray:
        """Asset positions popular in the partner's segment, best first."""
        ...


@dataclass(frozen=True)
class ContentScorer:
    """Cold-start scorer: playbook prior, semantic match to the notes, metadata matches.

    score = w_prior * prior + w_text * text_relevance + w_meta * metadata_fit, each in [0, 1].
    Without notes text the text weight is shared out between the other two.
    """

    version: str = "playbook"
    w_prior: float = 0.45
    w_text: float = 0.30
    w_meta: float = 0.25

    def score(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        prior = columns["prior"]
        meta = metadata_fit(columns)
        sem = columns["semantic"]
        has_text = columns["has_text"] > 0
        if has_text.any() and len(sem):
            lo, hi = float(np.min(sem)), float(np.max(sem))
            rel = (sem - lo) / (hi - lo) if hi > lo else np.zeros_like(sem)
            with_text = self.w_prior * prior + self.w_text * rel + self.w_meta * meta
        else:
            with_text = np.zeros_like(prior)
        total = self.w_prior + self.w_meta
        without = (self.w_prior / total) * prior + (self.w_meta / total) * meta
        return np.where(has_text, with_text, without).astype(np.float32)


def metadata_fit(columns: dict[str, np.ndarray]) -> np.ndarray:
    """How well an asset's tags fit the deal, in [0, 1] (untagged counts as half a match)."""
    stage = np.where(
        columns["stage_tagged"] > 0, 1.0, np.where(columns["stage_untagged"] > 0, 0.5, 0.0)
    )
    maturity = np.where(
        columns["maturity_untagged"] > 0,
        0.6,
        np.clip(1.0 - columns["maturity_distance"] / 2.0, 0, 1),
    )
    industry = np.where(
        columns["industry_match"] > 0, 1.0, np.where(columns["industry_agnostic"] > 0, 0.5, 0.0)
    )
    product = np.where(
        columns["product_match"] > 0, 1.0, np.where(columns["product_agnostic"] > 0, 0.5, 0.0)
    )
    # A battlecard against another competitor than the one in the deal is of little use.
    competitor = np.where(
        columns["competitor_match"] > 0, 1.0, np.where(columns["is_type_battlecard"] > 0, 0.2, 0.6)
    )
    role = np.where(columns["role_match"] > 0, 1.0, 0.6)
    language = np.where(columns["language_match"] > 0, 1.0, 0.7)
    return (
        0.2 * stage
        + 0.2 * maturity
        + 0.2 * industry
        + 0.15 * product
        + 0.1 * competitor
        + 0.05 * role
        + 0.1 * language
    ).astype(np.float32)


@dataclass(frozen=True)
class Snapshot:
    """Everything one request reads, built fully before it is swapped in."""

    catalog: Catalog
    table: AssetTable
    playbook: Playbook
    partners: dict[str, PartnerProfile]
    embedder: Embedder
    scorer: Scorer = field(default_factory=ContentScorer)
    usage: UsageProvider | None = None
    overrides: tuple[Override, ...] = ()
    created_at: float = field(default_factory=time.time)
    # Per-asset arrays aligned with `table`, derived once.
    index_pos: np.ndarray = field(default=None)  # type: ignore[arg-type]
    static_ok: np.ndarray = field(default=None)  # type: ignore[arg-type]
    unrestricted: np.ndarray = field(default=None)  # type: ignore[arg-type]  # no region limit
    query_cache: QueryCache = field(default=None)  # type: ignore[assignment]
    # What an item shows and its reasons read, as plain Python objects per asset: picking ten
    # rows out of the (Arrow-backed) frame with `iloc[...].to_dict()` cost more than the
    # whole rest of a request.
    display: dict[str, np.ndarray] = field(default=None)  # type: ignore[arg-type]

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        playbook: Playbook,
        partners: dict[str, PartnerProfile],
        embedder: Embedder,
        *,
        scorer: Scorer | None = None,
        usage: UsageProvider | None = None,
        overrides: Sequence[Override] = (),
        query_cache: QueryCache | None = None,
    ) -> Snapshot:
        assets = catalog.assets
        table = AssetTable.from_frame(assets)
        index_lookup = {a: i for i, a in enumerate(catalog.index.asset_ids.tolist())}
        index_pos = np.array([index_lookup.get(a, -1) for a in table.ids], dtype=np.int64)
        status = assets["status"].fillna("published").to_numpy() if "status" in assets else None
        static_ok = np.ones(len(table), dtype=bool) if status is None else status == "published"
        return cls(
            catalog=catalog,
            table=table,
            playbook=playbook,
            partners=partners,
            embedder=embedder,
            scorer=scorer or ContentScorer(),
            usage=usage,
            overrides=tuple(overrides),
            index_pos=index_pos,
            static_ok=static_ok,
            unrestricted=np.asarray(~table.regions.any(axis=1)),
            query_cache=query_cache or QueryCache(embedder),
            display=display_columns(assets),
        )

    def with_changes(self, **changes: Any) -> Snapshot:
        """A new snapshot sharing everything but `changes` (e.g. new overrides or scorer)."""
        from dataclasses import replace

        return replace(self, created_at=time.time(), **changes)

    @property
    def model_version(self) -> str:
        return self.scorer.version


DISPLAY_COLUMNS = ("asset_id", "title", "type", "language", "url", "products", "competitors")


def display_columns(assets: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns `recommend` shows, as object arrays aligned with the catalog's rows; a
    missing value is None and a list column holds lists."""
    out: dict[str, np.ndarray] = {}
    for name in DISPLAY_COLUMNS:
        values = np.empty(len(assets), dtype=object)
        if name in assets:
            column = assets[name]
            for i, value in enumerate(column.tolist()):
                values[i] = _plain(value)
        out[name] = values
    return out


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class UnknownPartnerError(LookupError):
    """A partner id that is not stored, with no inline profile to fall back on."""


class Recommender:
    """Runs requests against the current snapshot; `swap` replaces it atomically."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def swap(self, snapshot: Snapshot) -> Snapshot:
        """Install a fully built snapshot; requests in flight finish on the old one."""
        old, self._snapshot = self._snapshot, snapshot
        return old

    def resolve_partner(
        self, partner_id: str | None, stated: dict[str, Any] | None = None
    ) -> PartnerProfile:
        snap = self._snapshot
        stated = {k: v for k, v in (stated or {}).items() if v not in (None, [], ())}
        if partner_id is not None:
            stored = snap.partners.get(partner_id)
            if stored is None and not stated:
                raise UnknownPartnerError(f"partner {partner_id!r} not found")
            base = stored or PartnerProfile(partner_id=partner_id)
            return base.merged(**stated)
        return PartnerProfile().merged(**stated)

    def recommend(
        self,
        context: DealContext,
        partner: PartnerProfile,
        *,
        n: int = 10,
        filters: Filters | None = None,
        seen: set[str] | frozenset[str] = frozenset(),
        now: datetime | None = None,
        max_per_type: int = 3,
        snapshot: Snapshot | None = None,
    ) -> Recommendation:
        """Top-n assets for `partner` in `context`, with reasons; see the module docstring."""
        snap = snapshot or self._snapshot
        now = now or datetime.now(UTC)
        filters = filters or Filters()
        if not 1 <= n <= 1000:
            raise ValueError(f"n={n} is out of range; expected 1..1000")
        table = snap.table
        day = _day_number(now)

        eligible = eligibility_mask(snap, partner, filters, day)
        active = applicable(snap.overrides, partner, context, now)
        for o in active:
            if o.action == Action.HIDE and o.asset_id in table.position:
                eligible[table.position[o.asset_id]] = False
        if filters.exclude_seen and seen:
            for a in seen:
                pos = table.position.get(a)
                if pos is not None:
                    eligible[pos] = False

        query = snap.query_cache.embed(context.text) if context.text else None
        cands = candidates(snap, context, partner, eligible, query)
        pins = [
            table.position[o.asset_id]
            for o in active
            if o.action == Action.PIN
            and o.asset_id in table.position
            and eligible[table.position[o.asset_id]]
        ]
        if pins:
            cands = np.unique(np.concatenate([cands, np.array(pins, dtype=np.int64)]))
        request_id = new_request_id()
        if len(cands) == 0:
            return Recommendation(request_id, snap.model_version, partner, context, (), 0)

        semantic = None
        if query is not None:
            semantic = candidate_similarity(snap, cands, query)

        usage = (
            snap.usage.features(partner, context, cands, day) if snap.usage is not None else None
        )
        batch = PairBatch.single(
            table,
            cands,
            stage=context.stage,
            maturity=partner.maturity,
            industry=context.industry,
            products=context.products,
            competitors=context.competitors,
            role=context.buyer_role,
            languages=partner.languages or ((context.language,) if context.language else ()),
            deal_language=context.language,
            day=day,
            semantic=semantic,
            usage=usage,
        )
        columns = pair_features(table, batch, snap.playbook.matrices)
        scores = snap.scorer.score(columns).astype(np.float64)
        boosts = {o.asset_id: o.boost for o in active if o.action == Action.BOOST}
        boosted = np.zeros(len(cands), dtype=bool)
        if boosts:
            for i, pos in enumerate(cands):
                b = boosts.get(str(table.ids[pos]))
                if b:
                    scores[i] += b
                    boosted[i] = True
        if seen and not filters.exclude_seen:
            seen_mask = np.isin(table.ids[cands], list(seen))
            scores = scores - SEEN_PENALTY * seen_mask
        order: list[int] = np.argsort(-scores, kind="stable").tolist()
        pinned_rank = {pos: r for r, pos in enumerate(dict.fromkeys(pins))}
        if pinned_rank:
            order.sort(key=lambda i: pinned_rank.get(int(cands[i]), len(pinned_rank)))
        chosen = diversify(
            order, table.type_code[cands], n, max_per_type, protected=len(pinned_rank)
        )

        display = snap.display
        rows = [{k: col[int(cands[i])] for k, col in display.items()} for i in chosen]
        text_rank = _text_rank(semantic, chosen) if semantic is not None else {}
        names = list(columns)
        picked = np.asarray(chosen, dtype=np.intp)
        # the chosen items' features as Python floats, one conversion for all of them
        values = np.stack([columns[k][picked] for k in names], axis=1).tolist() if chosen else []
        items = []
        for i, row, vals in zip(chosen, rows, values, strict=True):
            pos = int(cands[i])
            feats = dict(zip(names, vals, strict=True))
            reasons = explain(
                feats,
                row,
                context,
                partner,
                text_top=text_rank.get(i, False),
                pinned=pos in pinned_rank,
                boosted=bool(boosted[i]),
            )
            items.append(
                RecommendedItem(
                    asset_id=str(row["asset_id"]),
                    title=str(row["title"]),
                    type=str(row["type"]),
                    language=None if row["language"] is None else str(row["language"]),
                    url=None if row["url"] is None else str(row["url"]),
                    score=float(scores[i]),
                    reasons=tuple(reasons),
                    features=feats,
                )
            )
        return Recommendation(
            request_id, snap.model_version, partner, context, tuple(items), len(cands)
        )


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _day_number(now: datetime) -> float:
    """Days since 2000-01-01 (the unit of `features.pairs.days_since_epoch`), without pandas."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (now - _EPOCH).total_seconds() / 86400.0


def candidate_similarity(snap: Snapshot, cands: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Best-chunk cosine similarity of each candidate to the query (0 for unindexed assets)."""
    idx_pos = snap.index_pos[cands]
    indexed = idx_pos >= 0
    out = np.zeros(len(cands), dtype=np.float32)
    out[indexed] = snap.catalog.index.similarities_of(idx_pos[indexed], query)
    return out


def eligibility_mask(
    snap: Snapshot, partner: PartnerProfile, filters: Filters, day: float
) -> np.ndarray:
    """Assets this partner may be shown now: published, not expired, tier, region, filters."""
    t = snap.table
    ok = snap.static_ok.copy()
    ok &= ~(t.expires_day <= day)  # NaN (no expiry) compares False
    ok &= ~(t.published_day > day)
    tier_rank = TIERS.index(partner.tier)
    ok &= t.min_tier_code <= tier_rank
    if t.regions.shape[1]:
        unrestricted = snap.unrestricted
        mine = t.hot(t.region_vocab, partner.regions)
        ok &= unrestricted | t.regions[:, mine].any(axis=1)
    if filters.types:
        ok &= np.isin(t.type_code, [TYPES.index(x) for x in filters.types if x in TYPES])
    if filters.languages:
        ok &= np.isin(
            t.language_code, [LANGUAGES.index(x) for x in filters.languages if x in LANGUAGES]
        )
    return ok


def candidates(
    snap: Snapshot,
    context: DealContext,
    partner: PartnerProfile,
    eligible: np.ndarray,
    query: np.ndarray | None,
) -> np.ndarray:
    """A few hundred eligible asset positions from three sources (semantic, tagged, popular)."""
    t = snap.table
    n_eligible = int(eligible.sum())
    if n_eligible <= MAX_CANDIDATES:
        return np.flatnonzero(eligible)
    parts: list[np.ndarray] = []
    if query is not None:
        index = snap.catalog.index
        allowed = np.zeros(len(index.asset_ids), dtype=bool)
        idx = snap.index_pos[eligible]
        allowed[idx[idx >= 0]] = True
        hits = index.search_assets(query, SEMANTIC_CANDIDATES, allowed=allowed)
        parts.append(
            np.array([t.position[a] for a in hits.asset_ids if a in t.position], dtype=np.int64)
        )
    # Tagged for the context: playbook fit of the type for this stage and maturity, plus
    # stage / industry / product tags.
    stage = STAGES.index(context.stage)
    maturity = MATURITIES.index(partner.maturity)
    pb = snap.playbook.matrices
    fit = pb.stage_type[stage, t.type_code] + 0.5 * pb.maturity_type[maturity, t.type_code]
    fit = fit + 0.5 * t.stages[:, stage]
    if context.industry and context.industry in t.industry_vocab:
        fit = fit + 0.5 * t.industries[:, t.industry_vocab.index(context.industry)]
    if context.products:
        wanted = t.hot(t.product_vocab, context.products)
        fit = fit + 0.3 * t.products[:, wanted].any(axis=1)
    fit = np.where(eligible, fit, -np.inf)
    k = min(TAGGED_CANDIDATES, n_eligible)
    top = np.argpartition(-fit, k - 1)[:k]
    parts.append(top[np.isfinite(fit[top])])
    if snap.usage is not None:
        popular = snap.usage.popular(partner, POPULAR_CANDIDATES * 2)
        parts.append(popular[eligible[popular]][:POPULAR_CANDIDATES])
    merged = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
    return merged[:MAX_CANDIDATES] if len(merged) > MAX_CANDIDATES else merged


def diversify(
    order: Sequence[int], types: np.ndarray, n: int, max_per_type: int, *, protected: int = 0
) -> list[int]:
    """Take items in `order`, at most `max_per_type` of one type in each block of 10.

    The first `protected` items (pins) are always kept. If the cap leaves fewer than n items
    (a catalog thin in types), the skipped ones fill the rest in their order.
    """
    chosen: list[int] = []
    skipped: list[int] = []
    counts: dict[int, int] = {}
    for rank, i in enumerate(order):
        if len(chosen) >= n:
            break
        block_start = (len(chosen) // 10) * 10
        if block_start == len(chosen) and len(chosen) > 0:
            counts = {}
        ty = int(types[i])
        if rank < protected or counts.get(ty, 0) < max_per_type:
            chosen.append(i)
            counts[ty] = counts.get(ty, 0) + 1
        else:
            skipped.append(i)
    for i in skipped:
        if len(chosen) >= n:
            break
        chosen.append(i)
    return chosen


def _text_rank(semantic: np.ndarray, chosen: Sequence[int]) -> dict[int, bool]:
    """Which chosen items are among the closest to the notes (top third of candidates)."""
    if len(semantic) == 0:
        return {}
    # The 80th percentile (numpy's default "linear" quantile) from one partition: np.quantile
    # itself cost as much as scoring the candidates.
    k = 0.8 * (len(semantic) - 1)
    lo = int(np.floor(k))
    part = np.partition(semantic, (lo, min(lo + 1, len(semantic) - 1)))
    threshold = float(part[lo] + (k - lo) * (part[min(lo + 1, len(semantic) - 1)] - part[lo]))
    return {i: bool(semantic[i] >= threshold) for i in chosen}


ReasonRule = Callable[[dict[str, float], Any, DealContext, PartnerProfile], Reason | None]


def explain(
    f: dict[str, float],
    row: Any,
    context: DealContext,
    partner: PartnerProfile,
    *,
    text_top: bool = False,
    pinned: bool = False,
    boosted: bool = False,
    limit: int = 4,
) -> list[Reason]:
    """Reasons for one item, each derived from that item's own feature values."""
    type_label = _label(str(row["type"]))
    stage_label = _STAGE_LABEL.get(context.stage, context.stage)
    reasons: list[Reason] = []
    if pinned:
        reasons.append(Reason("pinned", "Pinned by your channel manager"))
    if boosted:
        reasons.append(Reason("boosted", "Recommended by your channel manager"))
    if f.get("stage_tagged", 0) > 0:
        reasons.append(Reason("stage", f"Written for the {stage_label} stage"))
    elif f.get("prior_stage_type", 0) >= 0.8:
        reasons.append(
            Reason("playbook_stage", f"Playbook: a {type_label} fits the {stage_label} stage")
        )
    if f.get("competitor_match", 0) > 0:
        comp = next((c for c in context.competitors if c in (row.get("competitors") or [])), None)
        reasons.append(
            Reason("competitor", f"Positions us against {_label(comp or 'the competitor')}")
        )
    if f.get("industry_match", 0) > 0 and context.industry:
        reasons.append(
            Reason(
                "industry",
                f"{type_label.capitalize()} in {_label(context.industry)}, like this deal",
            )
        )
    if text_top and f.get("semantic", 0) > 0:
        reasons.append(Reason("notes", "Matches your notes"))
    if f.get("product_match", 0) > 0:
        prod = next((p for p in context.products if p in (row.get("products") or [])), None)
        if prod:
            reasons.append(Reason("product", f"Covers {_label(prod)}"))
    if f.get("won_rate", 0) > 0.5 and f.get("won_deals", 0) >= 2:
        reasons.append(Reason("won_with", "Used in deals that similar partners won"))
    if f.get("segment_popularity", 0) > 0.5:
        reasons.append(Reason("popular", "Popular with partners like you"))
    if f.get("maturity_tagged", 0) > 0 or f.get("prior_maturity_depth", 0) >= 0.85:
        reasons.append(Reason("maturity", f"Right depth for a {partner.maturity} partner"))
    if f.get("role_match", 0) > 0 and context.buyer_role:
        reasons.append(
            Reason(
                "buyer_role",
                f"Written for a {_role_label(context.buyer_role)} audience",
            )
        )
    if f.get("language_match", 0) > 0 and len(reasons) < limit:
        reasons.append(Reason("language", f"In your language ({row.get('language')})"))
    if not reasons:
        reasons.append(Reason("playbook", f"Playbook fit for {stage_label} deals"))
    return reasons[:limit]
