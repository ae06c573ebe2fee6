"""A real snapshot for the outreach tests: a copy of the service tests' workspace (30 demo
assets embedded with the real e5 embedder, 20 demo partners with their managers, a seeded
usage log)."""

from __future__ import annotations

import pytest

from recommender.embedding.embedders import Embedder
from recommender.ranking.build import build_snapshot
from recommender.ranking.snapshot import Snapshot
from recommender.workspace import Workspace
from tests.support import Template, copy_workspace


@pytest.fixture(scope="module")
def workspace(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return copy_workspace(template, tmp_path_factory.mktemp("outreach") / "ws")


@pytest.fixture(scope="module")
def snapshot(workspace: Workspace, e5_embedder: Embedder) -> Snapshot:
    return build_snapshot(workspace, embedder=e5_embedder)
