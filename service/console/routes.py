"""The channel manager console under /console: server-rendered pages over the service's own code.

Pages (GET forms, so every view is a shareable URL; changes are POST + redirect):

    /console/preview     a partner's deal -> the top-N exactly as POST /v1/recommendations answers
    /console/compare     the same deal for two maturities, two stages or two model versions
    /console/steer       pin / boost / hide overrides (+ the audit log)
    /console/coverage    stage x maturity counts of eligible, well-scored assets
    /console/awareness   relevant assets a partner never opened
    /console/models      (admin) versions, metrics, model cards, promote and rollback

Every answer the API also gives comes from the API's own route functions, called in-process
with the signed-in key (`service.routes.recommendations.recommend`, `...overrides.create_override`,
`...models.promote`...): the same validation, the same snapshot handling, the same audit
entries. The one difference is deliberate: a preview is not journaled as impressions (the
partner did not see it). Sign-in, sessions and CSRF are in `session.py`; labels in `i18n.py`.
Templates are rendered with autoescape on, and no template marks catalog text safe.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from starlette.datastructures import ImmutableMultiDict

from features.schema import ID_PATTERN, BuyerRole, Language, Maturity, Stage, Tier, values
from recommender import (
    ContentScorer,
    OverrideScope,
    PartnerProfile,
    Snapshot,
    find_partners,
)
from recommender import OverrideAction as Action
from service.console import analysis, session
from service.console.i18n import (
    LANGS,
    TABLES,
    enum_label,
    lang_from_accept,
    normalise_lang,
    translate,
)
from service.middleware import request_info
from service.operations import models as models_ops
from service.operations import overrides as overrides_ops
from service.operations.audit import actor
from service.operations.errors import OperationError
from service.operations.recommend import recommend
from service.schemas.overrides import OverrideCreate
from service.schemas.recommendations import RecommendationRequest

router = APIRouter(prefix="/console", include_in_schema=False)

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
_STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
_ID = re.compile(ID_PATTERN)
_PLAYBOOK = "playbook"

# Console pages only load their own files: no CDN, no inline script or style.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# A model card is HTML written by the training job: shown sandboxed (no script, own origin).
CARD_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
)

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,  # every template, whatever its name; nothing is ever marked |safe
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["safe_url"] = analysis.safe_url


def _static_versions() -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10]
        for p in STATIC_DIR.iterdir()
        if p.is_file() and p.suffix in _STATIC_TYPES
    }


_STATIC_VERSIONS = _static_versions()


def static_url(name: str) -> str:
    return f"/console/static/{name}?v={_STATIC_VERSIONS.get(name, '0')}"


NAV: tuple[tuple[str, str, bool], ...] = (
    ("preview", "/console/preview", False),
    ("compare", "/console/compare", False),
    ("steer", "/console/steer", False),
    ("coverage", "/console/coverage", False),
    ("awareness", "/console/awareness", False),
    ("models", "/console/models", True),
)


# --- request plumbing ---------------------------------------------------------------------------
@dataclass
class Page:
    """One console request: the service state, the session settings, language and user."""

    request: Request
    state: Any  # service.state.ServiceState
    config: session.SessionConfig
    lang: str
    user: session.ConsoleUser | None
    had_cookie: bool = False
    messages: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)

    def t(self, key: str, /, **kw: object) -> str:
        return translate(self.lang, key, **kw)


def _security_headers(response: Response, csp: str = CSP) -> Response:
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    if "frame-ancestors 'none'" in csp:
        response.headers["X-Frame-Options"] = "DENY"
    return response


def _config(request: Request, state: Any) -> session.SessionConfig:
    config = getattr(request.app.state, "console_session", None)
    if config is None:
        config = session.session_config(state.settings, state.workspace.root)
        request.app.state.console_session = config
    return config


def _lang(request: Request) -> str:
    return normalise_lang(request.cookies.get(session.LANG_COOKIE)) or lang_from_accept(
        request.headers.get("accept-language")
    )


def _page(request: Request) -> Page | Response:
    """The request's Page, or a 503 page while the service is not ready."""
    state = getattr(request.app.state, "service", None)
    lang = _lang(request)
    if state is None:
        html = f"<!doctype html><title>503</title><p>{translate(lang, 'error.not_ready')}</p>"
        return _security_headers(HTMLResponse(html, status_code=503, headers={"Retry-After": "2"}))
    config = _config(request, state)
    raw = request.cookies.get(session.SESSION_COOKIE)
    payload = session.read(config, raw)
    user = None
    if payload is not None:
        user = session.user_for(payload, state.keys.list(include_revoked=False))
    return Page(request, state, config, lang, user, had_cookie=bool(raw))


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _to_login(page: Page) -> Response:
    params = {"next": _here(page.request)}
    if page.had_cookie:
        params["m"] = "expired"
    response = RedirectResponse(f"/console/login?{urlencode(params)}", status_code=303)
    if page.had_cookie:
        session.clear_session_cookie(response, page.request, page.config)
    return _security_headers(response)


def _redirect(url: str) -> Response:
    return _security_headers(RedirectResponse(url, status_code=303))


def _signed_in(request: Request, *, admin: bool = False) -> Page | Response:
    """The Page of a signed-in user (admin when asked), else the response to send instead."""
    page = _page(request)
    if isinstance(page, Response):
        return page
    if page.user is None:
        return _to_login(page)
    if admin and not page.user.is_admin:
        return _error(page, 403, page.t("error.forbidden"))
    return page


def render(
    page: Page, template: str, *, status: int = 200, title: str = "", **context: Any
) -> Response:
    request = page.request
    here = _here(request)
    lang_links = [(code, f"/console/lang/{code}?{urlencode({'next': here})}") for code in LANGS]
    nav = [
        (key, path, request.url.path.startswith(path))
        for key, path, admin_only in NAV
        if page.user is not None and (not admin_only or page.user.is_admin)
    ]
    html = _env.get_template(template).render(
        t=page.t,
        label=partial(enum_label, page.lang),
        reason=partial(_reason_label, page.lang),
        lang=page.lang,
        user=page.user,
        csrf=page.user.csrf if page.user else "",
        nav=nav,
        lang_links=lang_links,
        static=static_url,
        messages=page.messages,
        title=title,
        **context,
    )
    return _security_headers(HTMLResponse(html, status_code=status))


def _reason_label(lang: str, code: str) -> str:
    key = f"reason.{code}"
    return translate(lang, key if key in TABLES["en"] else "reason.other")


def _error(page: Page, status: int, message: str) -> Response:
    return render(page, "error.html", status=status, title=page.t("error.title"), message=message)


class Params:
    """Form or query values: stripped strings, empty treated as missing."""

    def __init__(self, data: ImmutableMultiDict[str, str]) -> None:
        self.data = data

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.data.get(name)
        if value is None:
            return default
        value = value.strip()
        return value or default

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for v in self.data.getlist(name) if v.strip()]

    def choice(self, name: str, allowed: list[str], default: str | None = None) -> str | None:
        value = self.get(name)
        return value if value in allowed else default


async def _form(request: Request) -> Params | None:
    """The URL-encoded body of a console form (None when it is not one)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return None
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return Params(ImmutableMultiDict(parse_qsl(text, keep_blank_values=True, max_num_fields=200)))


# --- the API's operations, called in-process ----------------------------------------------------
def api_recommend(
    request: Request, state: Any, snapshot: Snapshot, body: RecommendationRequest
) -> dict[str, Any]:
    """The response body POST /v1/recommendations gives for `body` on `snapshot`, not
    journaled: a manager's preview is not an impression the partner saw.

    Raises `OperationError` as the API would (NotFound for an unknown partner).
    """
    info = request_info(request.scope)
    return recommend(
        state,
        snapshot,
        body,
        request_id=info.request_id if info is not None else None,
        journal=False,
    )


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
    if version == _PLAYBOOK:
        variant = base
    else:
        from recommender import attach_model

        variant = attach_model(state.workspace, base, version=version)
        if variant.model_version != version:
            raise LookupError(f"model version {version!r} cannot be loaded")
    if len(_variants) >= 4:
        _variants.clear()
    _variants[(id(snapshot), version)] = (snapshot, variant)
    return variant


def _model_versions(state: Any) -> list[str]:
    return models_ops.versions(state.workspace)


# --- shared form pieces -------------------------------------------------------------------------
@dataclass
class DealForm:
    stage: str = Stage.DISCOVERY.value
    industry: str | None = None
    products: list[str] = field(default_factory=list)
    buyer_role: str | None = None
    notes: str = ""
    n: int = 10
    submitted: bool = False

    @classmethod
    def parse(cls, p: Params, default_industry: str | None = None) -> DealForm:
        raw_n = p.get("n")
        try:
            n = int(raw_n) if raw_n else 10
        except ValueError:
            n = 10
        stage = p.get("stage")
        return cls(
            stage=stage if stage in values(Stage) else Stage.DISCOVERY.value,
            industry=p.get("industry", default_industry),
            products=p.getlist("products"),
            buyer_role=p.get("buyer_role"),
            notes=p.get("notes", "") or "",
            n=max(1, min(n, 50)),
            submitted=stage is not None,
        )

    def body(self, partner_id: str, **override: Any) -> dict[str, Any]:
        context: dict[str, Any] = {"stage": override.get("stage", self.stage)}
        if self.industry:
            context["industry"] = self.industry
        if self.products:
            context["products"] = self.products
        if self.buyer_role:
            context["buyer_role"] = self.buyer_role
        if self.notes:
            context["notes"] = self.notes
        body: dict[str, Any] = {"partner_id": partner_id, "context": context, "n": self.n}
        if override.get("maturity"):
            body["partner"] = {"maturity": override["maturity"]}
        return body


def _validate_body(
    page: Page, body: dict[str, Any]
) -> tuple[RecommendationRequest | None, list[str]]:
    try:
        return RecommendationRequest.model_validate(body), []
    except ValidationError as exc:
        return None, [_field_error(page, e) for e in exc.errors()]


_FIELD_LABELS = {
    "stage": "field.stage",
    "industry": "field.industry",
    "products": "field.products",
    "buyer_role": "field.buyer_role",
    "notes": "field.notes",
    "n": "field.n",
    "partner_id": "partner.id",
    "maturity": "partner.maturity",
    "action": "steer.action",
    "asset_id": "steer.asset",
    "scope": "steer.scope",
    "tier": "steer.tier",
    "boost": "steer.boost",
    "expires_at": "steer.expires",
    "comment": "steer.comment",
}


def _field_error(page: Page, error: Any) -> str:
    loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
    name = next((p for p in reversed(loc) if p in _FIELD_LABELS), None)
    msg = str(error.get("msg", ""))
    return f"{page.t(_FIELD_LABELS[name])}: {msg}" if name else msg


def _vocab(snapshot: Snapshot) -> dict[str, Any]:
    table = snapshot.table
    return {
        "stages": values(Stage),
        "maturities": values(Maturity),
        "tiers": values(Tier),
        "roles": values(BuyerRole),
        "languages": values(Language),
        "industries": list(table.industry_vocab),
        "products": list(table.product_vocab),
    }


def _partner_pick(page: Page, p: Params, snapshot: Snapshot, action: str) -> dict[str, Any]:
    """The partner part of a page: the search, its matches (links), the chosen partner."""
    q = p.get("q", "") or ""
    partner_id = p.get("partner_id")
    partner = snapshot.partners.get(partner_id) if partner_id else None
    matches: list[tuple[PartnerProfile, str]] = []
    if q and partner is None:
        keep = [
            (k, v)
            for k, v in page.request.query_params.multi_items()
            if k not in ("q", "partner_id")
        ]
        for hit in find_partners(snapshot.partners, q, limit=20):
            url = f"{action}?{urlencode([('partner_id', hit.partner_id or ''), *keep])}"
            matches.append((hit, url))
    unknown = partner_id if partner_id and partner is None else None
    return {
        "q": q,
        "partner": partner,
        "matches": matches,
        "unknown_partner": unknown,
        "action": action,
    }


# --- sign-in ------------------------------------------------------------------------------------
@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
def console_root() -> Response:
    return _redirect("/console/preview")


@router.get("/login")
def login_form(request: Request, next: str | None = None, m: str | None = None) -> Response:
    page = _page(request)
    if isinstance(page, Response):
        return page
    target = session.safe_next(next)
    if page.user is not None:
        return _redirect(target)
    if m == "signed_out":
        page.messages.append(("info", page.t("login.signed_out")))
    elif m == "expired":
        page.messages.append(("info", page.t("login.expired")))
    hours = round(page.config.max_age / 3600, 1)
    return render(page, "login.html", title=page.t("login.title"), next=target, hours=f"{hours:g}")


@router.post("/login")
async def login(request: Request) -> Response:
    page = _page(request)
    if isinstance(page, Response):
        return page
    form = await _form(request)
    if form is None or not session.same_origin(request):
        return _error(page, 403, page.t("error.csrf"))
    target = session.safe_next(form.get("next"))
    key = form.get("key") or ""
    info = await run_in_threadpool(page.state.keys.verify, key)
    hours = f"{round(page.config.max_age / 3600, 1):g}"
    if info is None:
        page.messages.append(("error", page.t("login.invalid")))
        return render(
            page, "login.html", status=401, title=page.t("login.title"), next=target, hours=hours
        )
    if info.scope not in session.CONSOLE_SCOPES:
        page.messages.append(("error", page.t("login.scope", scope=info.scope)))
        return render(
            page, "login.html", status=403, title=page.t("login.title"), next=target, hours=hours
        )
    await run_in_threadpool(
        page.state.overrides.audit,
        actor(info),
        "console.sign_in",
        info.key_id,
        {"scope": info.scope},
    )
    response = _redirect(target)
    session.set_session_cookie(response, request, page.config, session.issue(page.config, info))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = _signed_in(request)
    if isinstance(page, Response):
        return page
    assert page.user is not None
    form = await _form(request)
    if form is None or not session.csrf_ok(request, page.user, form.get("csrf")):
        return _error(page, 403, page.t("error.csrf"))
    await run_in_threadpool(
        page.state.overrides.audit,
        actor(page.user.key),
        "console.sign_out",
        page.user.key.key_id,
        {},
    )
    response = _redirect("/console/login?m=signed_out")
    session.clear_session_cookie(response, request, page.config)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    page = _page(request)
    if isinstance(page, Response):
        return page
    response = _redirect(session.safe_next(next))
    if normalise_lang(code):
        session.set_lang_cookie(response, request, page.config, code)
    return response


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    path = STATIC_DIR / name
    if (
        "/" in name
        or name.startswith(".")
        or path.suffix not in _STATIC_TYPES
        or not path.is_file()
    ):
        raise HTTPException(status_code=404, detail="not found")
    response = Response(path.read_bytes(), media_type=_STATIC_TYPES[path.suffix])
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- preview ------------------------------------------------------------------------------------
@router.get("/preview")
def preview(request: Request) -> Response:
    page = _signed_in(request)
    if isinstance(page, Response):
        return page
    assert page.user is not None
    p = Params(request.query_params)
    snapshot = page.state.snapshot
    pick = _partner_pick(page, p, snapshot, "/console/preview")
    partner: PartnerProfile | None = pick["partner"]
    deal = DealForm.parse(
        p, default_industry=(partner.industries[0] if partner and partner.industries else None)
    )
    errors: list[str] = []
    result = request_json = response_json = None
    if pick["unknown_partner"]:
        errors.append(page.t("partner.unknown", id=pick["unknown_partner"]))
    if partner is not None and deal.submitted:
        body = deal.body(partner.partner_id or "")
        parsed, errors = _validate_body(page, body)
        if parsed is not None:
            try:
                result = api_recommend(request, page.state, snapshot, parsed)
            except OperationError as exc:
                errors.append(exc.message)
            else:
                request_json = json.dumps(body, ensure_ascii=False, indent=2)
                response_json = json.dumps(result, ensure_ascii=False, indent=2)
    return render(
        page,
        "preview.html",
        title=page.t("preview.title"),
        pick=pick,
        deal=deal,
        vocab=_vocab(snapshot),
        errors=errors,
        result=result,
        request_json=request_json,
        response_json=response_json,
    )


# --- compare ------------------------------------------------------------------------------------
def _next_value(options: list[str], value: str) -> str:
    i = options.index(value) if value in options else 0
    return options[i + 1] if i + 1 < len(options) else options[max(i - 1, 0)]


@router.get("/compare")
def compare(request: Request) -> Response:
    page = _signed_in(request)
    if isinstance(page, Response):
        return page
    assert page.user is not None
    p = Params(request.query_params)
    snapshot = page.state.snapshot
    pick = _partner_pick(page, p, snapshot, "/console/compare")
    partner: PartnerProfile | None = pick["partner"]
    deal = DealForm.parse(
        p, default_industry=(partner.industries[0] if partner and partner.industries else None)
    )
    maturities, stages = values(Maturity), values(Stage)
    serving = snapshot.model_version
    models = list(dict.fromkeys([serving, _PLAYBOOK, *_model_versions(page.state)]))
    base_maturity = partner.maturity if partner else maturities[0]
    choice = {
        "dim": p.choice("dim", ["maturity", "stage", "model"], "maturity"),
        "maturity_a": p.choice("maturity_a", maturities, base_maturity),
        "maturity_b": p.choice("maturity_b", maturities, _next_value(maturities, base_maturity)),
        "stage_a": p.choice("stage_a", stages, deal.stage),
        "stage_b": p.choice("stage_b", stages, _next_value(stages, deal.stage)),
        "model_a": p.choice("model_a", models, serving),
        "model_b": p.choice("model_b", models, _next_value(models, serving)),
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
            parsed, problems = _validate_body(page, body)
            errors.extend(problems)
            if parsed is None:
                break
            try:
                snap = (
                    snapshot_for_model(page.state, snapshot, str(side_value))
                    if dim == "model"
                    else snapshot
                )
                result = api_recommend(request, page.state, snap, parsed)
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
        vocab=_vocab(snapshot),
        models=models,
        serving=serving,
        playbook=_PLAYBOOK,
        choice=choice,
        errors=errors,
        sides=sides,
        diff=diff,
    )


# --- steer --------------------------------------------------------------------------------------
def _asset_titles(snapshot: Snapshot) -> dict[str, str]:
    assets = snapshot.catalog.assets
    return dict(zip(assets["asset_id"].astype(str), assets["title"].astype(str), strict=True))


def _steer_page(
    page: Page, snapshot: Snapshot, form: dict[str, Any], errors: list[str], *, status: int = 200
) -> Response:
    p = Params(page.request.query_params)
    include_expired = p.get("include_expired") == "1"
    now = datetime.now(UTC)
    overrides = page.state.overrides.list(include_expired=include_expired)
    audit = page.state.overrides.audit_log(limit=200)
    if not page.user or not page.user.is_admin:
        audit = [e for e in audit if str(e["action"]).startswith("override.")]
    for entry in audit:
        try:
            detail = json.loads(str(entry["detail"]))
        except ValueError:
            detail = entry["detail"]
        entry["detail_text"] = (
            json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else ""
        )
    titles = _asset_titles(snapshot)
    return render(
        page,
        "steer.html",
        status=status,
        title=page.t("steer.title"),
        form=form,
        errors=errors,
        overrides=[(o, o.active(now)) for o in overrides],
        include_expired=include_expired,
        audit=audit[:50],
        titles=titles,
        partners=sorted(snapshot.partners.values(), key=lambda x: x.partner_id or ""),
        actions=values(Action),
        scopes=values(OverrideScope),
        vocab=_vocab(snapshot),
    )


_STEER_FIELDS = (
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


@router.get("/steer")
def steer(request: Request) -> Response:
    page = _signed_in(request)
    if isinstance(page, Response):
        return page
    p = Params(request.query_params)
    snapshot = page.state.snapshot
    if p.get("saved"):
        page.messages.append(("success", page.t("steer.saved", id=p.get("saved"))))
    if p.get("removed"):
        page.messages.append(("success", page.t("steer.removed", id=p.get("removed"))))
    form = {name: p.get(name, "") for name in _STEER_FIELDS}
    form["action"] = form["action"] if form["action"] in values(Action) else Action.PIN.value
    form["scope"] = (
        form["scope"]
        if form["scope"] in values(OverrideScope)
        else (OverrideScope.PARTNER.value if form["partner_id"] else OverrideScope.GLOBAL.value)
    )
    form["boost"] = form["boost"] or "0.2"
    return _steer_page(page, snapshot, form, [])


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
async def steer_create(request: Request) -> Response:
    return await _checked_post(request, _steer_create)


def _steer_create(page: Page, f: Params) -> Response:
    assert page.user is not None
    snapshot = page.state.snapshot
    form = {name: f.get(name, "") or "" for name in _STEER_FIELDS}
    data, errors = _override_payload(page, f)
    body = None
    if not errors:
        try:
            body = OverrideCreate.model_validate(data)
        except ValidationError as exc:
            errors = [_field_error(page, e) for e in exc.errors()]
    if body is not None:
        try:
            created = overrides_ops.create_override(
                page.state, snapshot, body, actor=actor(page.user.key)
            )
        except OperationError as exc:
            detail = exc.detail
            errors = (
                [_field_error(page, e) for e in detail]
                if isinstance(detail, list)
                else [str(detail)]
            )
        else:
            return _redirect(f"/console/steer?{urlencode({'saved': created.override_id})}")
    return _steer_page(page, snapshot, form, errors, status=422)


@router.post("/steer/remove")
async def steer_remove(request: Request) -> Response:
    return await _checked_post(
        request, lambda page, f: _steer_remove(page, f.get("override_id", "") or "")
    )


def _steer_remove(page: Page, override_id: str) -> Response:
    assert page.user is not None
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", override_id):
        return _error(page, 404, page.t("error.not_found"))
    try:
        overrides_ops.remove_override(page.state, override_id, actor=actor(page.user.key))
    except OperationError as exc:
        return _error(page, exc.status_code, exc.message)
    return _redirect(f"/console/steer?{urlencode({'removed': override_id})}")


def _asset_summary(snapshot: Snapshot, asset_id: str) -> dict[str, Any]:
    row = snapshot.catalog.asset(asset_id)

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    return {
        "asset_id": asset_id,
        "title": str(row.get("title", "")),
        "type": str(row.get("type", "")),
        "language": text(row.get("language")),
        "url": text(row.get("url")),
    }


# --- coverage -----------------------------------------------------------------------------------
@router.get("/coverage")
def coverage(request: Request) -> Response:
    page = _signed_in(request)
    if isinstance(page, Response):
        return page
    p = Params(request.query_params)
    snapshot = page.state.snapshot
    vocab = _vocab(snapshot)
    language = p.choice("language", values(Language))
    industry = p.choice("industry", vocab["industries"])
    try:
        threshold = float(p.get("threshold", "") or analysis.DEFAULT_THRESHOLD)
    except ValueError:
        threshold = analysis.DEFAULT_THRESHOLD
    threshold = min(max(threshold, 0.0), 1.0)
    result = analysis.coverage(snapshot, language=language, industry=industry, threshold=threshold)
    cell = None
    raw_cell = p.get("cell", "") or ""
    if ":" in raw_cell:
        stage, maturity = raw_cell.split(":", 1)
        if (stage, maturity) in result.cells:
            cell = result.cell(stage, maturity)
    base = [
        (k, v)
        for k, v in (
            ("language", language),
            ("industry", industry),
            ("threshold", f"{threshold:g}"),
        )
        if v
    ]
    cell_urls = {
        key: "/console/coverage?" + urlencode([*base, ("cell", f"{key[0]}:{key[1]}")]) + "#cell"
        for key in result.cells
    }
    cell_assets = [_asset_summary(snapshot, a) for a in cell.asset_ids] if cell else []
    return render(
        page,
        "coverage.html",
        title=page.t("coverage.title"),
        vocab=vocab,
        cov=result,
        language=language,
        industry=industry,
        threshold=f"{threshold:g}",
        cell=cell,
        cell_assets=cell_assets,
        cell_urls=cell_urls,
        levels=("none", "thin", "fair", "good"),
    )


# --- awareness ----------------------------------------------------------------------------------
@router.get("/awareness")
def awareness(request: Request) -> Response:
    page = _signed_in(request)
    if isinstance(page, Response):
        return page
    p = Params(request.query_params)
    snapshot = page.state.snapshot
    pick = _partner_pick(page, p, snapshot, "/console/awareness")
    partner: PartnerProfile | None = pick["partner"]
    errors: list[str] = []
    if pick["unknown_partner"]:
        errors.append(page.t("partner.unknown", id=pick["unknown_partner"]))
    items: list[analysis.AwareItem] = []
    opened: frozenset[str] = frozenset()
    contexts = 0
    if partner is not None:
        opened = page.state.seen.get(partner.partner_id)
        items, contexts = analysis.awareness(snapshot, partner, opened)
    return render(
        page,
        "awareness.html",
        title=page.t("awareness.title"),
        pick=pick,
        errors=errors,
        items=items,
        opened=len(opened),
        contexts=contexts,
    )


# --- models (admin) -----------------------------------------------------------------------------
@router.get("/models")
def models(request: Request) -> Response:
    page = _signed_in(request, admin=True)
    if isinstance(page, Response):
        return page
    assert page.user is not None
    p = Params(request.query_params)
    snapshot = page.state.snapshot
    listing = models_ops.list_models(page.state, snapshot)
    if p.get("promoted"):
        page.messages.append(
            (
                "success",
                page.t(
                    "models.promoted_msg", version=p.get("promoted"), previous=p.get("previous", "")
                ),
            )
        )
    if p.get("rolled_back"):
        page.messages.append(
            (
                "success",
                page.t(
                    "models.rolled_back_msg",
                    version=p.get("rolled_back"),
                    previous=p.get("previous", ""),
                ),
            )
        )
    card = p.get("card")
    versions = [m.version for m in listing.data]
    has_card = {v: models_ops.card_path(page.state.workspace, v) is not None for v in versions}
    return render(
        page,
        "models.html",
        title=page.t("models.title"),
        listing=listing,
        card=card if card in versions else None,
        has_card=has_card,
    )


@router.get("/models/{version}/card")
def model_card(request: Request, version: str) -> Response:
    page = _signed_in(request, admin=True)
    if isinstance(page, Response):
        return page
    path = models_ops.card_path(page.state.workspace, version) if _ID.match(version) else None
    if path is None:
        return _error(page, 404, page.t("models.no_card"))
    response = HTMLResponse(path.read_text(encoding="utf-8"))
    return _security_headers(response, CARD_CSP)


async def _checked_post(
    request: Request, action: Callable[[Page, Params], Response], *, admin: bool = False
) -> Response:
    """A console form post: signed in (as admin if asked), CSRF token checked, then `action`
    on the form in the threadpool."""
    page = _signed_in(request, admin=admin)
    if isinstance(page, Response):
        return page
    assert page.user is not None
    f = await _form(request)
    if f is None or not session.csrf_ok(request, page.user, f.get("csrf")):
        return _error(page, 403, page.t("error.csrf"))
    return await run_in_threadpool(action, page, f)


def _promote(page: Page, f: Params) -> Response:
    assert page.user is not None
    version = f.get("version", "") or ""
    if not _ID.match(version):
        return _error(page, 404, page.t("error.not_found"))
    try:
        swap = models_ops.promote(page.state, version, actor=actor(page.user.key))
    except OperationError as exc:
        return _error(page, exc.status_code, page.t("models.failed", detail=exc.message))
    return _redirect(
        "/console/models?" + urlencode({"promoted": swap.model_version, "previous": swap.previous})
    )


def _rollback(page: Page, f: Params) -> Response:
    assert page.user is not None
    try:
        swap = models_ops.rollback(page.state, actor=actor(page.user.key))
    except OperationError as exc:
        return _error(page, exc.status_code, page.t("models.failed", detail=exc.message))
    return _redirect(
        "/console/models?"
        + urlencode({"rolled_back": swap.model_version, "previous": swap.previous})
    )


@router.post("/models/promote")
async def models_promote(request: Request) -> Response:
    return await _checked_post(request, _promote, admin=True)


@router.post("/models/rollback")
async def models_rollback(request: Request) -> Response:
    return await _checked_post(request, _rollback, admin=True)
