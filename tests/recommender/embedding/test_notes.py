"""The note embedder (recommender.embedding.notes): concurrent new notes embedded together
on threads of their own, with the real multilingual-e5 embedder.

Where a test needs to hold the embedding thread or to count its calls, it wraps the real
embedder (`Gated`, `Counting`); the vectors are always the real ones.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from recommender import NoteBatcher, QueryCache
from recommender.embedding.embedders import Embedder

NOTES = [
    "клієнт просить порахувати окупність нового складу",
    "заказчик сравнивает нас с конкурентом по цене",
    "the customer needs a TCO comparison for the board",
    "банк хоче пілот на двох філіях до кінця кварталу",
    "производство: нужна интеграция с MES и SCADA",
    "security team asks for our SOC 2 report and a data flow diagram",
    "ритейл-мережа планує 40 магазинів, потрібен кейс",
    "CFO wants payback under 18 months",
]


class Counting:
    """The real embedder, counting the texts it embeds per call (and failing on one text)."""

    def __init__(self, inner: Embedder, fail_on: str | None = None) -> None:
        self.inner, self.fail_on = inner, fail_on
        self.id, self.dim = inner.id, inner.dim
        self.calls: list[list[str]] = []

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if self.fail_on is not None and self.fail_on in texts:
            raise ValueError(f"cannot embed {self.fail_on!r}")
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self.inner.embed_passages(texts, progress=progress)


class Gated(Counting):
    """Counting, and the first call waits until the test opens the gate."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.entered, self.gate = threading.Event(), threading.Event()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not self.calls:
            self.entered.set()
            assert self.gate.wait(30)
        return super().embed_queries(texts)


def run(coro):  # type: ignore[no-untyped-def]
    """`coro` on an event loop of its own, in a thread: the suite's browser tests keep
    Playwright's loop running in the main thread, where asyncio.run() refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_notes_waiting_together_are_embedded_in_one_call_with_one_by_one_vectors(
    e5_embedder: Embedder,
) -> None:
    gated = Gated(e5_embedder)
    cache = QueryCache(gated)  # type: ignore[arg-type]
    sizes: list[int] = []
    batcher = NoteBatcher(threads=1, max_batch=16, on_batch=lambda n, _w: sizes.append(n))

    async def main() -> None:
        first = asyncio.create_task(batcher.embed(cache, NOTES[0]))
        await asyncio.to_thread(gated.entered.wait, 30)  # the thread now holds NOTES[0]
        rest = [asyncio.create_task(batcher.embed(cache, t)) for t in NOTES[1:]]
        await asyncio.sleep(0.05)  # every request is queued behind the first note
        gated.gate.set()
        await asyncio.gather(first, *rest)

    try:
        run(main())
    finally:
        batcher.close()
    # the notes that arrived while the thread was busy went in one call, not seven
    assert gated.calls == [[NOTES[0]], NOTES[1:]]
    assert sizes == [1, len(NOTES) - 1]
    for text in NOTES:
        alone = e5_embedder.embed_queries([text])[0]
        together = cache.embed(text)  # a cache hit: the batched vector
        cosine = float(alone @ together / np.linalg.norm(alone) / np.linalg.norm(together))
        assert cosine == pytest.approx(1.0, abs=1e-6), text
        np.testing.assert_allclose(together, alone, atol=1e-6)


def test_a_note_several_requests_wait_for_is_embedded_once(e5_embedder: Embedder) -> None:
    counting = Counting(e5_embedder)
    cache = QueryCache(counting)  # type: ignore[arg-type]
    batcher = NoteBatcher(threads=2, window_seconds=0.02)

    async def main() -> None:
        await asyncio.gather(*(batcher.embed(cache, NOTES[1]) for _ in range(6)))

    try:
        run(main())
        run(main())  # now cached: no call at all
    finally:
        batcher.close()
    assert [t for call in counting.calls for t in call] == [NOTES[1]]
    assert NOTES[1] in cache and cache.misses == 1


def test_the_window_gathers_notes_that_arrive_after_the_first(e5_embedder: Embedder) -> None:
    counting = Counting(e5_embedder)
    cache = QueryCache(counting)  # type: ignore[arg-type]
    batcher = NoteBatcher(threads=1, window_seconds=2.0, max_batch=3)

    async def main() -> None:
        tasks = []
        for text in NOTES[:4]:
            tasks.append(asyncio.create_task(batcher.embed(cache, text)))
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)

    try:
        run(main())
    finally:
        batcher.close()
    # the first three within the window (max_batch ends it at once), the fourth in a new one
    assert counting.calls == [NOTES[:3], NOTES[3:4]]


def test_an_embedding_error_reaches_the_requests_of_that_note_only(e5_embedder: Embedder) -> None:
    bad = "this note breaks the embedder"
    counting = Counting(e5_embedder, fail_on=bad)
    cache = QueryCache(counting)  # type: ignore[arg-type]
    batcher = NoteBatcher(threads=1)

    async def main() -> list[object]:
        return await asyncio.gather(
            batcher.embed(cache, bad), batcher.embed(cache, bad), return_exceptions=True
        )

    try:
        outcomes = run(main())
        run(batcher.embed(cache, NOTES[2]))  # the thread lives on
    finally:
        batcher.close()
    assert all(isinstance(o, ValueError) and bad in str(o) for o in outcomes), outcomes
    assert bad not in cache and NOTES[2] in cache


def test_a_request_that_goes_away_does_not_cancel_the_others(e5_embedder: Embedder) -> None:
    gated = Gated(e5_embedder)
    cache = QueryCache(gated)  # type: ignore[arg-type]
    batcher = NoteBatcher(threads=1)

    async def main() -> None:
        leaving = asyncio.create_task(batcher.embed(cache, NOTES[3]))
        staying = asyncio.create_task(batcher.embed(cache, NOTES[3]))
        await asyncio.to_thread(gated.entered.wait, 30)
        leaving.cancel()
        gated.gate.set()
        await staying
        with pytest.raises(asyncio.CancelledError):
            await leaving

    try:
        run(main())
    finally:
        batcher.close()
    assert NOTES[3] in cache


def test_close_embeds_what_is_queued_then_refuses(e5_embedder: Embedder) -> None:
    cache = QueryCache(e5_embedder)
    batcher = NoteBatcher(threads=1)
    run(batcher.embed(cache, NOTES[4]))
    batcher.close()
    batcher.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        run(batcher.embed(cache, NOTES[5]))
    run(batcher.embed(cache, NOTES[4]))  # a cached note needs no thread
    assert all(not t.is_alive() for t in batcher._threads)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threads": 0}, "threads=0"),
        ({"window_seconds": -1}, "window_seconds=-1"),
        ({"max_batch": 0}, "max_batch=0"),
    ],
)
def test_bad_settings_are_refused_by_name(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NoteBatcher(**kwargs)  # type: ignore[arg-type]
