"""/console/compare: the same deal for two maturities, two stages or two model versions.

Each side is a preview (`preview.preview_recommend`); for model versions the side's snapshot is
the serving one scored by that version (`snapshot_for_model`), built as a promotion would
attach it, without promoting anything. `analysis.rank_diff` names what moved.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from features.schema import Maturity, Stage, values
from recommender import ContentScorer, Snapshot, attach_model
from service.console import analysis
from service.console.forms import DealForm, partner_pick, validate_body, vocab
from service.console.pages import SignedInDep, page_router, query, render
from service.console.preview import preview_recommend
from service.operations import models
from service.operations.errors import OperationError

router = page_router()

_variants: dict[tuple[int, str], tuple[Snapshot, Snapshot]] = {}


def snapshot_for_model(state: Any, snapshot: Snapshot, version: str) -> Snapshot:
    """`snapshot` scored by model `version` ('playbook' = no model), built as the service's
    promotion would attach it; kept for the few versions a compare asks for."""
    if version == snapshot.model_version:
        return snapshot
    cached = _variants.get((id(snapshot), version))
    if cached is not None and cached[0] is snapshot:
        return cached[1]
    base = snapshot.with_changes(scorer=ContentScorer(), usage=None)
    if version == models.PLAYBOOK:
        variant = base
    else:
        variant = attach_model(state.workspace, base, version=version)
        if variant.model_version != version:
            raise LookupError(f"model version {version!r} cannot be loaded")
    if len(_variants) >= 4:
        _variants.clear()
    _variants[(id(snapshot), version)] = (snapshot, variant)
    return variant


def _next_value(options: list[str], value: str) -> str:
    i = options.index(value) if value in options else 0
    return options[i + 1] if i + 1 < len(options) else options[max(i - 1, 0)]


@router.get("/compare")
def compare(page: SignedInDep) -> Response:
    p = query(page)
    snapshot = page.state.snapshot
    pick = partner_pick(page, p, snapshot, "/console/compare")
    partner = pick["partner"]
    deal = DealForm.parse(p)
    maturities, stages = values(Maturity), values(Stage)
    serving = snapshot.model_version
    versions = list(
        dict.fromkeys([serving, models.PLAYBOOK, *models.versions(page.state.workspace)])
    )
    base_maturity = partner.maturity if partner else maturities[0]
    choice = {
        "dim": p.choice("dim", ["maturity", "stage", "model"], "maturity"),
        "maturity_a": p.choice("maturity_a", maturities, base_maturity),
        "maturity_b": p.choice("maturity_b", maturities, _next_value(maturities, base_maturity)),
        "stage_a": p.choice("stage_a", stages, deal.stage),
        "stage_b": p.choice("stage_b", stages, _next_value(stages, deal.stage)),
        "model_a": p.choice("model_a", versions, serving),
        "model_b": p.choice("model_b", versions, _next_value(versions, serving)),
    }
    errors: list[str] = []
    sides: list[dict[str, Any]] = []
    diff = None
    if pick["unknown_partner"]:
        errors.append(page.t("partner.unknown", id=pick["unknown_partner"]))
    if partner is not None and deal.submitted:
        dim = choice["dim"]
        a, b = choice[f"{dim}_a"], choice[f"{dim}_b"]
        if a == b:
            errors.append(page.t("compare.same_choice"))
        for side_value in (a, b) if not errors else ():
            override = {dim: side_value} if dim in ("maturity", "stage") else {}
            body = deal.body(partner.partner_id or "", **override)
            parsed, problems = validate_body(page, body)
            errors.extend(problems)
            if parsed is None:
                break
            try:
                snap = (
                    snapshot_for_model(page.state, snapshot, str(side_value))
                    if dim == "model"
                    else snapshot
                )
                result = preview_recommend(page, snap, parsed)
            except OperationError as exc:
                errors.append(exc.message)
                break
            except Exception as exc:  # a model version that cannot be loaded
                errors.append(page.t("models.failed", detail=str(exc)))
                break
            sides.append({"value": side_value, "result": result})
        if len(sides) == 2:
            diff = analysis.rank_diff(
                [i["asset_id"] for i in sides[0]["result"]["items"]],
                [i["asset_id"] for i in sides[1]["result"]["items"]],
            )
            sides[0]["moves"] = {m.asset_id: m for m in diff.left}
            sides[1]["moves"] = {m.asset_id: m for m in diff.right}
        else:
            sides = []
    return render(
        page,
        "compare.html",
        title=page.t("compare.title"),
        pick=pick,
        deal=deal,
        vocab=vocab(snapshot),
        models=versions,
        serving=serving,
        playbook=models.PLAYBOOK,
        choice=choice,
        errors=errors,
        sides=sides,
        diff=diff,
    )
