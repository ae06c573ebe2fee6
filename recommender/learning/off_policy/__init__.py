"""Off-policy estimates of a slate policy's expected engagement per request, from logged
impressions and their propensities, under the position-based model (PBM).

What it estimates: for a target policy that would have shown the slate (b_0, ..., b_{L-1}) on
each logged request x, V = mean over requests of sum_j theta_j * gamma(x, b_j), in engagements
per request (a reward of 1 per engaged impression, or the graded reward as logged), where
theta_j is the probability that a partner examines slot j (theta_0 = 1) and gamma(x, a) the
expected reward of asset a once examined (the reward it would get in slot 0).

When to trust it:
- **Support.** An asset the logging policy could not have shown on a request tells the log
  nothing: IPS counts such a slot as 0 (biased low), SNIPS as the mean of the slot's supported
  requests, DR as the reward model alone. Every result reports its support and says so.
- **Effective sample size.** ESS = (sum u)^2 / sum u^2 over the target's (request, slot)
  pairs, u the importance weight below. A few large weights (assets the logger showed only by
  exploration) mean an ESS far below `n_slots` and a wide, itself unreliable, interval.
- **The model.** PBM: P(engage | asset a in slot k, request x) = theta_k * gamma(x, a), i.e.
  examination depends on the slot only, not on the asset or its neighbours, and the rewards of
  different slots are independent. Cascade-like behaviour (a partner who found what it needed
  stops reading) breaks it. theta comes from the log (`estimate_position_bias`) and is taken
  as known by the intervals, which therefore leave out its own estimation error.

Estimators (a target slot j of request i holds asset b = b_ij; if the log shows b on
request i, in slot k with reward y and propensity_shown p, then u_ij = 1 / p, clipped to
`clip` when asked, and y~_ij = y / theta_k, the reward it would have had in slot 0; otherwise
u_ij = y~_ij = 0):

    IPS    V = 1/N sum_i sum_j theta_j u_ij y~_ij
    SNIPS  V = 1/N sum_i sum_j theta_j (u_ij / mean_i' u_i'j) y~_ij      (weights mean 1 per
           target slot j, over the requests whose target has a slot j)
    DR     V = 1/N sum_i sum_j theta_j (q_ij + u_ij (y~_ij - q_ij))     (q: a reward model's
           gamma for (request, asset) supplied by the caller)

E[u_ij y~_ij] = gamma(x_i, b_ij) when b_ij could be shown: the item-level PBM estimator of
Li et al. (2018), "Offline Evaluation of Ranking Policies with Click Models". Intervals are
percentile bootstraps over requests (the ratio in SNIPS recomputed in each replicate).

The position bias itself: `estimate_position_bias` (an EM click model on any log where assets
appear in several slots) and `position_bias_from_exploration` (explored impressions land in
uniformly random slots, so their mean reward per slot is proportional to theta_k).

Pure numpy: callers turn journal rows into integer codes and arrays (`SlateLog`).
"""

from recommender.learning.off_policy.estimators import (
    OffPolicyEstimate,
    estimate_dr,
    estimate_ips,
    estimate_snips,
)
from recommender.learning.off_policy.position_bias import (
    PositionBias,
    estimate_position_bias,
    position_bias_from_exploration,
)
from recommender.learning.off_policy.slates import SlateLog

__all__ = [
    "OffPolicyEstimate",
    "PositionBias",
    "SlateLog",
    "estimate_dr",
    "estimate_ips",
    "estimate_position_bias",
    "estimate_snips",
    "position_bias_from_exploration",
]
