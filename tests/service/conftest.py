"""Fixtures for the service tests: a small real workspace, apps on it, and a real server.

The workspace is `tests.support.service_template`, built once per session with the real
engine: the first 30 assets of the demo catalog (without their documents) ingested with the
real multilingual-e5 embedder, 20 demo partners, the default playbook, a seeded usage log and
two model versions in the registry (tiny LightGBM models on the real feature list, written
through `Registry.save`, so promotion loads them as it would any trained model). Each test
module gets its own copy, so modules that change the catalog do not see each other's changes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from recommender.ranking.exploration import Exploration
from recommender.workspace import Workspace
from tests.support import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:  # `pytest` as well as `python -m pytest` finds tests.*
    sys.path.insert(0, str(PROJECT_ROOT))

from tests.service.helpers import Api
from tests.support import (
    Server,
    Template,
    copy_workspace,
    make_settings,
    serve_copy,
)


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


@pytest.fixture
def steady(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    """`api` serving each ranking as it is (no exploration), for a test that compares the
    slots of two responses: the exploration would move a slot at random (its own tests check
    it)."""
    monkeypatch.setattr(api.state, "exploration", Exploration(rate=0.0))
    return api


@pytest.fixture(scope="module")
def server(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server process (one worker) on its own copy of the workspace."""
    yield from serve_copy(template, tmp_path_factory, "server")
