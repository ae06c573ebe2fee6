"""A small real workspace and a real server for the console's end-to-end tests.

The workspace is built with the real engine: the first `N_ASSETS` assets of the demo catalog
(without their documents) plus hostile assets (a `<script>` title, a `javascript:` link),
ingested with the real multilingual-e5 embedder; the first `N_PARTNERS` demo partners; the
default playbook; two tiny model versions in the registry (each with a model card); a few
"open" events so that the awareness page has something to leave out; and one API key per
scope, created through the key store as an operator would.

The server is `uvicorn --factory service.app:create_app` in a subprocess on a free loopback
port, configured through RECO_* variables like any deployment.
"""

from __future__ import annotations

import json
import os
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

from demo import DEMO_DATA
from recommender.workspace import Workspace
from tests.support import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"

N_ASSETS = 60
N_PARTNERS = 24
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_ID = "X-HOSTILE-1"
HOSTILE_IMG_TITLE = '"><img src=x onerror=alert(3)> Battlecard'
HOSTILE_IMG_ID = "X-HOSTILE-2"
# Partner ids the tests use (from data/demo/partners.csv).
AWARE_PARTNER = "P0004"


def hostile_assets() -> list[dict[str, object]]:
    """Assets whose catalog text is markup: the console must show it as text."""
    return [
        {
            "asset_id": HOSTILE_ID,
            "title": HOSTILE_TITLE,
            "type": "white_paper",
            "language": "en",
            "summary": "A white paper whose title is a script tag; it must render as text. "
            "<b>bold?</b> It covers cloud data integration for discovery meetings.",
            "industries": [],
            "stages": ["discovery", "solution"],
            "url": "javascript:alert(2)",
            "status": "published",
        },
        {
            "asset_id": HOSTILE_IMG_ID,
            "title": HOSTILE_IMG_TITLE,
            "type": "battlecard",
            "language": "en",
            "summary": "A battlecard whose title tries to break out of an attribute.",
            "stages": ["negotiation"],
            "url": "https://enablement.example.com/assets/x2",
            "status": "published",
        },
    ]


@dataclass(frozen=True)
class E2EWorkspace:
    workspace: Workspace
    keys: dict[str, str]  # scope -> plain key
    versions: list[str]
    asset_ids: list[str]
    partner_ids: list[str]
    opened: list[str]  # assets AWARE_PARTNER opened


def _model_versions(ws: Workspace, count: int = 2) -> list[str]:
    """`count` tiny trained models in the registry (real format, real feature list)."""
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
            metrics={"ndcg@10": 0.1 * (i + 1), "recall@10": 0.2 * (i + 1)},
            card_html=card,
            now=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
        )
        names.append(version.name)
    return names


def build_workspace(root: Path) -> E2EWorkspace:
    """Build the e2e workspace under `root` (takes a few seconds: it embeds ~60 summaries)."""
    from recommender.catalog.ingest import ingest
    from recommender.embedding.embedders import get_embedder
    from recommender.ranking.build import build_snapshot
    from recommender.steering.partners import import_partners
    from recommender.steering.playbook import load_playbook
    from recommender.storage.events import EventJournal
    from recommender.storage.keys import create_key
    from service.console.analysis import awareness

    rows: list[dict[str, object]] = []
    with (DEMO_DATA / "assets.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                row.pop("document", None)
                rows.append(row)
            if len(rows) == N_ASSETS:
                break
    rows.extend(hostile_assets())
    src = root / "src"
    src.mkdir(parents=True)
    (src / "assets.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    lines = (DEMO_DATA / "partners.csv").read_text(encoding="utf-8").splitlines()
    (src / "partners.csv").write_text("\n".join(lines[: N_PARTNERS + 1]) + "\n", encoding="utf-8")
    partner_ids = [line.split(",", 1)[0] for line in lines[1 : N_PARTNERS + 1]]

    ws = Workspace.at(root / "ws").ensure()
    load_playbook(ws)
    embedder = get_embedder("e5")
    ingest(ws, [src / "assets.jsonl"], embedder=embedder, replace=True, progress=False)
    import_partners(ws, src / "partners.csv")
    versions = _model_versions(ws)
    asset_ids = [str(r["asset_id"]) for r in rows]

    # The partner "opened" its three most relevant assets, so that the awareness page has to
    # leave out assets it would otherwise list first.
    snapshot = build_snapshot(ws, embedder=embedder, use_model=False)
    ranked, _ = awareness(snapshot, snapshot.partners[AWARE_PARTNER], frozenset())
    opened = [item.asset_id for item in ranked[:3]]
    now = datetime.now(UTC)
    events = [
        {
            "event_id": f"e2e-open-{i}",
            "ts": (now - timedelta(days=1, minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "type": "open",
            "partner_id": AWARE_PARTNER,
            "asset_id": asset_id,
        }
        for i, asset_id in enumerate(opened)
    ]
    with EventJournal(ws.events_path) as journal:
        journal.append(
            events,
            known_assets=set(asset_ids),
            known_partners=set(partner_ids),
            all_or_nothing=True,
        )
    keys = {
        scope: create_key(ws, scope, f"e2e {scope}", actor="e2e-fixture")
        for scope in ("portal", "manager", "admin")
    }
    return E2EWorkspace(ws, keys, versions, asset_ids, partner_ids, opened)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def start_server(ws: Workspace, log_path: Path, *, env: dict[str, str] | None = None) -> Server:
    """uvicorn on a free loopback port, serving `ws`; returns once /readyz says ready."""
    port = free_port()
    full_env = {
        **os.environ,
        "RECO_WORKSPACE": str(ws.root),
        "RECO_MODELS_DIR": str(ws.models_dir),
        "RECO_LOG_LEVEL": "warning",
        "RECO_RATE_LIMIT_PER_SECOND": "0",
        "RECO_EMBEDDER_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "service.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
    ]  # fmt: skip
    log = log_path.open("wb")
    process = subprocess.Popen(
        cmd, cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return Server(url, process, log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    stop_server(Server(url, process, log_path))
    raise RuntimeError(f"server not ready in time:\n{log_path.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
