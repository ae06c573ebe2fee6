"""The benchmark scripts live in `bench/` at the project root, which is not an installed
package: put the root on sys.path so that `pytest` finds them as well as `python -m pytest`.

`saved` is the results of the run that wrote the committed BENCHMARKS.md (fixtures/results/,
whose rendering is fixtures/BENCHMARKS.md): the targets and the report are tested on it."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

FIXTURES = Path(__file__).parent / "fixtures"
_SAVED = {
    p.stem: json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((FIXTURES / "results").glob("*.json"))
    if p.stem != "run_all"  # the runner's own record of the run, not a script's result
}


@pytest.fixture
def saved() -> dict[str, Any]:
    """{bench: its result JSON}, a fresh copy per test (tests change figures in it)."""
    return copy.deepcopy(_SAVED)


def learning_run(
    seed: int,
    *,
    gap: float = 0.5,
    cold: float = 1.0,
    before: float = 1.30,
    after: float = 1.35,
    estimates: dict[str, float] | None = None,
    on_policy: dict[str, float] | None = None,
) -> dict[str, Any]:
    """One (preset, seed) run of bench_learning as its JSON holds it, with the figures each
    target reads: gap closed, the cold-start ratio, the second loop's values before and after,
    and, when `estimates` ({model: the three estimators' value}) are given, an available
    off-policy block against `on_policy` ({model: value})."""
    from bench.bench_learning import off_policy_errors

    on_policy = on_policy or {"learned": 1.4, "playbook": 1.3}
    off: dict[str, Any] = {
        "available": estimates is not None,
        "reason": None
        if estimates is not None
        else "no impression of the window carries a propensity",
        "requests": 100,
        "on_policy": {m: {"opens": v} for m, v in on_policy.items()},
    }
    if estimates is not None:
        block = {"models": {m: {e: {"value": v, "ci_low": v - 0.1, "ci_high": v + 0.1,
                                    "ess": 50.0} for e in ("ips", "snips", "dr")}
                            for m, v in estimates.items()}}  # fmt: skip
        off["errors"] = off_policy_errors(block, on_policy)
    return {
        "seed": seed,
        "events": 1000,
        "requests": 100,
        "periods": [{"seconds": {"snapshot": 1.0, "serve": 2.0, "journal": 0.5, "train": 3.0}}],
        "truth": {
            "available": True,
            "queries": 50,
            "best_baseline": "playbook",
            "best_baseline_ndcg": 0.7,
            "learned_ndcg": 0.7 + 0.3 * gap,
            "oracle_ndcg": 1.0,
            "gap_closed": gap,
            "cold_start": {"learned_ndcg": 0.8 * cold, "playbook_ndcg": 0.8, "ratio": cold},
        },
        "second_loop": {
            "available": True,
            "requests": 100,
            "opens": {
                "before": before,
                "before_se": 0.03,
                "after": after,
                "after_se": 0.03,
                "change": after - before,
                "change_se": 0.01,
            },
            "graded": {"change": 2 * (after - before)},
            "chain": [{"policy": "playbook", "opens": 1.2}, {"policy": "oracle", "opens": 1.9}],
        },
        "off_policy": off,
        "seconds": {
            "catalog": 1.0,
            "closed_loop": 10.0,
            "train": 5.0,
            "off_policy": 2.0,
            "second_loop": 3.0,
            "total": 21.0,
        },
    }


def learning_result(presets: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A bench_learning result of the given runs per preset, summarised as the script does."""
    from bench.bench_learning import summarise, tables

    result: dict[str, Any] = {
        "benchmark": "learning",
        "config": {"deals": 3000, "events": 200_000},
        "presets": {p: {"runs": runs, "mean": summarise(runs)} for p, runs in presets.items()},
    }
    result["tables"] = tables(result)
    return result
