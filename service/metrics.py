"""Prometheus metrics of the service: requests, latency, errors, events, impressions, model.

Each app gets its own `CollectorRegistry` (tests build many apps in one process). With several
uvicorn workers, `recommender serve` sets PROMETHEUS_MULTIPROC_DIR before the workers start;
prometheus-client then keeps values in per-process files and `/metrics` sums them over the
live workers (gauges per worker, labelled by pid).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
)  # fmt: skip


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ServiceMetrics:
    """The metrics one app records; `render()` is the body of GET /metrics."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "reco_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "reco_http_request_duration_seconds",
            "Time from request start to the end of the response",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "reco_http_errors",
            "Responses with status >= 400, by kind (client: 4xx, server: 5xx)",
            ["route", "status", "kind"],
            registry=r,
        )
        self.recommend_seconds = Histogram(
            "reco_recommend_duration_seconds",
            "Time spent in the ranking pipeline for one recommendation request",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.events = Counter(
            "reco_events", "Usage events received through POST /v1/events", ["outcome"], registry=r
        )
        self.impressions = Counter(
            "reco_impressions",
            "Impressions of served recommendations, by outcome (written, dropped, skipped)",
            ["outcome"],
            registry=r,
        )
        self.impression_queue = Gauge(
            "reco_impression_queue_depth",
            "Impressions waiting for the background writer",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.model_info = Gauge(
            "reco_model_info",
            "The model version serving requests (value 1 for the current one)",
            ["version"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.snapshot_builds = Counter(
            "reco_snapshot_builds",
            "Snapshots built and swapped in, by reason",
            ["reason"],
            registry=r,
        )
        self.tracked_links = Counter(
            "reco_tracked_links",
            "Tracked links followed (/r/{token}), by outcome: followed, forged, expired, gone",
            ["outcome"],
            registry=r,
        )
        self.snapshot_build_failures = Counter(
            "reco_snapshot_build_failures",
            "Background rebuilds that failed (the previous snapshot kept serving)",
            registry=r,
        )
        self.snapshot_build_seconds = Histogram(
            "reco_snapshot_build_duration_seconds",
            "Time to build a snapshot before it is swapped in",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=r,
        )
        self.rate_limited = Counter(
            "reco_rate_limited", "Requests refused with 429 by the per-key rate limit", registry=r
        )
        self.auth_failures = Counter(
            "reco_auth_failures", "Requests refused with 401 or 403", ["status"], registry=r
        )
        self.query_cache = Gauge(
            "reco_query_cache",
            "Notes embeddings served from the query cache (hit) or computed (miss), since start",
            ["outcome"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.note_batch = Histogram(
            "reco_note_batch_size",
            "New deal notes an embedding thread embedded together",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.note_wait = Histogram(
            "reco_note_wait_seconds",
            "Time a batch's first new note waited before an embedding thread took it",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
            registry=r,
        )
        self._version: str | None = None

    def observe_note_batch(self, size: int, waited_seconds: float) -> None:
        """One batch of the note embedder (recommender.embedding.notes): its size and its
        first note's wait."""
        self.note_batch.observe(size)
        self.note_wait.observe(waited_seconds)

    def set_model_version(self, version: str) -> None:
        """Point reco_model_info at `version` (the previous version's series drops to 0)."""
        if self._version is not None and self._version != version:
            self.model_info.labels(version=self._version).set(0)
        self.model_info.labels(version=version).set(1)
        self._version = version

    def render(self) -> bytes:
        """The exposition text: this app's registry, or every live worker's in multiprocess mode."""
        if multiprocess_dir():
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
