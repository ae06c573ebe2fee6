"""Online experiments in a generated world: two policies compared on the same requests by
team-draft interleaving, or by an A/B split of partners, with partners' engagement drawn from
the world's hidden click model. The engine's experiment statistics judge the outcome, so a test
or a benchmark can check that they find the truly better policy.

Interleaving: each request's two rankings (top 2k of each policy) are merged by
`recommender.team_draft` into a slate of k; every slot is engaged with independently with the
probability the click model gives (`value.slot_values`: examination of the slot times the
chance of engaging with that asset in that deal); the request is a win, loss or tie for the
treatment (`recommender.credit`), and the wins against the losses get the exact binomial test.

A/B: each partner is in one arm (`recommender.arm`, by a hash of the experiment's name and the
partner id); a request is served its arm's top k, and its engaged slots are drawn the same
way. Reported: engaged slots per request in each arm, the difference of the arms' per-partner
means with a bootstrap interval over partners, and the mSPRT's always-valid p-value over
`looks` looks spread evenly over the requests in time order (request-level variance: it treats
a partner's requests as independent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from demo.generator.behaviour import Requests
from demo.generator.portal import Portal
from demo.generator.value import Policy, request_arrays, slot_values
from demo.generator.world import World
from recommender import (
    BinomialTest,
    Look,
    arm,
    binomial_test,
    bootstrap_difference,
    credit,
    msprt_p_values,
    team_draft,
)

__all__ = ["ABRun", "InterleavingRun", "simulate_ab", "simulate_interleaving"]


@dataclass(frozen=True)
class InterleavingRun:
    """Per request, the treatment's outcome (+1 win, -1 loss, 0 tie; requests without
    engagement are ties), and the binomial test of the wins against the losses."""

    outcomes: np.ndarray
    test: BinomialTest

    @property
    def requests(self) -> int:
        return len(self.outcomes)

    @property
    def ties(self) -> int:
        return int((self.outcomes == 0).sum())


@dataclass(frozen=True)
class ABRun:
    """Engaged slots per request in each arm, the difference of per-partner means (treatment -
    control) with its bootstrap interval, and the always-valid p-value after each look."""

    control: float
    treatment: float
    difference: float
    ci_low: float
    ci_high: float
    p_values: list[float]
    partners: tuple[int, int]  # (control, treatment)
    requests: tuple[int, int]
    sd: tuple[float, float]  # engaged slots per request: (control, treatment) standard deviation


def _engaged(
    world: World, requests: Requests, shown: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Which slots of `shown` the partners engage with: one draw of the click model."""
    opens, _graded = slot_values(world, requests, shown)
    return rng.random(opens.shape) < opens


def simulate_interleaving(
    world: World,
    requests: pd.DataFrame,
    control: Policy,
    treatment: Policy,
    *,
    k: int | None = None,
    seed: int = 0,
) -> InterleavingRun:
    """Interleave `control` and `treatment` on `requests` (request_id, deal, stage, t); see the
    module docstring. `seed` draws the partners' engagement."""
    k = k or world.config.impressions_per_request
    arrays, ids = request_arrays(requests)
    depth = 2 * k
    ranked = {
        "control": control.slates(world, arrays, ids, depth),
        "treatment": treatment.slates(world, arrays, ids, depth),
    }
    shown = np.full((len(ids), k), -1, dtype=np.int64)
    teams: list[list[str]] = []
    for i, request_id in enumerate(ids):
        lists = {name: [str(a) for a in r[i] if a >= 0] for name, r in ranked.items()}
        merged = team_draft(lists["control"], lists["treatment"], k, request_id=request_id)
        shown[i, : len(merged.items)] = [int(a) for a in merged.items]
        teams.append(merged.teams)
    engaged = _engaged(world, arrays, shown, np.random.default_rng(seed))
    outcomes = np.array(
        [credit(teams[i], np.flatnonzero(engaged[i]).tolist()) for i in range(len(ids))],
        dtype=np.int64,
    )
    test = binomial_test(int((outcomes > 0).sum()), int((outcomes < 0).sum()))
    return InterleavingRun(outcomes, test)


def simulate_ab(
    world: World,
    requests: pd.DataFrame,
    control: Policy,
    treatment: Policy,
    *,
    name: str = "ab",
    share: float = 0.5,
    looks: int = 10,
    tau: float = 0.1,
    k: int | None = None,
    seed: int = 0,
) -> ABRun:
    """Split partners between `control` and `treatment` (experiment `name`, treatment
    `share`) on `requests`; see the module docstring."""
    k = k or world.config.impressions_per_request
    requests = requests.sort_values("t", kind="stable").reset_index(drop=True)
    arrays, ids = request_arrays(requests)
    portal = Portal(world)
    partner = np.array([portal.partner_id(int(d)) for d in arrays.deal])
    treated = np.array([arm(name, p, share) == "treatment" for p in partner])
    shown = np.full((len(ids), k), -1, dtype=np.int64)
    for policy, rows in ((control, ~treated), (treatment, treated)):
        idx = np.flatnonzero(rows)
        if len(idx):
            part, part_ids = request_arrays(requests.iloc[idx])
            shown[idx] = policy.slates(world, part, part_ids, k)
    engaged = _engaged(world, arrays, shown, np.random.default_rng(seed)).sum(axis=1)
    frame = pd.DataFrame({"partner": partner, "treated": treated, "engaged": engaged})
    per_partner = frame.groupby(["treated", "partner"])["engaged"].mean()
    t_units, c_units = per_partner.loc[True].to_numpy(), per_partner.loc[False].to_numpy()
    diff, low, high = bootstrap_difference(t_units, c_units, seed=seed)
    cuts = np.linspace(0, len(ids), looks + 1).astype(int)[1:]
    history = []
    for end in cuts:
        t_req, c_req = engaged[:end][treated[:end]], engaged[:end][~treated[:end]]
        if len(t_req) >= 2 and len(c_req) >= 2:
            history.append(Look.of(t_req, c_req))
    return ABRun(
        control=float(engaged[~treated].mean()),
        treatment=float(engaged[treated].mean()),
        difference=diff,
        ci_low=low,
        ci_high=high,
        p_values=msprt_p_values(history, tau=tau),
        partners=(len(c_units), len(t_units)),
        requests=(int((~treated).sum()), int(treated.sum())),
        sd=(float(engaged[~treated].std(ddof=1)), float(engaged[treated].std(ddof=1))),
    )
