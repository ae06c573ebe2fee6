"""The snapshot: everything one request reads (catalog, index, playbook, partners, scorer, usage,
overrides), immutable once built. The service swaps whole snapshots, so a request never sees
half an update. `Scorer` and `UsageProvider` are the two parts a trained model plugs in.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from features.eligibility import published_assets, unrestricted_assets
from features.pairs import AssetTable
from recommender.catalog.catalog import Catalog
from recommender.embedding.embedders import Embedder, QueryCache
from recommender.ranking.content import ContentScorer
from recommender.ranking.families import Groups
from recommender.ranking.seen import DEFAULT_RETURN_RATIO
from recommender.steering.overrides import Override
from recommender.steering.playbook import Playbook
from recommender.types import DealContext, PartnerProfile


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
    # how much less (or more) partners engage again with what they used (recommender.ranking.seen)
    return_ratio: float = DEFAULT_RETURN_RATIO
    created_at: float = field(default_factory=time.time)
    # Per-asset arrays aligned with `table`, derived once.
    index_pos: np.ndarray = field(default=None)  # type: ignore[arg-type]
    static_ok: np.ndarray = field(default=None)  # type: ignore[arg-type]  # published status
    unrestricted: np.ndarray = field(default=None)  # type: ignore[arg-type]  # no region limit
    query_cache: QueryCache = field(default=None)  # type: ignore[assignment]
    # What an item shows and its reasons read, as plain Python objects per asset: picking ten
    # rows out of the (Arrow-backed) frame with `iloc[...].to_dict()` cost more than the
    # whole rest of a request.
    display: dict[str, np.ndarray] = field(default=None)  # type: ignore[arg-type]
    # families and near-duplicates: a list shows one member of each (recommender.ranking.families)
    groups: Groups = field(default=None)  # type: ignore[assignment]
    # The running online experiments this snapshot serves, each with both arms' scorers loaded
    # for its catalog (recommender.experiments.live.LiveExperiment; the experiments room sits
    # above this one, so the snapshot holds them without knowing their type).
    experiments: tuple[Any, ...] = ()

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
            static_ok=published_assets(assets),
            unrestricted=unrestricted_assets(table),
            query_cache=query_cache or QueryCache(embedder),
            display=display_columns(assets),
            groups=Groups.build(assets, catalog.similar),
        )

    def with_changes(self, **changes: Any) -> Snapshot:
        """A new snapshot sharing everything but `changes` (e.g. new overrides or scorer)."""
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
