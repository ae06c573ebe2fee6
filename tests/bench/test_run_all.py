"""bench.run_all end to end without running a benchmark: `--render-only` turns a folder of
saved results into the document. The fixture folder holds the results of the run that wrote
the committed BENCHMARKS.md (a copy of which is the expected document), so every target row
and every section is checked against a real document, byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

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
