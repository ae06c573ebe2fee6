"""`recommender experiments` as a user runs it, on a copy of the service tests' workspace
(two model versions): create, list, show, report (text and --json), stop; refusals are one
message and exit status 2, and nothing is stored."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from recommender import ExperimentStore
from recommender.storage import audit
from recommender.workspace import Workspace
from tests.support import Template, copy_workspace


@pytest.fixture(scope="module")
def ws(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return copy_workspace(template, tmp_path_factory.mktemp("cli-exp") / "ws")


def run(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "USER": "tester"}
    return subprocess.run(
        [sys.executable, "-m", "cli", "--workspace", str(ws.root), "--models",
         str(ws.models_dir), "experiments", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def generation(ws: Workspace) -> str:
    path = Path(ws.root) / ".service-generation"
    return path.read_text() if path.exists() else ""


def test_the_experiments_commands(ws: Workspace, template: Template) -> None:
    v1, v2 = template.versions
    before = generation(ws)
    made = run(ws, "create", "cli1", "--control", v1, "--treatment", v2, "--method", "ab",
               "--share", "0.3", "--segment", "tier=gold|silver")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "experiment cli1 is running: ab" in made.stdout
    assert generation(ws) != before  # running services rebuild to serve it
    listed = json.loads(run(ws, "list", "--json").stdout)
    assert [(e["name"], e["status"], e["share"]) for e in listed] == [("cli1", "running", 0.3)]
    assert listed[0]["segment"] == {"tier": ["gold", "silver"]}
    assert "cli1" in run(ws, "list").stdout
    shown = json.loads(run(ws, "show", "cli1", "--json").stdout)
    assert shown["created_by"] == "cli:tester" and shown["control"] == v1
    report = json.loads(run(ws, "report", "cli1", "--json").stdout)
    assert report["requests"] == 0 and report["method"] == "ab" and report["winner"] is None
    text = run(ws, "report", "cli1")
    assert text.returncode == 0 and "decision: no requests served" in text.stdout

    overlap = run(ws, "create", "cli2", "--control", v1, "--treatment", v2, "--method",
                  "interleave", "--segment", "tier=gold")  # fmt: skip
    assert overlap.returncode == 2 and "'cli1' is running" in overlap.stderr
    assert overlap.stdout == "" and "Traceback" not in overlap.stderr
    unknown = run(ws, "create", "cli3", "--control", v1, "--treatment", "v20990101-000000-x",
                  "--method", "ab", "--segment", "tier=platinum")  # fmt: skip
    assert unknown.returncode == 2 and "v20990101-000000-x" in unknown.stderr
    bad = run(ws, "create", "cli4", "--control", v1, "--treatment", v2, "--method", "ab",
              "--segment", "tier=platinum", "--share", "1.5")  # fmt: skip
    assert bad.returncode == 2 and "share=1.5" in bad.stderr
    assert run(ws, "show", "nope").returncode == 2

    stopped = run(ws, "stop", "cli1")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert run(ws, "stop", "cli1").returncode == 2
    with ExperimentStore(ws.console_path) as store:
        assert [(e.name, e.status) for e in store.list()] == [("cli1", "stopped")]
    with sqlite3.connect(ws.console_path) as conn:
        actions = [(e["action"], e["actor"]) for e in audit.entries(conn)][::-1]
    assert actions[-2:] == [("experiment.create", "cli:tester"), ("experiment.stop", "cli:tester")]
