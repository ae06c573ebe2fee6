"""One pure-ASGI middleware around every HTTP request: id, body limit, metrics, log, 500s.

- **Request id**: a fresh hex id per request, in the `X-Request-ID` response header, in every
  log line written while the request runs, and in the recommendation's `request_id`. A
  client's own `X-Request-ID` is logged as `client_request_id`, never trusted as ours.
- **Body limit**: the body is read from the stream (not trusting Content-Length alone) up to
  `max_body_bytes`; a larger body gets 413 before the app sees any of it. A declared
  Content-Length over the limit is refused without reading.
- **Metrics and access log**: status and latency per route template (unmatched paths share
  one label, so scanners cannot blow up the series count).
- **Unhandled errors**: logged with the traceback under the request id; the client gets a
  JSON 500 that names the request id and nothing else.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from recommender import new_request_id
from service.logs import key_id_var, request_id_var
from service.metrics import ServiceMetrics

log = logging.getLogger("service.access")
errors_log = logging.getLogger("service.errors")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass
class RequestInfo:
    """Facts about the request at hand that dependencies fill in (e.g. which key it used)."""

    request_id: str
    key_id: str | None = None


def request_info(scope: Scope) -> RequestInfo | None:
    info = scope.get("reco.request")
    return info if isinstance(info, RequestInfo) else None


def client_address(scope: Scope) -> str:
    """The address a request came from (the proxy's client when uvicorn trusts its
    forwarded headers), "unknown" when the server does not say."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    """A JSON response sent straight from the middleware (send_wrapper adds X-Request-ID)."""
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        info = RequestInfo(request_id)
        scope["reco.request"] = info
        token = request_id_var.set(request_id)
        key_token = key_id_var.set(None)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            body, refusal = await self._read_body(scope, receive)
            if refusal is not None:
                await _json(send_wrapper, refusal[0], {"detail": refusal[1]})
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send_wrapper)
        except Exception:
            errors_log.exception("unhandled error", extra={"path": scope.get("path")})
            if not response_started:
                await _json(
                    send_wrapper,
                    500,
                    {"detail": "internal error", "request_id": request_id},
                )
        finally:
            elapsed = time.perf_counter() - started
            self._record(scope, info, status, elapsed)
            key_id_var.reset(key_token)
            request_id_var.reset(token)

    async def _read_body(
        self, scope: Scope, receive: Receive
    ) -> tuple[bytes, tuple[int, str] | None]:
        """The whole body, or (b"", (status, reason)) when it must be refused."""
        limit = self.max_body_bytes
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return b"", (400, "Content-Length is not a number")
        if declared is not None and declared > limit:
            return b"", (413, f"request body is larger than the limit of {limit} bytes")
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                return b"", (413, f"request body is larger than the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), None

    def _record(self, scope: Scope, info: RequestInfo, status: int, elapsed: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        m = self.metrics
        m.requests.labels(method=method, route=template, status=str(status)).inc()
        m.latency.labels(method=method, route=template).observe(elapsed)
        if status >= 400:
            kind = "server" if status >= 500 else "client"
            m.errors.labels(route=template, status=str(status), kind=kind).inc()
        path = scope.get("path", "")
        level = logging.DEBUG if path in _QUIET and status < 400 else logging.INFO
        if log.isEnabledFor(level):
            extra: dict[str, Any] = {
                "method": method,
                "path": path,
                "route": template,
                "status": status,
                "ms": round(elapsed * 1000, 2),
            }
            if info.key_id:
                extra["key_id"] = info.key_id
            for name, value in scope.get("headers", ()):
                if name == b"x-request-id":
                    text = value.decode("latin-1")
                    if _CLIENT_ID.match(text):
                        extra["client_request_id"] = text
            log.log(level, "request", extra=extra)
