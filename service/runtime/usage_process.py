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

The workers of one host share their builds: a build stays in a folder of the system's
temporary directory for `share_seconds`, keyed by what it was built from (the journal, the
catalog's asset table and vectors, the partners file, the model's usage settings). A worker
that needs the same usage features takes a shared build instead of building its own when it
is that recent and newer than the features it serves: after a promotion through one worker,
the others (which learn of it once its build is done) map that build's pages rather than
spend the same CPU again, and all of them read the same pages of memory.

If the child dies (killed, out of memory), the next build starts a new one; if that fails
too, the worker builds in process, as before, and says so in its log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
import multiprocessing
import os
import pickle
import stat
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
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
    directory: str | None = None,
) -> tuple[bytes, str, list[tuple[int, int]]]:
    """In the child: `build_usage` (compact), its arrays' bytes written to a new file in
    `directory` (default: the system's temporary directory); returns the pickle that refers
    to them, the file's path and each buffer's (offset, length) in it."""
    provider = build_usage(workspace, table, vectors, settings, compact=True)
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(provider, protocol=5, buffer_callback=buffers.append)
    fd, path = tempfile.mkstemp(prefix="reco-usage-", suffix=".bin", dir=directory)
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


def _load_from_file(
    head: bytes, path: str, spans: list[tuple[int, int]], *, keep: bool = False
) -> Any:
    """In the worker: the object `_build_to_file` handed over, its arrays on the file's pages
    (mapped copy-on-write: writable, and private to this process once written). The file is
    removed unless `keep` (shared); the mapping keeps its pages while the arrays live."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            mapped = (
                memoryview(mmap.mmap(f.fileno(), size, access=mmap.ACCESS_COPY))
                if size
                else memoryview(bytearray())
            )
    finally:
        if not keep:
            os.unlink(path)
    return pickle.loads(head, buffers=[mapped[start : start + n] for start, n in spans])


def share_directory(workspace: Workspace) -> Path:
    """Where the workers serving `workspace` on this host share their usage builds."""
    tag = hashlib.sha256(str(workspace.root.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"reco-usage-{tag}"


def _private_directory(path: Path) -> bool:
    """`path` made (mode 0700) if missing; True when it is a directory of this user that no
    other user can write. Otherwise the builds are not shared: a file someone else could
    have written is never unpickled."""
    try:
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def _share_key(
    workspace: Workspace,
    table: AssetTable,
    vectors: np.ndarray | None,
    settings: Mapping[str, Any] | None,
) -> str:
    """What a usage build depends on, as a digest: the journal, the asset table and vectors,
    the partners file and the usage settings (equal inputs, equal features)."""
    digest = hashlib.sha256()
    digest.update(str(workspace.database_url or workspace.events_path.resolve()).encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    digest.update(pickle.dumps(table, protocol=5))
    digest.update(b"" if vectors is None else np.ascontiguousarray(vectors).tobytes())
    with contextlib.suppress(OSError):  # no partners file: nothing to add
        digest.update(workspace.partners_path.read_bytes())
    return digest.hexdigest()[:32]


def _warm() -> int:
    """Imports the child needs, done once before the first build (returns its pid)."""
    import recommender

    assert recommender.build_usage is not None  # the lazy name loads its module
    return os.getpid()


class UsageProcess:
    """A `recommender.ranking.build.UsageSource` that builds in a child process (see the
    module docstring). Thread-safe; `close()` stops the child."""

    def __init__(self, *, timeout_seconds: float = 600.0, share_seconds: float = 0.0) -> None:
        self.timeout_seconds = timeout_seconds
        self.share_seconds = share_seconds  # 0: no sharing between workers
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False
        self.builds = 0  # built by the child
        self.shared = 0  # taken from another worker's build
        self.fallbacks = 0  # built in the worker
        self._published: list[Path] = []  # files this worker shared, removed at close
        self._metas: set[Path] = set()  # where it offered them

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
        share: tuple[Path, str] | None = None
        directory = share_directory(workspace) if self.share_seconds > 0 else None
        if directory is not None and _private_directory(directory):
            share = (directory, _share_key(workspace, snapshot.table, vectors, settings))
            served = snapshot.usage
            newer_than = served.journal_position if isinstance(served, JournalUsageProvider) else -1
            shared = self._take_shared(*share, newer_than=newer_than)
            if shared is not None:
                self.shared += 1
                return shared
        for attempt in (1, 2):
            pool = self._executor()
            try:
                future = pool.submit(
                    _build_to_file, workspace, snapshot.table, vectors, settings,
                    None if share is None else str(share[0]),
                )  # fmt: skip
                head, path, spans = future.result(timeout=self.timeout_seconds)
                provider: JournalUsageProvider = _load_from_file(
                    head, path, spans, keep=share is not None
                )
            except BrokenProcessPool:
                self._reset(pool)
                log.warning("the usage process died (attempt %d); starting another", attempt)
                continue
            self.builds += 1
            if share is not None:
                self._publish(*share, head, path, spans, provider.journal_position)
            return provider
        self.fallbacks += 1
        log.error("the usage process cannot build; building in the worker instead")
        return build_usage(workspace, snapshot.table, vectors, settings)

    def _take_shared(self, directory: Path, key: str, *, newer_than: int) -> Any:
        """The shared build of `key`, if one is at most `share_seconds` old and read the
        journal past `newer_than` (a refresh wants events the served features lack); else
        None."""
        try:
            meta = json.loads((directory / f"{key}.json").read_text())
            if time.time() - float(meta["built_at"]) > self.share_seconds:
                return None
            if int(meta["journal_position"]) <= newer_than:
                return None
            head = Path(meta["head"]).read_bytes()
            return _load_from_file(head, meta["data"], [tuple(x) for x in meta["spans"]], keep=True)
        except (OSError, ValueError, KeyError, TypeError, pickle.UnpicklingError):
            return None  # none, expired, or replaced meanwhile: build

    def _publish(
        self,
        directory: Path,
        key: str,
        head: bytes,
        path: str,
        spans: list[tuple[int, int]],
        position: int,
    ) -> None:
        """Offer this build to the other workers, and remove expired builds (a worker that
        maps one keeps its pages)."""
        try:
            head_path = Path(path).with_suffix(".head")
            head_path.write_bytes(head)
            meta = {"built_at": time.time(), "journal_position": position, "data": path,
                    "head": str(head_path), "spans": spans}  # fmt: skip
            tmp = directory / f".{key}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(meta))
            os.replace(tmp, directory / f"{key}.json")
            self._metas.add(directory / f"{key}.json")
            self._published = [
                *(old for old in self._published if old.exists()),
                Path(path),
                head_path,
            ]
            expired = time.time() - self.share_seconds
            for old in directory.iterdir():
                if old.name.startswith(".") or str(old) in (path, str(head_path)):
                    continue
                with contextlib.suppress(OSError):
                    if old.stat().st_mtime < expired:
                        old.unlink()
        except OSError as exc:
            log.warning("a usage build could not be shared with the other workers: %s", exc)

    def close(self) -> None:
        """Stop the child and remove the builds this worker shared (a worker that maps one
        keeps its pages; the others build again)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            published, self._published = self._published, []
            metas, self._metas = self._metas, set()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        mine = {str(path) for path in published}
        for meta in metas:  # unless another worker offered a newer build there since
            with contextlib.suppress(OSError, ValueError, KeyError):
                if json.loads(meta.read_text())["data"] in mine:
                    meta.unlink()
        for path in published:
            with contextlib.suppress(OSError):
                path.unlink()
        for directory in {meta.parent for meta in metas}:
            with contextlib.suppress(OSError):  # not empty: another worker's builds
                directory.rmdir()
