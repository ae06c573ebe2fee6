"""Open Bandit Pipeline's slate estimators (zr-obp 0.5.5), ported as independent references:
where both apply, IPS and SNIPS equal its independent IPS, DR its doubly robust estimate, and
the bootstrap intervals agree."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.learning.off_policy import (
    SlateLog,
    estimate_dr,
    estimate_ips,
    estimate_snips,
)

# --------------------------------------------------------------------------- Open Bandit Pipeline
#
# obp does not install here (Python < 3.11), so its formulas are ported below, line for line,
# from zr-obp 0.5.5 (github.com/st-tech/zr-obp, commit 8cbd5fa): obp/ope/estimators_slate.py
# (SlateIndependentIPS, SelfNormalizedSlateIndependentIPS, the slate bootstrap),
# obp/ope/estimators.py (DoublyRobust._estimate_round_rewards, with lambda_ clipping) and
# obp/utils.py (estimate_confidence_interval_by_bootstrap).
#
# obp's IIPS weighs the reward in logged slot l by pi_e(a | x, l) / pi_b(a | x, l): the target
# must want the same asset in the same slot. Ours moves rewards between slots through theta.
# The two coincide when every asset the target shares with the log sits in the same slot
# (theta_j / theta_k = 1) and propensity_shown = propensity: the inputs below.


def _obp_iips(slate_id, reward, position, pscore_item_position, evaluation_pscore_item_position):
    # SlateIndependentIPS.estimate_policy_value / BaseSlateInverseProbabilityWeighting
    iw = evaluation_pscore_item_position / pscore_item_position
    estimated_rewards = reward * iw
    return estimated_rewards, estimated_rewards.sum() / np.unique(slate_id).shape[0]


def _obp_sn_iips(
    slate_id, reward, position, behavior_policy_pscore, evaluation_policy_pscore, len_list
):
    # BaseSlateSelfNormalizedInverseProbabilityWeighting._estimate_round_rewards
    estimated_rewards = np.zeros_like(behavior_policy_pscore)
    iw = np.zeros_like(behavior_policy_pscore)
    for pos_ in range(len_list):
        idx = position == pos_
        iw[idx] = evaluation_policy_pscore[idx] / behavior_policy_pscore[idx]
        estimated_rewards[idx] = reward[idx] * iw[idx] / iw[idx].mean()
    return estimated_rewards.sum() / np.unique(slate_id).shape[0]


def _obp_dr_round_rewards(
    reward, action, pscore, action_dist, estimated_rewards_by_reg_model, position, lambda_
):
    # DoublyRobust._estimate_round_rewards
    n = action.shape[0]
    iw = action_dist[np.arange(n), action, position] / pscore
    iw = np.minimum(iw, lambda_)
    q_hat_at_position = estimated_rewards_by_reg_model[np.arange(n), :, position]
    q_hat_factual = estimated_rewards_by_reg_model[np.arange(n), action, position]
    pi_e_at_position = action_dist[np.arange(n), :, position]
    estimated_rewards = np.average(q_hat_at_position, weights=pi_e_at_position, axis=1)
    estimated_rewards += iw * (reward - q_hat_factual)
    return estimated_rewards


def _obp_slate_bootstrap(slate_id, estimated_rewards, alpha, n_bootstrap_samples, random_state):
    # BaseSlateInverseProbabilityWeighting._estimate_slate_confidence_interval_by_bootstrap
    # and utils.estimate_confidence_interval_by_bootstrap (check_random_state(int) is a
    # RandomState)
    unique_slate = np.unique(slate_id)
    samples = np.array([estimated_rewards[slate_id == slate].sum() for slate in unique_slate])
    random_ = np.random.RandomState(random_state)
    boot_samples = [
        np.mean(random_.choice(samples, size=samples.shape[0])) for _ in range(n_bootstrap_samples)
    ]
    return (
        np.percentile(boot_samples, 100 * (alpha / 2)),
        np.percentile(boot_samples, 100 * (1.0 - alpha / 2)),
    )


def _same_slot_case(seed: int, n_requests: int = 300, n_slots: int = 4, n_assets: int = 15):
    """Random logs and targets where every shared asset keeps its slot; graded rewards."""
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((n_requests, n_assets)), axis=1)
    logged, others = order[:, :n_slots], order[:, n_slots : 2 * n_slots]
    target = np.where(rng.random((n_requests, n_slots)) < 0.6, logged, others)
    theta = np.concatenate([[1.0], np.sort(rng.uniform(0.2, 1.0, n_slots - 1))[::-1]])
    arrays = {
        "request": np.repeat(np.arange(n_requests), n_slots),
        "position": np.tile(np.arange(n_slots), n_requests),
        "asset": logged.ravel(),
        "propensity": rng.uniform(0.05, 1.0, n_requests * n_slots),
        "reward": rng.choice([0.0, 0.0, 1.0, 2.0], n_requests * n_slots),
    }
    gamma_hat = rng.uniform(0.0, 0.5, (n_requests, n_assets))  # a reward model
    return arrays, logged, target, theta, gamma_hat


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ips_and_snips_equal_obps_independent_ips_where_both_apply(seed):
    arrays, logged, target, theta, _ = _same_slot_case(seed)
    log = SlateLog(**arrays)  # no propensity_shown: each asset only in its logged slot
    wanted = (target == logged).ravel().astype(float)  # pi_e(logged asset | x, its slot)
    obp_args = (arrays["request"], arrays["reward"], arrays["position"], arrays["propensity"])
    _, obp_ips = _obp_iips(*obp_args, wanted)
    assert estimate_ips(log, target, theta).value == pytest.approx(obp_ips, rel=1e-12)
    obp_snips = _obp_sn_iips(*obp_args, wanted, len_list=4)
    assert estimate_snips(log, target, theta).value == pytest.approx(obp_snips, rel=1e-12)


def _obp_dr_case(arrays, target, theta, gamma_hat, lambda_=np.inf):
    """obp's DR round rewards on a same-slot case: its rounds are our impressions, its
    q_hat(x, a, slot) = theta_slot * gamma_hat(x, a), and its evaluation policy puts the
    target's asset of each slot there with probability 1."""
    request, position = arrays["request"], arrays["position"]
    n_slots, n_assets = target.shape[1], gamma_hat.shape[1]
    action_dist = np.zeros((request.size, n_assets, n_slots))
    for slot in range(n_slots):
        action_dist[np.arange(request.size), target[request, slot], slot] = 1.0
    q_hat = theta[None, None, :] * gamma_hat[request][:, :, None]
    return _obp_dr_round_rewards(
        arrays["reward"],
        arrays["asset"],
        arrays["propensity"],
        action_dist,
        q_hat,
        position,
        lambda_,
    )


@pytest.mark.parametrize("clip", [None, 3.0], ids=["unclipped", "clip-3"])
def test_dr_equals_obps_doubly_robust_where_both_apply(clip):
    arrays, logged, target, theta, gamma_hat = _same_slot_case(7)
    request = arrays["request"]
    rounds = _obp_dr_case(arrays, target, theta, gamma_hat, np.inf if clip is None else clip)
    ours = estimate_dr(
        SlateLog(**arrays),
        target,
        theta,
        np.take_along_axis(gamma_hat, target, axis=1),
        reward_model_logged=gamma_hat[request, arrays["asset"]],
        clip=clip,
    )
    # obp averages over rounds (impressions), we over requests of n_slots impressions
    assert ours.value == pytest.approx(rounds.mean() * logged.shape[1], rel=1e-12)
    wanted = target[request, arrays["position"]] == arrays["asset"]
    expected_clipped = (
        0 if clip is None else int((wanted & (1 / arrays["propensity"] > clip)).sum())
    )
    assert ours.n_clipped == expected_clipped


@pytest.mark.parametrize("estimator", ["ips", "dr"])
def test_the_bootstrap_interval_agrees_with_obps(estimator):
    # obp resamples slates (the sums of their rounds' estimated rewards) with a RandomState,
    # we with a Generator: equal up to Monte Carlo error; with 4000 replicates a bound's
    # standard error is ~1.5% of the interval's width
    arrays, logged, target, theta, gamma_hat = _same_slot_case(11)
    log = SlateLog(**arrays)
    request = arrays["request"]
    if estimator == "ips":
        wanted = (target == logged).ravel().astype(float)
        rounds, _ = _obp_iips(
            request, arrays["reward"], arrays["position"], arrays["propensity"], wanted
        )
        ours = estimate_ips(log, target, theta, n_bootstrap=4000, seed=5)
    else:
        rounds = _obp_dr_case(arrays, target, theta, gamma_hat)
        reward_model = np.take_along_axis(gamma_hat, target, axis=1)
        ours = estimate_dr(log, target, theta, reward_model, n_bootstrap=4000, seed=5)
    low, high = _obp_slate_bootstrap(request, rounds, 0.05, 4000, random_state=5)
    width = high - low
    assert ours.ci_low == pytest.approx(low, abs=0.08 * width)
    assert ours.ci_high == pytest.approx(high, abs=0.08 * width)
