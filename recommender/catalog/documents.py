"""Documents of the catalog: text extraction, metadata, chunking and language detection.

`extract_document` turns one file (PDF, DOCX, PPTX, XLSX, HTML, Markdown, plain text) into plain
text plus the metadata its author gave (YAML front matter, or a sidecar `<file>.meta.json|yaml` /
`<stem>.meta.json|yaml` beside it) and hints the format itself carries (HTML `<title>` and
`<meta>` tags, PDF/Office title properties, the first Markdown heading). Parsing is left to
well-kept libraries: pypdf, python-docx, python-pptx, openpyxl (`catalog.office`),
BeautifulSoup, python-frontmatter, markdown.

Files are treated as hostile until proven otherwise, because the catalog is fed by whoever
uploads content:
- a file over `max_bytes` (default 25 MiB) is refused before it is read;
- a DOCX, PPTX or XLSX is checked as a zip archive *before* it is opened: total uncompressed
  size (default 50 MiB), compression ratio (default 100) and entry count. Python's `zipfile` never
  inflates an entry beyond its declared size, so the declared sizes checked here bound the work;
- a PDF that is encrypted is refused; a PDF carrying JavaScript or a Launch action is refused
  by default (the catalog hands documents on to partners, and legitimate enablement content
  rarely needs scripts); `allow_pdf_javascript=True` accepts it with a warning. pypdf only
  extracts text, it never runs scripts either way;
- text files must be UTF-8: a bad byte is reported with its offset, not silently replaced;
- metadata values must be scalars or flat lists (this also defuses YAML alias bombs).

Every refusal is a `DocumentError(path, reason)`; the ingest pipeline collects them all.
"""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from features.schema import ASSETS

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_UNCOMPRESSED = 50 * 1024 * 1024
DEFAULT_MAX_RATIO = 100.0
DEFAULT_MAX_ZIP_ENTRIES = 10_000
# The ratio check only matters once a bomb could hurt; tiny XML parts compress very well.
_RATIO_MIN_BYTES = 1024 * 1024
MAX_SIDECAR_BYTES = 1024 * 1024
# Matches the `body` column of the ASSETS contract: text beyond this is not an enablement asset.
MAX_TEXT_CHARS = 2_000_000
# pypdf object-graph walk budget when looking for scripts.
_PDF_WALK_LIMIT = 200_000

TEXT_SUFFIXES = frozenset({".txt", ".text"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
OFFICE_SUFFIXES = frozenset({".docx", ".pptx", ".xlsx"})
SUPPORTED_SUFFIXES = frozenset(TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | {".pdf"}) | (
    OFFICE_SUFFIXES
)
SIDECAR_SUFFIXES = (".meta.json", ".meta.yaml", ".meta.yml")
LANGUAGES = ("uk", "ru", "en")


class DocumentError(ValueError):
    """A document that cannot be used; `reason` says why in words a content author can act on."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class ExtractedDocument:
    """Plain text of one document and what is known about it.

    `metadata`: what the author stated (front matter, overridden by a sidecar file), keys
    lowercased, values scalars or lists. `hints`: what the format suggests (title, summary,
    language) and is used only where the metadata is silent. `warnings`: accepted oddities.
    `facts`: what a deck or workbook holds (slides, sheets, formulas...), for reports.
    """

    text: str
    metadata: dict[str, Any]
    path: Path
    hints: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)


def is_sidecar(path: Path) -> bool:
    """True for metadata sidecar files (`x.pdf.meta.json`, `x.meta.yaml`, ...)."""
    return path.name.lower().endswith(SIDECAR_SUFFIXES)


def find_sidecars(path: Path) -> list[Path]:
    """Existing sidecar files of `path`: `<file>.meta.{json,yaml,yml}` and `<stem>.meta.*`."""
    names = [path.name + suffix for suffix in SIDECAR_SUFFIXES]
    names += [path.stem + suffix for suffix in SIDECAR_SUFFIXES]
    found: list[Path] = []
    for name in dict.fromkeys(names):
        candidate = path.with_name(name)
        if candidate.is_file():
            found.append(candidate)
    return found


def extract_document(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED,
    max_compression_ratio: float = DEFAULT_MAX_RATIO,
    allow_pdf_javascript: bool = False,
    max_sheet_cells: int | None = None,
) -> ExtractedDocument:
    """Extract text and metadata from one document, or raise `DocumentError` saying why not.
    `max_sheet_cells` bounds the cells read from a workbook (`office.DEFAULT_MAX_CELLS`).

    The text is whitespace-normalised (paragraphs separated by blank lines) and never empty.
    """
    path = Path(path)
    if not path.is_file():
        raise DocumentError(path, "file not found")
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentError(
            path, f"is {size:,} bytes; the limit is {max_bytes:,} bytes (max document size)"
        )
    suffix = path.suffix.lower()
    from recommender.catalog.office import pptx_text, refuse_macros, xlsx_text

    refuse_macros(path)
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            path,
            f"unsupported document type {suffix!r}; expected one of {sorted(SUPPORTED_SUFFIXES)}",
        )
    warnings: list[str] = []
    metadata: dict[str, Any] = {}
    hints: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    zip_limits: dict[str, Any] = {
        "max_uncompressed": max_uncompressed_bytes,
        "max_ratio": max_compression_ratio,
    }
    if suffix in TEXT_SUFFIXES or suffix in MARKDOWN_SUFFIXES:
        metadata, body = _split_front_matter(path, _decode_utf8(path, path.read_bytes()))
        if suffix in MARKDOWN_SUFFIXES:
            text, title = _markdown_text(body)
            if title:
                hints["title"] = title
        else:
            text = body
    elif suffix in HTML_SUFFIXES:
        text, hints = _html_text(path.read_bytes())
    elif suffix == ".pdf":
        text, hints, warnings = _pdf_text(path, allow_javascript=allow_pdf_javascript)
    elif suffix == ".pptx":
        text, hints, warnings, facts = pptx_text(path, **zip_limits)
    elif suffix == ".xlsx":
        cells = {} if max_sheet_cells is None else {"max_cells": max_sheet_cells}
        text, hints, warnings, facts = xlsx_text(path, **zip_limits, **cells)
    else:
        text, hints = _docx_text(path, **zip_limits)
    metadata = _clean_metadata(path, metadata)
    sidecars = find_sidecars(path)
    if len(sidecars) > 1:
        names = ", ".join(p.name for p in sidecars)
        raise DocumentError(path, f"has {len(sidecars)} metadata sidecars ({names}); keep one")
    if sidecars:
        metadata.update(_clean_metadata(sidecars[0], _read_sidecar(sidecars[0])))
    text = normalise_text(text)
    if not text:
        raise DocumentError(
            path, "contains no text (a scanned PDF needs OCR first; an empty file is not an asset)"
        )
    if len(text) > MAX_TEXT_CHARS:
        raise DocumentError(
            path, f"has {len(text):,} characters of text; at most {MAX_TEXT_CHARS:,} allowed"
        )
    hints = {k: v for k, v in hints.items() if v not in (None, "", [])}
    return ExtractedDocument(text, metadata, path, hints, tuple(warnings), facts)


# --- formats -------------------------------------------------------------------------------
def _decode_utf8(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise DocumentError(
            path,
            f"is not valid UTF-8: byte 0x{bad} at offset {exc.start} ({exc.reason}); "
            "re-save the file as UTF-8",
        ) from None


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    import frontmatter

    if not text.lstrip("\ufeff").startswith(("---", "+++")):
        return {}, text
    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # yaml/toml errors of several kinds
        raise DocumentError(path, f"front matter is not valid YAML: {_one_line(exc)}") from None
    if not isinstance(post.metadata, dict):
        raise DocumentError(path, "front matter must be a mapping of field: value")
    return dict(post.metadata), post.content


def _markdown_text(body: str) -> tuple[str, str | None]:
    """Markdown rendered to HTML then flattened to text (drops markup, raw <script> too)."""
    import markdown
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markdown.markdown(body), "html.parser")
    heading = soup.find("h1")
    title = heading.get_text(" ", strip=True) if heading is not None else None
    return _soup_text(soup), title


# Catalog fields an HTML page may state in <meta name="..."> tags.
_META_FIELDS = frozenset(ASSETS.names) - {"body", "document"}
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg")
_BLOCK_TAGS = (
    "p", "div", "section", "article", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "ul", "ol", "blockquote", "pre", "header", "footer",
)  # fmt: skip


def _soup_text(soup: Any) -> str:
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    # Block elements end paragraphs, so sentence/paragraph chunking sees the structure;
    # table cells are kept apart by a space. Inline markup (<b>, <a>) joins without one.
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_after("\n\n")
    for tag in soup.find_all(("td", "th")):
        tag.insert_after(" ")
    return str(soup.get_text())


def _html_text(data: bytes) -> tuple[str, dict[str, Any]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")  # honours <meta charset>; stdlib parser, no network
    hints: dict[str, Any] = {}
    if soup.title is not None and soup.title.string:
        hints["title"] = " ".join(soup.title.string.split())
    html = soup.find("html")
    if html is not None and html.get("lang"):
        hints["language"] = _language_tag(str(html.get("lang")))
    for meta in soup.find_all("meta"):
        name = str(meta.get("name") or meta.get("property") or "").strip().lower()
        content = meta.get("content")
        if not name or content is None:
            continue
        content = " ".join(str(content).split())
        if name in ("description", "og:description"):
            hints.setdefault("summary", content)
        elif name in ("og:title",):
            hints.setdefault("title", content)
        elif name in ("language", "content-language", "dc.language"):
            hints.setdefault("language", _language_tag(content))
        elif name.removeprefix("asset:") in _META_FIELDS:
            # <meta name="asset:type" content="case_study"> or plain <meta name="stages" ...>
            hints.setdefault(name.removeprefix("asset:"), content)
    body = soup.body if soup.body is not None else soup
    return _soup_text(body), hints


def _pdf_text(path: Path, *, allow_javascript: bool) -> tuple[str, dict[str, Any], list[str]]:
    from pypdf import PdfReader

    with path.open("rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        raise DocumentError(path, "is not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            raise DocumentError(path, "is an encrypted PDF; upload an unprotected copy")
        found = _pdf_active_content(reader)
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many kinds on broken files
        raise DocumentError(path, f"is a corrupt PDF: {_one_line(exc)}") from None
    warnings: list[str] = []
    if found is not None:
        if not allow_javascript:
            raise DocumentError(
                path,
                f"contains {found}; refused because catalog documents are handed on to "
                "partners (scripts are never run here; allow_pdf_javascript=True accepts it)",
            )
        warnings.append(f"{path}: contains {found}; accepted, only its text is used")
    pages: list[str] = []
    try:
        for page in reader.pages:
            pages.append(page.extract_text() or "")
    except Exception as exc:
        raise DocumentError(path, f"is a corrupt PDF: {_one_line(exc)}") from None
    hints: dict[str, Any] = {}
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except Exception:  # a broken /Info dictionary is no reason to refuse the text
        title = None
    if title and str(title).strip():
        hints["title"] = " ".join(str(title).split())
    return "\n\n".join(pages), hints, warnings


def _pdf_active_content(reader: Any) -> str | None:
    """Name of the first script-like action reachable from the trailer, else None.

    Walks the object graph (names are decoded by pypdf, so '/J#61vaScript' does not hide);
    stream data is not decoded. Looks for JavaScript actions (/S /JavaScript, a /JS entry, the
    /Names JavaScript tree) and /Launch actions, wherever they hang (OpenAction, /AA, links,
    form fields).
    """
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    stack: list[Any] = [reader.trailer]
    seen: set[tuple[int, int]] = set()
    steps = 0
    while stack and steps < _PDF_WALK_LIMIT:
        obj = stack.pop()
        steps += 1
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            action = obj.get("/S")
            if action == "/JavaScript" or "/JS" in obj or "/JavaScript" in obj:
                return "JavaScript"
            if action == "/Launch":
                return "a Launch action (runs a program)"
            stack.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return None


def check_zip(
    path: Path,
    *,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    max_ratio: float = DEFAULT_MAX_RATIO,
    max_entries: int = DEFAULT_MAX_ZIP_ENTRIES,
    kind: str = "DOCX",
) -> None:
    """Refuse zip bombs by the archive's declared sizes, before anything inflates it (`kind`
    names the format in the error: DOCX, PPTX, XLSX)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentError(
            path, f"is not a valid {kind} (zip archive): {_one_line(exc)}"
        ) from None
    if len(infos) > max_entries:
        raise DocumentError(path, f"has {len(infos):,} zip entries; at most {max_entries:,}")
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if total > max_uncompressed:
        raise DocumentError(
            path,
            f"would expand to {total:,} bytes; the limit is {max_uncompressed:,} (zip bomb?)",
        )
    for info in infos:
        if info.file_size >= _RATIO_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > max_ratio:
                raise DocumentError(
                    path,
                    f"entry {info.filename!r} is compressed {ratio:,.0f}:1; the limit is "
                    f"{max_ratio:g}:1 (zip bomb?)",
                )
    if total >= _RATIO_MIN_BYTES and total / max(packed, 1) > max_ratio:
        raise DocumentError(
            path,
            f"is compressed {total / max(packed, 1):,.0f}:1 overall; the limit is "
            f"{max_ratio:g}:1 (zip bomb?)",
        )


def _docx_text(
    path: Path, *, max_uncompressed: int, max_ratio: float
) -> tuple[str, dict[str, Any]]:
    check_zip(path, max_uncompressed=max_uncompressed, max_ratio=max_ratio)
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        blocks: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                blocks.append(_docx_table_text(block))
            else:
                blocks.append(block.text)
        props = document.core_properties
        hints: dict[str, Any] = {"title": (props.title or "").strip() or None}
        if props.language:
            hints["language"] = _language_tag(props.language)
    except Exception as exc:  # python-docx/lxml raise many kinds on broken packages
        raise DocumentError(path, f"is a corrupt DOCX: {_one_line(exc)}") from None
    return "\n\n".join(blocks), hints


def _docx_table_text(table: Any) -> str:
    lines: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:  # merged cells repeat the same object
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            text = " ".join(cell.text.split())
            if text:
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)


# --- metadata ------------------------------------------------------------------------------
def _read_sidecar(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    if size > MAX_SIDECAR_BYTES:
        raise DocumentError(
            path, f"metadata sidecar is {size:,} bytes; at most {MAX_SIDECAR_BYTES:,}"
        )
    text = _decode_utf8(path, path.read_bytes())
    try:
        if path.name.lower().endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(io.StringIO(text))
    except Exception as exc:
        raise DocumentError(path, f"metadata sidecar cannot be parsed: {_one_line(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentError(path, "metadata sidecar must hold a mapping of field: value")
    return data


def _clean_metadata(path: Path, data: Mapping[Any, Any]) -> dict[str, Any]:
    """Lowercase keys; allow scalars and flat lists only (no nesting, hence no alias bombs)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).strip().lower()
        if isinstance(value, (list, tuple)):
            if any(isinstance(v, (list, tuple, dict)) for v in value):
                raise DocumentError(path, f"metadata field {name!r} must be a flat list of values")
            out[name] = list(value)
        elif isinstance(value, dict):
            raise DocumentError(path, f"metadata field {name!r} must be a value or a list")
        elif isinstance(value, (str, int, float, bool, date, datetime)) or value is None:
            out[name] = value
        else:
            out[name] = str(value)
    return out


def _language_tag(tag: str) -> str | None:
    """'en-US' -> 'en'; tags outside uk/ru/en give None so detection decides."""
    primary = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    return primary if primary in LANGUAGES else None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


# --- text ----------------------------------------------------------------------------------
def normalise_text(text: str) -> str:
    """Collapse runs of spaces inside lines, keep paragraph breaks (one blank line), strip."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [" ".join(line.split()) for line in block.split("\n")]
        joined = "\n".join(line for line in lines if line)
        if joined:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs)


# A sentence ends at . ! ? … (optionally closed by quotes/brackets) before whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»”)\]]*\s+")


def _sentences(paragraph: str) -> list[str]:
    flat = " ".join(paragraph.split())
    return [s for s in _SENTENCE_END.split(flat) if s.strip()]


def chunk_text(text: str, *, max_words: int = 180, overlap: int = 30) -> list[str]:
    """Split `text` into passages of at most `max_words` words for embedding.

    Why words: e5-small reads 512 tokens, and Cyrillic text costs ~2 tokens per word, so
    ~180 words (plus a title) fits with room to spare. Chunks end on sentence boundaries
    (paragraphs are never merged mid-sentence); a sentence longer than `max_words` is cut
    into overlapping windows. Consecutive chunks share up to `overlap` words of trailing
    whole sentences, so a fact split across a boundary is still found. Empty text gives [].
    """
    if max_words < 1:
        raise ValueError(f"max_words={max_words!r} must be at least 1")
    if not 0 <= overlap < max_words:
        raise ValueError(f"overlap={overlap!r} must be in [0, max_words={max_words})")
    units: list[list[str]] = []
    for paragraph in re.split(r"\n\s*\n", text):
        for sentence in _sentences(paragraph):
            words = sentence.split()
            if len(words) <= max_words:
                units.append(words)
                continue
            step = max_words - overlap
            for start in range(0, len(words), step):
                units.append(words[start : start + max_words])
                if start + max_words >= len(words):
                    break
    chunks: list[str] = []
    current: list[list[str]] = []
    size = 0
    for unit in units:
        if current and size + len(unit) > max_words:
            # `current` always ends with a unit of its own (never only the carried overlap).
            chunks.append(" ".join(w for u in current for w in u))
            current, size = _tail(current, overlap, max_words - len(unit))
        current.append(unit)
        size += len(unit)
    if current:
        chunks.append(" ".join(w for u in current for w in u))
    return chunks


def _tail(units: list[list[str]], overlap: int, room: int) -> tuple[list[list[str]], int]:
    """Trailing whole sentences of `units` within `min(overlap, room)` words."""
    budget = min(overlap, room)
    tail: list[list[str]] = []
    size = 0
    for unit in reversed(units):
        if size + len(unit) > budget:
            break
        tail.insert(0, unit)
        size += len(unit)
    return tail, size


# --- language ------------------------------------------------------------------------------
_IDENTIFIER: Any = None
_IDENTIFIER_LOCK = threading.Lock()
_UK_ONLY = frozenset("іїєґІЇЄҐ")
_RU_ONLY = frozenset("ыэъёЫЭЪЁ")


def _identifier() -> Any:
    """A private py3langid identifier restricted to uk/ru/en, loaded once (~0.8 s).

    Private because `py3langid.set_languages` would change the module-wide identifier that
    other code may use with all languages.
    """
    global _IDENTIFIER
    with _IDENTIFIER_LOCK:
        if _IDENTIFIER is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            ident.set_languages(list(LANGUAGES))
            _IDENTIFIER = ident
        return _IDENTIFIER


def detect_language(text: str, *, max_chars: int = 5000) -> str | None:
    """'uk', 'ru' or 'en' for `text`, or None when it has no letters to judge by.

    py3langid (naive Bayes over byte n-grams) restricted to the three catalog languages. On
    short Cyrillic text where the model is unsure (< 0.9), letters that exist in only one of
    the two alphabets decide (і ї є ґ are Ukrainian, ы э ъ ё Russian).
    """
    sample = text[:max_chars]
    if not any(ch.isalpha() for ch in sample):
        return None
    lang, confidence = _identifier().classify(sample)
    if lang in ("uk", "ru") and confidence < 0.9:
        uk = sum(ch in _UK_ONLY for ch in sample)
        ru = sum(ch in _RU_ONLY for ch in sample)
        if uk > ru:
            return "uk"
        if ru > uk:
            return "ru"
    return str(lang)
