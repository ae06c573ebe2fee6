"""Usage features built in a child process, off the serving threads' GIL.

Building a snapshot's usage features reads the journal (its engagements and impression
aggregates) and indexes them: about a second of CPU on the demo's journal, more on a large
one. Inside a worker that second holds the GIL in slices, and every request in flight waits
out the slices: a promotion, or a usage refresh, used to show in the p99 of the requests it
overlapped. `UsageProcess` runs `recommender.build_usage` in one long-lived child process
per worker (spawned on first use, at a lower CPU priority than the worker). The result is
compacted to what serving after the journal's last event reads (`UsageIndex.for_serving`:
per-key totals and the partners' engagement sequences) and handed over as a file: its arrays'
bytes, which the worker maps into memory, and a small pickle that refers to them (pickle
protocol 5's out-of-band buffers). Unpickling the ~100 MB of a large journal's index in the
worker held its GIL for about 0.1 s in one piece, which the requests in flight waited out;
mapping the file takes a few milliseconds.

If the child dies (killed, out of memory), the next build starts a new one; if that fails
too, the worker builds in process, as before, and says so in its log.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import multiprocessing
import os
import pickle
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from features.pairs import AssetTable
from recommender import (
    JournalUsageProvider,
    Snapshot,
    Workspace,
    asset_vectors,
    build_usage,
)

log = logging.getLogger(__name__)

NICENESS = 19  # the lowest CPU priority: the workers serving requests come first


def _lower_priority() -> None:
    """The child runs only on CPU time the workers leave: Linux's SCHED_IDLE policy, under
    which a worker that wakes up takes the core at once (at nice 19 it could wait out the
    child's time slice: the p99 of requests during a promotion showed it), else nice 19.
    Set before the child starts any thread, so that its threads inherit it."""
    with contextlib.suppress(OSError, AttributeError):  # not permitted, or not Linux
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return
    with contextlib.suppress(OSError):  # not permitted: the same priority
        os.nice(NICENESS)


_ALIGN = 64  # each array's bytes start at a multiple of this in the hand-over file


def _build_to_file(
    workspace: Workspace,
    table: AssetTable,
    vectors: np.ndarray | None,
    settings: Mapping[str, Any] | None,
) -> tuple[bytes, str, list[tuple[int, int]]]:
    """In the child: `build_usage` (compact), its arrays' bytes written to a new temporary
    file; returns the pickle that refers to them, the file's path and each buffer's
    (offset, length) in it."""
    provider = build_usage(workspace, table, vectors, settings, compact=True)
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(provider, protocol=5, buffer_callback=buffers.append)
    fd, path = tempfile.mkstemp(prefix="reco-usage-", suffix=".bin")
    spans: list[tuple[int, int]] = []
    try:
        with os.fdopen(fd, "wb") as out:
            offset = 0
            for buffer in buffers:
                raw = buffer.raw()
                pad = -offset % _ALIGN
                out.write(bytes(pad))
                offset += pad
                out.write(raw)
                spans.append((offset, raw.nbytes))
                offset += raw.nbytes
    except BaseException:
        os.unlink(path)
        raise
    return head, path, spans


def _load_from_file(head: bytes, path: str, spans: list[tuple[int, int]]) -> Any:
    """In the worker: the object `_build_to_file` handed over, its arrays on the file's pages
    (mapped copy-on-write: writable, and private to this process). The file is removed; the
    mapping keeps its pages while the arrays live."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            mapped = (
                memoryview(mmap.mmap(f.fileno(), size, access=mmap.ACCESS_COPY))
                if size
                else memoryview(bytearray())
            )
    finally:
        os.unlink(path)
    return pickle.loads(head, buffers=[mapped[start : start + n] for start, n in spans])


def _warm() -> int:
    """Imports the child needs, done once before the first build (returns its pid)."""
    import recommender

    assert recommender.build_usage is not None  # the lazy name loads its module
    return os.getpid()


class UsageProcess:
    """A `recommender.ranking.build.UsageSource` that builds in a child process (see the
    module docstring). Thread-safe; `close()` stops the child."""

    def __init__(self, *, timeout_seconds: float = 600.0) -> None:
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False
        self.builds = 0
        self.fallbacks = 0

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the usage process is closed")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_lower_priority,
                )
            return self._pool

    def start(self) -> None:
        """Spawn the child and import what it needs, in the background (the first build
        then does not wait for the interpreter to start)."""
        self._executor().submit(_warm)

    def child_pid(self) -> int | None:
        """The child's process id (None before it started)."""
        with self._lock:
            pool = self._pool
        if pool is None:
            return None
        return int(pool.submit(os.getpid).result(timeout=self.timeout_seconds))

    def _reset(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def __call__(
        self, workspace: Workspace, snapshot: Snapshot, settings: Mapping[str, Any] | None
    ) -> JournalUsageProvider:
        vectors = asset_vectors(snapshot.catalog, snapshot.table)
        for attempt in (1, 2):
            pool = self._executor()
            try:
                future = pool.submit(_build_to_file, workspace, snapshot.table, vectors, settings)
                provider = _load_from_file(*future.result(timeout=self.timeout_seconds))
            except BrokenProcessPool:
                self._reset(pool)
                log.warning("the usage process died (attempt %d); starting another", attempt)
                continue
            self.builds += 1
            return provider
        self.fallbacks += 1
        log.error("the usage process cannot build; building in the worker instead")
        return build_usage(workspace, snapshot.table, vectors, settings)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
