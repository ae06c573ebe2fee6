"""The audit log: who changed what, when."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any] | list[Any] | str | None


class AuditPublic(BaseModel):
    data: list[AuditEntry]
    count: int
