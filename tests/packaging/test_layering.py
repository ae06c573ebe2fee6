"""The import rules of pyproject.toml ([tool.importlinter]) hold, and import-linter really
catches a back-arrow: the same check on a copy of the code with one planted import fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT

PACKAGES = ("features", "recommender", "service", "cli", "demo", "bench", "tests")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the code under `root` (its packages first on the import path)."""
    env = dict(os.environ, PYTHONPATH=str(root))
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), str(root / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_import_rules_hold() -> None:
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and "KEPT" in result.stdout


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    for name in PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / name,
            root / name,
            ignore=shutil.ignore_patterns("__pycache__", "results", "*.sqlite*", "data"),
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("recommender/ranking/content.py", "import service.config", "recommender never imports"),
        ("features/pairs.py", "import recommender.types", "features imports nothing of ours"),
        ("recommender/storage/usage.py", "import recommender.ranking.snapshot", "rooms depend"),
        ("service/deps.py", "import recommender.ranking.snapshot", "only its public API"),
        ("service/app.py", "import cli.main", "service never imports"),
    ],
    ids=["core->service", "features->core", "storage->ranking", "service->room", "service->cli"],
)
def test_a_planted_back_arrow_is_caught(
    tmp_path: Path, module: str, planted: str, contract: str
) -> None:
    root = _copy(tmp_path)
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{planted}  # planted\n", "utf-8")
    result = lint_imports(root)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert len(broken) == 1 and contract in broken[0], result.stdout
