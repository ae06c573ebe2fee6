"""Shared by the whole suite: where the checkout is, small real workspaces, and real servers.

    PROJECT_ROOT, SHARED_EMBED_CACHE     the checkout and the shared embedding cache
    build_workspace(root, assets=30, ...) the first demo assets and partners, ingested for real
    make_model_versions(ws, 2)           tiny trained models in the registry (the real format)
    service_template(factory, embedder)  the service tests' workspace, built once per session
    copy_workspace, make_settings        a private copy; the app's settings for a workspace
    start_server / stop_server / kill    `recommender serve` in a subprocess, as a user runs it
    recommendation_body, secret_of       a request body; the secret part of an API key

The demo data is `demo.DEMO_DATA` (package data); workspaces are built with the real engine
(the real multilingual-e5 embedder), so the tests see what a user would.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

from recommender.workspace import Workspace

if TYPE_CHECKING:
    import pytest

    from recommender.embedding.embedders import Embedder

# the checkout the tests run from (tests/ is not installed)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# vectors of the demo catalog, embedded for real once per machine and shared by every test
SHARED_EMBED_CACHE = PROJECT_ROOT / ".cache" / "test-embeddings.sqlite"

# the `recommender` command, run from the checkout (`python -m cli` would run cli.py as
# __main__, a second module that other modules do not register in)
CLI = "import sys; from cli import main; sys.exit(main())"


# --- workspaces ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Built:
    workspace: Workspace
    asset_ids: list[str]
    partner_ids: list[str]


def build_workspace(
    root: Path,
    *,
    embedder: Embedder,
    assets: int = 30,
    partners: int = 20,
    extra_assets: Sequence[dict[str, Any]] = (),
) -> Built:
    """A workspace at `root/ws`: the first `assets` demo assets (plus `extra_assets`) ingested
    with `embedder`, the first `partners` demo partners and the default playbook; the source
    files are left in `root/src`."""
    from demo import DEMO_DATA
    from demo.workspace import demo_asset_rows
    from recommender.catalog.ingest import ingest
    from recommender.steering.partners import import_partners
    from recommender.steering.playbook import load_playbook

    rows = [*demo_asset_rows(assets), *extra_assets]
    src = root / "src"
    src.mkdir(parents=True)
    (src / "assets.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    lines = (DEMO_DATA / "partners.csv").read_text(encoding="utf-8").splitlines()
    (src / "partners.csv").write_text("\n".join(lines[: partners + 1]) + "\n", encoding="utf-8")
    ws = Workspace.at(root / "ws").ensure()
    load_playbook(ws)
    ingest(ws, [src / "assets.jsonl"], embedder=embedder, replace=True, progress=False)
    import_partners(ws, src / "partners.csv")
    asset_ids = [str(r["asset_id"]) for r in rows]
    partner_ids = [line.split(",", 1)[0] for line in lines[1 : partners + 1]]
    return Built(ws, asset_ids, partner_ids)


def make_model_versions(
    ws: Workspace,
    count: int = 2,
    *,
    metrics: Sequence[dict[str, float]] | None = None,
    cards: bool = False,
) -> list[str]:
    """`count` tiny trained models in the workspace's registry, written through
    `Registry.save` on the real feature list (so promotion loads them as it would any trained
    model); version i has `metrics[i]` (default {"ndcg@10": 0.1 * (i + 1)}) and, with
    `cards`, a model card "Model card {i + 1}" (with a script that must never run)."""
    from features.pairs import MODEL_FEATURES
    from recommender.ranking.learned import GradientBoostedRanker, LearnedScorer
    from recommender.storage.registry import Registry

    registry = Registry.of(ws)
    rng = np.random.default_rng(0)
    names = []
    for i in range(count):
        X = rng.random((200, len(MODEL_FEATURES)))
        y = (X[:, i % X.shape[1]] > 0.5).astype(float)
        estimator = GradientBoostedRanker(
            objective="regression", n_estimators=3 + i, min_child_samples=5, n_jobs=1
        ).fit(X, y)
        scorer = LearnedScorer(estimator=estimator, features=tuple(MODEL_FEATURES))
        card = (
            f"<!doctype html><title>card {i}</title><h1>Model card {i + 1}</h1>"
            "<p>Trained on synthetic e2e data.</p><script>alert('card')</script>"
        )
        version = registry.save(
            scorer.to_json(),
            {"features": list(MODEL_FEATURES), "usage": {}},
            metrics=metrics[i] if metrics is not None else {"ndcg@10": 0.1 * (i + 1)},
            card_html=card if cards else None,
            now=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
        )
        names.append(version.name)
    return names


def seed_usage(ws: Workspace, asset_ids: list[str], partner_ids: list[str], n: int = 600) -> None:
    """A small, consistent usage log in the journal: impressions, opens and downloads within
    20 deals, then each deal's outcome, so learned models have usage features to read."""
    from recommender.storage.events import EventJournal

    rng = np.random.default_rng(1)
    start = datetime(2025, 10, 1, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    for i in range(n):
        deal = i % 20
        partner = partner_ids[deal % len(partner_ids)]
        asset = asset_ids[int(rng.integers(len(asset_ids)))]
        ts = (start + timedelta(hours=i * 3)).isoformat()
        common = {"partner_id": partner, "asset_id": asset, "deal_id": f"D{deal}",
                  "request_id": f"seed{i:05d}"}  # fmt: skip
        events.append(
            {"event_id": f"seed-imp-{i}", "ts": ts, "type": "impression", "position": i % 5,
             "stage": "discovery", **common}
        )  # fmt: skip
        if i % 3 == 0:
            kind = "open" if i % 2 else "download"
            events.append({"event_id": f"seed-{kind}-{i}", "ts": ts, "type": kind, **common})
    end = start + timedelta(hours=n * 3 + 1)
    for deal in range(20):
        events.append(
            {"event_id": f"seed-outcome-{deal}", "ts": end.isoformat(), "type": "deal_outcome",
             "partner_id": partner_ids[deal % len(partner_ids)], "deal_id": f"D{deal}",
             "outcome": "won" if deal % 2 else "lost"}
        )  # fmt: skip
    with EventJournal(ws.events_path) as journal:
        journal.append(events, all_or_nothing=True)


# The service tests' workspace (tests/service and tests/reliability copy it).
TEMPLATE_ASSETS = 30
TEMPLATE_PARTNERS = 20


@dataclass(frozen=True)
class Template:
    workspace: Workspace
    versions: list[str]
    asset_ids: list[str]
    partner_ids: list[str]


_templates: dict[Path, Template] = {}


def service_template(factory: pytest.TempPathFactory, embedder: Embedder) -> Template:
    """The service tests' workspace, built once per session however many folders ask: the
    first 30 demo assets (embedded for real), 20 partners, the default playbook, a seeded
    usage log and two tiny model versions. Copy it (`copy_workspace`) before changing it."""
    key = factory.getbasetemp()
    if key not in _templates:
        built = build_workspace(
            factory.mktemp("service-template"),
            embedder=embedder,
            assets=TEMPLATE_ASSETS,
            partners=TEMPLATE_PARTNERS,
        )
        seed_usage(built.workspace, built.asset_ids, built.partner_ids)
        versions = make_model_versions(built.workspace, 2)
        _templates[key] = Template(built.workspace, versions, built.asset_ids, built.partner_ids)
    return _templates[key]


def copy_workspace(template: Template, dest: Path) -> Workspace:
    """A private copy of the template's workspace at `dest`."""
    shutil.copytree(template.workspace.root, dest)
    return Workspace.at(dest)


def make_settings(ws: Workspace, **overrides: Any):  # type: ignore[no-untyped-def]
    """The app's settings for `ws` in a test: demo keys, no rate limits (per key, and per
    address on failed authentications: tests/service/test_auth_guard turns it on), no key
    cache, no usage refresh on a timer (tests/service/test_usage_refresh turns it on)."""
    from service.config import Settings

    values: dict[str, Any] = {
        "workspace": ws.root,
        "models_dir": ws.models_dir,
        "demo_keys": True,
        "log_level": "warning",
        "rate_limit_per_second": 0,
        "auth_failures_per_minute": 0,
        "key_cache_seconds": 0,  # revocations take effect at once (tests/test_auth_keys)
        "usage_refresh_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)


def recommendation_body(partner_id: str = "P0001", n: int = 5, **context: Any) -> dict[str, Any]:
    """A POST /v1/recommendations body: a negotiation-stage deal unless `context` says more."""
    return {"partner_id": partner_id, "context": {"stage": "negotiation", **context}, "n": n}


def secret_of(key: str) -> str:
    """The secret of `reco_<scope>_<key id>_<secret>`: everything after the third '_' (the
    base64url secret may itself contain '_', so splitting at the last one is wrong)."""
    return key.split("_", 3)[3]


# --- servers ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `recommender serve` process on a loopback port (see `start_server`)."""

    url: str
    keys: dict[str, str]  # scope -> plain key
    process: subprocess.Popen[bytes]
    workspace: Workspace
    log: Path

    def headers(self, scope: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[scope]}

    def client(self, scope: str | None = None, **kw: Any) -> httpx.Client:
        headers = self.headers(scope) if scope else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=kw.pop("timeout", 60), **kw)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(
    ws: Workspace,
    log_path: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    log_level: str = "warning",
    keys: dict[str, str] | None = None,
    timeout: float = 180,
) -> Server:
    """Start `recommender serve` on `ws` (the command, as a user runs it) on a free loopback
    port, and return once /readyz says ready (with several workers, after a few answers, so
    that every worker is likely up).

    `env` adds RECO_* settings (the rate limiter and the usage refresh are off unless `env`
    turns them on; one e5 thread per server, the machine is shared). The server's keys are
    `keys`, else the demo keys `serve` writes into a workspace without keys. The log file
    (stdout and stderr) is appended to, so a restart on the same path keeps the first run's
    lines.
    """
    port = free_port()
    full_env = {
        **os.environ,
        "RECO_RATE_LIMIT_PER_SECOND": "0",
        # no usage refresh: what a test measures does not move under it on its own schedule
        # (tests/service/test_usage_refresh.py turns it on)
        "RECO_USAGE_REFRESH_SECONDS": "0",
        "RECO_EMBEDDER_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    cmd = [
        sys.executable, "-c", CLI, "--workspace", str(ws.root), "--models", str(ws.models_dir),
        "serve", "--port", str(port), "--workers", str(workers), "--log-level", log_level,
    ]  # fmt: skip
    with log_path.open("ab") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            cmd, cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    needed = 1 if workers == 1 else 3 * workers
    answers = 0
    deadline = time.monotonic() + timeout
    while answers < needed:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            kill(process)
            raise RuntimeError(f"server not ready in {timeout} s:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                answers += 1
        except httpx.HTTPError:
            pass
        if answers < needed:
            time.sleep(0.2)
    if keys is None:
        keys = json.loads((ws.root / "demo-keys.json").read_text())
    return Server(url, keys, process, ws, log_path)


def serve_copy(
    template: Template,
    factory: pytest.TempPathFactory,
    name: str,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """A real server process (one worker, `env` added to its RECO_* settings) on its own copy
    of `template`, stopped when the generator is closed: a fixture's body."""
    base = factory.mktemp(name)
    srv = start_server(copy_workspace(template, base / "ws"), base / "server.log", env=env)
    try:
        yield srv
    finally:
        stop_server(srv)


def stop_server(server: Server) -> int | None:
    """SIGTERM (a graceful stop: uvicorn drains, the lifespan flushes); the exit code, or None
    when it had to be killed after 30 s."""
    server.process.terminate()
    try:
        return server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill(server.process)
        return None


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and any children it has (no cleanup of any kind runs)."""
    try:
        import psutil

        children = psutil.Process(process.pid).children(recursive=True)
    except Exception:  # psutil missing or the process already gone
        children = []
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
