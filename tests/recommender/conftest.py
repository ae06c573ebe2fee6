"""Shared fixtures for recommender tests: the real E5 embedder, a tiny asset table, and
generators of small documents (valid PDF/DOCX built in the test, hostile ones too)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from recommender.embedding.embedders import Embedder, get_embedder

# A handful of assets whose right neighbours are obvious: one per language, distinct topics.
TINY_ASSETS: list[dict[str, Any]] = [
    {
        "asset_id": "roi-calc",
        "title": "ROI calculator for storage upgrades",
        "type": "roi_calculator",
        "language": "en",
        "summary": "Estimate the return on investment of replacing ageing storage arrays.",
        "stages": ["solution", "negotiation"],
        "products": ["storage"],
        "published_at": "2025-01-15",
    },
    {
        "asset_id": "bank-case",
        "title": "Кейс: банк скоротив цикл продажу",
        "type": "case_study",
        "summary": "Як регіональний банк скоротив цикл продажу вдвічі завдяки партнерському "
        "порталу та навчанню продавців.",
        "industries": ["banking"],
        "stages": ["discovery"],
    },
    {
        "asset_id": "battlecard-ru",
        "title": "Сравнение с конкурентами",
        "type": "battlecard",
        "summary": "Как отвечать на возражения покупателя, который сравнивает нас с конкурентом.",
        "competitors": ["acme"],
        "stages": ["negotiation"],
        "expires_at": "2030-12-31",
    },
]


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture(scope="session")
def e5_embedder() -> Embedder:
    """The real multilingual-e5-small embedder, loaded once per session."""
    return get_embedder("e5")


@pytest.fixture
def tiny_catalog(tmp_path: Path) -> Path:
    """`assets.jsonl` with three assets (en, uk, ru; language given only for the English one)."""
    return write_jsonl(tmp_path / "src" / "assets.jsonl", TINY_ASSETS)


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` by relative path (empty when `root` is absent)."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def digest() -> Callable[[Path], dict[str, str]]:
    return tree_digest


def build_pdf(
    lines: Sequence[str],
    *,
    catalog_extra: str = "",
    objects: Sequence[str] = (),
    title: str | None = None,
) -> bytes:
    """A minimal valid one-page PDF (Helvetica text, correct xref) written by hand.

    `catalog_extra` goes into the /Catalog dictionary and `objects` are appended as objects
    6, 7, ... (e.g. a JavaScript action referenced as '/OpenAction 6 0 R').
    """

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = "BT /F1 12 Tf 14 TL 72 720 Td " + " T* ".join(f"({esc(x)}) Tj" for x in lines) + " ET"
    stream = ops.encode("latin-1")
    bodies = [
        f"<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>".encode(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *(o.encode() for o in objects),
    ]
    info = None
    if title is not None:
        bodies.append(f"<< /Title ({esc(title)}) >>".encode())
        info = len(bodies)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    trailer = f"<< /Size {len(bodies) + 1} /Root 1 0 R" + (f" /Info {info} 0 R" if info else "")
    out += b"trailer\n" + trailer.encode() + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def build_docx(
    paragraphs: Sequence[str], *, table: Sequence[Sequence[str]] = (), title: str | None = None
) -> bytes:
    """A real DOCX made with python-docx: paragraphs, then an optional table."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                grid.cell(r, c).text = text
    if title is not None:
        document.core_properties.title = title
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def build_zip_bomb(base_docx: bytes, *, entry_bytes: int) -> bytes:
    """`base_docx` plus a `word/media/bomb.bin` entry of `entry_bytes` zeros (deflated)."""
    buffer = io.BytesIO(base_docx)
    with (
        zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("word/media/bomb.bin", "w", force_zip64=True) as fh,
    ):
        block = bytes(1 << 20)
        left = entry_bytes
        while left > 0:
            fh.write(block[: min(left, len(block))])
            left -= len(block)
    return buffer.getvalue()


@pytest.fixture
def make_pdf() -> Callable[..., bytes]:
    return build_pdf


@pytest.fixture
def make_docx() -> Callable[..., bytes]:
    return build_docx


@pytest.fixture
def make_zip_bomb() -> Callable[..., bytes]:
    return build_zip_bomb


@pytest.fixture
def tiny_assets() -> list[dict[str, Any]]:
    """A fresh copy of the tiny catalog's rows, to modify in a test."""
    return [dict(row) for row in TINY_ASSETS]


@pytest.fixture
def jsonl() -> Callable[[Path, Sequence[dict[str, Any]]], Path]:
    return write_jsonl


@pytest.fixture(scope="session")
def tiny_catalog_factory() -> Callable[[Path], Path]:
    """Write the tiny catalog's `assets.jsonl` into a folder (for module-scoped fixtures)."""
    return lambda folder: write_jsonl(folder / "assets.jsonl", TINY_ASSETS)
