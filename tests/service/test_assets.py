"""The catalog endpoints: list, read, create/replace and delete without a restart."""

from __future__ import annotations

import pytest

from features.schema import AssetType, values
from tests.service.helpers import Api
from tests.support import TEMPLATE_ASSETS, recommendation_body

NEW_ASSET = {
    "title": "Battlecard: winning against Globex in cold-chain logistics",
    "type": "battlecard",
    "language": "en",
    "summary": "How to answer a logistics buyer comparing our sensor kit with Globex: "
    "refrigerated trucks, temperature alarms and insurance claims.",
    "industries": ["logistics"],
    "stages": ["negotiation"],
    "competitors": ["globex"],
    "url": "https://enablement.example.com/assets/new-battlecard",
    "published_at": "2025-06-01",
}


def test_list_is_paged_and_counts_all_matches(api: Api) -> None:
    r = api.get("/v1/assets", params={"limit": 7, "offset": 0})
    assert r.status_code == 200
    page = r.json()
    assert page["count"] == TEMPLATE_ASSETS and len(page["data"]) == 7
    rest = api.get("/v1/assets", params={"limit": 200, "offset": 7}).json()
    assert len(rest["data"]) == TEMPLATE_ASSETS - 7
    ids = [a["asset_id"] for a in page["data"] + rest["data"]]
    assert len(set(ids)) == TEMPLATE_ASSETS


def test_list_filters_combine(api: Api) -> None:
    r = api.get("/v1/assets", params={"type": ["case_study", "white_paper"], "language": "uk"})
    data = r.json()["data"]
    assert data
    assert all(a["type"] in ("case_study", "white_paper") and a["language"] == "uk" for a in data)
    staged = api.get("/v1/assets", params={"stage": "negotiation", "limit": 200}).json()["data"]
    assert staged and all("negotiation" in a["stages"] for a in staged)


def test_list_rejects_unknown_filter_values(api: Api) -> None:
    r = api.get("/v1/assets", params={"type": "brochure"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["allowed"] == values(AssetType)
    assert api.get("/v1/assets", params={"limit": 1000}).status_code == 422


def test_read_one_and_404(api: Api) -> None:
    r = api.get("/v1/assets/A0001")
    assert r.status_code == 200
    assert r.json()["asset_id"] == "A0001" and r.json()["title"]
    assert api.get("/v1/assets/A9999").status_code == 404


@pytest.mark.parametrize("bad", ["..", ".hidden", "a%20b", "x" * 65, "%2e%2e"])
def test_ids_outside_the_id_pattern_are_422(api: Api, bad: str) -> None:
    assert api.get(f"/v1/assets/{bad}").status_code in (404, 422)
    r = api.put(f"/v1/assets/{bad}", NEW_ASSET)
    assert r.status_code in (404, 422)


def test_path_traversal_never_reaches_the_catalog(api: Api) -> None:
    # (A bare ".." is resolved away by the client; "..x" reaches the server as it is.)
    r = api.put("/v1/assets/..%5Cwindows", NEW_ASSET)
    assert r.status_code == 422
    r = api.put("/v1/assets/..passwd", NEW_ASSET)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["path", "asset_id"]


def test_writes_need_an_admin_key(api: Api) -> None:
    for scope in ("portal", "manager"):
        assert api.put("/v1/assets/new-1", NEW_ASSET, scope=scope).status_code == 403
        assert api.delete("/v1/assets/A0001", scope=scope).status_code == 403
    assert api.client.put("/v1/assets/new-1", json=NEW_ASSET).status_code == 401


def test_put_creates_then_replaces_and_serves_at_once(steady: Api) -> None:
    """(`steady`: the new asset is looked for among the served items, where the exploration
    could swap it for a reserve at random.)"""
    api = steady
    r = api.put("/v1/assets/new-bc-1", NEW_ASSET)
    assert r.status_code == 201, r.text
    assert r.json()["asset_id"] == "new-bc-1" and r.json()["chunks"] >= 1
    assert api.get("/v1/assets/new-bc-1").json()["title"] == NEW_ASSET["title"]
    body = recommendation_body(
        industry="logistics", competitors=["globex"], notes="buyer compares us with Globex"
    )
    body["filters"] = {"types": ["battlecard"]}
    items = api.post("/v1/recommendations", body).json()["items"]
    assert "new-bc-1" in [i["asset_id"] for i in items]

    r = api.put("/v1/assets/new-bc-1", NEW_ASSET | {"title": "Battlecard v2"})
    assert r.status_code == 200
    assert api.get("/v1/assets/new-bc-1").json()["title"] == "Battlecard v2"
    actions = [
        (e["action"], e["target"]) for e in api.get("/v1/audit", scope="admin").json()["data"]
    ]
    assert ("asset.put", "new-bc-1") in actions


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "brochure"}, "type"),
        ({"stages": ["negotiaton"]}, "stages.0"),
        ({"title": ""}, "title"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"published_at": "1890-01-01"}, "published_at"),
        ({"document": "../../etc/passwd"}, "document"),
    ],
    ids=["type", "stage", "title", "url", "date", "document-path"],
)
def test_put_rejects_invalid_assets(api: Api, change: dict, field: str) -> None:
    r = api.put("/v1/assets/new-bad", NEW_ASSET | change)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["detail"]]
    assert api.get("/v1/assets/new-bad").status_code == 404


def test_a_body_naming_another_asset_is_409_and_writes_nothing(api: Api) -> None:
    r = api.put("/v1/assets/new-bad", NEW_ASSET | {"asset_id": "other-id"})
    assert r.status_code == 409, r.text
    assert "other-id" in r.json()["detail"]
    assert api.get("/v1/assets/new-bad").status_code == 404


def test_expiry_before_publication_is_refused_by_the_catalog(api: Api) -> None:
    r = api.put("/v1/assets/new-dates", NEW_ASSET | {"expires_at": "2024-01-01"})
    assert r.status_code == 422
    assert "expires_at" in [e["field"] for e in r.json()["detail"]]


def test_delete_removes_from_catalog_and_recommendations(api: Api) -> None:
    assert api.put("/v1/assets/new-gone", NEW_ASSET).status_code == 201
    assert api.delete("/v1/assets/new-gone").status_code == 204
    assert api.get("/v1/assets/new-gone").status_code == 404
    body = recommendation_body(industry="logistics", competitors=["globex"]) | {"n": 50}
    items = api.post("/v1/recommendations", body).json()["items"]
    assert "new-gone" not in [i["asset_id"] for i in items]
    assert api.delete("/v1/assets/new-gone").status_code == 404
