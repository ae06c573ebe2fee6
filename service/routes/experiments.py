"""Online experiments (admin): create, list, show, stop, report, promote the winner.

The work is `service.operations.experiments` (shared with the console and the CLI); every
change is audited (`experiment.create`, `experiment.stop`, and `model.promote` for a winner).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from recommender import Experiment, ReportOptions
from service.deps import AdminKeyDep, SnapshotDep, StateDep
from service.operations import experiments as ops
from service.operations.audit import actor
from service.routes import ApiRoute
from service.schemas.common import API_RESPONSES, ErrorPublic
from service.schemas.experiments import (
    ExperimentIn,
    ExperimentPublic,
    ExperimentReport,
    ExperimentsPublic,
    WinnerPromoted,
)

router = APIRouter(
    route_class=ApiRoute, prefix="/v1/experiments", tags=["experiments"], responses=API_RESPONSES
)

Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "no such experiment"}
}


def public(experiment: Experiment, serving: set[str]) -> ExperimentPublic:
    data: dict[str, Any] = experiment.to_dict()
    return ExperimentPublic(**data, serving=experiment.name in serving)


@router.get("", response_model=ExperimentsPublic, summary="Experiments, oldest first (admin)")
def list_experiments(state: StateDep, snapshot: SnapshotDep, key: AdminKeyDep) -> ExperimentsPublic:
    serving = ops.serving(snapshot)
    data = [public(e, serving) for e in ops.list_experiments(state)]
    return ExperimentsPublic(data=data, count=len(data))


@router.post(
    "",
    response_model=ExperimentPublic,
    status_code=201,
    summary="Start an experiment between two model versions (admin)",
    responses={
        409: {
            "model": ErrorPublic,
            "description": "a version cannot be served, the name is taken, or a running "
            "experiment's segment overlaps",
        }
    },
)
def create(body: ExperimentIn, state: StateDep, key: AdminKeyDep) -> ExperimentPublic:
    spec = ops.Spec(**body.model_dump())
    experiment = ops.create(state, spec, actor=actor(key))
    return public(experiment, ops.serving(state.recommender.snapshot))


@router.get("/{name}", response_model=ExperimentPublic, responses=NOT_FOUND,
            summary="One experiment (admin)")  # fmt: skip
def show(name: Name, state: StateDep, snapshot: SnapshotDep, key: AdminKeyDep) -> ExperimentPublic:
    return public(ops.get(state, name), ops.serving(snapshot))


@router.post(
    "/{name}/stop",
    response_model=ExperimentPublic,
    summary="Stop an experiment; its partners get the current model again (admin)",
    responses={**NOT_FOUND, 409: {"model": ErrorPublic, "description": "already stopped"}},
)
def stop(name: Name, state: StateDep, key: AdminKeyDep) -> ExperimentPublic:
    experiment = ops.stop(state, name, actor=actor(key))
    return public(experiment, ops.serving(state.recommender.snapshot))


@router.get(
    "/{name}/report",
    response_model=ExperimentReport,
    responses=NOT_FOUND,
    summary="The experiment's report from the journal (admin)",
)
def report(
    name: Name,
    state: StateDep,
    key: AdminKeyDep,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    power: Annotated[float, Query(gt=0, lt=1)] = 0.8,
    min_effect: Annotated[float, Query(gt=0, lt=1)] = 0.05,
) -> dict[str, Any]:
    options = ReportOptions(alpha=alpha, power=power, min_effect=min_effect)
    return ops.report(state.workspace, ops.get(state, name), options)


@router.post(
    "/{name}/promote",
    response_model=WinnerPromoted,
    summary="Stop the experiment and promote its winner (admin)",
    responses={
        **NOT_FOUND,
        409: {"model": ErrorPublic, "description": "no winner yet, or already stopped"},
    },
)
def promote_winner(name: Name, state: StateDep, key: AdminKeyDep) -> WinnerPromoted:
    stopped, version = ops.promote_winner(state, name, actor=actor(key))
    experiment = public(stopped, ops.serving(state.recommender.snapshot))
    return WinnerPromoted(experiment=experiment, model_version=version)
