"""Reading catalog sources: asset tables (JSONL, CSV, Parquet) and folders of documents, into
rows with their extracted text, every problem collected with its file and row.

Nothing here writes: `recommender.catalog.ingest` validates what these functions read and
commits the catalog (the module docstring there states the rules for documents and ids).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from features.schema import ASSETS
from features.validation import Problem, is_missing
from recommender.catalog.documents import (
    SUPPORTED_SUFFIXES,
    DocumentError,
    ExtractedDocument,
    extract_document,
    find_sidecars,
    is_sidecar,
)
from recommender.catalog.office import MACRO_SUFFIXES

TABLE_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json", ".csv", ".parquet"})
SUMMARY_CHARS = 600
_CONTRACT = frozenset(ASSETS.names)
_REQUIRED = tuple(c.name for c in ASSETS.columns if c.required)
_ID_MAX = 64


@dataclass
class SourceBatch:
    """Rows of one source before validation, with where to report each row's problems."""

    label: str
    records: list[dict[str, Any]]
    where: list[tuple[str, int | None]]  # (source, row) per record
    texts: list[str]  # extracted document text per record ("" when none)
    doc_failed: set[int] = field(default_factory=set)  # records whose document was refused
    folder: bool = False
    # (where, what a deck or workbook holds: `ExtractedDocument.facts`) for the ingest report
    facts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class ReadOptions:
    max_document_bytes: int
    allow_pdf_javascript: bool


def read_source(
    path: Path, options: ReadOptions, problems: list[Problem], warnings: list[str]
) -> SourceBatch:
    label = str(path)
    empty = SourceBatch(label, [], [], [])
    if path.is_dir():
        return _read_folder(path, options, problems, warnings)
    if not path.exists():
        problems.append(Problem(label, None, None, "source not found"))
        return empty
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        problems.append(
            Problem(
                label,
                None,
                None,
                f"unsupported source {suffix or path.name!r}; expected a folder of documents "
                f"or a table file ({', '.join(sorted(TABLE_SUFFIXES))})",
            )
        )
        return empty
    table = _read_table(path, problems)
    if table is None:
        return empty
    records, rows = table
    if not records and not any(p.source == label for p in problems):
        problems.append(Problem(label, None, None, "contains no asset rows"))
    batch = SourceBatch(label, records, [(label, r) for r in rows], [""] * len(records))
    attach_documents(batch, path.parent, options, problems, warnings)
    return batch


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"is not valid UTF-8: byte 0x{data[exc.start : exc.start + 1].hex()} at offset "
            f"{exc.start}; re-save the file as UTF-8"
        ) from None


def _read_table(
    path: Path, problems: list[Problem]
) -> tuple[list[dict[str, Any]], list[int]] | None:
    """Records of a table file and each one's 1-based row number, or None if unreadable."""
    label = str(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
            return frame.to_dict("records"), list(range(1, len(frame) + 1))
        text = _decode(path, path.read_bytes())
        if suffix == ".csv":
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
            return frame.to_dict("records"), list(range(1, len(frame) + 1))
    except Exception as exc:  # parquet/csv readers raise many kinds
        problems.append(Problem(label, None, None, f"cannot be read: {_one_line(exc)}"))
        return None
    # JSON: one object per line, or (for .json) a whole array of objects.
    if suffix == ".json" and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(label, None, None, f"is not valid JSON: {exc}"))
            return None
        lines = [(i + 1, item) for i, item in enumerate(items)]
    else:
        lines = []
        record = 0
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            record += 1
            try:
                lines.append((record, json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(
                    Problem(label, record, None, f"line {lineno} is not valid JSON: {exc.msg}")
                )
    records: list[dict[str, Any]] = []
    rows: list[int] = []
    for row, item in lines:
        if not isinstance(item, dict):
            problems.append(Problem(label, row, None, "is not a JSON object"))
            continue
        records.append(item)
        rows.append(row)
    return records, rows


def attach_documents(
    batch: SourceBatch,
    base_dir: Path | None,
    options: ReadOptions,
    problems: list[Problem],
    warnings: list[str],
) -> None:
    """Extract each row's `document` (inside `base_dir`) and fill its empty cells from it."""
    base = base_dir.resolve() if base_dir is not None else None
    for i, record in enumerate(batch.records):
        raw = record.get("document")
        if is_missing(raw):
            continue
        source, row = batch.where[i]
        rel = str(raw).strip()
        if base is None:
            problems.append(
                Problem(source, row, "document", f"{rel!r} given but no base folder to find it in")
            )
            batch.doc_failed.add(i)
            continue
        try:
            target = (base / rel).resolve()
        except (OSError, ValueError) as exc:
            problems.append(Problem(source, row, "document", f"{rel!r}: {_one_line(exc)}"))
            batch.doc_failed.add(i)
            continue
        if not target.is_relative_to(base):
            problems.append(
                Problem(
                    source,
                    row,
                    "document",
                    f"{rel!r} resolves outside the source folder {base}; documents must be "
                    "inside the table's folder",
                )
            )
            batch.doc_failed.add(i)
            continue
        try:
            doc = _extract(target, options)
        except DocumentError as exc:
            problems.append(Problem(source, row, "document", f"{rel}: {_reason(exc, target)}"))
            batch.doc_failed.add(i)
            continue
        warnings.extend(doc.warnings)
        _fill_from_document(record, doc)
        batch.texts[i] = doc.text
        if doc.facts:
            batch.facts.append((f"{source} row {row}: {rel}", doc.facts))


def _read_folder(
    folder: Path, options: ReadOptions, problems: list[Problem], warnings: list[str]
) -> SourceBatch:
    root = folder.resolve()
    batch = SourceBatch(str(folder), [], [], [], folder=True)
    skipped: list[str] = []
    sidecars: list[Path] = []
    used: set[Path] = set()
    for path in _walk(root, sidecars):
        rel = path.relative_to(root).as_posix()
        label = str(folder / rel)
        if path.suffix.lower() not in SUPPORTED_SUFFIXES | MACRO_SUFFIXES:  # macros: refused
            skipped.append(rel)
            continue
        if not path.resolve().is_relative_to(root):
            problems.append(
                Problem(label, None, None, f"is a link to {path.resolve()}, outside {folder}")
            )
            continue
        used.update(find_sidecars(path))
        try:
            doc = _extract(path, options)
        except DocumentError as exc:
            problems.append(Problem(label, None, None, _reason(exc, path)))
            continue
        warnings.extend(doc.warnings)
        if doc.facts:
            batch.facts.append((label, doc.facts))
        record = _metadata_record(doc.metadata)
        unknown = sorted(set(record) - _CONTRACT)
        if unknown:
            warnings.append(f"{label}: ignored metadata fields {unknown}")
        if is_missing(record.get("asset_id")):
            record["asset_id"] = derive_asset_id(rel)
        record["document"] = rel
        _fill_from_document(record, doc)
        for name in _REQUIRED:  # so a missing field is reported per document
            record.setdefault(name, None)
        batch.records.append(record)
        batch.where.append((label, None))
        batch.texts.append(doc.text)
    orphans = [p.relative_to(root).as_posix() for p in sidecars if p not in used]
    if orphans:
        warnings.append(f"{folder}: metadata sidecar(s) without a document: {orphans[:5]}")
    if skipped:
        shown = ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        warnings.append(f"{folder}: skipped {len(skipped)} file(s) of unsupported type: {shown}")
    if not batch.records and not any(p.source.startswith(str(folder)) for p in problems):
        problems.append(
            Problem(
                str(folder),
                None,
                None,
                f"contains no documents ({', '.join(sorted(SUPPORTED_SUFFIXES))})",
            )
        )
    return batch


def _walk(root: Path, sidecars: list[Path] | None = None) -> Iterator[Path]:
    """Files under `root` in a stable order; hidden entries and links to folders are skipped
    (os.walk does not follow them). Sidecar files are not yielded but added to `sidecars`."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith("."):
                continue
            if is_sidecar(path):
                if sidecars is not None:
                    sidecars.append(path)
                continue
            yield path


def _extract(path: Path, options: ReadOptions) -> ExtractedDocument:
    return extract_document(
        path,
        max_bytes=options.max_document_bytes,
        allow_pdf_javascript=options.allow_pdf_javascript,
    )


def _reason(exc: DocumentError, document: Path) -> str:
    """The refusal's reason, naming the sidecar file when that is what was wrong."""
    if exc.path.name != document.name:
        return f"{exc.path.name}: {exc.reason}"
    return exc.reason


def _metadata_record(metadata: dict[str, Any]) -> dict[str, Any]:
    record = dict(metadata)
    if "id" in record and is_missing(record.get("asset_id")):
        record["asset_id"] = record.pop("id")
    record.pop("id", None)
    return record


def _fill_from_document(record: dict[str, Any], doc: ExtractedDocument) -> None:
    """Empty cells of `record` <- the document's metadata <- its format hints <- its text."""
    for source in (_metadata_record(doc.metadata), doc.hints):
        for key, value in source.items():
            if key in _CONTRACT and key != "document" and is_missing(record.get(key)):
                record[key] = value
    if is_missing(record.get("summary")):
        record["summary"] = summary_from_text(doc.text, title=record.get("title"))


def summary_from_text(text: str, *, title: Any = None, limit: int = SUMMARY_CHARS) -> str:
    """The opening of `text` as a summary: whole paragraphs up to `limit` characters, cut at a
    sentence (or word) end; a first paragraph equal to the title is skipped."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and title is not None and paragraphs[0].lower() == str(title).strip().lower():
        paragraphs = paragraphs[1:]
    out = ""
    for paragraph in paragraphs:
        out = f"{out} {paragraph}".strip()
        if len(out) >= limit // 3:
            break
    if len(out) <= limit:
        return out
    cut = out[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if end >= limit // 2:
        return cut[: end + 1]
    return cut.rsplit(" ", 1)[0] + "…"


def derive_asset_id(relative_path: str) -> str:
    """Asset id of a folder document without one in its metadata (rule in the module doc)."""
    stem = relative_path.rsplit(".", 1)[0] if "." in Path(relative_path).name else relative_path
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:_ID_MAX].strip("-")
    if not slug:
        return "doc-" + hashlib.sha256(relative_path.encode()).hexdigest()[:12]
    return slug


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:300]
