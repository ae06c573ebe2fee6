"""What the console computes beyond one recommendation: rank diffs, coverage, awareness (the
engine's `recommender.outreach.awareness`, which digests and the portfolio read too).

Pure functions over a snapshot (and the engine's public functions), so they are tested without
a browser and read the same snapshot object from start to end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from features.pairs import pair_features
from features.schema import Language, Maturity, Stage, Tier, values
from features.timebase import day_number
from recommender import (
    AwareItem,
    ContentScorer,
    DealContext,
    Filters,
    PartnerProfile,
    Snapshot,
    awareness,
    eligibility_mask,
    request_batch,
    typical_contexts,
    web_url,
)

__all__ = [
    "AwareItem",
    "Coverage",
    "CoverageCell",
    "Diff",
    "Movement",
    "awareness",
    "coverage",
    "coverage_level",
    "rank_diff",
    "safe_url",
    "typical_contexts",
]

DEFAULT_THRESHOLD = 0.6


# --- links --------------------------------------------------------------------------------------
# an absolute http(s) link or None: catalog URLs are shown as links only when they are plain
# web addresses (escaping stops markup, not `javascript:` or `data:` links in an href)
safe_url = web_url


# --- compare ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Movement:
    """How one asset's rank changed from the left list to the right one."""

    asset_id: str
    kind: str  # "up", "down", "same", "new" (only right), "out" (only left)
    delta: int = 0  # positions moved (positive)
    left_rank: int | None = None  # 1-based
    right_rank: int | None = None


@dataclass(frozen=True)
class Diff:
    left: list[Movement]
    right: list[Movement]

    def count(self, kind: str) -> int:
        side = self.left if kind == "out" else self.right
        return sum(1 for m in side if m.kind == kind)


def rank_diff(left_ids: Sequence[str], right_ids: Sequence[str]) -> Diff:
    """For each side, what happened to its items on the other side.

    Right items are "up"/"down"/"same" relative to their left rank, or "new"; left items are
    marked "out" when they are not in the right list (else the same movement as on the right).
    """
    left_rank = {a: i + 1 for i, a in enumerate(left_ids)}
    right_rank = {a: i + 1 for i, a in enumerate(right_ids)}

    def movement(a: str) -> Movement:
        lr, rr = left_rank.get(a), right_rank.get(a)
        if lr is None:
            return Movement(a, "new", 0, None, rr)
        if rr is None:
            return Movement(a, "out", 0, lr, None)
        if rr < lr:
            return Movement(a, "up", lr - rr, lr, rr)
        if rr > lr:
            return Movement(a, "down", rr - lr, lr, rr)
        return Movement(a, "same", 0, lr, rr)

    return Diff(left=[movement(a) for a in left_ids], right=[movement(a) for a in right_ids])


# --- coverage -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoverageCell:
    stage: str
    maturity: str
    asset_ids: tuple[str, ...]  # best first

    @property
    def count(self) -> int:
        return len(self.asset_ids)

    @property
    def level(self) -> str:
        return coverage_level(self.count)


@dataclass(frozen=True)
class Coverage:
    stages: tuple[str, ...]
    maturities: tuple[str, ...]
    cells: dict[tuple[str, str], CoverageCell]
    eligible: int  # assets passing eligibility and the filters, before the score threshold
    threshold: float
    language: str | None
    industry: str | None

    def cell(self, stage: str, maturity: str) -> CoverageCell:
        return self.cells[(stage, maturity)]


def coverage_level(count: int) -> str:
    """Colour band of a cell: none (0), thin (1-2), fair (3-5), good (6+)."""
    if count <= 0:
        return "none"
    if count <= 2:
        return "thin"
    if count <= 5:
        return "fair"
    return "good"


def coverage(
    snapshot: Snapshot,
    *,
    language: str | None = None,
    industry: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    now: datetime | None = None,
) -> Coverage:
    """Stage x maturity counts of eligible assets whose content score reaches `threshold`.

    Eligible: published, already published and not expired at `now` (the engine's own
    `eligibility_mask`, for a top-tier partner present in every region), in `language` when
    given, and tagged for `industry` or for no industry when given. Scored by the engine's
    cold-start `ContentScorer` on the pair features serving computes (`request_batch`) for a
    representative deal: the cell's stage; `industry`, or when none is chosen one of the
    asset's own industries; no notes, products or competitors; for a partner of the cell's
    maturity who reads `language` (every language when none is chosen). So a filter only
    removes assets and never changes a score: a filtered count is never above the unfiltered
    one. Overrides and the learned model are left out on purpose: coverage is about the
    content that exists, not this week's steering.
    """
    now = now or datetime.now(UTC)
    table = snapshot.table
    day = day_number(now)  # the serving clock (a time in any zone)
    languages = (language,) if language else tuple(values(Language))
    partner = PartnerProfile(
        tier=values(Tier)[-1], maturity=Maturity.NEW.value, regions=table.region_vocab,
        languages=languages,
    )  # fmt: skip
    filters = Filters(languages=(language,) if language else ())
    eligible = eligibility_mask(snapshot, partner, filters, day)
    if industry:
        tagged_any = (
            table.industries.any(axis=1)
            if table.industries.shape[1]
            else np.zeros(len(table), dtype=bool)
        )
        if industry in table.industry_vocab:
            mine = table.industries[:, table.industry_vocab.index(industry)]
        else:
            mine = np.zeros(len(table), dtype=bool)
        eligible &= mine | ~tagged_any
    positions = np.flatnonzero(eligible)
    scorer = ContentScorer()
    stages, maturities = tuple(values(Stage)), tuple(values(Maturity))
    cells: dict[tuple[str, str], CoverageCell] = {}
    for maturity in maturities:
        for stage in stages:
            if len(positions) == 0:
                cells[(stage, maturity)] = CoverageCell(stage, maturity, ())
                continue
            deal = DealContext(stage=stage, industry=industry)
            reader = replace(partner, maturity=maturity)
            batch = request_batch(table, positions, deal, reader, day=day, semantic=None)
            if not industry:  # each asset's deal is in one of its own industries
                # per-pair industries: no longer one context for every pair (`one=None`)
                batch = replace(batch, industry=table.industries[positions], one=None)
            scores = scorer.score(pair_features(table, batch, snapshot.playbook.matrices))
            keep = np.flatnonzero(scores >= threshold)
            keep = keep[np.argsort(-scores[keep], kind="stable")]
            ids = tuple(str(table.ids[positions[i]]) for i in keep)
            cells[(stage, maturity)] = CoverageCell(stage, maturity, ids)
    return Coverage(stages, maturities, cells, len(positions), float(threshold), language, industry)
