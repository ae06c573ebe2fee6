"""POST /v1/recommendations: answers, errors, seen handling and journaled impressions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from features.schema import Stage, values
from tests.service.helpers import Api
from tests.support import recommendation_body


def test_happy_path_returns_items_with_reasons_and_the_model_version(api: Api) -> None:
    body = recommendation_body(notes="CFO asks for a TCO comparison against the incumbent")
    r = api.post("/v1/recommendations", body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == {"request_id", "model_version", "items"}
    assert data["model_version"] == "playbook" == r.headers["X-Model-Version"]
    assert data["request_id"] == r.headers["X-Request-ID"]
    assert 1 <= len(data["items"]) <= 5
    for item in data["items"]:
        assert set(item) == {"asset_id", "title", "type", "language", "url", "score", "reasons"}
        assert item["reasons"] and all(set(x) == {"code", "text"} for x in item["reasons"])
    scores = [item["score"] for item in data["items"]]
    assert len(set(item["asset_id"] for item in data["items"])) == len(scores)


def test_the_request_n_is_honoured(api: Api) -> None:
    body = recommendation_body() | {"n": 3}
    assert len(api.post("/v1/recommendations", body).json()["items"]) == 3


def test_inline_profile_serves_an_unknown_partner(api: Api) -> None:
    body = {
        "partner_id": "not-in-the-table",
        "partner": {"tier": "gold", "maturity": "advanced", "languages": ["en"], "region": "ua"},
        "context": {"stage": "solution", "industry": "manufacturing"},
    }
    r = api.post("/v1/recommendations", body)
    assert r.status_code == 200, r.text
    assert r.json()["items"]


def test_inline_profile_alone_is_enough(api: Api) -> None:
    body = {"partner": {"maturity": "new"}, "context": {"stage": "prospecting"}, "n": 2}
    assert api.post("/v1/recommendations", body).status_code == 200


def test_unknown_partner_without_profile_is_404(api: Api) -> None:
    r = api.post("/v1/recommendations", recommendation_body("nobody-knows-me"))
    assert r.status_code == 404
    assert "nobody-knows-me" in r.json()["detail"]


def test_unknown_stage_is_422_listing_the_stages(api: Api) -> None:
    r = api.post("/v1/recommendations", recommendation_body(stage="negotiaton"))
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["field"] == "context.stage"
    assert error["allowed"] == values(Stage)
    assert "negotiation" in error["msg"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"n": 0}, "n"),
        ({"n": 51}, "n"),
        ({"n": 10**12}, "n"),
        ({"n": "many"}, "n"),
        ({"partner_id": "../../etc/passwd"}, "partner_id"),
        ({"filters": {"types": ["brochure"]}}, "filters.types.0"),
        ({"filters": {"languages": ["de"]}}, "filters.languages.0"),
        ({"exclude_seen": "sometimes"}, "exclude_seen"),
        ({"surprise": 1}, "surprise"),
    ],
    ids=["n-zero", "n-51", "n-huge", "n-text", "partner-path", "type", "language", "flag", "extra"],
)
def test_invalid_fields_are_422_naming_the_field(api: Api, change: dict, field: str) -> None:
    r = api.post("/v1/recommendations", recommendation_body() | change)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["detail"]]


@pytest.mark.parametrize(
    ("context", "field"),
    [
        ({"buyer_role": "ceo"}, "context.buyer_role"),
        ({"language": "fr"}, "context.language"),
        ({"industry": "Banking & Finance"}, "context.industry"),
        ({"size": -1}, "context.size"),
        ({"notes": "x" * 5001}, "context.notes"),
    ],
    ids=["role", "language", "industry-slug", "size", "notes-too-long"],
)
def test_invalid_context_is_422(api: Api, context: dict, field: str) -> None:
    r = api.post("/v1/recommendations", recommendation_body(**context))
    assert r.status_code == 422
    assert field in [e["field"] for e in r.json()["detail"]]


def test_neither_partner_id_nor_profile_ranks_for_an_anonymous_partner(api: Api) -> None:
    # the schema allows both to be missing (or null), so the API serves it: the deal alone
    body = {"context": {"stage": "closing"}, "partner_id": None, "partner": None, "n": 5}
    r = api.post("/v1/recommendations", body)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 5 and len({i["asset_id"] for i in items}) == 5
    assert all(i["reasons"] for i in items)


def test_filters_restrict_types_and_languages(api: Api) -> None:
    body = recommendation_body() | {
        "n": 10,
        "filters": {"types": ["case_study", "white_paper"], "languages": ["uk"]},
    }
    items = api.post("/v1/recommendations", body).json()["items"]
    assert items
    assert {i["type"] for i in items} <= {"case_study", "white_paper"}
    assert {i["language"] for i in items} == {"uk"}


def test_seen_assets_are_demoted_or_excluded(steady: Api) -> None:
    """An asset the partner opened since the snapshot moves down by the snapshot's return
    ratio, on ranks (its score is the scorer's, unchanged); exclude_seen drops it."""
    api = steady
    partner = "P0003"
    body = recommendation_body(partner) | {"n": 10}
    first = api.post("/v1/recommendations", body).json()["items"]
    top = first[0]["asset_id"]
    event = {
        "event_id": f"open-{partner}-{top}",
        "ts": "2026-01-10T10:00:00Z",
        "type": "open",
        "partner_id": partner,
        "asset_id": top,
    }
    assert api.post("/v1/events", {"events": [event]}).json()["accepted"] == 1
    demoted = api.post("/v1/recommendations", body).json()["items"]
    ratio = api.state.snapshot.return_ratio
    assert 0 < ratio < 1.0
    # rank 0 is worth 1, the seen top `ratio`: every rank k >= 1 with 1/(k+1) >= ratio goes
    # before it (within the first three no type cap of the diversity reorders anything)
    ahead = int(np.floor(1.0 / ratio + 1e-9)) - 1
    ids = [i["asset_id"] for i in demoted]
    if ahead <= 2:
        assert ids[: ahead + 1] == [i["asset_id"] for i in first[1 : ahead + 1]] + [top]
        assert demoted[ahead]["score"] == pytest.approx(first[0]["score"], abs=1e-6)
    else:
        assert top not in ids[:ahead]
    excluded = api.post("/v1/recommendations", body | {"exclude_seen": True}).json()["items"]
    assert top not in [i["asset_id"] for i in excluded]


def test_impressions_are_journaled_with_positions(api: Api) -> None:
    r = api.post("/v1/recommendations", recommendation_body("P0002") | {"n": 4})
    data = r.json()
    assert api.state.impressions.flush(timeout=10)
    events = api.state.journal.read(types=["impression"])
    mine = events[events["request_id"] == data["request_id"]].sort_values("position")
    assert mine["asset_id"].tolist() == [i["asset_id"] for i in data["items"]]
    assert mine["position"].tolist() == list(range(len(data["items"])))
    assert set(mine["partner_id"]) == {"P0002"}
    assert set(mine["stage"]) == {"negotiation"}


def test_impressions_carry_the_propensities_of_the_slate_served(api: Api) -> None:
    """The API explores (RECO_EXPLORATION, 5% of slots by default): every impression is
    journaled with its propensities, explored ones with the small ones, and the same request
    id would get the same slate."""
    rate = api.state.exploration.rate
    assert rate > 0
    ids = []
    for _ in range(40):
        r = api.post("/v1/recommendations", recommendation_body("P0003") | {"n": 10})
        ids.append(r.json()["request_id"])
    assert api.state.impressions.flush(timeout=10)
    events = api.state.journal.read(types=["impression"])
    mine = events[events["request_id"].isin(ids)]
    assert len(mine) == 400 and mine["propensity"].notna().all()
    kept = np.isclose(mine["propensity"], 1 - rate)
    explored = ~kept
    assert kept.sum() + explored.sum() == 400 and 0 < explored.sum() < 100
    assert (mine["propensity_shown"] >= mine["propensity"]).all()
    assert np.allclose(
        mine.loc[explored, "propensity_shown"], 10 * mine.loc[explored, "propensity"]
    )


def test_a_preview_does_not_explore(api: Api) -> None:
    from service.operations.recommend import recommend
    from service.schemas.recommendations import RecommendationRequest

    body = RecommendationRequest.model_validate(recommendation_body("P0003") | {"n": 10})
    snapshot = api.state.snapshot
    served = [
        recommend(api.state, snapshot, body, request_id=f"{k:032x}", journal=False)
        for k in range(30)
    ]
    assert len({tuple(i["asset_id"] for i in p["items"]) for p in served}) == 1


def test_requests_for_partners_outside_the_table_journal_nothing(api: Api) -> None:
    before = api.state.journal.count()
    body = {"partner": {"tier": "silver"}, "context": {"stage": "closing"}, "n": 3}
    assert api.post("/v1/recommendations", body).status_code == 200
    assert api.state.impressions.flush(timeout=10)
    assert api.state.journal.count() == before


def test_requests_without_a_key_are_401_and_bodies_over_the_limit_413(api: Api) -> None:
    r = api.client.post("/v1/recommendations", json=recommendation_body())
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    huge = recommendation_body(notes="x" * 2_000_000)
    r = api.post("/v1/recommendations", huge)
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]


def test_bearer_token_works_like_the_header(api: Api) -> None:
    r = api.client.post(
        "/v1/recommendations",
        json=recommendation_body(),
        headers={"Authorization": f"Bearer {api.keys['portal']}"},
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "content",
    [
        b'{"partner_id": "P0001", "context": {"stage": "closing"',  # truncated
        b'{"partner_id": "P0001", "context": {"stage": "\xff\xfe"}}',  # not UTF-8
        b"[" * 200_000 + b"]" * 200_000,  # nested deeper than any parser's stack
        b'{"partner_id": "P0001", "context": {"stage": "closing", "size": NaN}}',
        b"",
    ],
    ids=["truncated", "bad-utf8", "deep-nesting", "nan", "empty"],
)
def test_malformed_bodies_are_client_errors_not_500(api: Api, content: bytes) -> None:
    r = api.client.post(
        "/v1/recommendations",
        content=content,
        headers={**api.headers("portal"), "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text
    assert "Traceback" not in r.text


def test_an_internal_error_is_a_json_500_without_a_trace(api: Api, monkeypatch) -> None:
    from recommender.ranking.recommender import Recommender

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Recommender, "recommend", boom)
    r = api.post("/v1/recommendations", recommendation_body())
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error", "request_id": r.headers["X-Request-ID"]}
    assert "secret" not in r.text


def test_notes_in_another_language_still_match(api: Api) -> None:
    # Ukrainian notes about payback: a calculator should come up among the top items.
    body = recommendation_body(notes="клієнт просить порахувати окупність і вартість володіння")
    body["n"] = 10
    items = api.post("/v1/recommendations", body).json()["items"]
    assert any("calculator" in i["type"] for i in items), json.dumps(items, ensure_ascii=False)


def test_a_new_note_is_embedded_once_off_the_event_loop(steady: Api, monkeypatch) -> None:
    """A note the worker has not seen is embedded on an embedding thread (not the event
    loop's), once: the same note again, or with other spacing, ranks from the cache: the
    same ranking."""
    import threading

    api = steady
    cache = api.state.snapshot.query_cache
    threads: list[str] = []
    embed = cache.embedder.embed_queries

    def spy(texts):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return embed(texts)

    monkeypatch.setattr(cache.embedder, "embed_queries", spy)
    note = "Дистриб'ютор у Львові просить кейс складу з роботами та розрахунок окупності"
    first = api.post("/v1/recommendations", recommendation_body(notes=note))
    again = api.post("/v1/recommendations", recommendation_body(notes=f"  {note} "))
    assert first.status_code == again.status_code == 200
    assert len(threads) == 1 and threads[0] != "MainThread"
    loop_thread = api.client.portal.call(lambda: threading.current_thread().name)  # type: ignore[union-attr]
    assert threads[0] != loop_thread
    assert [i["asset_id"] for i in first.json()["items"]] == [
        i["asset_id"] for i in again.json()["items"]
    ]
