"""PowerPoint decks and Excel workbooks as catalog documents (python-pptx, openpyxl).

A deck gives, slide by slide, its title, the text of its shapes (text boxes, placeholders,
tables, grouped shapes) and its speaker notes. A workbook gives its sheets: the text of every
cell, with each number or formula that a text label on its left names written as a labelled
input ("Licence cost per year: 12000") or output ("Payback, months = B4/B6"), and how many
formulas it holds: a calculator that computes has formulas, a table of figures has none. Both
formats also give their document properties (title, language) as hints and `facts` (slides,
sheets, formulas, inputs, outputs) for the ingest report.

Both are zip archives and checked as such before they are opened (`check_zip`). Beyond that:
- a workbook is read in openpyxl's streaming mode, with its declared dimensions ignored (a file
  may declare a million rows it does not have) and every visited cell counted: past
  `max_cells` it is refused before more is read; formulas are read as text, never computed;
- macro-enabled files (.pptm, .xlsm, .potm, .xltm) are refused with a message; a .pptx or
  .xlsx that carries a macro part anyway is read as data (macros are never run here) with a
  warning, since the catalog hands documents on to partners.
Every refusal is a `DocumentError`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from recommender.catalog.documents import DocumentError, _language_tag, _one_line, check_zip

DEFAULT_MAX_CELLS = 500_000
MAX_SLIDES = 2_000
MACRO_SUFFIXES = frozenset({".pptm", ".potm", ".ppsm", ".xlsm", ".xltm", ".xlam"})


def refuse_macros(path: Path) -> None:
    """Raise `DocumentError` for a macro-enabled Office file (by its suffix)."""
    suffix = path.suffix.lower()
    if suffix in MACRO_SUFFIXES:
        plain = ".pptx" if suffix.startswith(".p") else ".xlsx"
        raise DocumentError(
            path,
            f"is a macro-enabled Office file ({suffix}); catalog documents are handed on to "
            f"partners, so save it without macros as {plain} (macros are never run here)",
        )


def _macro_warning(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith("vbaproject.bin")]
    if not names:
        return []
    return [f"{path}: carries macros ({names[0]}); read as data, the macros are never run"]


def pptx_text(
    path: Path, *, max_uncompressed: int, max_ratio: float
) -> tuple[str, dict[str, Any], list[str], dict[str, Any]]:
    """(text, hints, warnings, facts) of a .pptx deck."""
    check_zip(path, max_uncompressed=max_uncompressed, max_ratio=max_ratio, kind="PPTX")
    warnings = _macro_warning(path)
    from pptx import Presentation

    try:
        deck = Presentation(str(path))
        slides = list(deck.slides)
        if len(slides) > MAX_SLIDES:
            raise DocumentError(path, f"has {len(slides):,} slides; at most {MAX_SLIDES:,}")
        blocks: list[str] = []
        first_title = None
        notes = 0
        for number, slide in enumerate(slides, start=1):
            title_shape = slide.shapes.title
            title = " ".join(title_shape.text_frame.text.split()) if title_shape else ""
            first_title = first_title or title or None
            blocks.append(f"{title}" if title else f"Slide {number}")
            skip = title_shape.shape_id if title_shape is not None else None
            blocks.extend(_shapes_text(slide.shapes, skip))
            if slide.has_notes_slide:
                text = slide.notes_slide.notes_text_frame
                if text is not None and text.text.strip():
                    blocks.append(text.text)
                    notes += 1
        hints = _property_hints(deck.core_properties, first_title)
    except DocumentError:
        raise
    except Exception as exc:  # python-pptx/lxml raise many kinds on broken packages
        raise DocumentError(path, f"is a corrupt PPTX: {_one_line(exc)}") from None
    return "\n\n".join(blocks), hints, warnings, {"slides": len(slides), "notes": notes}


def _property_hints(props: Any, title: str | None = None) -> dict[str, Any]:
    """Title and language from an Office file's document properties (`title` when none)."""
    hints: dict[str, Any] = {"title": (props.title or "").strip() or title}
    if props.language:
        hints["language"] = _language_tag(props.language)
    return hints


def _shapes_text(shapes: Any, skip: int | None) -> list[str]:
    """Text of `shapes` in slide order: text frames, tables (cells joined by |), groups."""
    out: list[str] = []
    for shape in shapes:
        if shape.shape_id == skip:
            continue
        if getattr(shape, "shape_type", None) == 6:  # MSO_SHAPE_TYPE.GROUP
            out.extend(_shapes_text(shape.shapes, None))
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = []
            for row in shape.table.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                if any(cells):
                    rows.append(" | ".join(c for c in cells if c))
            if rows:
                out.append("\n".join(rows))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            text = shape.text_frame.text
            if text.strip():
                out.append(text)
    return out


def xlsx_text(
    path: Path, *, max_uncompressed: int, max_ratio: float, max_cells: int = DEFAULT_MAX_CELLS
) -> tuple[str, dict[str, Any], list[str], dict[str, Any]]:
    """(text, hints, warnings, facts) of a .xlsx workbook; see the module docstring."""
    check_zip(path, max_uncompressed=max_uncompressed, max_ratio=max_ratio, kind="XLSX")
    warnings = _macro_warning(path)
    import openpyxl

    try:
        book = openpyxl.load_workbook(
            str(path), read_only=True, data_only=False, keep_vba=False, keep_links=False
        )
    except Exception as exc:  # openpyxl raises many kinds on broken packages
        raise DocumentError(path, f"is a corrupt XLSX: {_one_line(exc)}") from None
    try:
        blocks: list[str] = []
        facts: dict[str, Any] = {"sheets": 0, "formulas": 0, "inputs": [], "outputs": []}
        visited = 0
        for sheet in book.worksheets:
            facts["sheets"] += 1
            sheet.reset_dimensions()  # the declared size may lie: read the rows there are
            lines = [sheet.title]
            for row in sheet.iter_rows():
                visited += len(row)
                if visited > max_cells:
                    raise DocumentError(
                        path,
                        f"has more than {max_cells:,} cells (sheet {sheet.title!r}); a "
                        "calculator or price list is far smaller: split it or upload a summary",
                    )
                line = _row_text(row, facts)
                if line:
                    lines.append(line)
            blocks.append("\n".join(lines))
        hints = _property_hints(book.properties)
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(path, f"is a corrupt XLSX: {_one_line(exc)}") from None
    finally:
        book.close()
    return "\n\n".join(blocks), hints, warnings, facts


def _row_text(row: Any, facts: dict[str, Any]) -> str:
    """One sheet row as text: a label followed by a number (an input) or a formula (an output)
    reads "label: value" / "label = formula"; other cells as they are, joined by " | "."""
    parts: list[str] = []
    label: str | None = None
    for cell in row:
        value = cell.value
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
            facts["formulas"] += 1
            text, labelled, kind = str(value), f"{label} = {str(value).lstrip('=')}", "outputs"
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            text = " ".join(str(value).split())
            parts.append(text)
            label = text if isinstance(value, str) else None
            continue
        else:
            text = f"{value:g}" if isinstance(value, float) else str(value)
            labelled, kind = f"{label}: {text}", "inputs"
        if label is not None:  # the text on its left names it
            parts[-1] = labelled
            facts[kind].append(label)
            label = None
        else:
            parts.append(text)
    return " | ".join(parts)


def describe(facts: dict[str, Any]) -> str:
    """One line for the ingest report: what a deck or workbook holds."""
    if "slides" in facts:
        return f"deck, {facts['slides']} slides, {facts['notes']} with speaker notes"
    inputs, outputs = facts.get("inputs", []), facts.get("outputs", [])
    line = f"workbook, {facts['sheets']} sheet(s), {facts['formulas']} formula(s)"
    if not facts["formulas"]:
        return line + ": does not compute (figures only)"
    line += f": computes; {len(inputs)} labelled input(s), {len(outputs)} labelled output(s)"
    if outputs:
        shown = ", ".join(outputs[:3]) + (" ..." if len(outputs) > 3 else "")
        line += f" ({shown})"
    return line
