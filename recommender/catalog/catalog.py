"""The ingested catalog, loaded: asset table + vector index + embedded chunks.

`recommender.catalog.ingest` writes `<workspace>/catalog/` as one folder (assets.parquet,
chunks.parquet, index/); `load_catalog` reads it back into an immutable `Catalog` with the
column types the rest of the engine relies on:

- one row per asset, RangeIndex 0..n-1, columns in `ASSET_COLUMNS` order;
- list columns (products, stages, ...) as Python lists of str (never numpy arrays or None);
- date columns as pandas datetime64 (missing = NaT), so eligibility filters are vectorised;
- other optional text columns as object dtype with None for missing;
- `text_chars` (characters of body/document text) and `chunks` (passages embedded) as int64.

The asset table carries no `body` column: texts live in chunks.parquet, which keeps the asset
table small enough to load on every snapshot reload.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.schema import ASSETS
from features.validation import is_missing
from recommender.catalog.similar import read_similar
from recommender.embedding.index import IndexMismatchError, VectorIndex
from recommender.workspace import Workspace

LIST_COLUMNS: tuple[str, ...] = tuple(c.name for c in ASSETS.columns if c.kind.endswith("_list"))
DATE_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in ASSETS.columns if c.kind in ("date", "datetime")
)
COUNT_COLUMNS: tuple[str, ...] = ("text_chars", "chunks")
# Stored asset columns, in order: the ASSETS contract without `body`, then derived counts.
ASSET_COLUMNS: tuple[str, ...] = (
    *(name for name in ASSETS.names if name != "body"),
    *COUNT_COLUMNS,
)
CHUNK_COLUMNS: tuple[str, ...] = ("asset_id", "chunk", "text")


def missing_catalog_message(workspace: Workspace) -> str:
    return (
        f"no catalog in {workspace.catalog_dir}; "
        "run `recommender demo` or `recommender ingest PATH`"
    )


@dataclass(frozen=True, eq=False)
class Catalog:
    """Assets, their vector index and the chunks that were embedded; never mutated.

    Index hits name assets by id; `positions` maps an id to its row in `assets`, and
    `index_rows` maps each position of `index.asset_ids` to its row, so a FAISS result or a
    similarity array over `index.asset_ids` turns into asset rows with one numpy take.
    `index_pos` is the reverse: for each asset row, its position in `index.asset_ids`.
    """

    assets: pd.DataFrame
    index: VectorIndex
    chunks: pd.DataFrame | None = None
    # near-duplicate pairs and proposed families (recommender.catalog.similar); None: not known
    similar: pd.DataFrame | None = None
    positions: dict[str, int] = field(init=False, repr=False)
    index_rows: np.ndarray = field(init=False, repr=False)
    index_pos: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = self.assets["asset_id"].tolist()
        positions = {asset_id: row for row, asset_id in enumerate(ids)}
        index_ids = [str(a) for a in self.index.asset_ids.tolist()]
        if len(positions) != len(ids) or set(index_ids) != set(positions):
            only_assets = sorted(set(positions) - set(index_ids))[:5]
            only_index = sorted(set(index_ids) - set(positions))[:5]
            raise IndexMismatchError(
                "the asset table and the index disagree "
                f"(only in assets: {only_assets}, only in index: {only_index}); "
                "re-run `recommender ingest`"
            )
        index_rows = np.fromiter((positions[a] for a in index_ids), dtype=np.int64)
        index_pos = np.empty(len(ids), dtype=np.int64)
        index_pos[index_rows] = np.arange(len(index_rows), dtype=np.int64)
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "index_rows", index_rows)
        object.__setattr__(self, "index_pos", index_pos)

    def __len__(self) -> int:
        return len(self.assets)

    @property
    def asset_ids(self) -> list[str]:
        return self.assets["asset_id"].tolist()

    def position_of(self, asset_id: str) -> int:
        """Row of `asset_id` in `assets`; KeyError naming the id when it is not in the catalog."""
        try:
            return self.positions[asset_id]
        except KeyError:
            raise KeyError(f"asset {asset_id!r} is not in the catalog") from None

    def rows_for(self, asset_ids: Sequence[str]) -> np.ndarray:
        """Rows of `asset_ids` in `assets` (int64, -1 for ids not in the catalog)."""
        return np.fromiter((self.positions.get(a, -1) for a in asset_ids), dtype=np.int64)

    def index_mask(self, row_mask: np.ndarray | pd.Series) -> np.ndarray:
        """A boolean mask over asset rows turned into the mask `VectorIndex.search_assets` takes."""
        rows = np.asarray(row_mask, dtype=bool)
        if rows.shape != (len(self.assets),):
            raise ValueError(f"row mask has shape {rows.shape}; expected ({len(self.assets)},)")
        return rows[self.index_rows]

    def asset(self, asset_id: str) -> dict[str, Any]:
        """One asset as a dict of column -> value."""
        return dict(self.assets.iloc[self.position_of(asset_id)].to_dict())


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value if not is_missing(v)]
    return []


def normalise_assets(frame: pd.DataFrame) -> pd.DataFrame:
    """Give an asset table the stored column set, order and types (see the module doc).

    Accepts the output of `check_table` or a parquet read; extra columns are dropped.
    """
    n = len(frame)
    out: dict[str, Any] = {}
    for name in ASSET_COLUMNS:
        values: list[Any] = frame[name].tolist() if name in frame.columns else [None] * n
        if name in LIST_COLUMNS:
            out[name] = pd.Series([_as_list(v) for v in values], dtype=object)
        elif name in DATE_COLUMNS:
            stamps = [None if is_missing(v) else pd.Timestamp(v) for v in values]
            dates = pd.to_datetime(pd.Series(stamps, dtype=object))
            out[name] = dates.astype("datetime64[us]")
        elif name in COUNT_COLUMNS:
            out[name] = pd.Series([0 if is_missing(v) else int(v) for v in values], dtype="int64")
        else:
            out[name] = pd.Series([None if is_missing(v) else str(v) for v in values], dtype=object)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def assets_arrow_schema() -> Any:
    """The parquet schema of assets.parquet (stable whatever the data, e.g. all-null columns)."""
    import pyarrow as pa

    fields = []
    for name in ASSET_COLUMNS:
        if name in LIST_COLUMNS:
            kind = pa.list_(pa.string())
        elif name in DATE_COLUMNS:
            kind = pa.timestamp("us")
        elif name in COUNT_COLUMNS:
            kind = pa.int64()
        else:
            kind = pa.string()
        fields.append(pa.field(name, kind, nullable=name != "asset_id"))
    return pa.schema(fields)


def write_assets(frame: pd.DataFrame, path: Path) -> None:
    """Write a normalised asset table to parquet with the fixed schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(
        normalise_assets(frame), schema=assets_arrow_schema(), preserve_index=False
    )
    pq.write_table(table, path)


def write_chunks(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            pa.field("asset_id", pa.string(), nullable=False),
            pa.field("chunk", pa.int32(), nullable=False),
            pa.field("text", pa.string(), nullable=False),
        ]
    )
    table = pa.Table.from_pandas(frame[list(CHUNK_COLUMNS)], schema=schema, preserve_index=False)
    pq.write_table(table, path)


def read_assets(path: Path) -> pd.DataFrame:
    """assets.parquet as a normalised DataFrame."""
    return normalise_assets(pd.read_parquet(path))


def read_chunks(path: Path) -> pd.DataFrame:
    """chunks.parquet: asset_id (object), chunk (int64), text (object), in index order."""
    frame = pd.read_parquet(path)
    return pd.DataFrame(
        {
            "asset_id": pd.Series(frame["asset_id"].tolist(), dtype=object),
            "chunk": frame["chunk"].astype("int64").to_numpy(),
            "text": pd.Series(frame["text"].tolist(), dtype=object),
        }
    )


def load_catalog(
    workspace: Workspace,
    *,
    embedder_id: str | None = None,
    dim: int | None = None,
    with_chunks: bool = True,
) -> Catalog:
    """Load the workspace's catalog; the index is verified against its manifest on the way.

    `embedder_id`/`dim`: the embedder that will query the index (refused with
    `IndexMismatchError` when the index was built by another). Raises FileNotFoundError
    when there is no catalog yet.
    """
    if not workspace.assets_path.exists() or not (workspace.index_dir / "manifest.json").exists():
        raise FileNotFoundError(missing_catalog_message(workspace))
    index = VectorIndex.load(workspace.index_dir, embedder_id=embedder_id, dim=dim)
    assets = read_assets(workspace.assets_path)
    chunks = None
    if with_chunks and workspace.chunks_path.exists():
        chunks = read_chunks(workspace.chunks_path)
        if len(chunks) != index.index.ntotal:
            raise IndexMismatchError(
                f"{workspace.chunks_path} has {len(chunks)} chunks but the index holds "
                f"{index.index.ntotal} vectors; re-run `recommender ingest`"
            )
    return Catalog(
        assets=assets, index=index, chunks=chunks, similar=read_similar(workspace.similar_path)
    )
