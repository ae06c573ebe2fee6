"""/console/models (admin): versions and their metrics, model cards, promote and roll back;
online experiments between versions: start, report (with the cumulative effect as a chart),
stop, and promote the winner.

Listing, promoting and rolling back call the API's own operations (`service.operations.models`),
experiments `service.operations.experiments`: the same full build before the swap, the same
audit entries as /v1/models and /v1/experiments.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse, Response

from features.schema import ID_PATTERN
from service.console.charts import effect_chart
from service.console.pages import (
    CARD_CSP,
    AdminDep,
    FormDep,
    Page,
    PageError,
    page_router,
    query,
    redirect,
    render,
    security_headers,
)
from service.operations import experiments, models
from service.operations.audit import actor
from service.operations.errors import OperationError

router = page_router()

_VERSION = re.compile(ID_PATTERN)


@router.get("/models")
def models_page(page: AdminDep) -> Response:
    p = query(page)
    listing = models.list_models(page.state, page.state.snapshot)
    if p.get("promoted"):
        message = page.t(
            "models.promoted_msg", version=p.get("promoted"), previous=p.get("previous", "")
        )
        page.messages.append(("success", message))
    if p.get("rolled_back"):
        message = page.t(
            "models.rolled_back_msg", version=p.get("rolled_back"), previous=p.get("previous", "")
        )
        page.messages.append(("success", message))
    for key, message_key in (
        ("started", "experiments.started_msg"),
        ("stopped", "experiments.stopped_msg"),
    ):
        if p.get(key):
            page.messages.append(("success", page.t(message_key, name=p.get(key))))
    if p.get("winner"):
        message = page.t("experiments.winner_msg", name=p.get("name", ""), version=p.get("winner"))
        page.messages.append(("success", message))
    card = p.get("card")
    versions = [m.version for m in listing.data]
    has_card = {v: models.card_path(page.state.workspace, v) is not None for v in versions}
    every = experiments.list_experiments(page.state)
    chosen = next((e for e in every if e.name == p.get("experiment")), None)
    if chosen is None:  # the newest running one, else the newest
        chosen = next((e for e in reversed(every) if e.running), every[-1] if every else None)
    result = experiments.report(page.state.workspace, chosen) if chosen is not None else None
    chart = effect_chart(result["cumulative"], result["null_effect"]) if result else None
    return render(
        page,
        "models.html",
        title=page.t("models.title"),
        listing=listing,
        card=card if card in versions else None,
        has_card=has_card,
        experiments=list(reversed(every)),
        serving_experiments=experiments.serving(page.state.recommender.snapshot),
        chosen=chosen,
        report=result,
        chart=chart,
        arms=[models.PLAYBOOK, *reversed(versions)],
    )


@router.get("/models/{version}/card")
def model_card(page: AdminDep, version: str) -> Response:
    path = models.card_path(page.state.workspace, version) if _VERSION.match(version) else None
    if path is None:
        raise PageError(page, 404, page.t("models.no_card"))
    return security_headers(HTMLResponse(path.read_text(encoding="utf-8")), CARD_CSP)


@router.post("/models/promote")
def models_promote(page: AdminDep, form: FormDep) -> Response:
    assert page.user is not None
    version = form.get("version", "") or ""
    if not _VERSION.match(version):
        raise PageError(page, 404, page.t("error.not_found"))
    try:
        swap = models.promote(page.state, version, actor=actor(page.user.key))
    except OperationError as exc:
        raise PageError(
            page, exc.status_code, page.t("models.failed", detail=exc.message)
        ) from None
    query_string = urlencode({"promoted": swap.model_version, "previous": swap.previous})
    return redirect(f"/console/models?{query_string}")


@router.post("/models/rollback")
def models_rollback(page: AdminDep, form: FormDep) -> Response:
    assert page.user is not None
    try:
        swap = models.rollback(page.state, actor=actor(page.user.key))
    except OperationError as exc:
        raise PageError(
            page, exc.status_code, page.t("models.failed", detail=exc.message)
        ) from None
    query_string = urlencode({"rolled_back": swap.model_version, "previous": swap.previous})
    return redirect(f"/console/models?{query_string}")


@router.post("/models/experiments")
def experiments_create(page: AdminDep, form: FormDep) -> Response:
    assert page.user is not None
    try:
        share = float(form.get("share", "") or 0.5)
    except ValueError:
        share = float("nan")  # refused by the operation, with the field named
    spec = experiments.Spec(
        name=(form.get("name", "") or "").strip(),
        control=form.get("control", "") or "",
        treatment=form.get("treatment", "") or "",
        method=form.get("method", "") or "",
        share=share,
        segment=(form.get("segment", "") or "").strip(),
    )
    try:
        made = experiments.create(page.state, spec, actor=actor(page.user.key))
    except OperationError as exc:
        raise PageError(page, exc.status_code, _refused(page, exc)) from None
    query_string = urlencode({"started": made.name, "experiment": made.name})
    return redirect(f"/console/models?{query_string}#experiment")


@router.post("/models/experiments/stop")
def experiments_stop(page: AdminDep, form: FormDep) -> Response:
    assert page.user is not None
    name = _name(page, form.get("name", "") or "")
    try:
        experiments.stop(page.state, name, actor=actor(page.user.key))
    except OperationError as exc:
        raise PageError(page, exc.status_code, _refused(page, exc)) from None
    query_string = urlencode({"stopped": name, "experiment": name})
    return redirect(f"/console/models?{query_string}#experiment")


@router.post("/models/experiments/promote")
def experiments_promote(page: AdminDep, form: FormDep) -> Response:
    assert page.user is not None
    name = _name(page, form.get("name", "") or "")
    try:
        _, version = experiments.promote_winner(page.state, name, actor=actor(page.user.key))
    except OperationError as exc:
        raise PageError(page, exc.status_code, _refused(page, exc)) from None
    query_string = urlencode({"winner": version, "name": name, "experiment": name})
    return redirect(f"/console/models?{query_string}#experiment")


def _name(page: Page, name: str) -> str:
    if not _VERSION.match(name):
        raise PageError(page, 404, page.t("error.not_found"))
    return name


def _refused(page: Page, exc: OperationError) -> str:
    return page.t("experiments.failed", detail="; ".join(exc.reasons))
