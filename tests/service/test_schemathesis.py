"""Property-based tests of the whole API from its own OpenAPI document (schemathesis).

For every operation the document declares, schemathesis generates requests, valid (positive)
and invalid (negative), and sends them over real HTTP to a real server process with an admin
key. No response may be a server error, and every response must match the status codes,
content types and schemas the document declares. Generation is derandomized (Hypothesis seeds
from the test function), so every run sends the same requests: a failure is reproducible and
never a matter of chance.

(schemathesis' lazy pytest loader does not work with pytest 9, so the operations are listed
from the app's schema at collection time and each runs its own Hypothesis test.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import Server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) for every operation; negative cases only where there is an input."""
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
def api_schema(server: Server) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


def test_every_operation_is_covered() -> None:
    paths = {p for _, p, _ in CASES}
    assert {"/v1/recommendations", "/v1/events", "/v1/assets/{asset_id}", "/metrics"} <= paths


@pytest.mark.parametrize(
    ("method", "path", "mode"), CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES]
)
def test_operation_conforms_to_the_schema(
    api_schema: Any, server: Server, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    headers = server.headers("admin")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same requests on every run: a CI run cannot fail by chance
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)

    run()


def test_the_server_answered_every_generated_request_without_a_5xx(server: Server) -> None:
    import httpx

    text = httpx.get(f"{server.url}/metrics").text
    served = [x for x in text.splitlines() if x.startswith("reco_http_requests_total{")]
    total = sum(float(x.rsplit(" ", 1)[1]) for x in served)
    assert total > 200, "schemathesis sent fewer requests than expected"
    assert not [x for x in served if 'status="5' in x]
