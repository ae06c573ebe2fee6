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
import pandas as pd

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
    "Localisation",
    "LocalisationRow",
    "Movement",
    "awareness",
    "coverage",
    "coverage_level",
    "localisation",
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


# --- localisation -------------------------------------------------------------------------------
LOCALISATION_SORTS = ("partners", "shown", "missing", "title")


@dataclass(frozen=True)
class LocalisationRow:
    """One family (or one asset in none) and the languages it lacks."""

    family: str  # the family_id, or the asset id of an asset in no family
    title: str  # of its member in the first of `languages`
    type: str
    members: tuple[tuple[str, str], ...]  # (asset_id, language), in `languages` order
    languages: tuple[str, ...]  # it exists in, in LANGUAGES order
    missing: tuple[str, ...]  # it does not, in LANGUAGES order
    partners: int  # partners who read none of `languages`: only missing ones
    shown: int  # impressions of a member to a partner who does not read its language


@dataclass(frozen=True)
class Localisation:
    rows: list[LocalisationRow]  # families lacking a language, sorted
    complete: int  # families (and lone assets) in every language
    families: int  # all of them, eligible now, of known language
    sort: str


def localisation(
    snapshot: Snapshot,
    impressions: pd.DataFrame | None = None,
    *,
    sort: str = "partners",
    now: datetime | None = None,
) -> Localisation:
    """Per family of assets a partner may be shown now (eligible for a top-tier partner in
    every region; a lone asset is a family of one; assets of unknown language left out): the
    languages it lacks, how many partners read only those (their profile names languages
    and none of the family's), and how often a member was shown to a partner that does not
    read its language (`impressions`: partner_id, asset_id, events, as
    `EventJournal.pair_counts("impression")` gives them; by the partner's profile, not the
    deal's language, which impressions do not keep).

    Sorted by `sort`: "partners" (default), "shown" or "missing" (most first), or "title";
    ties by the other counts, then the family."""
    if sort not in LOCALISATION_SORTS:
        raise ValueError(f"sort={sort!r}; expected one of {LOCALISATION_SORTS}")
    now = now or datetime.now(UTC)
    table = snapshot.table
    everyone = PartnerProfile(tier=values(Tier)[-1], regions=table.region_vocab)
    eligible = eligibility_mask(snapshot, everyone, Filters(), day_number(now))
    all_languages = tuple(values(Language))
    assets = snapshot.catalog.assets
    family_ids = assets["family_id"].tolist() if "family_id" in assets else [None] * len(assets)
    titles = snapshot.display["title"]
    types = snapshot.display["type"]
    families: dict[str, list[int]] = {}
    for pos in np.flatnonzero(eligible & (table.language_code >= 0)).tolist():
        name = family_ids[pos]
        key = str(name) if isinstance(name, str) and name else str(table.ids[pos])
        families.setdefault(key, []).append(pos)
    reads = {pid: frozenset(p.languages) for pid, p in snapshot.partners.items() if p.languages}
    shown: dict[str, int] = {}
    if impressions is not None and len(impressions) and reads:
        language_of = {
            str(table.ids[p]): all_languages[int(table.language_code[p])]
            for p in np.flatnonzero(table.language_code >= 0).tolist()
        }
        for pid, aid, n in zip(impressions["partner_id"].tolist(), impressions["asset_id"].tolist(),
                               impressions["events"].tolist(), strict=True):  # fmt: skip
            lang, known = language_of.get(str(aid)), reads.get(str(pid))
            if lang is not None and known is not None and lang not in known:
                shown[str(aid)] = shown.get(str(aid), 0) + int(n)
    rows: list[LocalisationRow] = []
    complete = 0
    for key, positions in families.items():
        by_language: dict[str, int] = {}
        for pos in positions:
            lang = all_languages[int(table.language_code[pos])]
            by_language.setdefault(lang, pos)
        present = tuple(x for x in all_languages if x in by_language)
        missing = tuple(x for x in all_languages if x not in by_language)
        if not missing:
            complete += 1
            continue
        first = by_language[present[0]]
        rows.append(
            LocalisationRow(
                family=key,
                title=str(titles[first]),
                type=str(types[first]),
                members=tuple((str(table.ids[by_language[x]]), x) for x in present),
                languages=present,
                missing=missing,
                partners=sum(1 for r in reads.values() if not r & set(present)),
                shown=sum(shown.get(str(table.ids[p]), 0) for p in positions),
            )
        )
    keys = {
        "partners": lambda r: (-r.partners, -r.shown, -len(r.missing), r.family),
        "shown": lambda r: (-r.shown, -r.partners, -len(r.missing), r.family),
        "missing": lambda r: (-len(r.missing), -r.partners, -r.shown, r.family),
        "title": lambda r: (r.title.casefold(), r.family),
    }
    rows.sort(key=keys[sort])
    return Localisation(rows, complete, len(families), sort)
