"""Serving the running experiments.

`attach_experiments(workspace, snapshot)` loads, for every running experiment, the scorer of
each arm (its model, the usage features that model reads and the return ratio it measured;
`playbook` is the playbook scorer), and gives the snapshot the experiments it can serve. An
experiment whose model cannot be loaded is left out (its partners get the snapshot's own
ranking, the control keeps serving) and named in the returned warnings; `check_versions` refuses
such an experiment before it is created.

`recommend(engine, request_args, ...)` answers one request: a partner outside every running
segment (or unknown: no stable id to assign) gets the ordinary answer. In an A/B test the
partner's arm (`assignment.arm`, a stable hash of experiment and partner id) ranks the whole
list, exploration included, so its propensities are the arm's serving policy's. In an
interleaving test both arms rank the same prepared request (same candidates, eligibility,
pins, hides and boosts: steering applies to both), and `interleaving.team_draft` merges the two
orders under the type cap; each slot carries its team and the exact team-draft propensity, and
the item shows the features and reasons of the ranking that placed it. The type cap counts over
the whole list (`max_per_type` per ten slots), where a single ranking's `diversify` counts per
block of ten and fills from skipped items when a thin catalog leaves slots empty; an
interleaved list then stays shorter. No exploration is mixed into an interleaved list: its
randomness is the team draft's.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from recommender.experiments.assignment import arm as assigned_arm
from recommender.experiments.interleaving import CONTROL, TREATMENT, team_draft
from recommender.experiments.store import PLAYBOOK, Experiment, ExperimentStore, Method
from recommender.ranking.build import load_model, return_ratio, usage_provider
from recommender.ranking.content import ContentScorer
from recommender.ranking.exploration import Exploration
from recommender.ranking.recommender import Ranked, Recommender
from recommender.ranking.seen import DEFAULT_RETURN_RATIO
from recommender.ranking.snapshot import Scorer, Snapshot, UsageProvider
from recommender.storage.registry import ModelRegistryError, Registry
from recommender.types import DealContext, Filters, PartnerProfile, Recommendation
from recommender.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArmScorer:
    """What one arm scores with: the parts of a snapshot a model version brings."""

    version: str
    scorer: Scorer
    usage: UsageProvider | None
    return_ratio: float

    def on(self, snapshot: Snapshot) -> Snapshot:
        """`snapshot` (its catalog, partners, overrides...) scored by this arm."""
        if snapshot.scorer is self.scorer:
            return snapshot
        return snapshot.with_changes(
            scorer=self.scorer, usage=self.usage, return_ratio=self.return_ratio
        )


@dataclass(frozen=True)
class LiveExperiment:
    """A running experiment with both arms loaded for one snapshot's catalog."""

    experiment: Experiment
    control: ArmScorer
    treatment: ArmScorer


def check_versions(workspace: Workspace, *versions: str) -> None:
    """Raise `ModelRegistryError` naming the first version that cannot be served (not stored,
    damaged, features that do not match its manifest); `playbook` always can."""
    registry = Registry.of(workspace)
    for name in versions:
        if name == PLAYBOOK:
            continue
        try:
            load_model(registry.get(name))
        except ModelRegistryError as exc:
            raise ModelRegistryError(f"model version {name!r} cannot be served: {exc}") from None


def arm_scorer(
    workspace: Workspace,
    snapshot: Snapshot,
    version: str,
    providers: dict[str, UsageProvider] | None = None,
) -> ArmScorer:
    """The scorer of `version` for `snapshot`'s catalog (the snapshot's own when it is the
    one it serves); raises `ModelRegistryError` when the version cannot be loaded.

    `providers` (usage settings as JSON -> provider) shares one usage provider between
    versions that read usage alike: built once, and an interleaved request computes its
    features once for both arms."""
    if version == snapshot.model_version:
        return ArmScorer(version, snapshot.scorer, snapshot.usage, snapshot.return_ratio)
    if version == PLAYBOOK:
        return ArmScorer(version, ContentScorer(), None, DEFAULT_RETURN_RATIO)
    model_version = Registry.of(workspace).get(version)
    scorer = load_model(model_version)
    settings = model_version.manifest.get("usage")
    key = _usage_key(settings)
    providers = {} if providers is None else providers
    if key not in providers:
        providers[key] = usage_provider(workspace, snapshot, settings=settings)
    return ArmScorer(version, scorer, providers[key], return_ratio(model_version))


def _usage_key(settings: object) -> str:
    """Usage settings (a manifest's "usage") as a key: equal settings, one provider."""
    return json.dumps(settings, sort_keys=True, default=str)


def _snapshot_providers(workspace: Workspace, snapshot: Snapshot) -> dict[str, UsageProvider]:
    """The snapshot's own usage provider under its model's usage settings (none for the
    playbook, or a version the registry cannot read)."""
    if snapshot.usage is None or snapshot.model_version == PLAYBOOK:
        return {}
    try:
        settings = Registry.of(workspace).get(snapshot.model_version).manifest.get("usage")
    except ModelRegistryError:
        return {}
    return {_usage_key(settings): snapshot.usage}


def attach_experiments(workspace: Workspace, snapshot: Snapshot) -> tuple[Snapshot, list[str]]:
    """`snapshot` with the running experiments it can serve, and a warning for each running
    experiment left out because a model cannot be loaded."""
    with ExperimentStore(workspace.console_location) as store:
        running = store.running()
    if not running:
        return (snapshot.with_changes(experiments=()) if snapshot.experiments else snapshot), []
    live, warnings = [], []
    loaded: dict[str, ArmScorer] = {}
    providers = _snapshot_providers(workspace, snapshot)
    for experiment in running:
        try:
            arms = []
            for version in (experiment.control, experiment.treatment):
                if version not in loaded:
                    loaded[version] = arm_scorer(workspace, snapshot, version, providers)
                arms.append(loaded[version])
        except (ModelRegistryError, OSError, ValueError) as exc:
            message = (
                f"experiment {experiment.name!r} is not served (its partners get the current "
                f"model): {exc}"
            )
            log.error(message)
            warnings.append(message)
            continue
        live.append(LiveExperiment(experiment, arms[0], arms[1]))
    return snapshot.with_changes(experiments=tuple(live)), warnings


def experiment_for(snapshot: Snapshot, partner: PartnerProfile) -> LiveExperiment | None:
    """The running experiment whose segment holds `partner` (a stored partner id is needed:
    assignment and attribution go by it)."""
    if not snapshot.experiments or partner.partner_id is None:
        return None
    for live in snapshot.experiments:
        assert isinstance(live, LiveExperiment)
        if live.experiment.matches(partner):
            return live
    return None


def recommend(
    engine: Recommender,
    context: DealContext,
    partner: PartnerProfile,
    *,
    snapshot: Snapshot,
    n: int = 10,
    filters: Filters | None = None,
    seen: set[str] | frozenset[str] = frozenset(),
    now: datetime | None = None,
    max_per_type: int = 3,
    request_id: str | None = None,
    exploration: Exploration | None = None,
    experiments: bool = True,
) -> Recommendation:
    """One request's answer, inside the running experiment that holds the partner if there is
    one (and `experiments`), else as `Recommender.recommend` gives it; see the module
    docstring."""
    live = experiment_for(snapshot, partner) if experiments else None
    if live is None:
        return engine.recommend(context, partner, n=n, filters=filters, seen=seen, now=now,
                                max_per_type=max_per_type, snapshot=snapshot,
                                request_id=request_id, exploration=exploration)  # fmt: skip
    experiment = live.experiment
    assert partner.partner_id is not None
    if experiment.method == Method.AB:
        side = assigned_arm(experiment.name, partner.partner_id, experiment.share)
        scorer = live.treatment if side == TREATMENT else live.control
        answer = engine.recommend(context, partner, n=n, filters=filters, seen=seen, now=now,
                                  max_per_type=max_per_type, snapshot=scorer.on(snapshot),
                                  request_id=request_id, exploration=exploration)  # fmt: skip
        items = tuple(replace(item, arm=side) for item in answer.items)
        return Recommendation(answer.request_id, answer.model_version, answer.partner,
                              answer.context, items, answer.candidates,
                              experiment=experiment.name)  # fmt: skip
    return _interleave(engine, live, context, partner, snapshot=snapshot, n=n, filters=filters,
                       seen=seen, now=now, max_per_type=max_per_type,
                       request_id=request_id)  # fmt: skip


def _interleave(
    engine: Recommender,
    live: LiveExperiment,
    context: DealContext,
    partner: PartnerProfile,
    *,
    snapshot: Snapshot,
    n: int,
    filters: Filters | None,
    seen: set[str] | frozenset[str],
    now: datetime | None,
    max_per_type: int,
    request_id: str | None,
) -> Recommendation:
    control_snap = live.control.on(snapshot)
    request = engine.prepare(context, partner, n=n, filters=filters, seen=seen, now=now,
                             snapshot=control_snap, request_id=request_id)  # fmt: skip
    name = live.experiment.name
    model_version = f"{live.control.version}|{live.treatment.version}"
    if request.empty:
        return request.answer((), model_version=model_version, experiment=name)
    first = engine.rank(request, control_snap)
    # the same usage provider (the versions read usage alike): the same features, scored again
    ranked = {
        CONTROL: first,
        TREATMENT: engine.rank(request, live.treatment.on(snapshot), like=first),
    }
    pinned = len(request.pinned_rank)
    # the rankings as candidate indexes; the draft walks only the head a team can pick from
    cap = max_per_type * math.ceil(n / 10)  # per block of ten, as `diversify` counts
    merged = team_draft(
        ranked[CONTROL].order[pinned:],
        ranked[TREATMENT].order[pinned:],
        n,
        request_id=request.request_id,
        pinned=ranked[CONTROL].order[:pinned],
        type_of=snapshot.table.type_code[request.cands].tolist().__getitem__,
        max_per_type=cap,
    )
    chosen: list[tuple[Ranked, int]] = [
        (ranked[TREATMENT if team == TREATMENT else CONTROL], i)
        for i, team in zip(cast(list[int], merged.items), merged.teams, strict=True)
    ]
    items = engine.items(
        request,
        chosen,
        propensity=merged.propensity,
        propensity_shown=merged.propensity_shown,
        arms=merged.teams,
    )
    return request.answer(items, model_version=model_version, experiment=name)
