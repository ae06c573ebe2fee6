"""schemathesis with every built-in check against a running server.

tests/service/test_schemathesis.py runs the four conformance checks; this runs them all
(`call_and_validate` with no `checks=`): server errors, status codes, content types, headers
and schemas conform, schema-violating requests are rejected, schema-valid ones accepted,
missing auth is refused (ignored_auth), deleted resources stay deleted (use_after_free),
created ones are available (ensure_resource_availability), unsupported methods get 405 with
an Allow header, and so on. It uses an admin key, on its own copy of the workspace.

One deliberate exception: `positive_data_acceptance` is left out for the four operations whose
inputs have rules an OpenAPI schema cannot state (a partner id *or* an inline profile; the
body's id equal to the path's; an override's asset must exist in the catalog; an asset's
expiry after its publication). For those the API answers a schema-valid but inconsistent
request with a 422 naming the field, which `_a_422_is_explained` checks on every 422.

Generation is derandomized (Hypothesis seeds from the test function), so every run sends the
same requests and a failure reproduces; `MAX_EXAMPLES` per operation and mode sets how much is
explored.

Afterwards: no 5xx was served (the server's own metrics), no unhandled error was logged, and
the events stored before the run are still there, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from tests.reliability.helpers import journal_rows
from tests.support import Server, Template, copy_workspace, start_server, stop_server

MAX_EXAMPLES = 12
DOMAIN_RULES = {
    ("POST", "/v1/recommendations"),
    ("PUT", "/v1/partners/{partner_id}"),
    ("POST", "/v1/overrides"),
    ("PUT", "/v1/assets/{asset_id}"),
}


def _cases() -> list[tuple[str, str, GenerationMode]]:
    from service.app import create_app
    from service.config import Settings

    document = create_app(Settings(log_level="warning")).openapi()  # no lifespan: cheap
    out = []
    for path, item in document["paths"].items():
        for method, spec in item.items():
            out.append((method.upper(), path, GenerationMode.POSITIVE))
            if spec.get("parameters") or spec.get("requestBody"):
                out.append((method.upper(), path, GenerationMode.NEGATIVE))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def server(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("schemathesis-all")
    ws = copy_workspace(template, base / "ws")
    # ignored_auth sends bad credentials to every operation, far more than the per-address
    # limit on failed authentications allows before it answers 429 (tests/service/
    # test_auth_guard checks that limit); here the guard is off, the 401s are what is checked
    srv = start_server(ws, base / "server.log", env={"RECO_AUTH_FAILURES_PER_MINUTE": "0"})
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="module")
def events_before(server: Server) -> list[tuple[Any, ...]]:
    return journal_rows(server.workspace)


@pytest.fixture(scope="module")
def api_schema(server: Server, events_before: list) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


def _a_422_is_explained(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 422 (a schema-violating request, or a schema-valid one that breaks a rule the
    schema cannot state) lists the fields at fault, each with the reason."""
    if response.status_code != 422:
        return None
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    assert all(d.get("msg") and "field" in d for d in detail), detail
    return None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "path", "mode"), CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES]
)
def test_every_check_passes(
    api_schema: Any, server: Server, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    headers = server.headers("admin")
    domain = (method, path) in DOMAIN_RULES
    excluded = [positive_data_acceptance] if domain else []
    extra = [_a_422_is_explained]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same requests on every run: a CI run cannot fail by chance
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            headers=headers, excluded_checks=excluded, additional_checks=extra, timeout=60
        )

    run()


def test_no_5xx_no_unhandled_error_and_stored_events_intact(
    server: Server, events_before: list
) -> None:
    """Run after the property tests (file order)."""
    metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    served = [x for x in metrics.splitlines() if x.startswith("reco_http_requests_total{")]
    assert sum(float(x.rsplit(" ", 1)[1]) for x in served) > 300
    assert not [x for x in served if 'status="5' in x], [x for x in served if 'status="5' in x]
    assert "unhandled error" not in server.log_text()
    after = journal_rows(server.workspace)
    assert after[: len(events_before)] == events_before  # append-only: the old rows untouched
