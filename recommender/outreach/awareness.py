"""Relevant assets a partner never opened: what a channel manager should push to it.

`awareness(snapshot, partner, opened)` ranks the catalog with the engine for each of the
partner's typical deals (`typical_contexts`: every stage, in each of its industries, with its
certified products), leaving out what it opened (`Filters(exclude_seen=True)`), and scores each
asset by its mean reciprocal rank over those deals. Steering applies as it does for the
partner: hidden assets never appear, and an asset pinned for it is marked `pinned` (the
console's awareness page, the digests and the portfolio read the same list).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from features.schema import Stage, values
from recommender.ranking.recommender import Recommender
from recommender.ranking.snapshot import Snapshot
from recommender.types import DealContext, Filters, PartnerProfile, Reason


@dataclass
class AwareItem:
    asset_id: str
    title: str
    type: str
    language: str | None
    url: str | None
    relevance: float  # mean reciprocal rank over the typical contexts, 0..1
    stages: list[str] = field(default_factory=list)  # the stages it ranked for, in stage order
    # the reasons of its best-ranked context, and whether a manager pinned it for the partner
    reasons: tuple[Reason, ...] = ()
    pinned: bool = False


def typical_contexts(partner: PartnerProfile) -> list[DealContext]:
    """The partner's typical deals: every stage, in each of its industries (or none), with its
    certified products."""
    industries: Iterable[str | None] = partner.industries or (None,)
    return [
        DealContext(stage=stage, industry=industry, products=tuple(partner.certified_products))
        for industry in industries
        for stage in values(Stage)
    ]


def awareness(
    snapshot: Snapshot,
    partner: PartnerProfile,
    opened: frozenset[str] | set[str],
    *,
    per_context: int = 20,
    limit: int | None = 30,
    languages: tuple[str, ...] = (),
    now: datetime | None = None,
) -> tuple[list[AwareItem], int]:
    """Relevant assets the partner never opened, most relevant first (at most `limit`; None:
    all), and how many contexts were ranked.

    Relevance is the mean over contexts of 1/rank (0 where the asset is not in that context's
    top `per_context`). `languages` keeps only assets in those languages (the request filter).
    """
    engine = Recommender(snapshot)
    contexts = typical_contexts(partner)
    now = now or datetime.now(UTC)
    filters = Filters(languages=languages, exclude_seen=True)
    total: dict[str, float] = {}
    best: dict[str, float] = {}
    stages: dict[str, list[str]] = {}
    items: dict[str, AwareItem] = {}
    for context in contexts:
        result = engine.recommend(
            context, partner, n=per_context, filters=filters, seen=set(opened), now=now,
            snapshot=snapshot,
        )  # fmt: skip
        for rank, item in enumerate(result.items, start=1):
            if item.asset_id in opened:  # defensive: exclude_seen already dropped them
                continue
            total[item.asset_id] = total.get(item.asset_id, 0.0) + 1.0 / rank
            seen_stages = stages.setdefault(item.asset_id, [])
            if context.stage not in seen_stages:
                seen_stages.append(context.stage)
            aware = items.setdefault(
                item.asset_id,
                AwareItem(item.asset_id, item.title, item.type, item.language, item.url, 0.0),
            )
            if 1.0 / rank > best.get(item.asset_id, 0.0):
                best[item.asset_id] = 1.0 / rank
                aware.reasons = item.reasons
            aware.pinned = aware.pinned or any(r.code == "pinned" for r in item.reasons)
    order = values(Stage)
    out: list[AwareItem] = []
    for asset_id, aware in items.items():
        aware.relevance = total[asset_id] / max(len(contexts), 1)
        aware.stages = sorted(stages[asset_id], key=order.index)
        out.append(aware)
    out.sort(key=lambda i: (-i.relevance, i.asset_id))
    return (out if limit is None else out[:limit]), len(contexts)
