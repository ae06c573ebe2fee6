"""A service worker's note embedder: new deal notes of concurrent requests, embedded together
on threads of their own.

    notes = NoteBatcher(threads=1, window_seconds=0.0, max_batch=16)
    await notes.embed(snapshot.query_cache, "клієнт просить порахувати окупність")
    ...                                   # the vector is now in the cache; ranking reads it
    notes.close()

Embedding a note is milliseconds of ONNX Runtime work that releases the GIL, while ranking
holds the GIL on the event loop. Each embedding thread takes the notes waiting in one queue
(after the first, it waits up to `window_seconds` for more, up to `max_batch`), embeds them in
one call and wakes their requests with one callback on the loop. Before, each note was a
thread-pool job that the event loop handed out only after the previous one's result reached
it: between two notes the embedding core waited for the loop, which was ranking other
requests. A note that several requests wait for at once is embedded once.

The vectors are the embedder's own for each text: the int8 encoder embeds every text of a
batch on its own (no padding to a common length, whose per-tensor activation quantisation
would shift the vectors), so a batch gives the same vectors as one-by-one calls (a test
checks them to 1e-6). Batching a short note with others does not make it cheaper on this
encoder (its int8 matmuls cost about the same per token at 27 or 170 tokens: "batching" in
bench/bench_query_embed.py); the window therefore defaults to 0, and what the batcher buys is
a core that never idles while notes wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from recommender.embedding.embedders import QueryCache

__all__ = ["NoteBatcher"]

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    """One text queued or being embedded, and the future every request waiting for it awaits
    (each through its own `asyncio.shield`)."""

    cache: QueryCache
    text: str
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    queued_at: float = field(default_factory=time.perf_counter)


class NoteBatcher:
    """Embeds the notes `embed` is awaited for on `threads` threads, a batch at a time (see the
    module docstring). `on_batch(size, waited_seconds)`, when given, is told each batch's size
    and its first note's wait in the queue."""

    def __init__(
        self,
        *,
        threads: int = 1,
        window_seconds: float = 0.0,
        max_batch: int = 16,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads={threads!r} must be at least 1")
        if window_seconds < 0:
            raise ValueError(f"window_seconds={window_seconds!r} must be 0 or more")
        if max_batch < 1:
            raise ValueError(f"max_batch={max_batch!r} must be at least 1")
        self.window_seconds = window_seconds
        self.max_batch = max_batch
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        # texts queued or being embedded, by (cache, text): a second request for one joins it
        self._pending: dict[tuple[int, str], _Pending] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._run, name=f"note-embedder-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    async def embed(self, cache: QueryCache, text: str) -> None:
        """Return once `text`'s vector is in `cache` (at once when it is already there).
        Raises what the embedder raised for it, or RuntimeError after `close()`."""
        if text in cache:
            return
        key = (id(cache), text)
        with self._lock:
            if self._closed:
                raise RuntimeError("the note embedder is closed")
            pending = self._pending.get(key)
            if pending is None:
                loop = asyncio.get_running_loop()
                pending = _Pending(cache, text, loop, loop.create_future())
                self._pending[key] = pending
                self._queue.put(pending)
        # shielded: a request that goes away does not cancel the others waiting for the text
        await asyncio.shield(pending.future)

    def close(self, timeout: float = 10.0) -> None:
        """Embed what is queued, then stop the threads. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=timeout)

    # --- the embedding threads ---------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                return
            self._embed(batch)
            if batch[-1] is None:
                return

    def _take(self) -> list[_Pending | None]:
        """The next batch: the first waiting note, then what arrives within the window (a
        None, the stop mark, ends the batch and is kept last)."""
        first = self._queue.get()
        if first is None:
            return []
        batch: list[_Pending | None] = [first]
        deadline = time.perf_counter() + self.window_seconds
        while len(batch) < self.max_batch:
            try:
                left = deadline - time.perf_counter()
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(item)
            if item is None:
                break
        return batch

    def _embed(self, batch: list[_Pending | None]) -> None:
        notes = [p for p in batch if p is not None]
        started = time.perf_counter()
        by_cache: dict[int, list[_Pending]] = {}
        for p in notes:
            by_cache.setdefault(id(p.cache), []).append(p)
        failures: dict[int, BaseException] = {}
        for group in by_cache.values():
            try:
                group[0].cache.embed_many([p.text for p in group])
            except BaseException as exc:  # handed to the requests that wait for these texts
                for p in group:
                    failures[id(p)] = exc
        with self._lock:
            for p in notes:
                self._pending.pop((id(p.cache), p.text), None)
        if self._on_batch is not None and notes:
            try:
                self._on_batch(len(notes), started - notes[0].queued_at)
            except Exception:  # a metric must not stop the thread the requests wait for
                log.exception("the note embedder's batch callback failed")
        by_loop: dict[int, list[_Pending]] = {}
        for p in notes:
            by_loop.setdefault(id(p.loop), []).append(p)
        for group in by_loop.values():
            outcome = [(p.future, failures.get(id(p))) for p in group]
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                group[0].loop.call_soon_threadsafe(_settle, outcome)


def _settle(outcome: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    """On the event loop: wake the requests of one batch."""
    for future, error in outcome:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
