"""Experiments between two rankers of known quality in a generated world: how often team-draft
interleaving finds the better one, and how many requests it needs against an A/B test.

The rankers are `NoisyOraclePolicy`s (the true utility plus noise, fresh noise per experiment):
the treatment's noise is fixed and the control's is chosen so that the treatment's NDCG@10
against the true utility is `--gap` (5%) above the control's on a calibration sample. Each of
`--experiments` experiments draws its own requests (a seeded sample of the world's) and its own
engagement, and interleaves the two rankers on them (`simulate_interleaving`). Reported, for each
number of requests N: the share of experiments whose binomial test on the first N requests
picks the treatment at p < 0.05 (power), and the share that picks the control (false picks).
The interleaving's N for 90% power is the smallest N with power >= 0.9. A/B: the requests a
two-sided z-test needs for 90% power at alpha 0.05 (`recommender.sample_size`, half the
requests in each arm), from the true difference of engaged slots per request (exact, under the
click model) and the per-request standard deviations an A/B run of the same rankers shows.

End to end (`--engine-deals`, 0 to skip): a closed loop of the default preset (the demo
catalog and partners, `--engine-deals` deals, 3 periods, each ending with a retraining) gives
three model versions; an interleaving experiment between the first and the last is then run
by the engine itself on `--engine-requests` of the world's requests (`run_engine_experiment`:
served through the same code as the service, engagement from the click model, impressions
and opens journaled, the report read from the journal), beside each version's true NDCG@10.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import print_table, write_result

SIZES = (100, 200, 400, 800, 1600, 3200, 6400, 12800)


def build(deals: int, seed: int) -> tuple[Any, pd.DataFrame]:
    """The default preset's world at `deals` deals and all its scheduled requests."""
    from demo.generator import GeneratorConfig, World
    from demo.generator.behaviour import schedule_requests

    world = World.build(GeneratorConfig.preset("default", seed=seed, n_deals=deals))
    r = schedule_requests(world.rng("requests"), world.sim.visits, world.lam)
    requests = pd.DataFrame(
        {
            "request_id": [f"q{i:06d}" for i in range(len(r))],
            "deal": r.deal,
            "stage": r.stage,
            "t": r.t,
        }
    )
    return world, requests


def ndcg(world: Any, requests: pd.DataFrame, policy: Any) -> float:
    from demo.generator.value import request_arrays, slate_ndcg

    arrays, ids = request_arrays(requests)
    k = world.config.impressions_per_request
    return float(slate_ndcg(world, arrays, policy.slates(world, arrays, ids, k)).mean())


def control_noise(world: Any, sample: pd.DataFrame, treatment: float, gap: float) -> float:
    """The control's noise whose NDCG@10 is the treatment's / (1 + gap) (bisection)."""
    from demo.generator import NoisyOraclePolicy

    target = ndcg(world, sample, NoisyOraclePolicy(treatment, salt="cal-t")) / (1 + gap)
    lo, hi = treatment, treatment * 8 + 1
    for _ in range(14):
        mid = (lo + hi) / 2
        if ndcg(world, sample, NoisyOraclePolicy(mid, salt="cal-c")) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def main(argv: list[str] | None = None) -> int:
    from demo.generator import NoisyOraclePolicy, on_policy_value, request_sample
    from demo.generator.experiment import simulate_ab, simulate_interleaving
    from recommender import binomial_test, sample_size

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--deals", type=int, default=3000)
    parser.add_argument("--experiments", type=int, default=50)
    parser.add_argument("--gap", type=float, default=0.05, help="relative NDCG@10 difference")
    parser.add_argument("--treatment-noise", type=float, default=0.5)
    parser.add_argument("--requests", type=int, default=max(SIZES))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--engine-deals", type=int, default=300, help="0: no end-to-end run")
    parser.add_argument("--engine-requests", type=int, default=3000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    world, requests = build(args.deals, args.seed)
    calibration = request_sample(requests, 2000, seed=10_000)
    noise_c = control_noise(world, calibration, args.treatment_noise, args.gap)
    sizes = [n for n in SIZES if n <= min(args.requests, len(requests))]
    picks = {n: {"treatment": 0, "control": 0} for n in sizes}
    quality: list[dict[str, float]] = []
    for i in range(args.experiments):
        sample = request_sample(requests, max(sizes), seed=i)
        sample = sample.sample(frac=1.0, random_state=i).reset_index(drop=True)  # arrival order
        control = NoisyOraclePolicy(noise_c, salt=f"c{i}")
        treatment = NoisyOraclePolicy(args.treatment_noise, salt=f"t{i}")
        run = simulate_interleaving(world, sample, control, treatment, seed=i)
        for n in sizes:
            head = run.outcomes[:n]
            test = binomial_test(int((head > 0).sum()), int((head < 0).sum()))
            if test.p_value < 0.05:
                picks[n]["treatment" if test.win_rate > 0.5 else "control"] += 1
        if i < 5:  # the rankers' true quality and an A/B run of them, on a few experiments
            ab = simulate_ab(world, sample, control, treatment, name=f"ab{i}", seed=i)
            quality.append(
                {
                    "ndcg_control": ndcg(world, sample, control),
                    "ndcg_treatment": ndcg(world, sample, treatment),
                    "opens_control": on_policy_value(control, world, sample).opens,
                    "opens_treatment": on_policy_value(treatment, world, sample).opens,
                    "sd_control": ab.sd[0],
                    "sd_treatment": ab.sd[1],
                }
            )
        print(f"experiment {i + 1}/{args.experiments}", file=sys.stderr, flush=True)
    q = {k: float(np.mean([row[k] for row in quality])) for k in quality[0]}
    rows = [
        {
            "requests": n,
            "picks treatment": picks[n]["treatment"] / args.experiments,
            "picks control": picks[n]["control"] / args.experiments,
        }
        for n in sizes
    ]
    powered = [n for n in sizes if picks[n]["treatment"] / args.experiments >= 0.9]
    ab_per_arm = sample_size(
        q["opens_treatment"] - q["opens_control"], q["sd_treatment"], q["sd_control"], power=0.9
    )
    result = {
        "benchmark": "experiments",
        "config": vars(args),
        "control_noise": noise_c,
        "quality": q,
        "ndcg_gap": q["ndcg_treatment"] / q["ndcg_control"] - 1,
        "interleaving": rows,
        "interleaving_requests_90": powered[0] if powered else None,
        "ab_requests_90": 2 * ab_per_arm,
        "worst_false_pick_rate": max(r["picks control"] for r in rows),
    }
    print_table(rows, ["requests", "picks treatment", "picks control"])
    print(
        f"NDCG@10 treatment {q['ndcg_treatment']:.4f} vs control {q['ndcg_control']:.4f} "
        f"({100 * result['ndcg_gap']:+.1f}%); interleaving reaches 90% power at "
        f"{result['interleaving_requests_90']} requests; A/B needs {result['ab_requests_90']} "
        f"(opens/request {q['opens_treatment']:.4f} vs {q['opens_control']:.4f}); "
        f"{time.perf_counter() - started:.0f} s"
    )
    if args.engine_deals:
        result["engine"] = engine_experiment(args.engine_deals, args.engine_requests)
        e = result["engine"]
        print(
            f"end to end: {e['control']} (true NDCG@10 {e['true_ndcg']['control']:.4f}) vs "
            f"{e['treatment']} ({e['true_ndcg']['treatment']:.4f}) on {e['requests']} requests: "
            f"treatment wins {e['wins']}, loses {e['losses']}, ties {e['ties']}, p = "
            f"{e['p_value']:.3g}; the report's winner: {e['winner']} (truly better: "
            f"{e['truly_better']}); {e['seconds']} s"
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_result(result, args.out)
    return 0


def engine_experiment(deals: int, n_requests: int) -> dict[str, Any]:
    """The end-to-end run of the module docstring, in a temporary folder."""
    import shutil
    import tempfile

    from demo.generator import (
        GeneratorConfig,
        World,
        closed_loop,
        request_sample,
        run_engine_experiment,
    )
    from demo.workspace import build_demo_workspace
    from recommender import Registry, Workspace, get_embedder

    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="bench-experiments-"))
    try:
        ws = Workspace.at(root / "ws", root / "models")
        build_demo_workspace(ws, events=False, progress=False)
        config = GeneratorConfig.preset("default", n_deals=deals, n_events=deals * 60, rounds=3)
        world = World.build(config)
        embedder = get_embedder("e5")
        loop = closed_loop(ws, config, world=world, embedder=embedder)
        versions = [v.name for v in Registry.of(ws).versions()]
        sample = request_sample(loop.requests, n_requests, seed=5)
        out = run_engine_experiment(
            ws, world, sample, name="bench-e2e", control=versions[0], treatment=versions[-1],
            method="interleave", embedder=embedder,
        )  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
    i = out.report["interleaving"]
    return {
        "deals": deals,
        "control": versions[0],
        "treatment": versions[-1],
        "requests": out.requests,
        "true_ndcg": out.true_ndcg,
        "truly_better": max(out.true_ndcg, key=lambda side: out.true_ndcg[side]),
        "wins": i["wins"],
        "losses": i["losses"],
        "ties": i["ties"],
        "p_value": i["p_value"],
        "winner": out.report["winner"],
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
