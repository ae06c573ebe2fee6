"""The model registry: versions written whole, promotion and rollback, and nothing loaded that
the registry did not write (checksum, truncation, feature list); the pipeline serves the
promoted model."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from features.pairs import MODEL_FEATURES, feature_matrix
from recommender.ranking.build import build_snapshot, load_model, load_scorer
from recommender.ranking.content import ContentScorer
from recommender.ranking.learned import GradientBoostedRanker, LearnedScorer
from recommender.ranking.recommender import Recommender
from recommender.storage.registry import (
    PROMOTED_FILE,
    ModelIntegrityError,
    ModelRegistryError,
    Registry,
)
from recommender.types import DealContext, PartnerProfile
from recommender.workspace import Workspace


class HashEmbedder:
    """A deterministic bag-of-words embedder: fast, offline, good enough for plumbing tests."""

    id = "test/hash-bow@1"
    dim = 32

    def _one(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().split():
            rng = np.random.default_rng(zlib.crc32(word.encode()))
            v += rng.normal(size=self.dim).astype(np.float32)
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        return (
            np.stack([self._one(t) for t in texts])
            if texts
            else np.zeros((0, self.dim), np.float32)
        )

    def embed_passages(self, texts, *, progress=False):  # type: ignore[no-untyped-def]
        return self.embed_queries(texts)


ASSETS = [
    {
        "asset_id": f"A{i}",
        "title": f"Asset {i} {t}",
        "type": t,
        "language": "en",
        "summary": f"A {t.replace('_', ' ')} about topic {i} for partners selling gateways.",
        "stages": [s],
    }
    for i, (t, s) in enumerate(
        [
            ("white_paper", "prospecting"),
            ("case_study", "discovery"),
            ("roi_calculator", "negotiation"),
            ("battlecard", "negotiation"),
            ("datasheet", "qualification"),
            ("training_course", "post_sale"),
        ]
    )
]


@pytest.fixture(scope="module")
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="module")
def scorer_bytes() -> bytes:
    rng = np.random.default_rng(0)
    cols = {name: rng.random(400).astype(np.float32) for name in MODEL_FEATURES}
    y = (cols["ctr"] > 0.5).astype(int)
    est = GradientBoostedRanker(n_estimators=5, min_child_samples=5).fit(
        feature_matrix(cols, MODEL_FEATURES), y, group=np.full(40, 10)
    )
    return LearnedScorer(estimator=est, features=MODEL_FEATURES).to_json()


@pytest.fixture
def workspace(tmp_path: Path, embedder: HashEmbedder) -> Workspace:
    from recommender.catalog.ingest import ingest

    ws = Workspace.at(tmp_path / "ws")
    src = tmp_path / "assets.jsonl"
    src.write_text("".join(json.dumps(a) + "\n" for a in ASSETS), encoding="utf-8")
    ingest(ws, [src], embedder=embedder, replace=True, progress=False)
    return ws


def save(registry: Registry, data: bytes, second: int = 0, **manifest):
    from datetime import UTC, datetime

    return registry.save(
        data,
        {"features": list(MODEL_FEATURES), **manifest},
        metrics={"k": 10, "models": {}, "slices": {}},
        card_html="<html></html>",
        now=datetime(2026, 11, 27, 21, 30, second, tzinfo=UTC),
    )


def test_a_saved_version_has_every_file_and_a_checksummed_manifest(tmp_path, scorer_bytes):
    registry = Registry(tmp_path / "models")
    version = save(registry, scorer_bytes)
    assert re.fullmatch(r"v20261127-213000-[0-9a-f]{7}", version.name)
    names = sorted(p.name for p in version.path.iterdir())
    assert names == ["card.html", "manifest.json", "metrics.json", "model.json"]
    manifest = json.loads((version.path / "manifest.json").read_text())
    assert manifest["model_bytes"] == len(scorer_bytes)
    assert version.name.endswith(manifest["model_sha256"][:7])
    assert [v.name for v in registry.versions()] == [version.name]
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")]


def test_promote_and_rollback_walk_the_history(tmp_path, scorer_bytes):
    registry = Registry(tmp_path / "models")
    v1 = save(registry, scorer_bytes, 1)
    v2 = save(registry, scorer_bytes, 2)
    assert registry.promoted() is None
    registry.promote(v1.name)
    registry.promote(v2.name)
    assert (tmp_path / "models" / PROMOTED_FILE).read_text().strip() == v2.name
    assert registry.rollback() == v1.name
    assert registry.promoted() == v1.name
    assert registry.rollback() is None
    assert registry.promoted() is None
    with pytest.raises(ModelRegistryError, match="nothing to roll back"):
        registry.rollback()
    log = registry.history()["log"]
    assert [e["action"] for e in log] == ["promote", "promote", "rollback", "rollback"]


def test_promoting_an_unknown_version_lists_the_known_ones(tmp_path, scorer_bytes):
    registry = Registry(tmp_path / "models")
    v1 = save(registry, scorer_bytes)
    with pytest.raises(ModelRegistryError, match=f"not found.*{v1.name}"):
        registry.promote("v20990101-000000-abcdef0")
    with pytest.raises(ModelRegistryError, match="is not a model version name"):
        registry.promote("../../etc")


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "flipped":
        i = data.index(b'"booster"') + 40
        path.write_bytes(data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :])
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "replaced":
        doc = json.loads(data)
        doc["cold_start_strength"] = 99.0
        path.write_bytes(json.dumps(doc).encode())


@pytest.mark.parametrize(
    ("how", "match"),
    [
        ("flipped", "checksum .* the file was changed"),
        ("truncated", "truncated"),
        ("replaced", "truncated or was replaced|checksum"),
    ],
    ids=["one-bit-flipped", "truncated", "rewritten"],
)
def test_a_damaged_model_file_is_refused(tmp_path, scorer_bytes, how, match):
    registry = Registry(tmp_path / "models")
    version = save(registry, scorer_bytes)
    _damage(version.path / "model.json", how)
    with pytest.raises(ModelIntegrityError, match=match):
        load_model(registry.get(version.name))
    with pytest.raises(ModelIntegrityError):
        registry.promote(version.name)
    assert registry.promoted() is None


def test_a_manifest_with_another_feature_list_is_refused(tmp_path, scorer_bytes):
    registry = Registry(tmp_path / "models")
    version = save(registry, scorer_bytes)
    path = version.path / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["features"] = list(reversed(manifest["features"]))
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match=r"reads features .* but its manifest lists"):
        load_model(registry.get(version.name))
    manifest["features"] = [*manifest["features"], "crystal_ball"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="does not compute: \\['crystal_ball'\\]"):
        load_model(registry.get(version.name))


def test_a_folder_the_registry_did_not_write_is_refused(tmp_path, scorer_bytes):
    registry = Registry(tmp_path / "models")
    version = save(registry, scorer_bytes)
    path = version.path / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["format"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="not written by this registry"):
        registry.get(version.name)


def test_nothing_promoted_means_the_content_scorer(workspace, embedder):
    snap = build_snapshot(workspace, embedder=embedder)
    assert load_scorer(workspace, snap) is None
    assert isinstance(snap.scorer, ContentScorer)


def test_the_pipeline_serves_the_promoted_model(workspace, embedder, scorer_bytes):
    registry = Registry.of(workspace)
    version = save(registry, scorer_bytes)
    registry.promote(version.name)
    snap = build_snapshot(workspace, embedder=embedder)
    assert snap.model_version == version.name
    assert isinstance(snap.scorer, LearnedScorer)
    result = Recommender(snap).recommend(
        DealContext(stage="negotiation", notes="ROI for the CFO"),
        PartnerProfile(
            partner_id="new-partner", tier="gold", maturity="advanced", languages=("en",)
        ),
        n=3,
    )
    assert result.model_version == version.name
    assert len(result.items) == 3 and all(np.isfinite(i.score) for i in result.items)
    # Rolled back: the next snapshot scores with the content scorer again.
    registry.rollback()
    assert build_snapshot(workspace, embedder=embedder).model_version == "playbook"


def test_a_damaged_promoted_model_stops_the_snapshot_with_a_clear_error(
    workspace, embedder, scorer_bytes
):
    registry = Registry.of(workspace)
    version = save(registry, scorer_bytes)
    registry.promote(version.name)
    _damage(version.path / "model.json", "truncated")
    with pytest.raises(ModelIntegrityError, match=f"{version.name}|truncated"):
        build_snapshot(workspace, embedder=embedder)
