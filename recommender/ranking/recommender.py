"""The Recommender: one request against the current snapshot.

    eligibility -> candidates -> one per family -> features -> score -> steer -> diversify
    -> reasons

When the notes ask for a kind of asset ("the customer wants to compute the payback"), the
best-ranked asset of a type that answers comes first after the pins
(recommender.steering.asks).

A family (translations and versions sharing a `family_id`) and a set of near-duplicates each
show one member, the one in the language the partner reads best for this deal
(recommender.ranking.families), with the family's other languages as a reason. An asset in a
language the partner does not read comes after readable ones of comparable relevance
(recommender.ranking.languages), and says so.

Scoring before any usage log exists is the `ContentScorer` (recommender.ranking.content): the
playbook prior, the deal text's semantic similarity and metadata matches. A learned scorer
(recommender.ranking.learned) replaces it when a model is promoted; it consumes the same
`pair_features` columns plus usage features.

Assets the partner already engaged with are excluded on request (`Filters.exclude_seen`),
else ranked by one rule for every scorer (recommender.ranking.seen): on ranks, by the return
ratio the model measured (a default before any model); a learned scorer's own features
already count what the partner engaged with up to the snapshot, so the rule then moves only
what it engaged with since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from features.pairs import LANGUAGES, AssetTable, PairBatch, pair_features
from features.timebase import day_number
from recommender.ranking.candidates import candidate_similarity, candidates, eligibility_mask
from recommender.ranking.content import ContentScorer
from recommender.ranking.diversity import diversify
from recommender.ranking.exploration import Exploration
from recommender.ranking.families import collapse, language_preference
from recommender.ranking.languages import readable, readable_first
from recommender.ranking.reasons import explain, text_rank
from recommender.ranking.seen import seen_order
from recommender.ranking.snapshot import Snapshot
from recommender.steering.asks import Ask, answering, answers_first, asked
from recommender.steering.overrides import Action, applicable
from recommender.types import (
    DealContext,
    Filters,
    PartnerProfile,
    Recommendation,
    RecommendedItem,
    new_request_id,
)

PLAYBOOK = ContentScorer()  # the cold-start scorer, and exploration's fallback ranking


def request_batch(
    table: AssetTable,
    asset_pos: np.ndarray,
    context: DealContext,
    partner: PartnerProfile,
    *,
    day: float,
    semantic: np.ndarray | None = None,
    usage: dict[str, np.ndarray] | None = None,
) -> PairBatch:
    """The pairs of one request, as serving scores them: `partner` in `context` against the
    assets at `asset_pos` (positions in `table`) on `day` (`features.timebase.day_number`).

    The partner's languages count, else the deal's own; the deal's language is also its own
    feature. `semantic` is each asset's similarity to the notes (None: no notes), `usage` the
    usage features of the pairs. Everything that builds a request's pairs (the recommender,
    the console's analyses, the benchmarks) builds them here, so they score what is served.
    """
    return PairBatch.single(
        table,
        asset_pos,
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
        request_id: str | None = None,
        exploration: Exploration | None = None,
    ) -> Recommendation:
        """Top-n assets for `partner` in `context`, with reasons; see the module docstring.

        `request_id` names the response (a new one when None) and seeds `exploration`, which
        may give a few unpinned slots to next-ranked candidates; each item carries its
        propensities (1 without exploration)."""
        snap = snapshot or self._snapshot
        request = self.prepare(context, partner, n=n, filters=filters, seen=seen, now=now,
                               snapshot=snap, request_id=request_id)  # fmt: skip
        if request.empty:
            return request.answer(())
        ranked = self.rank(request, snap)
        chosen = diversify(
            ranked.order, snap.table.type_code[request.cands], n, max_per_type,
            protected=ranked.steered,
        )  # fmt: skip
        served = None
        if exploration is not None and exploration.active:
            taken = set(chosen)
            reserves = [i for i in ranked.order if i not in taken][: exploration.reserve]
            fallback: list[int] = []
            if exploration.fallback:
                # the playbook's ranking of the same candidates (ties by candidate order)
                content = (
                    ranked.content if ranked.content is not None else PLAYBOOK.score(ranked.columns)
                )
                fallback = _readable_order(
                    np.argsort(-content, kind="stable").tolist(), content, request, snap, pinned=0
                )
            served = exploration.serve(
                chosen, reserves, pinned=min(ranked.steered, len(chosen)),
                request_id=request.request_id, fallback=fallback,
            )  # fmt: skip
            chosen = served.items
        if served is None:
            return request.answer(self.items(request, [(ranked, i) for i in chosen]))
        items = self.items(
            request,
            [(ranked, i) for i in chosen],
            propensity=served.propensity,
            propensity_shown=served.propensity_shown,
            explored=served.explored,
        )
        return request.answer(items)

    def prepare(
        self,
        context: DealContext,
        partner: PartnerProfile,
        *,
        n: int = 10,
        filters: Filters | None = None,
        seen: set[str] | frozenset[str] = frozenset(),
        now: datetime | None = None,
        snapshot: Snapshot | None = None,
        request_id: str | None = None,
    ) -> Request:
        """The part of a request that does not depend on the scorer: eligibility, steering,
        candidates and their similarity to the notes (`rank` scores it)."""
        snap = snapshot or self._snapshot
        now = now or datetime.now(UTC)
        filters = filters or Filters()
        if not 1 <= n <= 1000:
            raise ValueError(f"n={n} is out of range; expected 1..1000")
        table = snap.table
        day = day_number(now)

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
        asks = asked(context.text, snap.playbook.asks)
        if asks:  # every eligible asset that answers what the notes ask for is a candidate
            answers = np.flatnonzero(eligible & answering(table.type_code, asks))
            cands = np.union1d(cands, answers)
        pins = [
            table.position[o.asset_id]
            for o in active
            if o.action == Action.PIN
            and o.asset_id in table.position
            and eligible[table.position[o.asset_id]]
        ]
        if pins:
            cands = np.unique(np.concatenate([cands, np.array(pins, dtype=np.int64)]))
        languages = language_preference(context.language, partner.languages)
        cands, also_in = collapse(
            snap.groups, cands, eligible, table.language_code, table.published_day,
            languages, pinned=pins,
        )  # fmt: skip
        if len(pins) > 1:  # of two pinned members of one group, the list shows one
            kept = set(cands.tolist())
            pins = [p for p in pins if p in kept]
        semantic = None
        if query is not None and len(cands):
            semantic = candidate_similarity(snap, cands, query)
        return Request(
            snapshot=snap,
            context=context,
            partner=partner,
            request_id=request_id or new_request_id(),
            day=day,
            cands=cands,
            semantic=semantic,
            pinned_rank={pos: r for r, pos in enumerate(dict.fromkeys(pins))},
            boosts={o.asset_id: o.boost for o in active if o.action == Action.BOOST},
            seen=seen if not filters.exclude_seen else frozenset(),
            also_in=also_in,
            languages=tuple(languages),
            asks=asks,
        )

    def rank(self, request: Request, snapshot: Snapshot, *, like: Ranked | None = None) -> Ranked:
        """`request`'s candidates scored by `snapshot`'s scorer and usage features (the
        snapshot `prepare` read, or one differing only in its model), in serving order:
        pinned first, then by score under the already-seen rule. `like`, a ranking of the
        same request by a snapshot with the same usage provider, lends its features."""
        table, cands, partner = snapshot.table, request.cands, request.partner
        if like is not None and like.usage_provider is snapshot.usage:
            usage, columns = like.usage, like.columns
        else:
            usage = (
                snapshot.usage.features(partner, request.context, cands, request.day)
                if snapshot.usage is not None
                else None
            )
            batch = request_batch(
                table, cands, request.context, partner, day=request.day,
                semantic=request.semantic, usage=usage,
            )  # fmt: skip
            columns = pair_features(table, batch, snapshot.playbook.matrices)
        raw = snapshot.scorer.score(columns)
        scores = raw.astype(np.float64)
        boosted = np.zeros(len(cands), dtype=bool)
        if request.boosts:
            for i, pos in enumerate(cands):
                b = request.boosts.get(str(table.ids[pos]))
                if b:
                    scores[i] += b
                    boosted[i] = True
        seen_mask = np.zeros(len(cands), dtype=bool)
        if request.seen:
            # by position, not np.isin over the ids: isin sorts object arrays of strings
            # (~0.4 ms per request for a partner with a long history)
            flags = np.zeros(len(table.ids), dtype=bool)
            where = [p for p in map(table.position.get, request.seen) if p is not None]
            flags[where] = True
            seen_mask = flags[cands]
            if usage is not None and "partner_engaged" in usage:
                # a learned scorer already weighs what the partner engaged with up to the
                # snapshot; only what it engaged with since is news to it
                seen_mask &= np.asarray(usage["partner_engaged"]) == 0
        order = seen_order(scores, seen_mask, snapshot.return_ratio)
        pinned_rank = request.pinned_rank
        if pinned_rank:
            order.sort(key=lambda i: pinned_rank.get(int(cands[i]), len(pinned_rank)))
        order = _readable_order(order, scores, request, snapshot, pinned=len(pinned_rank))
        steered = len(pinned_rank)
        if request.asks:
            order, steered = answers_first(
                order, table.type_code[cands], request.asks, head=len(pinned_rank)
            )
        return Ranked(
            snapshot.model_version, columns, scores, boosted, order, usage, snapshot.usage,
            content=raw if snapshot.scorer == PLAYBOOK else None, steered=steered,
        )  # fmt: skip

    def items(
        self,
        request: Request,
        chosen: Sequence[tuple[Ranked, int]],
        *,
        propensity: Sequence[float] | None = None,
        propensity_shown: Sequence[float] | None = None,
        explored: Sequence[bool] | None = None,
        arms: Sequence[str] | None = None,
    ) -> tuple[RecommendedItem, ...]:
        """The items of the slots `chosen` (each the ranking that placed it and a candidate
        index), with reasons from that ranking's features, and each slot's propensities
        (1 when None), whether exploration placed it and the experiment arm that served it."""
        snap, cands = request.snapshot, request.cands
        display, table = snap.display, snap.table
        semantic = request.semantic
        text_top = text_rank(semantic, [i for _, i in chosen]) if semantic is not None else {}
        # the chosen items' features as Python floats, one conversion per feature table (two
        # rankings of one request that share their features, as an interleaved one's, share it)
        feature_rows: list[dict[str, float]] = [{} for _ in chosen]
        for columns in {id(r.columns): r.columns for r, _ in chosen}.values():
            slots = [s for s, (r, _) in enumerate(chosen) if r.columns is columns]
            picked = np.asarray([chosen[s][1] for s in slots], dtype=np.intp)
            names = list(columns)
            values = np.stack([columns[k][picked] for k in names], axis=1).tolist()
            for s, vals in zip(slots, values, strict=True):
                feature_rows[s] = dict(zip(names, vals, strict=True))
        items = []
        for slot, (ranked, i) in enumerate(chosen):
            pos = int(cands[i])
            row = {k: col[pos] for k, col in display.items()}
            feats = feature_rows[slot]
            reasons = explain(
                feats,
                row,
                request.context,
                request.partner,
                text_top=text_top.get(i, False),
                pinned=pos in request.pinned_rank,
                boosted=bool(ranked.boosted[i]),
                also_in=request.also_in.get(pos, ()),
                missing=_missing_language(request.languages, int(table.language_code[pos])),
                asked=request.ask_label(int(table.type_code[pos])),
            )
            items.append(
                RecommendedItem(
                    asset_id=str(row["asset_id"]),
                    title=str(row["title"]),
                    type=str(row["type"]),
                    language=None if row["language"] is None else str(row["language"]),
                    url=None if row["url"] is None else str(row["url"]),
                    score=float(ranked.scores[i]),
                    reasons=tuple(reasons),
                    features=feats,
                    propensity=1.0 if propensity is None else propensity[slot],
                    propensity_shown=1.0 if propensity_shown is None else propensity_shown[slot],
                    explored=explored is not None and explored[slot],
                    arm=None if arms is None else arms[slot],
                )
            )
        return tuple(items)


def _readable_order(
    order: list[int], scores: np.ndarray, request: Request, snapshot: Snapshot, *, pinned: int
) -> list[int]:
    """`order` under the rule for languages the partner does not read (see the module doc)."""
    ok = readable(snapshot.table.language_code[request.cands], request.languages)
    if ok is None:
        return order
    book = snapshot.playbook
    return readable_first(order, scores, ok, pinned=pinned, per_list=book.unreadable_per_list,
                          comparable=book.comparable_relevance)  # fmt: skip


def _missing_language(languages: tuple[int, ...], code: int) -> str | None:
    """The language the partner reads best (a LANGUAGES value) when an asset in `code` is
    not one it reads; None when it is, or either is unknown."""
    if not languages or code < 0 or code in languages:
        return None
    return LANGUAGES[languages[0]]


@dataclass(frozen=True)
class Request:
    """One request as `Recommender.prepare` resolved it: its snapshot, partner and deal, the
    eligible candidates (positions in the snapshot's table), their similarity to the notes
    (None: no notes), the pins (position -> rank), boosts (asset id -> amount) and the assets
    the partner has seen that stay candidates."""

    snapshot: Snapshot
    context: DealContext
    partner: PartnerProfile
    request_id: str
    day: float
    cands: np.ndarray
    semantic: np.ndarray | None
    pinned_rank: dict[int, int]
    boosts: dict[str, float]
    seen: set[str] | frozenset[str]
    # asset position -> the other languages its family is available in to the partner
    also_in: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # LANGUAGES codes the partner reads, best first (the deal's, then its own); () = unknown
    languages: tuple[int, ...] = ()
    # what the notes ask for (recommender.steering.asks), in the playbook's order
    asks: tuple[Ask, ...] = ()

    @property
    def empty(self) -> bool:
        return len(self.cands) == 0

    def ask_label(self, type_code: int) -> str | None:
        """The label of the first ask an asset of this type answers (None: none)."""
        return next((a.label for a in self.asks if type_code in a.types), None)

    def answer(
        self,
        items: tuple[RecommendedItem, ...],
        *,
        model_version: str | None = None,
        experiment: str | None = None,
    ) -> Recommendation:
        return Recommendation(
            self.request_id,
            model_version or self.snapshot.model_version,
            self.partner,
            self.context,
            items,
            len(self.cands),
            experiment=experiment,
        )


@dataclass(frozen=True)
class Ranked:
    """A request's candidates as one scorer ranks them: the model version, the pair features
    (columns aligned with the candidates), the scores (boosts included), which were boosted,
    the serving order (candidate indexes, pinned first), and the usage features and the
    provider they came from (a second scorer with the same provider reuses them)."""

    model_version: str
    columns: dict[str, np.ndarray]
    scores: np.ndarray
    boosted: np.ndarray
    order: list[int]
    usage: dict[str, np.ndarray] | None = None  # the usage features among the columns
    usage_provider: Any = None  # the snapshot's provider that gave them
    # the playbook's scores of the candidates, when the playbook ranked them (no boosts)
    content: np.ndarray | None = None
    # how many items lead `order` by steering (pins, then answers to what the notes ask for)
    steered: int = 0
