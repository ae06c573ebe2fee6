"""Fixtures for the service tests: a small real workspace, apps on it, and a real server.

The workspace is built once per session with the real engine: the first 30 assets of the demo
catalog (without their documents) ingested with the real multilingual-e5 embedder, 20 demo
partners, the default playbook, and two model versions in the registry (tiny LightGBM models on
the real feature list, written through `Registry.save`, so promotion loads them as it would
any trained model). Each test module gets its own copy, so modules that change the catalog do
not see each other's changes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from demo import DEMO_DATA
from recommender.embedding.embedders import Embedder, get_embedder
from recommender.workspace import Workspace
from tests.support import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:  # `pytest` as well as `python -m pytest` finds tests.*
    sys.path.insert(0, str(PROJECT_ROOT))

from tests.service.helpers import (
    N_ASSETS,
    N_PARTNERS,
    Api,
    Server,
    Template,
    copy_workspace,
    make_model_versions,
    make_settings,
    seed_usage,
    start_server,
    stop_server,
)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real multilingual-e5-small embedder, loaded once."""
    return get_embedder("e5")


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Template:
    from recommender.catalog.ingest import ingest
    from recommender.steering.partners import import_partners
    from recommender.steering.playbook import load_playbook

    base = tmp_path_factory.mktemp("service-template")
    rows = []
    with (DEMO_DATA / "assets.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                row.pop("document", None)  # documents are the ingest tests' business
                rows.append(row)
            if len(rows) == N_ASSETS:
                break
    src = base / "src"
    src.mkdir()
    (src / "assets.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    lines = (DEMO_DATA / "partners.csv").read_text(encoding="utf-8").splitlines()
    (src / "partners.csv").write_text("\n".join(lines[: N_PARTNERS + 1]) + "\n", encoding="utf-8")
    ws = Workspace.at(base / "ws").ensure()
    load_playbook(ws)
    ingest(ws, [src / "assets.jsonl"], embedder=embedder, replace=True, progress=False)
    import_partners(ws, src / "partners.csv")
    asset_ids = [r["asset_id"] for r in rows]
    partner_ids = [line.split(",", 1)[0] for line in lines[1 : N_PARTNERS + 1]]
    seed_usage(ws, asset_ids, partner_ids)
    versions = make_model_versions(ws, 2)
    return Template(ws, versions, asset_ids, partner_ids)


@pytest.fixture(scope="module")
def workspace(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A fresh copy of the template workspace for this test module."""
    return copy_workspace(template, tmp_path_factory.mktemp("ws") / "ws")


@pytest.fixture(scope="module")
def api(workspace: Workspace) -> Iterator[Api]:
    """The app on this module's workspace, started (lifespan run) and stopped around the module."""
    from service.app import create_app

    app = create_app(make_settings(workspace))
    with TestClient(app) as client:
        keys = dict(app.state.service.demo_keys)
        yield Api(client, keys, workspace)


@pytest.fixture(scope="module")
def server(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server process (one worker) on its own copy of the workspace."""
    base = tmp_path_factory.mktemp("server")
    ws = copy_workspace(template, base / "ws")
    srv = start_server(ws, base / "server.log")
    try:
        yield srv
    finally:
        stop_server(srv)
