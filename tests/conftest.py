"""Session-wide fixtures: the demo workspace, built once with the real engine, and the
service tests' template workspace (`template`: `tests.support.service_template`, copied by
the tests that change it).

`pg_server` and `database_url` (tests.pg) give a real PostgreSQL server and a fresh database;
`console_location` is each backend of the console database in turn.

Its embedding cache lives in `.cache/` at the project root (git-ignored) and is shared by the
whole session, so the demo catalog is embedded for real once per machine, not once per test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.embedding.embedders import get_embedder
from recommender.workspace import Workspace
from tests.pg import console_location, database_url, pg_server  # noqa: F401  (fixtures)
from tests.support import SHARED_EMBED_CACHE, Template, service_template


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The demo catalog, partners and playbook (no usage logs) in a temporary workspace."""
    from demo.workspace import build_demo_workspace

    ws = Workspace.at(tmp_path_factory.mktemp("demo") / "ws", embed_cache=SHARED_EMBED_CACHE)
    build_demo_workspace(ws, events=False, progress=False)
    return ws


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The service tests' workspace (30 demo assets embedded with the real e5 embedder, 20
    partners, a seeded usage log, two tiny model versions); copy it before changing it."""
    return service_template(tmp_path_factory, get_embedder("e5"))


def pytest_configure(config: pytest.Config) -> None:
    Path(SHARED_EMBED_CACHE).parent.mkdir(parents=True, exist_ok=True)
