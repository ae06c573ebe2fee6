"""The inputs of training and evaluation, loaded once, and the time split of the log.

`load_learning_data` reads the events (the journal, or a parquet file or export folder), the
catalog with its index, the playbook, partners and deals of a workspace into `LearningData`;
`Split` cuts the log's time span into the windows training uses:

    fit [start, validation)  |  validation [validation, test)  |  test [test, end]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.eligibility import published_assets
from features.pairs import AssetTable, PlaybookMatrices
from features.usage import UsageConfig, UsageIndex
from recommender.catalog.catalog import Catalog, load_catalog
from recommender.learning.oracle import Oracle
from recommender.steering.partners import load_partner_frame
from recommender.steering.playbook import load_playbook
from recommender.storage.event_files import read_events_parquet
from recommender.storage.usage import LEARNING_READ_COLUMNS, asset_vectors, read_journal
from recommender.workspace import Workspace


@dataclass
class LearningData:
    """The inputs of training and evaluation, loaded once."""

    events: pd.DataFrame  # EVENTS columns, sorted by ts, ts tz-naive UTC
    catalog: Catalog
    table: AssetTable
    playbook: PlaybookMatrices
    partners: pd.DataFrame
    deals: pd.DataFrame
    source: str
    workspace: Workspace | None = None
    oracle: Oracle | None = None  # the true utility, when a simulator made the data

    @property
    def static_ok(self) -> np.ndarray:
        """(n_assets,) bool: the assets whose status is published (`published_assets`)."""
        return published_assets(self.catalog.assets)

    def usage_index(self, config: UsageConfig) -> UsageIndex:
        """The point-in-time usage aggregates of these events (`features.usage.UsageIndex`),
        with the compact asset vectors serving uses for partner similarity."""
        return UsageIndex.build(
            self.events,
            self.table,
            self.partners,
            config=config,
            asset_vectors=asset_vectors(self.catalog, self.table),
        )


def load_learning_data(
    workspace: Workspace,
    *,
    events_path: Path | None = None,
    embedder_id: str | None = None,
    dim: int | None = None,
    oracle: Oracle | None = None,
) -> LearningData:
    """Events from the journal (or a parquet file / export folder), with catalog, playbook,
    partners, deals and, for generated data, the `oracle` given."""
    catalog = load_catalog(workspace, embedder_id=embedder_id, dim=dim)
    if events_path is not None:
        events = read_events_parquet(events_path)
        source = str(events_path)
    else:
        if not workspace.has_journal:
            raise FileNotFoundError(
                f"no event journal at {workspace.events_path}; run `recommender demo` or "
                "`recommender events import FILE` first"
            )
        events = read_journal(workspace, columns=LEARNING_READ_COLUMNS)
        source = workspace.journal_location
    columns = [c for c in LEARNING_READ_COLUMNS if c in events]
    events = (
        events[list(dict.fromkeys(columns))].sort_values("ts", kind="stable").reset_index(drop=True)
    )
    if not len(events):
        raise ValueError(f"{source} holds no events; there is nothing to learn from")
    deals = (
        pd.read_parquet(workspace.deals_path)
        if workspace.deals_path.exists()
        else pd.DataFrame(columns=["deal_id", "partner_id", "stage"])
    )
    return LearningData(
        events=events,
        catalog=catalog,
        table=AssetTable.from_frame(catalog.assets),
        playbook=load_playbook(workspace).matrices,
        partners=load_partner_frame(workspace),
        deals=deals,
        source=source,
        workspace=workspace,
        oracle=oracle,
    )


@dataclass(frozen=True)
class Split:
    """Time windows: fit [start, validation), validation [validation, test), test [test, end]."""

    start: pd.Timestamp
    validation: pd.Timestamp
    test: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def of(cls, ts: pd.Series, test_fraction: float, validation_fraction: float) -> Split:
        """The span of `ts` cut by time: the last `test_fraction` is the test window, the last
        `validation_fraction` of what precedes it the validation window."""
        start, end = pd.Timestamp(ts.min()), pd.Timestamp(ts.max())
        span = end - start
        test = start + span * (1.0 - test_fraction)
        validation = start + (test - start) * (1.0 - validation_fraction)
        return cls(start=start, validation=validation, test=test, end=end)

    def refit(self) -> Split:
        """The windows of the refit on all data: fit from the start to a validation window as
        long as this one's, which ends with the log (no test window: it was evaluated)."""
        validation = self.end - (self.test - self.validation)
        return Split(start=self.start, validation=validation, test=self.end, end=self.end)

    def to_dict(self) -> dict[str, str]:
        return {k: pd.Timestamp(v).isoformat() for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Split:
        return cls(**{k: pd.Timestamp(data[k]) for k in ("start", "validation", "test", "end")})
