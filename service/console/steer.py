"""/console/steer: pin, boost or hide an asset (POST + redirect), the overrides, the audit log.

Creating and removing call the API's own operations (`service.operations.overrides`): the same
validation (`OverrideCreate` and the catalog checks), the same snapshot swap, the same audit
entries as POST and DELETE /v1/overrides.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response
from pydantic import ValidationError

from features.schema import values
from recommender import OverrideAction as Action
from recommender import OverrideScope, Snapshot
from service.console.forms import field_error, vocab
from service.console.pages import (
    FormDep,
    Page,
    PageError,
    Params,
    SignedInDep,
    page_router,
    query,
    redirect,
    render,
)
from service.operations import overrides
from service.operations.audit import actor, audit_log
from service.operations.errors import OperationError
from service.schemas.overrides import OverrideCreate

router = page_router()

FIELDS = (
    "action",
    "asset_id",
    "scope",
    "partner_id",
    "tier",
    "maturity",
    "industry",
    "boost",
    "expires_at",
    "comment",
)
_OVERRIDE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _asset_titles(snapshot: Snapshot) -> dict[str, str]:
    assets = snapshot.catalog.assets
    return dict(zip(assets["asset_id"].astype(str), assets["title"].astype(str), strict=True))


def _steer_page(
    page: Page, snapshot: Snapshot, form: dict[str, Any], errors: list[str], *, status: int = 200
) -> Response:
    include_expired = query(page).get("include_expired") == "1"
    now = datetime.now(UTC)
    listed = overrides.list_overrides(page.state, include_expired=include_expired)
    audit = audit_log(page.state, limit=200)
    if not page.user or not page.user.is_admin:
        audit = [e for e in audit if str(e["action"]).startswith("override.")]
    for entry in audit:
        detail = entry["detail"]
        entry["detail_text"] = (
            json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else ""
        )
    return render(
        page,
        "steer.html",
        status=status,
        title=page.t("steer.title"),
        form=form,
        errors=errors,
        overrides=[(o, o.active(now)) for o in listed],
        include_expired=include_expired,
        audit=audit[:50],
        titles=_asset_titles(snapshot),
        partners=sorted(snapshot.partners.values(), key=lambda x: x.partner_id or ""),
        actions=values(Action),
        scopes=values(OverrideScope),
        vocab=vocab(snapshot),
    )


@router.get("/steer")
def steer(page: SignedInDep) -> Response:
    p = query(page)
    if p.get("saved"):
        page.messages.append(("success", page.t("steer.saved", id=p.get("saved"))))
    if p.get("removed"):
        page.messages.append(("success", page.t("steer.removed", id=p.get("removed"))))
    form = {name: p.get(name, "") for name in FIELDS}
    form["action"] = form["action"] if form["action"] in values(Action) else Action.PIN.value
    form["scope"] = (
        form["scope"]
        if form["scope"] in values(OverrideScope)
        else (OverrideScope.PARTNER.value if form["partner_id"] else OverrideScope.GLOBAL.value)
    )
    form["boost"] = form["boost"] or "0.2"
    return _steer_page(page, page.state.snapshot, form, [])


def _override_payload(page: Page, f: Params) -> tuple[dict[str, Any], list[str]]:
    """The OverrideCreate fields the form states, keeping only those of the chosen scope."""
    errors: list[str] = []
    action, scope = f.get("action", ""), f.get("scope", "")
    data: dict[str, Any] = {"action": action, "asset_id": f.get("asset_id", ""), "scope": scope}
    if scope == OverrideScope.PARTNER:
        data["partner_id"] = f.get("partner_id")
    elif scope == OverrideScope.SEGMENT:
        for name in ("tier", "maturity", "industry"):
            if f.get(name):
                data[name] = f.get(name)
    if action == Action.BOOST:
        try:
            data["boost"] = float(f.get("boost", "") or "nan")
        except ValueError:
            errors.append(f"{page.t('steer.boost')}: {f.get('boost')!r}")
    expires = f.get("expires_at")
    if expires:
        try:
            when = datetime.fromisoformat(expires)
            data["expires_at"] = when.replace(tzinfo=UTC) if when.tzinfo is None else when
        except ValueError:
            errors.append(f"{page.t('steer.expires')}: {expires!r}")
    if f.get("comment"):
        data["comment"] = f.get("comment")
    return data, errors


@router.post("/steer")
def steer_create(page: SignedInDep, form: FormDep) -> Response:
    assert page.user is not None
    snapshot = page.state.snapshot
    values_shown = {name: form.get(name, "") or "" for name in FIELDS}
    data, errors = _override_payload(page, form)
    body = None
    if not errors:
        try:
            body = OverrideCreate.model_validate(data)
        except ValidationError as exc:
            errors = [field_error(page, e) for e in exc.errors()]
    if body is not None:
        try:
            created = overrides.create_override(
                page.state, snapshot, body, actor=actor(page.user.key)
            )
        except OperationError as exc:
            detail = exc.detail
            errors = (
                [field_error(page, e) for e in detail]
                if isinstance(detail, list)
                else [str(detail)]
            )
        else:
            return redirect(f"/console/steer?{urlencode({'saved': created.override_id})}")
    return _steer_page(page, snapshot, values_shown, errors, status=422)


@router.post("/steer/remove")
def steer_remove(page: SignedInDep, form: FormDep) -> Response:
    assert page.user is not None
    override_id = form.get("override_id", "") or ""
    if not _OVERRIDE_ID.fullmatch(override_id):
        raise PageError(page, 404, page.t("error.not_found"))
    try:
        overrides.remove_override(page.state, override_id, actor=actor(page.user.key))
    except OperationError as exc:
        raise PageError(page, exc.status_code, exc.message) from None
    return redirect(f"/console/steer?{urlencode({'removed': override_id})}")
