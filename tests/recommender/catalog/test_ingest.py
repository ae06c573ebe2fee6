"""Catalog ingestion end to end with the real E5 embedder: every input format, every bad input
(with the message it must give and proof that nothing was written), incremental re-ingestion,
the admin API's upsert/delete, and loading the catalog back."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features import SchemaError
from recommender.catalog.catalog import ASSET_COLUMNS, Catalog, load_catalog
from recommender.catalog.documents import DEFAULT_MAX_BYTES
from recommender.catalog.ingest import IngestReport, delete_assets, ingest, upsert_assets
from recommender.catalog.sources import derive_asset_id
from recommender.workspace import Workspace

pytestmark = pytest.mark.slow  # embeds with the real model


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.at(tmp_path / "ws")


def run(ws: Workspace, sources: list[Path], embedder: Any, **kwargs: Any) -> IngestReport:
    return ingest(ws, sources, embedder=embedder, progress=False, **kwargs)


# --- every input format ------------------------------------------------------------------------
def _write_table(folder: Path, fmt: str, rows: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    if fmt == "jsonl":
        path = folder / "assets.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    elif fmt == "json-array":
        path = folder / "assets.json"
        path.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    elif fmt == "csv":
        path = folder / "assets.csv"
        for column in frame.columns:  # list cells as 'a;b', the way spreadsheets hold them
            frame[column] = [";".join(v) if isinstance(v, list) else v for v in frame[column]]
        frame.to_csv(path, index=False)
    else:
        path = folder / "assets.parquet"
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "json-array", "csv", "parquet"])
def test_every_table_format_gives_the_same_catalog(
    ws: Workspace, tmp_path: Path, e5_embedder: Any, tiny_assets: list[dict[str, Any]], fmt: str
) -> None:
    source = _write_table(tmp_path / "src", fmt, tiny_assets)
    report = run(ws, [source], e5_embedder)
    assert (report.assets, report.chunks, report.added) == (3, 3, 3)
    catalog = load_catalog(ws, embedder_id=e5_embedder.id, dim=e5_embedder.dim)
    assets = catalog.assets
    assert list(assets.columns) == list(ASSET_COLUMNS)
    assert assets["asset_id"].tolist() == ["roi-calc", "bank-case", "battlecard-ru"]
    assert assets["stages"].tolist() == [
        ["solution", "negotiation"],
        ["discovery"],
        ["negotiation"],
    ]
    assert assets["products"].tolist() == [["storage"], [], []]
    # English was given; Ukrainian and Russian were detected.
    assert assets["language"].tolist() == ["en", "uk", "ru"]
    assert assets.at[0, "published_at"] == pd.Timestamp("2025-01-15")
    assert pd.isna(assets.at[1, "published_at"])
    assert assets.at[2, "expires_at"] == pd.Timestamp("2030-12-31")
    assert assets["chunks"].tolist() == [1, 1, 1] and assets["text_chars"].tolist() == [0, 0, 0]
    assert catalog.chunks is not None
    assert catalog.chunks.at[0, "text"] == (
        "ROI calculator for storage upgrades\n"
        "Estimate the return on investment of replacing ageing storage arrays."
    )


def test_folder_of_documents_in_every_format(
    ws: Workspace, tmp_path: Path, e5_embedder: Any, make_pdf: Callable, make_docx: Callable
) -> None:
    docs = tmp_path / "docs"
    (docs / "guides").mkdir(parents=True)
    (docs / "guides" / "onboarding.md").write_text(
        "---\nasset_id: onboarding\ntype: onboarding_guide\nmaturities: [new]\n---\n"
        "# Partner onboarding\n\nRegister your first deal and complete the sales training.\n",
        "utf-8",
    )
    (docs / "Pricing Notes.txt").write_text(
        "Знижки понад 20% потребують погодження менеджера каналу.", "utf-8"
    )
    (docs / "Pricing Notes.meta.yaml").write_text("title: Ціни і знижки\ntype: faq\n", "utf-8")
    (docs / "vault.html").write_text(
        "<html><head><title>Vault X datasheet</title><meta name='type' content='datasheet'>"
        "<meta name='description' content='Storage array for banks.'></head>"
        "<body><p>Vault X stores two petabytes.</p></body></html>",
        "utf-8",
    )
    (docs / "proposal.docx").write_bytes(
        make_docx(["Шаблон коммерческого предложения для интеграторов."], title="Шаблон КП")
    )
    (docs / "proposal.docx.meta.json").write_text('{"type": "proposal_template"}', "utf-8")
    (docs / "zero-trust.pdf").write_bytes(make_pdf(["Zero trust for branch offices."]))
    (docs / "zero-trust.meta.json").write_text(
        json.dumps({"asset_id": "zt-paper", "title": "Zero trust", "type": "white_paper"}), "utf-8"
    )
    (docs / "logo.png").write_bytes(b"\x89PNG")  # skipped with a warning
    (docs / ".hidden.md").write_text("---\ntype: nope\n---\nignored", "utf-8")
    (docs / "typo.meta.json").write_text("{}", "utf-8")  # no typo.* document: warned

    report = run(ws, [docs], e5_embedder)
    assert report.assets == 5
    assert any("skipped 1 file(s)" in w and "logo.png" in w for w in report.warnings)
    assert any("without a document: ['typo.meta.json']" in w for w in report.warnings)
    assets = load_catalog(ws).assets.set_index("asset_id")
    assert sorted(assets.index) == ["onboarding", "pricing-notes", "proposal", "vault", "zt-paper"]
    expected = {
        "onboarding": ("Partner onboarding", "onboarding_guide", "en", "guides/onboarding.md"),
        "pricing-notes": ("Ціни і знижки", "faq", "uk", "Pricing Notes.txt"),
        "vault": ("Vault X datasheet", "datasheet", "en", "vault.html"),
        "proposal": ("Шаблон КП", "proposal_template", "ru", "proposal.docx"),
        "zt-paper": ("Zero trust", "white_paper", "en", "zero-trust.pdf"),
    }
    for asset_id, (title, kind, language, document) in expected.items():
        row = assets.loc[asset_id]
        assert (row["title"], row["type"], row["language"], row["document"]) == (
            title,
            kind,
            language,
            document,
        ), asset_id
        assert row["text_chars"] > 0 and row["chunks"] == 2
    assert assets.loc["vault", "summary"] == "Storage array for banks."  # from <meta description>
    assert assets.loc["onboarding", "summary"].startswith("Register your first deal")
    assert assets.loc["onboarding", "maturities"] == ["new"]


def test_table_row_with_a_document_takes_its_text(
    ws: Workspace, tmp_path: Path, e5_embedder: Any, make_pdf: Callable
) -> None:
    src = tmp_path / "src"
    (src / "files").mkdir(parents=True)
    (src / "files" / "tco.pdf").write_bytes(make_pdf(["Total cost of ownership over five years."]))
    rows = [{"asset_id": "tco", "title": "TCO model", "type": "tco_calculator", "language": "en",
             "document": "files/tco.pdf"}]  # fmt: skip
    report = run(ws, [_write_table(src, "jsonl", rows)], e5_embedder)
    catalog = load_catalog(ws)
    assert report.assets == 1
    assert catalog.assets.at[0, "summary"] == "Total cost of ownership over five years."
    assert catalog.assets.at[0, "document"] == "files/tco.pdf"
    assert catalog.chunks is not None
    assert catalog.chunks["text"].tolist()[-1] == (
        "TCO model\nTotal cost of ownership over five years."
    )


def test_long_document_is_chunked_and_capped(
    ws: Workspace, tmp_path: Path, e5_embedder: Any
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    body = "\n\n".join(
        f"Section {i}. Partners at stage {i} need a clear message and a tool to use." * 3
        for i in range(40)
    )  # ~1,800 words
    (docs / "playbook.md").write_text(f"---\ntitle: Playbook\ntype: playbook\n---\n{body}", "utf-8")
    report = run(ws, [docs], e5_embedder, max_chunks_per_asset=3)
    catalog = load_catalog(ws)
    assert catalog.assets.at[0, "chunks"] == 3 == report.chunks
    assert any("cut to their first 3" in w for w in report.warnings)
    assert catalog.chunks is not None
    texts = catalog.chunks["text"].tolist()
    assert all(t.startswith("Playbook\n") and len(t.split()) <= 181 for t in texts)
    assert catalog.chunks["chunk"].tolist() == [0, 1, 2]


def test_derived_asset_ids() -> None:
    assert derive_asset_id("Guides/Onboarding Plan.md") == "guides-onboarding-plan"
    assert derive_asset_id("a.b.pdf") == "a-b"
    assert derive_asset_id("Кейс.md").startswith("doc-") and len(derive_asset_id("Кейс.md")) == 16
    assert len(derive_asset_id("x" * 100 + ".md")) == 64


# --- every bad input: the error it gives, and nothing written ------------------------------------
def _rows(tmp: Path, rows: list[dict[str, Any]], name: str = "assets.jsonl") -> Path:
    path = tmp / "bad" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _ok(asset_id: str = "x1", **overrides: Any) -> dict[str, Any]:
    row = {"asset_id": asset_id, "title": "A title", "type": "faq", "summary": "Some text."}
    row.update(overrides)
    return row


def _folder(tmp: Path, files: dict[str, bytes]) -> Path:
    folder = tmp / "bad-docs"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


_META = json.dumps({"title": "T", "type": "white_paper"}).encode()


def _case_unknown_stage(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a"), _ok("b", stages=["discovery", "closed_won"])])
    return [path], ["assets.jsonl, row 2, column 'stages': 'closed_won' is not a valid stages"]


def _case_unknown_type(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a", type="brochure")])
    return [path], ["assets.jsonl, row 1, column 'type': 'brochure' is not a valid type"]


def _case_bad_date(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a"), _ok("b"), _ok("c", published_at="2025-13-45")])
    return [path], ["assets.jsonl, row 3, column 'published_at': '2025-13-45' is not a date"]


def _case_expires_before_published(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a", published_at="2025-06-01", expires_at="2025-01-01")])
    return [path], [
        "assets.jsonl, row 1, column 'expires_at': 2025-01-01 is before published_at 2025-06-01"
    ]


def _case_empty_summary(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a", summary="   \n ")])
    return [path], ["assets.jsonl, row 1, column 'summary': value is missing"]


def _case_duplicate_in_file(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a"), _ok("b"), _ok("a")])
    return [path], [
        "assets.jsonl, row 3, column 'asset_id': duplicate asset_id 'a' (first at row 1)"
    ]


def _case_duplicate_across_files(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    first = _rows(tmp, [_ok("a"), _ok("b")], "one.jsonl")
    second = _rows(tmp, [_ok("c"), _ok("b")], "two.csv").with_suffix(".csv")
    pd.DataFrame([_ok("c"), _ok("b")]).to_csv(second, index=False)
    return [first, second], [
        f"two.csv, row 2, column 'asset_id': duplicate asset_id 'b' (first at {first} row 2)"
    ]


def _case_traversal_document(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a"), _ok("b", document="../../etc/passwd")])
    return [path], [
        "assets.jsonl, row 2, column 'document': '../../etc/passwd' resolves outside the source"
    ]


def _case_absolute_document(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a", document="/etc/passwd")])
    return [path], ["row 1, column 'document': '/etc/passwd' resolves outside the source"]


def _case_traversal_asset_id(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("../../etc/passwd")])
    return [path], ["row 1, column 'asset_id': '../../etc/passwd' is not a valid id"]


def _case_missing_document(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a", document="nowhere.pdf")])
    return [path], ["row 1, column 'document': nowhere.pdf: file not found"]


def _case_corrupt_pdf_in_table(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a", document="broken.pdf")])
    (path.parent / "broken.pdf").write_bytes(h["pdf"](["Hello."])[:150])
    return [path], ["row 1, column 'document': broken.pdf: is a corrupt PDF"]


def _case_corrupt_pdf_in_folder(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    files = {"ok.md": b"---\ntitle: T\ntype: faq\n---\nFine.", "broken.meta.json": _META}
    folder = _folder(tmp, {**files, "broken.pdf": b"%PDF-1.4\n\x00\xff junk"})
    return [folder], ["broken.pdf: is a corrupt PDF"]


def _case_encrypted_pdf(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(h["pdf"](["Secret."]))))
    writer.encrypt("pw", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    folder = _folder(tmp, {"locked.pdf": buffer.getvalue(), "locked.meta.json": _META})
    return [folder], ["locked.pdf: is an encrypted PDF"]


def _case_javascript_pdf(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    data = h["pdf"](["Hi."], catalog_extra="/OpenAction 6 0 R",
                    objects=["<< /S /JavaScript /JS (app.alert\\(1\\)) >>"])  # fmt: skip
    folder = _folder(tmp, {"script.pdf": data, "script.meta.json": _META})
    return [folder], ["script.pdf: contains JavaScript; refused"]


def _case_zip_bomb(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    bomb = h["bomb"](h["docx"](["Hi."]), entry_bytes=60 * 1024 * 1024)
    folder = _folder(tmp, {"bomb.docx": bomb, "bomb.meta.json": _META})
    return [folder], ["bomb.docx: would expand to", "the limit is 52,428,800 (zip bomb?)"]


def _case_oversized(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    folder = _folder(tmp, {"huge.txt.meta.json": _META})
    with (folder / "huge.txt").open("wb") as fh:
        fh.truncate(DEFAULT_MAX_BYTES + 1)  # sparse
    return [folder], ["huge.txt: is 26,214,401 bytes; the limit is 26,214,400"]


def _case_empty_document(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    folder = _folder(tmp, {"empty.md": b"---\ntitle: T\ntype: faq\n---\n\n  \n"})
    return [folder], ["empty.md: contains no text"]


def _case_invalid_utf8_text(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    folder = _folder(tmp, {"legacy.txt": b"Price list \xcf\xf0\xe8", "legacy.meta.json": _META})
    return [folder], ["legacy.txt: is not valid UTF-8: byte 0xcf at offset 11"]


def _case_invalid_utf8_csv(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = tmp / "bad" / "assets.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"asset_id,title,type,summary\na,T\xff,faq,S\n")
    return [path], ["assets.csv: cannot be read: is not valid UTF-8: byte 0xff at offset 31"]


def _case_missing_type_in_folder(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    folder = _folder(tmp, {"note.md": b"---\ntitle: T\n---\nSome text."})
    return [folder], ["note.md, column 'type': type is missing; set it in the front matter"]


def _case_bad_json_line(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = _rows(tmp, [_ok("a")])
    path.write_text(path.read_text("utf-8") + "{not json\n", "utf-8")
    return [path], ["assets.jsonl, row 2: line 2 is not valid JSON"]


def _case_symlink_out_of_folder(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    secret = tmp / "secret.md"
    secret.write_text("---\ntitle: T\ntype: faq\n---\nPrivate.", "utf-8")
    folder = _folder(tmp, {})
    (folder / "link.md").symlink_to(secret)
    return [folder], ["link.md: is a link to", "outside"]


def _case_symlink_document_in_table(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    secret = tmp / "secret.txt"
    secret.write_text("Private.", "utf-8")
    path = _rows(tmp, [_ok("a", document="docs/link.txt")])
    (path.parent / "docs").mkdir()
    (path.parent / "docs" / "link.txt").symlink_to(secret)
    return [path], ["row 1, column 'document': 'docs/link.txt' resolves outside the source"]


def _case_bad_front_matter(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    folder = _folder(tmp, {"a.md": b"---\ntitle: [unclosed\ntype: faq\n---\nText."})
    return [folder], ["a.md: front matter is not valid YAML"]


def _case_missing_source(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    return [tmp / "nope.jsonl"], ["nope.jsonl: source not found"]


def _case_unsupported_source(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    path = tmp / "assets.xlsx"
    path.write_bytes(b"PK")
    return [path], ["assets.xlsx: unsupported source '.xlsx'"]


def _case_every_problem_at_once(tmp: Path, h: Any) -> tuple[list[Path], list[str]]:
    table = _rows(tmp, [_ok("a", type="brochure"), _ok("b", stages=["closed_won"]),
                        _ok("c", published_at="yesterday"), _ok("a")])  # fmt: skip
    folder = _folder(tmp, {"broken.pdf": b"%PDF-1.4\n\x00", "broken.meta.json": _META})
    return [table, folder], [
        "5 problem(s) found; nothing was written",
        "row 1, column 'type'",
        "row 2, column 'stages'",
        "row 3, column 'published_at'",
        "row 4, column 'asset_id': duplicate asset_id 'a'",
        "broken.pdf: is a corrupt PDF",
    ]


BAD_INPUTS: dict[str, Callable[[Path, Any], tuple[list[Path], list[str]]]] = {
    name.removeprefix("_case_").replace("_", "-"): fn
    for name, fn in sorted(globals().items())
    if name.startswith("_case_")
}


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, e5_embedder: Any, tiny_catalog_factory: Callable
) -> Workspace:
    """A workspace with a valid catalog that every bad ingestion must leave untouched."""
    root = tmp_path_factory.mktemp("built")
    (root / "src").mkdir()
    ws = Workspace.at(root / "ws")
    run(ws, [tiny_catalog_factory(root / "src")], e5_embedder)
    return ws


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_reported_and_nothing_is_written(
    case: str,
    built: Workspace,
    tmp_path: Path,
    e5_embedder: Any,
    digest: Callable[[Path], dict[str, str]],
    make_pdf: Callable,
    make_docx: Callable,
    make_zip_bomb: Callable,
) -> None:
    helpers = {"pdf": make_pdf, "docx": make_docx, "bomb": make_zip_bomb}
    sources, expected = BAD_INPUTS[case](tmp_path, helpers)
    before = digest(built.root)
    assert before and "catalog/assets.parquet" in before
    with pytest.raises(SchemaError) as info:
        run(built, sources, e5_embedder)
    message = str(info.value)
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "nothing was written" in message
    assert digest(built.root) == before  # catalog, index and cache byte-identical
    assert load_catalog(built).assets["asset_id"].tolist() == [
        "roi-calc",
        "bank-case",
        "battlecard-ru",
    ]


def test_failed_first_ingest_creates_no_workspace(
    ws: Workspace, tmp_path: Path, e5_embedder: Any
) -> None:
    with pytest.raises(SchemaError, match="not a valid type"):
        run(ws, [_rows(tmp_path, [_ok("a", type="nope")])], e5_embedder)
    assert not ws.root.exists()


def test_pdf_javascript_can_be_allowed_with_a_warning(
    ws: Workspace, tmp_path: Path, e5_embedder: Any, make_pdf: Callable
) -> None:
    data = make_pdf(["Interactive ROI sheet."], catalog_extra="/OpenAction 6 0 R",
                    objects=["<< /S /JavaScript /JS (calc\\(\\)) >>"])  # fmt: skip
    folder = _folder(tmp_path, {"roi.pdf": data, "roi.meta.json": _META})
    report = run(ws, [folder], e5_embedder, allow_pdf_javascript=True)
    assert report.assets == 1
    assert any("roi.pdf: contains JavaScript; accepted" in w for w in report.warnings)


def test_document_size_limit_is_configurable(
    ws: Workspace, tmp_path: Path, e5_embedder: Any
) -> None:
    folder = _folder(tmp_path, {"a.md": b"---\ntitle: T\ntype: faq\n---\n" + b"word " * 400})
    with pytest.raises(SchemaError, match="the limit is 1,000 bytes"):
        run(ws, [folder], e5_embedder, max_document_bytes=1000)


# --- incremental re-ingestion ----------------------------------------------------------------
def test_reingest_unchanged_embeds_nothing_and_one_change_embeds_one(
    ws: Workspace, tiny_catalog: Path, e5_embedder: Any, tiny_assets: list[dict[str, Any]], jsonl
) -> None:
    first = run(ws, [tiny_catalog], e5_embedder)
    assert (first.embedded, first.cached) == (3, 0)
    again = run(ws, [tiny_catalog], e5_embedder)
    assert (again.embedded, again.cached, again.assets) == (0, 3, 3)
    tiny_assets[1]["summary"] = "Новий підсумок кейсу про банк і партнерів."
    jsonl(tiny_catalog, tiny_assets)
    changed = run(ws, [tiny_catalog], e5_embedder)
    assert (changed.embedded, changed.cached, changed.assets) == (1, 2, 3)
    catalog = load_catalog(ws)
    assert catalog.assets.at[1, "summary"].startswith("Новий підсумок")
    # Without the previous index the content-hash cache alone avoids embedding.
    shutil.rmtree(ws.catalog_dir)
    cold = run(ws, [tiny_catalog], e5_embedder)
    assert (cold.embedded, cold.cached) == (0, 3)


def test_upsert_by_default_and_replace_on_request(
    ws: Workspace, tiny_catalog: Path, tmp_path: Path, e5_embedder: Any
) -> None:
    run(ws, [tiny_catalog], e5_embedder)
    extra = _rows(tmp_path, [_ok("new-one", title="New"), _ok("roi-calc", title="ROI v2")])
    merged = run(ws, [extra], e5_embedder)
    assert (merged.assets, merged.added, merged.updated) == (4, 1, 1)
    assets = load_catalog(ws).assets
    assert assets["asset_id"].tolist() == ["roi-calc", "bank-case", "battlecard-ru", "new-one"]
    assert assets.at[0, "title"] == "ROI v2"
    replaced = run(ws, [extra], e5_embedder, replace=True)
    assert (replaced.assets, replaced.removed, replaced.embedded) == (2, 2, 0)
    assert load_catalog(ws).assets["asset_id"].tolist() == ["new-one", "roi-calc"]  # source order


def test_upsert_assets_and_delete_assets(
    ws: Workspace, tiny_catalog: Path, e5_embedder: Any
) -> None:
    run(ws, [tiny_catalog], e5_embedder)
    rows = pd.DataFrame([_ok("fresh", title="Fresh battlecard", type="battlecard",
                             summary="How to win against acme in banking.")])  # fmt: skip
    report = upsert_assets(ws, rows, embedder=e5_embedder)
    assert (report.assets, report.embedded, report.cached) == (4, 1, 3)
    with pytest.raises(SchemaError, match=r"upsert, row 1, column 'type'"):
        upsert_assets(ws, pd.DataFrame([_ok("bad", type="nope")]), embedder=e5_embedder)
    with pytest.raises(SchemaError, match="no base folder"):
        upsert_assets(ws, pd.DataFrame([_ok("doc", document="a.pdf")]), embedder=e5_embedder)
    assert delete_assets(ws, ["bank-case", "not-there"]) == 1
    assert delete_assets(ws, ["not-there"]) == 0
    catalog = load_catalog(ws, embedder_id=e5_embedder.id)
    assert catalog.asset_ids == ["roi-calc", "battlecard-ru", "fresh"]
    assert sorted(catalog.index.asset_ids.tolist()) == ["battlecard-ru", "fresh", "roi-calc"]
    # Vectors of the kept assets are the ones embedded at first, not recomputed.
    query = e5_embedder.embed_queries(["how to beat acme"])[0]
    assert catalog.index.search_assets(query, 1).asset_ids == ["fresh"]


# --- loading ---------------------------------------------------------------------------------
def test_load_catalog_without_one_says_what_to_run(ws: Workspace) -> None:
    with pytest.raises(FileNotFoundError, match=r"no catalog in .*run `recommender demo`"):
        load_catalog(ws)


def test_catalog_maps_index_hits_to_rows(
    ws: Workspace, tiny_catalog: Path, e5_embedder: Any
) -> None:
    run(ws, [tiny_catalog], e5_embedder)
    catalog = load_catalog(ws, embedder_id=e5_embedder.id, dim=e5_embedder.dim)
    assert isinstance(catalog, Catalog) and len(catalog) == 3
    assert list(catalog.assets.index) == [0, 1, 2]
    assert catalog.position_of("battlecard-ru") == 2
    with pytest.raises(KeyError, match="'nope' is not in the catalog"):
        catalog.position_of("nope")
    assert catalog.rows_for(["bank-case", "nope"]).tolist() == [1, -1]
    # index.asset_ids is sorted; index_rows maps it to asset rows and index_pos back.
    ids = catalog.assets["asset_id"].to_numpy()
    assert ids[catalog.index_rows].tolist() == catalog.index.asset_ids.tolist()
    assert catalog.index.asset_ids[catalog.index_pos].tolist() == ids.tolist()
    only_english = (catalog.assets["language"] == "en").to_numpy()
    query = e5_embedder.embed_queries(["калькулятор окупності"])[0]
    hits = catalog.index.search_assets(query, 3, allowed=catalog.index_mask(only_english))
    assert hits.asset_ids == ["roi-calc"]
    best = catalog.index.search_assets(e5_embedder.embed_queries(["конкуренты"])[0], 1)
    assert catalog.asset(best.asset_ids[0])["type"] == "battlecard"
    assert isinstance(catalog.assets.at[0, "stages"], list)
    assert catalog.assets["language"].dtype == object and catalog.assets.at[0, "url"] is None
    assert np.issubdtype(catalog.assets["published_at"].dtype, np.datetime64)
