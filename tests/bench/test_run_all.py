"""bench.run_all end to end without running a benchmark: `--render-only` turns a folder of
saved results into the document. The fixture folder holds the results of the run that wrote
the committed BENCHMARKS.md (a copy of which is the expected document), so every target row
and every section is checked against a real document, byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench import run_all

FIXTURES = Path(__file__).parent / "fixtures"


def _render(tmp_path: Path, *extra: str) -> tuple[Path, str]:
    results = tmp_path / "results"
    shutil.copytree(FIXTURES / "results", results)
    doc = tmp_path / "BENCHMARKS.md"
    args = ["--render-only", "--results", str(results), "--doc", str(doc), "--no-profile"]
    assert run_all.main([*args, *extra]) == 0
    return results, doc.read_text(encoding="utf-8")


def test_saved_results_render_the_committed_document(tmp_path: Path):
    results, text = _render(tmp_path)
    expected = (FIXTURES / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert text == expected.replace("`bench/results/", f"`{results}/")


def _results(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    shutil.copytree(FIXTURES / "results", results)
    return results


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_failed_script_leaves_no_figures_even_with_an_older_result(tmp_path: Path):
    results = _results(tmp_path)
    _edit(results / "run_all.json", lambda d: d["records"][4].update(status="failed (exit 1)"))
    doc = tmp_path / "doc.md"
    code = run_all.main(["--render-only", "--results", str(results), "--doc", str(doc)])
    assert code == 1  # a failed script fails the run
    text = doc.read_text(encoding="utf-8")
    assert "## 4. Training" not in text  # training.json is still there, from an older run
    memory = "| training on 1M events: peak memory (bench_training's target) | <= 4096 MB |"
    assert f"{memory} - | not measured |" in text
    assert "| training | failed (exit 1) |" in text


def test_missed_targets_take_the_scripts_own_profile_else_the_saved_one(tmp_path: Path):
    results = _results(tmp_path)

    def slow_100k(d):
        row = next(r for r in d["rows"] if r["assets"] == 100_000 and r["requests"] == "no notes")
        row["p99_ms"] = 25.0
        d["profile"] = {"100,000": {"missed": ["p99"], "text": "OWN PROFILE"}}

    _edit(results / "recommend.json", slow_100k)
    _edit(results / "training.json", lambda d: d["runs"][1].update(total_s=130.0))
    (results / "logs").mkdir()
    (results / "logs" / "profile-training.log").write_text("SAVED TRAINING PROFILE\n")
    doc = tmp_path / "doc.md"
    assert run_all.main(["--render-only", "--results", str(results), "--doc", str(doc)]) == 0
    missed = doc.read_text(encoding="utf-8").split("## Missed targets: where the time goes")[1]
    assert missed.split("### ")[1:] == [
        "recommend p99 without notes, 100k assets\n\n```\nOWN PROFILE\n```\n\n",
        "HTTP paced, workers=1 (issue 4)\n\n```\nno profile recorded: this script has no "
        "profiler (for HTTP, the in-process request path is profiled by `python -m "
        "bench.profile_notes recommend`)\n```\n\n",
        "training on 1M events (wall, `recommender train` end to end)\n\n```\n"
        "SAVED TRAINING PROFILE\n```\n",
    ]


def test_unknown_scripts_are_refused(capsys):
    with pytest.raises(SystemExit):
        run_all.main(["--only", "recommend,nope", "--render-only"])
    assert "unknown script(s) ['nope']" in capsys.readouterr().err


def test_quick_flags_a_script_does_not_know_are_dropped():
    help_text = "usage: x [--sizes SIZES] [--requests N] [--out OUT]"
    args = ["--sizes", "demo,1000", "--naive-requests", "20", "--no-cold", "--requests", "100"]
    assert run_all._known_args(args, help_text) == ["--sizes", "demo,1000", "--requests", "100"]
