"""Error responses: JSON, naming the field and the allowed values, never a stack trace.

Shapes (all `application/json`):

- 422: ``{"detail": [{"loc": [...], "field": "context.stage", "msg": "...", "type": "enum",
  "allowed": ["prospecting", ...]}]}`` -- `allowed` is present when the field takes one of a
  fixed set of values;
- 4xx from `HTTPException` or an operation's refusal (`service.operations.errors`):
  ``{"detail": "..."}`` (a 422 for a rule the schema cannot state: the list shape above);
- 503 with `Retry-After` when the shared PostgreSQL store cannot be reached (a route that
  needs it: events, overrides, keys not seen recently); ``{"detail": "..."}``;
- 500: ``{"detail": "internal error", "request_id": "..."}`` -- the traceback goes to the log,
  under the same request id.

A 405 names in `Allow` every method the path takes: Starlette's router answers with the
methods of the first route whose path matched (`GET` for /v1/assets/{id}, which also takes
PUT and DELETE), while portals generate their clients from what the document promises.
"""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from features.validation import SchemaError
from recommender import StoreUnavailable
from service.operations.errors import OperationError

# Seconds a client is told to wait when the shared database cannot be reached (503).
STORE_RETRY_AFTER_SECONDS = 5

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_MAX_INPUT_CHARS = 200


def _allowed(error: dict[str, Any]) -> list[str] | None:
    ctx = error.get("ctx") or {}
    expected = ctx.get("expected")
    if error.get("type") in ("enum", "literal_error") and isinstance(expected, str):
        return _QUOTED.findall(expected) or None
    return None


def _small(value: Any) -> bool:
    """Worth echoing back: a short string or a JSON-safe number (never NaN or infinity)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (bool, int)) or value is None:
        return isinstance(value, bool) or value is None or abs(value) < 10**18
    if not isinstance(value, str) or len(value) > _MAX_INPUT_CHARS:
        return False
    try:
        value.encode("utf-8")  # a lone surrogate (JSON "\\ud800") cannot be sent back
    except UnicodeEncodeError:
        return False
    return True


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """Pydantic errors as the API reports them (JSON-safe, inputs echoed only when small)."""
    out: list[dict[str, Any]] = []
    for error in errors:
        loc = [p if isinstance(p, (int, str)) else str(p) for p in error.get("loc", ())]
        field = ".".join(str(p) for p in loc[1:]) or (str(loc[0]) if loc else None)
        item: dict[str, Any] = {
            "loc": loc,
            "field": field,
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        allowed = _allowed(error)
        if allowed:
            item["allowed"] = allowed
        if "input" in error and _small(error["input"]):
            item["input"] = error["input"]
        out.append(item)
    return out


def schema_error_details(
    exc: SchemaError, *, loc_prefix: tuple[str, ...] = ("body",)
) -> list[dict[str, Any]]:
    """A `SchemaError` from the engine's validation in the 422 shape."""
    out: list[dict[str, Any]] = []
    for p in exc.problems:
        field = p.column
        out.append(
            {
                "loc": [*loc_prefix, *([field] if field else [])],
                "field": field,
                "msg": p.reason,
                "type": "value_error",
            }
        )
    return out


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content={"detail": validation_details(exc.errors())})


async def _operation_handler(request: Request, exc: Exception) -> JSONResponse:
    """An operation's refusal (`service.operations.errors`), as an HTTPException would be."""
    assert isinstance(exc, OperationError)
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail})


async def _store_handler(request: Request, exc: Exception) -> JSONResponse:
    """The shared database cannot be reached: 503 with Retry-After. Nothing of the request
    was stored (an event batch is one transaction): the client retries it whole, and what
    an earlier attempt did store comes back as duplicates."""
    return JSONResponse(
        status_code=503,
        content={"detail": f"{exc}; retry in {STORE_RETRY_AFTER_SECONDS} s"},
        headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
    )


async def _http_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's own answer to an HTTPException, with every method of the path in a 405's
    `Allow`."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        allowed = path_methods(request.app, request.scope)
        if allowed:
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
    return await http_exception_handler(request, exc)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def path_methods(app: FastAPI, scope: Any) -> list[str]:
    """The methods some route of `app` takes at the request's path, in `_METHODS` order (the
    router is asked once per method: included routers do not list their routes' methods)."""
    probe = {**scope, "app": app}
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**probe, "method": method})[0] == Match.FULL
            for route in app.router.routes
        )
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give errors the shapes above."""
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(OperationError, _operation_handler)
    app.add_exception_handler(StoreUnavailable, _store_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
