"""Sign-in, sign-out and the language switch (/console/login, /logout, /lang/{code}).

Signing in checks a manager or admin key once and sets the signed session cookie
(`session.py`); both are audited (`console.sign_in`, `console.sign_out`).
"""

from __future__ import annotations

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
from service.operations.audit import actor

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
    info = await run_in_threadpool(page.state.keys.verify, form.get("key") or "")
    hours = _hours(page.config)
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
