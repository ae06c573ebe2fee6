"""Decks (.pptx) and workbooks (.xlsx) as catalog documents: what their text holds, what the
ingest report says of them, and every hostile file refused with its reason, nothing written."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pptx import Presentation
from pptx.util import Inches

from features import SchemaError
from recommender.catalog.documents import DocumentError, extract_document
from recommender.catalog.office import describe
from tests.recommender.conftest import build_zip_bomb


def build_deck(path: Path) -> Path:
    """Two slides: a title with bullets and speaker notes; a title with a table and a group."""
    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Чому модернізація ЦОД окупається"
    first.placeholders[1].text = "Енергоспоживання менше на 30%\nОкупність за 18 місяців"
    first.notes_slide.notes_text_frame.text = "Розкажіть про кейс банку з Києва."
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Порівняння з конкурентом"
    table = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for (r, c), text in {
        (0, 0): "Ми",
        (0, 1): "Конкурент",
        (1, 0): "18 міс",
        (1, 1): "30 міс",
    }.items():
        table.cell(r, c).text = text
    group = second.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(4), Inches(3), Inches(1))
    box.text_frame.text = "Джерело: аудит 2025 року"
    deck.core_properties.title = "Модернізація ЦОД: аргументи"
    deck.core_properties.language = "uk-UA"
    deck.save(path)
    return path


ROI_ROWS: list[tuple[Any, ...]] = [
    ("Вартість ліцензії на рік, грн", 120000),
    ("Години, заощаджені на місяць", 40),
    ("Вартість години, грн", 450),
    ("Економія на рік, грн", "=B2*B3*12"),
    ("Окупність, місяців", "=B1/(B4/12)"),
]


def build_workbook(path: Path, rows: list[tuple[Any, ...]] = ROI_ROWS, **props: str) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "ROI"
    for row in rows:
        sheet.append(row)
    notes = book.create_sheet("Примітки")
    notes.append(["Калькулятор рахує окупність модернізації за даними клієнта."])
    for key, value in props.items():
        setattr(book.properties, key, value)
    book.save(path)
    return path


def test_a_deck_gives_titles_text_tables_groups_and_notes_in_slide_order(tmp_path: Path) -> None:
    doc = extract_document(build_deck(tmp_path / "deck.pptx"))
    expected = [
        "Чому модернізація ЦОД окупається",
        "Енергоспоживання менше на 30%",
        "Окупність за 18 місяців",
        "Розкажіть про кейс банку з Києва.",
        "Порівняння з конкурентом",
        "Ми | Конкурент",
        "18 міс | 30 міс",
        "Джерело: аудит 2025 року",
    ]
    positions = [doc.text.index(line) for line in expected]
    assert positions == sorted(positions)
    assert doc.hints == {"title": "Модернізація ЦОД: аргументи", "language": "uk"}
    assert doc.facts == {"slides": 2, "notes": 1}
    assert describe(doc.facts) == "deck, 2 slides, 1 with speaker notes"


def test_a_workbook_gives_labelled_inputs_outputs_and_its_formulas(tmp_path: Path) -> None:
    doc = extract_document(build_workbook(tmp_path / "roi.xlsx", title="ROI модернізації"))
    lines = doc.text.splitlines()
    assert "Вартість ліцензії на рік, грн: 120000" in lines
    assert "Економія на рік, грн = B2*B3*12" in lines
    assert "Окупність, місяців = B1/(B4/12)" in lines
    assert "Калькулятор рахує окупність модернізації за даними клієнта." in lines
    assert doc.facts["formulas"] == 2 and doc.facts["sheets"] == 2
    assert doc.facts["inputs"] == [r[0] for r in ROI_ROWS[:3]]
    assert doc.facts["outputs"] == [r[0] for r in ROI_ROWS[3:]]
    assert doc.hints["title"] == "ROI модернізації"
    assert describe(doc.facts).startswith("workbook, 2 sheet(s), 2 formula(s): computes; 3 ")


def test_a_table_of_figures_does_not_compute(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "prices.xlsx", rows=[("Модель", "Ціна"), ("X100", 1200.5)])
    doc = extract_document(path)
    assert "Модель | Ціна" in doc.text and "X100: 1200.5" in doc.text
    assert doc.facts["formulas"] == 0
    assert describe(doc.facts).endswith("does not compute (figures only)")


# --- hostile files ---------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".pptx", ".xlsx"])
def test_office_zip_bombs_are_refused_before_opening(tmp_path: Path, suffix: str) -> None:
    base = tmp_path / f"base{suffix}"
    build_deck(base) if suffix == ".pptx" else build_workbook(base)
    path = tmp_path / f"bomb{suffix}"
    path.write_bytes(build_zip_bomb(base.read_bytes(), entry_bytes=60 * 1024 * 1024))
    with pytest.raises(DocumentError, match=r"would expand to 6\d,\d{3},\d{3} bytes.*zip bomb"):
        extract_document(path)


def test_an_enormous_sheet_is_refused_past_the_cell_limit(tmp_path: Path) -> None:
    rows = [(f"Рядок {i}", i, i * 2) for i in range(400)]
    path = build_workbook(tmp_path / "big.xlsx", rows=rows)
    assert extract_document(path, max_sheet_cells=2000).facts["sheets"] == 2
    with pytest.raises(DocumentError, match=r"more than 1,000 cells \(sheet 'ROI'\)"):
        extract_document(path, max_sheet_cells=1000)


def test_a_declared_size_that_lies_is_not_believed(tmp_path: Path) -> None:
    """A sheet declaring the whole grid (A1:XFD1048576, 17 billion cells) with five rows reads
    the five rows; a row that reaches column XFD counts its 16,384 cells."""
    path = build_workbook(tmp_path / "roi.xlsx")
    everything = '<dimension ref="A1:XFD1048576"'
    path.write_bytes(
        _rewrite(path, "xl/worksheets/sheet1.xml",
                 lambda xml: re.sub(r'<dimension ref="[^"]*"', everything, xml))
    )  # fmt: skip
    assert extract_document(path, max_sheet_cells=100).facts["formulas"] == 2
    wide = tmp_path / "wide.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = "далеко"
    book.active["XFD1"] = 1
    book.save(wide)
    with pytest.raises(DocumentError, match="more than 10,000 cells"):
        extract_document(wide, max_sheet_cells=10_000)


@pytest.mark.parametrize(
    ("suffix", "member"),
    [(".xlsx", "xl/worksheets/sheet1.xml"), (".pptx", "ppt/slides/slide1.xml")],
)
def test_xml_entities_are_never_expanded(tmp_path: Path, suffix: str, member: str) -> None:
    """A billion-laughs DOCTYPE in a part: refused (openpyxl reads through defusedxml) or read
    with the entity left unexpanded (python-pptx's parser does not resolve entities)."""
    path = tmp_path / f"laughs{suffix}"
    build_deck(path) if suffix == ".pptx" else build_workbook(path)
    laughs = (
        '<!DOCTYPE r [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    )

    def inject(xml: str) -> str:  # the DOCTYPE after the XML declaration, "&d;" in a text
        head, _, body = xml.rpartition("?>") if xml.startswith("<?xml") else ("", "", xml)
        body = body.replace("Чому", "&d;Чому", 1)
        return (head + "?>" if head else "") + laughs + body

    path.write_bytes(_rewrite(path, member, inject))
    assert b"<!ENTITY d" in zipfile.ZipFile(path).read(member)
    try:
        doc = extract_document(path)
    except DocumentError as exc:
        assert f"corrupt {suffix[1:].upper()}" in str(exc)
    else:
        assert "haha" not in doc.text


@pytest.mark.parametrize("suffix", [".pptm", ".xlsm"])
def test_macro_enabled_files_are_refused_with_the_way_out(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"macros{suffix}"
    path.write_bytes(b"PK\x03\x04 whatever it holds")
    plain = suffix.replace("m", "x", 1) if suffix == ".pptm" else ".xlsx"
    with pytest.raises(DocumentError, match=rf"macro-enabled Office file \({suffix}\).*as {plain}"):
        extract_document(path)


def test_a_macro_part_inside_an_xlsx_is_read_as_data_with_a_warning(tmp_path: Path) -> None:
    path = build_workbook(tmp_path / "roi.xlsx")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not run")
    doc = extract_document(path)
    assert doc.facts["formulas"] == 2
    assert any("carries macros (xl/vbaProject.bin)" in w for w in doc.warnings)


@pytest.mark.parametrize("suffix", [".pptx", ".xlsx"])
@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"not a zip at all", "is not a valid {kind} (zip archive)"), (None, "is a corrupt {kind}")],
    ids=["not-a-zip", "zip-of-something-else"],
)
def test_broken_office_files_are_refused(
    tmp_path: Path, suffix: str, content: bytes | None, reason: str
) -> None:
    path = tmp_path / f"broken{suffix}"
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "hi")
    else:
        path.write_bytes(content)
    with pytest.raises(DocumentError, match=re.escape(reason.format(kind=suffix[1:].upper()))):
        extract_document(path)


def _rewrite(path: Path, member: str, change: Any) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == member:
                data = change(data.decode("utf-8")).encode("utf-8")
            dst.writestr(info.filename, data)
    return out.getvalue()


# --- through ingest ----------------------------------------------------------------------------
@pytest.mark.slow
def test_ingest_takes_decks_and_workbooks_and_reports_them(
    tmp_path: Path, e5_embedder: Any
) -> None:
    from recommender.catalog.catalog import load_catalog
    from recommender.catalog.ingest import ingest
    from recommender.workspace import Workspace

    folder = tmp_path / "content"
    folder.mkdir()
    build_deck(folder / "deck.pptx")
    build_workbook(folder / "roi.xlsx", title="ROI модернізації")
    for name, kind in (("deck", "presentation"), ("roi", "roi_calculator")):
        (folder / f"{name}.meta.yaml").write_text(f"type: {kind}\nstages: [solution]\n", "utf-8")
    ws = Workspace.at(tmp_path / "ws")
    report = ingest(ws, [folder], embedder=e5_embedder, progress=False)
    assert report.assets == 2
    assert any(
        line.endswith("deck.pptx: deck, 2 slides, 1 with speaker notes")
        for line in report.documents
    )
    assert any(
        "roi.xlsx: workbook, 2 sheet(s), 2 formula(s): computes" in line
        for line in report.documents
    )
    catalog = load_catalog(ws)
    rows = catalog.assets.set_index("asset_id")
    assert rows.loc["roi", "title"] == "ROI модернізації" and rows.loc["roi", "language"] == "uk"
    assert rows.loc["deck", "title"] == "Модернізація ЦОД: аргументи"

    (folder / "old.xlsm").write_bytes(b"PK\x03\x04")
    before = sorted(p.name for p in ws.catalog_dir.iterdir())
    with pytest.raises(SchemaError, match=r"old\.xlsm.*macro-enabled"):
        ingest(ws, [folder], embedder=e5_embedder, progress=False)
    assert sorted(p.name for p in ws.catalog_dir.iterdir()) == before
    assert len(load_catalog(ws).assets) == 2
