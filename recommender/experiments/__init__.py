"""Online experiments between model versions: team-draft interleaving of two rankings with
exact slot propensities (`interleaving`), A/B arms by a stable hash of the partner
(`assignment`), and the statistics that judge the result: the binomial test of interleaving's
wins (`stats`) and an A/B test's bootstrap interval, always-valid p-value and sample size
(`ab`).

Experiments as data (`store`: the running and stopped experiments, audited, at most one
running per partner), serving them (`live`: each arm's scorer loaded beside the snapshot, the
A/B arm or the team-draft list of one request) and their report from the journal (`report`).
The service's /v1/experiments, the `recommender experiments` commands and the console's Models
page call these through the engine's public API. The room sits beside `learning`
(import-linter: neither imports the other) above `ranking`."""

from recommender.experiments.ab import Look, bootstrap_difference, msprt_p_values, sample_size
from recommender.experiments.assignment import arm
from recommender.experiments.interleaving import (
    CONTROL,
    PINNED,
    TREATMENT,
    Interleaved,
    credit,
    team_draft,
)
from recommender.experiments.stats import BinomialTest, binomial_test, wilson_interval

__all__ = [
    "CONTROL",
    "PINNED",
    "TREATMENT",
    "BinomialTest",
    "Interleaved",
    "Look",
    "arm",
    "binomial_test",
    "bootstrap_difference",
    "credit",
    "msprt_p_values",
    "sample_size",
    "team_draft",
    "wilson_interval",
]
