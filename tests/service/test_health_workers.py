"""Health, readiness, metrics and docs; several workers seeing each other's changes; `serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from service.state import ServiceState
from tests.service.helpers import Api
from tests.support import (
    PROJECT_ROOT,
    Template,
    copy_workspace,
    make_settings,
    recommendation_body,
    start_server,
    stop_server,
)


def test_healthz_and_readyz(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["assets"] >= 20 and ready["partners"] == 20
    assert ready["model_version"] == "playbook"


def test_metrics_expose_requests_latency_errors_events_and_model(api: Api) -> None:
    api.post("/v1/recommendations", recommendation_body())
    api.post("/v1/recommendations", recommendation_body(stage="nope"))
    text = api.client.get("/metrics").text
    assert (
        'reco_http_requests_total{method="POST",route="/v1/recommendations",status="200"}' in text
    )
    assert (
        'reco_http_request_duration_seconds_bucket{le="0.03",method="POST",route="/v1/recommendations"}'
        in text
    )
    assert 'reco_http_errors_total{kind="client",route="/v1/recommendations",status="422"}' in text
    assert "reco_recommend_duration_seconds_count" in text
    assert "reco_events_total" in text or "# TYPE reco_events_total counter" in text
    assert 'reco_model_info{version="playbook"} 1.0' in text


def test_unmatched_paths_share_one_metrics_label(api: Api) -> None:
    for i in range(3):
        assert api.client.get(f"/scan/{i}").status_code == 404
    text = api.client.get("/metrics").text
    assert 'route="unmatched",status="404"' in text
    assert "/scan/" not in text


def test_docs_and_openapi_list_every_resource(api: Api) -> None:
    assert api.client.get("/docs").status_code == 200
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/recommendations", "/v1/events", "/v1/assets", "/v1/assets/{asset_id}",
        "/v1/partners", "/v1/partners/{partner_id}", "/v1/models", "/v1/models/{version}/promote",
        "/v1/models/rollback", "/v1/overrides", "/v1/overrides/{override_id}", "/v1/audit",
        "/healthz", "/readyz", "/metrics",
    ):  # fmt: skip
        assert path in paths, path
    stage = api.client.get("/openapi.json").json()["components"]["schemas"]["Stage"]
    assert "negotiation" in stage["enum"]


def test_a_change_made_by_one_worker_reaches_another(template: Template, tmp_path) -> None:
    """Two states on one workspace stand for two worker processes: a partner written through
    one is served by the other after it notices the generation file changed."""
    from service.metrics import ServiceMetrics

    ws = copy_workspace(template, tmp_path / "ws")
    settings = make_settings(ws, reload_check_seconds=0.01, impressions="off")
    a = ServiceState.open(settings, ServiceMetrics())
    b = ServiceState.open(settings, ServiceMetrics())
    try:
        from recommender.steering.partners import upsert_partner

        record = {"partner_id": "W0001", "name": "Worker test", "tier": "gold",
                  "maturity": "new", "type": "reseller"}  # fmt: skip
        a.change(
            "partner-put",
            lambda: upsert_partner(ws, record),
            lambda snap: snap.with_changes(partners={**snap.partners}),
        )
        assert "W0001" not in b.recommender.snapshot.partners
        b._next_check = 0.0
        b.check_for_changes()
        b._watch_thread.join(timeout=60)  # type: ignore[union-attr]
        assert "W0001" in b.recommender.snapshot.partners
        # And a itself does not rebuild for its own change.
        builds_before = a.recommender.snapshot
        a._next_check = 0.0
        a.check_for_changes()
        assert a.recommender.snapshot is builds_before
    finally:
        a.close()
        b.close()


@pytest.mark.slow
def test_two_worker_server_promotes_on_every_worker(template: Template, tmp_path) -> None:
    ws = copy_workspace(template, tmp_path / "ws")
    server = start_server(ws, tmp_path / "server.log", workers=2)
    v1 = template.versions[0]
    try:
        r = httpx.post(
            f"{server.url}/v1/models/{v1}/promote", headers=server.headers("admin"), timeout=120
        )
        assert r.status_code == 200
        import time

        deadline = time.monotonic() + 30
        versions: set[str] = set()
        while time.monotonic() < deadline:
            versions = set()
            for _ in range(12):  # new connections land on either worker
                with httpx.Client(base_url=server.url, timeout=30) as c:
                    body = recommendation_body()
                    versions.add(
                        c.post(
                            "/v1/recommendations", json=body, headers=server.headers("portal")
                        ).json()["model_version"]
                    )
            if versions == {v1}:
                break
            time.sleep(0.5)
        assert versions == {v1}
        metrics = httpx.get(f"{server.url}/metrics").text
        assert "reco_http_requests_total" in metrics
    finally:
        stop_server(server)


def test_serve_refuses_a_workspace_without_a_catalog(tmp_path) -> None:
    code = "import sys; from cli import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", code, "--workspace", str(tmp_path / "empty"), "serve"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "recommender" in result.stderr and "demo" in result.stderr


def test_serve_prints_the_url_and_a_key_per_scope(template: Template, tmp_path) -> None:
    ws = copy_workspace(template, tmp_path / "ws")
    server = start_server(ws, tmp_path / "server.log")
    try:
        out = server.log.read_text()
        assert f"API: {server.url}" in out
        for scope in ("portal", "manager", "admin"):
            assert server.keys[scope] in out
        r = httpx.post(f"{server.url}/v1/recommendations", json=recommendation_body(),
                       headers=server.headers("portal"))  # fmt: skip
        assert r.status_code == 200
    finally:
        stop_server(server)


def test_shutdown_flushes_queued_impressions(template: Template, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from recommender.storage.events import EventJournal
    from service.app import create_app

    ws = copy_workspace(template, tmp_path / "ws")
    app = create_app(make_settings(ws))
    with TestClient(app) as client:
        key = app.state.service.demo_keys["portal"]
        ids = []
        for _ in range(5):
            r = client.post(
                "/v1/recommendations", json=recommendation_body(), headers={"X-API-Key": key}
            )
            ids.append(r.json()["request_id"])
    # The lifespan has ended: the writer drained its queue before the journal closed.
    with EventJournal(ws.events_path) as journal:
        served = journal.read(types=["impression"])
    assert set(ids) <= set(served["request_id"])
    assert app.state.service is None


def test_a_promoted_model_that_cannot_load_degrades_to_the_playbook(
    template: Template, tmp_path
) -> None:
    from fastapi.testclient import TestClient

    from recommender.storage.registry import Registry
    from service.app import create_app

    ws = copy_workspace(template, tmp_path / "ws")
    version = template.versions[0]
    Registry.of(ws).promote(version)
    model = ws.models_dir / version / "model.json"
    model.write_bytes(model.read_bytes()[:-5])  # damaged after promotion
    app = create_app(make_settings(ws))
    with TestClient(app) as client:
        ready = client.get("/readyz").json()
        assert ready["model_version"] == "playbook"
        assert ready["warnings"] and version in ready["warnings"][0]
        key = app.state.service.demo_keys["portal"]
        r = client.post(
            "/v1/recommendations", json=recommendation_body(), headers={"X-API-Key": key}
        )
        assert r.status_code == 200 and r.json()["model_version"] == "playbook"


def test_a_worker_caps_its_blas_and_openmp_pools():
    """`compute_threads` (default 1) caps every BLAS/OpenMP pool a worker loaded, faiss's too:
    idle pool threads spinning beside a second worker made 2 workers slower than 1."""
    import faiss
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from service.runtime.process import limit_compute_threads

    np.ones((64, 64)) @ np.ones((64, 64))  # make sure numpy's BLAS is loaded
    before = {p["filepath"]: p["num_threads"] for p in threadpool_info()}
    faiss_before = faiss.omp_get_max_threads()
    try:
        limit_compute_threads(1)
        pools = threadpool_info()
        assert pools and all(p["num_threads"] == 1 for p in pools)
        assert faiss.omp_get_max_threads() == 1
    finally:
        for pool in threadpool_info():
            threadpool_limits(limits=before.get(pool["filepath"], 2), user_api=pool["user_api"])
        faiss.omp_set_num_threads(faiss_before)


def test_workers_share_the_cores_out_for_embedding_notes(tmp_path: Path) -> None:
    """With several workers each embeds as many notes at once as its share of the cores (one
    each for 2 workers on 2 cores: four embeddings on two cores cost 1.6 ms of CPU more per
    request); one worker keeps the setting's default; what the operator set is kept."""
    from service.config import Settings
    from service.runtime.process import embedding_threads, worker_environment

    assert [embedding_threads(2, w) for w in (1, 2, 3)] == [2, 1, 1]
    assert embedding_threads(8, 2) == 4
    env: dict[str, str] = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker_environment(env, workers=2)
    assert env["RECO_EMBEDDING_THREADS"] == str(embedding_threads(os.cpu_count() or 1, 2))
    assert env["RECO_EMBEDDER_THREADS"] == "1"
    single: dict[str, str] = {}
    worker_environment(single, workers=1)
    assert single == {}
    assert Settings.model_fields["embedding_threads"].default == 2
    chosen = {"RECO_EMBEDDING_THREADS": "3", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker_environment(chosen, workers=2)
    assert chosen["RECO_EMBEDDING_THREADS"] == "3"


def test_a_started_worker_keeps_its_snapshot_out_of_gc_passes(api: Api) -> None:
    """The loaded snapshot is frozen (full GC passes skip it: they took 80-150 ms under load),
    and a snapshot swapped in is frozen too, while the one swapped out is freed."""
    import gc
    import weakref

    def tracked(obj: object) -> bool:  # gc.get_objects() lists the unfrozen generations only
        return any(o is obj for o in gc.get_objects())

    state = api.state
    table = state.snapshot.table
    assert gc.get_freeze_count() > 10_000
    assert not tracked(table)
    old = weakref.ref(state.snapshot)
    state.install(state.build(), "workspace-changed")
    assert not tracked(state.snapshot.table)
    state.install(state.build(), "workspace-changed")  # a later swap's collection frees it
    assert old() is None
    r = api.post("/v1/recommendations", recommendation_body())
    assert r.status_code == 200 and r.json()["items"]


def test_freezing_after_a_swap_walks_only_new_objects_until_frozen_ones_pile_up() -> None:
    """After a swap only unfrozen objects are collected (a frozen cycle dropped since stays);
    once frozen objects are a quarter more than after the last full pass, a full one runs
    and frees such cycles."""
    import gc
    import weakref

    from service.runtime.process import freeze_heap

    class Node:
        pass

    freeze_heap()  # full: the baseline
    base = gc.get_freeze_count()
    cycle = Node()
    cycle.me = cycle  # type: ignore[attr-defined]
    ref = weakref.ref(cycle)
    freeze_heap(full=False)
    assert not any(o is cycle for o in gc.get_objects())  # frozen
    del cycle
    freeze_heap(full=False)
    assert ref() is not None  # a partial pass does not walk frozen objects
    assert gc.get_freeze_count() <= 1.25 * base
    keep = [[] for _ in range(int(0.3 * base))]  # frozen objects grow by 30%
    freeze_heap(full=False)
    assert ref() is None  # the full pass ran and freed the dropped cycle
    del keep
    freeze_heap()
