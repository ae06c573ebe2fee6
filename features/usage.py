"""Usage aggregates from the event log, point-in-time correct (one index that reads best whole).

`UsageIndex.build(events, table, partners)` sorts the log once into cumulative sums keyed by
(asset), (segment, asset), (asset, stage), (partner, asset), ... ; `UsageIndex.features`
answers many (partner, deal, stage, asset, time) queries at once with binary search, and every
answer uses **only events strictly before the query's own time**. The same call builds a
million training examples (each at its own time) and scores 300 serving candidates (all at
"now"), so training and serving share one definition of every usage feature.

Time resolution: event and query times are compared in integer ticks (1 us, or coarser when
the key space is huge); an event in the same tick as the query is left out, which can only
hide information, never leak it.

Features (`USAGE_FEATURES`, float32, one value per query):

- asset_popularity: log1p of the asset's engagement (open 1, download 2, share 3 by default),
  exponentially decayed with `half_life_days`.
- segment_popularity: the asset's decayed engagement share within the partner's segment
  (tier x maturity) relative to a uniform share, squashed to [0, 1]: 0.5 = average, > 0.5 =
  more popular than average with partners like this one.
- segment_engagement: log1p of the asset's decayed engagement within the segment.
- exposure: log1p of the impressions and opens the asset had (the evidence its rates rest on).
- ctr: opens / examined impressions (an impression at position p counts as
  `examination[p]` impressions: how likely a partner is to look at slot p, estimated from the
  logs at training; no correction without one), smoothed towards the asset type's rate, itself
  smoothed
  towards the global rate (hierarchical Beta prior with strength `prior_strength`).
- ctr_stage: the same per (asset, deal stage), smoothed towards (type, stage).
- ctr_maturity: the same per (asset, partner maturity), smoothed towards (type, maturity).
- engagement_rate: weighted engagement per impression, smoothed like ctr.
- partner_engaged: log1p of this partner's engagements with this asset ("already opened").
- partner_history: log1p of this partner's engagements with any asset (0 = new partner).
- partner_type_affinity: the partner's smoothed share of engagements with this asset type,
  relative to everyone's share (1 = like everyone).
- partner_similarity: cosine of the asset's vector to the sum of the vectors of the assets
  the partner engaged with (0 without history or without vectors).
- deal_engaged: 1 if the asset was already engaged with in this deal.
- co_engagement: the strongest co-engagement across partners (partners who engaged with both,
  in or out of a deal, cosine-normalised) of the asset with the partner's most recent engaged
  assets: "partners who used what you used also used this"; it needs no deal ids.
- co_usage: the strongest co-usage (deals in which both were used, cosine-normalised) of the
  asset with the partner's most recent engaged assets.
- won_rate: smoothed win rate of the closed deals in which the asset was used before the
  outcome was known; won_deals: how many of those were won.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from features.codes import codes_of, lookup_codes, table_positions
from features.pairs import MATURITIES, STAGES, TIERS, TYPES, USAGE_FEATURES, AssetTable
from features.point_in_time import SumsBefore, key_time_order
from features.timebase import EPOCH_US, US_PER_DAY, to_micros

# Usage features that depend on the asset and the context's stage / segment only, and those
# that depend on the partner and the deal (serving precomputes the first kind per snapshot).
ASSET_LEVEL_FEATURES = (
    "asset_popularity",
    "segment_popularity",
    "segment_engagement",
    "exposure",
    "ctr",
    "ctr_stage",
    "ctr_maturity",
    "engagement_rate",
    "won_rate",
    "won_deals",
)
PARTNER_LEVEL_FEATURES = tuple(f for f in USAGE_FEATURES if f not in ASSET_LEVEL_FEATURES)

DEFAULT_ENGAGEMENT_WEIGHTS: Mapping[str, float] = {"open": 1.0, "download": 2.0, "share": 3.0}
N_SEGMENTS = len(TIERS) * len(MATURITIES)
_I63 = 2**62


def examination_of(examination: Sequence[float], position: np.ndarray) -> np.ndarray:
    """The examination probability of each (0-based) position: `examination[p]`, the last
    value beyond its end, 1 when `examination` is empty."""
    if not len(examination):
        return np.ones(len(position))
    curve = np.asarray(examination, dtype=np.float64)
    index = np.clip(np.asarray(position, dtype=np.int64), 0, len(curve) - 1)
    return curve[index]


def _deal_pairs(
    deal: np.ndarray, asset: np.ndarray, t: np.ndarray, n_assets: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair of two assets used in one deal: its key `a * n_assets + b` and the
    time the later of the two was first used in the deal. The rows are one per (deal, asset),
    with that asset's first use; the pairs come in no particular order (they are counted).

    What a self-merge on the deal did, in numpy: the merge and the filter of its result cost a
    second of a 10M-event journal's usage build."""
    order = np.argsort(deal, kind="stable")
    deal, asset, t = deal[order], asset[order], t[order]
    starts = np.flatnonzero(np.r_[True, deal[1:] != deal[:-1]])  # [0] when empty: one empty deal
    sizes = np.diff(np.r_[starts, len(deal)])
    size_of = np.repeat(sizes, sizes)  # each row's deal size
    first_row = np.repeat(starts, sizes)  # each row's deal's first row
    left = np.repeat(np.arange(len(deal)), size_of)
    # the right rows: for each left row, every row of its deal in turn
    offset = np.arange(len(left)) - np.repeat(np.cumsum(size_of) - size_of, size_of)
    right = np.repeat(first_row, size_of) + offset
    other = left != right  # one row per (deal, asset): another row is another asset
    left, right = left[other], right[other]
    return asset[left] * n_assets + asset[right], np.maximum(t[left], t[right])


def _with_impression_totals(
    events: pd.DataFrame, impressions: pd.DataFrame | None
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """`events` and, after them, one impression row per aggregated group, all at the log's
    last time (so the rows stay in time order without a sort, and a query inside the log sees
    none of them: never a leak); how many events each row stands for; the earliest time of
    the groups."""
    if impressions is None or not len(impressions):
        return events, np.ones(len(events)), np.iinfo(np.int64).max
    last = int(impressions["last_ts"].max())
    if len(events):
        last = max(last, int(to_micros(events["ts"].iloc[-1:])[0]))
    rows = pd.DataFrame(
        {
            "ts": np.full(len(impressions), last).astype("datetime64[us]"),
            "type": "impression",
            "partner_id": impressions["partner_id"].to_numpy(dtype=object),
            "asset_id": impressions["asset_id"].to_numpy(dtype=object),
            "stage": impressions["stage"].to_numpy(dtype=object),
            "position": impressions["position"].to_numpy(dtype=np.int64),
        }
    )
    counts = np.concatenate(
        [np.ones(len(events)), impressions["events"].to_numpy(dtype=np.float64)]
    )
    both = pd.concat([events, rows], ignore_index=True) if len(events) else rows
    return both, counts, int(impressions["first_ts"].min())


def segment_code(tier: str | None, maturity: str | None) -> int:
    """tier x maturity as one integer (-1 when either is unknown)."""
    if tier not in TIERS or maturity not in MATURITIES:
        return -1
    return TIERS.index(tier) * len(MATURITIES) + MATURITIES.index(maturity)


@dataclass(frozen=True)
class UsageConfig:
    """How usage aggregates are weighted, decayed and smoothed."""

    half_life_days: float = 30.0
    prior_strength: float = 20.0  # impressions' worth of prior for rates
    win_prior_strength: float = 5.0  # closed deals' worth of prior for win rates
    affinity_prior_strength: float = 10.0  # engagements' worth of prior for partner affinity
    recent_assets: int = 10  # co-usage looks at the partner's last N engaged assets
    co_engagement_window: int = 50  # each asset pairs with the partner's previous N (see build)
    # How likely a partner is to look at each slot (position 0 = top; later positions take the
    # last value), estimated from the logs by training (`recommender.learning.off_policy`):
    # an impression counts as that many examined ones, so an asset always shown at the bottom
    # is not blamed for it. Empty: every impression counts as examined.
    examination: tuple[float, ...] = ()
    engagement_weights: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_ENGAGEMENT_WEIGHTS)
    )

    @property
    def decay_per_us(self) -> float:
        return float(np.log(2.0) / (self.half_life_days * US_PER_DAY))


# Guards each UsageIndex's few cached co-usage matrices (`_co_usage_at`).
_CO_DENSE_LOCK = threading.Lock()


@dataclass
class UsageIndex:
    """Point-in-time usage aggregates over one event log (see the module docstring)."""

    config: UsageConfig
    n_assets: int
    type_code: np.ndarray
    partner_ids: dict[str, int]
    partner_segment: np.ndarray
    partner_maturity: np.ndarray
    deal_ids: dict[str, int]
    t_ref: int  # decay reference time (us): the last event
    vectors: np.ndarray | None
    _sums: dict[str, SumsBefore] = field(repr=False)
    _partner_order_assets: np.ndarray = field(repr=False)
    _partner_vec_cum: np.ndarray | None = field(repr=False)

    # ---- building ---------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        events: pd.DataFrame,
        table: AssetTable,
        partners: pd.DataFrame | None = None,
        *,
        config: UsageConfig | None = None,
        asset_vectors: np.ndarray | None = None,
        impressions: pd.DataFrame | None = None,
    ) -> UsageIndex:
        """Index `events` (EVENTS columns; ts tz-naive UTC) for point-in-time queries.

        `partners` (partner_id, tier, maturity) gives each partner its segment; partners that
        appear only in events get segment -1. `asset_vectors` (n_assets, d), aligned with
        `table`, enables partner_similarity.

        `impressions`, when given, are the log's impressions aggregated per (partner_id,
        asset_id, stage, position), with `events` (how many), `first_ts` and `last_ts` (UTC
        epoch microseconds), and `events` then holds none. Impressions only count towards
        the rates (exposure, ctr...), so every query after the last event (serving) answers
        exactly as with the raw impressions; one inside the log (a replay) sees none of
        them.
        """
        config = config or UsageConfig()
        events, multiplicity, first_us = _with_impression_totals(events, impressions)
        n_assets = len(table)
        pids: dict[str, int] = {}
        seg: list[int] = []
        mat: list[int] = []
        if partners is not None and len(partners):
            for pid, tier, maturity in zip(
                partners["partner_id"].astype(str),
                partners["tier"],
                partners["maturity"],
                strict=True,
            ):
                if pid not in pids:
                    pids[pid] = len(pids)
                    seg.append(segment_code(tier, maturity))
                    mat.append(MATURITIES.index(maturity) if maturity in MATURITIES else -1)
        ev_partner_raw = events["partner_id"].astype(str)
        for pid in pd.unique(ev_partner_raw):
            if pid not in pids:
                pids[pid] = len(pids)
                seg.append(-1)
                mat.append(-1)
        partner_segment = np.asarray(seg, dtype=np.int64)
        partner_maturity = np.asarray(mat, dtype=np.int64)

        deal_col = events["deal_id"] if "deal_id" in events else pd.Series([None] * len(events))
        # Deals numbered by first appearance (of their id as text); a missing id is -1.
        deal_codes, deal_uniques = pd.factorize(deal_col)
        deal_ids: dict[str, int] = {}
        renumber = [deal_ids.setdefault(str(d), len(deal_ids)) for d in deal_uniques]
        deal = np.asarray([*renumber, -1], dtype=np.int64)[deal_codes]

        t = to_micros(events["ts"]) if len(events) else np.zeros(0, dtype=np.int64)
        type_codes, type_names = pd.factorize(events["type"].astype(str))
        type_names = [str(name) for name in type_names]

        def of_type(name: str) -> np.ndarray:
            if name not in type_names:
                return np.zeros(len(events), dtype=bool)
            return np.asarray(type_codes == type_names.index(name))

        asset = table_positions(table, events["asset_id"])
        partner = lookup_codes(pids, ev_partner_raw)
        stage = codes_of(events.get("stage"), STAGES, len(events))
        segment = np.where(partner >= 0, partner_segment[partner], -1)
        maturity = np.where(partner >= 0, partner_maturity[partner], -1)
        atype = np.where(asset >= 0, table.type_code[np.maximum(asset, 0)], -1).astype(np.int64)

        weights = config.engagement_weights
        is_imp = of_type("impression") & (asset >= 0)
        is_open = of_type("open") & (asset >= 0)
        eng_w = np.zeros(len(events))
        for name, w in weights.items():
            eng_w[of_type(name)] = float(w)
        is_eng = (eng_w > 0) & (asset >= 0)
        t_ref = int(t.max()) if len(t) else EPOCH_US
        t0 = min(int(t.min()), first_us) if len(t) else EPOCH_US
        presorted = bool(np.all(t[1:] >= t[:-1]))  # a journal's read is ordered by time
        decay = config.decay_per_us
        # Decayed weights relative to the last event: <= 1, so no overflow.
        decayed = eng_w * np.exp(np.clip((t - t_ref) * decay, -700, 0))

        n_types, n_stages, n_mat = len(TYPES), len(STAGES), len(MATURITIES)
        n_partners = max(len(pids), 1)
        n_deals = max(len(deal_ids), 1)
        largest_key = (
            max(
                n_assets * n_assets,
                n_partners * n_assets,
                n_deals * n_assets,
                N_SEGMENTS * n_assets,
            )
            + 1
        )
        t_span_us = int(t.max() - t0) + 2 if len(t) else 2
        tick = 1
        while (t_span_us // tick + 2) * largest_key >= _I63:
            tick *= 1000
        span = t_span_us // tick + 2

        def sums(
            keys: np.ndarray, mask: np.ndarray, w: np.ndarray | None, n_cols: int = 1
        ) -> SumsBefore:
            keys = np.where(mask, keys, -1)
            return SumsBefore(
                keys, t, w, t0=t0, tick=tick, span=span, n_cols=n_cols, presorted=presorted
            )

        # (examined impressions, opens, weighted engagement, impressions) per key.
        if "position" in events:
            pos = pd.to_numeric(events["position"], errors="coerce").to_numpy(dtype=np.float64)
        else:
            pos = np.zeros(len(events))
        pos = np.where(np.isfinite(pos), np.maximum(pos, 0.0), 0.0)
        examined = np.where(is_imp, examination_of(config.examination, pos) * multiplicity, 0.0)
        rate_w = np.column_stack(
            [examined, is_open, np.where(is_eng, eng_w, 0.0), is_imp * multiplicity]
        ).astype(float)
        rate_mask = is_imp | is_open | is_eng
        s: dict[str, SumsBefore] = {}
        s["rate_asset"] = sums(asset, rate_mask, rate_w, 4)
        s["rate_type"] = sums(atype, rate_mask, rate_w, 4)
        st_ok = stage >= 0
        s["rate_asset_stage"] = sums(asset * n_stages + stage, rate_mask & st_ok, rate_w, 4)
        s["rate_type_stage"] = sums(atype * n_stages + stage, rate_mask & st_ok, rate_w, 4)
        mat_ok = maturity >= 0
        s["rate_asset_mat"] = sums(asset * n_mat + maturity, rate_mask & mat_ok, rate_w, 4)
        s["rate_type_mat"] = sums(atype * n_mat + maturity, rate_mask & mat_ok, rate_w, 4)
        # Decayed engagement: per asset, per (segment, asset), per segment.
        s["pop_asset"] = sums(asset, is_eng, decayed)
        seg_ok = segment >= 0
        s["pop_seg_asset"] = sums(segment * n_assets + asset, is_eng & seg_ok, decayed)
        s["pop_seg"] = sums(segment, is_eng & seg_ok, decayed)
        # Partner history.
        s["partner_asset"] = sums(partner * n_assets + asset, is_eng, None)
        s["partner_type"] = sums(partner * n_types + atype, is_eng, None)
        s["partner"] = sums(partner, is_eng, None)
        s["deal_asset"] = sums(deal * n_assets + asset, is_eng & (deal >= 0), None)
        s["eng_type"] = sums(atype, is_eng, None)
        everything = np.zeros(len(events), dtype=np.int64)
        s["eng_all"] = sums(everything, is_eng, None)
        s["rate_all"] = sums(everything, rate_mask, rate_w, 4)

        # Partner engagement sequence (for co-usage and similarity): sorted by (partner, t).
        p_keys = np.where(is_eng, partner, -1)
        order = key_time_order(p_keys, t, t0=t0, tick=tick, span=span, presorted=presorted)
        p_sorted = SumsBefore(p_keys, t, None, t0=t0, tick=tick, span=span, order=order)
        partner_order_assets = asset[order]
        s["partner_seq"] = p_sorted
        vec_cum = None
        vectors = None
        if asset_vectors is not None and len(asset_vectors) == n_assets:
            vectors = np.asarray(asset_vectors, dtype=np.float32)
            vec_cum = np.vstack(
                [
                    np.zeros((1, vectors.shape[1])),
                    np.cumsum(vectors[partner_order_assets].astype(np.float64), axis=0),
                ]
            )

        # Co-usage: assets a, b used in the same deal count once per deal, from the time the
        # later of the two was first used in it.
        first = pd.DataFrame({"deal": deal, "asset": asset, "t": t})[is_eng & (deal >= 0)]
        first = first.groupby(["deal", "asset"], sort=False)["t"].min().reset_index()
        pair_keys, pair_t = _deal_pairs(
            first["deal"].to_numpy(), first["asset"].to_numpy(), first["t"].to_numpy(), n_assets
        )
        s["co_pair"] = SumsBefore(pair_keys, pair_t, None, t0=t0, tick=tick, span=span)
        s["co_asset"] = SumsBefore(
            first["asset"].to_numpy(), first["t"].to_numpy(), None, t0=t0, tick=tick, span=span
        )
        # Co-engagement across partners: assets a, b engaged with by the same partner, in or
        # out of a deal, count once per partner, from the time the later of the two was first
        # engaged with; each asset is paired with the partner's `co_engagement_window` assets
        # engaged with just before it (bounded work on long histories).
        s["pco_pair"], s["pco_asset"] = _partner_pairs(
            partner, asset, t, is_eng & (partner >= 0), config.co_engagement_window,
            n_assets=n_assets, t0=t0, tick=tick, span=span,
        )  # fmt: skip

        # Win influence: at the time a deal's outcome is logged, every asset used in the deal
        # before then gains a closed deal (and a won deal if it was won).
        is_out = of_type("deal_outcome") & (deal >= 0)
        if "outcome" in events and is_out.any():
            won = events["outcome"][is_out].astype(object).to_numpy() == "won"
            outs = pd.DataFrame({"deal": deal[is_out], "t_out": t[is_out], "won": won})
            used = outs.merge(first, on="deal")
            used = used[used["t"] < used["t_out"]]
            s["win_asset"] = SumsBefore(
                used["asset"].to_numpy(),
                used["t_out"].to_numpy(),
                np.column_stack([np.ones(len(used)), used["won"].to_numpy(float)]),
                t0=t0,
                tick=tick,
                span=span,
                n_cols=2,
            )
            s["win_all"] = SumsBefore(
                np.zeros(len(outs), dtype=np.int64),
                outs["t_out"].to_numpy(),
                np.column_stack([np.ones(len(outs)), outs["won"].to_numpy(float)]),
                t0=t0,
                tick=tick,
                span=span,
                n_cols=2,
            )
        return cls(
            config=config,
            n_assets=n_assets,
            type_code=table.type_code.astype(np.int64),
            partner_ids=pids,
            partner_segment=partner_segment,
            partner_maturity=partner_maturity,
            deal_ids=deal_ids,
            t_ref=t_ref,
            vectors=vectors,
            _sums=s,
            _partner_order_assets=partner_order_assets,
            _partner_vec_cum=vec_cum,
        )

    def for_serving(self) -> UsageIndex:
        """This index as serving reads it after the log's last event: the partner sequences
        kept whole, every other sum reduced to its per-key totals (a fraction of the size:
        what a child process sends a service worker). A query before the last event then
        counts every event of those sums, as of the log's end."""
        sums = {
            name: value if name == "partner_seq" else value.totals_only()
            for name, value in self._sums.items()
        }
        sums["partner_seq"].keys_sorted  # noqa: B018  (sorted here, in the builder)
        return replace(self, _sums=sums)

    # ---- lookups ----------------------------------------------------------------------------
    def partner_codes(self, ids: object) -> np.ndarray:
        """Integer codes of partner ids (-1 for a partner without events or profile)."""
        return lookup_codes(self.partner_ids, ids)

    def deal_codes(self, ids: object) -> np.ndarray:
        return lookup_codes(self.deal_ids, ids)

    @property
    def last_event_us(self) -> int:
        return self.t_ref

    def features(
        self,
        asset: np.ndarray,
        t_us: np.ndarray | int,
        *,
        partner: np.ndarray | int = -1,
        deal: np.ndarray | int = -1,
        stage: np.ndarray | int = -1,
        segment: np.ndarray | int | None = None,
        maturity: np.ndarray | int | None = None,
        visible_before: int | None = None,
        as_new: np.ndarray | bool = False,
    ) -> dict[str, np.ndarray]:
        """USAGE_FEATURES for each query, from events strictly before its time `t_us`.

        All arguments are per-query integer arrays (or scalars, broadcast): asset positions in
        the AssetTable, epoch microseconds, and codes from `partner_codes` / `deal_codes` /
        STAGES (-1 = unknown). `segment` / `maturity` default to the stored partner's; pass
        them for a partner known only from the request. `visible_before` (epoch us) hides
        later events as well, e.g. to score a held-out window with what was known at its start;
        decay and ages still run to each query's own time.

        The result is `asset_features` (what depends on the asset and the context's stage and
        segment) merged with `partner_features` (what depends on the partner and the deal).
        `as_new` (per query) computes the features of a never-used asset instead: training
        uses it to teach the model to rank new assets.
        """
        asset = np.asarray(asset, dtype=np.int64)
        n = len(asset)
        partner = _broad(partner, n)
        if segment is None:
            segment = np.where(partner >= 0, self.partner_segment[np.maximum(partner, 0)], -1)
        if maturity is None:
            maturity = np.where(partner >= 0, self.partner_maturity[np.maximum(partner, 0)], -1)
        cols = self.asset_features(
            asset,
            t_us,
            stage=stage,
            segment=segment,
            maturity=maturity,
            visible_before=visible_before,
            as_new=as_new,
        )
        cols.update(
            self.partner_features(
                asset,
                t_us,
                partner=partner,
                deal=deal,
                visible_before=visible_before,
                as_new=as_new,
            )
        )
        return {name: cols[name] for name in USAGE_FEATURES}

    def _times(
        self, n: int, t_us: np.ndarray | int, visible_before: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        t_query = np.broadcast_to(np.asarray(t_us, dtype=np.int64), (n,))
        t = t_query if visible_before is None else np.minimum(t_query, int(visible_before))
        return t_query, t

    def asset_features(
        self,
        asset: np.ndarray,
        t_us: np.ndarray | int,
        *,
        stage: np.ndarray | int = -1,
        segment: np.ndarray | int = -1,
        maturity: np.ndarray | int = -1,
        visible_before: int | None = None,
        as_new: np.ndarray | bool = False,
    ) -> dict[str, np.ndarray]:
        """ASSET_LEVEL_FEATURES: popularity, rates, win influence (see `features`).

        Rows flagged `as_new` get the values of an asset never seen in the log (its type's
        rates, no popularity, the global win rate): what a newly published asset gets.
        """
        asset = np.asarray(asset, dtype=np.int64)
        n = len(asset)
        seen = (asset >= 0) & ~np.broadcast_to(np.asarray(as_new, dtype=bool), (n,))
        t_query, t = self._times(n, t_us, visible_before)
        stage, segment, maturity = _broad(stage, n), _broad(segment, n), _broad(maturity, n)
        cfg = self.config
        s = self._sums
        n_assets = self.n_assets
        n_stages, n_mat = len(STAGES), len(MATURITIES)
        atype = np.where(asset >= 0, self.type_code[np.maximum(asset, 0)], -1)
        m = cfg.prior_strength
        zero = np.zeros(n, dtype=np.int64)

        def key(ok: np.ndarray, k: np.ndarray) -> np.ndarray:
            return np.where(ok, k, -1)

        # Rates: global -> type -> asset; type x stage -> asset x stage; type x maturity -> ...
        # Columns of the rate sums: examined impressions, opens, weighted engagement, impressions.
        tot = s["rate_all"].before(zero, t)
        g_ctr = (tot[:, 1] + 1.0) / (tot[:, 0] + 10.0)
        g_eng = (tot[:, 2] + 1.0) / (tot[:, 0] + 10.0)
        ty = s["rate_type"].before(key(atype >= 0, atype), t)
        ctr_type = (ty[:, 1] + m * g_ctr) / (ty[:, 0] + m)
        eng_type = (ty[:, 2] + m * g_eng) / (ty[:, 0] + m)
        a = s["rate_asset"].before(key(seen, asset), t)
        ctr = (a[:, 1] + m * ctr_type) / (a[:, 0] + m)
        eng_rate = (a[:, 2] + m * eng_type) / (a[:, 0] + m)
        ok = (asset >= 0) & (stage >= 0)
        ts_ = s["rate_type_stage"].before(key(ok, atype * n_stages + stage), t)
        ctr_ts = (ts_[:, 1] + m * ctr_type) / (ts_[:, 0] + m)
        as_ = s["rate_asset_stage"].before(key(ok & seen, asset * n_stages + stage), t)
        ctr_stage = np.where(ok, (as_[:, 1] + m * ctr_ts) / (as_[:, 0] + m), ctr)
        ok = (asset >= 0) & (maturity >= 0)
        tm = s["rate_type_mat"].before(key(ok, atype * n_mat + maturity), t)
        ctr_tm = (tm[:, 1] + m * ctr_type) / (tm[:, 0] + m)
        am = s["rate_asset_mat"].before(key(ok & seen, asset * n_mat + maturity), t)
        ctr_mat = np.where(ok, (am[:, 1] + m * ctr_tm) / (am[:, 0] + m), ctr)

        # Decayed popularity, brought forward from the reference time to each query's time.
        factor = np.exp(np.clip((self.t_ref - t_query) * cfg.decay_per_us, -700, 700))
        pop = s["pop_asset"].before(key(seen, asset), t)[:, 0] * factor
        ok = (asset >= 0) & (segment >= 0)
        seg_asset = (
            s["pop_seg_asset"].before(key(ok & seen, segment * n_assets + asset), t)[:, 0] * factor
        )
        seg_total = s["pop_seg"].before(key(segment >= 0, segment), t)[:, 0] * factor
        lift = (seg_asset + 1.0 / n_assets) / (seg_total + 1.0) * n_assets
        seg_pop = np.where(ok, lift / (1.0 + lift), 0.5)

        # Win influence.
        if "win_asset" in s:
            w_all = s["win_all"].before(zero, t)
            g_win = (w_all[:, 1] + 1.0) / (w_all[:, 0] + 2.0)
            w = s["win_asset"].before(key(seen, asset), t)
            k = cfg.win_prior_strength
            won_rate = (w[:, 1] + k * g_win) / (w[:, 0] + k)
            won_deals = w[:, 1]
        else:
            won_rate = np.full(n, 0.5)
            won_deals = np.zeros(n)
        cols = {
            "asset_popularity": np.log1p(pop),
            "segment_popularity": seg_pop,
            "segment_engagement": np.log1p(seg_asset),
            "exposure": np.log1p(a[:, 3] + a[:, 1]),
            "ctr": ctr,
            "ctr_stage": ctr_stage,
            "ctr_maturity": ctr_mat,
            "engagement_rate": eng_rate,
            "won_rate": won_rate,
            "won_deals": won_deals,
        }
        return {name: np.asarray(cols[name], dtype=np.float32) for name in ASSET_LEVEL_FEATURES}

    def partner_features(
        self,
        asset: np.ndarray,
        t_us: np.ndarray | int,
        *,
        partner: np.ndarray | int = -1,
        deal: np.ndarray | int = -1,
        visible_before: int | None = None,
        as_new: np.ndarray | bool = False,
    ) -> dict[str, np.ndarray]:
        """PARTNER_LEVEL_FEATURES: the partner's and the deal's history (see `features`).

        Rows flagged `as_new` treat the asset as never used (by this partner, in this deal,
        with other assets); the partner's own history and tastes stay.
        """
        asset = np.asarray(asset, dtype=np.int64)
        n = len(asset)
        new = np.broadcast_to(np.asarray(as_new, dtype=bool), (n,))
        _t_query, t = self._times(n, t_us, visible_before)
        partner, deal = _broad(partner, n), _broad(deal, n)
        cfg = self.config
        s = self._sums
        n_assets, n_types = self.n_assets, len(TYPES)
        atype = np.where(asset >= 0, self.type_code[np.maximum(asset, 0)], -1)
        zero = np.zeros(n, dtype=np.int64)

        def key(ok: np.ndarray, k: np.ndarray) -> np.ndarray:
            return np.where(ok, k, -1)

        ok = (partner >= 0) & (asset >= 0) & ~new
        p_asset = s["partner_asset"].before(key(ok, partner * n_assets + asset), t)[:, 0]
        p_total = s["partner"].before(key(partner >= 0, partner), t)[:, 0]
        ok_t = (partner >= 0) & (atype >= 0)
        p_type = s["partner_type"].before(key(ok_t, partner * n_types + atype), t)[:, 0]
        e_type = s["eng_type"].before(key(atype >= 0, atype), t)[:, 0]
        e_all = s["eng_all"].before(zero, t)[:, 0]
        g_share = (e_type + 1.0) / (e_all + n_types)
        b = cfg.affinity_prior_strength
        affinity = ((p_type + b * g_share) / (p_total + b)) / g_share
        if (partner >= 0).any():
            similarity, co_usage, co_engagement = self._sequence_features(partner, asset, t)
        else:
            similarity, co_usage, co_engagement = np.zeros(n), np.zeros(n), np.zeros(n)
        co_usage = np.where(new, 0.0, co_usage)
        co_engagement = np.where(new, 0.0, co_engagement)
        ok = (deal >= 0) & (asset >= 0) & ~new
        deal_eng = s["deal_asset"].before(key(ok, deal * n_assets + asset), t)[:, 0] > 0
        cols = {
            "partner_engaged": np.log1p(p_asset),
            "partner_history": np.log1p(p_total),
            "partner_type_affinity": affinity,
            "partner_similarity": similarity,
            "deal_engaged": deal_eng,
            "co_usage": co_usage,
            "co_engagement": co_engagement,
        }
        return {name: np.asarray(cols[name], dtype=np.float32) for name in PARTNER_LEVEL_FEATURES}

    def _sequence_features(
        self, partner: np.ndarray, asset: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """partner_similarity, co_usage and co_engagement from the partner's engagement
        sequence before t."""
        n = len(asset)
        seq = self._sums["partner_seq"]
        if n and (partner == partner[0]).all() and (t == t[0]).all():
            # One request: one partner at one time (serving), one range lookup.
            lo1, hi1 = seq.ranges(partner[:1], t[:1])
            lo, hi = np.repeat(lo1, n), np.repeat(hi1, n)
        else:
            lo, hi = seq.ranges(partner, t)
        similarity = np.zeros(n)
        if self._partner_vec_cum is not None and self.vectors is not None:
            total = self._partner_vec_cum[hi] - self._partner_vec_cum[lo]
            norm = np.linalg.norm(total, axis=1)
            has = (norm > 0) & (asset >= 0)
            if has.any():
                v = self.vectors[asset[has]].astype(np.float64)
                similarity[has] = np.einsum("ij,ij->i", total[has], v) / norm[has]
        co = np.zeros(n)
        pco = np.zeros(n)
        start = np.maximum(lo, hi - self.config.recent_assets)
        lengths = np.where(asset >= 0, hi - start, 0)
        total_len = int(lengths.sum())
        if total_len:
            owner = np.repeat(np.arange(n), lengths)
            offsets = np.arange(total_len) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            other = self._partner_order_assets[np.repeat(start, lengths) + offsets]
            mine = asset[owner]
            tt = t[owner]
            keep = other != mine
            owner, other, mine, tt = owner[keep], other[keep], mine[keep], tt[keep]
            if len(owner):
                # One time for every pair (a request; a held-out window seen as of its start):
                # one dense matrix of every asset pair at that time, computed once.
                same = bool((tt == tt[0]).all())
                # owner is sorted: the best value per owner is a segmented max.
                starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
                for basket, out in (("co", co), ("pco", pco)):
                    dense = self._co_usage_at(int(tt[0]), basket) if same else None
                    value = (
                        dense[mine, other]
                        if dense is not None
                        else self._co_usage(mine, other, tt, basket)
                    )
                    out[owner[starts]] = np.maximum.reduceat(value, starts)
        return similarity, co, pco

    def _co_usage(
        self, mine: np.ndarray, other: np.ndarray, t: np.ndarray, basket: str = "co"
    ) -> np.ndarray:
        """Baskets (deals: "co"; partners: "pco") in which both assets were used before t,
        cosine-normalised."""
        both = self._sums[f"{basket}_pair"].before(mine * self.n_assets + other, t)[:, 0]
        n_mine = self._sums[f"{basket}_asset"].before(mine, t)[:, 0]
        n_other = self._sums[f"{basket}_asset"].before(other, t)[:, 0]
        return both / np.sqrt(np.maximum(n_mine * n_other, 1.0))

    def _co_usage_at(self, t: int, basket: str = "co", max_assets: int = 3000) -> np.ndarray | None:
        """`_co_usage` of every asset pair at time t as a dense matrix (a few are cached;
        None for catalogs too large for one). Any t after the last event is the same."""
        if self.n_assets > max_assets:
            return None
        t = min(t, self.t_ref + 1)
        with _CO_DENSE_LOCK:  # threads share an index (serving's, a training's refit)
            cache = self.__dict__.setdefault("_co_dense", {})
            matrix = cache.get((basket, t))
        if matrix is None:
            n = self.n_assets
            mine = np.repeat(np.arange(n), n)
            other = np.tile(np.arange(n), n)
            at = np.full(n * n, t, dtype=np.int64)
            matrix = self._co_usage(mine, other, at, basket).reshape(n, n).astype(np.float32)
            with _CO_DENSE_LOCK:
                if len(cache) >= 8:
                    cache.pop(next(iter(cache)))
                cache[(basket, t)] = matrix
        return matrix


def _partner_pairs(
    partner: np.ndarray,
    asset: np.ndarray,
    t: np.ndarray,
    mask: np.ndarray,
    window: int,
    *,
    n_assets: int,
    t0: int,
    tick: int,
    span: int,
) -> tuple[SumsBefore, SumsBefore]:
    """Sums of co-engaged asset pairs (both orders) and of engaged assets per partner basket:
    each (partner, asset) counted once, at its first engagement, paired with the `window`
    assets the partner first engaged with just before it, at the later of the two times."""
    first = (
        pd.DataFrame({"partner": partner[mask], "asset": asset[mask], "t": t[mask]})
        .groupby(["partner", "asset"], sort=False)["t"]
        .min()
        .reset_index()
        .sort_values(["partner", "t", "asset"], kind="stable")
    )
    p = first["partner"].to_numpy()
    a = first["asset"].to_numpy()
    tt = first["t"].to_numpy()
    mine, other, when = [], [], []
    for lag in range(1, max(window, 0) + 1):
        same = p[lag:] == p[:-lag]
        if not same.any():
            break
        mine.append(a[lag:][same])
        other.append(a[:-lag][same])
        when.append(tt[lag:][same])
    if mine:
        m, o, w = np.concatenate(mine), np.concatenate(other), np.concatenate(when)
        keys = np.concatenate([m * n_assets + o, o * n_assets + m])
        times = np.concatenate([w, w])
    else:
        keys, times = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pairs = SumsBefore(keys, times, None, t0=t0, tick=tick, span=span)
    singles = SumsBefore(a, tt, None, t0=t0, tick=tick, span=span)
    return pairs, singles


def _broad(value: np.ndarray | int, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.int64), (n,))
