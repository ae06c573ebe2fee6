"""Property-based tests of the whole API from its own OpenAPI document (schemathesis).

For every operation the document declares, schemathesis generates requests, valid (positive)
and invalid (negative), and sends them over real HTTP to a real server process with an admin
key. No response may be a server error, and every response must match the status codes,
content types and schemas the document declares. Generation is derandomized (Hypothesis seeds
from the test function), so every run sends the same requests: a failure is reproducible and
never a matter of chance.

(schemathesis' lazy pytest loader does not work with pytest 9, so the operations are listed
from the app's schema at collection time and each runs its own Hypothesis test.)

And the whole document, as a portal generating its client would rely on it: `schemathesis run`
with every check (schema-valid data accepted, schema-violating data rejected, the `Allow`
header of a 405, authentication ignored or not, ...) over its examples, coverage and fuzzing
phases, seeded and deterministic, against a server of its own (failed authentications are
part of the run, so the per-address guard is set out of its way). It must find no failure.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
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

from tests.support import Server, Template, serve_copy

CONFIG = Path(__file__).with_name("schemathesis.toml")

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


@pytest.fixture(scope="module")
def cli_server(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of the CLI run's own (its admin key writes assets, partners and overrides)."""
    env = {"RECO_AUTH_FAILURE_BURST": "1000000000"}
    yield from serve_copy(template, tmp_path_factory, "schemathesis-cli", env)


def test_schemathesis_with_every_check_finds_no_failure(cli_server: Server, tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    key = cli_server.keys["admin"]
    cmd = [
        str(cli), "--config-file", str(CONFIG), "run", f"{cli_server.url}/openapi.json",
        "-H", f"X-API-Key: {key}", "--checks", "all", "--phases", "examples,coverage,fuzzing",
        "--max-examples", "30", "--seed", "1", "--generation-deterministic", "--no-color",
    ]  # fmt: skip
    # in a temporary folder: the CLI keeps a cache (.schemathesis/) where it runs
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    summary = [line for line in run.stdout.splitlines() if "generated" in line]
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert summary and " passed" in summary[-1], run.stdout[-2000:]
    print(summary[-1].strip())
