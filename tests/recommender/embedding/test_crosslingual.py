"""Cross-lingual retrieval with the default embedder: a query in one of Ukrainian, Russian or
English must find its asset written in another of them (issue: top-1 accuracy >= 0.8)."""

import json

import numpy as np
import pytest

from recommender.embedding.embedders import get_embedder
from recommender.embedding.index import VectorIndex
from tests.support import PROJECT_ROOT

PAIRS = [
    json.loads(line)
    for line in (PROJECT_ROOT / "data" / "eval" / "crosslingual.jsonl").read_text().splitlines()
    if line.strip()
]


def test_the_set_is_really_cross_lingual():
    assert len(PAIRS) >= 20
    assert all(p["asset_lang"] != p["query_lang"] for p in PAIRS)
    langs = {(p["asset_lang"], p["query_lang"]) for p in PAIRS}
    assert {
        ("en", "uk"),
        ("uk", "en"),
        ("en", "ru"),
        ("ru", "en"),
        ("uk", "ru"),
        ("ru", "uk"),
    } <= langs


@pytest.mark.slow
def test_top1_accuracy_of_default_embedder_through_the_index():
    embedder = get_embedder("e5")
    vectors = embedder.embed_passages([p["asset"] for p in PAIRS])
    index = VectorIndex.build(vectors, [p["id"] for p in PAIRS], embedder_id=embedder.id)
    queries = embedder.embed_queries([p["query"] for p in PAIRS])
    hits = [
        index.search_assets(q, 1).asset_ids[0] == p["id"]
        for q, p in zip(queries, PAIRS, strict=True)
    ]
    accuracy = float(np.mean(hits))
    print(f"cross-lingual top-1 accuracy: {accuracy:.3f} over {len(PAIRS)} pairs")
    assert accuracy >= 0.8
