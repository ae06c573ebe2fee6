"""The analysts' notebook runs top to bottom (as CI runs it) on a small demo workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recommender.workspace import Workspace
from tests.support import PROJECT_ROOT, SHARED_EMBED_CACHE

NOTEBOOK = PROJECT_ROOT / "notebooks" / "01-retrain-and-evaluate.ipynb"


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from demo.workspace import build_demo_workspace

    SHARED_EMBED_CACHE.parent.mkdir(parents=True, exist_ok=True)
    ws = Workspace.at(tmp_path_factory.mktemp("notebook") / "ws", embed_cache=SHARED_EMBED_CACHE)
    build_demo_workspace(ws, n_deals=300, n_events=30_000, regenerate=True, progress=False)
    return ws


def test_retrain_and_evaluate_notebook_runs_top_to_bottom(small_demo, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("RECO_WORKSPACE", str(small_demo.root))
    monkeypatch.setenv("RECO_EMBED_CACHE", str(SHARED_EMBED_CACHE))
    monkeypatch.setenv("RECO_TRAIN_TREES", "40")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(PROJECT_ROOT)}}
    )
    client.execute()
    outputs = "".join(
        o.get("text", "") + "".join(str(v) for v in o.get("data", {}).values())
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
    )
    assert "new version: v" in outputs
    assert "served by model v" in outputs
    # the evaluation it shows: against the truth (generated data), then off-policy estimates
    assert "gap closed" in outputs and "new assets (ranked among themselves)" in outputs
    assert "logged requests" in outputs and "position bias (" in outputs
    # The notebook promoted the version it trained.
    from recommender.storage.registry import Registry

    registry = Registry.of(small_demo)
    assert registry.promoted() == registry.versions()[-1].name
    assert os.environ["RECO_WORKSPACE"] == str(small_demo.root)
    assert Path(registry.root, registry.promoted(), "card.html").exists()


def test_notebooks_use_only_the_engines_public_api() -> None:
    import re

    import nbformat

    for path in sorted(NOTEBOOK.parent.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        inner = re.findall(r"^\s*(?:from|import) (recommender\.\S+)", code, flags=re.M)
        assert inner == [], f"{path.name} imports the engine's inner modules: {inner}"
        assert re.search(r"^from recommender import", code, flags=re.M), path.name
