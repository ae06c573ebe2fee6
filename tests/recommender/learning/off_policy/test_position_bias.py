"""Position bias on logs whose answer is known: the EM click model's exact fit, determinism and
identifiability, gamma per context, and the estimate from exploration, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.learning.off_policy import (
    SlateLog,
    estimate_ips,
    estimate_position_bias,
    position_bias_from_exploration,
)

# --------------------------------------------------------------------------- position bias


def _two_slot_log() -> SlateLog:
    """20 requests of two slots, assets A (0) and B (1) swapped half the time.

    Engagements: A in slot 0: 4 of 10, A in slot 1: 2 of 10, B in slot 0: 2 of 10,
    B in slot 1: 1 of 10. theta_1 = 1/2, gamma = (0.4, 0.2) fit every cell exactly, so they
    are the maximum-likelihood answer EM must reach.
    """
    a_top = np.arange(10) < 4  # A engaged in slot 0
    b_below = np.arange(10) < 1
    b_top = np.arange(10) < 2
    a_below = np.arange(10) < 2
    reward = np.concatenate([np.stack([a_top, b_below], 1), np.stack([b_top, a_below], 1)])
    asset = np.concatenate([np.tile([0, 1], (10, 1)), np.tile([1, 0], (10, 1))])
    return SlateLog(
        request=np.repeat(np.arange(20), 2),
        position=np.tile([0, 1], 20),
        asset=asset.ravel(),
        propensity=np.full(40, 0.5),
        reward=reward.ravel().astype(float),
    )


def test_em_reaches_the_exact_fit():
    bias = estimate_position_bias(_two_slot_log(), tol=1e-10)
    assert bias.converged
    np.testing.assert_allclose(bias.theta, [1.0, 0.5], atol=1e-6)
    assert bias.n_impressions.tolist() == [20, 20]
    assert bias.n_items.tolist() == [2, 2]
    assert bias.n_linking_items.tolist() == [2, 2]
    assert bias.identified.all()


def test_em_is_deterministic_and_ignores_impression_order_and_reward_scale():
    log = _two_slot_log()
    order = np.random.default_rng(0).permutation(40)
    shuffled = SlateLog(
        request=log.request[order],
        position=log.position[order],
        asset=log.asset[order],
        propensity=log.propensity[order],
        reward=3.0 * log.reward[order],  # graded: rescaled to [0, 1] inside
    )
    a, b = estimate_position_bias(log), estimate_position_bias(log)
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_allclose(estimate_position_bias(shuffled).theta, a.theta, atol=1e-9)


def test_a_slot_no_shared_asset_ties_to_the_top_is_unidentified():
    # slot 2 only ever shows assets 5 and 6, seen nowhere else
    log = _two_slot_log()
    extra = SlateLog(
        request=np.concatenate([log.request, np.arange(20)]),
        position=np.concatenate([log.position, np.full(20, 2)]),
        asset=np.concatenate([log.asset, np.tile([5, 6], 10)]),
        propensity=np.full(60, 0.5),
        reward=np.concatenate([log.reward, np.tile([1.0, 0.0], 10)]),
    )
    bias = estimate_position_bias(extra, n_positions=4)
    assert bias.theta[:2] == pytest.approx([1.0, 0.5], abs=1e-5)
    assert np.isnan(bias.theta[2:]).all()  # slot 2 unlinked, slot 3 never logged
    assert bias.n_linking_items.tolist() == [2, 2, 0, 0]
    assert bias.to_json()["theta"][2] is None
    with pytest.raises(ValueError, match=r"theta\[2\]=nan is not a positive examination"):
        estimate_ips(extra, np.tile([5, 0], (20, 1)), bias)


def test_em_keeps_gamma_per_context_when_asked():
    # theta = (1, 1/2). Context 0 (20 requests) swaps assets 0 and 1 between the slots;
    # context 1 (20 requests) always shows asset 1 on top. Asset 0 is attractive in context 0
    # (gamma 0.4) and not in context 1 (0.1); asset 1 is 0.2 in both. Engagements fit PBM
    # exactly per (context, asset); pooled over contexts asset 0 looks 4x worse in slot 1,
    # asset 1 2x worse, and no theta_1 fits both.
    def slates(top, below, n, top_hits, below_hits):
        return (
            np.tile([top, below], (n, 1)),
            np.stack([np.arange(n) < top_hits, np.arange(n) < below_hits], 1),
        )

    parts = [
        slates(0, 1, 10, 4, 1),  # context 0: 0.4, 0.5 * 0.2
        slates(1, 0, 10, 2, 2),  # context 0: 0.2, 0.5 * 0.4
        slates(1, 0, 20, 4, 1),  # context 1: 0.2, 0.5 * 0.1
    ]
    asset = np.concatenate([a for a, _ in parts]).ravel()
    reward = np.concatenate([r for _, r in parts]).ravel().astype(float)
    log = SlateLog(
        request=np.repeat(np.arange(40), 2),
        position=np.tile([0, 1], 40),
        asset=asset,
        propensity=np.full(80, 0.5),
        reward=reward,
    )
    context = np.repeat([0] * 20 + [1] * 20, 2)
    by_context = estimate_position_bias(log, context=context, tol=1e-10)
    np.testing.assert_allclose(by_context.theta, [1.0, 0.5], atol=1e-5)
    assert by_context.n_items.tolist() == [3, 3]  # (0, 0), (0, 1), (1, 1) / (1, 0)
    assert by_context.n_linking_items.tolist() == [2, 2]  # context 0's two assets
    assert abs(estimate_position_bias(log).theta[1] - 0.5) > 0.05
    with pytest.raises(ValueError, match="context has 79 entries"):
        estimate_position_bias(log, context=context[:79])


def test_exploration_estimate_by_hand():
    # explored: slot 0 mean reward 2/4, slot 1 1/4 -> theta_1 = 1/2; unexplored rows ignored
    log = SlateLog(
        request=np.repeat(np.arange(5), 2),
        position=np.tile([0, 1], 5),
        asset=np.arange(10),
        propensity=np.full(10, 0.1),
        reward=np.array([1, 0, 1, 1, 0, 0, 0, 0, 1, 1.0]),
    )
    explored = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)
    bias = position_bias_from_exploration(log, explored)
    assert bias.theta.tolist() == [1.0, 0.5]
    assert bias.n_impressions.tolist() == [4, 4]
    with pytest.raises(ValueError, match="slot 0 has 0 explored impressions"):
        position_bias_from_exploration(log, np.tile([False, True], 5))
    with pytest.raises(ValueError, match="explored must be a bool array"):
        position_bias_from_exploration(log, explored.astype(int))
