"""API keys: hashed storage, scopes, 401/403, revocation, rate limits, no key in logs."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from recommender.storage.keys import (
    KeyStore,
    create_key,
    ensure_demo_keys,
    key_id_of,
    list_keys,
    revoke,
    scope_allows,
)
from recommender.workspace import Workspace
from tests.service.helpers import Api
from tests.support import PROJECT_ROOT, make_settings, recommendation_body, secret_of


# --- the key store ----------------------------------------------------------------------------
def test_keys_are_stored_as_salted_hashes_only(tmp_path) -> None:
    ws = Workspace.at(tmp_path / "ws").ensure()
    key = create_key(ws, "portal", "portal backend")
    assert key.startswith("reco_portal_") and len(key) > 60
    raw = b"".join(p.read_bytes() for p in ws.root.glob("console.sqlite*"))
    secret = secret_of(key)
    assert secret.encode() not in raw and key.encode() not in raw
    with KeyStore(ws.console_path) as store:
        info = store.verify(key)
        assert info is not None and info.scope == "portal" and info.name == "portal backend"
        assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        assert store.verify(key.replace("reco_portal_", "reco_admin_")) is None  # scope is bound
        assert store.verify("") is None and store.verify("reco_portal_x") is None


def test_two_keys_of_one_scope_differ_and_revocation_is_final(tmp_path) -> None:
    ws = Workspace.at(tmp_path / "ws").ensure()
    a, b = create_key(ws, "manager", "a"), create_key(ws, "manager", "b")
    assert a != b
    assert revoke(ws, key_id_of(a) or "")
    assert not revoke(ws, key_id_of(a) or "")
    with KeyStore(ws.console_path) as store:
        assert store.verify(a) is None and store.verify(b) is not None
    listed = {k.key_id: k for k in list_keys(ws)}
    assert listed[key_id_of(a)].revoked_at is not None and listed[key_id_of(b)].active


@pytest.mark.parametrize(
    ("held", "needed", "ok"),
    [("portal", "portal", True), ("portal", "manager", False), ("manager", "portal", True),
     ("manager", "admin", False), ("admin", "manager", True), ("nobody", "portal", False)],
)  # fmt: skip
def test_scopes_are_ordered(held: str, needed: str, ok: bool) -> None:
    assert scope_allows(held, needed) is ok


def test_demo_keys_are_made_once_and_written_for_the_owner_only(tmp_path) -> None:
    ws = Workspace.at(tmp_path / "ws").ensure()
    keys = ensure_demo_keys(ws)
    assert set(keys) == {"portal", "manager", "admin"}
    path = ws.root / "demo-keys.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == keys
    assert ensure_demo_keys(ws) == keys  # the same keys, not new ones
    assert len(list_keys(ws)) == 3


def test_cli_creates_lists_and_revokes_keys(tmp_path) -> None:
    ws = tmp_path / "ws"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        code = "import sys; from cli import main; sys.exit(main())"
        return subprocess.run(
            [sys.executable, "-c", code, "--workspace", str(ws), *args],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    made = cli("keys", "create", "--scope", "portal", "--name", "crm")
    assert made.returncode == 0, made.stderr
    key = made.stdout.splitlines()[0]
    key_id = key_id_of(key)
    assert key_id and "not shown again" in made.stdout
    listing = cli("keys", "list")
    assert key_id in listing.stdout and "crm" in listing.stdout and key not in listing.stdout
    assert cli("keys", "revoke", key_id).returncode == 0
    again = cli("keys", "revoke", key_id)
    assert again.returncode == 2 and "no active key" in again.stderr
    bad = cli("keys", "create", "--scope", "root")
    assert bad.returncode == 2 and "portal" in bad.stderr


# --- the service ------------------------------------------------------------------------------
def test_missing_malformed_unknown_and_revoked_keys_are_401(api: Api) -> None:
    url = "/v1/recommendations"
    body = recommendation_body()
    assert api.client.post(url, json=body).status_code == 401
    for key in ("nonsense", "reco_portal_000000000000_" + "A" * 43):
        assert api.client.post(url, json=body, headers={"X-API-Key": key}).status_code == 401
    key = create_key(api.workspace, "portal", "short-lived")
    assert api.client.post(url, json=body, headers={"X-API-Key": key}).status_code == 200
    revoke(api.workspace, key_id_of(key) or "")
    assert api.client.post(url, json=body, headers={"X-API-Key": key}).status_code == 401


@pytest.mark.parametrize(
    ("method", "url", "needed"),
    [
        ("GET", "/v1/overrides", "manager"),
        ("GET", "/v1/partners?q=P", "manager"),
        ("GET", "/v1/models", "manager"),
        ("PUT", "/v1/assets/A0001", "admin"),
        ("DELETE", "/v1/assets/A0001", "admin"),
        ("PUT", "/v1/partners/P0001", "admin"),
        ("POST", "/v1/models/rollback", "admin"),
        ("GET", "/v1/audit", "admin"),
    ],
)
def test_too_low_a_scope_is_403(api: Api, method: str, url: str, needed: str) -> None:
    lower = {"manager": ["portal"], "admin": ["portal", "manager"]}[needed]
    for scope in lower:
        r = api.client.request(method, url, headers=api.headers(scope), json={})
        assert r.status_code == 403, (scope, r.text)
        assert needed in r.json()["detail"]


def test_rate_limit_gives_429_with_retry_after(api: Api) -> None:
    from service.app import create_app

    app = create_app(make_settings(api.workspace, rate_limit_per_second=1, rate_limit_burst=3))
    with TestClient(app) as client:
        headers = {"X-API-Key": api.keys["portal"]}
        codes = [client.get("/v1/assets/A0001", headers=headers).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[-1] == 429
        r = client.get("/v1/assets/A0001", headers=headers)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        # Another key has its own bucket.
        assert (
            client.get("/v1/assets/A0001", headers={"X-API-Key": api.keys["manager"]}).status_code
            == 200
        )
        assert "reco_rate_limited_total" in client.get("/metrics").text


def test_logs_name_the_key_id_never_the_key(api: Api, capfd) -> None:
    from service.logs import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("service.access")
    old_level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        r = api.post("/v1/recommendations", recommendation_body())
        api.client.post(
            "/v1/recommendations", json={}, headers={"X-API-Key": api.keys["admin"] + "x"}
        )
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    err = capfd.readouterr().err
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    mine = next(x for x in lines if x.get("request_id") == r.headers["X-Request-ID"])
    assert mine["key_id"] == key_id_of(api.keys["portal"])
    assert mine["status"] == 200 and mine["route"] == "/v1/recommendations" and mine["ms"] > 0
    for key in api.keys.values():
        assert key not in err and secret_of(key) not in err


def test_the_service_key_cache_forgets_a_revoked_key_within_its_ttl(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    from types import SimpleNamespace

    from service import state
    from service.state import CachedKeys

    # The cache's clock, moved by hand: with the real one a slow revocation (two SQLite
    # transactions on a busy disk) could outlast the TTL and fail the test by chance.
    now = [1000.0]
    monkeypatch.setattr(
        state, "time", SimpleNamespace(monotonic=lambda: now[0], perf_counter=time.perf_counter)
    )
    ws = Workspace.at(tmp_path / "ws").ensure()
    key = create_key(ws, "portal", "cached")
    keys = CachedKeys(KeyStore(ws.console_path), ttl=0.3)
    try:
        assert keys.verify(key) is not None
        revoke(ws, key_id_of(key) or "")
        now[0] += 0.29
        assert keys.verify(key) is not None  # still trusted from the cache
        now[0] += 0.02
        assert keys.verify(key) is None
        assert keys.verify(key + "x") is None
    finally:
        keys.close()
