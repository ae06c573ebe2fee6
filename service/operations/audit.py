"""The audit log as the API and the console read it, and how it names who acted."""

from __future__ import annotations

import json
from typing import Any, cast

from recommender import KeyInfo
from service.state import ServiceState


def actor(key: KeyInfo) -> str:
    """How the audit log names the holder of `key`."""
    return f"key:{key.key_id} ({key.name})"


def _detail(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def audit_log(state: ServiceState, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest `limit` entries, newest first; each entry's `detail` decoded from JSON
    (kept as text when it is not JSON)."""
    rows = cast("list[dict[str, Any]]", state.overrides.audit_log(limit=limit))
    return [{**row, "detail": _detail(row["detail"])} for row in rows]
