"""The documents written beside the demo catalog: one asset's full text in Markdown, plain
text (with a JSON or YAML sidecar), HTML, DOCX and PDF.

A document is built from the sentences its asset was drafted from (`catalog.Draft`) under the
headings of documents.yaml. `plan_documents` picks one published asset per entry of the plan
and sets its row's `document`; `write_documents` writes the files, reproducibly (fixed zip
times in DOCX, no creation date in PDF).
"""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from pathlib import Path
from typing import Any

from demo.content.catalog import Draft
from demo.content.phrases import industry_words, table
from demo.content.world import VENDOR

__all__ = ["metadata", "plan_documents", "write_documents"]


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
    ("pdf", "roi_calculator", "uk"), ("pdf", "tco_calculator", "en"),
    ("pdf", "tech_commercial_calculator", "en"), ("pdf", "case_study", "ru"),
]  # fmt: skip


def _sections(draft: Draft) -> list[tuple[str, list[str], list[str]]]:
    """(heading, paragraphs, bullets) of a full document built from an asset's sentences."""
    row, parts = draft.row, draft.parts
    lang, atype = row["language"], row["type"]
    words, summaries = table("documents"), table("summaries")
    h = {key: heading[lang] for key, heading in words["headings"].items()}
    ind = industry_words(row["industries"][0] if row["industries"] else None, lang)
    solution = [parts["product"]]
    if "product2" in parts:
        solution.append(parts["product2"])
    solution.append(words["typical_result"][lang].format(result=parts["result"]))
    bodies = summaries["bodies"]
    inside = [parts["body"]] if "body" in parts else [bodies.get(atype, bodies["faq"])[lang]]
    bullets: list[str] = []
    if atype.endswith("calculator"):
        bullets = [item[lang] for item in words["calculator_inputs"]]
    elif atype == "battlecard":
        bullets = [question[lang] for question in words["battlecard_questions"]]
    usage = [parts["audience"], parts["stage"]]
    if "roles" in parts:
        usage.append(parts["roles"])
    if "region" in parts:
        usage.append(parts["region"])
    return [
        (h["overview"], [row["summary"]], []),
        (h["challenge"], list(ind["pains"]), []),
        (h["solution"], solution, []),
        (h["inside"], inside, bullets),
        (h["usage"], usage, []),
        (h["next_steps"], [summaries["sentences"]["call_to_action"][lang]], []),
    ]


def metadata(row: dict[str, Any]) -> dict[str, Any]:
    """The asset fields a document carries for standalone ingestion (all but `document`)."""
    return {k: v for k, v in row.items() if k != "document"}


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
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


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
    plan = []
    for fmt, draft in _pick_documents(drafts):
        row = draft.row
        stem = f"{row['asset_id']}-{row['type'].replace('_', '-')}-{row['language']}"
        name = f"{stem}.{fmt.split('.')[0]}"
        row["document"] = f"documents/{name}"
        plan.append((fmt, draft, name))
    return plan


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
            path.write_bytes(_docx(draft) if fmt == "docx" else _pdf(draft))
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
