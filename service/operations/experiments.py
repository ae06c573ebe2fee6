"""Online experiments: create, list, show, stop, report, and promote the winner.

The API's /v1/experiments routes, the console's Models page and the `recommender experiments`
commands share these functions (the CLI without a running service: `create_offline` and
`stop_offline`, which tell running workers through the generation file).

Creating checks first that both versions load (a version that is not stored or is damaged is
refused and nothing is stored: the control keeps serving), then stores the experiment (the
store refuses a taken name or a segment that overlaps a running experiment's) with its audit
entry, then swaps in a snapshot that serves it. Stopping swaps in one that does not.
Promoting the winner promotes the winning version unless it already serves, then stops the
experiment (both audited). A playbook that wins against a promoted model is left to an
explicit rollback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from recommender import (
    PLAYBOOK,
    Experiment,
    ExperimentConflict,
    ExperimentError,
    ExperimentStore,
    ModelRegistryError,
    ReportOptions,
    Snapshot,
    Workspace,
    check_versions,
    experiment_report,
    open_journal,
)
from service.operations import models
from service.operations.errors import Conflict, Invalid, NotFound
from service.state import ServiceState, bump_generation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Spec:
    """An experiment as `create` takes it."""

    name: str
    control: str
    treatment: str
    method: str
    share: float = 0.5
    segment: str = ""
    comment: str = ""


def list_experiments(state: ServiceState) -> list[Experiment]:
    return state.experiments.list()


def get(state: ServiceState, name: str) -> Experiment:
    experiment = state.experiments.get(name)
    if experiment is None:
        raise NotFound(f"experiment {name!r} not found")
    return experiment


def serving(snapshot: Snapshot) -> set[str]:
    """The names of the experiments `snapshot` serves."""
    return {live.experiment.name for live in snapshot.experiments}


def create(state: ServiceState, spec: Spec, *, actor: str) -> Experiment:
    """Store and start serving an experiment; `Invalid` for a bad field, `Conflict` for a
    version that cannot be served, a taken name or an overlapping segment."""
    with state.reload_lock:
        experiment = _create(state.workspace, state.experiments, spec, actor=actor)
        state.change("experiment", lambda: None, rebuild=state.with_experiments)
    return experiment


def stop(state: ServiceState, name: str, *, actor: str, promoted: str | None = None) -> Experiment:
    """Stop serving a running experiment (its report stays)."""
    with state.reload_lock:
        try:
            experiment = state.experiments.stop(name, actor=actor, promoted=promoted)
        except ExperimentConflict as exc:
            raise Conflict(str(exc)) from None
        except ExperimentError as exc:
            raise NotFound(str(exc)) from None
        state.change("experiment", lambda: None, rebuild=state.with_experiments)
    return experiment


def report(
    workspace: Workspace, experiment: Experiment, options: ReportOptions | None = None
) -> dict[str, Any]:
    """The experiment's report from the workspace's journal."""
    with open_journal(workspace) as journal:
        shown, later = journal.experiment_events(experiment.name)
    return experiment_report(experiment, shown, later, options=options)


def promote_winner(state: ServiceState, name: str, *, actor: str) -> tuple[Experiment, str]:
    """Stop the experiment and serve its winner; `Conflict` while there is no winner. Returns
    the stopped experiment and the version now serving."""
    experiment = get(state, name)
    if not experiment.running:
        raise Conflict(f"experiment {name!r} is stopped; promote a version on its own")
    result = report(state.workspace, experiment)
    winner = result["winner_version"]
    if winner is None:
        raise Conflict(f"experiment {name!r} has no winner yet: {result['decision']}")
    with state.reload_lock:
        serving_now = state.recommender.snapshot.model_version
        if winner == PLAYBOOK and serving_now != PLAYBOOK:
            raise Conflict(
                f"the playbook won experiment {name!r}, but model {serving_now} is promoted: "
                "roll back to the playbook and stop the experiment yourself"
            )
        if winner != serving_now:
            models.promote(state, winner, actor=actor)
        stopped = stop(state, name, actor=actor, promoted=winner)
    return stopped, winner


# --- without a service (the CLI) ---------------------------------------------------------------
def create_offline(workspace: Workspace, spec: Spec, *, actor: str) -> Experiment:
    """`create` for the CLI: stored, and running workers rebuild to serve it."""
    with ExperimentStore(workspace.console_location) as store:
        experiment = _create(workspace, store, spec, actor=actor)
    bump_generation(workspace, "experiment")
    return experiment


def stop_offline(workspace: Workspace, name: str, *, actor: str) -> Experiment:
    with ExperimentStore(workspace.console_location) as store:
        try:
            experiment = store.stop(name, actor=actor)
        except ExperimentConflict as exc:
            raise Conflict(str(exc)) from None
        except ExperimentError as exc:
            raise NotFound(str(exc)) from None
    bump_generation(workspace, "experiment")
    return experiment


def _create(workspace: Workspace, store: ExperimentStore, spec: Spec, *, actor: str) -> Experiment:
    try:
        check_versions(workspace, spec.control, spec.treatment)
    except ModelRegistryError as exc:
        raise Conflict(f"experiment refused, nothing changed: {exc}") from None
    try:
        return store.create(
            actor=actor,
            name=spec.name,
            control=spec.control,
            treatment=spec.treatment,
            method=spec.method,
            share=spec.share,
            segment=spec.segment,
            comment=spec.comment,
        )
    except ExperimentConflict as exc:
        raise Conflict(str(exc)) from None
    except ExperimentError as exc:
        raise Invalid([(None, str(exc))]) from None
