"""The service tests' own helper: `Api`, a TestClient on a running app with one key per scope.

Workspaces, settings and real servers are shared with the other folders: `tests.support`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from recommender.workspace import Workspace


@dataclass
class Api:
    """A TestClient on a running app plus one key per scope."""

    client: TestClient
    keys: dict[str, str]
    workspace: Workspace

    @property
    def app(self):  # type: ignore[no-untyped-def]
        return self.client.app

    @property
    def state(self):  # type: ignore[no-untyped-def]
        return self.client.app.state.service  # type: ignore[union-attr]

    def headers(self, scope: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[scope]}

    def get(self, url: str, scope: str = "portal", **kw: Any) -> httpx.Response:
        return self.client.get(url, headers=self.headers(scope), **kw)

    def post(self, url: str, body: Any = None, scope: str = "portal", **kw: Any) -> httpx.Response:
        return self.client.post(url, json=body, headers=self.headers(scope), **kw)

    def put(self, url: str, body: Any, scope: str = "admin", **kw: Any) -> httpx.Response:
        return self.client.put(url, json=body, headers=self.headers(scope), **kw)

    def delete(self, url: str, scope: str = "admin", **kw: Any) -> httpx.Response:
        return self.client.delete(url, headers=self.headers(scope), **kw)
