"""bench_experiments end to end on a tiny world: the rankers are calibrated to the asked NDCG
gap, every size's pick rates are shares of the experiments, and A/B's requirement is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_a_tiny_run_reports_power_by_size_and_the_ab_requirement(tmp_path: Path, capsys) -> None:
    from bench.bench_experiments import main

    out = tmp_path / "experiments.json"
    code = main(["--deals", "150", "--experiments", "3", "--requests", "400", "--gap", "0.1",
                 "--engine-deals", "0", "--out", str(out)])  # fmt: skip
    assert code == 0
    result = json.loads(out.read_text())
    assert [r["requests"] for r in result["interleaving"]] == [100, 200, 400]
    for row in result["interleaving"]:
        assert 0 <= row["picks treatment"] + row["picks control"] <= 1
        assert row["picks treatment"] * 3 == pytest.approx(round(row["picks treatment"] * 3))
    q = result["quality"]
    assert q["ndcg_treatment"] > q["ndcg_control"]
    assert result["ndcg_gap"] == pytest.approx(0.1, abs=0.05)  # calibrated on other requests
    assert result["control_noise"] > result["config"]["treatment_noise"]
    assert result["ab_requests_90"] > 0 and result["ab_requests_90"] % 2 == 0
    assert "interleaving reaches 90% power" in capsys.readouterr().out
