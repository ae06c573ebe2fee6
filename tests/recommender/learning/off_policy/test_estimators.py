"""IPS, SNIPS and DR worked by hand on a three-request log, the input errors they name, and
their edge cases (no support, no reward, one request, unsorted input, the bootstrap)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.learning.off_policy import (
    PositionBias,
    SlateLog,
    estimate_dr,
    estimate_ips,
    estimate_position_bias,
    estimate_snips,
)

# --------------------------------------------------------------------------- a log by hand
#
# Three requests (codes 7, 3, 5), their impressions interleaved; theta = (1, 1/2, 1/4).
#
#   row request slot asset propensity shown reward
#    0     7     0     0      1/2     1/2    1
#    1     3     1     0      1/2     1/2    0
#    2     5     1     3      1/4     1/4    1
#    3     7     2     2      1/4     1/2    1     (an explored asset: shown w.p. 1/2)
#    4     3     0     1      1       1      1
#    5     7     1     1      1/2     1/2    0
#    6     5     0     2      1/2     1/2    0
#
# The target's slates, rows in the order of log.requests = (3, 5, 7):
#   request 3: (0, 1)    request 5: (3, 9)    request 7: (2, empty)
HAND = {
    "request": [7, 3, 5, 7, 3, 7, 5],
    "position": [0, 1, 1, 2, 0, 1, 0],
    "asset": [0, 0, 3, 2, 1, 1, 2],
    "propensity": [0.5, 0.5, 0.25, 0.25, 1.0, 0.5, 0.5],
    "propensity_shown": [0.5, 0.5, 0.25, 0.5, 1.0, 0.5, 0.5],
    "reward": [1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
}
THETA = np.array([1.0, 0.5, 0.25])
TARGET = np.array([[0, 1], [3, 9], [2, -1]])
# the reward model's gamma for (request, target asset); the empty slot's value is ignored
Q = np.array([[0.5, 0.25], [0.25, 0.5], [0.5, np.nan]])
#
# Each target slot (request, slot j, asset): weight u = 1/shown, y~ = reward / theta_(logged slot)
#   (3, 0, asset 0): logged in slot 1, u = 2, y~ = 0 / (1/2) = 0      -> theta_0 u y~ = 0
#   (3, 1, asset 1): logged in slot 0, u = 1, y~ = 1 / 1 = 1          -> theta_1 u y~ = 1/2
#   (5, 0, asset 3): logged in slot 1, u = 4, y~ = 1 / (1/2) = 2      -> 8
#   (5, 1, asset 9): never shown,      u = 0                           -> 0
#   (7, 0, asset 2): logged in slot 2, u = 2, y~ = 1 / (1/4) = 4      -> 8
# IPS   per request (1/2, 8, 8), V = 16.5 / 3 = 5.5
# ESS   weights (2, 1, 4, 0, 2): (sum)^2 / sum of squares = 9^2 / 25 = 3.24, of 5 slots
# SNIPS slot 0: mean u over requests 3, 5, 7 = 8/3; slot 1: over 3, 5 (7 has none) = 1/2
#       per request (0 + 0.5/0.5, 8/(8/3) + 0, 8/(8/3)) = (1, 3, 3), V = 7/3
# DR    theta_j (q + u (y~ - q)):
#       request 3: 1 (0.5 + 2 (0 - 0.5)) + 0.5 (0.25 + 1 (1 - 0.25)) = -0.5 + 0.5 = 0
#       request 5: 1 (0.25 + 4 (2 - 0.25)) + 0.5 (0.5 + 0)           = 7.25 + 0.25 = 7.5
#       request 7: 1 (0.5 + 2 (4 - 0.5))                              = 7.5
#       V = 15 / 3 = 5
# support: the log shows 4 of the 5 target assets on their request = 0.8


@pytest.fixture
def hand() -> SlateLog:
    return SlateLog(**{name: np.asarray(values) for name, values in HAND.items()})


def test_the_log_orders_requests_by_code_whatever_the_impression_order(hand):
    assert hand.requests.tolist() == [3, 5, 7]
    assert hand.request_index.tolist() == [2, 0, 1, 2, 0, 2, 1]
    assert (hand.n_impressions, hand.n_requests, hand.n_positions) == (7, 3, 3)


def test_request_codes_may_be_any_integers(hand):
    shifted = SlateLog(**{**HAND, "request": np.asarray(HAND["request"]) - 2**40})
    assert estimate_ips(shifted, TARGET, THETA).value == pytest.approx(5.5)


def test_ips_by_hand(hand):
    result = estimate_ips(hand, TARGET, THETA)
    assert result.value == pytest.approx(5.5)
    np.testing.assert_allclose(result.per_request, [0.5, 8.0, 8.0])
    assert result.ess == pytest.approx(3.24)
    assert (result.n_requests, result.n_slots) == (3, 5)
    assert result.support == pytest.approx(0.8)
    assert not result.support_known


def test_snips_by_hand(hand):
    result = estimate_snips(hand, TARGET, THETA)
    assert result.value == pytest.approx(7 / 3)
    np.testing.assert_allclose(result.per_request, [1.0, 3.0, 3.0])
    assert result.ess == pytest.approx(3.24)


def test_dr_by_hand(hand):
    result = estimate_dr(hand, TARGET, THETA, Q)
    assert result.value == pytest.approx(5.0)
    np.testing.assert_allclose(result.per_request, [0.0, 7.5, 7.5])


def test_clipping_by_hand(hand):
    # clip = 2 cuts the one weight above it, (5, 0)'s 4: its term becomes 1 * 2 * 2 = 4
    result = estimate_ips(hand, TARGET, THETA, clip=2.0)
    assert result.value == pytest.approx((0.5 + 4 + 8) / 3)
    assert result.n_clipped == 1
    assert result.ess == pytest.approx(7**2 / 13)  # weights (2, 1, 2, 0, 2)
    assert any("clipped" in note for note in result.notes)
    # DR, clipped: request 5's slot 0 becomes 0.25 + 2 (2 - 0.25) = 3.75
    dr = estimate_dr(hand, TARGET, THETA, Q, clip=2.0)
    assert dr.value == pytest.approx((0.0 + 3.75 + 0.25 + 7.5) / 3)


def test_a_position_bias_result_is_accepted_as_theta(hand):
    bias = PositionBias(
        theta=THETA,
        n_impressions=np.ones(3, dtype=int),
        n_items=np.ones(3, dtype=int),
        n_linking_items=np.ones(3, dtype=int),
        method="em",
    )
    assert estimate_ips(hand, TARGET, bias).value == pytest.approx(5.5)


def test_the_logged_reward_model_is_checked_against_the_target_one(hand):
    # per impression: (7, 0) .5, (3, 0) .5, (5, 3) .25, (7, 2) .5, (3, 1) .25, others any
    logged = np.array([0.9, 0.5, 0.25, 0.5, 0.25, 0.9, 0.9])
    assert estimate_dr(hand, TARGET, THETA, Q, reward_model_logged=logged).value == 5.0
    logged[2] = 0.3
    with pytest.raises(ValueError, match=r"reward_model_logged\[2\]=0.3 differs .* asset 3"):
        estimate_dr(hand, TARGET, THETA, Q, reward_model_logged=logged)


def test_the_result_says_what_support_means(hand):
    result = estimate_ips(hand, TARGET, THETA)
    assert "4 of 5 target slots" in result.notes[0]
    assert "IPS counts them as 0" in result.notes[0]
    assert "effective sample size 3.2" in result.notes[1]
    known = np.array([[True, True], [True, False], [True, False]])
    told = estimate_dr(hand, TARGET, THETA, Q, target_support=known)
    assert told.support_known and told.support == pytest.approx(0.8)
    assert "could not have shown: DR values them by the reward model alone" in told.notes[0]
    assert told.to_json()["support"] == pytest.approx(0.8)


# --------------------------------------------------------------------------- SNIPS's normaliser


def _random_log(seed: int, n_requests: int = 200, n_slots: int = 4, n_assets: int = 12):
    """Random slates with propensity_shown in [0.2, 0.5] and propensity a quarter of it."""
    rng = np.random.default_rng(seed)
    assets = np.argsort(rng.random((n_requests, n_assets)), axis=1)[:, :n_slots]
    shown = rng.uniform(0.2, 0.5, (n_requests, n_slots))
    arrays = {
        "request": np.repeat(np.arange(n_requests), n_slots),
        "position": np.tile(np.arange(n_slots), n_requests),
        "asset": assets.ravel(),
        "propensity": shown.ravel() / 4,
        "propensity_shown": shown.ravel(),
        "reward": (rng.random(n_requests * n_slots) < 0.3).astype(float),
    }
    target = np.argsort(rng.random((n_requests, n_assets)), axis=1)[:, :n_slots]
    return arrays, target


def test_snips_normalises_the_weights_of_each_target_slot_over_requests():
    arrays, target = _random_log(0)
    theta = np.array([1.0, 0.6, 0.4, 0.3])
    snips = estimate_snips(SlateLog(**arrays), target, theta).value
    ips = estimate_ips(SlateLog(**arrays), target, theta).value
    logged = arrays["asset"].reshape(200, 4)  # row i: request i's slate
    shown_as = (target[:, :, None] == logged[:, None, :]).any(axis=1)  # (request, logged slot)

    def rescaled(factor: np.ndarray) -> float:
        # multiply the weights u = 1/shown of the chosen impressions by 2 (halve shown)
        shown = np.where(factor.ravel(), 0.5, 1.0) * arrays["propensity_shown"]
        log = SlateLog(**dict(arrays, propensity_shown=shown, propensity=shown / 4))
        return estimate_snips(log, target, theta).value, estimate_ips(log, target, theta).value

    # every weight of target slot 0, in every request: SNIPS unchanged, IPS not
    slot0 = target[:, :1] == logged
    assert slot0.sum() > 20
    after = rescaled(slot0)
    assert after[0] == pytest.approx(snips, rel=1e-12)
    assert after[1] != pytest.approx(ips, rel=1e-3)
    # every weight of one request (what per-request normalisation would undo): SNIPS moves
    one = np.zeros_like(shown_as)
    one[np.flatnonzero(shown_as.sum(axis=1) >= 2)[0]] = True
    assert rescaled(one)[0] != pytest.approx(snips, rel=1e-6)


# --------------------------------------------------------------------------- input errors


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"propensity": [0.5, 0.5, 0.0, 0.25, 1.0, 0.5, 0.5]}, r"propensity\[2\]=0.0 is outside"),
        ({"propensity": [0.5, 1.5, 0.25, 0.25, 1.0, 0.5, 0.5]}, r"propensity\[1\]=1.5 is outside"),
        (
            {"propensity_shown": [0.5, 0.5, 0.25, 0.2, 1.0, 0.5, 0.5]},
            r"propensity_shown\[3\]=0.2 is below propensity\[3\]=0.25",
        ),
        (
            {"propensity_shown": [0.5, np.nan, 0.25, 0.5, 1.0, 0.5, 0.5]},
            r"propensity_shown\[1\]=nan is not a finite number",
        ),
        ({"reward": [1.0, np.nan, 1, 1, 1, 0, 0]}, r"reward\[1\]=nan is not a finite number"),
        ({"reward": [1.0, 0, 1, 1, -1, 0, 0]}, r"reward\[4\]=-1.0 is negative"),
        ({"asset": [0, 0, 3, 2, 1, 1]}, r"one length; got .*'asset': 6"),
        ({"request": [7.0, 3, 5, 7, 3, 7, 5]}, r"request has dtype float64; expected integer"),
        ({"position": [0, 1, 1, 2, 0, -1, 0]}, r"position\[5\]=-1 is negative"),
        ({"position": [0, 1, 1, 2, 0, 0, 0]}, r"request 7 has 2 impressions with position=0"),
        ({"asset": [0, 0, 3, 0, 1, 1, 2]}, r"request 7 has 2 impressions with asset=0"),
        ({"asset": [0, 0, 3, 2**40, 1, 1, 2]}, r"asset\[3\]=1099511627776 is not a dense code"),
    ],
    ids=[
        "propensity-zero",
        "propensity-above-one",
        "shown-below-slot",
        "shown-nan",
        "reward-nan",
        "reward-negative",
        "lengths-differ",
        "request-not-codes",
        "position-negative",
        "two-impressions-in-a-slot",
        "an-asset-twice-in-a-slate",
        "asset-not-dense",
    ],
)
def test_a_bad_log_is_rejected_naming_the_value(change, message):
    with pytest.raises(ValueError, match=message):
        SlateLog(**{**HAND, **change})


def test_an_empty_log_is_rejected():
    with pytest.raises(ValueError, match="no impression"):
        SlateLog(**{name: [] for name in HAND if name != "propensity_shown"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": TARGET[:2]}, r"target has shape \(2, 2\); expected \(n_requests=3"),
        (
            {"target": np.array([[0, 0], [3, 9], [2, -1]])},
            r"request 3 \(row 0\) shows asset 0 twice",
        ),
        ({"target": np.array([[0, 1], [3, -2], [2, -1]])}, r"target\[1, 1\]=-2"),
        ({"target": TARGET.astype(float)}, r"target has dtype float64"),
        ({"theta": [0.9, 0.5, 0.25]}, r"theta\[0\]=0.9; theta is normalised"),
        ({"theta": [1.0]}, r"the target has 2 slots but theta covers 1"),
        ({"theta": [1.0, 0.5, np.nan]}, r"theta\[2\]=nan is not a positive examination"),
        ({"clip": 0.5}, r"clip=0.5; weights 1/propensity_shown are >= 1"),
        ({"n_bootstrap": 0}, r"n_bootstrap=0"),
        ({"confidence": 95}, r"confidence=95"),
        (
            {"target_support": np.zeros((3, 2), dtype=bool)},
            r"target_support\[0, 0\] is False, yet the log shows asset 0 on request 3",
        ),
    ],
    ids=[
        "target-rows",
        "target-repeats-an-asset",
        "target-bad-code",
        "target-not-codes",
        "theta-not-normalised",
        "theta-too-short",
        "theta-nan-where-logged",
        "clip-below-one",
        "no-replicates",
        "confidence-as-percent",
        "support-contradicts-log",
    ],
)
def test_bad_estimator_arguments_are_rejected_naming_the_value(hand, kwargs, message):
    arguments = {"target": TARGET, "theta": THETA, **kwargs}
    with pytest.raises(ValueError, match=message):
        estimate_ips(hand, **arguments)


def test_a_misshapen_reward_model_is_rejected(hand):
    with pytest.raises(ValueError, match=r"reward_model has shape \(3,\)"):
        estimate_dr(hand, TARGET, THETA, Q[:, 0])
    with pytest.raises(ValueError, match=r"reward_model\[2, 0\]=nan is not an expected reward"):
        estimate_dr(hand, TARGET, THETA, np.where(TARGET == 2, np.nan, Q))


# --------------------------------------------------------------------------- edge cases


def test_no_support_gives_zero_for_ips_and_the_model_for_dr(hand):
    target = np.array([[8, 9], [8, 9], [8, 9]])  # assets the log never shows
    q = np.full((3, 2), 0.2)
    ips, snips = estimate_ips(hand, target, THETA), estimate_snips(hand, target, THETA)
    dr = estimate_dr(hand, target, THETA, q)
    assert ips.value == snips.value == 0.0
    assert (ips.ci_low, ips.ci_high) == (0.0, 0.0)
    assert dr.value == pytest.approx(0.2 * 1.0 + 0.2 * 0.5)  # the reward model alone
    for result in (ips, snips, dr):
        assert result.support == 0.0 and result.ess == 0.0
    assert "0 of 6 target slots" in ips.notes[0]


def test_all_rewards_zero():
    log = SlateLog(**{**HAND, "reward": np.zeros(7)})
    assert estimate_ips(log, TARGET, THETA).value == 0.0
    snips = estimate_snips(log, TARGET, THETA)
    assert (snips.value, snips.ci_low, snips.ci_high) == (0.0, 0.0, 0.0)
    # DR: each target slot theta_j q (1 - u): request 3: 0.5 (1 - 2) + 0.5 * 0.25 (1 - 1) = -0.5
    # request 5: 0.25 (1 - 4) + 0.5 * 0.5 = -0.5; request 7: 0.5 (1 - 2) = -0.5
    assert estimate_dr(log, TARGET, THETA, Q).value == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="no impression has a reward > 0"):
        estimate_position_bias(log)


def test_one_request(hand):
    keep = np.asarray(HAND["request"]) == 7
    log = SlateLog(**{name: np.asarray(values)[keep] for name, values in HAND.items()})
    result = estimate_ips(log, TARGET[2:], THETA)
    assert result.value == pytest.approx(8.0)
    assert (result.ci_low, result.ci_high) == (8.0, 8.0)  # nothing to resample
    assert result.n_requests == 1


def test_unsorted_input_gives_the_same_answers(hand):
    order = np.random.default_rng(3).permutation(7)
    shuffled = SlateLog(**{name: np.asarray(values)[order] for name, values in HAND.items()})
    for estimate in (estimate_ips, estimate_snips):
        a, b = estimate(hand, TARGET, THETA), estimate(shuffled, TARGET, THETA)
        assert (a.value, a.ci_low, a.ci_high) == (b.value, b.ci_low, b.ci_high)
    assert estimate_dr(shuffled, TARGET, THETA, Q).value == pytest.approx(5.0)


def test_missing_propensity_shown_means_the_slot_propensity(hand):
    log = SlateLog(**{name: v for name, v in HAND.items() if name != "propensity_shown"})
    assert not log.shown_logged and hand.shown_logged
    np.testing.assert_array_equal(log.shown, HAND["propensity"])
    # request 7's explored asset 2 now weighs 1 / (1/4) = 4: its term 1 * 4 * 4 = 16
    result = estimate_ips(log, TARGET, THETA)
    assert result.value == pytest.approx((0.5 + 8 + 16) / 3)
    assert any("propensity_shown was not logged" in note for note in result.notes)


def test_the_bootstrap_is_seeded_and_sized(hand):
    a = estimate_ips(hand, TARGET, THETA, n_bootstrap=500, seed=1)
    b = estimate_ips(hand, TARGET, THETA, n_bootstrap=500, seed=1)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert a.n_bootstrap == 500
    # with 3 requests the possible means are few; the interval spans the extremes' region
    assert 0.5 <= a.ci_low <= a.value <= a.ci_high <= 8.0


def test_the_vectorised_bootstrap_is_resampling_requests_one_replicate_at_a_time():
    arrays, target = _random_log(5, n_requests=150)
    theta = np.array([1.0, 0.6, 0.4, 0.3])
    log = SlateLog(**arrays)
    q = np.full(target.shape, 0.1)
    n_bootstrap, seed = 300, 11
    # the same draws, one replicate at a time: rebuild the resampled log and estimate on it
    draws = np.random.default_rng(seed).integers(0, 150, size=(n_bootstrap, 150))
    by_request = np.argsort(arrays["request"], kind="stable").reshape(150, 4)
    naive: dict[str, list[float]] = {"ips": [], "snips": [], "dr": []}
    for chosen in draws:
        rows = by_request[chosen].ravel()
        resampled = dict(
            {name: values[rows] for name, values in arrays.items()},
            request=np.repeat(np.arange(150), 4),
        )
        replicate = SlateLog(**resampled)
        naive["ips"].append(estimate_ips(replicate, target[chosen], theta, n_bootstrap=1).value)
        naive["snips"].append(estimate_snips(replicate, target[chosen], theta, n_bootstrap=1).value)
        naive["dr"].append(estimate_dr(replicate, target[chosen], theta, q, n_bootstrap=1).value)
    for name, result in (
        ("ips", estimate_ips(log, target, theta, n_bootstrap=n_bootstrap, seed=seed)),
        ("snips", estimate_snips(log, target, theta, n_bootstrap=n_bootstrap, seed=seed)),
        ("dr", estimate_dr(log, target, theta, q, n_bootstrap=n_bootstrap, seed=seed)),
    ):
        low, high = np.quantile(naive[name], [0.025, 0.975])
        assert (result.ci_low, result.ci_high) == pytest.approx((low, high), rel=1e-10)
