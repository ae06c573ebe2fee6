"""Serving-side usage features: the journal indexed once per snapshot.

`JournalUsageProvider` implements the pipeline's `UsageProvider`: at snapshot build it reads
the event journal, builds the same `features.usage.UsageIndex` training uses, and precomputes
each segment's most popular assets for candidate generation. A request then costs a handful
of binary searches over arrays (every event is before "now", so lookups take the per-key
totals fast path).

`asset_vectors` gives both training and serving the same compact asset vectors (mean chunk
embedding, projected to a few dimensions by SVD of the catalog's own vectors) for the
partner-similarity feature.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from features.pairs import MATURITIES, STAGES, AssetTable
from features.timebase import day_to_micros
from features.usage import (
    ASSET_LEVEL_FEATURES,
    N_SEGMENTS,
    UsageConfig,
    UsageIndex,
    segment_code,
)
from recommender.types import DealContext, PartnerProfile
from recommender.workspace import Workspace

EVENT_READ_COLUMNS = (
    "ts",
    "type",
    "partner_id",
    "asset_id",
    "deal_id",
    "request_id",
    "position",
    "stage",
    "outcome",
)
# what a snapshot's usage features read of the events that are not impressions (UsageIndex
# reads no request id; impressions come aggregated)
USAGE_READ_COLUMNS = tuple(c for c in EVENT_READ_COLUMNS if c != "request_id")
# training also reads what the serving policy logged with each impression (off-policy values)
LEARNING_READ_COLUMNS = (*EVENT_READ_COLUMNS, "propensity", "propensity_shown")
VECTOR_DIMS = 32


def usage_config(settings: Mapping[str, Any] | None) -> UsageConfig:
    """A UsageConfig from a manifest's "usage" mapping (unknown keys are ignored).

    Models trained before the examination curve was estimated from the logs recorded a
    `position_bias` exponent of a fixed curve, (1 / log2(p + 2)) ** position_bias: their
    features are computed with that curve, as they were trained."""
    settings = dict(settings or {})
    names = {f.name for f in fields(UsageConfig)}
    chosen = {k: v for k, v in settings.items() if k in names}
    if "examination" in chosen:
        chosen["examination"] = tuple(float(x) for x in chosen["examination"])
    elif "position_bias" in settings:
        exponent = float(settings["position_bias"])
        chosen["examination"] = tuple(
            float((1.0 / np.log2(p + 2.0)) ** exponent) for p in range(LEGACY_POSITIONS)
        )
    return UsageConfig(**chosen)


def usage_settings(config: UsageConfig) -> dict[str, Any]:
    """The manifest form of a UsageConfig."""
    out: dict[str, Any] = {}
    for f in fields(UsageConfig):
        value = getattr(config, f.name)
        if isinstance(value, Mapping):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


# positions of the fixed curve older models were trained with (beyond: the last value)
LEGACY_POSITIONS = 1000


def asset_vectors(catalog: Any, table: AssetTable, dims: int = VECTOR_DIMS) -> np.ndarray | None:
    """(n_assets, dims) unit vectors aligned with `table`: each asset's mean chunk vector,
    centred and projected on the catalog's top `dims` singular directions. None when the
    catalog has no index vectors."""
    index = getattr(catalog, "index", None)
    if index is None or index.index.ntotal == 0:
        return None
    vectors = index.vectors().astype(np.float64)
    sums = np.zeros((len(index.asset_ids), vectors.shape[1]))
    np.add.at(sums, index.chunk_pos, vectors)
    counts = np.bincount(index.chunk_pos, minlength=len(index.asset_ids)).astype(np.float64)
    means = sums / np.maximum(counts, 1)[:, None]
    lookup = {a: i for i, a in enumerate(index.asset_ids.tolist())}
    rows = np.array([lookup.get(a, -1) for a in table.ids.tolist()], dtype=np.int64)
    out = np.zeros((len(table), means.shape[1]))
    out[rows >= 0] = means[rows[rows >= 0]]
    centred = out - out[rows >= 0].mean(axis=0) if (rows >= 0).any() else out
    k = int(min(dims, *centred.shape))
    if k < 1:
        return None
    _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ vt[:k].T
    norms = np.linalg.norm(projected, axis=1, keepdims=True)
    projected = np.where(norms > 0, projected / np.maximum(norms, 1e-12), 0.0)
    projected[rows < 0] = 0.0
    return projected.astype(np.float32)


def read_journal(
    workspace: Workspace, *, end: Any = None, columns: Sequence[str] = EVENT_READ_COLUMNS
) -> pd.DataFrame:
    """The journal's events (by default the columns usage needs), or an empty frame without a
    journal."""
    if not workspace.has_journal:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).assign(
            ts=pd.Series(dtype="datetime64[us]")
        )
    from recommender.storage.events import open_journal

    with open_journal(workspace) as journal:
        return journal.read(columns=list(columns), end=end)


def journal_position(workspace: Workspace) -> int:
    """How far the workspace's journal has been written: its last event's write order (0
    when empty or absent). It moves with every event written, and only then."""
    if not workspace.has_journal:
        return 0
    from recommender.storage.events import open_journal

    with open_journal(workspace) as journal:
        return journal.position()


def read_usage_inputs(workspace: Workspace) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """What a snapshot's usage features read of the journal, from one snapshot of it: the
    events that are not impressions (the columns usage needs) and the impressions aggregated
    as they were written (`Journal.usage_inputs`); (empty frame, None) without a journal.
    A journal of millions of impressions costs its engagements and its aggregate rows."""
    if not workspace.has_journal:
        return read_journal(workspace), None
    from recommender.storage.events import open_journal

    with open_journal(workspace) as journal:
        return journal.usage_inputs(USAGE_READ_COLUMNS)


@dataclass
class JournalUsageProvider:
    """UsageProvider over a UsageIndex built at snapshot time.

    Asset-level usage features (popularity, rates, win influence) depend only on the asset and
    the request's stage and segment, so they are computed once at build, by the same
    `UsageIndex.asset_features` training uses, for every (stage, segment, asset) as of the
    journal's last event, and looked up per request. Partner and deal features come from
    `UsageIndex.partner_features` too: every journal event is before any live request, so a
    partner's (or deal's) values for every asset are computed on its first request and kept
    (LRU) for the snapshot's life. A request dated inside the journal is computed exactly.
    """

    index: UsageIndex
    asset_grid: np.ndarray  # (n_stages, N_SEGMENTS, n_asset_features, n_assets) float32
    popular_by_segment: np.ndarray  # (N_SEGMENTS + 1, n_assets) asset positions, best first
    as_of_us: int = 0
    n_events: int = 0
    journal_position: int = -1  # the journal's `position()` when it was read (-1: unknown)
    cache_size: int = 4096  # partners and deals whose history is kept computed
    _cache: OrderedDict[tuple[str, int], dict[str, np.ndarray]] = field(
        default_factory=OrderedDict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(
        cls,
        events: pd.DataFrame,
        table: AssetTable,
        partners: pd.DataFrame | None,
        *,
        config: UsageConfig | None = None,
        vectors: np.ndarray | None = None,
        impressions: pd.DataFrame | None = None,
        journal_position: int = -1,
    ) -> JournalUsageProvider:
        """The provider of `events` (the journal's, or with `impressions` its events that are
        not impressions, and its impressions aggregated: `Journal.usage_inputs`)."""
        index = UsageIndex.build(
            events,
            table,
            partners,
            config=config,
            asset_vectors=vectors,
            impressions=impressions,
        )
        n = len(table)
        after = index.last_event_us + 1
        n_stages = len(STAGES)
        assets = np.tile(np.arange(n), n_stages * N_SEGMENTS)
        combo = np.repeat(np.arange(n_stages * N_SEGMENTS), n)
        stage, segment = combo // N_SEGMENTS, combo % N_SEGMENTS
        cols = index.asset_features(
            assets, after, stage=stage, segment=segment, maturity=segment % len(MATURITIES)
        )
        grid = (
            np.stack([cols[f] for f in ASSET_LEVEL_FEATURES])
            .reshape(len(ASSET_LEVEL_FEATURES), n_stages, N_SEGMENTS, n)
            .transpose(1, 2, 0, 3)
            .copy()
        )
        order = np.zeros((N_SEGMENTS + 1, n), dtype=np.int64)
        f_pop = ASSET_LEVEL_FEATURES.index("asset_popularity")
        f_seg = ASSET_LEVEL_FEATURES.index("segment_engagement")
        overall = grid[0, 0, f_pop]
        for seg in range(N_SEGMENTS):
            order[seg] = np.argsort(-(grid[0, seg, f_seg] + 1e-3 * overall), kind="stable")
        order[N_SEGMENTS] = np.argsort(-overall, kind="stable")
        return cls(
            index=index,
            asset_grid=grid,
            popular_by_segment=order,
            as_of_us=after,
            n_events=len(events)
            + (int(impressions["events"].sum()) if impressions is not None else 0),
            journal_position=journal_position,
        )

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its cache and lock (a child process builds providers)."""
        state = dict(self.__dict__)
        del state["_cache"], state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _cache=OrderedDict(), _lock=threading.Lock())

    def features(
        self, partner: PartnerProfile, context: DealContext, asset_pos: np.ndarray, day: float
    ) -> dict[str, np.ndarray]:
        asset_pos = np.asarray(asset_pos, dtype=np.int64)
        seg = segment_code(partner.tier, partner.maturity)
        block = self.asset_grid[STAGES.index(context.stage), seg][:, asset_pos]
        out = {name: block[i] for i, name in enumerate(ASSET_LEVEL_FEATURES)}
        index = self.index
        t_us = int(day_to_micros(day))
        pid = index.partner_ids.get(partner.partner_id, -1) if partner.partner_id else -1
        deal = index.deal_ids.get(context.deal_id, -1) if context.deal_id else -1
        if t_us <= index.last_event_us:
            # A request dated inside the journal (replaying history): no shortcuts.
            out.update(index.partner_features(asset_pos, t_us, partner=pid, deal=deal))
            return out
        # Every journal event is before the request: the partner's (and the deal's) features of
        # every asset are fixed for this snapshot, so they are computed once and kept.
        for name, column in self._history(("partner", pid), pid, -1).items():
            if name != "deal_engaged":
                out[name] = column[asset_pos]
        out["deal_engaged"] = self._history(("deal", deal), -1, deal)["deal_engaged"][asset_pos]
        return out

    def _history(self, key: tuple[str, int], partner: int, deal: int) -> dict[str, np.ndarray]:
        """`UsageIndex.partner_features` of every asset after the last event (LRU-cached)."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        n = len(self.asset_grid[0, 0, 0])
        value = self.index.partner_features(np.arange(n), self.as_of_us, partner=partner, deal=deal)
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return value

    def popular(self, partner: PartnerProfile, k: int) -> np.ndarray:
        seg = segment_code(partner.tier, partner.maturity)
        row = self.popular_by_segment[seg if seg >= 0 else N_SEGMENTS]
        return row[: max(0, int(k))]
