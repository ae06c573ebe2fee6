"""Service settings: one pydantic-settings class, read from `RECO_*` environment variables.

    RECO_WORKSPACE=data RECO_MAX_BODY_BYTES=1048576 recommender serve

`get_settings()` is cached, so every part of the app sees the same values; tests build a
`Settings(...)` and pass it to `create_app` instead.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from recommender import Workspace


class Settings(BaseSettings):
    """Everything the service can be told; defaults run the demo workspace on loopback."""

    model_config = SettingsConfigDict(env_prefix="RECO_", extra="ignore")

    workspace: Path | None = Field(
        default=None, description="workspace folder (default: the project's data/)"
    )
    models_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("RECO_MODELS_DIR", "RECO_MODELS", "models_dir"),
        description="model registry folder (default: the workspace's)",
    )
    database_url: str | None = Field(
        default=None,
        repr=False,  # may hold a password
        description="postgresql://user@host/db: keep the event journal in this shared "
        "database (schema: `recommender db upgrade`) instead of the workspace's events.sqlite",
    )
    embedder: str = Field(default="e5", description="'e5', 'minilm' or a model folder")
    embedder_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="threads of the e5 engine per worker (None: its default)",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="larger bodies get 413")
    rate_limit_per_second: float = Field(
        default=100.0,
        ge=0,
        description=(
            "requests/s per API key across every worker and replica (each worker keeps its "
            "share: this / (workers x replicas)); 0 disables"
        ),
    )
    rate_limit_burst: int = Field(
        default=200, ge=1, description="token bucket size per key (shared out alike)"
    )
    replicas: int = Field(
        default=1,
        ge=1,
        description=(
            "how many service processes (replicas) behind the load balancer share the rate "
            "limits: each worker enforces rate / (workers x replicas)"
        ),
    )
    auth_failure_burst: int = Field(
        default=20,
        ge=1,
        description="failed authentications (an invalid or missing API key, a console sign-in "
        "with a bad key) one client address may make in a row; then it gets 429 until it has "
        "earned one back, whatever key it sends",
    )
    auth_failures_per_minute: float = Field(
        default=6.0,
        ge=0,
        description="how fast a client address earns back a failed authentication; 0 disables "
        "the limit",
    )
    key_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="how long a verified key is trusted before the store is asked again",
    )
    exploration: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="share of unpinned slots the API gives to one of the next-ranked "
        "candidates, with the propensities journaled (recommender.ranking.exploration); "
        "0 serves the ranking as it is. Console previews never explore",
    )
    exploration_reserve: int = Field(
        default=30, ge=1, le=1000, description="how many next-ranked candidates may be explored"
    )
    exploration_fallback: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="how many of the playbook's best candidates may be explored too, so that "
        "the logs can value the playbook under any model; 0 explores next-ranked ones only",
    )
    public_url: str | None = Field(
        default=None,
        description="the address partners reach the service at (e.g. https://reco.example.com): "
        "tracked links (/r/{token}) in digests and recommendations start with it; None: the "
        "address the request came to",
    )
    link_ttl_days: float = Field(
        default=30.0, gt=0, le=3650, description="how long a tracked link can be followed"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=32)
    freeze_gc: bool = Field(
        default=True,
        description="exempt the loaded snapshot from cyclic GC passes "
        "(see service.runtime.process.freeze_heap)",
    )
    embedding_threads: int = Field(
        default=2,
        ge=1,
        le=64,
        description="threads per worker that embed new notes text (ranking runs on the event loop)",
    )
    embedding_window_ms: float = Field(
        default=0.0,
        ge=0,
        le=100,
        description=(
            "how long an embedding thread waits, after the first new note, for more to embed "
            "with it (0: it embeds at once the notes already waiting); see "
            "recommender.embedding.notes"
        ),
    )
    embedding_max_batch: int = Field(
        default=16, ge=1, le=256, description="the most new notes an embedding thread takes at once"
    )
    compute_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "threads each numeric library (BLAS, OpenMP: numpy, faiss, LightGBM) may use inside "
            "one request; requests already run in parallel, and idle pool threads spinning "
            "beside other workers cost more than they give"
        ),
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    impressions: Literal["on", "off"] = Field(
        default="on", description="journal the impressions each recommendation served"
    )
    impression_queue: int = Field(
        default=50_000,
        ge=100,
        description="requests whose impressions wait to be written before new ones are dropped",
    )
    impression_flush_seconds: float = Field(
        default=0.01,
        gt=0,
        le=60,
        description=(
            "how long the writer gathers impressions into one journal transaction: what a crash "
            "may lose (service.impressions); a transaction costs ~0.25 ms of CPU beyond its rows"
        ),
    )
    demo_keys: bool = Field(
        default=False, description="create one key per scope at start when the store has none"
    )
    seen_ttl_seconds: float = Field(
        default=30.0, ge=0, description="how long a partner's already-seen assets are cached"
    )
    reload_check_seconds: float = Field(
        default=0.5,
        ge=0,
        description="how often a worker checks whether another changed the workspace",
    )
    usage_refresh_seconds: float = Field(
        default=300.0,
        ge=0,
        description=(
            "how often a worker rebuilds the served model's usage features when events were "
            "journaled since (0: only with a new snapshot)"
        ),
    )
    usage_share_seconds: float = Field(
        default=60.0,
        ge=0,
        description=(
            "how long a worker's usage build (in its child process) serves the other workers "
            "of the host that need the same features, instead of their own build (0: never)"
        ),
    )
    usage_builder: Literal["process", "thread"] = Field(
        default="process",
        description=(
            "where rebuilds compute usage features: a child process per worker (off the "
            "serving threads' GIL), or a thread of the worker"
        ),
    )

    def workspace_obj(self) -> Workspace:
        """The `Workspace` these settings name."""
        from recommender import DEFAULT_ROOT

        return Workspace.at(
            self.workspace or DEFAULT_ROOT, self.models_dir, database_url=self.database_url
        )


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
