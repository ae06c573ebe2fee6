"""What a running worker holds: the current snapshot and the stores around it.

`ServiceState.open(settings)` does the heavy work the lifespan needs (embedder, snapshot,
journal, key and override stores, impression writer); `close()` undoes it, flushing the
queued impressions.

Snapshots and swaps
-------------------
Requests read `state.snapshot` once and use that object to the end, so a swap never changes
a request half-way. Every change (promote, rollback, asset or partner upsert, override) runs
under `reload_lock`: the new snapshot is built fully, then one reference is swapped.

Several workers
---------------
Each uvicorn worker loads its own snapshot. A worker that changes the workspace also writes
the workspace's generation file (`<workspace>/.service-generation`). Every worker checks, at
most every `reload_check_seconds` and from the request path (a few `stat` calls), a
fingerprint of that file and of the files a snapshot is built from (catalog, partners,
playbook, the registry's PROMOTED pointer). When it changed, the worker rebuilds in a
background thread and swaps when the new snapshot is complete, so changes made by another
worker, or by the CLI (`recommender ingest`, `recommender models promote`), reach every worker
within about a second, and no request waits for a rebuild.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from recommender import (
    SEEN_ASSETS_SQL,
    ConsoleDatabase,
    DigestStore,
    Embedder,
    ExperimentStore,
    Exploration,
    Journal,
    KeyInfo,
    KeyStore,
    LinkSigner,
    NoteBatcher,
    OverrideStore,
    QueryCache,
    Recommender,
    Snapshot,
    StoreUnavailable,
    Workspace,
    atomic_write_bytes,
    attach_experiments,
    build_snapshot,
    ensure_demo_keys,
    get_embedder,
    link_key,
    open_journal,
    refresh_usage,
    update_snapshot,
)
from service.config import Settings
from service.impressions import ImpressionWriter
from service.metrics import ServiceMetrics
from service.ratelimit import RateLimiter
from service.runtime.process import freeze_heap, limit_compute_threads
from service.runtime.usage_process import UsageProcess

log = logging.getLogger(__name__)
T = TypeVar("T")

GENERATION_FILE = ".service-generation"
PROMOTED_POINTER = "PROMOTED"
# The files of a catalog's vector index (recommender.VectorIndex.load reads them).
INDEX_FILES = ("manifest.json", "index.faiss", "chunk_assets.npy")
# Where a fingerprint (`ServiceState._fingerprint`) holds the catalog, index, partners and
# playbook files (between the generations and the model pointer): while they stay, a rebuild
# derives from the served snapshot.
_CONTENT = slice(2, -1)


def _model_errors() -> tuple[type[Exception], ...]:
    try:
        from recommender import ModelRegistryError
    except ImportError:  # the learning part is optional
        return ()
    return (ModelRegistryError,)


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder; the e5 engine gets `embedder_threads` threads when set."""
    if settings.embedder in ("e5", "multilingual-e5-small") and settings.embedder_threads:
        from recommender import E5Embedder

        return E5Embedder(num_threads=settings.embedder_threads)
    return get_embedder(settings.embedder)


def bump_generation(workspace: Workspace, reason: str) -> int | None:
    """Tell every worker serving `workspace` to rebuild its snapshot: for changes they cannot
    see in the files they watch, such as an experiment created or stopped from the CLI. The
    workers of this host watch the generation file; with a shared database, replicas on other
    hosts watch its generation row too. Returns the row's new generation (None without a
    shared database, or when it could not be reached)."""
    stamp = f"{datetime.now(UTC).isoformat()} {os.getpid()} {secrets.token_hex(4)} {reason}\n"
    atomic_write_bytes(workspace.root / GENERATION_FILE, stamp.encode())
    if not workspace.database_url:
        return None
    db = ConsoleDatabase(workspace.console_location)
    try:
        return db.bump_generation(reason)
    except StoreUnavailable:
        log.warning(
            "the shared database is unavailable: replicas on other hosts will see this "
            "change at their next one",
            extra={"reason": reason},
        )
        return None
    finally:
        db.close()


class _Outage:
    """After the shared database failed a lookup, how long not to ask it again: lookups that
    may run on the event loop must not wait out the pool's timeout on every request."""

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self._until = 0.0

    def ongoing(self, now: float) -> bool:
        return now < self._until

    def began(self) -> None:
        self._until = time.monotonic() + self.seconds


class SeenAssets:
    """Assets a partner already opened, downloaded or shared, from the event journal.

    One query per partner (`SEEN_ASSETS_SQL`, on the journal's partial index), cached for `ttl`
    seconds; `forget(partner_ids)` drops entries when this worker accepts new events for them.
    `source` is the SQLite journal's path (each thread reads through its own read-only
    connection; WAL: readers never wait) or a `Journal` to ask (PostgreSQL: a pooled
    connection).
    """

    def __init__(self, source: Path | Journal, ttl: float, *, max_entries: int = 20_000) -> None:
        self.path = source if isinstance(source, Path) else None
        self._journal = None if isinstance(source, Path) else source
        self._outage = _Outage()
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, timeout=5.0
            )
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def get(self, partner_id: str | None) -> frozenset[str]:
        if not partner_id:
            return frozenset()
        now = time.monotonic()
        hit = self._cache.get(partner_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        if self._journal is not None:
            stale = hit[1] if hit is not None else frozenset()
            if self._outage.ongoing(now):
                return stale
            try:
                seen = self._journal.seen_assets(partner_id)
            except StoreUnavailable:
                # The shared database is down: rank with what was last known (a seen asset
                # may come back for a while), never fail the recommendation; and do not wait
                # for the database again for a while (this runs on the event loop).
                self._outage.began()
                return stale
        else:
            rows = self._conn().execute(SEEN_ASSETS_SQL, (partner_id,)).fetchall()
            seen = frozenset(r[0] for r in rows)
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[partner_id] = (now + self.ttl, seen)
        return seen

    def forget(self, partner_ids: Iterable[str]) -> None:
        for p in partner_ids:
            self._cache.pop(p, None)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.ProgrammingError):
                    conn.close()
            self._connections.clear()


class CachedKeys:
    """`KeyStore.verify` with verified keys remembered for `ttl` seconds.

    The store is SQLite, and a query releases the GIL: on a worker busy ranking, the event loop
    then waits its turn for every request. A revoked key stops working within `ttl` seconds
    (0 asks the store every time). Only keys that verified are remembered, under the sha256
    of the key, so a flood of bad keys neither fills the cache nor skips the store. While a
    shared database cannot be reached, a key verified within `stale_seconds` keeps working.
    """

    def __init__(
        self,
        store: KeyStore,
        ttl: float,
        *,
        max_entries: int = 10_000,
        stale_seconds: float = 600.0,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.max_entries = max_entries
        self.stale_seconds = stale_seconds
        self._outage = _Outage()
        self._cache: dict[bytes, tuple[float, KeyInfo]] = {}

    def verify(self, key: str) -> KeyInfo | None:
        if self.ttl <= 0:
            return self.store.verify(key)
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        recent = hit is not None and hit[0] - self.ttl + self.stale_seconds > now
        stale = hit[1] if hit is not None and recent else None
        if stale is not None and self._outage.ongoing(now):
            return stale
        try:
            info = self.store.verify(key)
        except StoreUnavailable:
            # The shared database is down: a key verified in the last `stale_seconds` keeps
            # working (recommendations serve from the snapshot), without asking the database
            # again for a while (verify may run on the event loop); any other key gets 503.
            self._outage.began()
            if stale is not None:
                return stale
            raise
        if info is None:
            self._cache.pop(digest, None)
            return None
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[digest] = (now + self.ttl, info)
        return info

    def list(self, *, include_revoked: bool = True) -> list[KeyInfo]:
        """Every key, straight from the store (never cached: the console checks revocation)."""
        return self.store.list(include_revoked=include_revoked)

    def close(self) -> None:
        self.store.close()


@dataclass
class _Known:
    """Ids the event endpoint validates against, derived once per snapshot."""

    snapshot: Snapshot | None = None
    assets: frozenset[str] = field(default_factory=frozenset)
    partners: frozenset[str] = field(default_factory=frozenset)


class ServiceState:
    """The worker's snapshot, stores and background machinery (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        workspace: Workspace,
        embedder: Embedder,
        snapshot: Snapshot,
        *,
        metrics: ServiceMetrics,
        query_cache: QueryCache,
    ) -> None:
        self.settings = settings
        self.workspace = workspace
        self.embedder = embedder
        self.metrics = metrics
        self.query_cache = query_cache
        self.recommender = Recommender(snapshot)
        self.reload_lock = threading.RLock()
        self.journal = open_journal(workspace)
        self.keys = CachedKeys(KeyStore(workspace.console_location), settings.key_cache_seconds)
        self.overrides = OverrideStore(workspace.console_location)
        self.experiments = ExperimentStore(workspace.console_location)
        self.digests = DigestStore(workspace.console_location)
        # tracked links (/r/{token}): signed with the workspace's key, shared by every worker
        self.links = LinkSigner(link_key(workspace), timedelta(days=settings.link_ttl_days))
        # running experiments a snapshot build could not serve (a model that does not load)
        self.experiment_warnings: list[str] = []
        self.seen = SeenAssets(
            workspace.events_path if workspace.database_url is None else self.journal,
            settings.seen_ttl_seconds,
        )
        # Each worker keeps its share of the limits, so that they hold in total across the
        # workers and replicas a load balancer spreads requests over (service.ratelimit).
        share = settings.workers * settings.replicas
        self.limiter = RateLimiter.share_of(
            settings.rate_limit_per_second, settings.rate_limit_burst, share
        )
        # failed authentications per client address
        self.auth_guard = RateLimiter.share_of(
            settings.auth_failures_per_minute / 60.0, settings.auth_failure_burst, share
        )
        # what the API serves explores a little, with the propensities journaled
        self.exploration = Exploration(
            rate=settings.exploration,
            reserve=settings.exploration_reserve,
            fallback=settings.exploration_fallback,
        )
        # new deal notes, embedded off the event loop on threads of their own
        # (recommender.embedding.notes)
        self.notes = NoteBatcher(
            threads=settings.embedding_threads,
            window_seconds=settings.embedding_window_ms / 1000,
            max_batch=settings.embedding_max_batch,
            on_batch=metrics.observe_note_batch,
        )
        self.impressions: ImpressionWriter | None = None
        if settings.impressions == "on":
            self.impressions = ImpressionWriter(
                lambda impressions: self.journal.append_impressions(impressions),
                maxsize=settings.impression_queue,
                batch_size=10_000,
                linger_seconds=settings.impression_flush_seconds,
                on_written=lambda n: metrics.impressions.labels(outcome="written").inc(n),
                on_dropped=lambda n: metrics.impressions.labels(outcome="dropped").inc(n),
                retryable=lambda exc: isinstance(exc, StoreUnavailable),
            )
        self.demo_keys: dict[str, str] = {}
        self.warnings: list[str] = []  # why the worker serves less than it should (readyz)
        self._known = _Known()
        # The shared database's generation row, polled by a thread (no I/O on the event loop)
        self._generation_db: ConsoleDatabase | None = None
        self._db_generation: int | None = None
        self._stop_watching = threading.Event()
        self._generation_thread: threading.Thread | None = None
        if workspace.database_url:
            self._generation_db = ConsoleDatabase(workspace.console_location)
            self._db_generation = self._generation_db.generation()
            self._generation_thread = threading.Thread(
                target=self._watch_generation, name="generation-watch", daemon=True
            )
            self._generation_thread.start()
        self._applied = self._fingerprint()
        self._failed: tuple[Any, ...] | None = None
        # why the last background rebuild failed, and when (unix time); None once one succeeds
        self.rebuild_error: tuple[str, float] | None = None
        self._next_check = 0.0
        # usage features rebuilt when events were journaled since (`usage_refresh_seconds`)
        self._next_usage_check = time.monotonic() + settings.usage_refresh_seconds
        self.usage_refreshed_at: float | None = None  # unix time of the last usage refresh
        self.usage_error: tuple[str, float] | None = None  # why the last one failed, when
        self.usage_source = (
            UsageProcess(share_seconds=settings.usage_share_seconds)
            if settings.usage_builder == "process"
            else None
        )
        self._refreshing = threading.Lock()
        self._watch_thread: threading.Thread | None = None
        self._closed = False
        metrics.set_model_version(snapshot.model_version)

    # --- life cycle -----------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings, metrics: ServiceMetrics) -> ServiceState:
        """Load everything a worker serves from (seconds, not milliseconds: call it once)."""
        workspace = settings.workspace_obj()
        if not workspace.has_catalog():
            raise RuntimeError(
                f"no catalog in {workspace.catalog_dir}: run `recommender demo` (the demo "
                "workspace) or `recommender ingest PATH` first"
            )
        limit_compute_threads(settings.compute_threads)
        embedder = make_embedder(settings)
        warm = getattr(embedder, "warm", None)
        if callable(warm):
            warm()  # load the engine here, not in the first request (e5 int8: ~2 s)
        query_cache = QueryCache(embedder)
        started = time.perf_counter()
        warnings: list[str] = []
        try:
            snapshot = build_snapshot(workspace, embedder=embedder, query_cache=query_cache)
        except _model_errors() as exc:
            # A promoted model that cannot be loaded must not keep the catalog offline: serve
            # with the playbook scorer, say so loudly, and let an admin promote or roll back.
            log.error("the promoted model cannot be loaded; serving the playbook scorer: %s", exc)
            warnings.append(f"promoted model not loaded ({exc}); serving the playbook scorer")
            snapshot = build_snapshot(
                workspace, embedder=embedder, query_cache=query_cache, use_model=False
            )
        snapshot, refused = attach_experiments(workspace, snapshot)
        metrics.snapshot_build_seconds.observe(time.perf_counter() - started)
        metrics.snapshot_builds.labels(reason="start").inc()
        state = cls(
            settings, workspace, embedder, snapshot, metrics=metrics, query_cache=query_cache
        )
        state.warnings = warnings
        state.experiment_warnings = refused
        if settings.demo_keys:
            state.demo_keys = ensure_demo_keys(workspace)
        log.info(
            "snapshot loaded",
            extra={
                "workspace": str(workspace.root),
                "assets": len(snapshot.catalog),
                "partners": len(snapshot.partners),
                "model_version": snapshot.model_version,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return state

    def close(self) -> None:
        """Flush impressions, close the stores. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.notes.close()
        if self.impressions is not None:
            self.impressions.close()
        watch = self._watch_thread
        if watch is not None:
            watch.join(timeout=30)
        self._stop_watching.set()
        if self._generation_thread is not None:
            self._generation_thread.join(timeout=10)
        if self._generation_db is not None:
            self._generation_db.close()
        if self.usage_source is not None:
            self.usage_source.close()
        self.seen.close()
        self.journal.close()
        self.keys.close()
        self.overrides.close()
        self.experiments.close()
        self.digests.close()

    # --- reading --------------------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        """The snapshot to serve this request from (checks for outside changes first)."""
        self.check_for_changes()
        return self.recommender.snapshot

    def known_ids(self, snapshot: Snapshot) -> tuple[frozenset[str], frozenset[str]]:
        """(asset ids, partner ids) of `snapshot`, computed once per snapshot."""
        known = self._known
        if known.snapshot is not snapshot:
            known = _Known(
                snapshot, frozenset(snapshot.catalog.asset_ids), frozenset(snapshot.partners)
            )
            self._known = known
        return known.assets, known.partners

    # --- changing -------------------------------------------------------------------------
    def build(self, *, model_version: str | None = None, use_model: bool = True) -> Snapshot:
        """A complete snapshot of the workspace as it is on disk now: scored by
        `model_version`, else the promoted model, else (or with `use_model=False`) the
        playbook scorer; with the running experiments it can serve (`with_experiments`)."""
        started = time.perf_counter()
        snapshot = build_snapshot(
            self.workspace,
            embedder=self.embedder,
            model_version=model_version,
            query_cache=self.query_cache,
            use_model=use_model,
            usage=self.usage_source,
        )
        snapshot = self.with_experiments(snapshot)
        self.metrics.snapshot_build_seconds.observe(time.perf_counter() - started)
        return snapshot

    def derive(self, *, model_version: str | None = None, use_model: bool = True) -> Snapshot:
        """What `build` would build, derived from the served snapshot when the catalog, index,
        partners and playbook on disk are still the ones it was built from (after a
        promotion, a rollback, an override or an experiment): the overrides read again, the
        model attached, and the catalog, its index and (when the model reads usage alike)
        the usage features kept (`recommender.update_snapshot`). Otherwise `build`."""
        applied = self._applied
        if applied[_CONTENT] != self._fingerprint()[_CONTENT]:
            return self.build(model_version=model_version, use_model=use_model)
        started = time.perf_counter()
        snapshot = update_snapshot(
            self.workspace,
            self.recommender.snapshot,
            model_version=model_version,
            use_model=use_model,
            usage=self.usage_source,
        )
        snapshot = self.with_experiments(snapshot)
        self.metrics.snapshot_build_seconds.observe(time.perf_counter() - started)
        return snapshot

    def with_experiments(self, snapshot: Snapshot) -> Snapshot:
        """`snapshot` serving the running experiments whose models load; the others are
        named in `experiment_warnings` (readyz) and their partners get `snapshot`'s ranking."""
        snapshot, refused = attach_experiments(self.workspace, snapshot)
        self.experiment_warnings = refused
        return snapshot

    def change(
        self,
        reason: str,
        mutate: Callable[[], T],
        rebuild: Callable[[Snapshot], Snapshot] | None = None,
    ) -> T:
        """Apply a change to the workspace and swap in the snapshot that reflects it.

        Under the reload lock: `mutate()` writes the change, then the new snapshot is built
        (`rebuild(current)` when the change allows a cheap derivation, else fully from disk)
        and swapped in; other workers are told through the generation file. If `mutate` or the
        build raises, the current snapshot stays.
        """
        with self.reload_lock:
            result = mutate()
            self._bump_generation(reason)
            fingerprint = self._fingerprint()
            current = self.recommender.snapshot
            snapshot = rebuild(current) if rebuild is not None else self.build()
            self.install(snapshot, reason)
            self._applied = fingerprint
        return result

    def install(self, snapshot: Snapshot, reason: str) -> Snapshot:
        """Swap `snapshot` in (the caller built it fully); returns the old one."""
        with self.reload_lock:
            old = self.recommender.swap(snapshot)
        if self.settings.freeze_gc:
            freeze_heap(full=False)
        self.metrics.snapshot_builds.labels(reason=reason).inc()
        if reason == "usage-refresh":
            # the workspace's files are what they were: a failed rebuild of them still is
            return old
        self.rebuild_error = None
        self.metrics.set_model_version(snapshot.model_version)
        if reason in ("promote", "rollback"):
            self.warnings = []
        if old.model_version != snapshot.model_version:
            log.info(
                "model version swapped",
                extra={"reason": reason, "from": old.model_version, "to": snapshot.model_version},
            )
        return old

    def publish(self, reason: str) -> None:
        """Tell the other workers that the workspace changed (after an external write such as
        a model promotion that built and installed its snapshot itself)."""
        with self.reload_lock:
            self._bump_generation(reason)
            self._applied = self._fingerprint()

    # --- watching for changes made elsewhere ----------------------------------------------
    def _watched(self) -> list[Path]:
        """The files whose change starts a rebuild; `_fingerprint` puts the shared database's
        generation before them, so that every file a snapshot's catalog, index, partners and
        playbook are read from is its `_CONTENT` part (a change to any of them, a damaged
        index file too, is built from disk, never derived)."""
        ws = self.workspace
        return [
            ws.root / GENERATION_FILE,
            ws.assets_path,
            ws.chunks_path,
            ws.similar_path,
            *(ws.index_dir / name for name in INDEX_FILES),
            ws.partners_path,
            ws.playbook_path,
            ws.models_dir / PROMOTED_POINTER,
        ]

    def _watch_generation(self) -> None:
        """Poll the shared database's generation row (changes made through other replicas)."""
        assert self._generation_db is not None
        every = self.settings.reload_check_seconds or 0.5
        while not self._stop_watching.wait(every):
            try:
                self._db_generation = self._generation_db.generation()
            except StoreUnavailable:
                continue  # the last value stands until the database is back
            except Exception:
                log.exception("the shared database's generation could not be read")

    def _fingerprint(self) -> tuple[Any, ...]:
        out: list[Any] = [self._db_generation]
        for path in self._watched():
            try:
                st = os.stat(path)
            except OSError:
                out.append(None)
                continue
            out.append((st.st_ino, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def _bump_generation(self, reason: str) -> None:
        seen = self._db_generation
        new = bump_generation(self.workspace, reason)
        if new is not None and seen is not None and new == seen + 1:
            # Only this change moved the row: this worker serves it already, no rebuild for
            # it. (Had another replica's change come in between, the watcher's next read
            # differs from what is applied, and that change gets its rebuild.)
            self._db_generation = new

    def check_for_changes(self) -> None:
        """Cheap and non-blocking: start a background rebuild if the workspace changed, or a
        usage refresh when it is due."""
        if self.settings.reload_check_seconds <= 0 or self._closed:
            return
        now = time.monotonic()
        if now < self._next_check:
            return
        if self.settings.usage_refresh_seconds > 0 and now >= self._next_usage_check:
            self._next_usage_check = now + self.settings.usage_refresh_seconds
            self._start(self._refresh_usage, "usage-refresh")
            return
        self._next_check = now + self.settings.reload_check_seconds
        fingerprint = self._fingerprint()
        if fingerprint == self._applied:
            self.rebuild_error = None  # the files are back to what is served
            return
        if fingerprint == self._failed:
            return
        self._start(self._refresh, "snapshot-refresh")

    def _start(self, target: Callable[[], None], name: str) -> None:
        """Run `target` (which releases `_refreshing`) on a thread, unless a rebuild or a
        refresh is already running."""
        if not self._refreshing.acquire(blocking=False):
            return
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._watch_thread = thread
        thread.start()

    def _refresh_usage(self) -> None:
        """Rebuild the served model's usage features if events were journaled since they were
        built (`recommender.refresh_usage`), and swap them in, unless another change swapped
        the snapshot meanwhile (the next refresh then starts from that one)."""
        try:
            current = self.recommender.snapshot
            started = time.perf_counter()
            try:
                fresh = refresh_usage(self.workspace, current, usage=self.usage_source)
                if fresh is None:
                    return
                fresh = self.with_experiments(fresh)
            except Exception as exc:
                log.exception("the usage features cannot be refreshed; serving the previous ones")
                self.usage_error = (f"{type(exc).__name__}: {exc}", time.time())
                return
            with self.reload_lock:
                if self.recommender.snapshot is not current:
                    return
                self.install(fresh, "usage-refresh")
            self.usage_refreshed_at = time.time()
            self.usage_error = None
            self.metrics.snapshot_build_seconds.observe(time.perf_counter() - started)
        finally:
            self._refreshing.release()

    def refresh_usage_now(self) -> None:
        """Refresh the usage features at once if events were journaled since (tests, tools)."""
        self._refreshing.acquire()
        self._refresh_usage()

    def _refresh(self) -> None:
        try:
            with self.reload_lock:
                fingerprint = self._fingerprint()
                if fingerprint == self._applied:
                    return
                try:
                    # only the model pointer or the generation moved (a promotion, rollback,
                    # override or experiment made elsewhere): derived, not built from disk
                    snapshot = self.derive()
                except Exception as exc:
                    log.exception(
                        "the workspace changed but its snapshot cannot be built; "
                        "still serving the previous one"
                    )
                    self._failed = fingerprint
                    self.rebuild_error = (f"{type(exc).__name__}: {exc}", time.time())
                    self.metrics.snapshot_build_failures.inc()
                    return
                self.install(snapshot, "workspace-changed")
                self._applied = fingerprint
                self._failed = None
        finally:
            self._refreshing.release()

    def refresh_now(self) -> None:
        """Rebuild at once if the workspace changed (tests and admin tools)."""
        if self._fingerprint() != self._applied and self._refreshing.acquire(blocking=True):
            self._refresh()
