"""Console sign-in: a signed, expiring session cookie, CSRF protection, the language cookie.

Session
    Signing in checks a manager or admin API key once against the key store; the browser then
    holds a cookie with the key's *id*, scope and name and a random CSRF token (never the key
    itself), signed with itsdangerous (`URLSafeTimedSerializer`, i.e. HMAC-SHA1 over a
    `TimestampSigner` timestamp). A cookie older than `session_seconds` (default 8 h, absolute,
    not sliding) is refused, as is one whose key was revoked since (looked up on every request).
    The cookie is `HttpOnly`, `SameSite=Strict`, `Path=/console`, and `Secure` when the request
    came over HTTPS (or when RECO_CONSOLE_COOKIE_SECURE=1). Signing out deletes it; the cookie
    is stateless, so a copy taken before sign-out stays valid until it expires (revoke the key
    to end every session of it at once).

CSRF
    Both defences, for every POST form: a per-session token in a hidden `csrf` field, compared
    in constant time with the token inside the signed session cookie, and an Origin check (when
    the browser sends Origin, or else Referer, it must be this host). SameSite=Strict keeps the
    cookie off cross-site requests in the first place. The sign-in form has no session yet, so
    it gets the Origin check only.

Configuration (service settings when they carry the field, else environment variables)
    console_session_seconds / RECO_CONSOLE_SESSION_SECONDS   session lifetime (default 28800)
    console_secret          / RECO_CONSOLE_SECRET            signing secret; default: a random
        secret kept in `<workspace>/console-secret` (mode 0600, created once, shared by every
        worker of the workspace)
    console_cookie_secure   / RECO_CONSOLE_COOKIE_SECURE     force the Secure flag
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.responses import Response

from recommender import KeyInfo, scope_allows
from recommender import workspace_secret as shared_secret

SESSION_COOKIE = "reco_console"
LANG_COOKIE = "lang"
COOKIE_PATH = "/console"
DEFAULT_SESSION_SECONDS = 8 * 3600
SECRET_FILE = "console-secret"
_SALT = "reco-console-session-v1"
CONSOLE_SCOPES = ("manager", "admin")


@dataclass(frozen=True)
class ConsoleUser:
    """Who is signed in: the key's info (as the API's dependencies produce it) and the token."""

    key: KeyInfo
    csrf: str

    @property
    def scope(self) -> str:
        return self.key.scope

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def is_admin(self) -> bool:
        return scope_allows(self.key.scope, "admin")


@dataclass(frozen=True)
class SessionConfig:
    secret: str
    max_age: int
    force_secure: bool

    def serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=_SALT)


def _setting(settings: Any, name: str, env: str) -> str | None:
    value = getattr(settings, name, None)
    if value is not None:
        return str(value)
    return os.environ.get(env) or None


def workspace_secret(root: Path) -> str:
    """The workspace's console secret, created on first use (`recommender.workspace_secret`:
    0600, atomic, race-free, shared by every worker)."""
    return shared_secret(root, SECRET_FILE)


def session_config(settings: Any, workspace_root: Path) -> SessionConfig:
    """The session settings of this worker (see the module docstring)."""
    seconds = _setting(settings, "console_session_seconds", "RECO_CONSOLE_SESSION_SECONDS")
    max_age = int(float(seconds)) if seconds else DEFAULT_SESSION_SECONDS
    if max_age < 1:
        raise ValueError(f"console session seconds={max_age} must be at least 1")
    secret = _setting(settings, "console_secret", "RECO_CONSOLE_SECRET") or workspace_secret(
        workspace_root
    )
    secure = _setting(settings, "console_cookie_secure", "RECO_CONSOLE_COOKIE_SECURE") or ""
    return SessionConfig(
        secret=secret, max_age=max_age, force_secure=secure.lower() in ("1", "true", "yes")
    )


def issue(config: SessionConfig, key: KeyInfo) -> str:
    """A signed session cookie value for `key` with a fresh CSRF token."""
    payload = {"k": key.key_id, "s": key.scope, "n": key.name, "c": secrets.token_urlsafe(24)}
    return str(config.serializer().dumps(payload))


def read(
    config: SessionConfig, value: str | None, *, now: float | None = None
) -> dict[str, str] | None:
    """The session payload if `value` is a valid, unexpired cookie; None otherwise."""
    if not value:
        return None
    serializer = config.serializer()
    try:
        if now is None:
            payload = serializer.loads(value, max_age=config.max_age)
        else:  # tests: judge the age as of `now`
            payload, signed_at = serializer.loads(value, return_timestamp=True)
            if now - signed_at.timestamp() > config.max_age:
                return None
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in "ksnc"):
        return None
    return payload


def user_for(payload: dict[str, str] | None, active_keys: list[KeyInfo]) -> ConsoleUser | None:
    """The signed-in user if the session's key is still active with a console scope."""
    if payload is None:
        return None
    for key in active_keys:
        if key.key_id == payload["k"]:
            if key.scope != payload["s"] or key.scope not in CONSOLE_SCOPES or not key.active:
                return None
            return ConsoleUser(key=key, csrf=payload["c"])
    return None


def is_secure(request: Request, config: SessionConfig) -> bool:
    return config.force_secure or request.url.scheme == "https"


def set_session_cookie(
    response: Response, request: Request, config: SessionConfig, value: str
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=config.max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_secure(request, config),
    )


def clear_session_cookie(response: Response, request: Request, config: SessionConfig) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_secure(request, config),
    )


def set_lang_cookie(response: Response, request: Request, config: SessionConfig, lang: str) -> None:
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=is_secure(request, config),
    )


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another origin (Origin, else Referer).

    A request without either header (old browsers, privacy settings) passes this check and is
    left to the CSRF token.
    """
    source = request.headers.get("origin")
    if source is None:
        source = request.headers.get("referer")
        if source is None:
            return True
    if source == "null":
        return False
    parts = urlsplit(source)
    host = request.headers.get("host", "")
    return bool(parts.scheme in ("http", "https") and parts.netloc and parts.netloc == host)


def csrf_ok(request: Request, user: ConsoleUser, token: str | None) -> bool:
    """The form's token matches the session's and the request is not cross-origin."""
    if not token or not same_origin(request):
        return False
    return hmac.compare_digest(token.encode(), user.csrf.encode())


def safe_next(value: str | None, default: str = "/console/preview") -> str:
    """A redirect target inside the console only (no open redirects)."""
    if not value or not value.startswith(COOKIE_PATH) or value.startswith("//"):
        return default
    if "\\" in value or "\r" in value or "\n" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value
