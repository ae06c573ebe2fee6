"""Experiments in a generated world: interleaving and A/B find the truly better policy (the
oracle against a noisy copy of it, or a random one), in both directions, and call two equal
policies even."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demo.generator import (
    GeneratorConfig,
    NoisyOraclePolicy,
    OraclePolicy,
    RandomPolicy,
    World,
    on_policy_value,
    simulate_ab,
    simulate_interleaving,
)
from demo.generator.behaviour import schedule_requests


@pytest.fixture(scope="module")
def world_and_requests():
    config = GeneratorConfig.preset(
        "default", n_assets=60, n_partners=60, n_deals=400, n_events=20_000
    )
    world = World.build(config)
    r = schedule_requests(world.rng("requests"), world.sim.visits, world.lam)
    n = min(3000, len(r))
    requests = pd.DataFrame(
        {"request_id": [f"q{i:05d}" for i in range(n)], "deal": r.deal[:n], "stage": r.stage[:n],
         "t": r.t[:n]}
    )  # fmt: skip
    return world, requests


def test_interleaving_prefers_the_truly_better_ranker(world_and_requests) -> None:
    world, requests = world_and_requests
    better, worse = OraclePolicy(), NoisyOraclePolicy(noise=1.5)
    values = {name: on_policy_value(p, world, requests).opens for name, p in
              (("better", better), ("worse", worse))}  # fmt: skip
    assert values["better"] > values["worse"]
    run = simulate_interleaving(world, requests, worse, better, seed=1)
    assert run.requests == len(requests)
    assert run.test.win_rate > 0.5 and run.test.p_value < 0.05
    swapped = simulate_interleaving(world, requests, better, worse, seed=1)
    assert swapped.test.win_rate < 0.5 and swapped.test.p_value < 0.05
    # the same ranker on both sides: wins and losses balance
    same = simulate_interleaving(world, requests, worse, NoisyOraclePolicy(noise=1.5), seed=1)
    assert same.test.p_value > 0.01 and same.test.wins + same.test.losses > 100


def test_ab_finds_the_better_arm_and_calls_an_aa_test_even(world_and_requests) -> None:
    world, requests = world_and_requests
    run = simulate_ab(world, requests, RandomPolicy(seed=2), OraclePolicy(), seed=3)
    assert run.treatment > run.control and run.ci_low > 0
    assert run.p_values[-1] < 0.05
    assert list(run.p_values) == sorted(run.p_values, reverse=True)  # never rises
    assert sum(run.requests) == len(requests) and min(run.partners) > 10
    aa = simulate_ab(world, requests, OraclePolicy(), OraclePolicy(), seed=3)
    assert aa.ci_low < 0 < aa.ci_high and aa.p_values[-1] > 0.05
    assert np.isclose(aa.difference, 0.0, atol=0.2)
