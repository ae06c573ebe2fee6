"""A/B arms: a partner's arm in an experiment is a stable hash of (experiment, partner id), so
every request of a partner, in any worker or replica and after any restart, gets the same arm,
and partners are split in the asked share. Different experiments split partners independently.
"""

from __future__ import annotations

from recommender.experiments.interleaving import CONTROL, TREATMENT
from recommender.ranking.exploration import stable_seed


def arm(experiment: str, partner_id: str, share: float = 0.5) -> str:
    """ "treatment" for a `share` of partners (by the hash of experiment and partner id), else
    "control"."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"share={share!r} must be in (0, 1): the treatment's share of partners")
    if not experiment or not partner_id:
        raise ValueError("arm() needs an experiment name and a partner id")
    return TREATMENT if unit_hash(experiment, partner_id) < share else CONTROL


def unit_hash(experiment: str, partner_id: str) -> float:
    """A number in [0, 1) fixed by (experiment, partner id), uniform across partners."""
    return stable_seed(f"{len(experiment)}:{experiment}|{partner_id}") / 2.0**64
