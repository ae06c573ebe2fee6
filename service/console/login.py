"""Sign-in, sign-out and the language switch (/console/login, /logout, /lang/{code}).

Signing in checks a manager or admin key once and sets the signed session cookie
(`session.py`); both are audited (`console.sign_in`, `console.sign_out`), and so is a refused
sign-in (`console.sign_in_failed`: not a valid key, which counts against the client's address
as a failed API authentication does; `console.sign_in_refused`: a portal key).
"""

from __future__ import annotations

import math

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from service.console import session
from service.console.i18n import normalise_lang
from service.console.pages import (
    FormDep,
    PageDep,
    PageError,
    SignedInDep,
    page_router,
    read_form,
    redirect,
    render,
)
from service.middleware import client_address
from service.operations.audit import actor, refuse

router = page_router()


@router.get("")
@router.get("/")
def console_root() -> Response:
    return redirect("/console/preview")


def _hours(page_config: session.SessionConfig) -> str:
    return f"{round(page_config.max_age / 3600, 1):g}"


@router.get("/login")
def login_form(page: PageDep, next: str | None = None, m: str | None = None) -> Response:
    target = session.safe_next(next)
    if page.user is not None:
        return redirect(target)
    if m == "signed_out":
        page.messages.append(("info", page.t("login.signed_out")))
    elif m == "expired":
        page.messages.append(("info", page.t("login.expired")))
    return render(
        page, "login.html", title=page.t("login.title"), next=target, hours=_hours(page.config)
    )


@router.post("/login")
async def login(request: Request, page: PageDep) -> Response:
    form = await read_form(request)
    if form is None or not session.same_origin(request):
        raise PageError(page, 403, page.t("error.csrf"))
    target = session.safe_next(form.get("next"))
    hours = _hours(page.config)
    state = page.state
    address = client_address(request.scope)
    refused_for = state.auth_guard.wait(address)
    if refused_for > 0:  # before the key is looked at, as for the API (service.deps)
        state.metrics.auth_failures.labels(status="429").inc()
        page.messages.append(("error", page.t("login.too_many", seconds=math.ceil(refused_for))))
        response = render(
            page, "login.html", status=429, title=page.t("login.title"), next=target, hours=hours
        )
        response.headers["Retry-After"] = state.auth_guard.retry_after(refused_for)
        return response
    info = await run_in_threadpool(state.keys.verify, form.get("key") or "")
    if info is None or info.scope not in session.CONSOLE_SCOPES:
        if info is None:
            status, action, reason = 401, "console.sign_in_failed", "invalid API key"
            message = page.t("login.invalid")
        else:
            status, action = 403, "console.sign_in_refused"
            reason = f"a {info.scope} key cannot use the console"
            message = page.t("login.scope", scope=info.scope)
        await run_in_threadpool(
            refuse,
            state,
            address=address,
            method=request.method,
            path=request.url.path,
            status=status,
            action=action,
            reason=reason,
            key=info,
        )
        page.messages.append(("error", message))
        return render(
            page, "login.html", status=status, title=page.t("login.title"), next=target, hours=hours
        )
    await run_in_threadpool(
        state.overrides.audit,
        actor(info),
        "console.sign_in",
        info.key_id,
        {"scope": info.scope},
    )
    response = redirect(target)
    session.set_session_cookie(response, request, page.config, session.issue(page.config, info))
    return response


@router.post("/logout")
def logout(page: SignedInDep, form: FormDep) -> Response:
    assert page.user is not None
    key = page.user.key
    page.state.overrides.audit(actor(key), "console.sign_out", key.key_id, {})
    response = redirect("/console/login?m=signed_out")
    session.clear_session_cookie(response, page.request, page.config)
    return response


@router.get("/lang/{code}")
def switch_language(page: PageDep, code: str, next: str | None = None) -> Response:
    response = redirect(session.safe_next(next))
    if normalise_lang(code):
        session.set_lang_cookie(response, page.request, page.config, code)
    return response
