"""The package is a real package: its wheel, installed into a fresh virtual environment with no
checkout beside it, builds the demo workspace and recommends from it.

Everything the commands need (the demo catalog and documents, the default playbook, the
console's templates and locale files) must come from inside the wheel: the commands run in a
temporary folder, with the checkout out of sys.path, and report where they read the demo from.
The environment's dependencies are installed by pip as a user's would be (from the pip cache
that `make install` filled, so no download is repeated).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.pop("RECO_WORKSPACE", None)
    env.pop("RECO_EMBED_CACHE", None)
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


# What a source distribution of the project holds (the build must not need anything else).
SOURCES = ("pyproject.toml", "README.md", "features", "recommender", "service", "cli", "demo")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # built from a copy, so that the build leaves nothing in the checkout (build/, egg-info)
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = PROJECT_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    dist = tmp_path_factory.mktemp("dist")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist)]
    _run([*pip_wheel, str(source)], cwd=dist, timeout=600)
    (built,) = dist.glob("enablement_recommender-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", str(root / "env")], cwd=root, timeout=300)
    pip = root / "env" / "bin" / "pip"
    _run([str(pip), "install", "-q", str(wheel)], cwd=root, timeout=1800)
    return root / "env"


def test_the_wheel_carries_the_data_the_package_reads(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "recommender/steering/default_playbook.yaml",
        "demo/data/assets.jsonl",
        "demo/data/partners.csv",
        "demo/data/playbook.yaml",
        "demo/data/documents/partner-enablement-faq.uk.txt",
        "service/console/templates/base.html",
        "service/console/locales/en.yaml",
        "service/console/locales/uk.yaml",
        "demo/data/phrases/titles.yaml",
    ):
        assert needed in names, f"{needed} is missing from {wheel.name}"
    assert not any(n.startswith(("tests/", "bench/", "notebooks/")) for n in names)


def test_demo_and_recommend_run_from_the_installed_wheel(venv: Path, tmp_path: Path) -> None:
    recommender = str(venv / "bin" / "recommender")
    ws = tmp_path / "ws"
    built = _run(
        [recommender, "--workspace", str(ws), "demo", "--deals", "200", "--events", "20000"],
        cwd=tmp_path,
        timeout=900,
    )
    site = str(venv / "lib")
    # the demo's partners (and catalog) were read from the installed package
    assert f"from {site}" in built.stdout, built.stdout
    assert str(PROJECT_ROOT) not in built.stdout
    assert (ws / "catalog" / "assets.parquet").is_file() and (ws / "events.sqlite").is_file()
    assert (ws / "playbook.yaml").read_text(encoding="utf-8") == (
        PROJECT_ROOT / "recommender" / "steering" / "default_playbook.yaml"
    ).read_text(encoding="utf-8")
    answer = _run(
        [
            recommender,
            "--workspace",
            str(ws),
            "recommend",
            "--partner",
            "P0001",
            "--stage",
            "negotiation",
            "--notes",
            "клієнт просить порахувати окупність",
            "-n",
            "5",
            "--json",
        ],
        cwd=tmp_path,
        timeout=300,
    )
    payload = json.loads(answer.stdout)
    # the demo's closed loop ended by promoting the model it trained last
    promoted = (ws / "models" / "PROMOTED").read_text(encoding="utf-8").strip()
    assert payload["model_version"] == promoted and promoted.startswith("v")
    assert len(payload["items"]) == 5
    assert all(item["reasons"] for item in payload["items"])
    # a note asking for a payback calculation finds a calculator
    assert any(item["type"].endswith("calculator") for item in payload["items"])
