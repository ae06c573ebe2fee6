"""The generator's oracle: the true utility at the query's stage, aligned with any catalog
order, and nothing for a workspace without generator output."""

from __future__ import annotations

import numpy as np
import pytest

from demo.generator import GeneratorConfig, generate, true_utility, write_generated
from demo.oracle import GeneratorOracle, oracle_for
from features.pairs import AssetTable
from recommender.workspace import Workspace
from tests.support import PROJECT_ROOT


def test_the_oracle_is_the_generators_truth_at_the_querys_stage(tmp_path):
    data = generate(GeneratorConfig(seed=3, n_assets=30, n_partners=10, n_deals=40, n_events=3000))
    ws = Workspace.at(tmp_path / "ws")
    write_generated(data, ws.generated_dir)
    oracle = oracle_for(ws)
    assert isinstance(oracle, GeneratorOracle) and oracle.config.seed == 3
    table = AssetTable.from_frame(data.assets.iloc[::-1].reset_index(drop=True))  # another order
    deal = data.deals.iloc[[5]].assign(stage="closing")
    u = oracle.utility([deal["deal_id"].iloc[0]], ["closing"], table)[0]
    truth = true_utility(deal.reset_index(drop=True), data.assets, data.partners, data.config)[0]
    np.testing.assert_allclose(u, truth[::-1])
    assert np.all(np.isinf(oracle.utility(["no-such-deal"], ["closing"], table)))


def test_no_workspace_generator_output_means_no_oracle(tmp_path):
    assert oracle_for(Workspace.at(tmp_path / "ws")) is None


@pytest.mark.parametrize(
    "module", ["demo.oracle", "demo.generator", "demo.generator.loop", "demo.workspace"]
)
def test_each_demo_module_imports_first_in_a_fresh_interpreter(module):
    """The closed loop trains with the oracle: importing either side first must work (the
    notebook imports demo.oracle before anything else)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
