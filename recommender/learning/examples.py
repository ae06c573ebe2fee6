"""Training examples: rows of (partner, deal, stage, time, asset) with a graded gain, grouped by
query, and which of them the ranker is fitted on.

Two kinds, each from one time window [start, end) of the log:

- `build_context_examples`: one group per request context (partner, deal, stage) with
  engagement: its engaged assets (graded) against sampled eligible assets it did not use
  (what a context ends up using out of the whole catalog, what the evaluation asks);
- `build_examples`: one group per request: its impressions with the best engagement that
  followed each, plus engagements no impression explains against sampled eligible negatives
  (what gets opened once shown).

Labels may look past an example (that is what a label is) but never past `end`, so nothing of a
later window reaches the fit. `select_fit_rows` keeps the groups LambdaRank learns from and
caps their number; `with_new_asset_copies` adds copies of some groups with their assets shown
as never used, so the model learns to rank assets published after training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from features.codes import codes_of, table_positions
from features.labels import LabelConfig, context_starts, impression_labels, window_judgements
from features.pairs import STAGES
from features.schema import ENGAGEMENT_TYPES
from features.timebase import to_micros
from recommender.learning.data import LearningData
from recommender.learning.encoder import PairEncoder


@dataclass
class Examples:
    """Training rows grouped by query (consecutive rows of one group), with their features."""

    partner_id: np.ndarray
    deal_id: np.ndarray
    stage: np.ndarray  # codes
    t_us: np.ndarray
    asset_pos: np.ndarray
    gain: np.ndarray
    group: np.ndarray  # group id per row (consecutive)
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    as_new: np.ndarray | None = None  # rows whose asset is presented as never used
    # the slot an impression row was shown in; -1 (None: every row) for a row not shown by
    # the portal in a request (a sampled negative, an engagement no impression explains)
    slot: np.ndarray | None = None

    @property
    def slots(self) -> np.ndarray:
        return np.full(len(self), -1, dtype=np.int64) if self.slot is None else self.slot

    def encode(self, encoder: PairEncoder) -> None:
        """Compute this set's feature columns (each row at its own time)."""
        self.columns = encoder.encode(
            self.partner_id,
            self.deal_id,
            self.stage,
            self.t_us,
            self.asset_pos,
            as_new=self.as_new,
        )

    def __len__(self) -> int:
        return len(self.asset_pos)

    @property
    def group_sizes(self) -> np.ndarray:
        if not len(self.group):
            return np.zeros(0, dtype=np.int64)
        change = np.flatnonzero(np.r_[True, self.group[1:] != self.group[:-1]])
        return np.diff(np.r_[change, len(self.group)])

    def take(self, rows: np.ndarray) -> Examples:
        return Examples(
            partner_id=self.partner_id[rows],
            deal_id=self.deal_id[rows],
            stage=self.stage[rows],
            t_us=self.t_us[rows],
            asset_pos=self.asset_pos[rows],
            gain=self.gain[rows],
            group=self.group[rows],
            columns={k: v[rows] for k, v in self.columns.items()},
            as_new=None if self.as_new is None else self.as_new[rows],
            slot=None if self.slot is None else self.slot[rows],
        )


def build_examples(
    data: LearningData,
    encoder: PairEncoder,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    labels: LabelConfig,
    negatives: int,
    seed: int,
) -> Examples:
    """Examples for events with start <= ts < end; labels see events before `end` only."""
    ev = data.events
    table = data.table
    window = ev[(ev["ts"] >= start) & (ev["ts"] < end)]
    in_window = ev[ev["ts"] < end]
    asset_pos = table_positions(table, window["asset_id"])
    stage = codes_of(window["stage"], STAGES, len(window))
    kind = window["type"].astype(str).to_numpy()
    # an event of no known stage (browsing outside a deal, a log that names none) counts as
    # well: its pairs take stage -1, which the pair features read as "unknown"
    usable = asset_pos >= 0
    imp_mask = usable & (kind == "impression") & window["request_id"].notna().to_numpy()
    imp = window[imp_mask]
    gain_imp = impression_labels(imp, in_window, labels, cutoff=end)
    # Groups: one request each, rows in position order.
    req = imp["request_id"].astype(str).to_numpy()
    slot_imp = pd.to_numeric(imp["position"], errors="coerce").fillna(-1).to_numpy(np.int64)
    order = np.lexsort((np.maximum(slot_imp, 0), req))
    req_codes = pd.factorize(req[order])[0]
    parts = {
        "partner_id": imp["partner_id"].astype(str).to_numpy()[order],
        "deal_id": imp["deal_id"].astype(object).to_numpy()[order],
        "stage": stage[imp_mask][order],
        "t_us": to_micros(imp["ts"])[order],
        "asset_pos": asset_pos[imp_mask][order],
        "gain": gain_imp[order],
        "group": req_codes.astype(np.int64),
        "slot": slot_imp[order],
    }
    # Engagements that no impression explains: positives with sampled negatives.
    eng_mask = usable & np.isin(kind, ENGAGEMENT_TYPES)
    eng = window[eng_mask]
    explained = (
        eng["request_id"].notna().to_numpy()
        & eng["request_id"].astype(str).isin(set(req)).to_numpy()
    )
    free = eng[~explained]
    if len(free):
        free_gain = pd.Series(free["type"].astype(str)).map(labels.weights).fillna(0).to_numpy()
        f = pd.DataFrame(
            {
                "partner_id": free["partner_id"].astype(str).to_numpy(),
                "deal_id": free["deal_id"].astype(object).to_numpy(),
                "stage": stage[eng_mask][~explained],
                "t_us": to_micros(free["ts"]),
                "asset_pos": asset_pos[eng_mask][~explained],
                "gain": free_gain,
            }
        )
        # One positive per (partner, deal, stage, asset): its best engagement, first time. A
        # missing deal id is a key of its own ("-"), not a key groupby drops: engagement
        # outside any deal (a partner browsing) counts.
        f["deal_key"] = f["deal_id"].astype(object).where(f["deal_id"].notna(), "-").astype(str)
        f = (
            f.sort_values("t_us", kind="stable")
            .groupby(["partner_id", "deal_key", "stage", "asset_pos"], sort=False, dropna=False)
            .agg(deal_id=("deal_id", "first"), t_us=("t_us", "first"), gain=("gain", "max"))
            .reset_index()
        )
        rng = np.random.default_rng(seed)
        ok = encoder.eligible(f["partner_id"].to_numpy(), f["t_us"].to_numpy(), data.static_ok)
        n_pos = len(f)
        neg = _sample_eligible(ok, negatives, rng)
        pos_assets = f["asset_pos"].to_numpy()
        keep = (neg != pos_assets[:, None]) & ok[np.arange(n_pos)[:, None], neg]
        base_group = int(parts["group"].max()) + 1 if len(parts["group"]) else 0
        rows_pos = np.arange(n_pos)
        rep = np.repeat(rows_pos, 1 + negatives)
        assets = np.column_stack([pos_assets, neg]).ravel()
        valid = np.column_stack([np.ones(n_pos, bool), keep]).ravel()
        gains = np.column_stack([f["gain"].to_numpy(), np.zeros((n_pos, negatives))]).ravel()
        extra = {
            "partner_id": f["partner_id"].to_numpy()[rep][valid],
            "deal_id": f["deal_id"].to_numpy()[rep][valid],
            "stage": f["stage"].to_numpy()[rep][valid].astype(np.int64),
            "t_us": f["t_us"].to_numpy()[rep][valid],
            "asset_pos": assets[valid],
            "gain": gains[valid],
            "group": (base_group + rep)[valid],
            "slot": np.full(int(valid.sum()), -1, dtype=np.int64),
        }
        parts = {k: np.concatenate([parts[k], extra[k]]) for k in parts}
    deal = parts["deal_id"].astype(object)
    deal[pd.isna(deal)] = None
    return Examples(
        partner_id=parts["partner_id"].astype(object),
        deal_id=deal,
        stage=parts["stage"].astype(np.int64),
        t_us=parts["t_us"].astype(np.int64),
        asset_pos=parts["asset_pos"].astype(np.int64),
        gain=parts["gain"].astype(np.float64),
        group=parts["group"].astype(np.int64),
        slot=parts["slot"].astype(np.int64),
    )


def build_context_examples(
    data: LearningData,
    encoder: PairEncoder,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    labels: LabelConfig,
    negatives: int,
    seed: int,
) -> Examples:
    """One group per request context (partner, deal, stage) of [start, end) with engagement:
    its engaged assets (graded) and `negatives` sampled eligible assets it did not engage
    with, at the context's first event. These teach what a context ends up using out of the
    whole catalog (what the evaluation asks), where impressions teach what gets opened once
    shown."""
    judged, window = window_judgements(data.events, start, end, labels)
    judged = judged.assign(asset_pos=table_positions(data.table, judged["asset_id"]))
    judged = judged[judged["asset_pos"] >= 0]
    if not len(judged):
        return _empty_examples()
    first = context_starts(window)
    ctx = first[first["context"].isin(set(judged["context"]))].reset_index(drop=True)
    ctx["stage"] = codes_of(ctx["stage"], STAGES, len(ctx))
    ctx_row = {c: i for i, c in enumerate(ctx["context"])}
    judged = judged[judged["context"].isin(ctx_row)]
    if not len(judged):
        return _empty_examples()
    rng = np.random.default_rng(seed)
    ok = encoder.eligible(ctx["partner_id"].to_numpy(), ctx["t_us"].to_numpy(), data.static_ok)
    rows = judged["context"].map(ctx_row).to_numpy(dtype=np.int64)
    engaged = np.zeros_like(ok)
    engaged[rows, judged["asset_pos"].to_numpy()] = True
    neg = _sample_eligible(ok & ~engaged, negatives, rng)
    neg_ok = (ok & ~engaged)[np.arange(len(ctx))[:, None], neg]
    n_ctx = len(ctx)
    pos_group = rows
    neg_group = np.repeat(np.arange(n_ctx), negatives)[neg_ok.ravel()]
    group = np.concatenate([pos_group, neg_group])
    asset = np.concatenate([judged["asset_pos"].to_numpy(), neg.ravel()[neg_ok.ravel()]])
    gain = np.concatenate([judged["gain"].to_numpy(), np.zeros(int(neg_ok.sum()))])
    order = np.argsort(group, kind="stable")
    group, asset, gain = group[order], asset[order], gain[order]
    deal = ctx["deal_id"].to_numpy(dtype=object)[group]
    deal[pd.isna(deal)] = None
    return Examples(
        partner_id=ctx["partner_id"].to_numpy(dtype=object)[group],
        deal_id=deal,
        stage=ctx["stage"].to_numpy(dtype=np.int64)[group],
        t_us=ctx["t_us"].to_numpy(dtype=np.int64)[group],
        asset_pos=asset.astype(np.int64),
        gain=gain.astype(np.float64),
        group=group.astype(np.int64),
    )


def _empty_examples() -> Examples:
    z = np.zeros(0, dtype=np.int64)
    return Examples(
        partner_id=np.zeros(0, dtype=object),
        deal_id=np.zeros(0, dtype=object),
        stage=z,
        t_us=z,
        asset_pos=z,
        gain=np.zeros(0),
        group=z,
    )


def concat_examples(parts: Sequence[Examples]) -> Examples:
    """Examples one after the other, group ids renumbered so groups stay distinct."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_examples()
    out = []
    base = 0
    for p in parts:
        codes = pd.factorize(p.group)[0].astype(np.int64) + base
        base = int(codes.max()) + 1
        out.append(replace(p, group=codes))
    cols = (
        {k: np.concatenate([p.columns[k] for p in out]) for k in out[0].columns}
        if all(p.columns for p in out)
        else {}
    )
    return Examples(
        partner_id=np.concatenate([p.partner_id for p in out]),
        deal_id=np.concatenate([p.deal_id for p in out]),
        stage=np.concatenate([p.stage for p in out]),
        t_us=np.concatenate([p.t_us for p in out]),
        asset_pos=np.concatenate([p.asset_pos for p in out]),
        gain=np.concatenate([p.gain for p in out]),
        group=np.concatenate([p.group for p in out]),
        columns=cols,
        as_new=np.concatenate([_flags(p) for p in out]),
        slot=np.concatenate([p.slots for p in out]),
    )


def _flags(ex: Examples) -> np.ndarray:
    return np.zeros(len(ex), dtype=bool) if ex.as_new is None else ex.as_new


def with_new_asset_copies(ex: Examples, fraction: float, seed: int) -> Examples:
    """`ex` plus a copy of a random `fraction` of its groups in which every asset is presented
    as never used (`UsageIndex` as_new): the model learns to rank new assets by their content,
    context and the partner's tastes, as it must for assets published after training."""
    if fraction <= 0 or not len(ex):
        return ex
    sizes = ex.group_sizes
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    rng = np.random.default_rng(seed)
    pick = np.flatnonzero(rng.random(len(sizes)) < fraction)
    if not len(pick):
        return ex
    copy = ex.take(_ranges(starts[pick], sizes[pick]))
    copy.as_new = np.ones(len(copy), dtype=bool)
    return concat_examples([ex, copy])


def select_fit_rows(parts: Sequence[Examples], max_rows: int, seed: int) -> Examples:
    """The informative groups of each part (one engaged and one ignored asset at least), the
    earlier parts first, at most `max_rows` in all (whole groups are sampled)."""
    chosen = []
    room = max_rows
    for part in parts:
        if room <= 0 or not len(part):
            continue
        rows = _informative_groups(part, room, seed)
        chosen.append(part.take(rows))
        room -= len(rows)
    return concat_examples(chosen)


def _sample_eligible(ok: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(rows, n) asset positions drawn uniformly (with replacement) from each row's True
    columns of `ok`; rows without any eligible asset draw column 0 (callers mask by `ok`)."""
    rows, cols = ok.shape
    counts = ok.sum(axis=1)
    cum = np.cumsum(ok, axis=1).astype(np.float64) / np.maximum(counts, 1)[:, None]
    # One sorted array: row r's cumulative shares shifted by r, so one searchsorted serves all.
    flat = (cum + np.arange(rows)[:, None]).ravel()
    draws = rng.random((rows, n)) + np.arange(rows)[:, None]
    idx = np.searchsorted(flat, draws.ravel(), side="right").reshape(rows, n)
    return np.clip(idx - np.arange(rows)[:, None] * cols, 0, cols - 1)


def _informative_groups(ex: Examples, max_rows: int, seed: int) -> np.ndarray:
    """Rows of groups with at least one positive and one negative (LambdaRank learns nothing
    from the others), at most `max_rows`, sampled by whole groups."""
    sizes = ex.group_sizes
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    pos = np.add.reduceat(ex.gain > 0, starts) if len(starts) else np.zeros(0)
    keep = (pos > 0) & (pos < sizes)
    chosen = np.flatnonzero(keep)
    if sizes[chosen].sum() > max_rows:
        rng = np.random.default_rng(seed)
        chosen = rng.permutation(chosen)
        chosen = np.sort(chosen[np.cumsum(sizes[chosen]) <= max_rows])
    return _ranges(starts[chosen], sizes[chosen])


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    total = int(sizes.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.repeat(starts, sizes) + offsets
