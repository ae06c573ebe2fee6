import json

import numpy as np
import pytest

from recommender.embedding.index import IndexMismatchError, VectorIndex


def unit(rng, n, d=32):
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def chunks():
    rng = np.random.default_rng(0)
    # 60 assets, some with several chunks
    ids = [f"A{i % 60:03d}" for i in range(150)]
    return unit(rng, 150), ids


def brute_force(vectors, ids, query, k, allowed=None):
    sims = vectors @ query
    best = {}
    for s, a in zip(sims, ids, strict=True):
        if allowed is not None and a not in allowed:
            continue
        best[a] = max(best.get(a, -9), float(s))
    return sorted(best, key=lambda a: -best[a])[:k]


@pytest.mark.parametrize("threshold", [10**9, 0], ids=["flat", "hnsw"])
def test_asset_search_matches_brute_force(chunks, threshold):
    vectors, ids = chunks
    index = VectorIndex.build(vectors, ids, embedder_id="test", hnsw_threshold=threshold)
    assert index.kind == ("flat" if threshold else "hnsw")
    rng = np.random.default_rng(1)
    for q in unit(rng, 10):
        got = index.search_assets(q, 5).asset_ids
        assert got == brute_force(vectors, ids, q, 5)


@pytest.mark.parametrize("kept", [True, False], ids=["kept per query", "larger index"])
@pytest.mark.parametrize("picked", [3, 20, 59], ids=["few: gathered", "a third", "most: mat-vec"])
def test_similarities_of_some_assets_are_their_best_chunks(chunks, picked, kept, monkeypatch):
    """Every way (every asset's similarity kept per query, gathering the assets' chunks, or one
    pass over all) gives each asset's best chunk, in the order asked, against a per-chunk loop."""
    if not kept:  # an index above the size whose similarities are kept per query
        monkeypatch.setattr("recommender.embedding.index.RANKED_MAX_CHUNKS", 10)
    vectors, ids = chunks
    index = VectorIndex.build(vectors, ids, embedder_id="test")
    rng = np.random.default_rng(2)
    query = unit(rng, 1)[0]
    positions = rng.permutation(len(index.asset_ids))[:picked]
    want = [
        max(float(v @ query) for v, a in zip(vectors, ids, strict=True) if a == asset)
        for asset in index.asset_ids[positions]
    ]
    np.testing.assert_allclose(index.similarities_of(positions, query), want, atol=1e-6)
    assert index.similarities_of(np.array([], dtype=np.int64), query).shape == (0,)
    assert (index._per_query._bytes > 0) == (kept or picked == 59)


@pytest.mark.parametrize("threshold", [10**9, 0], ids=["flat", "hnsw"])
def test_filtered_search_still_returns_k(chunks, threshold):
    vectors, ids = chunks
    index = VectorIndex.build(vectors, ids, embedder_id="test", hnsw_threshold=threshold)
    allowed_ids = {f"A{i:03d}" for i in range(0, 60, 6)}  # 10 of 60 assets
    mask = index.asset_mask(allowed_ids)
    q = unit(np.random.default_rng(2), 1)[0]
    hits = index.search_assets(q, 8, allowed=mask)
    assert len(hits.asset_ids) == 8
    assert set(hits.asset_ids) <= allowed_ids
    assert hits.asset_ids == brute_force(vectors, ids, q, 8, allowed_ids)
    assert list(hits.scores) == sorted(hits.scores, reverse=True)


@pytest.mark.parametrize("threshold", [10**9, 0], ids=["flat", "hnsw"])
def test_search_widens_when_one_asset_holds_the_best_chunks(threshold):
    """50 chunks of one asset next to the query fill the first fetch: the search widens until
    it has k assets, each scored by its best chunk, in score order."""
    rng = np.random.default_rng(5)
    query = unit(rng, 1)[0]
    near = query + 0.05 * unit(rng, 50)
    vectors = np.vstack([near / np.linalg.norm(near, axis=1, keepdims=True), unit(rng, 100)])
    ids = ["Z"] * 50 + [f"A{i % 40:03d}" for i in range(100)]
    index = VectorIndex.build(vectors, ids, embedder_id="test", hnsw_threshold=threshold)
    hits = index.search_assets(query, 3)
    assert hits.asset_ids == brute_force(vectors, ids, query, 3)
    assert hits.asset_ids[0] == "Z" and all(isinstance(a, str) for a in hits.asset_ids)
    best = {a: max(float(v @ query) for v, b in zip(vectors, ids, strict=True) if b == a)
            for a in hits.asset_ids}  # fmt: skip
    np.testing.assert_allclose(hits.scores, [best[a] for a in hits.asset_ids], atol=1e-5)
    assert hits.scores.dtype == np.float32


def test_save_load_round_trip(tmp_path, chunks):
    vectors, ids = chunks
    index = VectorIndex.build(vectors, ids, embedder_id="e5-test")
    manifest = index.save(tmp_path / "ix")
    assert manifest["count"] == 150 and manifest["assets"] == 60 and manifest["dim"] == 32
    loaded = VectorIndex.load(tmp_path / "ix", embedder_id="e5-test", dim=32)
    q = vectors[7]
    assert loaded.search_assets(q, 3).asset_ids == index.search_assets(q, 3).asset_ids


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (
            lambda d: (d / "index.faiss").write_bytes((d / "index.faiss").read_bytes()[:100]),
            "checksum",
        ),
        (lambda d: (d / "chunk_assets.npy").unlink(), "missing"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "manifest.json").unlink(), "missing"),
    ],
    ids=["truncated-index", "missing-ids", "corrupt-manifest", "no-manifest"],
)
def test_damaged_index_is_refused(tmp_path, chunks, damage, match):
    vectors, ids = chunks
    VectorIndex.build(vectors, ids, embedder_id="e5-test").save(tmp_path / "ix")
    damage(tmp_path / "ix")
    with pytest.raises(IndexMismatchError, match=match):
        VectorIndex.load(tmp_path / "ix")


def test_embedder_or_dimension_mismatch_is_refused(tmp_path, chunks):
    vectors, ids = chunks
    VectorIndex.build(vectors, ids, embedder_id="e5-test").save(tmp_path / "ix")
    with pytest.raises(IndexMismatchError, match="built with embedder 'e5-test'"):
        VectorIndex.load(tmp_path / "ix", embedder_id="minilm")
    with pytest.raises(IndexMismatchError, match="dimension 32, the embedder produces 384"):
        VectorIndex.load(tmp_path / "ix", dim=384)
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    manifest["count"] = 3
    (tmp_path / "ix" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="manifest says 3"):
        VectorIndex.load(tmp_path / "ix")


def test_replaced_keeps_the_original(chunks):
    vectors, ids = chunks
    index = VectorIndex.build(vectors, ids, embedder_id="t")
    new = index.replaced({"A000"}, vectors[:1], ["Z999"])
    assert "A000" in index.asset_ids and "A000" not in new.asset_ids and "Z999" in new.asset_ids
    assert new.index.ntotal == index.index.ntotal - 3 + 1


# ---- a note's ranking, kept per query vector ---------------------------------------------------


def _filtered_faiss(index, query, k, allowed):
    """The search inside FAISS with its ID selector: what a flat index of more than
    RANKED_MAX_CHUNKS chunks (and HNSW) runs, and what a small flat index ran before."""
    return index._search_filtered(np.asarray(query, np.float32).reshape(1, -1), k, allowed)


def _same_search(index, queries, rng, ks=(1, 5, 150)):
    for query in queries:
        for k in ks:
            for share in (1.0, 0.5, 0.05, 0.0):
                allowed = rng.random(len(index.asset_ids)) < share
                got = index.search_positions(query, k, allowed=allowed)
                want = _filtered_faiss(index, query, k, allowed)
                np.testing.assert_array_equal(got[0], want[0])  # same assets, same order
                np.testing.assert_array_equal(got[1], want[1])  # bit for bit
            got = index.search_positions(query, k)
            want = _filtered_faiss(index, query, k, None)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


def test_a_small_flat_index_answers_from_the_kept_ranking_as_faiss_filtering_does():
    """Exact ties included: 40 chunks repeat others' vectors (as a translated family's shared
    titles do), and queries are the chunk vectors themselves."""
    rng = np.random.default_rng(7)
    base = unit(rng, 200)
    vectors = np.vstack([base, base[:40]])
    ids = [f"A{i % 90:03d}" for i in range(200)] + [f"B{i:03d}" for i in range(40)]
    index = VectorIndex.build(vectors, ids, embedder_id="test")
    assert index.kind == "flat"
    _same_search(index, [*vectors[:30], *vectors[200:210], *unit(rng, 10)], rng)


def test_the_demo_index_answers_from_the_kept_ranking_as_faiss_filtering_does(demo_workspace):
    """The demo catalog's real e5 chunks (families in three languages): every answer equals
    FAISS's filtered search, for notes like its own chunks and mixtures of them."""
    index = VectorIndex.load(demo_workspace.index_dir)
    vectors = index.vectors()
    rng = np.random.default_rng(8)
    mixed = vectors[rng.integers(0, len(vectors), (20, 3))].sum(axis=1)
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    picked = vectors[rng.choice(len(vectors), 20, replace=False)]
    _same_search(index, [*picked, *mixed], rng)


def test_what_is_kept_per_query_is_bounded_read_only_and_recomputed_after_eviction(chunks):
    vectors, ids = chunks
    index = VectorIndex.build(vectors, ids, embedder_id="test")
    queries = unit(np.random.default_rng(3), 6)
    first = index.ranking(queries[0])
    assert index.ranking(queries[0])[0] is first[0]  # kept
    with pytest.raises(ValueError, match="read-only"):
        first[0][0] = 1
    sims = index.asset_similarities(queries[0])
    assert index.asset_similarities(queries[0]) is sims
    want = np.array([max(float(v @ queries[0]) for v, a in zip(vectors, ids, strict=True)
                     if a == asset) for asset in index.asset_ids])  # fmt: skip
    np.testing.assert_allclose(sims, want, atol=1e-6)
    # room for about two rankings: older ones are dropped, the newest kept
    entry = first[0].nbytes + first[1].nbytes + queries[0].nbytes
    index._per_query.max_bytes = 2 * entry + 10
    for q in queries[1:]:
        index.ranking(q)
    assert index._per_query._bytes <= index._per_query.max_bytes
    assert index.ranking(queries[-1])[0] is index.ranking(queries[-1])[0]
    again = index.ranking(queries[0])  # evicted: computed anew, the same answer
    assert again[0] is not first[0]
    np.testing.assert_array_equal(again[0], first[0])


def test_a_large_flat_index_filters_inside_faiss(chunks, monkeypatch):
    """Above RANKED_MAX_CHUNKS a flat index keeps nothing per query and searches with FAISS's
    selector: the same answers as brute force."""
    monkeypatch.setattr("recommender.embedding.index.RANKED_MAX_CHUNKS", 10)
    vectors, ids = chunks
    index = VectorIndex.build(vectors, ids, embedder_id="test")
    allowed_ids = {f"A{i:03d}" for i in range(0, 60, 4)}
    q = unit(np.random.default_rng(4), 1)[0]
    hits = index.search_assets(q, 7, allowed=index.asset_mask(allowed_ids))
    assert hits.asset_ids == brute_force(vectors, ids, q, 7, allowed_ids)
    assert index._per_query._bytes == 0
