"""Model endpoints: list, promote, rollback; swaps under concurrent requests never fail one."""

from __future__ import annotations

import threading
from collections import Counter

import httpx

from recommender.storage.registry import Registry
from tests.service.helpers import Api
from tests.support import Server, Template, recommendation_body


def test_list_shows_versions_and_what_serves(api: Api, template: Template) -> None:
    assert api.get("/v1/models").status_code == 403
    r = api.get("/v1/models", scope="manager")
    assert r.status_code == 200
    body = r.json()
    assert [m["version"] for m in body["data"]] == template.versions
    assert body["serving"] == "playbook"
    assert not any(m["promoted"] or m["serving"] for m in body["data"])
    assert body["data"][0]["metrics"] == {"ndcg@10": 0.1}


def test_promote_and_rollback(api: Api, template: Template) -> None:
    v1, v2 = template.versions
    assert api.post(f"/v1/models/{v1}/promote", scope="manager").status_code == 403
    assert api.post("/v1/models/v20990101-000000-abcdef0/promote", scope="admin").status_code == 404
    assert api.post("/v1/models/rollback", scope="admin").status_code == 409  # nothing promoted

    r = api.post(f"/v1/models/{v1}/promote", scope="admin")
    assert r.status_code == 200, r.text
    assert r.json() == {"model_version": v1, "previous": "playbook"}
    reco = api.post("/v1/recommendations", recommendation_body())
    assert reco.json()["model_version"] == v1 == reco.headers["X-Model-Version"]

    assert api.post(f"/v1/models/{v2}/promote", scope="admin").json()["model_version"] == v2
    assert Registry.of(api.workspace).promoted() == v2
    listed = api.get("/v1/models", scope="manager").json()
    assert listed["serving"] == v2
    assert [m["version"] for m in listed["data"] if m["promoted"] and m["serving"]] == [v2]

    assert api.post("/v1/models/rollback", scope="admin").json() == {
        "model_version": v1,
        "previous": v2,
    }
    assert api.post("/v1/recommendations", recommendation_body()).json()["model_version"] == v1
    assert api.post("/v1/models/rollback", scope="admin").json()["model_version"] == "playbook"
    assert Registry.of(api.workspace).promoted() is None

    audit = [
        e
        for e in api.get("/v1/audit", scope="admin").json()["data"]
        if e["action"].startswith("model.")
    ]
    assert [e["action"] for e in audit][:4] == [
        "model.rollback",
        "model.rollback",
        "model.promote",
        "model.promote",
    ]


def test_a_damaged_model_is_refused_and_nothing_changes(api: Api, template: Template) -> None:
    v1, _ = template.versions
    model_file = api.workspace.models_dir / v1 / "model.json"
    original = model_file.read_bytes()
    try:
        model_file.write_bytes(original[:-10])
        r = api.post(f"/v1/models/{v1}/promote", scope="admin")
        assert r.status_code == 409
        assert "truncated" in r.json()["detail"]
        assert (
            api.post("/v1/recommendations", recommendation_body()).json()["model_version"]
            == "playbook"
        )
    finally:
        model_file.write_bytes(original)


def _hammer(
    url: str, headers: dict[str, str], stop: threading.Event, out: list, client_kw: dict
) -> None:
    with httpx.Client(**client_kw) as client:
        i = 0
        while not stop.is_set():
            body = recommendation_body(f"P000{1 + i % 9}", notes=f"deal note {i % 7}")
            try:
                r = client.post(url, json=body, headers=headers, timeout=30)
                out.append(
                    (
                        r.status_code,
                        r.json().get("model_version") if r.status_code == 200 else r.text,
                    )
                )
            except httpx.HTTPError as exc:  # a failed request is a finding, not a crash
                out.append((0, repr(exc)))
            i += 1


def test_swaps_under_concurrent_requests_fail_none_in_process(api: Api, template: Template) -> None:
    v1, v2 = template.versions
    results: list = []
    stop = threading.Event()

    def hammer() -> None:  # TestClient's portal takes calls from several threads

        i = 0
        while not stop.is_set():
            body = recommendation_body(f"P000{1 + i % 9}", notes=f"deal note {i % 7}")
            r = api.post("/v1/recommendations", body)
            results.append((r.status_code, r.json().get("model_version")))
            i += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for version in (v1, v2, v1):
            assert api.post(f"/v1/models/{version}/promote", scope="admin").status_code == 200
        assert api.post("/v1/models/rollback", scope="admin").status_code == 200
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    statuses = Counter(s for s, _ in results)
    assert statuses == Counter({200: len(results)}), statuses
    assert {v for _, v in results} <= {"playbook", v1, v2}


def test_promote_and_rollback_under_load_on_a_real_server(
    server: Server, template: Template
) -> None:
    """Several client threads over real HTTP while the model is promoted and rolled back:
    every response is a 200 naming the version that served it, and once a promotion has
    returned, requests sent after it are served by the new version."""
    v1, v2 = template.versions
    url = f"{server.url}/v1/recommendations"
    results: list = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_hammer, args=(url, server.headers("portal"), stop, results, {}))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    admin = httpx.Client(base_url=server.url, headers=server.headers("admin"), timeout=120)
    portal = httpx.Client(base_url=server.url, headers=server.headers("portal"), timeout=30)
    seen_after: dict[str, str] = {}
    try:
        for version in (v1, v2):
            r = admin.post(f"/v1/models/{version}/promote")
            assert r.status_code == 200, r.text
            after = portal.post("/v1/recommendations", json=recommendation_body())
            seen_after[version] = after.json()["model_version"]
        r = admin.post("/v1/models/rollback")
        assert r.status_code == 200 and r.json()["model_version"] == v1
        seen_after["rollback"] = portal.post(
            "/v1/recommendations", json=recommendation_body()
        ).json()["model_version"]
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        admin.close()
        portal.close()
    assert len(results) > 20
    failures = [r for r in results if r[0] != 200]
    assert not failures, failures[:5]
    versions = Counter(v for _, v in results)
    assert set(versions) <= {"playbook", v1, v2}
    assert seen_after == {v1: v1, v2: v2, "rollback": v1}
