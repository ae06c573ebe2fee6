"""Journaling the impressions a recommendation served, off the request's critical path.

A request puts its impressions (one event per item, with its position) on a bounded queue and
returns; one background thread takes them in batches and appends each batch to the event
journal in one durable transaction (a group commit). Each append has a fixed cost (~0.25 ms of
CPU for the transaction and its fsync, beside ~12 us per row), so the writer gathers for up to
`linger_seconds` (the service's `impression_flush_seconds`, 10 ms: a worker serving 450
requests/s then commits ~100 times a second, ~0.05 ms of CPU per request): a crash loses at
most that much of the impression log and the transaction being written, never an acknowledged
event (tests/reliability/test_durability.py kills the server with SIGKILL under load and counts
it). On shutdown `close()` drains the queue, so a clean stop loses nothing. When the queue is
full (the disk cannot keep up), new impressions are dropped and counted: serving
recommendations matters more than logging them, and the metric shows it. A batch that failed
for a reason worth retrying (`retryable`: the shared database is unreachable) is written again
with a growing pause, for up to `retry_seconds`, while new impressions wait in the queue.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

Record = Any  # what `append` takes: the service queues `recommender.storage.events.Impression`s


class ImpressionWriter:
    """Batches impression records to `append(records)` from one background thread.

    `append` is called with a list of event records and must write them durably (the
    journal's `EventJournal.append`); `on_written(n)`/`on_dropped(n)` feed the metrics.
    """

    def __init__(
        self,
        append: Callable[[list[Record]], Any],
        *,
        maxsize: int = 50_000,
        batch_size: int = 1_000,
        linger_seconds: float = 0.05,
        on_written: Callable[[int], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
        retryable: Callable[[BaseException], bool] = lambda exc: False,
        retry_seconds: float = 60.0,
    ) -> None:
        self._append = append
        self._retryable = retryable
        self._retry_seconds = retry_seconds
        self._queue: queue.Queue[list[Record] | None] = queue.Queue(maxsize=maxsize)  # None: stop
        self._batch_size = batch_size
        self._linger = linger_seconds
        self._on_written = on_written or (lambda n: None)
        self._on_dropped = on_dropped or (lambda n: None)
        self._closed = False
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name="impression-writer", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Records queued and not yet written."""
        return self._pending

    def submit(self, records: Sequence[Record]) -> bool:
        """Queue `records` without blocking; False (and counted as dropped) if the queue is full."""
        if self._closed or not records:
            if records:
                self._on_dropped(len(records))
            return False
        with self._idle:
            self._pending += len(records)
        try:
            self._queue.put_nowait(list(records))
        except queue.Full:
            with self._idle:
                self._pending -= len(records)
                self._idle.notify_all()
            self._on_dropped(len(records))
            return False
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking records, write what is queued, and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                break
            batch: list[Record] = list(item)
            deadline = time.monotonic() + self._linger
            while len(batch) < self._batch_size:
                left = deadline - time.monotonic()
                try:
                    more = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
            self._write(batch)
        # Drain whatever is left (close() was called).
        rest: list[Record] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                rest.extend(item)
        if rest:
            self._write(rest)

    def _write(self, batch: list[Record]) -> None:
        give_up = time.monotonic() + self._retry_seconds
        pause = 0.25
        try:
            while True:
                try:
                    self._append(batch)
                    self._on_written(len(batch))
                    return
                except Exception as exc:
                    if self._retryable(exc) and time.monotonic() + pause < give_up:
                        log.warning(
                            "impressions not journaled yet, retrying",
                            extra={"count": len(batch), "error": str(exc), "retry_in": pause},
                        )
                        time.sleep(pause)
                        pause = min(pause * 2, 5.0)
                        continue
                    log.exception("impressions could not be journaled", extra={"count": len(batch)})
                    self._on_dropped(len(batch))
                    return
        finally:
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()
