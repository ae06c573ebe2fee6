"""Structured logs: one JSON object per line, carrying the request id of the request at hand.

The request id lives in a context variable set by the request middleware; FastAPI copies the
context into the threadpool, so log lines written by `def` endpoints carry it too. API keys are
never logged: only the key id (`key_id`), which names a key without granting anything.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
key_id_var: ContextVar[str | None] = ContextVar("key_id", default=None)

_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", "request_id", ...extra}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            out["request_id"] = request_id
        key_id = key_id_var.get()
        if key_id:
            out["key_id"] = key_id
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name != "color_message" and not name.startswith("_"):
                out[name] = value
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal, with the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = request_id_var.get()
        return f"{line} [{request_id}]" if request_id else line


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    """Send the service's and uvicorn's logs to stderr in `fmt`; idempotent."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._reco = True  # type: ignore[attr-defined]
    for name in ("service", "recommender", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not getattr(h, "_reco", False)]
        logger.addHandler(handler)
        logger.setLevel(level.upper())
        logger.propagate = False
    # The service logs each request itself (with its id and latency); uvicorn's access log
    # would only repeat it.
    logging.getLogger("uvicorn.access").disabled = True
