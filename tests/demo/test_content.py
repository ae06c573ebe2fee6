"""The committed demo data and the content builders: the counts the issue promises, the
edge cases evaluation needs, summaries and documents that read like content, the Ukrainian
FAQ, and that the committed data is exactly what the builder writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

import demo
from demo import content as demo_content
from demo.content.catalog import sentences
from demo.content.phrases import table
from demo.generator import DEMO_DIR, load_demo_assets, load_demo_partners
from features import ASSETS, PARTNERS, AssetType, Maturity, Stage
from features.schema import rank
from tests.support import PROJECT_ROOT

TEXT_KINDS = ("str", "text")


@pytest.fixture(scope="module")
def demo_assets() -> pd.DataFrame:
    return load_demo_assets()


@pytest.fixture(scope="module")
def demo_partners() -> pd.DataFrame:
    return load_demo_partners()


def test_demo_catalog_meets_the_promised_counts(demo_assets):
    a = demo_assets
    assert len(a) >= 300
    assert a["asset_id"].is_unique
    assert set(a["type"]) == {t.value for t in AssetType}  # all 16, at least the 10 promised
    stages = {s for cell in a["stages"] for s in cell}
    assert stages == {s.value for s in Stage}
    maturities = {m for cell in a["maturities"] for m in cell}
    assert maturities == {m.value for m in Maturity}
    industries = {i for cell in a["industries"] for i in cell}
    assert len(industries) >= 6
    share = a["language"].value_counts(normalize=True)
    assert share["uk"] >= 0.30
    assert 0.05 <= share["ru"] <= 0.30
    assert share["en"] >= 0.30
    # Products of one vendor, battlecards against named competitors.
    assert len({p for cell in a["products"] for p in cell}) >= 8
    battle = a[a["type"] == "battlecard"]
    assert len(battle) > 0
    assert all(len(c) == 1 and c[0] in demo_content.COMPETITORS for c in battle["competitors"])
    assert all(not c for c in a.loc[a["type"] != "battlecard", "competitors"])


def test_demo_catalog_has_the_edge_cases_evaluation_needs(demo_assets):
    a = demo_assets
    assert (a["status"] == "draft").any()
    assert (a["status"] == "published").mean() > 0.9
    expired = a["expires_at"].notna() & (a["expires_at"] < pd.Timestamp("2026-11-01"))
    assert expired.sum() >= 3
    assert a["regions"].map(len).gt(0).sum() >= 3
    assert a["regions"].map(len).eq(0).mean() > 0.8  # mostly for all regions
    assert set(a["min_tier"].dropna()) <= {"gold", "platinum"} and a["min_tier"].notna().sum() >= 3
    assert a["stages"].map(len).eq(0).any() and a["maturities"].map(len).eq(0).any()
    years = a["published_at"].dropna().dt.year
    assert {2024, 2025, 2026} <= set(years)
    # Cold-start assets for the default window: published in its last 20%.
    cold = a["published_at"].between(pd.Timestamp("2025-10-20"), pd.Timestamp("2025-12-31"))
    assert cold.sum() >= 10
    assert all(
        url == f"https://enablement.example.com/assets/{i}"
        for i, url in zip(a["asset_id"], a["url"], strict=True)
    )


def test_demo_summaries_read_like_content(demo_assets):
    words = demo_assets["summary"].map(lambda s: len(s.split()))
    assert words.between(40, 150).all(), demo_assets.loc[~words.between(40, 150), "asset_id"]
    # Ukrainian and Russian assets are written in Cyrillic, with letters only one language has.
    uk = demo_assets[demo_assets["language"] == "uk"]["summary"]
    ru = demo_assets[demo_assets["language"] == "ru"]["summary"]
    assert uk.str.contains("[іїєґ]").mean() > 0.95
    assert ru.str.contains("[ыэъё]").mean() > 0.95
    assert not ru.str.contains("[іїєґ]").any()
    # Metadata and text agree: a Ukrainian ROI calculator says so in Ukrainian.
    roi_uk = demo_assets[
        (demo_assets["type"] == "roi_calculator") & (demo_assets["language"] == "uk")
    ]
    assert len(roi_uk) and roi_uk["title"].str.contains("ROI").all()
    assert roi_uk["summary"].str.contains("ROI").all()
    # ... and an asset written for one industry talks about that industry's problems (a pain
    # is told inside a sentence: maybe starting lowercase, without its own full stop).
    for _, row in demo_assets[demo_assets["industries"].map(len) == 1].iterrows():
        pains = demo_content.INDUSTRIES[row["industries"][0]][row["language"]]["pains"]
        assert any(pain.rstrip(".")[1:] in row["summary"] for pain in pains), row["asset_id"]


def test_no_two_assets_in_one_language_share_a_title(demo_assets):
    """Issue 16: titles tell assets apart (a family's members differ by language)."""
    shared = demo_assets[demo_assets.duplicated(["language", "title"], keep=False)]
    assert shared.empty, shared.sort_values("title")[["asset_id", "language", "title"]]


def test_no_summary_sentence_is_in_more_than_three_summaries(demo_assets):
    """Issue 16: summaries are not assembled from the same few sentences; any one sentence
    is in at most three summaries of its language."""
    users: dict[tuple[str, str], set[str]] = {}
    for row in demo_assets.itertuples():
        for sentence in sentences(row.summary):
            users.setdefault((row.language, sentence), set()).add(row.asset_id)
    assert len(users) > 5 * len(demo_assets)  # the splitter found the sentences
    reused = {key: sorted(ids) for key, ids in users.items() if len(ids) > 3}
    assert not reused, sorted(reused.items(), key=lambda kv: -len(kv[1]))[:5]


@pytest.mark.parametrize(
    ("loader", "contract"),
    [(load_demo_assets, ASSETS), (load_demo_partners, PARTNERS)],
    ids=["assets", "partners"],
)
def test_no_text_field_contains_nul(loader, contract):
    frame = loader()
    for col in contract.columns:
        if col.kind in TEXT_KINDS:
            assert not frame[col.name].dropna().astype(str).str.contains("\x00").any(), col.name


def test_demo_documents_exist_in_several_formats(demo_assets):
    with_doc = demo_assets[demo_assets["document"].notna()]
    assert len(with_doc) >= 20
    paths = [DEMO_DIR / d for d in with_doc["document"]]
    assert all(p.is_file() for p in paths)
    assert {p.suffix for p in paths} >= {".md", ".txt", ".html", ".docx", ".pdf"}
    total = sum(p.stat().st_size for p in DEMO_DIR.rglob("*") if p.is_file())
    assert total < 6 * 1024 * 1024  # ~50 decks of ~45 KB (python-pptx's theme) and ~90 workbooks
    for path in paths:
        if path.suffix in (".txt", ".docx", ".pdf"):
            sidecars = list(path.parent.glob(f"{path.stem}.meta.*"))
            assert len(sidecars) == 1, path
            if sidecars[0].suffix == ".json":
                meta = json.loads(sidecars[0].read_text("utf-8"))
                row = with_doc[with_doc["document"] == f"documents/{path.name}"].iloc[0]
                assert meta["asset_id"] == row["asset_id"] and meta["type"] == row["type"]


def _evaluate(formula: str, values: dict[str, float]) -> float:
    """A calculator formula (+ - * / parentheses, SUM over a column range, MAX) evaluated over
    the sheet's values: the test's own reading of what Excel would compute."""
    import re

    def cells(match: re.Match[str]) -> str:
        first, last = int(match.group(1)), int(match.group(2))
        return "(" + "+".join(f"B{r}" for r in range(first, last + 1)) + ")"

    expr = re.sub(r"SUM\(B(\d+):B(\d+)\)", cells, formula.lstrip("="))
    expr = expr.replace("MAX(", "max(")
    expr = re.sub(r"B(\d+)", lambda m: repr(values[f"B{m.group(1)}"]), expr)
    assert re.fullmatch(r"[0-9.eE+\-*/(), max]+", expr), expr
    return float(eval(expr, {"__builtins__": {}}, {"max": max}))


def _sheet(path: Path) -> tuple[dict[str, str], dict[str, float]]:
    """(label by cell of column B, value by cell) of a calculator: formulas evaluated in row
    order (each refers to rows above it)."""
    import openpyxl

    book = openpyxl.load_workbook(path, data_only=False)
    sheet = book.worksheets[0]
    labels: dict[str, str] = {}
    values: dict[str, float] = {}
    for row in sheet.iter_rows(min_row=1):
        label, cell = row[0].value, row[1] if len(row) > 1 else None
        if cell is None or cell.value is None:
            continue
        labels[cell.coordinate] = str(label)
        raw = cell.value
        values[cell.coordinate] = (
            _evaluate(raw, values) if isinstance(raw, str) and raw.startswith("=") else float(raw)
        )
    return labels, values


def test_calculators_are_workbooks_that_compute(demo_assets):
    calculators = demo_assets[demo_assets["type"].str.endswith("calculator")]
    assert len(calculators) >= 60
    figures: dict[str, list[float]] = {}
    for row in calculators.itertuples():
        assert row.document and row.document.endswith(".xlsx"), row.asset_id
        labels, values = _sheet(DEMO_DIR / row.document)
        by_label = {labels[c].split(",")[0]: v for c, v in values.items()}
        inputs = [v for c, v in values.items() if not isinstance(v, str)]
        assert len(labels) >= 7, row.asset_id
        if row.type == "roi_calculator":
            invest, savings, running, years = (values[f"B{r}"] for r in (4, 5, 6, 7))
            net = (savings - running) * years - invest
            outputs = [values["B10"], values["B11"], values["B12"]]
            assert outputs == pytest.approx(
                [net, net / invest, invest / ((savings - running) / 12)]
            )
            assert outputs[1] > 0 and 1 <= outputs[2] <= 60, (row.asset_id, outputs)
        elif row.type == "tco_calculator":
            cur, cur_y, new, new_y, years = (values[f"B{r}"] for r in range(4, 9))
            tco_cur, tco_new = cur + cur_y * years, new + new_y * years
            assert [values[f"B{r}"] for r in range(11, 15)] == pytest.approx(
                [tco_cur, tco_new, tco_cur - tco_new, (tco_cur - tco_new) / tco_cur]
            )
            assert tco_new < tco_cur, row.asset_id
        else:
            total = values[max(values, key=lambda c: int(c[1:]))]
            parts = [values[f"B{r}"] for r in range(14, 17)]
            assert total == pytest.approx(sum(parts)) and min(parts) > 0
        figures.setdefault(row.family_id or row.asset_id, []).append(tuple(inputs))
        assert by_label  # labels read back
    # the translations of one calculator hold the same figures
    assert all(len(set(f)) == 1 for f in figures.values())
    assert any(len(f) > 1 for f in figures.values())


def test_presentations_are_decks_with_speaker_notes(demo_assets):
    from pptx import Presentation

    decks = demo_assets[demo_assets["type"] == "presentation"]
    assert len(decks) >= 20
    for row in decks.itertuples():
        assert row.document and row.document.endswith(".pptx"), row.asset_id
        deck = Presentation(str(DEMO_DIR / row.document))
        slides = list(deck.slides)
        assert slides[0].shapes.title.text == row.title
        assert len(slides) >= 5
        assert sum(1 for s in slides if s.has_notes_slide) >= 4
        assert deck.core_properties.language == row.language


def test_families_are_translations_with_some_languages_missing(demo_assets):
    families = demo_assets[demo_assets["family_id"].notna()].groupby("family_id")
    assert families.ngroups >= 60
    sizes = families.size()
    assert set(sizes) == {2, 3}  # complete families, and families that lack a language
    for name, members in families:
        assert members["language"].is_unique, name
        for column in ("type", "products", "stages", "industries", "published_at"):
            assert members[column].map(repr).nunique() == 1, (name, column)
        # each in its own language (a Ukrainian and a Russian title may read the same)
        assert members["summary"].is_unique, name
    assert demo_assets.loc[demo_assets["family_id"].isna(), "asset_id"].str.len().gt(0).all()


def test_the_ukrainian_faq_is_a_verbatim_white_paper(demo_assets):
    row = demo_assets[demo_assets["document"] == f"documents/{demo_content.FAQ_FILE}"]
    assert len(row) == 1
    assert row.iloc[0]["type"] == "white_paper" and row.iloc[0]["language"] == "uk"
    text = (DEMO_DIR / "documents" / demo_content.FAQ_FILE).read_bytes()
    assert text.decode("utf-8").startswith("Розвиток партнерів - FAQ")
    # the source the copy was made from, when the checkout sits beside the project's shared/
    source = PROJECT_ROOT.parent / "shared" / "domain" / demo_content.FAQ_FILE
    if source.is_file():
        assert text == source.read_bytes()
    meta = json.loads((DEMO_DIR / "documents" / "partner-enablement-faq.uk.meta.json").read_text())
    assert meta["asset_id"] == row.iloc[0]["asset_id"]


def test_binary_and_markup_documents_carry_their_text(demo_assets):
    import docx
    import frontmatter
    from pypdf import PdfReader

    docs = demo_assets[demo_assets["document"].notna()].set_index("document")
    for rel, row in docs.iterrows():
        path = DEMO_DIR / rel
        first_words = " ".join(row["summary"].split()[:4])
        if path.suffix == ".pdf":
            text = " ".join(p.extract_text() for p in PdfReader(path).pages)
            assert first_words in " ".join(text.split()), path
        elif path.suffix == ".docx":
            text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
            assert first_words in text, path
        elif path.suffix == ".md":
            post = frontmatter.load(str(path))
            assert post.metadata["asset_id"] == row["asset_id"]
            assert post.metadata["language"] == row["language"]
            assert first_words in post.content
        elif path.suffix == ".html":
            html = path.read_text("utf-8")
            assert f'<meta name="asset:asset_id" content="{row["asset_id"]}">' in html


def test_demo_partners_meet_the_counts(demo_partners):
    p = demo_partners
    assert len(p) >= 150
    assert p["partner_id"].is_unique and p["name"].is_unique
    assert set(p["maturity"]) == {m.value for m in Maturity}
    assert set(p["tier"]) == {"registered", "silver", "gold", "platinum"}
    # Tier follows maturity loosely: rank correlation clearly positive, not perfect.
    m = p["maturity"].map(lambda v: rank(Maturity(v)))
    t = p["tier"].map({"registered": 0, "silver": 1, "gold": 2, "platinum": 3})
    assert 0.5 < m.corr(t, method="spearman") < 0.99
    assert p["languages"].map(lambda ls: "uk" in ls).mean() > 0.3
    assert p["name"].str.contains("[А-Яа-яІіЇї]").any()  # Ukrainian names
    assert p["name"].str.contains("Sp. z o.o.").any()  # Polish names


def test_committed_demo_data_is_what_the_builder_writes():
    """Re-running demo_content reproduces the committed tables byte for byte, and every
    planned document is there."""
    tables = demo_content.render_tables()
    for name, text in tables.items():
        assert text.encode("utf-8") == (DEMO_DIR / name).read_bytes(), name
    rows = [json.loads(line) for line in tables["assets.jsonl"].splitlines()]
    planned = {Path(r["document"]).name for r in rows if r["document"]}
    committed = {p.name for p in (DEMO_DIR / "documents").iterdir() if ".meta." not in p.name}
    assert planned == committed


# What `write_demo` does not write: the playbook and the phrase tables the builders read.
NOT_WRITTEN = ("playbook.yaml", "phrases")
REGENERATE = (
    "the committed demo data is not what the builder writes: after editing the phrase "
    "tables or the builders on purpose, run `python -m demo.content` and commit the result"
)


def _document_content(path: Path) -> object:
    """What a PDF or DOCX says (text and metadata), without the bytes a library version of
    matplotlib or python-docx may change."""
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        reader = PdfReader(path)
        return dict(reader.metadata or {}), [page.extract_text() for page in reader.pages]
    import docx

    doc = docx.Document(str(path))
    props = doc.core_properties
    meta = (props.title, props.subject, props.language, props.keywords, props.author)
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    return meta, [(p.style.name, p.text) for p in doc.paragraphs], tables


def test_committed_demo_data_equals_a_fresh_write_demo(tmp_path):
    """Every file write_demo writes is committed as written: tables and text documents byte
    for byte, PDF and DOCX by their text and metadata; nothing else is committed."""
    counts = demo_content.write_demo(
        tmp_path, faq_source=DEMO_DIR / "documents" / demo_content.FAQ_FILE
    )
    assert counts["documents"] >= 20

    def files(root: Path) -> list[Path]:
        return sorted(
            p.relative_to(root)
            for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).parts[0] not in NOT_WRITTEN
        )

    assert files(DEMO_DIR) == files(tmp_path), REGENERATE
    for rel in files(tmp_path):
        fresh, committed = tmp_path / rel, DEMO_DIR / rel
        if rel.suffix in (".pdf", ".docx"):
            assert _document_content(committed) == _document_content(fresh), (rel, REGENERATE)
        else:
            assert committed.read_bytes() == fresh.read_bytes(), (rel, REGENERATE)


def test_builders_are_deterministic():
    assert demo_content.build_assets(30, seed=5) == demo_content.build_assets(30, seed=5)
    assert demo_content.build_assets(30, seed=5) != demo_content.build_assets(30, seed=6)
    assert demo_content.build_partners(30, seed=5) == demo_content.build_partners(30, seed=5)


def test_demo_data_is_the_packages_own_data_and_the_checkouts_data_demo_links_to_it():
    assert Path(demo.__file__).resolve().parent / "data" == DEMO_DIR
    assert (DEMO_DIR / "assets.jsonl").is_file() and (DEMO_DIR / "partners.csv").is_file()
    assert (PROJECT_ROOT / "data" / "demo").resolve() == DEMO_DIR.resolve()


def _document_text(path: Path) -> str:
    """The text of a demo document (DOCX paragraphs, PDF pages, or the file itself)."""
    if path.suffix == ".docx":
        import docx

        return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in PdfReader(path).pages)
    if path.suffix == ".html":
        import html

        return html.unescape(path.read_text("utf-8"))
    return path.read_text("utf-8")


def _documents_of(demo_assets: pd.DataFrame, asset_type: str) -> list[tuple[str, str]]:
    """(language, text) of the documents of the assets of one type."""
    rows = demo_assets[(demo_assets["type"] == asset_type) & demo_assets["document"].notna()]
    return [(r.language, _document_text(DEMO_DIR / r.document)) for r in rows.itertuples()]


def test_a_reference_architecture_document_names_its_components(demo_assets):
    """Issue 16: a reference architecture lists its components, what each does, and the path
    the data takes between them."""
    documents = _documents_of(demo_assets, "reference_architecture")
    assert {lang for lang, _ in documents} >= {"uk", "en"}
    components = table("documents")["components"]
    for lang, text in documents:
        named = [c for c in components.values() if f"{c['name'][lang]} — " in text]
        assert len(named) >= 4, (lang, text[:300])
        assert text.count(" → ") >= 3, lang  # the data path joins them


def test_an_faq_document_has_its_questions_and_answers(demo_assets):
    """Issue 16: an FAQ holds questions, each followed by its answer, as many as it promises."""
    documents = _documents_of(demo_assets, "faq")
    assert {lang for lang, _ in documents} >= {"en", "ru"}
    for lang, text in documents:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        questions = [i for i, line in enumerate(lines) if line.endswith("?")]
        assert len(questions) >= 10, (lang, lines[:5])
        assert all(not lines[i + 1].endswith("?") for i in questions), lang  # answered
    promised = {"uk": "дванадцять запитань", "ru": "двенадцать вопросов", "en": "twelve questions"}
    for lang, text in documents:
        if promised[lang] in text:
            lines = [line.strip() for line in text.splitlines()]
            assert sum(line.endswith("?") for line in lines) >= 12, lang


@pytest.mark.parametrize(
    ("asset_type", "headings"),
    [
        ("battlecard", ("strengths", "weaknesses", "objections")),
        ("case_study", ("challenge", "solution", "results")),
        ("datasheet", ("specifications",)),
        ("playbook", ("steps",)),
    ],
    ids=["battlecard", "case-study", "datasheet", "playbook"],
)
def test_a_document_has_the_sections_of_its_type(demo_assets, asset_type, headings):
    words = table("documents")["headings"]
    documents = _documents_of(demo_assets, asset_type)
    assert documents
    for lang, text in documents:
        for key in headings:
            assert words[key][lang] in text, (asset_type, lang, key)
