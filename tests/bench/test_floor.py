"""bench.floor, the framework's floor bench_http reports every HTTP figure beside: a real
server on the service's stack that validates the service's request schema and answers a
canned answer of the service's shape (the one it is given, under a fresh request id)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.bench_http import free_port
from bench.common import PROJECT_ROOT
from service.schemas.recommendations import RecommendationsPublic

BODY = {"partner_id": "P0001", "context": {"stage": "negotiation", "notes": "ROI"}, "n": 10}


@pytest.fixture
def floor(tmp_path: Path) -> Iterator[tuple[str, dict]]:
    from bench.floor import canned_answer

    answer = canned_answer(items=4)
    answer["model_version"] = "v-recorded"
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(answer))
    port = free_port()
    cmd = [sys.executable, "-m", "bench.floor", "--port", str(port)]
    env = {**os.environ, "RECO_FLOOR_ANSWER": str(path)}
    process = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
            time.sleep(0.2)
        yield url, answer
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_floor_answers_its_canned_answer_to_a_valid_request(floor):
    url, answer = floor
    first = httpx.post(f"{url}/v1/recommendations", json=BODY, headers={"X-API-Key": "k"})
    second = httpx.post(f"{url}/v1/recommendations", json=BODY, headers={"X-API-Key": "k"})
    assert first.status_code == second.status_code == 200
    assert first.headers["X-Model-Version"] == "v-recorded"
    got = RecommendationsPublic.model_validate(first.json())  # the service's response schema
    assert [i.asset_id for i in got.items] == [i["asset_id"] for i in answer["items"]]
    assert first.json()["request_id"] != second.json()["request_id"]


def test_the_floor_validates_the_request_as_the_service_does(floor):
    url, _ = floor
    headers = {"X-API-Key": "k"}
    bad = [{**BODY, "n": 0}, {**BODY, "context": {"stage": "nowhere"}}, {"partner_id": "P1"}]
    for body in bad:
        r = httpx.post(f"{url}/v1/recommendations", json=body, headers=headers)
        assert r.status_code == 422, body
    assert httpx.post(f"{url}/v1/recommendations", json=BODY).status_code == 401


def test_the_new_note_ceiling_is_the_cores_over_the_cpu_per_request(tmp_path: Path) -> None:
    from bench.bench_http import bodies, new_note_ceiling, note_pool
    from bench.report import _section_http

    path = tmp_path / "bodies.jsonl"
    path.write_text("\n".join(bodies(["P0001", "P0002"], note_pool(20), 60)) + "\n")
    c = new_note_ceiling({"server_cpu_ms_per_request": 10.0}, path, notes=10)
    cores = os.cpu_count() or 1
    assert c["cores"] == cores and c["request_cpu_ms"] == 10.0
    assert c["rps"] == pytest.approx(cores * 100.0)
    assert 0.5 < c["embed_cpu_ms"] < 200  # a ~25-token note on one thread: milliseconds
    assert c["embedding_share"] == pytest.approx(c["embed_cpu_ms"] / 10.0, abs=0.001)
    # and the HTTP section says it beside the run
    run = {"rps": c["rps"] / 2, "share_of_ceiling": 0.5, "ceiling": c}
    result = {"runs": {"workers=2": {"floor": {"rps": 9000.0, "server_cpu_ms_per_request": 0.2},
                                     "saturation_new_notes": run}}}  # fmt: skip
    text = _section_http(result)
    assert f"serves at most {c['rps']} req/s" in text and "50.0% of that ceiling" in text
