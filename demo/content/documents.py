"""The documents written beside the demo catalog: one asset's full text in Markdown, plain
text (with a JSON or YAML sidecar), HTML, DOCX and PDF; every calculator as an Excel workbook
that computes (labelled inputs, formulas for ROI, TCO, payback), every presentation as a
PowerPoint deck (slides and speaker notes).

A document is built from the sentences its asset was drafted from (`catalog.Draft`) under the
headings of documents.yaml. `plan_documents` picks one published asset per entry of the plan
and sets its row's `document`; `write_documents` writes the files, reproducibly (fixed zip
times in DOCX, no creation date in PDF).
"""

from __future__ import annotations

import io
import json
import random
import textwrap
import zipfile
from pathlib import Path
from typing import Any

from demo.content.catalog import Draft
from demo.content.phrases import industry_words, table
from demo.content.world import VENDOR

__all__ = ["CALCULATORS", "document_name", "metadata", "plan_documents", "write_documents"]


# (format, asset type, language) of the documents written beside the demo catalog.
_DOCUMENT_PLAN: list[tuple[str, str, str]] = [
    ("md", "white_paper", "en"), ("md", "white_paper", "uk"), ("md", "article", "ru"),
    ("md", "playbook", "en"), ("md", "battlecard", "uk"), ("md", "battlecard", "en"),
    ("txt.json", "faq", "en"), ("txt.json", "faq", "ru"), ("txt.json", "onboarding_guide", "uk"),
    ("txt.yaml", "training_course", "en"), ("txt.yaml", "webinar", "uk"),
    ("html", "case_study", "en"), ("html", "case_study", "uk"), ("html", "datasheet", "ru"),
    ("html", "datasheet", "en"),
    ("docx", "proposal_template", "en"), ("docx", "reference_architecture", "uk"),
    ("docx", "reference_architecture", "en"), ("docx", "proposal_template", "ru"),
    ("pdf", "white_paper", "ru"), ("pdf", "playbook", "uk"), ("pdf", "training_course", "ru"),
    ("pdf", "case_study", "ru"),
]  # fmt: skip
# Besides the plan: every calculator is an Excel workbook, every presentation a PowerPoint deck.
_EVERY = {
    "roi_calculator": "xlsx",
    "tco_calculator": "xlsx",
    "tech_commercial_calculator": "xlsx",
    "presentation": "pptx",
}


def _sections(draft: Draft) -> list[tuple[str, list[str], list[str]]]:
    """(heading, paragraphs, bullets) of a full document built from an asset's sentences: the
    summary, the sections its type calls for (a case study's challenge, solution and results;
    a battlecard's competitor and objections; a datasheet's specifications; a reference
    architecture's components and how they connect; an FAQ's questions and answers; a
    playbook's steps), how to use it and the call to action."""
    row, parts, slots = draft.row, draft.parts, draft.slots
    lang, atype = row["language"], row["type"]
    words = table("documents")
    h = {key: heading[lang] for key, heading in words["headings"].items()}
    pains = industry_words(row["industries"][0] if row["industries"] else None, lang)["pains"]
    product_id = row["products"][0]
    solution = [parts["product"]]
    if "product2" in parts:
        solution.append(parts["product2"])
    inside = [parts["body"]] if "body" in parts else []
    middle: list[tuple[str, list[str], list[str]]]
    if atype == "case_study":
        middle = [
            (h["challenge"], list(pains), []),
            (h["solution"], solution, []),
            (h["results"], [words["case_result"][lang].format(**slots), *inside], []),
        ]
    elif atype == "battlecard":
        rival = table("competitors")[row["competitors"][0]]
        objections = []
        for item in rival["objections"]:
            objections += [item["objection"][lang], item["answer"][lang].format(**slots)]
        middle = [
            (h["strengths"], [slots["profile"] + "."], [x[lang] for x in rival["strengths"]]),
            (h["weaknesses"], [], [x[lang] for x in rival["weaknesses"]]),
            (h["objections"], objections, []),
            (h["ask"], [], [q[lang] for q in words["battlecard_questions"]]),
            (h["solution"], solution, []),
        ]
    elif atype == "datasheet":
        specs = [spec[lang] for spec in table("products")[product_id]["specs"]]
        middle = [
            (h["solution"], [*solution], []),
            (h["specifications"], inside, specs),
        ]
    elif atype == "reference_architecture":
        components = [words["components"][c] for c in words["architectures"][product_id]]
        # the identity provider guards every step rather than passing data on
        chain = " → ".join(
            c["name"][lang]
            for cid, c in zip(words["architectures"][product_id], components, strict=True)
            if cid != "identity_provider"
        )
        middle = [
            (h["challenge"], list(pains), []),
            (h["components"], [], [f"{c['name'][lang]} — {c['role'][lang]}" for c in components]),
            (h["data_flow"], [words["data_flow"][lang].format(chain=chain), *inside], []),
            (h["solution"], [*solution], []),
        ]
    elif atype == "faq":
        answers = []
        for item in words["faq"]:
            answers += [
                item["question"][lang].format(**slots),
                item["answer"][lang].format(**slots),
            ]
        middle = [(h["questions"], answers, []), (h["solution"], [*solution, *inside], [])]
    elif atype == "playbook":
        steps = [
            f"{i}. {step[lang].format(**slots)}"
            for i, step in enumerate(words["playbook_steps"], 1)
        ]
        middle = [
            (h["challenge"], list(pains), []),
            (h["steps"], steps, []),
            (h["solution"], [*solution, *inside], []),
        ]
    else:
        bullets = (
            [item[lang] for item in words["calculator_inputs"]]
            if atype.endswith("calculator")
            else []
        )
        middle = [(h["challenge"], list(pains), []), (h["solution"], [*solution], [])]
        if inside or bullets:
            middle.append((h["inside"], inside, bullets))
    usage = [parts[k] for k in ("audience", "stage", "roles", "region") if k in parts]
    return [
        (h["overview"], [row["summary"]], []),
        *middle,
        (h["usage"], usage, []),
        (h["next_steps"], [parts["cta"]], []),
    ]


def metadata(row: dict[str, Any]) -> dict[str, Any]:
    """The asset fields a document carries for standalone ingestion (all but `document`, and
    `family_id` when it has none)."""
    return {
        k: v for k, v in row.items() if k != "document" and not (k == "family_id" and v is None)
    }


def _plain_text(draft: Draft) -> str:
    lines = [draft.row["title"], ""]
    for heading, paragraphs, bullets in _sections(draft):
        lines += [heading, ""]
        lines += [p + "\n" for p in paragraphs]
        if bullets:
            lines += [f"- {b}" for b in bullets] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _markdown(draft: Draft) -> str:
    import yaml

    front = yaml.safe_dump(metadata(draft.row), allow_unicode=True, sort_keys=False, width=1000)
    lines = [f"# {draft.row['title']}", ""]
    for heading, paragraphs, bullets in _sections(draft):
        lines += [f"## {heading}", ""]
        for p in paragraphs:
            lines += [p, ""]
        if bullets:
            lines += [f"- {b}" for b in bullets] + [""]
    return f"---\n{front}---\n\n" + "\n".join(lines).rstrip() + "\n"


def _html(draft: Draft) -> str:
    from html import escape

    row = draft.row
    metas = [f'<meta name="description" content="{escape(row["summary"])}">']
    for key, value in metadata(row).items():
        if key in ("title", "summary") or value in (None, []):
            continue
        text = ";".join(value) if isinstance(value, list) else str(value)
        metas.append(f'<meta name="asset:{key}" content="{escape(text)}">')
    body = [f"<h1>{escape(row['title'])}</h1>"]
    for heading, paragraphs, bullets in _sections(draft):
        body.append(f"<h2>{escape(heading)}</h2>")
        body += [f"<p>{escape(p)}</p>" for p in paragraphs]
        if bullets:
            body.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in bullets) + "</ul>")
    head = "\n".join(['<meta charset="utf-8">', f"<title>{escape(row['title'])}</title>", *metas])
    return (
        f'<!doctype html>\n<html lang="{row["language"]}">\n<head>\n{head}\n</head>\n'
        f"<body>\n<article>\n" + "\n".join(body) + "\n</article>\n</body>\n</html>\n"
    )


_FIXED_TIME = (2025, 1, 1, 0, 0, 0)


def _docx(draft: Draft) -> bytes:
    """A DOCX rebuilt with fixed zip timestamps so that re-running gives the same bytes."""
    from datetime import datetime

    from docx import Document

    row = draft.row
    doc = Document()
    props = doc.core_properties
    props.title = row["title"]
    props.subject = row["type"]
    props.language = row["language"]
    props.keywords = ";".join(row["products"] + row["industries"])
    props.author = VENDOR
    props.last_modified_by = VENDOR
    props.created = props.modified = datetime(2025, 1, 1)
    props.revision = 1
    doc.add_heading(row["title"], level=0)
    for heading, paragraphs, bullets in _sections(draft):
        doc.add_heading(heading, level=1)
        for p in paragraphs:
            doc.add_paragraph(p)
        for b in bullets:
            doc.add_paragraph(b, style="List Bullet")
    if row["type"] == "proposal_template":
        grid = doc.add_table(rows=1, cols=3)
        grid.style = "Table Grid"
        for cell, text in zip(
            grid.rows[0].cells, table("documents")["proposal_table"], strict=True
        ):
            cell.text = text
        for i, item in enumerate(row["products"], start=1):
            cells = grid.add_row().cells
            name = table("products")[item]["name"]
            cells[0].text, cells[1].text, cells[2].text = str(i), name, "[...]"
    raw = io.BytesIO()
    doc.save(raw)
    return _rezip(raw.getvalue())


def _rezip(data: bytes, *, replace: dict[str, bytes] | None = None) -> bytes:
    """An Office package again with fixed zip times (and `replace`d members), so that
    re-running gives the same bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            body = (replace or {}).get(info.filename, src.read(info.filename))
            dst.writestr(fixed, body)
    return out.getvalue()


# --- workbooks and decks ------------------------------------------------------------------------
CALCULATORS = tuple(kind for kind, fmt in _EVERY.items() if fmt == "xlsx")
_EUR, _PERCENT, _MONTHS = "#,##0", "0%", "0.0"


def _calculator(kind: str, rnd: random.Random) -> tuple[list[tuple[str, float]], list[tuple]]:
    """(inputs as (label key, value), outputs as (label key, formula, number format)) of one
    calculator; inputs sit in B4, B5, ... in order, formulas refer to them."""
    if kind == "roi_calculator":
        investment = rnd.randrange(40, 400) * 1000
        inputs = [
            ("investment", investment),
            ("annual_savings", round(investment * rnd.uniform(0.5, 1.2), -2)),
            ("annual_running_cost", round(investment * rnd.uniform(0.05, 0.15), -2)),
            ("years", rnd.choice((3, 5))),
        ]
        first = 4 + len(inputs) + 2  # the first output's row
        outputs = [
            ("net_benefit", "=(B5-B6)*B7-B4", _EUR),
            ("roi", f"=B{first}/B4", _PERCENT),
            ("payback_months", "=B4/((B5-B6)/12)", _MONTHS),
        ]
    elif kind == "tco_calculator":
        current = rnd.randrange(20, 200) * 1000
        inputs = [
            ("current_upfront", current),
            ("current_yearly", round(current * rnd.uniform(0.4, 0.8), -2)),
            ("new_upfront", round(current * rnd.uniform(0.9, 1.6), -2)),
            ("new_yearly", round(current * rnd.uniform(0.15, 0.35), -2)),
            ("years", 5),
        ]
        first = 4 + len(inputs) + 2
        outputs = [
            ("tco_current", "=B4+B5*B8", _EUR),
            ("tco_new", "=B6+B7*B8", _EUR),
            ("saving", f"=B{first}-B{first + 1}", _EUR),
            ("saving_share", f"=B{first + 2}/B{first}", _PERCENT),
            ("payback_months", "=MAX(0,B6-B4)/((B5-B7)/12)", _MONTHS),
        ]
    else:
        inputs = [
            ("sites", rnd.randrange(2, 40)),
            ("devices_per_site", rnd.randrange(5, 60)),
            ("device_price", rnd.randrange(8, 60) * 10),
            ("gateway_price", rnd.randrange(9, 30) * 100),
            ("install_days", rnd.choice((0.5, 1, 1.5, 2))),
            ("day_rate", rnd.randrange(35, 70) * 10),
            ("licence_per_device", rnd.randrange(2, 12) * 10),
            ("years", 3),
        ]
        first = 4 + len(inputs) + 2
        outputs = [
            ("hardware", "=B4*(B5*B6+B7)", _EUR),
            ("installation", "=B4*B8*B9", _EUR),
            ("licences", "=B4*B5*B10*B11", _EUR),
            ("total", f"=SUM(B{first}:B{first + 2})", _EUR),
        ]
    return inputs, outputs


def _xlsx(draft: Draft) -> bytes:
    """A working calculator: labelled inputs, outputs computed by formulas from them, an
    "about" sheet; the same figures in every language of a family."""
    from datetime import datetime

    import openpyxl
    from openpyxl.styles import Font

    row = draft.row
    lang = row["language"]
    words = table("workbooks")
    label = {key: text[lang] for key, text in words["labels"].items()}
    rnd = random.Random(row.get("family_id") or row["asset_id"])
    inputs, outputs = _calculator(row["type"], rnd)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = words["sheets"]["calculator"][lang]
    sheet["A1"] = row["title"]
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A3"] = label["inputs"]
    sheet["A3"].font = Font(bold=True)
    for i, (key, value) in enumerate(inputs):
        sheet.cell(row=4 + i, column=1, value=label[key])
        cell = sheet.cell(row=4 + i, column=2, value=value)
        cell.number_format = _EUR if "EUR" in label[key] else "General"
    top = 4 + len(inputs) + 1
    sheet.cell(row=top, column=1, value=label["outputs"]).font = Font(bold=True)
    for i, (key, formula, number_format) in enumerate(outputs):
        sheet.cell(row=top + 1 + i, column=1, value=label[key])
        cell = sheet.cell(row=top + 1 + i, column=2, value=formula)
        cell.number_format = number_format
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 70
    sheet.column_dimensions["B"].width = 16
    about = book.create_sheet(words["sheets"]["about"][lang])
    about["A1"] = row["title"]
    about["A2"] = words["about"][lang]
    about["A3"] = VENDOR
    props = book.properties
    props.title = row["title"]
    props.subject = row["type"]
    props.language = lang
    props.keywords = ";".join(row["products"] + row["industries"])
    props.creator = props.lastModifiedBy = VENDOR
    props.created = props.modified = datetime(2025, 1, 1)
    raw = io.BytesIO()
    book.save(raw)
    return _rezip(raw.getvalue(), replace={"docProps/core.xml": _core_xml(row)})


def _core_xml(row: dict[str, Any]) -> bytes:
    """docProps/core.xml with fixed dates (openpyxl stamps the save time)."""
    from xml.sax.saxutils import escape

    keywords = ";".join(row["products"] + row["industries"])
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://'
        'purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://'
        'www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(row['title'])}</dc:title><dc:subject>{row['type']}</dc:subject>"
        f"<dc:creator>{escape(VENDOR)}</dc:creator><cp:keywords>{escape(keywords)}</cp:keywords>"
        f"<dc:language>{row['language']}</dc:language>"
        f"<cp:lastModifiedBy>{escape(VENDOR)}</cp:lastModifiedBy>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2025-01-01T00:00:00Z</dcterms:created>'
        '<dcterms:modified xsi:type="dcterms:W3CDTF">2025-01-01T00:00:00Z</dcterms:modified>'
        "</cp:coreProperties>"
    ).encode()


def _pptx(draft: Draft) -> bytes:
    """A deck: a title slide, then one slide per section (its first sentences on the slide,
    the whole text in the speaker notes)."""
    from datetime import datetime

    from pptx import Presentation

    row = draft.row
    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[0])
    first.shapes.title.text = row["title"]
    first.placeholders[1].text = VENDOR
    for heading, paragraphs, bullets in _sections(draft):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = heading
        body = slide.placeholders[1].text_frame
        points = [p.split(". ")[0].rstrip(".") + "." for p in paragraphs[:3]] + bullets
        body.text = points[0]
        for point in points[1:]:
            body.add_paragraph().text = point
        slide.notes_slide.notes_text_frame.text = "\n".join(paragraphs)
    props = deck.core_properties
    props.title = row["title"]
    props.subject = row["type"]
    props.language = row["language"]
    props.keywords = ";".join(row["products"] + row["industries"])
    props.author = props.last_modified_by = VENDOR
    props.created = props.modified = datetime(2025, 1, 1)
    props.revision = 1
    raw = io.BytesIO()
    deck.save(raw)
    return _rezip(raw.getvalue())


def _pdf(draft: Draft) -> bytes:
    """A text PDF (TrueType-embedded DejaVu Sans, so Cyrillic extracts back with pypdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    row = draft.row
    lines: list[tuple[str, float, bool]] = []  # (text, font size, bold)
    for part in textwrap.wrap(row["title"], 70):
        lines.append((part, 14, True))
    lines.append(("", 10, False))
    for heading, paragraphs, bullets in _sections(draft):
        lines.append((heading, 12, True))
        for p in paragraphs:
            lines += [(w, 10, False) for w in textwrap.wrap(p, 92)]
            lines.append(("", 6, False))
        for b in bullets:
            wrapped = textwrap.wrap(b, 88)
            lines += [(("• " if j == 0 else "  ") + w, 10, False) for j, w in enumerate(wrapped)]
        if bullets:
            lines.append(("", 6, False))
    out = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}):
        meta = {
            "Title": row["title"],
            "Author": VENDOR,
            "Subject": row["type"],
            "CreationDate": None,
            "Creator": "demo.content",
        }
        with PdfPages(out, metadata=meta) as pdf:
            page_lines: list[tuple[str, float, bool]] = []
            used = 0.0
            pages = []
            for line in lines:
                height = line[1] * 1.45 / 72 / 11.69
                if used + height > 0.86 and page_lines:
                    pages.append(page_lines)
                    page_lines, used = [], 0.0
                page_lines.append(line)
                used += height
            pages.append(page_lines)
            for page in pages:
                fig = plt.figure(figsize=(8.27, 11.69))
                y = 0.94
                for text, size, bold in page:
                    if text:
                        fig.text(
                            0.08, y, text, fontsize=size, fontweight="bold" if bold else "normal"
                        )
                    y -= size * 1.45 / 72 / 11.69
                pdf.savefig(fig)
                plt.close(fig)
    return out.getvalue()


def _pick_documents(drafts: list[Draft]) -> list[tuple[str, Draft]]:
    """One published asset per entry of the document plan, first match by type and language."""
    used: set[str] = set()
    chosen = []
    for fmt, atype, lang in _DOCUMENT_PLAN:
        for d in drafts:
            r = d.row
            if (
                r["asset_id"] not in used
                and r["type"] == atype
                and r["language"] == lang
                and r["status"] == "published"
                and r["expires_at"] is None
            ):
                used.add(r["asset_id"])
                chosen.append((fmt, d))
                break
        else:
            raise RuntimeError(f"no published {lang} {atype} for a {fmt} document; change the seed")
    return chosen


def plan_documents(drafts: list[Draft]) -> list[tuple[str, Draft, str]]:
    """(format, draft, file name) of each planned document; sets each chosen row's
    `document` (a path relative to the catalog folder, as ingestion resolves it)."""
    picked = _pick_documents(drafts)
    chosen = {id(draft) for _, draft in picked}
    picked += [
        (_EVERY[d.row["type"]], d)
        for d in drafts
        if d.row["type"] in _EVERY and id(d) not in chosen
    ]
    plan = []
    for fmt, draft in picked:
        name = document_name(draft.row, fmt)
        draft.row["document"] = f"documents/{name}"
        plan.append((fmt, draft, name))
    return plan


def document_name(row: dict[str, Any], fmt: str) -> str:
    """The file name of `row`'s document in format `fmt` (an entry of the document plan)."""
    stem = f"{row['asset_id']}-{row['type'].replace('_', '-')}-{row['language']}"
    return f"{stem}.{fmt.split('.')[0]}"


def write_documents(plan: list[tuple[str, Draft, str]], documents_dir: Path) -> list[Path]:
    """Write the planned documents and their sidecars; return the files written."""
    import yaml

    written: list[Path] = []
    for fmt, draft, name in plan:
        row = draft.row
        path = documents_dir / name
        stem = name.rsplit(".", 1)[0]
        side: Path | None = None
        if fmt == "md":
            path.write_text(_markdown(draft), encoding="utf-8")
        elif fmt.startswith("txt"):
            path.write_text(_plain_text(draft), encoding="utf-8")
            side = documents_dir / f"{stem}.meta.{fmt.split('.')[1]}"
        elif fmt == "html":
            path.write_text(_html(draft), encoding="utf-8")
        else:
            writer = {"docx": _docx, "pdf": _pdf, "xlsx": _xlsx, "pptx": _pptx}[fmt]
            path.write_bytes(writer(draft))
            side = documents_dir / f"{stem}.meta.json"
        if side is not None:
            if side.suffix == ".json":
                text = json.dumps(metadata(row), ensure_ascii=False, indent=2) + "\n"
            else:
                text = yaml.safe_dump(metadata(row), allow_unicode=True, sort_keys=False)
            side.write_text(text, encoding="utf-8")
            written.append(side)
        written.append(path)
    return written
