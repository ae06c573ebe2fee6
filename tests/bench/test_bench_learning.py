"""bench_learning end to end at a tiny size (real catalog, real closed loop, real training and
on-policy values), and its off-policy errors by hand. The targets it feeds are judged in
test_targets from hand-made results; here the figures are checked for what must hold whatever
the model learned: the oracle's true value bounds every policy's, the cold-start ratio is its
two NDCGs' ratio, and the second loop compares the models the loop itself promoted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import SHARED_EMBED_CACHE


def test_off_policy_errors_are_estimate_over_on_policy_minus_one() -> None:
    from bench.bench_learning import off_policy_errors

    block = {
        "models": {
            m: {e: {"value": v, "ci_low": 0.0, "ci_high": 2.0, "ess": 10.0}
                for e in ("ips", "snips", "dr")}
            for m, v in {"learned": 1.1, "playbook": 0.9, "oracle": 2.0}.items()
        }
    }  # fmt: skip
    errors = off_policy_errors(block, {"learned": 1.0, "playbook": 1.0, "absent": 1.0})
    assert set(errors) == {"learned", "playbook"}  # a model the block lacks is left out
    assert errors["learned"]["dr"]["rel_error"] == pytest.approx(0.1)
    assert errors["playbook"]["snips"]["rel_error"] == pytest.approx(-0.1)
    assert errors["playbook"]["ips"]["on_policy"] == 1.0


def test_a_tiny_run_gives_every_targets_figures(tmp_path: Path, capsys) -> None:
    from bench.bench_learning import main, seed_of
    from demo.generator import CONFIGS

    out = tmp_path / "learning.json"
    code = main(
        ["--presets", "second", "--seeds", "7", "--deals", "60", "--events", "5000",
         "--rounds", "3", "--value-requests", "80", "--exploration", "0.2",
         "--embed-cache", str(SHARED_EMBED_CACHE),
         "--workdir", str(tmp_path), "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    result = json.loads(out.read_text())
    (run,) = result["presets"]["second"]["runs"]
    assert run["seed"] == seed_of("second", 7) == CONFIGS["second"].seed
    assert len(run["periods"]) == 3 and run["events"] > 0
    assert run["exploration"] == 0.2 != CONFIGS["second"].exploration  # the portal explored so

    truth = run["truth"]
    assert truth["available"]
    assert truth["learned_ndcg"] <= truth["oracle_ndcg"] + 1e-9
    cold = truth["cold_start"]
    if cold["ratio"] is not None:
        assert cold["ratio"] == pytest.approx(cold["learned_ndcg"] / cold["playbook_ndcg"])

    loop = run["second_loop"]
    if loop["available"]:  # the loop's last two promoted models, valued on the same sample
        promoted = [p["trained"] for p in run["periods"] if p["trained"]]
        assert [loop["before"], loop["after"]] == promoted[-2:]
        chain = {c["policy"]: c["opens"] for c in loop["chain"]}
        assert max(chain.values()) == pytest.approx(chain["oracle"])
        assert loop["opens"]["change"] == pytest.approx(
            loop["opens"]["after"] - loop["opens"]["before"]
        )

    off = run["off_policy"]
    values = {name: v["opens"] for name, v in off["on_policy"].items()}
    assert max(values.values()) == pytest.approx(values["oracle"])
    if off["available"]:
        assert off["block_requests"] == off["requests"]  # the same requests as the block
        assert set(off["errors"]) == {"learned", "playbook"}

    printed = capsys.readouterr().out
    assert "1-2. NDCG@10 against true utility" in printed
    assert "4. off-policy estimates vs on-policy value" in printed
    assert result["presets"]["second"]["mean"]["seeds"] == [run["seed"]]
    # a missed target's profile says how far the quality is from the bar, then the time
    profile = result["profile"]["text"]
    assert profile.index("where the quality stands") < profile.index("where the time went")
    mean = result["presets"]["second"]["mean"]
    if "truth" in mean:
        best, oracle = mean["truth"]["best_baseline_ndcg"], mean["truth"]["oracle_ndcg"]
        assert f"needs {round(best + 0.7 * (oracle - best), 4)}" in profile
