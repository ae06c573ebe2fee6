"""The worker process's tuning, in one place: the environment a multi-worker service starts its
workers with, its compute thread pools, and its garbage collector.

The one setting made elsewhere is OpenMP's wait policy (`recommender/__init__.py`), which must
be in the environment before any engine library loads its OpenMP runtime, in every process
that uses the engine (the CLI's training as much as a service worker).
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import MutableMapping


def worker_environment(env: MutableMapping[str, str], *, workers: int) -> None:
    """Defaults for `workers` worker processes, set in `env` (what they inherit) unless given.

    Each of several workers is one process on its own core: one thread inside the embedding
    engine and for BLAS/OpenMP; the cores shared out among the workers' embedding threads
    (notes embedded at once per worker: with 2 workers on 2 cores, one each; two each kept
    four embeddings on two cores, which cost 1.6 ms more CPU per request with a new note and
    served 253 req/s instead of 326, bench/bench_http.py); and Prometheus metrics summed over
    the workers through prometheus-client's multiprocess mode (a fresh folder of per-worker
    files)."""
    if workers <= 1:
        return
    env.setdefault("RECO_EMBEDDER_THREADS", "1")
    env.setdefault("RECO_EMBEDDING_THREADS", str(embedding_threads(os.cpu_count() or 1, workers)))
    env.setdefault("OMP_NUM_THREADS", "1")
    if "PROMETHEUS_MULTIPROC_DIR" not in env:
        env["PROMETHEUS_MULTIPROC_DIR"] = _multiprocess_metrics_dir()


def embedding_threads(cores: int, workers: int) -> int:
    """Each worker's share of the cores for embedding notes (at least one)."""
    return max(1, cores // max(1, workers))


def _multiprocess_metrics_dir() -> str:
    """A fresh folder for prometheus-client's per-worker files."""
    path = os.path.join(tempfile.gettempdir(), f"reco-metrics-{os.getpid()}")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    return path


def limit_compute_threads(threads: int) -> None:
    """Cap this worker's BLAS and OpenMP pools (numpy, faiss, LightGBM) at `threads`.

    A request's matrices are small (hundreds of candidates), so their pools do not speed it
    up; but with two workers on two cores, each worker's idle pool threads spin for the CPU
    the other worker's requests need (measured: 2 workers served fewer requests/s than 1)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    try:
        import faiss

        faiss.omp_set_num_threads(threads)
    except (ImportError, AttributeError):  # pragma: no cover - faiss is a dependency
        pass


def freeze_heap(*, full: bool = True) -> None:
    """Collect garbage once, then exempt everything alive (modules, the embedder, the snapshot)
    from later cyclic-GC passes.

    A worker holds ~10^5-10^6 objects for its whole life, and every full collection walks them
    all: under load that was a 80-150 ms pause every 20-30 s per worker (the impressions
    waiting in the writer's queue survive young collections, and enough survivors start a
    full one), long enough to show in the p99. Frozen, they are skipped (gc.freeze, the
    standard remedy for long-lived server heaps).

    `full` (at start): what was frozen before is unfrozen first and the whole heap walked,
    ~100 ms. After a snapshot swap, `full=False` walks only what is not frozen yet (under a
    millisecond): a snapshot swapped out is freed by reference counting, as it holds no
    reference cycle; should frozen objects pile up anyway (cycles that only a full pass can
    free), a full pass runs once they are a quarter more than after the last one.
    """
    global _frozen_after_full
    if not full:
        gc.collect()
        gc.freeze()
        if gc.get_freeze_count() <= _FULL_PASS_GROWTH * _frozen_after_full:
            return
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _frozen_after_full = gc.get_freeze_count()


_FULL_PASS_GROWTH = 1.25
_frozen_after_full = 0
