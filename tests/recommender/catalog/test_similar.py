"""Near-duplicates and proposed families found at ingestion, with the real embedder: the
resemblance against scikit-learn's n-gram counts, the pairs a catalog with translations and an
edited copy gives, incremental re-ingestion, deletion, and what `recommender ingest` prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from recommender.catalog.ingest import delete_assets, ingest
from recommender.catalog.similar import (
    FAMILY_PROPOSAL,
    NEAR_DUPLICATE,
    SimilarityOptions,
    read_similar,
    resemblance,
    shingles,
)
from recommender.workspace import Workspace
from tests.family_catalog import CASES, DATASHEET, DATASHEET_COPY, family_rows


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def reference_resemblance(a: str, b: str) -> float:
    """Jaccard of the 5-word shingle sets by scikit-learn's n-gram analyser."""
    vec = CountVectorizer(ngram_range=(5, 5), token_pattern=r"(?u)\b\w+\b", binary=True)
    counts = vec.fit_transform([a, b]).toarray().astype(bool)
    return float((counts[0] & counts[1]).sum() / (counts[0] | counts[1]).sum())


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (DATASHEET, DATASHEET_COPY),
        (DATASHEET, DATASHEET[: len(DATASHEET) // 2]),
        (CASES["bank"]["en"], CASES["hospital"]["en"]),
        ("Один два три чотири п'ять шість", "один два три чотири п'ять сім"),
    ],
)
def test_resemblance_is_the_jaccard_of_word_shingles(a: str, b: str) -> None:
    assert resemblance(shingles(a), shingles(b)) == pytest.approx(reference_resemblance(a, b))


def test_short_and_empty_texts() -> None:
    assert resemblance(shingles("one two"), shingles("One two")) == 1.0
    assert resemblance(shingles(""), shingles("one two")) == 0.0


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory, e5_embedder: Any) -> tuple[Workspace, Any]:
    root = tmp_path_factory.mktemp("similar")
    ws = Workspace.at(root / "ws")
    report = ingest(ws, [write_rows(root / "assets.jsonl", family_rows())], embedder=e5_embedder,
                    progress=False)  # fmt: skip
    return ws, report


def test_the_edited_copy_is_the_only_near_duplicate(catalog: tuple[Workspace, Any]) -> None:
    ws, report = catalog
    dups = report.near_duplicates
    assert list(zip(dups["asset_a"], dups["asset_b"], strict=True)) == [
        ("gateway-datasheet", "gateway-datasheet-v2")
    ]
    # the score is the resemblance of the two assets' texts (title, summary and body)
    assert dups["score"][0] == pytest.approx(
        reference_resemblance(
            "Stratosfera Edge Gateway datasheet The industrial gateway's specifications in "
            f"one page. {DATASHEET}",
            "Stratosfera Edge Gateway datasheet The industrial gateway's specifications in "
            f"one page. {DATASHEET_COPY}",
        ),
        abs=0.03,  # chunk overlap repeats no shingle, but the title line joins differently
    )
    assert dups["cosine"][0] > 0.99
    stored = read_similar(ws.similar_path)
    assert stored.equals(report.similar)


def test_translations_are_proposed_as_families_when_no_family_id_says_so(
    tmp_path: Path, e5_embedder: Any
) -> None:
    rows = [{k: v for k, v in r.items() if k != "family_id"} for r in family_rows()]
    ws = Workspace.at(tmp_path / "ws")
    report = ingest(ws, [write_rows(tmp_path / "a.jsonl", rows)], embedder=e5_embedder,
                    progress=False)  # fmt: skip
    proposed = set(zip(report.family_proposals["asset_a"], report.family_proposals["asset_b"],
                       strict=True))  # fmt: skip
    translations = {
        tuple(sorted((f"case-{topic}-{a}", f"case-{topic}-{b}")))
        for topic in CASES
        for a, b in (("en", "uk"), ("en", "ru"), ("uk", "ru"))
    }
    # every proposal is a true translation, and most translations are found
    assert proposed <= translations, proposed - translations
    assert len(proposed) >= 7, proposed
    assert (report.family_proposals["score"] >= SimilarityOptions().family_margin).all()
    # nothing is a near-duplicate of its translation
    assert set(report.near_duplicates["asset_a"]) == {"gateway-datasheet"}


def test_assets_already_in_one_family_are_not_proposed(catalog: tuple[Workspace, Any]) -> None:
    _, report = catalog
    family = {r["asset_id"]: r.get("family_id") for r in family_rows()}
    for a, b in zip(report.family_proposals["asset_a"], report.family_proposals["asset_b"],
                    strict=True):  # fmt: skip
        assert family[a] is None or family[a] != family[b]


def test_reingesting_one_asset_keeps_the_other_pairs_and_deleting_drops_its_own(
    tmp_path: Path, e5_embedder: Any
) -> None:
    rows = family_rows()
    ws = Workspace.at(tmp_path / "ws")
    ingest(ws, [write_rows(tmp_path / "a.jsonl", rows)], embedder=e5_embedder, progress=False)
    # the copy stops being one: its body is rewritten
    changed = dict(next(r for r in rows if r["asset_id"] == "gateway-datasheet-v2"))
    changed["body"] = CASES["retail"]["en"] * 3
    report = ingest(ws, [write_rows(tmp_path / "b.jsonl", [changed])], embedder=e5_embedder,
                    progress=False)  # fmt: skip
    assert report.near_duplicates.empty
    # and becomes one again; an unrelated upsert keeps the pair
    again = dict(changed, body=DATASHEET)
    ingest(ws, [write_rows(tmp_path / "c.jsonl", [again])], embedder=e5_embedder, progress=False)
    other = dict(next(r for r in rows if r["asset_id"] == "roi-storage"), summary="Storage ROI.")
    report = ingest(ws, [write_rows(tmp_path / "d.jsonl", [other])], embedder=e5_embedder,
                    progress=False)  # fmt: skip
    assert report.near_duplicates[["asset_a", "asset_b"]].values.tolist() == [
        ["gateway-datasheet", "gateway-datasheet-v2"]
    ]
    assert delete_assets(ws, ["gateway-datasheet"]) == 1
    assert read_similar(ws.similar_path)[lambda f: f["kind"] == NEAR_DUPLICATE].empty


def test_a_stricter_threshold_finds_fewer_pairs(tmp_path: Path, e5_embedder: Any) -> None:
    ws = Workspace.at(tmp_path / "ws")
    report = ingest(ws, [write_rows(tmp_path / "a.jsonl", family_rows())], embedder=e5_embedder,
                    progress=False, similarity=SimilarityOptions(near_duplicate=0.99))  # fmt: skip
    assert report.near_duplicates.empty
    assert (report.similar["kind"] == FAMILY_PROPOSAL).sum() == len(report.similar)
    with pytest.raises(ValueError, match="near-duplicate threshold"):
        SimilarityOptions(near_duplicate=1.5)


def test_a_catalog_written_before_similar_pairs_reads_as_none(tmp_path: Path) -> None:
    frame = read_similar(tmp_path / "missing.parquet")
    assert frame.empty and list(frame.columns) == ["asset_a", "asset_b", "kind", "score", "cosine"]
    assert np.issubdtype(frame["score"].dtype, np.floating)
