"""Candidates and eligibility: the assets a partner may be shown now, and the few hundred of
them a request scores, from three sources (semantic neighbours of the notes, assets tagged or
fitted for the deal, assets popular in the partner's segment).
"""

from __future__ import annotations

import numpy as np

from features.eligibility import eligible
from features.pairs import LANGUAGES, MATURITIES, STAGES, TIERS, TYPES
from recommender.ranking.snapshot import Snapshot
from recommender.types import DealContext, Filters, PartnerProfile

MAX_CANDIDATES = 300
SEMANTIC_CANDIDATES = 150
TAGGED_CANDIDATES = 150
POPULAR_CANDIDATES = 50


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
    """Assets this partner may be shown now: `features.eligibility.eligible` (published, not
    expired, tier, region), then the request's filters (types, languages)."""
    t = snap.table
    ok = eligible(
        t,
        snap.static_ok,
        day=day,
        tier=TIERS.index(partner.tier),
        regions=t.hot(t.region_vocab, partner.regions),
        unrestricted=snap.unrestricted,
    )
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
        catalog = snap.catalog  # its index holds every asset of the table, and only those
        allowed = eligible[catalog.index_rows]
        hits, _ = catalog.index.search_positions(query, SEMANTIC_CANDIDATES, allowed=allowed)
        parts.append(catalog.index_rows[hits])
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
