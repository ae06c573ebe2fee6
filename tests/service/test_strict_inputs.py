"""Inputs are taken as the OpenAPI document states them, or refused with a 422 naming them.

- A query parameter that takes one value must not be given twice (every endpoint): FastAPI
  alone would take the last of `?q=a&q=b` and answer 200.
- JSON values have the document's types: `true` is not a number, "5" not an integer, 1 not a
  boolean, a number not a date (pydantic's lax mode would convert them).

Both hid a client's mistake, and both made schemathesis' negative tests fail by chance.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.helpers import Api
from tests.support import Template


def _takes_many(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(option.get("type") == "array" for option in options)


def _example(schema: dict[str, Any], document: dict[str, Any]) -> str:
    """A value the parameter accepts (so that only the repetition is wrong)."""
    for option in schema.get("anyOf", [schema]):
        if "$ref" in option:  # "#/components/schemas/Language"
            option = document["components"]["schemas"][option["$ref"].rsplit("/", 1)[1]]
        if "enum" in option:
            return str(option["enum"][0])
        if option.get("type") == "integer":
            return str(option.get("minimum", 1))
        if option.get("type") == "number":  # inside (exclusiveMinimum, exclusiveMaximum)
            low, high = option.get("exclusiveMinimum", 0), option.get("exclusiveMaximum", 1)
            return str((low + high) / 2)
        if option.get("type") == "boolean":
            return "true"
        if option.get("type") == "string":
            return "a"
    return "a"


def _single_valued_parameters() -> list[tuple[str, str, str, str]]:
    """(method, path, parameter, value) for every single-valued query parameter of the API."""
    from service.app import create_app
    from service.config import Settings

    document = create_app(Settings(log_level="warning")).openapi()  # no lifespan: cheap
    out = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter["in"] == "query" and not _takes_many(schema):
                    value = _example(schema, document)
                    out.append((method.upper(), path, parameter["name"], value))
    return out


PARAMETERS = _single_valued_parameters()


def test_the_api_has_single_valued_query_parameters() -> None:
    names = {(path, name) for _, path, name, _ in PARAMETERS}
    assert {("/v1/assets", "q"), ("/v1/assets", "status"), ("/v1/partners", "q")} <= names
    assert ("/v1/assets", "type") not in names  # a list: it may repeat


@pytest.mark.parametrize(
    ("method", "path", "name", "value"),
    PARAMETERS,
    ids=[f"{m} {p} {n}" for m, p, n, _ in PARAMETERS],
)
def test_a_repeated_single_valued_parameter_is_422_naming_it(
    api: Api, template: Template, method: str, path: str, name: str, value: str
) -> None:
    url = path.replace("{asset_id}", "A0001").replace("{partner_id}", "P0001")
    if "{name}" in path:  # an experiment's route: one to ask about
        url = url.replace("{name}", "strict")
        if api.get("/v1/experiments/strict", scope="admin").status_code == 404:
            body = {"name": "strict", "control": "playbook", "treatment": template.versions[0],
                    "method": "ab", "segment": "tier=platinum"}  # fmt: skip
            assert api.post("/v1/experiments", body, scope="admin").status_code == 201
    once = api.client.request(method, url, params={name: value}, headers=api.headers("admin"))
    assert once.status_code == 200, once.text
    twice = api.client.request(
        method, url, params=[(name, value), (name, value)], headers=api.headers("admin")
    )
    assert twice.status_code == 422, twice.text
    (problem,) = twice.json()["detail"]
    assert problem["loc"] == ["query", name] and problem["field"] == name
    assert problem["type"] == "repeated_parameter"
    assert f"{name!r} is given 2 times" in problem["msg"]


def test_a_list_parameter_may_repeat_and_every_repeated_one_is_named(api: Api) -> None:
    listed = api.get("/v1/assets", params=[("type", "case_study"), ("type", "white_paper")])
    assert listed.status_code == 200
    assert {a["type"] for a in listed.json()["data"]} <= {"case_study", "white_paper"}
    both = api.get("/v1/assets", params=[("q", "a"), ("limit", "5"), ("q", "b"), ("limit", "6")])
    assert both.status_code == 422
    assert [p["field"] for p in both.json()["detail"]] == ["limit", "q"]


def test_a_wrong_method_is_still_405(api: Api) -> None:
    r = api.client.request("PATCH", "/v1/assets?q=a&q=b", headers=api.headers("admin"))
    assert r.status_code == 405


WRONG_TYPES = [
    ("POST", "/v1/recommendations", {"n": "5"}, "n"),
    ("POST", "/v1/recommendations", {"n": True}, "n"),
    ("POST", "/v1/recommendations", {"exclude_seen": 1}, "exclude_seen"),
    ("POST", "/v1/recommendations", {"exclude_seen": "true"}, "exclude_seen"),
    ("POST", "/v1/recommendations", {"context": {"stage": "closing", "size": True}}, "size"),
    ("POST", "/v1/events", {"value": False}, "value"),
    ("POST", "/v1/events", {"position": True}, "position"),
    ("POST", "/v1/events", {"amount": "5"}, "amount"),
    ("POST", "/v1/overrides", {"expires_at": 2_000_000_000}, "expires_at"),
    ("POST", "/v1/overrides", {"action": "boost", "boost": True}, "boost"),
    ("PUT", "/v1/assets/A0001", {"published_at": 946_684_800}, "published_at"),
    ("PUT", "/v1/partners/P0001", {"joined_at": 946_684_800}, "joined_at"),
]


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    WRONG_TYPES,
    ids=[f"{url} {body}" for _, url, body, _ in WRONG_TYPES],
)
def test_a_json_value_of_another_type_is_422_naming_it(
    api: Api, method: str, url: str, body: dict[str, Any], field: str
) -> None:
    event = {"event_id": "strict-1", "ts": "2026-01-01T00:00:00Z", "type": "open",
             "partner_id": "P0001", "asset_id": "A0001"}  # fmt: skip
    partner = {"name": "Strict", "tier": "gold", "maturity": "new", "type": "reseller"}
    valid: dict[str, dict[str, Any]] = {
        "/v1/recommendations": {"partner_id": "P0001", "context": {"stage": "closing"}},
        "/v1/events": {"events": [event]},
        "/v1/overrides": {"action": "hide", "asset_id": "A0001", "scope": "global"},
        "/v1/assets/A0001": {"title": "Strict", "type": "faq", "summary": "A summary."},
        "/v1/partners/P0001": partner,
    }
    full = dict(valid[url])
    if url == "/v1/events":
        full = {"events": [{**full["events"][0], **body}]}
    else:
        full.update(body)
    r = api.client.request(method, url, json=full, headers=api.headers("admin"))
    assert r.status_code == 422, r.text
    assert [p["field"].rsplit(".", 1)[-1] for p in r.json()["detail"]] == [field]


# What the document promises, kept (issue 17: portals generate their clients from it).


@pytest.mark.parametrize(
    ("url", "methods"),
    [
        ("/v1/assets/A0001", "GET, PUT, DELETE"),
        ("/v1/partners/P0001", "GET, PUT"),
        ("/v1/experiments", "GET, POST"),
        ("/v1/overrides", "GET, POST"),
        ("/v1/recommendations", "POST"),
    ],
)
def test_a_405_allows_every_method_of_the_path(api: Api, url: str, methods: str) -> None:
    r = api.client.request("OPTIONS", url, headers=api.headers("admin"))
    assert r.status_code == 405
    assert r.headers["allow"] == methods
    assert r.json() == {"detail": "Method Not Allowed"}


def test_an_integer_may_come_as_a_float_without_a_fraction(api: Api) -> None:
    body = {"partner_id": "P0001", "context": {"stage": "closing"}}
    assert len(api.post("/v1/recommendations", body | {"n": 3.0}).json()["items"]) == 3
    r = api.post("/v1/recommendations", body | {"n": 3.5})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "n"


def test_a_body_naming_another_id_than_its_path_is_409(api: Api) -> None:
    partner = {"name": "Strict", "tier": "gold", "maturity": "new", "type": "reseller"}
    r = api.put("/v1/partners/P0001", partner | {"partner_id": "P0002"})
    assert r.status_code == 409 and "P0002" in r.json()["detail"], r.text
    asset = {"title": "Strict", "type": "faq", "summary": "A summary.", "asset_id": "A0002"}
    r = api.put("/v1/assets/A0001", asset)
    assert r.status_code == 409 and "A0002" in r.json()["detail"], r.text
    assert api.get("/v1/assets/A0001").json()["title"] != "Strict"  # nothing was written


def test_an_override_of_an_unknown_asset_or_partner_is_404(api: Api) -> None:
    r = api.post(
        "/v1/overrides", {"action": "pin", "asset_id": "A9999", "scope": "global"}, "manager"
    )
    assert r.status_code == 404 and "A9999" in r.json()["detail"]
    body = {"action": "pin", "asset_id": "A0001", "scope": "partner", "partner_id": "P9999"}
    r = api.post("/v1/overrides", body, "manager")
    assert r.status_code == 404 and "P9999" in r.json()["detail"]


def test_the_document_states_the_rules_it_checks() -> None:
    import re

    from service.app import create_app
    from service.config import Settings

    schemas = create_app(Settings(log_level="warning")).openapi()["components"]["schemas"]
    # a date's range, as a pattern: exactly the years the server takes
    options = schemas["PartnerUpsert"]["properties"]["joined_at"]["anyOf"]
    day = next(o for o in options if "pattern" in o)
    for text, taken in [("1990-01-01", True), ("2100-12-31", True), ("1989-12-31", False),
                        ("2101-01-01", False), ("3453-08-30", False)]:  # fmt: skip
        assert bool(re.fullmatch(day["pattern"], text)) is taken, text
    # an override's scope and action decide which fields it needs
    rules = schemas["OverrideCreate"]["allOf"]
    assert {"required": ["partner_id"], "properties": {"partner_id": {"type": "string"}}} in [
        r["then"] for r in rules
    ]
