"""What every console page shares: the signed-in page, rendering, headers, forms, static files.

A page handler declares who may see it, and gets the request's `Page` (service state, session
settings, language, signed-in user):

    @router.get("/steer")
    def steer(page: SignedInDep) -> Response: ...            # a manager or an admin
    @router.post("/models/promote")
    def promote(page: AdminDep, form: FormDep) -> Response: ...  # admin; CSRF checked

When the page cannot be shown, a dependency (or the page itself) raises an `Interrupt`, and
the one exception handler `install` registers answers with the response it names: the
redirect to /console/login (`SignInRequired`), an error page (`PageError`: 403 for a manager
on an admin page or a form that fails its CSRF check, 404, a refused operation), or a bare 503
page while the service is starting (`NotReady`). Every console response carries the headers of
`security_headers` (a strict CSP: the console loads only its own files).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.datastructures import ImmutableMultiDict

from service.console import analysis, session
from service.console.i18n import (
    LANGS,
    enum_label,
    lang_from_accept,
    normalise_lang,
    reason_label,
    translate,
)

PACKAGE = "service.console"
STATIC = resources.files(PACKAGE) / "static"
_STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

# Console pages only load their own files: no CDN, no inline script or style.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# A model card is HTML written by the training job: shown sandboxed (no script, own origin).
CARD_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
)

env = Environment(
    loader=PackageLoader(PACKAGE, "templates"),
    autoescape=True,  # every template, whatever its name; nothing is ever marked |safe
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["safe_url"] = analysis.safe_url

# (label key, path, admin only): the navigation, in order.
NAV: tuple[tuple[str, str, bool], ...] = (
    ("preview", "/console/preview", False),
    ("compare", "/console/compare", False),
    ("steer", "/console/steer", False),
    ("coverage", "/console/coverage", False),
    ("awareness", "/console/awareness", False),
    ("portfolio", "/console/portfolio", False),
    ("digest", "/console/digest", False),
    ("models", "/console/models", True),
)


def page_router() -> APIRouter:
    """A router for console pages (under /console, left out of the API's OpenAPI document)."""
    return APIRouter(prefix="/console", include_in_schema=False)


router = page_router()


# --- the page --------------------------------------------------------------------------------
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


def _lang(request: Request) -> str:
    return normalise_lang(request.cookies.get(session.LANG_COOKIE)) or lang_from_accept(
        request.headers.get("accept-language")
    )


def _config(request: Request, state: Any) -> session.SessionConfig:
    config = getattr(request.app.state, "console_session", None)
    if config is None:
        config = session.session_config(state.settings, state.workspace.root)
        request.app.state.console_session = config
    return config


def here(request: Request) -> str:
    """The request's path and query: where a sign-in or a language switch comes back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


# --- answering otherwise: one exception, one handler -----------------------------------------
class Interrupt(Exception):
    """Raised by a dependency or a page to answer with `response()` instead of the page."""

    def response(self) -> Response:
        raise NotImplementedError


class NotReady(Interrupt):
    """The service is starting or stopping: a bare 503 page in the visitor's language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def response(self) -> Response:
        html = f"<!doctype html><title>503</title><p>{translate(self.lang, 'error.not_ready')}</p>"
        return security_headers(HTMLResponse(html, status_code=503, headers={"Retry-After": "2"}))


class SignInRequired(Interrupt):
    """No valid session: to the sign-in page, and back here afterwards."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def response(self) -> Response:
        page = self.page
        params = {"next": here(page.request)}
        if page.had_cookie:
            params["m"] = "expired"
        response = RedirectResponse(f"/console/login?{urlencode(params)}", status_code=303)
        if page.had_cookie:
            session.clear_session_cookie(response, page.request, page.config)
        return security_headers(response)


class PageError(Interrupt):
    """The console's error page with `status` and `message`."""

    def __init__(self, page: Page, status: int, message: str) -> None:
        self.page, self.status, self.message = page, status, message

    def response(self) -> Response:
        page = self.page
        return render(
            page,
            "error.html",
            status=self.status,
            title=page.t("error.title"),
            message=self.message,
        )


async def _interrupted(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Interrupt)
    return exc.response()


def install(app: FastAPI) -> None:
    """Register the handler that turns an `Interrupt` into its response."""
    app.add_exception_handler(Interrupt, _interrupted)


# --- dependencies: who may see a page ---------------------------------------------------------
def current_page(request: Request) -> Page:
    """The request's Page, signed in or not (NotReady while the service has no state)."""
    state = getattr(request.app.state, "service", None)
    lang = _lang(request)
    if state is None:
        raise NotReady(lang)
    config = _config(request, state)
    raw = request.cookies.get(session.SESSION_COOKIE)
    payload = session.read(config, raw)
    user = None
    if payload is not None:
        user = session.user_for(payload, state.keys.list(include_revoked=False))
    return Page(request, state, config, lang, user, had_cookie=bool(raw))


PageDep = Annotated[Page, Depends(current_page)]


def signed_in(page: PageDep) -> Page:
    """The Page of a signed-in manager or admin (else SignInRequired)."""
    if page.user is None:
        raise SignInRequired(page)
    return page


SignedInDep = Annotated[Page, Depends(signed_in)]


def signed_in_admin(page: SignedInDep) -> Page:
    """The Page of a signed-in admin (a manager gets the 403 page)."""
    assert page.user is not None
    if not page.user.is_admin:
        raise PageError(page, 403, page.t("error.forbidden"))
    return page


AdminDep = Annotated[Page, Depends(signed_in_admin)]


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


def query(page: Page) -> Params:
    """The page's query string values."""
    return Params(page.request.query_params)


async def read_form(request: Request) -> Params | None:
    """The URL-encoded body of a console form (None when it is not one)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return None
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return Params(ImmutableMultiDict(parse_qsl(text, keep_blank_values=True, max_num_fields=200)))


async def posted_form(request: Request, page: SignedInDep) -> Params:
    """A signed-in user's form, with its CSRF token and origin checked (else the 403 page)."""
    assert page.user is not None
    form = await read_form(request)
    if form is None or not session.csrf_ok(request, page.user, form.get("csrf")):
        raise PageError(page, 403, page.t("error.csrf"))
    return form


FormDep = Annotated[Params, Depends(posted_form)]


# --- responses --------------------------------------------------------------------------------
def security_headers(response: Response, csp: str = CSP) -> Response:
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    if "frame-ancestors 'none'" in csp:
        response.headers["X-Frame-Options"] = "DENY"
    return response


def redirect(url: str) -> Response:
    """A 303 to `url` (after a POST, or to the page a link should land on)."""
    return security_headers(RedirectResponse(url, status_code=303))


def render(
    page: Page, template: str, *, status: int = 200, title: str = "", **context: Any
) -> Response:
    """`template` rendered for `page` (its language, user, navigation and messages)."""
    request = page.request
    back = here(request)
    lang_links = [(code, f"/console/lang/{code}?{urlencode({'next': back})}") for code in LANGS]
    nav = [
        (key, path, request.url.path.startswith(path))
        for key, path, admin_only in NAV
        if page.user is not None and (not admin_only or page.user.is_admin)
    ]
    html = env.get_template(template).render(
        t=page.t,
        label=partial(enum_label, page.lang),
        reason=partial(reason_label, page.lang),
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
    return security_headers(HTMLResponse(html, status_code=status))


# --- static files (served by the console itself: nothing else needs mounting) -----------------
def _static_versions() -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10]
        for p in STATIC.iterdir()
        if p.is_file() and any(p.name.endswith(s) for s in _STATIC_TYPES)
    }


_STATIC_VERSIONS = _static_versions()


def static_url(name: str) -> str:
    """The URL of a static file, with its content hash (so a changed file is fetched anew)."""
    return f"/console/static/{name}?v={_STATIC_VERSIONS.get(name, '0')}"


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in _STATIC_TYPES:
        raise HTTPException(status_code=404, detail="not found")
    path = STATIC / name
    if not path.is_file():
        raise HTTPException(status_code=404, detail="not found")
    response = Response(path.read_bytes(), media_type=_STATIC_TYPES[suffix])
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
