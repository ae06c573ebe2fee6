"""`NoteVectors`: the loop's deal notes, embedded on a background thread while the loop serves.
Whichever thread embeds a note, its vector is the one the embedder gives for it alone."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from demo.generator.portal import NoteVectors
from recommender.embedding.embedders import E5Embedder


class SlowEmbedder:
    """A fake that records which thread embedded what and can be held at a gate: this test is
    about who embeds when, not about embeddings (the e5 case is below)."""

    id = "slow"
    dim = 3

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls: list[tuple[str, list[str]]] = []

    def embed_queries(self, texts):
        if threading.current_thread().name == "note-vectors":
            self.gate.wait(timeout=30)
        self.calls.append((threading.current_thread().name, list(texts)))
        return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)

    def embed_passages(self, texts, *, progress=False):
        return self.embed_queries(texts)


def test_a_note_asked_before_its_turn_is_embedded_by_the_caller_and_kept():
    fake = SlowEmbedder()
    notes = NoteVectors(fake, [f"note {'a' * i}" for i in range(10)] + ["  ", ""], batch_size=4)
    try:
        # the background thread is held before its first batch: the caller embeds
        got = notes.embed_queries(["note aaaaaaa", "new text"])
        assert got.tolist() == [[12.0, 7.0, 1.0], [8.0, 0.0, 1.0]]
        assert fake.calls == [("MainThread", ["note aaaaaaa", "new text"])]
        fake.gate.set()
        assert notes._thread is not None
        notes._thread.join(timeout=30)  # it ends by itself once every note is embedded
        assert not notes._thread.is_alive()
    finally:
        notes.close()
    # the thread went on in order and skipped what the caller had embedded (texts stripped)
    background = [texts for name, texts in fake.calls if name == "note-vectors"]
    assert [t for part in background for t in part] == [
        f"note {'a' * i}".strip() for i in range(10) if i != 7
    ]
    again = notes.embed_queries(["note aaaaaaa", "note a"])
    assert again.tolist() == [[12.0, 7.0, 1.0], [6.0, 1.0, 1.0]]
    assert len(fake.calls) == 1 + len(background)  # nothing embedded twice
    assert notes.embed_queries([]).shape == (0, 3)


def test_close_stops_the_thread_after_its_batch():
    fake = SlowEmbedder()
    notes = NoteVectors(fake, [f"n{i}" for i in range(100)], batch_size=10)
    notes._stop.set()
    fake.gate.set()
    notes.close()
    assert notes._thread is not None and not notes._thread.is_alive()
    assert len([c for c in fake.calls if c[0] == "note-vectors"]) <= 1


def test_e5_vectors_are_the_ones_embedded_alone():
    from recommender.embedding.e5_fast import available

    if not available():
        pytest.skip("onnx/onnxruntime are not installed")
    e5 = E5Embedder(engine="int8")
    texts = ["клієнт хоче порахувати окупність", "CFO needs a TCO model", "банк, пилот"] * 3
    texts += [f"нотатка {i}: склад і роботи" for i in range(40)]
    notes = NoteVectors(e5, texts, batch_size=8)
    try:
        first = notes.embed_queries(texts[-5:])  # likely before the thread reaches them
    finally:
        notes.close()
    alone = np.stack([e5.embed_queries([t])[0] for t in texts[-5:]])
    np.testing.assert_array_equal(first, alone)
    np.testing.assert_array_equal(notes.embed_queries(texts[:3]), e5.embed_queries(texts[:3]))
