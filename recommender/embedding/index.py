"""The FAISS index of catalog text.

Vectors are L2-normalised, so inner product is cosine similarity. An asset may have several
chunks (long documents); the index stores chunk vectors and a chunk -> asset map, and asset
search returns each asset's best chunk. Exact search (`IndexFlatIP`) below `hnsw_threshold`
vectors, HNSW above it.

Saved as a folder: `index.faiss`, `chunk_assets.npy` (asset id per chunk), `manifest.json`
(embedder id, dimension, counts, kind, sha256 of both files). `VectorIndex.load` checks the
manifest against the files and against the embedder that will query it, and refuses a
mismatch with `IndexMismatchError` instead of returning silently wrong neighbours.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_HNSW_THRESHOLD = 50_000
# A flat index of at most this many chunks ranks all of them for a query once and keeps the
# ranking: a portal asks about the same deal many times, and every later search for the note,
# whatever its eligibility filter, is then a mask over the ranking (no FAISS call).
RANKED_MAX_CHUNKS = 20_000
# What the index keeps per query (rankings and best-chunk similarities), at most, in bytes.
QUERY_MEMORY_BYTES = 32 << 20
INDEX_FILE = "index.faiss"
IDS_FILE = "chunk_assets.npy"
MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1


class IndexMismatchError(RuntimeError):
    """The saved index does not match its manifest, its files, or the embedder asking."""


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover
        raise ImportError(
            "install faiss-cpu to build or load the index: pip install faiss-cpu"
        ) from exc
    return faiss


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class AssetHits:
    """Asset-level search result, best first. `scores` are cosine similarities."""

    asset_ids: list[str]
    scores: np.ndarray


def _best_chunks(hit_pos: np.ndarray) -> np.ndarray:
    """Of hits sorted best first (their assets' positions), the index of each asset's first,
    i.e. best, chunk, in score order."""
    first = np.unique(hit_pos, return_index=True)[1]
    first.sort()
    return first


class _PerQuery:
    """What an index computed for a query vector, kept by the vector's bytes: a bounded LRU
    (by the bytes of the arrays it holds), safe to share between threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, bytes], tuple[np.ndarray, ...]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(
        self, kind: str, query: np.ndarray, compute: Callable[[], tuple[np.ndarray, ...]]
    ) -> tuple[np.ndarray, ...]:
        key = (kind, query.tobytes())
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        value = compute()
        for array in value:
            array.flags.writeable = False  # shared by every request asking about this note
        size = sum(a.nbytes for a in value) + len(key[1])
        with self._lock:
            if key not in self._items and size <= self.max_bytes:
                self._items[key] = value
                self._bytes += size
                while self._bytes > self.max_bytes:
                    (_, old_query), old = self._items.popitem(last=False)
                    self._bytes -= sum(a.nbytes for a in old) + len(old_query)
        return value


class VectorIndex:
    """Chunk vectors of the catalog in FAISS, searchable by asset with an eligibility filter."""

    def __init__(
        self, index: Any, chunk_assets: np.ndarray, *, embedder_id: str, kind: str
    ) -> None:
        self.index = index
        self.chunk_assets = np.asarray(chunk_assets, dtype=object)
        self.embedder_id = embedder_id
        self.kind = kind
        self.dim = int(index.d)
        # Asset ids in first-seen order and each chunk's asset position, for masks.
        self.asset_ids, self.chunk_pos = np.unique(
            self.chunk_assets.astype(str), return_inverse=True
        )
        self._asset_pos = {a: i for i, a in enumerate(self.asset_ids.tolist())}
        counts = np.bincount(self.chunk_pos, minlength=len(self.asset_ids))
        self.max_chunks = int(counts.max()) if len(self.chunk_pos) else 0
        # Chunks grouped by asset: asset a's chunks are _by_asset[_starts[a]:_starts[a] + n_a].
        self._chunk_counts = counts.astype(np.int64)
        self._by_asset = np.argsort(self.chunk_pos, kind="stable")
        self._starts = np.cumsum(self._chunk_counts) - self._chunk_counts
        self._per_query = _PerQuery(QUERY_MEMORY_BYTES)

    # --- building -------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        chunk_assets: Sequence[str],
        *,
        embedder_id: str,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        hnsw_m: int = 32,
        ef_construction: int = 80,
    ) -> VectorIndex:
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(chunk_assets):
            raise ValueError(
                f"vectors of shape {vectors.shape} do not match {len(chunk_assets)} chunk ids"
            )
        dim = vectors.shape[1]
        if len(vectors) >= hnsw_threshold:
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = 128
            kind = "hnsw"
        else:
            index = faiss.IndexFlatIP(dim)
            kind = "flat"
        if len(vectors):
            index.add(vectors)
        return cls(
            index, np.asarray(chunk_assets, dtype=object), embedder_id=embedder_id, kind=kind
        )

    # --- search ---------------------------------------------------------------------------
    def asset_mask(self, allowed_ids: Sequence[str] | set[str]) -> np.ndarray:
        """Boolean mask over `self.asset_ids` for the allowed asset ids."""
        mask = np.zeros(len(self.asset_ids), dtype=bool)
        for a in allowed_ids:
            pos = self._asset_pos.get(a)
            if pos is not None:
                mask[pos] = True
        return mask

    def search_assets(
        self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> AssetHits:
        """Top-k assets by their best chunk's similarity to `query` (shape (dim,)).

        `allowed` is a boolean mask over `self.asset_ids`; the search filters inside FAISS, so
        it still returns k assets when k eligible ones exist, however few pass the filter.
        """
        positions, scores = self.search_positions(query, k, allowed=allowed)
        return AssetHits(self.asset_ids[positions].tolist(), scores)

    def search_positions(
        self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """`search_assets` as positions in `self.asset_ids` (int64) and their scores.

        A flat index of at most RANKED_MAX_CHUNKS chunks answers from the query's ranking of
        every asset (`ranking`, computed once per query vector and kept): the same assets,
        scores and order as the filtered FAISS search, as the ranking comes from that search
        without a filter and `allowed` is a mask over assets."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if query.shape[1] != self.dim:
            raise IndexMismatchError(
                f"query vector has dimension {query.shape[1]}, the index has {self.dim}"
            )
        n_chunks = self.index.ntotal
        if n_chunks == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._ranked_per_query:
            order, best = self.ranking(query)
            if allowed is not None:
                keep = allowed[order]
                order, best = order[keep], best[keep]
            return order[:k], best[:k]
        return self._search_filtered(query, k, allowed)

    @property
    def _ranked_per_query(self) -> bool:
        """Whether searches and similarities read what is kept per query vector (a flat
        index of at most RANKED_MAX_CHUNKS chunks)."""
        return self.kind == "flat" and self.index.ntotal <= RANKED_MAX_CHUNKS

    def ranking(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every asset position in `self.asset_ids`, best first by its best chunk's similarity
        to `query` (FAISS's exact search, ties in FAISS's order), and those similarities;
        kept per query vector (read-only arrays)."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)

        def rank() -> tuple[np.ndarray, np.ndarray]:
            scores, idx = self.index.search(query, self.index.ntotal)
            found = idx[0] >= 0  # an approximate (HNSW) search may return fewer
            hit_pos = self.chunk_pos[idx[0][found]]
            first = _best_chunks(hit_pos)
            return hit_pos[first].astype(np.int64), scores[0][found][first].astype(np.float32)

        order, best = self._per_query.get("ranking", query, rank)
        return order, best

    def _search_filtered(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The search inside FAISS, with `allowed` as its ID selector (HNSW, or a large flat
        index)."""
        faiss = _faiss()
        n_chunks = self.index.ntotal
        params = None
        keep: Any = None
        n_allowed_assets = len(self.asset_ids)
        if allowed is not None:
            chunk_mask = allowed[self.chunk_pos]
            n_allowed_assets = int(allowed.sum())
            if n_allowed_assets == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            keep = np.packbits(chunk_mask.astype(np.uint8), bitorder="little")
            selector = faiss.IDSelectorBitmap(n_chunks, faiss.swig_ptr(keep))
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(128, 2 * k))
            else:
                params = faiss.SearchParameters(sel=selector)
        want = min(k, n_allowed_assets)
        fetch = min(n_chunks, k * max(1, min(self.max_chunks, 8)))
        while True:
            scores, idx = self.index.search(query, fetch, params=params)
            found = idx[0] >= 0
            hit_pos = self.chunk_pos[idx[0][found]]  # best chunk first: FAISS sorts by score
            hit_scores = scores[0][found]
            first = _best_chunks(hit_pos)
            if len(first) >= want or fetch >= n_chunks:
                break
            fetch = min(n_chunks, fetch * 4)
        first = first[:k]
        del keep  # the bitmap must outlive the search above
        return hit_pos[first].astype(np.int64), hit_scores[first].astype(np.float32)

    def similarities_of(self, asset_pos: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Best-chunk similarity of the assets at `asset_pos` (positions in `asset_ids`).

        A flat index of at most RANKED_MAX_CHUNKS chunks, or assets holding most of the chunks:
        read from every asset's similarity (`asset_similarities`, kept per query vector; one
        mat-vec over all chunks); otherwise only their chunks are read."""
        asset_pos = np.asarray(asset_pos, dtype=np.int64)
        if self._ranked_per_query:
            return self.asset_similarities(query)[asset_pos]
        counts = self._chunk_counts[asset_pos]
        total = int(counts.sum())
        if 2 * total >= len(self.chunk_pos):
            return self.asset_similarities(query)[asset_pos]
        if total == 0:
            return np.zeros(0, dtype=np.float32)
        ends = np.cumsum(counts)
        firsts = ends - counts
        # chunk k of the selection: the (k - firsts[j])-th chunk of asset j
        offsets = np.repeat(self._starts[asset_pos] - firsts, counts) + np.arange(total)
        sims = self.vectors()[self._by_asset[offsets]] @ np.asarray(query, np.float32).ravel()
        return np.maximum.reduceat(sims, firsts).astype(np.float32)

    def asset_similarities(self, query: np.ndarray) -> np.ndarray:
        """Best-chunk similarity of every asset in `self.asset_ids` (exact, vectorised); kept
        per query vector (a read-only array)."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)

        def compute() -> tuple[np.ndarray]:
            sims = self.vectors() @ query
            out = np.full(len(self.asset_ids), -1.0, dtype=np.float32)
            np.maximum.at(out, self.chunk_pos, sims)
            return (out,)

        return self._per_query.get("similarities", query, compute)[0]

    def vectors(self) -> np.ndarray:
        """All chunk vectors (n_chunks, dim); cached after the first call."""
        cached = getattr(self, "_vectors", None)
        if cached is None:
            if self.kind == "flat":
                cached = _faiss().rev_swig_ptr(self.index.get_xb(), self.index.ntotal * self.dim)
                cached = np.asarray(cached, dtype=np.float32).reshape(self.index.ntotal, self.dim)
            else:
                cached = self.index.reconstruct_n(0, self.index.ntotal)
            self._vectors = cached
        return cached

    # --- persistence ----------------------------------------------------------------------
    def save(self, folder: Path) -> dict[str, Any]:
        faiss = _faiss()
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / INDEX_FILE))
        np.save(folder / IDS_FILE, self.chunk_assets.astype(str))
        manifest = {
            "format": FORMAT_VERSION,
            "embedder_id": self.embedder_id,
            "dim": self.dim,
            "count": int(self.index.ntotal),
            "assets": len(self.asset_ids),
            "kind": self.kind,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "checksums": {
                INDEX_FILE: sha256_file(folder / INDEX_FILE),
                IDS_FILE: sha256_file(folder / IDS_FILE),
            },
        }
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
        return manifest

    @classmethod
    def load(
        cls, folder: Path, *, embedder_id: str | None = None, dim: int | None = None
    ) -> VectorIndex:
        """Load and verify a saved index; raise `IndexMismatchError` on any inconsistency."""
        faiss = _faiss()
        manifest_path = folder / MANIFEST_FILE
        if not manifest_path.exists():
            raise IndexMismatchError(
                f"{manifest_path} is missing; rebuild with `recommender ingest`"
            )
        try:
            manifest = json.loads(manifest_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise IndexMismatchError(f"{manifest_path} is not valid JSON: {exc}") from None
        for name, expected in manifest.get("checksums", {}).items():
            path = folder / name
            if not path.exists():
                raise IndexMismatchError(f"{path} is missing")
            actual = sha256_file(path)
            if actual != expected:
                raise IndexMismatchError(
                    f"{path} has checksum {actual[:12]}..., the manifest says {expected[:12]}...: "
                    "the file was changed or truncated; rebuild with `recommender ingest`"
                )
        if embedder_id is not None and manifest.get("embedder_id") != embedder_id:
            raise IndexMismatchError(
                f"index was built with embedder {manifest.get('embedder_id')!r}, "
                f"but queries would use {embedder_id!r}; re-ingest with this embedder"
            )
        if dim is not None and manifest.get("dim") != dim:
            raise IndexMismatchError(
                f"index has dimension {manifest.get('dim')}, the embedder produces {dim}"
            )
        try:
            index = faiss.read_index(str(folder / INDEX_FILE))
        except RuntimeError as exc:
            raise IndexMismatchError(f"{folder / INDEX_FILE} cannot be read: {exc}") from None
        chunk_assets = np.load(folder / IDS_FILE, allow_pickle=False)
        if index.ntotal != manifest.get("count") or len(chunk_assets) != index.ntotal:
            raise IndexMismatchError(
                f"index holds {index.ntotal} vectors and {len(chunk_assets)} ids; "
                f"the manifest says {manifest.get('count')}"
            )
        if index.d != manifest.get("dim"):
            raise IndexMismatchError(f"index dimension {index.d} != manifest {manifest.get('dim')}")
        return cls(
            index,
            chunk_assets.astype(object),
            embedder_id=manifest["embedder_id"],
            kind=manifest["kind"],
        )

    # --- incremental updates (used by the admin API) ------------------------------------
    def replaced(
        self, remove_assets: set[str], add_vectors: np.ndarray, add_assets: Sequence[str]
    ) -> VectorIndex:
        """A new index without `remove_assets` and with the given chunks added.

        Exact indexes are rebuilt from kept vectors (no re-embedding); the original is untouched,
        so a snapshot holding it keeps serving until the swap.
        """
        keep = ~np.isin(self.chunk_assets.astype(str), list(remove_assets))
        vectors = np.concatenate(
            [self.vectors()[keep], np.asarray(add_vectors, np.float32).reshape(-1, self.dim)]
        )
        ids = np.concatenate([self.chunk_assets[keep], np.asarray(list(add_assets), dtype=object)])
        threshold = 0 if self.kind == "hnsw" else len(vectors) + 1
        return VectorIndex.build(
            vectors, list(ids), embedder_id=self.embedder_id, hnsw_threshold=threshold
        )
