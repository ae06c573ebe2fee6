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

End to end (`run_engine_experiment`): an experiment between two model versions of a workspace
(a closed loop's, say) is created in its experiment store and served by the engine itself
(`Portal.serve` with experiments: the same code as the service's recommend endpoint); the
partners' engagement on what it served is drawn from the click model, the impressions (with
experiment, arm or team and propensity) and opens are journaled, and the engine's report reads
them back from the journal. Beside the report: each arm's own true NDCG@k on the same requests
(the arm's ranking served alone), so that a caller can check the report picked the truly
better version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from demo.generator.behaviour import Requests
from demo.generator.portal import Portal
from demo.generator.value import Policy, request_arrays, slate_ndcg, slot_values
from demo.generator.world import World
from recommender import (
    BinomialTest,
    Embedder,
    EventJournal,
    ExperimentStore,
    Exploration,
    Look,
    QueryCache,
    Recommender,
    ReportOptions,
    Workspace,
    arm,
    attach_experiments,
    binomial_test,
    bootstrap_difference,
    build_snapshot,
    credit,
    experiment_report,
    msprt_p_values,
    team_draft,
)

__all__ = [
    "ABRun",
    "EngineExperiment",
    "InterleavingRun",
    "run_engine_experiment",
    "simulate_ab",
    "simulate_interleaving",
]


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
        lists = {name: [int(a) for a in r[i] if a >= 0] for name, r in ranked.items()}
        merged = team_draft(lists["control"], lists["treatment"], k, request_id=request_id)
        shown[i, : len(merged.items)] = cast(list[int], merged.items)
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


@dataclass(frozen=True)
class EngineExperiment:
    """An experiment the engine served: its report (`recommender.experiment_report`) and each
    arm's true NDCG@k, its own ranking served alone on the same requests."""

    report: dict[str, Any]
    true_ndcg: dict[str, float]  # "control", "treatment"
    requests: int


def run_engine_experiment(
    workspace: Workspace,
    world: World,
    requests: pd.DataFrame,
    *,
    name: str,
    control: str,
    treatment: str,
    method: str,
    share: float = 0.5,
    embedder: Embedder | None = None,
    query_cache: QueryCache | None = None,
    exploration: Exploration | None = None,
    options: ReportOptions | None = None,
    seed: int = 0,
) -> EngineExperiment:
    """Create experiment `name` in `workspace` and serve `requests` (rows with request_id,
    deal, stage, t; their ids are prefixed with the name) inside it; see the module
    docstring. Raises ValueError when the experiment cannot be served."""
    with ExperimentStore(workspace.console_location) as store:
        store.create(actor="generator", name=name, control=control, treatment=treatment,
                     method=method, share=share)  # fmt: skip
    snapshot = build_snapshot(workspace, embedder=embedder, query_cache=query_cache)
    snapshot, refused = attach_experiments(workspace, snapshot)
    if refused:
        raise ValueError("; ".join(refused))
    requests = requests.sort_values("t", kind="stable").reset_index(drop=True)
    requests = requests.assign(request_id=[f"{name}-{r}" for r in requests["request_id"]])
    arrays, ids = request_arrays(requests)
    k = world.config.impressions_per_request
    portal = Portal(world)
    engine = Recommender(snapshot)
    served = portal.serve(engine, arrays, ids, k=k, exploration=exploration, experiments=True)
    engaged = _engaged(world, arrays, served.shown, np.random.default_rng(seed))
    with EventJournal(workspace.events_path) as journal:
        journal.append(
            _experiment_events(world, portal, arrays, ids, served, engaged),
            known_assets=set(world.a.ids.tolist()),
            known_partners=set(world.p.ids.tolist()),
            all_or_nothing=True,
            source=f"experiment {name}",
        )
        shown, later = journal.experiment_events(name)
    with ExperimentStore(workspace.console_location) as store:
        experiment = store.get(name)
    assert experiment is not None
    (live,) = [e for e in snapshot.experiments if e.experiment.name == name]
    true_ndcg = {}
    for side, scorer in (("control", live.control), ("treatment", live.treatment)):
        alone = Recommender(scorer.on(snapshot.with_changes(experiments=())))
        slates = portal.serve(alone, arrays, ids, k=k).shown
        true_ndcg[side] = float(slate_ndcg(world, arrays, slates).mean())
    return EngineExperiment(
        report=experiment_report(experiment, shown, later, options=options),
        true_ndcg=true_ndcg,
        requests=len(ids),
    )


def _experiment_events(
    world: World,
    portal: Portal,
    requests: Requests,
    request_ids: list[str],
    served: Any,
    engaged: np.ndarray,
) -> pd.DataFrame:
    """The journal rows of what an experiment served: an impression per slot (experiment,
    arm or team, propensities) and an open a minute later for every engaged slot."""
    rows: list[dict[str, Any]] = []
    for i, request_id in enumerate(request_ids):
        deal = int(requests.deal[i])
        partner = portal.partner_id(deal)
        when = portal.now(requests.t[i])
        deal_id = str(world.deal_ids[deal])
        for slot in np.flatnonzero(served.shown[i] >= 0):
            asset = str(world.a.ids[served.shown[i, slot]])
            base = {"partner_id": partner, "asset_id": asset, "request_id": request_id,
                    "deal_id": deal_id}  # fmt: skip
            rows.append(base | {
                "event_id": f"{request_id}-i{slot}", "ts": when, "type": "impression",
                "position": int(slot), "propensity": served.propensity[i, slot],
                "propensity_shown": served.propensity_shown[i, slot],
                "experiment": served.experiment[i], "arm": served.arm[i, slot],
            })  # fmt: skip
            if engaged[i, slot]:
                rows.append(base | {"event_id": f"{request_id}-o{slot}", "type": "open",
                                    "ts": when + pd.Timedelta(minutes=1)})  # fmt: skip
    return pd.DataFrame.from_records(rows)
