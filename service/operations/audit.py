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


def refuse(
    state: ServiceState,
    *,
    address: str,
    method: str,
    path: str,
    status: int,
    action: str,
    reason: str,
    key: KeyInfo | None = None,
) -> None:
    """Count and audit an authentication refused with `status` to a client at `address`
    (401: no valid key, which also costs the address one of its attempts, service.ratelimit;
    403: a valid key of too low a scope). The refusal that spends an address's last attempt
    says for how long the address is now refused."""
    state.metrics.auth_failures.labels(status=str(status)).inc()
    detail: dict[str, Any] = {
        "status": status,
        "reason": reason,
        "method": method,
        "path": path,
        "client": address,
    }
    if status == 401:
        state.auth_guard.acquire(address)
        blocked = state.auth_guard.wait(address)
        if blocked > 0:
            detail["refused_for_seconds"] = round(blocked, 1)
    who = actor(key) if key is not None else f"anonymous ({address})"
    state.overrides.audit(who, action, path, detail)
