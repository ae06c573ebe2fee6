"""The deal notes' similarity to every asset, as serving computes it for a request's notes.

Serving compares a request's notes with the asset chunks of the catalog's index (the best chunk
per asset: `ranking.candidates.candidate_similarity`). Training and evaluation need that number
for every deal of the log, so `DealText` embeds each deal's notes once (as queries; vectors
cached by content hash in the workspace's embedding cache) into a deal x asset matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from features.pairs import AssetTable
from recommender.catalog.catalog import Catalog, load_catalog
from recommender.embedding.embedders import (
    DEFAULT_EMBEDDER,
    Embedder,
    EmbeddingCache,
    content_hash,
    get_embedder,
)
from recommender.workspace import Workspace


@dataclass
class DealText:
    """Cosine similarity of each deal's notes to every asset (best chunk), as serving does.

    `sims[rows[deal_id]]` is the deal's (n_assets,) row; a deal without notes has no row.
    """

    rows: dict[str, int]  # deal id -> row of `sims`
    sims: np.ndarray  # (n_rows, n_assets) float32, aligned with the AssetTable

    @classmethod
    def empty(cls, n_assets: int) -> DealText:
        return cls(rows={}, sims=np.zeros((0, n_assets), dtype=np.float32))

    @classmethod
    def compute(
        cls,
        deals: pd.DataFrame,
        catalog: Catalog,
        table: AssetTable,
        embedder: Embedder,
        *,
        cache_path: Path | None = None,
        progress: bool = True,
    ) -> DealText:
        """Embed each deal's notes (as queries; vectors cached by content hash) and compare
        them with the asset chunks of the catalog's index."""
        if "notes" not in deals or not len(deals):
            return cls.empty(len(table))
        notes = deals["notes"].astype(object)
        has = notes.notna() & (notes.astype(str).str.strip() != "")
        ids = deals.loc[has, "deal_id"].astype(str).tolist()
        texts = notes[has].astype(str).str.strip().tolist()
        if not texts:
            return cls.empty(len(table))
        keys = [content_hash(embedder.id, "query", t) for t in texts]
        cache = EmbeddingCache(cache_path) if cache_path is not None else None
        try:
            found = cache.get_many(list(dict.fromkeys(keys))) if cache else {}
            missing = list(dict.fromkeys(k for k in keys if k not in found))
            if missing:
                text_of = dict(zip(keys, texts, strict=True))
                batch = 256  # several of the embedder's batches: it may run them at once
                bar = tqdm(
                    total=len(missing),
                    desc="embedding deal notes",
                    unit=" notes",
                    disable=not progress,
                )
                with bar:
                    for lo in range(0, len(missing), batch):
                        part = missing[lo : lo + batch]
                        vecs = embedder.embed_queries([text_of[k] for k in part])
                        fresh = dict(zip(part, np.asarray(vecs, dtype=np.float32), strict=True))
                        if cache:
                            cache.put_many(fresh)
                        found.update(fresh)
                        bar.update(len(part))
        finally:
            if cache:
                cache.close()
        queries = np.stack([found[k] for k in keys]).astype(np.float32)
        index = catalog.index
        vectors = index.vectors()
        best = np.full((len(ids), len(index.asset_ids)), -1.0, dtype=np.float32)
        order = np.argsort(index.chunk_pos, kind="stable")
        pos_sorted = index.chunk_pos[order]
        starts = np.flatnonzero(np.r_[True, pos_sorted[1:] != pos_sorted[:-1]])
        for lo in range(0, len(ids), 2048):
            sims = queries[lo : lo + 2048] @ vectors[order].T
            best[lo : lo + 2048, pos_sorted[starts]] = np.maximum.reduceat(sims, starts, axis=1)
        lookup = {a: i for i, a in enumerate(index.asset_ids.tolist())}
        cols = np.array([lookup.get(a, -1) for a in table.ids.tolist()], dtype=np.int64)
        sims = np.where(cols[None, :] >= 0, best[:, np.maximum(cols, 0)], 0.0).astype(np.float32)
        return cls(rows={d: i for i, d in enumerate(ids)}, sims=sims)


def embed_deal_notes(
    workspace: Workspace, *, embedder: Embedder | None = None, progress: bool = True
) -> int:
    """Embed every deal's notes into the workspace's embedding cache (what `train` and
    `evaluate` need) and return how many deals have notes. `recommender demo` can call this so
    the first `recommender train` does not pay for it; later calls hit the cache."""
    embedder = embedder or get_embedder(DEFAULT_EMBEDDER)
    if not workspace.deals_path.exists():
        return 0
    catalog = load_catalog(workspace, embedder_id=embedder.id, dim=embedder.dim)
    text = DealText.compute(
        pd.read_parquet(workspace.deals_path),
        catalog,
        AssetTable.from_frame(catalog.assets),
        embedder,
        cache_path=workspace.cache_path,
        progress=progress,
    )
    return len(text.rows)
