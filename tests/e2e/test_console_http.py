"""The console's security contract against the real server, over plain HTTP (no browser).

Sessions expire and end with their key; POST forms need the session's CSRF token and a
same-origin request; pages load only the console's own files under a strict CSP; a preview
is not journaled as impressions while the API's answer is.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from recommender.storage.keys import create_key, key_id_of, revoke
from service.console import session
from tests.e2e.workspace import E2EWorkspace
from tests.support import Server


def _client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)


def _sign_in(client: httpx.Client, server: Server, key: str) -> httpx.Response:
    return client.post(
        "/console/login",
        data={"key": key, "next": "/console/steer"},
        headers={"Origin": server.url},
    )


@pytest.fixture
def manager(server: Server, e2e: E2EWorkspace) -> Iterator[httpx.Client]:
    with _client(server) as client:
        response = _sign_in(client, server, e2e.keys["manager"])
        assert response.status_code == 303, response.text
        yield client


def _csrf(client: httpx.Client, path: str = "/console/steer") -> str:
    page = client.get(path)
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def test_pages_load_only_local_files_under_a_strict_csp(manager: httpx.Client) -> None:
    page = manager.get("/console/preview?partner_id=P0002&stage=discovery")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "default-src 'none'" in csp
        and "frame-ancestors 'none'" in csp
    )
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/console/static/") for s in sources)
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline
    for src in sources:
        asset = manager.get(src)
        assert (
            asset.status_code == 200
            and "http://" not in asset.text
            and "https://" not in asset.text
        )


def test_login_refuses_a_cross_origin_post(server: Server, e2e: E2EWorkspace) -> None:
    with _client(server) as client:
        response = client.post(
            "/console/login",
            data={"key": e2e.keys["manager"]},
            headers={"Origin": "https://evil.example"},
        )
        assert response.status_code == 403
        assert "reco_console" not in response.headers.get("set-cookie", "")


def test_post_forms_need_the_session_token_and_the_same_origin(
    manager: httpx.Client, server: Server
) -> None:
    form = {"action": "hide", "asset_id": "A0010", "scope": "global", "comment": "csrf test"}
    token = _csrf(manager)
    no_token = manager.post("/console/steer", data=form, headers={"Origin": server.url})
    wrong_token = manager.post(
        "/console/steer", data={**form, "csrf": "x" * 32}, headers={"Origin": server.url}
    )
    other_site = manager.post(
        "/console/steer", data={**form, "csrf": token}, headers={"Origin": "https://evil.example"}
    )
    for response in (no_token, wrong_token, other_site):
        assert response.status_code == 403
        assert "did not come from this console" in response.text
    listed = manager.get("/console/steer").text
    assert "csrf test" not in listed  # nothing was stored

    done = manager.post(
        "/console/steer", data={**form, "csrf": token}, headers={"Origin": server.url}
    )
    assert done.status_code == 303
    override_id = done.headers["location"].split("saved=")[1]
    removed = manager.post(
        "/console/steer/remove",
        data={"override_id": override_id, "csrf": token},
        headers={"Referer": f"{server.url}/console/steer"},
    )
    assert removed.status_code == 303


def _forged(e2e: E2EWorkspace, key: str, *, age: float) -> str:
    """A session cookie signed with the workspace's secret, `age` seconds old."""
    secret = session.workspace_secret(e2e.workspace.root)

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age)

    serializer = URLSafeTimedSerializer(secret, salt=session._SALT, signer=Signer)
    key_id = key_id_of(key)
    assert key_id is not None
    payload = {"k": key_id, "s": "manager", "n": "e2e manager", "c": secrets.token_urlsafe(24)}
    return str(serializer.dumps(payload))


def test_sessions_expire_after_the_configured_time(server: Server, e2e: E2EWorkspace) -> None:
    key = e2e.keys["manager"]
    with _client(server) as client:
        client.cookies.set("reco_console", _forged(e2e, key, age=60), path="/console")
        assert client.get("/console/preview").status_code == 200  # the forging is right
    with _client(server) as client:
        old = _forged(e2e, key, age=session.DEFAULT_SESSION_SECONDS + 60)
        client.cookies.set("reco_console", old, path="/console")
        response = client.get("/console/preview")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/login?")
        assert "m=expired" in response.headers["location"]


def test_revoking_the_key_ends_its_console_sessions(server: Server, e2e: E2EWorkspace) -> None:
    key = create_key(e2e.workspace, "manager", "e2e revoked", actor="e2e")
    with _client(server) as client:
        assert _sign_in(client, server, key).status_code == 303
        assert client.get("/console/preview").status_code == 200
        key_id = key_id_of(key)
        assert key_id is not None and revoke(e2e.workspace, key_id, actor="e2e")
        response = client.get("/console/preview")
        assert response.status_code == 303 and "/console/login" in response.headers["location"]


def test_sign_in_and_changes_are_audited(manager: httpx.Client, e2e: E2EWorkspace) -> None:
    with sqlite3.connect(e2e.workspace.console_path) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit ORDER BY seq")]
    assert "console.sign_in" in actions


def _impressions(e2e: E2EWorkspace, partner_id: str) -> int:
    uri = f"file:{e2e.workspace.events_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM events WHERE type = 'impression' AND partner_id = ?",
            (partner_id,),
        ).fetchone()
    return int(count)


def test_a_preview_is_not_journaled_but_the_api_call_is(
    manager: httpx.Client, server: Server, e2e: E2EWorkspace
) -> None:
    partner = "P0010"
    before = _impressions(e2e, partner)
    page = manager.get(f"/console/preview?partner_id={partner}&stage=closing&n=5")
    assert page.status_code == 200 and 'class="result"' in page.text
    httpx.post(
        f"{server.url}/v1/recommendations",
        json={"partner_id": partner, "context": {"stage": "closing"}, "n": 5},
        headers={"X-API-Key": e2e.keys["portal"]},
        timeout=30,
    ).raise_for_status()
    deadline = time.monotonic() + 10
    while _impressions(e2e, partner) < before + 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _impressions(e2e, partner) == before + 5  # the API's five, none from the preview


def test_model_card_is_served_sandboxed_to_admins_only(
    manager: httpx.Client, server: Server, e2e: E2EWorkspace
) -> None:
    version = e2e.versions[0]
    assert manager.get(f"/console/models/{version}/card").status_code == 403
    with _client(server) as admin:
        assert _sign_in(admin, server, e2e.keys["admin"]).status_code == 303
        card = admin.get(f"/console/models/{version}/card")
        assert card.status_code == 200
        assert card.headers["content-security-policy"].startswith("sandbox")
        assert "Model card 1" in card.text


def test_a_version_registered_without_evaluation_says_so(server: Server, e2e: E2EWorkspace) -> None:
    """The demo loop's earlier periods register models without metrics: the models page
    says they were not evaluated instead of an empty cell."""
    import shutil
    from datetime import UTC, datetime

    from recommender.storage.registry import Registry

    registry = Registry.of(e2e.workspace)
    model = (registry.get(e2e.versions[0]).path / "model.json").read_bytes()
    bare = registry.save(model, {"features": [], "usage": {}}, now=datetime(2026, 2, 1, tzinfo=UTC))
    try:
        with _client(server) as admin:
            assert _sign_in(admin, server, e2e.keys["admin"]).status_code == 303
            page = admin.get("/console/models")
        assert page.status_code == 200
        rows = re.findall(r"<tr data-version=(.*?)</tr>", page.text, re.S)
        row = next(r for r in rows if bare.name in r)
        assert "Not evaluated (registered without a held-out evaluation" in row
        evaluated = next(r for r in rows if e2e.versions[0] in r)
        assert "Not evaluated" not in evaluated and "ndcg@10" in evaluated
    finally:
        shutil.rmtree(bare.path)


def test_compare_two_stages_and_two_model_versions(
    manager: httpx.Client, server: Server, e2e: E2EWorkspace
) -> None:
    base = "/console/compare?partner_id=P0003&stage=discovery&industry=telecom&n=5"
    stages = manager.get(f"{base}&dim=stage&stage_a=prospecting&stage_b=closing")
    assert stages.status_code == 200
    sides = re.findall(r'<section class="side"[^>]*data-side="(left|right)"', stages.text)
    assert sides == ["left", "right"]
    for stage in ("prospecting", "closing"):
        body = {"partner_id": "P0003", "context": {"stage": stage, "industry": "telecom"}, "n": 5}
        api = httpx.post(
            f"{server.url}/v1/recommendations",
            json=body,
            headers={"X-API-Key": e2e.keys["portal"]},
            timeout=30,
        ).json()
        assert all(f'data-asset-id="{i["asset_id"]}"' in stages.text for i in api["items"])

    version = e2e.versions[0]
    models = manager.get(f"{base}&dim=model&model_a=playbook&model_b={version}")
    assert models.status_code == 200
    assert "Model version playbook" in models.text  # left: the content scorer
    assert f"Model version {version}" in models.text  # right: that version, not promoted
    assert (
        manager.get(
            f"{base}&dim=model&model_a=playbook&model_b=v19990101-000000-0000000"
        ).status_code
        == 200
    )


def test_the_deal_form_leaves_the_industry_unset_until_it_is_picked(
    manager: httpx.Client, e2e: E2EWorkspace
) -> None:
    """A partner's first industry is rarely the deal's (banking, for a note about a factory):
    the form starts without one and keeps the one the manager picks."""
    from recommender import load_partners

    partner = next(p for p in load_partners(e2e.workspace).values() if p.industries)
    for path in ("preview", "compare"):
        url = f"/console/{path}?partner_id={partner.partner_id}&stage=discovery"
        page = manager.get(url)
        assert page.status_code == 200
        select = re.search(r'<select id="industry".*?</select>', page.text, re.S)
        assert select is not None and " selected" not in select.group(0)
        options = re.findall(r'<option value="([^"]+)"', select.group(0))
        assert partner.industries[0] in options
        pick = options[-1]
        chosen = re.search(r'<select id="industry".*?</select>',
                           manager.get(f"{url}&industry={pick}").text, re.S)  # fmt: skip
        assert chosen is not None and f'<option value="{pick}" selected' in chosen.group(0)
