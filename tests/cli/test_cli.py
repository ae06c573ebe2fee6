"""The `recommender` command end to end on the demo workspace, as a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from recommender.workspace import Workspace


def run(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RECO_EMBED_CACHE": str(ws.cache_path)}
    return subprocess.run(
        [sys.executable, "-m", "cli", "--workspace", str(ws.root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_recommend_json(demo_workspace):
    out = run(
        demo_workspace,
        "recommend",
        "--partner",
        "P0001",
        "--stage",
        "negotiation",
        "--industry",
        "manufacturing",
        "--notes",
        "клієнт просить порахувати окупність",
        "-n",
        "5",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert len(payload["items"]) == 5
    for item in payload["items"]:
        assert set(item) >= {"asset_id", "title", "type", "language", "score", "reasons"}
        assert item["reasons"] and all(isinstance(r, str) for r in item["reasons"])
    scores = [i["score"] for i in payload["items"]]
    assert scores[0] == max(scores)


def test_recommend_text(demo_workspace):
    out = run(
        demo_workspace, "recommend", "--partner", "P0002", "--stage", "prospecting", "-n", "3"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n 1. ") + out.stdout.count("\n 2. ") + out.stdout.count("\n 3. ") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recommend", "--partner", "NOPE", "--stage", "closing"], "partner 'NOPE' not found"),
        (
            ["recommend", "--partner", "P0001", "--stage", "negotiaton"],
            "invalid choice: 'negotiaton'",
        ),
    ],
    ids=["unknown-partner", "unknown-stage"],
)
def test_bad_requests_exit_2_with_a_message(demo_workspace, args, message):
    out = run(demo_workspace, *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_ingest_reports_every_problem_and_keeps_the_catalog(demo_workspace, tmp_path):
    before = (demo_workspace.catalog_dir / "assets.parquet").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "asset_id,title,type,summary,stages\n"
        "N1,Good,faq,fine,closing\n"
        "N2,Bad type,brochure,text,closing\n"
        "N3,Bad stage,faq,text,negotiaton\n",
        encoding="utf-8",
    )
    out = run(demo_workspace, "ingest", str(bad))
    assert out.returncode == 2
    assert "row 2, column 'type'" in out.stderr and "row 3, column 'stages'" in out.stderr
    assert (demo_workspace.catalog_dir / "assets.parquet").read_bytes() == before


def test_ingest_prints_near_duplicates_and_proposed_families(tmp_path):
    from tests.family_catalog import family_rows

    rows = [{k: v for k, v in r.items() if k != "family_id"} for r in family_rows()]
    source = tmp_path / "assets.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    ws = Workspace.at(tmp_path / "ws")
    out = run(ws, "ingest", str(source))
    assert out.returncode == 0, out.stderr
    assert "1 near-duplicate pair(s): a list shows one of each" in out.stdout
    assert "gateway-datasheet ~ gateway-datasheet-v2: resemblance 0." in out.stdout
    assert "proposed famil(ies): likely translations" in out.stdout
    assert "case-bank-en ~ case-bank-" in out.stdout
    assert str(ws.similar_path) in out.stdout
    strict = run(ws, "ingest", str(source), "--near-duplicate-threshold", "0.99")
    assert strict.returncode == 0, strict.stderr
    assert "near-duplicate" not in strict.stdout
