"""Safe reloads: bad models and indexes are refused, and the last good snapshot keeps serving.

One real server (impressions off, so that the journal, and with it every usage feature,
stays fixed and answers are reproducible) serves model v1. Then, one damage at a time:

- a model version whose file is truncated, altered (same size, wrong checksum), missing,
  unreadable although its checksum matches, or whose manifest lists other features, or
  is not a registry manifest at all, is promoted through the admin API: a 409 naming the
  problem, v1 keeps serving, the registry's pointer does not move, nothing is audited;
- the catalog's index is damaged on disk (altered or truncated FAISS file, missing chunk ids,
  a manifest with the wrong embedding dimension, another embedder, missing or not JSON; a
  truncated asset table): the server notices the changed files, fails to build a snapshot
  from them, says so in its log, and keeps serving v1; a promote or rollback, which must
  build a snapshot from disk, is refused with a clear client error, never a 500;
- the registry's PROMOTED pointer is hand-edited to a damaged version: the server keeps v1.

Last, promote / rollback / catalog PUT run while client threads request recommendations:
no request fails, and every response is exactly the answer one consistent snapshot gives
(the quiescent answer of some (catalog, model) pair): nothing mixes two snapshots.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from recommender.storage.registry import Registry
from tests.support import Server, Template, copy_workspace, start_server, stop_server

RELOAD_CHECK = 0.2
PROBE_ID = "rel-probe-1"
PROBE_ASSET: dict[str, Any] = {
    "title": "Probe battlecard: cold-chain sensor kit against Globex (A)",
    "type": "battlecard",
    "language": "en",
    "summary": "How to win a logistics buyer comparing our cold-chain sensor kit with Globex: "
    "refrigerated trucks, temperature alarms, insurance claims and spoilage costs.",
    "industries": ["logistics"],
    "stages": ["negotiation", "solution"],
    "competitors": ["globex"],
    "url": "https://enablement.example.com/assets/probe",
    "published_at": "2025-06-01",
}
PROBE_REQUEST: dict[str, Any] = {
    "partner_id": "P0002",
    "context": {
        "stage": "negotiation",
        "industry": "logistics",
        "competitors": ["globex"],
        "notes": "the buyer compares our cold-chain sensors with Globex and asks about spoilage",
    },
    "n": 10,
}


@pytest.fixture(scope="module")
def server(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("reloads")
    ws = copy_workspace(template, base / "ws")
    # Answers are compared with each snapshot's reference answer, so the API serves its
    # ranking as it is (no exploration: RECO_EXPLORATION=0).
    env = {
        "RECO_IMPRESSIONS": "off",
        "RECO_RELOAD_CHECK_SECONDS": str(RELOAD_CHECK),
        "RECO_EXPLORATION": "0",
    }
    srv = start_server(ws, base / "server.log", env=env)
    try:
        v1 = template.versions[0]
        r = httpx.post(
            f"{srv.url}/v1/models/{v1}/promote", headers=srv.headers("admin"), timeout=120
        )
        assert r.status_code == 200, r.text
        yield srv
    finally:
        stop_server(srv)


def _serving(server: Server) -> str:
    """The model version a recommendation is served by now (asserting it is served)."""
    r = httpx.post(
        f"{server.url}/v1/recommendations",
        json=PROBE_REQUEST,
        headers=server.headers("portal"),
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["model_version"])


def _audit_actions(server: Server) -> list[str]:
    r = httpx.get(f"{server.url}/v1/audit", headers=server.headers("admin"), timeout=30)
    return [e["action"] for e in r.json()["data"]]


@contextlib.contextmanager
def _restored(*paths: Path) -> Iterator[None]:
    """Put every file back as it was (or absent) afterwards."""
    saved = {p: p.read_bytes() if p.exists() else None for p in paths}
    try:
        yield
    finally:
        for p, data in saved.items():
            if data is None:
                p.unlink(missing_ok=True)
            else:
                p.write_bytes(data)


def _build_failures(server: Server) -> float:
    """The server's count of background rebuilds that failed (its /metrics)."""
    metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    line = next(
        x for x in metrics.splitlines() if x.startswith("reco_snapshot_build_failures_total")
    )
    return float(line.split()[-1])


def _settle(server: Server) -> None:
    """Let the server notice what changed on disk (requests trigger the check)."""
    for _ in range(3):
        time.sleep(RELOAD_CHECK * 2)
        _serving(server)


# --- damaged model versions -----------------------------------------------------------------
def _flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] = ord("0") if data[middle] != ord("0") else ord("1")
    path.write_bytes(bytes(data))


def _rewrite_manifest(version_dir: Path, change: dict[str, Any]) -> None:
    manifest = json.loads((version_dir / "manifest.json").read_text())
    (version_dir / "manifest.json").write_text(json.dumps({**manifest, **change}))


def _features(version_dir: Path) -> list[str]:
    return list(json.loads((version_dir / "manifest.json").read_text())["features"])


def _unreadable_but_signed(version_dir: Path) -> None:
    """A model file that is valid JSON and matches its manifest's size and checksum, but is
    not a model (as if the registry had been handed garbage)."""
    import hashlib

    data = json.dumps({"model": "not a model", "features": []}).encode()
    (version_dir / "model.json").write_bytes(data)
    _rewrite_manifest(
        version_dir, {"model_bytes": len(data), "model_sha256": hashlib.sha256(data).hexdigest()}
    )


MODEL_DAMAGE = {
    "truncated": (lambda d: (d / "model.json").write_bytes((d / "model.json").read_bytes()[:-9]),
                  "truncated"),
    "wrong-checksum": (lambda d: _flip_middle_byte(d / "model.json"), "checksum"),
    "model-file-missing": (lambda d: (d / "model.json").unlink(), "missing"),
    "unreadable-but-signed": (_unreadable_but_signed, "cannot be read"),
    "features-mismatch": (
        lambda d: _rewrite_manifest(d, {"features": list(reversed(_features(d)))}),
        "features",
    ),
    "unknown-feature": (
        lambda d: _rewrite_manifest(d, {"features": [*_features(d), "x"]}),
        "does not compute",
    ),
}  # fmt: skip


@pytest.mark.parametrize("damage", list(MODEL_DAMAGE), ids=list(MODEL_DAMAGE))
def test_a_damaged_model_is_refused_and_the_last_good_one_keeps_serving(
    server: Server, template: Template, damage: str
) -> None:
    v1, v2 = template.versions
    version_dir = server.workspace.models_dir / v2
    apply, reason = MODEL_DAMAGE[damage]
    audited = Counter(_audit_actions(server))
    with _restored(*(version_dir / n for n in ("model.json", "manifest.json"))):
        apply(version_dir)
        r = httpx.post(
            f"{server.url}/v1/models/{v2}/promote", headers=server.headers("admin"), timeout=120
        )
        assert r.status_code == 409, r.text
        detail = r.json()["detail"]
        assert reason in detail and v2 in detail, detail
        assert _serving(server) == v1
        assert Registry.of(server.workspace).promoted() == v1
        listed = httpx.get(
            f"{server.url}/v1/models", headers=server.headers("manager"), timeout=30
        ).json()
        assert listed["serving"] == v1
        assert Counter(_audit_actions(server)) == audited  # a refused promote changed nothing


@pytest.mark.parametrize("damage", ["not-json", "foreign-format"])
def test_a_version_with_a_damaged_manifest_is_refused_as_damaged_not_unknown(
    server: Server, template: Template, damage: str
) -> None:
    """The version folder exists; its manifest is unreadable or not the registry's: the admin
    must be told that it is damaged (409 naming the manifest), not that it does not exist."""
    v1, v2 = template.versions
    manifest = server.workspace.models_dir / v2 / "manifest.json"
    with _restored(manifest):
        if damage == "not-json":
            manifest.write_text('{"format": "enablement-recommender/model-manifest@1", ')
        else:
            _rewrite_manifest(manifest.parent, {"format": "someone-elses-registry@9"})
        r = httpx.post(
            f"{server.url}/v1/models/{v2}/promote", headers=server.headers("admin"), timeout=120
        )
        assert _serving(server) == v1
        assert Registry.of(server.workspace).promoted() == v1
        assert r.status_code == 409, (r.status_code, r.text)
        assert "manifest" in r.json()["detail"]


def test_a_hand_edited_pointer_to_a_damaged_model_does_not_stop_serving(
    server: Server, template: Template
) -> None:
    v1, v2 = template.versions
    models = server.workspace.models_dir
    failed_before = _build_failures(server)
    with _restored(models / v2 / "model.json", models / "PROMOTED"):
        _flip_middle_byte(models / v2 / "model.json")
        (models / "PROMOTED").write_text(v2 + "\n")  # as an operator's script might
        _settle(server)
        assert _serving(server) == v1
        # still ready, and saying why the workspace as it is now is not what it serves
        ready = httpx.get(f"{server.url}/readyz", timeout=30)
        assert ready.status_code == 200 and ready.json()["model_version"] == v1
        error = ready.json()["rebuild_error"]
        assert error is not None and v2 in error["reason"], ready.text
        assert datetime.fromisoformat(error["failed_at"]) <= datetime.now(UTC)
        assert any("cannot be built" in w for w in ready.json()["warnings"])
        assert _build_failures(server) > failed_before
    _settle(server)
    assert _serving(server) == v1
    assert "still serving the previous one" in server.log_text()
    ready = httpx.get(f"{server.url}/readyz", timeout=30).json()
    assert ready["rebuild_error"] is None
    assert not any("cannot be built" in w for w in ready["warnings"])


# --- damaged catalog / index ----------------------------------------------------------------
def _manifest_change(change: dict[str, Any]):  # type: ignore[no-untyped-def]
    def apply(index_dir: Path) -> None:
        manifest = json.loads((index_dir / "manifest.json").read_text())
        (index_dir / "manifest.json").write_text(json.dumps({**manifest, **change}))

    return apply


INDEX_DAMAGE = {
    "index-altered": lambda d: _flip_middle_byte(d / "index.faiss"),
    "index-truncated": lambda d: (d / "index.faiss").write_bytes(
        (d / "index.faiss").read_bytes()[:100]
    ),
    "chunk-ids-missing": lambda d: (d / "chunk_assets.npy").unlink(),
    "wrong-dimension": _manifest_change({"dim": 512}),
    "other-embedder": _manifest_change({"embedder_id": "sentence-transformers/all-MiniLM-L6-v2"}),
    "manifest-missing": lambda d: (d / "manifest.json").unlink(),
    "manifest-not-json": lambda d: (d / "manifest.json").write_text('{"dim": 38'),
    "asset-table-truncated": lambda d: (d.parent / "assets.parquet").write_bytes(
        (d.parent / "assets.parquet").read_bytes()[:200]
    ),
}


@pytest.mark.parametrize("damage", list(INDEX_DAMAGE), ids=list(INDEX_DAMAGE))
def test_a_damaged_index_is_refused_and_the_last_good_snapshot_keeps_serving(
    server: Server, template: Template, damage: str
) -> None:
    v1, v2 = template.versions
    ws = server.workspace
    files = [ws.index_dir / n for n in ("index.faiss", "chunk_assets.npy", "manifest.json")]
    with _restored(*files, ws.assets_path, ws.chunks_path):
        INDEX_DAMAGE[damage](ws.index_dir)
        _settle(server)  # the server sees the change, fails to build, keeps the old snapshot
        assert _serving(server) == v1
        ready = httpx.get(f"{server.url}/readyz", timeout=30)
        assert ready.status_code == 200 and ready.json()["model_version"] == v1

        # A promote or rollback builds from disk, a delete rewrites the index: each is
        # refused with a message, never a 500.
        outcomes = {}
        for method, call in (
            ("POST", f"/v1/models/{v2}/promote"),
            ("POST", "/v1/models/rollback"),
            ("DELETE", f"/v1/assets/{template.asset_ids[-1]}"),
        ):
            r = httpx.request(
                method, f"{server.url}{call}", headers=server.headers("admin"), timeout=120
            )
            outcomes[f"{method} {call}"] = (r.status_code, r.text[:300])
        assert _serving(server) == v1
        assert Registry.of(ws).promoted() == v1
        assert all(400 <= code < 500 for code, _ in outcomes.values()), outcomes
        assert all("internal error" not in text for _, text in outcomes.values()), outcomes
    _settle(server)
    assert _serving(server) == v1  # and the repaired catalog serves again


# --- swaps under load -----------------------------------------------------------------------
def _answer(body: dict[str, Any]) -> tuple[str, tuple[tuple[str, str, float], ...]]:
    items = tuple((i["asset_id"], i["title"], round(i["score"], 4)) for i in body["items"])
    return body["model_version"], items


def _put_probe(admin: httpx.Client, variant: str) -> None:
    title = PROBE_ASSET["title"][:-3] + f"({variant})"
    r = admin.put(f"/v1/assets/{PROBE_ID}", json={**PROBE_ASSET, "title": title})
    assert r.status_code in (200, 201), r.text


def test_promote_rollback_and_catalog_updates_under_load_mix_nothing(
    server: Server, template: Template
) -> None:
    v1, v2 = template.versions
    admin = server.client("admin", timeout=120)
    portal = server.client("portal")

    def promote(version: str) -> None:
        r = admin.post(f"/v1/models/{version}/promote")
        assert r.status_code == 200 and r.json()["model_version"] == version, r.text

    # The answer of every (catalog, model) snapshot the load will meet, taken at rest.
    references: set[Any] = set()
    try:
        for variant in ("A", "B"):
            _put_probe(admin, variant)
            for version in (v1, v2):
                promote(version)
                r = portal.post("/v1/recommendations", json=PROBE_REQUEST)
                references.add(_answer(r.json()))
        distinct = [r for r in references if not any(_same(r, o) for o in references - {r})]
        assert len(distinct) == 4, "the probe must tell the four snapshots apart"
        assert any(PROBE_ID in [i[0] for i in items] for _, items in references)
        promote(v1)
        _put_probe(admin, "A")

        results: list[tuple[int, Any]] = []
        stop_load = threading.Event()

        def hammer() -> None:
            with server.client("portal") as c:
                while not stop_load.is_set():
                    try:
                        r = c.post("/v1/recommendations", json=PROBE_REQUEST)
                        results.append(
                            (r.status_code, _answer(r.json()) if r.status_code == 200 else r.text)
                        )
                    except httpx.HTTPError as exc:
                        results.append((0, repr(exc)))

        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for step in range(2):
                promote(v2)
                _put_probe(admin, "B")
                r = admin.post("/v1/models/rollback")
                assert r.status_code == 200 and r.json()["model_version"] == v1, r.text
                _put_probe(admin, "A")
                promote(v2)
                promote(v1)
                time.sleep(0.2 * step)
        finally:
            stop_load.set()
            for t in threads:
                t.join(timeout=120)
    finally:
        admin.close()
        portal.close()
    assert len(results) > 20
    failed = [r for r in results if r[0] != 200]
    assert not failed, failed[:5]
    answers = Counter(answer for _, answer in results)
    mixed = [a for a in answers if not any(_same(a, ref) for ref in references)]
    assert not mixed, mixed[:2]
    assert len({a[0] for a in answers}) == 2, "the load did not see both models"


def _same(answer: Any, reference: Any, tolerance: float = 1e-3) -> bool:
    """The same snapshot's answer: same model, same items in the same order with the same
    titles, and the same scores (up to a drift of the clock-dependent features: asset ages
    are counted in days, so a score may move in the 4th decimal between two requests)."""
    (version, items), (ref_version, ref_items) = answer, reference
    return (
        version == ref_version
        and [(a, t) for a, t, _ in items] == [(a, t) for a, t, _ in ref_items]
        and all(
            abs(s - r) <= tolerance for (_, _, s), (_, _, r) in zip(items, ref_items, strict=True)
        )
    )


# --- a promoted model on a workspace without usage ------------------------------------------
def test_a_promoted_model_with_an_empty_journal_still_starts_and_serves(
    template: Template, tmp_path: Path
) -> None:
    """A fresh deployment: models copied over, promoted, but no event journaled yet. The
    service must start and serve (with the model, whose usage features are all zero, or, if
    it cannot, with the playbook scorer and a warning), never refuse to start."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from tests.support import make_settings

    ws = copy_workspace(template, tmp_path / "ws")
    for suffix in ("", "-wal", "-shm"):
        ws.events_path.with_name(ws.events_path.name + suffix).unlink(missing_ok=True)
    Registry.of(ws).promote(template.versions[0])
    app = create_app(make_settings(ws, impressions="off"))
    with TestClient(app) as client:
        ready = client.get("/readyz").json()
        key = app.state.service.demo_keys["portal"]
        r = client.post("/v1/recommendations", json=PROBE_REQUEST, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    served = r.json()["model_version"]
    assert served == template.versions[0] or (served == "playbook" and ready["warnings"])
