"""Catalog ingestion: sources -> validated assets -> chunks -> vectors -> one atomic folder.

`ingest(workspace, sources)` is what `recommender ingest PATH` runs. A source is

- a table of asset rows (`.jsonl`/`.ndjson`/`.json` lines or array, `.csv`, `.parquet`) following
  the ASSETS contract; a row's optional `document` is a path relative to the table's folder
  and must resolve inside it; or
- a folder of documents (PDF, DOCX, PPTX, XLSX, HTML, Markdown, text), searched recursively (hidden
  files and folders skipped). Each document becomes one asset; its metadata comes from YAML front
  matter or a sidecar `<file>.meta.json|yaml` / `<stem>.meta.json|yaml`.

Rules for documents (table rows with a `document`, and folder documents alike):
- the asset's text is its `body` cell (if any) followed by the document's text;
- cells the row leaves empty are filled from the document's metadata, then from what the format
  itself says (HTML `<title>`/`<meta>`, PDF/DOCX title, first Markdown heading);
- `type` must be stated (front matter, sidecar, a table cell or `<meta name="type">`);
- `summary`, when not stated, is the document's opening (about 600 characters);
- asset id of a folder document: `asset_id` (or `id`) from its metadata; otherwise its path
  inside the folder without the extension, lowercased, each run of characters other than
  a-z/0-9 replaced by '-' (`Guides/Onboarding Plan.md` -> `guides-onboarding-plan`), cut to
  64 characters; a name with no such characters (e.g. Cyrillic) gets `doc-<12 hex of sha256 of
  the path>`. Two documents deriving the same id are reported as duplicates: give one an id.
- `language`, when not stated, is detected from title, summary and text.

All-or-nothing: every problem in every source (unreadable file, bad cell, unusable document,
path outside its folder, duplicate id within or across sources) is collected and raised as one
`SchemaError`, and nothing is written: not the catalog, not the embedding cache. Only then are
texts chunked (chunk 0 = title + summary, then the body/document text, each chunk prefixed
with the title) and embedded through the content-hash cache, and `catalog/` is replaced whole.
Without `replace`, the new assets are merged into the existing catalog by asset id (a new row
replaces an old one with the same id; other old assets, their chunks and vectors are kept).
Columns outside the ASSETS contract are dropped with a warning.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.schema import ASSETS
from features.validation import Problem, SchemaError, check_table, is_missing
from recommender.catalog.catalog import (
    ASSET_COLUMNS,
    CHUNK_COLUMNS,
    normalise_assets,
    read_assets,
    read_chunks,
    write_assets,
    write_chunks,
)
from recommender.catalog.documents import (
    DEFAULT_MAX_BYTES,
    chunk_text,
    detect_language,
)
from recommender.catalog.office import describe
from recommender.catalog.similar import (
    FAMILY_PROPOSAL,
    NEAR_DUPLICATE,
    SimilarityOptions,
    asset_vectors,
    empty_similar,
    find_similar,
    read_similar,
    write_similar,
)
from recommender.catalog.sources import (
    ReadOptions,
    SourceBatch,
    attach_documents,
    read_source,
)
from recommender.embedding.embedders import (
    Embedder,
    EmbeddingCache,
    embed_passages_cached,
    get_embedder,
)
from recommender.embedding.index import IndexMismatchError, VectorIndex
from recommender.workspace import Workspace, atomic_dir

CHUNK_MAX_WORDS = 180
CHUNK_OVERLAP = 30
_CONTRACT = frozenset(ASSETS.names)


@dataclass
class IngestReport:
    """What an ingestion did. `assets`/`chunks` count the whole catalog after it;
    `embedded` new vectors computed, `cached` vectors reused (cache or previous index)."""

    assets: int
    chunks: int
    embedded: int
    cached: int
    seconds: float
    sources: list[str]
    added: int = 0
    updated: int = 0
    removed: int = 0
    warnings: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)  # decks and workbooks: what each holds
    # near-duplicate pairs and proposed translation families of the whole catalog after it
    # (recommender.catalog.similar: asset_a, asset_b, kind, score, cosine)
    similar: pd.DataFrame = field(default_factory=empty_similar)

    @property
    def near_duplicates(self) -> pd.DataFrame:
        return self.similar[self.similar["kind"] == NEAR_DUPLICATE].reset_index(drop=True)

    @property
    def family_proposals(self) -> pd.DataFrame:
        return self.similar[self.similar["kind"] == FAMILY_PROPOSAL].reset_index(drop=True)

    def __str__(self) -> str:
        return (
            f"{self.assets} assets ({self.added} added, {self.updated} updated, "
            f"{self.removed} removed), {self.chunks} chunks: {self.embedded} embedded, "
            f"{self.cached} from cache, in {self.seconds:.1f} s"
        )


# --- public API ----------------------------------------------------------------------------
def ingest(
    workspace: Workspace,
    sources: Sequence[str | os.PathLike[str]],
    *,
    embedder: Embedder | None = None,
    replace: bool = False,
    progress: bool = True,
    max_chunks_per_asset: int = 20,
    max_document_bytes: int = DEFAULT_MAX_BYTES,
    allow_pdf_javascript: bool = False,
    similarity: SimilarityOptions | None = None,
) -> IngestReport:
    """Validate every source, then rebuild `workspace`'s catalog and index atomically.

    Raises `SchemaError` listing every problem, having written nothing, when any source is
    bad. `replace=True` makes the catalog exactly the given sources; otherwise assets are
    upserted into the existing catalog by asset id.
    """
    started = time.perf_counter()
    if not sources:
        raise ValueError("ingest needs at least one source (a table file or a folder)")
    options = ReadOptions(max_document_bytes, allow_pdf_javascript)
    problems: list[Problem] = []
    warnings: list[str] = []
    batches = [read_source(Path(s), options, problems, warnings) for s in sources]
    rows, texts = _validate(batches, problems, warnings)
    report = _commit(
        workspace,
        rows,
        texts,
        embedder=embedder,
        replace=replace,
        progress=progress,
        max_chunks_per_asset=max_chunks_per_asset,
        sources=[str(s) for s in sources],
        warnings=warnings,
        started=started,
        similarity=similarity,
    )
    report.documents = [f"{where}: {describe(facts)}" for b in batches for where, facts in b.facts]
    return report


def upsert_assets(
    workspace: Workspace,
    rows: pd.DataFrame,
    *,
    embedder: Embedder | None = None,
    base_dir: Path | None = None,
    source: str = "upsert",
    progress: bool = False,
    max_chunks_per_asset: int = 20,
    max_document_bytes: int = DEFAULT_MAX_BYTES,
    allow_pdf_javascript: bool = False,
) -> IngestReport:
    """Add or replace assets given as ASSETS rows (the admin API's path), atomically.

    Same validation and write as `ingest`; only new or changed texts are embedded, the other
    assets keep their vectors. A `document` cell is resolved inside `base_dir` (an error
    without one). Problems name `source` and the 1-based row.
    """
    started = time.perf_counter()
    options = ReadOptions(max_document_bytes, allow_pdf_javascript)
    problems: list[Problem] = []
    warnings: list[str] = []
    records = rows.to_dict("records")
    batch = SourceBatch(
        label=source,
        records=records,
        where=[(source, i + 1) for i in range(len(records))],
        texts=[""] * len(records),
    )
    if not records:
        problems.append(Problem(source, None, None, "no rows given"))
    attach_documents(batch, base_dir, options, problems, warnings)
    valid_rows, texts = _validate([batch], problems, warnings)
    return _commit(
        workspace,
        valid_rows,
        texts,
        embedder=embedder,
        replace=False,
        progress=progress,
        max_chunks_per_asset=max_chunks_per_asset,
        sources=[source],
        warnings=warnings,
        started=started,
    )


def delete_assets(workspace: Workspace, asset_ids: Iterable[str]) -> int:
    """Remove assets by id, atomically; returns how many were removed (unknown ids are ignored).

    No embedding: the remaining vectors are taken from the current index.
    """
    remove = {str(a) for a in asset_ids}
    if not workspace.has_catalog():
        raise FileNotFoundError(f"no catalog in {workspace.catalog_dir}; nothing to delete")
    with _catalog_lock(workspace):
        assets = read_assets(workspace.assets_path)
        chunks = read_chunks(workspace.chunks_path)
        index = VectorIndex.load(workspace.index_dir)
        if not np.array_equal(index.chunk_assets.astype(str), chunks["asset_id"].to_numpy(str)):
            raise IndexMismatchError(
                f"{workspace.chunks_path} does not line up with the index; re-run ingest"
            )
        keep = ~assets["asset_id"].isin(remove)
        removed = int((~keep).sum())
        if removed == 0:
            return 0
        new_index = index.replaced(remove, np.zeros((0, index.dim), np.float32), [])
        kept_chunks = chunks[~chunks["asset_id"].isin(remove)].reset_index(drop=True)
        similar = read_similar(workspace.similar_path)
        gone = similar["asset_a"].isin(remove) | similar["asset_b"].isin(remove)
        _write_catalog(
            workspace,
            assets[keep].reset_index(drop=True),
            kept_chunks,
            new_index,
            similar[~gone.to_numpy()].reset_index(drop=True),
        )
    return removed


# --- validation ----------------------------------------------------------------------------
def _validate(
    batches: list[SourceBatch], problems: list[Problem], warnings: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Check every batch against ASSETS, ids across batches; raise SchemaError if anything is
    wrong (including `problems` gathered while reading). Returns (rows, texts) in source order."""
    frames: list[pd.DataFrame] = []
    texts: list[str] = []
    seen: dict[str, tuple[str, int | None]] = {}
    for batch in batches:
        if not batch.records:
            continue
        frame = pd.DataFrame.from_records(batch.records)
        unknown = [c for c in frame.columns if c not in _CONTRACT]
        if unknown and not batch.folder:
            warnings.append(f"{batch.label}: ignored columns {sorted(map(str, unknown))}")
        frame = frame[[c for c in frame.columns if c in _CONTRACT]]
        checked, found = check_table(frame, ASSETS, source=batch.label)
        for problem in found:
            if problem.column == ASSETS.key and problem.reason.startswith("duplicate"):
                continue  # reported below, with positions users can find
            if problem.row is None:
                problems.append(problem)
                continue
            i = problem.row - 1
            if problem.column == "summary" and i in batch.doc_failed:
                continue  # the summary was to come from the refused document
            source, row = batch.where[i]
            reason = problem.reason
            if batch.folder and reason == "value is missing":
                reason = (
                    f"{problem.column} is missing; set it in the front matter or in a sidecar "
                    f"{Path(source).name}.meta.yaml"
                )
            problems.append(Problem(source, row, problem.column, reason))
        for i, asset_id in enumerate(checked[ASSETS.key].tolist()):
            if is_missing(asset_id):
                continue
            source, row = batch.where[i]
            if asset_id in seen:
                first_source, first_row = seen[asset_id]
                first = f"row {first_row}" if first_row is not None else ""
                if first_source != source:
                    first = f"{first_source} {first}".strip()
                problems.append(
                    Problem(
                        source,
                        row,
                        ASSETS.key,
                        f"duplicate asset_id {asset_id!r} (first at {first})",
                    )
                )
            else:
                seen[asset_id] = (source, row)
        frames.append(checked)
        texts.extend(batch.texts)
    if problems:
        # Grouped by file, in row order, so a long report reads file by file.
        problems.sort(key=lambda p: (p.source, p.row or 0))
        raise SchemaError(problems)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ASSETS.names)
    return _detect_languages(rows, texts), texts


def _detect_languages(rows: pd.DataFrame, texts: list[str]) -> pd.DataFrame:
    languages = rows["language"].tolist()
    for i, language in enumerate(languages):
        if is_missing(language):
            body = rows.at[i, "body"]
            sample = "\n".join(
                str(part)
                for part in (rows.at[i, "title"], rows.at[i, "summary"], body, texts[i][:3000])
                if not is_missing(part)
            )
            languages[i] = detect_language(sample)
    rows = rows.copy()
    rows["language"] = pd.Series(languages, dtype=object)
    return rows


# --- chunking, embedding, writing ----------------------------------------------------------
def asset_chunks(
    title: str, summary: str, text: str, *, max_chunks: int = 20
) -> tuple[list[str], bool]:
    """Passages to embed for one asset: chunk 0 = title + summary, then the text's chunks;
    each prefixed with the title so a passage is found with its context. Returns (chunks,
    truncated) where `truncated` says `max_chunks` cut the text short."""
    title = " ".join(str(title).split())
    summary_parts = chunk_text(summary, max_words=CHUNK_MAX_WORDS, overlap=CHUNK_OVERLAP) or [""]
    body_parts = chunk_text(text, max_words=CHUNK_MAX_WORDS, overlap=CHUNK_OVERLAP)
    chunks = [f"{title}\n{part}".strip() for part in [*summary_parts, *body_parts]]
    return chunks[:max_chunks], len(chunks) > max_chunks


def _commit(
    workspace: Workspace,
    rows: pd.DataFrame,
    texts: list[str],
    *,
    embedder: Embedder | None,
    replace: bool,
    progress: bool,
    max_chunks_per_asset: int,
    sources: list[str],
    warnings: list[str],
    started: float,
    similarity: SimilarityOptions | None = None,
) -> IngestReport:
    """Merge validated rows into the catalog, embed what is new, find near-duplicates and
    proposed families among what changed (recommender.catalog.similar), and swap the
    folder in."""
    if max_chunks_per_asset < 1:
        raise ValueError(f"max_chunks_per_asset={max_chunks_per_asset!r} must be at least 1")
    embedder = embedder if embedder is not None else get_embedder()
    new_chunks: dict[str, list[str]] = {}
    truncated: list[str] = []
    text_chars: list[int] = []
    for i, row in enumerate(rows.itertuples(index=False)):
        full = "\n\n".join(str(part) for part in (row.body, texts[i]) if not is_missing(part))
        text_chars.append(len(full))
        chunks, cut = asset_chunks(row.title, row.summary, full, max_chunks=max_chunks_per_asset)
        new_chunks[row.asset_id] = chunks
        if cut:
            truncated.append(row.asset_id)
    if truncated:
        warnings.append(
            f"{len(truncated)} asset(s) longer than {max_chunks_per_asset} chunks were cut to "
            f"their first {max_chunks_per_asset}: {truncated[:5]}"
        )
    new_rows = rows.copy()
    new_rows["text_chars"] = text_chars
    new_rows["chunks"] = [len(new_chunks[a]) for a in new_rows["asset_id"]]
    new_rows = normalise_assets(new_rows)

    with _catalog_lock(workspace):
        old_assets, old_chunks, old_index = _existing(workspace, replace=replace, warnings=warnings)
        previous = set(old_assets["asset_id"]) if old_assets is not None else set()
        if replace:
            old_assets = None
        assets = _merge(old_assets, new_rows)
        order = assets["asset_id"].tolist()
        old_chunk_texts: dict[str, list[str]] = {}
        if old_chunks is not None:
            for asset_id, group in old_chunks.groupby("asset_id", sort=False):
                old_chunk_texts[str(asset_id)] = group["text"].tolist()
        chunk_rows: list[tuple[str, int, str]] = []
        for position, asset_id in enumerate(order):
            if asset_id in new_chunks:
                passages = new_chunks[asset_id]
            else:
                passages = (
                    old_chunk_texts.get(asset_id)
                    or asset_chunks(
                        assets.at[position, "title"], assets.at[position, "summary"], ""
                    )[0]
                )
                assets.at[position, "chunks"] = len(passages)
            chunk_rows.extend((asset_id, k, text) for k, text in enumerate(passages))
        chunks_frame = pd.DataFrame(chunk_rows, columns=list(CHUNK_COLUMNS))
        vectors, embedded, cached = _embed(
            workspace, embedder, chunks_frame["text"].tolist(), old_chunks, old_index, progress
        )
        index = VectorIndex.build(
            vectors, chunks_frame["asset_id"].tolist(), embedder_id=embedder.id
        )
        similar = find_similar(
            assets,
            _asset_texts(chunks_frame),
            asset_vectors(vectors, chunks_frame["asset_id"].tolist(), order),
            changed=None if replace else set(new_chunks),
            previous=None if replace else _previous_similar(workspace),
            options=similarity,
        )
        _write_catalog(workspace, assets, chunks_frame, index, similar)
    new_ids = set(new_rows["asset_id"])
    added = len(new_ids - previous)
    return IngestReport(
        assets=len(assets),
        chunks=len(chunks_frame),
        embedded=embedded,
        cached=cached,
        seconds=time.perf_counter() - started,
        sources=sources,
        added=added,
        updated=len(new_ids) - added,
        removed=len(previous - set(order)),
        warnings=warnings,
        similar=similar,
    )


def _asset_texts(chunks: pd.DataFrame) -> dict[str, str]:
    """Each asset's text as its chunks hold it, with the title that prefixes every chunk
    kept once (repeated, it would make two assets of one title look alike)."""
    parts: dict[str, list[str]] = {}
    for asset_id, text in zip(chunks["asset_id"].tolist(), chunks["text"].tolist(), strict=True):
        title, _, body = str(text).partition("\n")
        got = parts.setdefault(str(asset_id), [title])
        got.append(body)
    return {a: "\n".join(p) for a, p in parts.items()}


def _previous_similar(workspace: Workspace) -> pd.DataFrame | None:
    """The pairs the last ingestion found, or None (all recomputed) when unreadable."""
    try:
        return read_similar(workspace.similar_path) if workspace.similar_path.exists() else None
    except Exception:
        return None


def _merge(old_assets: pd.DataFrame | None, new_rows: pd.DataFrame) -> pd.DataFrame:
    """Upsert by asset id: old order kept with updated rows in place, new ids appended."""
    if old_assets is None or old_assets.empty:
        return new_rows.reset_index(drop=True)
    new_ids = new_rows["asset_id"].tolist()
    new_pos = {asset_id: i for i, asset_id in enumerate(new_ids)}
    old_ids = old_assets["asset_id"].tolist()
    offset = len(new_rows)
    take = [new_pos.get(asset_id, offset + j) for j, asset_id in enumerate(old_ids)]
    old_set = set(old_ids)
    take += [i for i, asset_id in enumerate(new_ids) if asset_id not in old_set]
    combined = pd.concat([new_rows, old_assets], ignore_index=True)
    return combined.iloc[take].reset_index(drop=True)


def _existing(
    workspace: Workspace, *, replace: bool, warnings: list[str]
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, VectorIndex | None]:
    """The current catalog's assets, chunks and index, each None when absent.

    When replacing, all three only serve to reuse vectors and count removed assets, so an
    unreadable old catalog is no obstacle; when merging, unreadable assets are a problem. The
    index is used only if it verifies and lines up with chunks.parquet row for row.
    """
    if not workspace.assets_path.exists():
        return None, None, None
    assets = None
    try:
        assets = read_assets(workspace.assets_path)
    except Exception as exc:
        if not replace:
            raise SchemaError(
                [
                    Problem(
                        str(workspace.assets_path),
                        None,
                        None,
                        f"the existing catalog cannot be read ({_one_line(exc)}); "
                        "ingest with replace=True to rebuild it",
                    )
                ]
            ) from None
    chunks = index = None
    with contextlib.suppress(Exception):
        chunks = read_chunks(workspace.chunks_path)
    if chunks is None and assets is not None and not replace:
        warnings.append(
            f"{workspace.chunks_path} is missing; kept assets are re-embedded from title+summary"
        )
    with contextlib.suppress(Exception):
        index = VectorIndex.load(workspace.index_dir)
    if (
        index is None
        or chunks is None
        or index.index.ntotal != len(chunks)
        or not np.array_equal(index.chunk_assets.astype(str), chunks["asset_id"].to_numpy(str))
    ):
        index = None
    return assets, chunks, index


def _embed(
    workspace: Workspace,
    embedder: Embedder,
    texts: list[str],
    old_chunks: pd.DataFrame | None,
    old_index: VectorIndex | None,
    progress: bool,
) -> tuple[np.ndarray, int, int]:
    """Vectors for `texts` (n, dim): from the previous index when the same embedder made it,
    then from the content-hash cache, embedding only the rest. Returns (vectors, embedded,
    reused), counted over distinct texts."""
    unique = list(dict.fromkeys(texts))
    found: dict[str, np.ndarray] = {}
    if old_index is not None and old_chunks is not None and old_index.embedder_id == embedder.id:
        wanted = set(unique)
        old_vectors = old_index.vectors()
        for row, text in enumerate(old_chunks["text"].tolist()):
            if text in wanted and text not in found:
                found[text] = old_vectors[row]
    rest = [t for t in unique if t not in found]
    embedded = 0
    if rest:
        cache = EmbeddingCache(workspace.cache_path)
        try:
            fresh, embedded = embed_passages_cached(embedder, rest, cache, progress=progress)
        finally:
            cache.close()
        found.update(zip(rest, fresh, strict=True))
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, text in enumerate(texts):
        vectors[i] = found[text]
    return vectors, embedded, len(unique) - embedded


def _write_catalog(
    workspace: Workspace,
    assets: pd.DataFrame,
    chunks: pd.DataFrame,
    index: VectorIndex,
    similar: pd.DataFrame,
) -> None:
    """Write assets, chunks, index and similar pairs to a fresh folder and swap it in as
    `catalog/`."""
    workspace.ensure()
    with atomic_dir(workspace.catalog_dir) as tmp:
        write_assets(assets[list(ASSET_COLUMNS)], tmp / workspace.assets_path.name)
        write_chunks(chunks, tmp / workspace.chunks_path.name)
        index.save(tmp / workspace.index_dir.name)
        write_similar(similar, tmp / workspace.similar_path.name)


@contextlib.contextmanager
def _catalog_lock(workspace: Workspace) -> Iterator[None]:
    """Serialise catalog writers (CLI ingest vs admin API) so no upsert is lost; readers need
    no lock because the folder is swapped whole. A no-op where fcntl does not exist."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    workspace.ensure()
    with (workspace.root / ".catalog.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:300]
