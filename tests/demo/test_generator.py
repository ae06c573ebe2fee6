"""The demo data and the seeded generator: counts the issue promises, determinism, contracts,
and the behaviours evaluation relies on (position bias, utility -> opens, cold start)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import demo
from demo import content as demo_content
from demo.generator import (
    DEMO_DIR,
    GeneratedData,
    GeneratorConfig,
    asset_quality,
    generate,
    load_demo_assets,
    load_demo_partners,
    true_utility,
    true_utility_pairs,
    truth_parameters,
    write_generated,
)
from features import ASSETS, DEALS, EVENTS, PARTNERS, AssetType, Maturity, Stage, validate_table
from features.schema import rank
from tests.support import PROJECT_ROOT

SMALL = GeneratorConfig(seed=11, n_deals=400, n_events=30_000)
TEXT_KINDS = ("str", "text")


@pytest.fixture(scope="module")
def demo_assets() -> pd.DataFrame:
    return load_demo_assets()


@pytest.fixture(scope="module")
def demo_partners() -> pd.DataFrame:
    return load_demo_partners()


@pytest.fixture(scope="module")
def small() -> GeneratedData:
    return generate(SMALL)


def _impressions_with_opens(data: GeneratedData) -> pd.DataFrame:
    """Impressions, each with `opened` = 1 if the same request led to an open of that asset."""
    ev = data.events
    imp = ev[ev["type"] == "impression"]
    opens = ev[(ev["type"] == "open") & ev["request_id"].notna()][["request_id", "asset_id"]]
    opens = opens.drop_duplicates().assign(opened=1)
    out = imp.merge(opens, on=["request_id", "asset_id"], how="left")
    out["opened"] = out["opened"].fillna(0).astype(int)
    return out


def _pair_utilities(data: GeneratedData, rows: pd.DataFrame) -> np.ndarray:
    """True utility of (deal at the event's stage, asset) for event rows."""
    deals = data.deals.set_index("deal_id").loc[rows["deal_id"]].reset_index()
    deals["stage"] = rows["stage"].to_numpy()
    assets = data.assets.set_index("asset_id").loc[rows["asset_id"]].reset_index()
    return true_utility_pairs(deals, assets, data.partners, data.config)


# --- the committed demo catalog ---------------------------------------------------------------


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
    # ... and an asset written for one industry talks about that industry's problems.
    for _, row in demo_assets[demo_assets["industries"].map(len) == 1].iterrows():
        pains = demo_content.INDUSTRIES[row["industries"][0]][row["language"]]["pains"]
        assert any(pain in row["summary"] for pain in pains), row["asset_id"]


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
    assert total < 3 * 1024 * 1024
    for path in paths:
        if path.suffix in (".txt", ".docx", ".pdf"):
            sidecars = list(path.parent.glob(f"{path.stem}.meta.*"))
            assert len(sidecars) == 1, path
            if sidecars[0].suffix == ".json":
                meta = json.loads(sidecars[0].read_text("utf-8"))
                row = with_doc[with_doc["document"] == f"documents/{path.name}"].iloc[0]
                assert meta["asset_id"] == row["asset_id"] and meta["type"] == row["type"]


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


# --- the generator ------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames_and_another_seed_does_not(small):
    again = generate(SMALL)
    for name in ("assets", "partners", "deals", "events"):
        pd.testing.assert_frame_equal(getattr(small, name), getattr(again, name), check_like=False)
    other = generate(GeneratorConfig(seed=12, n_deals=400, n_events=30_000))
    assert not small.deals["partner_id"].equals(other.deals["partner_id"])
    assert len(small.events) != len(other.events) or not small.events["asset_id"].equals(
        other.events["asset_id"]
    )


@pytest.mark.parametrize(
    "config",
    [SMALL, GeneratorConfig(seed=3, n_assets=150, n_partners=40, n_deals=150, n_events=8_000)],
    ids=["demo-catalog", "synthesized"],
)
def test_every_generated_table_passes_its_contract(config, small):
    data = small if config == SMALL else generate(config)
    for name, contract in (
        ("assets", ASSETS),
        ("partners", PARTNERS),
        ("deals", DEALS),
        ("events", EVENTS),
    ):
        validate_table(getattr(data, name), contract, source=name)
    ev = data.events
    assert ev["event_id"].is_unique
    assert ev["ts"].is_monotonic_increasing
    assert set(ev["type"]) == {
        "impression",
        "open",
        "download",
        "share",
        "feedback",
        "deal_outcome",
    }
    imp = ev[ev["type"] == "impression"]
    assert imp[["request_id", "position", "asset_id"]].notna().all().all()
    per_request = imp.groupby("request_id")["position"].agg(["min", "max", "count", "nunique"])
    assert (per_request["min"] == 0).all()
    assert (per_request["count"] == per_request["nunique"]).all()
    assert (per_request["count"] <= config.impressions_per_request).all()
    outcomes = ev[ev["type"] == "deal_outcome"]
    assert outcomes["deal_id"].is_unique and outcomes["amount"].gt(0).all()
    assert ev.loc[ev["type"] == "feedback", "value"].isin([-1.0, 1.0]).all()
    deals = data.deals
    assert deals.loc[deals["language"] == "uk", "notes"].str.contains("[іїєґ]").all()
    assert deals.loc[deals["language"] == "en", "notes"].str.contains("[A-Za-z]").all()
    joined = deals.merge(data.partners[["partner_id", "joined_at"]], on="partner_id")
    assert (joined["joined_at"].isna() | (joined["created_at"] >= joined["joined_at"])).all()


def test_synthesized_catalog_has_the_demo_distributions():
    data = generate(GeneratorConfig(seed=4, n_assets=400, n_partners=60, n_deals=50, n_events=0))
    assert len(data.assets) == 400 and len(data.partners) == 60
    assert data.assets["language"].eq("uk").mean() >= 0.30
    assert data.assets["type"].nunique() == 16
    assert data.assets["summary"].map(lambda s: len(s.split())).between(40, 150).all()


def test_event_count_is_near_the_target(small):
    assert 0.8 * SMALL.n_events < len(small.events) < 1.25 * SMALL.n_events


def test_position_bias_is_visible(small):
    ctr = _impressions_with_opens(small).groupby("position")["opened"].mean()
    assert ctr[0] > 2 * ctr[9]


def test_higher_utility_assets_get_more_opens(small):
    imp = _impressions_with_opens(small)
    u = _pair_utilities(small, imp)
    opened = imp["opened"].to_numpy() == 1
    assert u[opened].mean() > u[~opened].mean() + 0.5
    # Same examination probability: compare utility deciles at one position.
    at0 = imp["position"].to_numpy() == 0
    low, high = np.quantile(u[at0], [0.2, 0.8])
    assert opened[at0 & (u >= high)].mean() > 2 * opened[at0 & (u <= low)].mean()


def test_cold_start_assets_have_no_events_before_publication(small):
    ev = small.events.dropna(subset=["asset_id"]).merge(
        small.assets[["asset_id", "published_at", "expires_at"]], on="asset_id"
    )
    assert (ev["ts"] >= ev["published_at"]).all()
    shown = ev[ev["type"] == "impression"]
    assert (shown["expires_at"].isna() | (shown["ts"] < shown["expires_at"])).all()
    start = pd.Timestamp(SMALL.start)
    cold_from = start + pd.Timedelta(days=0.8 * SMALL.days)
    cold = small.assets["published_at"].between(cold_from, start + pd.Timedelta(days=SMALL.days))
    cold_ids = set(small.assets.loc[cold, "asset_id"])
    assert cold_ids and ev["asset_id"].isin(cold_ids).any()
    # Drafts are never shown.
    drafts = set(small.assets.loc[small.assets["status"] == "draft", "asset_id"])
    assert not shown["asset_id"].isin(drafts).any()


def test_winning_deals_shared_more_useful_content(small):
    ev = small.events
    outcome = ev[ev["type"] == "deal_outcome"].set_index("deal_id")["outcome"]
    shares = ev[(ev["type"] == "share") & ev["deal_id"].isin(outcome.index)]
    u = pd.Series(_pair_utilities(small, shares), index=shares["deal_id"].to_numpy())
    per_deal = u.groupby(level=0).mean()
    by_outcome = per_deal.groupby(outcome.reindex(per_deal.index)).mean()
    assert by_outcome["won"] > by_outcome["lost"]


def test_alt_variant_has_a_different_truth(small):
    alt = GeneratorConfig(seed=SMALL.seed, variant="alt")
    u_default = true_utility(small.deals, small.assets, small.partners, SMALL)
    u_alt = true_utility(small.deals, small.assets, small.partners, alt)
    assert u_default.shape == u_alt.shape == (len(small.deals), len(small.assets))
    assert np.corrcoef(u_default.ravel(), u_alt.ravel())[0, 1] < 0.8
    # The best asset for a deal differs for most deals.
    assert (u_default.argmax(axis=1) != u_alt.argmax(axis=1)).mean() > 0.5
    t_def, t_alt = truth_parameters(SMALL), truth_parameters(alt)
    assert t_def["weights"] != t_alt["weights"]
    best = {
        s: max(t_def["stage_type_affinity"][s], key=t_def["stage_type_affinity"][s].get)
        for s in t_def["stage_type_affinity"]
    }
    best_alt = {
        s: max(t_alt["stage_type_affinity"][s], key=t_alt["stage_type_affinity"][s].get)
        for s in t_alt["stage_type_affinity"]
    }
    assert sum(best[s] != best_alt[s] for s in best) >= 5


def test_truth_is_deterministic_and_pairs_agree_with_the_matrix(small):
    u = true_utility(small.deals, small.assets, small.partners, SMALL)
    assert np.array_equal(u, true_utility(small.deals, small.assets, small.partners, SMALL))
    rng = np.random.default_rng(0)
    di = rng.integers(0, len(small.deals), 200)
    ai = rng.integers(0, len(small.assets), 200)
    pairs = true_utility_pairs(
        small.deals.iloc[di].reset_index(drop=True),
        small.assets.iloc[ai].reset_index(drop=True),
        small.partners,
        SMALL,
    )
    np.testing.assert_allclose(pairs, u[di, ai])
    # Latent quality depends on (seed, asset id) only, not on the catalog around the asset.
    q = asset_quality(small.assets["asset_id"], SMALL)
    assert np.allclose(q[:5], asset_quality(small.assets["asset_id"][:5], SMALL))
    assert not np.allclose(q, asset_quality(small.assets["asset_id"], GeneratorConfig(seed=99)))


def test_affinity_override_changes_exactly_that_cell(small):
    deals = small.deals.assign(stage="negotiation")
    custom = GeneratorConfig(
        seed=SMALL.seed, stage_type_affinity={"negotiation": {"battlecard": 0.0}}
    )
    diff = true_utility(deals, small.assets, small.partners, SMALL) - true_utility(
        deals, small.assets, small.partners, custom
    )
    is_battle = (small.assets["type"] == "battlecard").to_numpy()
    w_stage = truth_parameters(SMALL)["weights"]["w_stage"]
    np.testing.assert_allclose(diff[:, is_battle], w_stage * 1.0)
    np.testing.assert_allclose(diff[:, ~is_battle], 0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"variant": "fancy"}, "variant='fancy' is unknown"),
        ({"stage_type_affinity": {"negotiaton": {"battlecard": 1.0}}}, "is not a deal stage"),
        ({"stage_type_affinity": {"closing": {"brochure": 1.0}}}, "is not an asset type"),
        ({"n_deals": 0}, "n_deals=0"),
        ({"start": "someday"}, "is not a date"),
    ],
    ids=["variant", "stage", "type", "deals", "start"],
)
def test_bad_configs_are_refused_with_the_reason(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GeneratorConfig(**kwargs)


def test_write_generated_round_trips(small, tmp_path):
    paths = write_generated(small, tmp_path / "gen")
    assert set(paths) == {"deals", "events", "partners", "assets", "ground_truth"}
    events = pd.read_parquet(paths["events"])
    validate_table(events, EVENTS, source=str(paths["events"]))
    validate_table(pd.read_parquet(paths["deals"]), DEALS, source=str(paths["deals"]))
    validate_table(pd.read_parquet(paths["assets"]), ASSETS, source=str(paths["assets"]))
    truth = json.loads(paths["ground_truth"].read_text("utf-8"))
    assert truth["config"]["seed"] == SMALL.seed
    assert truth["truth"]["stage_type_affinity"]["negotiation"]["battlecard"] == 1.0
    assert len(truth["asset_quality"]) == len(small.assets)
    # The truth can be rebuilt from the written files alone.
    again = true_utility(
        pd.read_parquet(paths["deals"]).head(20),
        pd.read_parquet(paths["assets"]),
        pd.read_parquet(paths["partners"]),
        GeneratorConfig(**{k: v for k, v in truth["config"].items()}),
    )
    np.testing.assert_allclose(
        again, true_utility(small.deals.head(20), small.assets, small.partners, SMALL)
    )


@pytest.mark.slow
def test_a_million_events_well_under_a_minute():
    started = time.perf_counter()
    data = generate(GeneratorConfig(n_deals=10_000, n_events=1_000_000))
    assert time.perf_counter() - started < 45
    assert len(data.events) > 900_000


def test_demo_data_is_the_packages_own_data_and_the_checkouts_data_demo_links_to_it():
    assert Path(demo.__file__).resolve().parent / "data" == DEMO_DIR
    assert (DEMO_DIR / "assets.jsonl").is_file() and (DEMO_DIR / "partners.csv").is_file()
    assert (PROJECT_ROOT / "data" / "demo").resolve() == DEMO_DIR.resolve()
