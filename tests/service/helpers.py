"""Helpers for the service tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from fastapi.testclient import TestClient

from recommender.workspace import Workspace
from tests.support import PROJECT_ROOT

N_ASSETS = 30
N_PARTNERS = 20


def make_model_versions(ws: Workspace, count: int = 2) -> list[str]:
    """`count` tiny trained models in the workspace's registry; returns their version names."""
    from features.pairs import MODEL_FEATURES
    from recommender.ranking.learned import GradientBoostedRanker, LearnedScorer
    from recommender.storage.registry import Registry

    registry = Registry.of(ws)
    names = []
    rng = np.random.default_rng(0)
    for i in range(count):
        X = rng.random((200, len(MODEL_FEATURES)))
        y = (X[:, i % X.shape[1]] > 0.5).astype(float)
        estimator = GradientBoostedRanker(
            objective="regression", n_estimators=3 + i, min_child_samples=5, n_jobs=1
        ).fit(X, y)
        scorer = LearnedScorer(estimator=estimator, features=tuple(MODEL_FEATURES))
        version = registry.save(
            scorer.to_json(),
            {"features": list(MODEL_FEATURES), "usage": {}},
            metrics={"ndcg@10": 0.1 * (i + 1)},
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


@dataclass(frozen=True)
class Template:
    workspace: Workspace
    versions: list[str]
    asset_ids: list[str]
    partner_ids: list[str]


def copy_workspace(template: Template, dest: Path) -> Workspace:
    shutil.copytree(template.workspace.root, dest)
    return Workspace.at(dest)


def make_settings(ws: Workspace, **overrides: Any):  # type: ignore[no-untyped-def]
    from service.config import Settings

    values: dict[str, Any] = {
        "workspace": ws.root,
        "models_dir": ws.models_dir,
        "demo_keys": True,
        "log_level": "warning",
        "rate_limit_per_second": 0,
        "key_cache_seconds": 0,  # revocations take effect at once (tests/test_auth_keys)
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Api:
    """A TestClient on a running app plus one key per scope."""

    client: TestClient
    keys: dict[str, str]
    workspace: Workspace

    @property
    def app(self):  # type: ignore[no-untyped-def]
        return self.client.app

    @property
    def state(self):  # type: ignore[no-untyped-def]
        return self.client.app.state.service  # type: ignore[union-attr]

    def headers(self, scope: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[scope]}

    def get(self, url: str, scope: str = "portal", **kw: Any) -> httpx.Response:
        return self.client.get(url, headers=self.headers(scope), **kw)

    def post(self, url: str, body: Any = None, scope: str = "portal", **kw: Any) -> httpx.Response:
        return self.client.post(url, json=body, headers=self.headers(scope), **kw)

    def put(self, url: str, body: Any, scope: str = "admin", **kw: Any) -> httpx.Response:
        return self.client.put(url, json=body, headers=self.headers(scope), **kw)

    def delete(self, url: str, scope: str = "admin", **kw: Any) -> httpx.Response:
        return self.client.delete(url, headers=self.headers(scope), **kw)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A real `recommender serve` process on a loopback port."""

    url: str
    keys: dict[str, str]
    process: subprocess.Popen[bytes]
    workspace: Workspace
    log: Path

    def headers(self, scope: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[scope]}


def start_server(
    ws: Workspace, log_path: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> Server:
    """Start `recommender serve` (the CLI, as a user would) and wait until /readyz says ready."""
    port = free_port()
    full_env = {
        **os.environ,
        "RECO_LOG_LEVEL": "warning",
        "RECO_RATE_LIMIT_PER_SECOND": "0",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    cmd = [
        # The installed `recommender` command, as a user runs it (`python -m cli`
        # would run cli.py as __main__, a second module that other modules do not register in).
        sys.executable, "-c", "import sys; from cli import main; sys.exit(main())",
        "--workspace", str(ws.root), "--models", str(ws.models_dir),
        "serve", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
    ]  # fmt: skip
    log = log_path.open("wb")
    process = subprocess.Popen(
        cmd, cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    ready = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                ready += 1
                if ready >= workers * 3:  # several answers: every worker is likely up
                    break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        process.terminate()
        raise RuntimeError(f"server not ready in time:\n{log_path.read_text()}")
    keys = json.loads((ws.root / "demo-keys.json").read_text())
    return Server(url, keys, process, ws, log_path)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


def recommendation_body(partner_id: str = "P0001", **context: Any) -> dict[str, Any]:
    return {"partner_id": partner_id, "context": {"stage": "negotiation", **context}, "n": 5}


def secret_of(key: str) -> str:
    """The secret of `reco_<scope>_<key id>_<secret>`: everything after the third '_' (the
    base64url secret may itself contain '_', so splitting at the last one is wrong)."""
    return key.split("_", 3)[3]
