"""Access: keys hashed at rest and compared in constant time, never logged; a rate limit per
key; console sessions that expire; every admin action audited.

One real server (debug logging, so that everything the service could log is logged; a small
rate limit; 3-second console sessions), configured through RECO_* variables as an operator
would, with its stdout and stderr captured in one file.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recommender.storage.keys import key_id_of
from recommender.workspace import Workspace
from tests.support import (
    CLI,
    PROJECT_ROOT,
    Server,
    Template,
    copy_workspace,
    secret_of,
    start_server,
    stop_server,
)

RATE, BURST, SESSION_SECONDS = 5, 20, 3
HOSTILE_TITLE = '<script>alert("rel-xss")</script> Battlecard'


def _cli(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, "--workspace", str(ws.root), *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def server(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("access")
    ws = copy_workspace(template, base / "ws")
    env = {
        "RECO_RATE_LIMIT_PER_SECOND": str(RATE),
        "RECO_RATE_LIMIT_BURST": str(BURST),
        "RECO_CONSOLE_SESSION_SECONDS": str(SESSION_SECONDS),
    }
    srv = start_server(ws, base / "server.log", env=env, log_level="debug")
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="module")
def operator_key(server: Server) -> str:
    """A key made by hand with `recommender keys create` (shown once, on the CLI's stdout)."""
    made = _cli(server.workspace, "keys", "create", "--scope", "admin", "--name", "ops")
    assert made.returncode == 0, made.stderr
    return made.stdout.splitlines()[0].strip()


def _all_keys(server: Server, operator_key: str) -> list[str]:
    return [*server.keys.values(), operator_key]


def _console(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)


def _sign_in(client: httpx.Client, server: Server, key: str) -> httpx.Response:
    return client.post(
        "/console/login",
        data={"key": key, "next": "/console/steer"},
        headers={"Origin": server.url},
    )


# --- keys at rest ---------------------------------------------------------------------------
def test_keys_are_stored_hashed_and_salted_at_rest(server: Server, operator_key: str) -> None:
    ws = server.workspace
    with server.client() as c:  # use every key once, so caches and WAL have seen them
        for key in _all_keys(server, operator_key):
            assert c.get("/v1/assets/A0001", headers={"X-API-Key": key}).status_code == 200
    with sqlite3.connect(f"file:{ws.console_path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT key_id, salt, digest FROM api_keys").fetchall()
    assert len(rows) >= 4
    assert all(len(salt) == 16 and len(digest) == 32 for _, salt, digest in rows)
    assert len({salt for _, salt, _ in rows}) == len(rows)  # a salt per key
    # Nothing the workspace holds contains a key or its secret, except the demo-keys file,
    # which exists to hand the demo keys over and is readable by its owner only.
    handoff = ws.root / "demo-keys.json"
    assert stat.S_IMODE(os.stat(handoff).st_mode) == 0o600
    assert operator_key not in handoff.read_text()
    for path in ws.root.rglob("*"):
        if not path.is_file() or path == handoff:
            continue
        data = path.read_bytes()
        for key in _all_keys(server, operator_key):
            assert secret_of(key).encode() not in data, f"a key's secret is stored in {path}"


def test_keys_are_compared_in_constant_time(tmp_path: Path, monkeypatch) -> None:
    """The secret is checked with hmac.compare_digest over fixed-length HMACs, whatever
    the candidate: a wrong secret of the right key id goes through the same comparison."""
    import hmac

    from recommender.storage import keys as keys_module

    ws = Workspace.at(tmp_path / "ws").ensure()
    key = keys_module.create_key(ws, "portal", "timing")
    compared: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", recording)
    wrong = key[:-5] + ("AAAAA" if not key.endswith("AAAAA") else "BBBBB")
    with keys_module.KeyStore(ws.console_path) as store:
        assert store.verify(key) is not None
        assert store.verify(wrong) is None
    assert compared == [(32, 32), (32, 32)]


# --- logs -----------------------------------------------------------------------------------
def test_no_key_material_reaches_the_server_log(server: Server, operator_key: str) -> None:
    keys = _all_keys(server, operator_key)
    with server.client() as c:
        for key in keys:
            c.get("/v1/assets/A0001", headers={"X-API-Key": key})
            c.get("/v1/assets/A0001", headers={"Authorization": f"Bearer {key}"})
            c.get("/v1/audit", headers={"X-API-Key": key})  # 403 for the lower scopes
            c.get("/v1/assets/A0001", headers={"X-API-Key": key[:-1] + "x"})  # 401
            c.get("/v1/assets/A0001", headers={"X-API-Key": key.replace("_portal_", "_admin_")})
            c.post("/v1/recommendations", json={"n": 0}, headers={"X-API-Key": key})  # 422
            c.post(
                "/v1/events",
                content=b"{",
                headers={"X-API-Key": key, "Content-Type": "application/json"},
            )
    with _console(server) as console:
        _sign_in(console, server, operator_key[:-1] + "x")  # a failed sign-in
        _sign_in(console, server, server.keys["portal"])  # a scope the console refuses
        assert _sign_in(console, server, server.keys["manager"]).status_code == 303
    time.sleep(0.5)
    text = server.log_text()
    lines = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
    requests = [x for x in lines if x.get("msg") == "request"]
    assert len(requests) > 25 and any(x.get("key_id") for x in requests)  # debug logs were on
    for key in keys:
        for line in text.splitlines():
            if line.startswith("{"):  # the service's structured log
                assert secret_of(key) not in line, line
    assert operator_key not in text and secret_of(operator_key) not in text
    secret_file = server.workspace.root / "console-secret"
    assert secret_file.read_text().strip() not in text


@pytest.mark.slow
def test_a_restart_does_not_print_the_demo_keys_again(template: Template, tmp_path: Path) -> None:
    """`recommender serve` shows the demo keys when it creates them (a first start on a new
    workspace). Every later start must not write them to its output again: in a deployment
    stdout is a log (journald, docker logs), and the admin key would land in it each restart."""
    ws = copy_workspace(template, tmp_path / "ws")
    first = start_server(ws, tmp_path / "first.log")
    stop_server(first)
    assert first.keys["admin"] in first.log_text()  # created now: shown once
    second = start_server(ws, tmp_path / "second.log")
    try:
        assert second.keys == first.keys
    finally:
        stop_server(second)
    text = second.log_text()
    leaked = [scope for scope, key in first.keys.items() if secret_of(key) in text]
    assert not leaked, f"a restart printed the {leaked} demo key(s) again:\n{text[:2000]}"


# --- rate limit -----------------------------------------------------------------------------
def test_a_key_over_its_rate_gets_429_with_retry_after(server: Server) -> None:
    made = _cli(server.workspace, "keys", "create", "--scope", "portal", "--name", "flood")
    key = made.stdout.splitlines()[0].strip()
    time.sleep(2.5)  # past the service's key cache, so the new key is known
    codes, retry = [], None
    with server.client() as c:
        for _ in range(BURST + 10):
            r = c.get("/v1/assets/A0001", headers={"X-API-Key": key})
            codes.append(r.status_code)
            if r.status_code == 429 and retry is None:
                retry = r
        other = c.get("/v1/assets/A0001", headers=server.headers("portal"))
    assert codes[: BURST - 2] == [200] * (BURST - 2) and codes[-1] == 429, codes
    assert retry is not None and retry.json()["detail"]
    wait = int(retry.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert other.status_code == 200  # another key has its own bucket
    time.sleep(wait + 0.2)
    with server.client() as c:
        assert c.get("/v1/assets/A0001", headers={"X-API-Key": key}).status_code == 200
    metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    limited = [x for x in metrics.splitlines() if x.startswith("reco_rate_limited_total")]
    assert limited and float(limited[0].split()[-1]) >= 1


# --- console sessions -----------------------------------------------------------------------
def test_a_console_session_expires_after_the_configured_time(server: Server) -> None:
    """The browser drops the cookie after Max-Age; a copy replayed later (a stolen cookie)
    is refused by the server itself, which checks the signed timestamp."""
    with _console(server) as console:
        r = _sign_in(console, server, server.keys["manager"])
        assert r.status_code == 303
        assert f"Max-Age={SESSION_SECONDS}" in r.headers["set-cookie"]
        cookie = console.cookies.get("reco_console")
        assert cookie and console.get("/console/preview").status_code == 200
        time.sleep(SESSION_SECONDS + 1.5)
        dropped = console.get("/console/preview")  # the client no longer sends it
    assert dropped.status_code == 303 and dropped.headers["location"].startswith("/console/login")
    with _console(server) as replay:
        replay.cookies.set("reco_console", cookie, path="/console")
        expired = replay.get("/console/preview")
    assert expired.status_code == 303
    assert expired.headers["location"].startswith("/console/login?")
    assert "m=expired" in expired.headers["location"]


# --- audit ----------------------------------------------------------------------------------
def test_every_admin_action_is_audited_with_who_did_it(
    server: Server, template: Template, operator_key: str
) -> None:
    v1, _ = template.versions
    admin = server.client("admin", timeout=120)
    manager = server.client("manager", timeout=60)
    portal = server.client("portal")
    asset = {"title": HOSTILE_TITLE, "type": "battlecard", "language": "en",
             "summary": "Markup in catalog text must reach the console as text.",
             "stages": ["negotiation"]}  # fmt: skip
    try:
        # Refused attempts change nothing and leave no entry...
        assert portal.put("/v1/assets/rel-audit-1", json=asset).status_code == 403
        assert manager.post(f"/v1/models/{v1}/promote").status_code == 403
        # ... and each done action is audited.
        assert admin.put("/v1/assets/rel-audit-1", json=asset).status_code == 201
        assert (
            admin.put(
                "/v1/partners/RELAUDIT1",
                json={
                    "name": "Audit partner",
                    "tier": "gold",
                    "maturity": "new",
                    "type": "reseller",
                },
            ).status_code
            == 201
        )
        assert admin.post(f"/v1/models/{v1}/promote").status_code == 200
        assert admin.post("/v1/models/rollback").status_code == 200
        made = manager.post(
            "/v1/overrides",
            json={"action": "pin", "asset_id": "rel-audit-1", "scope": "global",
                  "comment": "audit test"},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        override_id = made.json()["override_id"]
        assert manager.delete(f"/v1/overrides/{override_id}").status_code == 204
        assert admin.delete("/v1/assets/rel-audit-1").status_code == 204
        created = _cli(server.workspace, "keys", "create", "--scope", "manager", "--name", "tmp")
        tmp_key = created.stdout.splitlines()[0].strip()
        assert _cli(server.workspace, "keys", "revoke", key_id_of(tmp_key) or "").returncode == 0
        log = admin.get("/v1/audit", params={"limit": 1000}).json()["data"]
    finally:
        admin.close()
        manager.close()
        portal.close()

    admin_id = key_id_of(server.keys["admin"])
    manager_id = key_id_of(server.keys["manager"])
    done = {(e["action"], e["target"]): e for e in log}
    expected = {
        ("asset.put", "rel-audit-1"): admin_id,
        ("partner.put", "RELAUDIT1"): admin_id,
        ("model.promote", v1): admin_id,
        ("model.rollback", "playbook"): admin_id,
        ("override.pin", "rel-audit-1"): manager_id,
        ("asset.delete", "rel-audit-1"): admin_id,
        ("key.create", key_id_of(tmp_key)): None,
        ("key.revoke", key_id_of(tmp_key)): None,
    }
    for (action, target), actor_id in expected.items():
        entry = done.get((action, target))
        assert entry is not None, f"{action} on {target} is not in the audit log"
        assert entry["at"]
        if actor_id is not None:
            assert actor_id in entry["actor"], entry
    assert ("override.remove", override_id) in done
    assert manager_id in done[("override.remove", override_id)]["actor"]
    promotes = [e for e in log if e["action"] == "model.promote" and e["target"] == v1]
    assert len(promotes) == 1  # the refused attempt left nothing
    text = json.dumps(log)
    for key in _all_keys(server, operator_key):
        assert secret_of(key) not in text


def test_catalog_markup_reaches_the_console_as_text(server: Server) -> None:
    """An asset whose title is a script tag, written through the admin API, shows on the
    console's pages escaped (with the strict CSP on top), never as markup."""
    with server.client("admin", timeout=120) as admin:
        r = admin.put(
            "/v1/assets/rel-xss-1",
            json={"title": HOSTILE_TITLE, "type": "battlecard", "language": "en",
                  "summary": 'A summary with <img src=x onerror="alert(2)"> in it.',
                  "stages": ["negotiation"]},
        )  # fmt: skip
        assert r.status_code in (200, 201), r.text
    with _console(server) as console:
        assert _sign_in(console, server, server.keys["admin"]).status_code == 303
        pages = [console.get("/console/steer"), console.get("/console/coverage")]
    steer = pages[0]
    assert steer.status_code == 200 and "rel-xss-1" in steer.text
    for page in pages:
        assert '<script>alert("rel-xss")' not in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
        assert not inline, inline
    assert "&lt;script&gt;alert(" in steer.text
