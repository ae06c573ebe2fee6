"""`update_snapshot`: a promotion, a rollback or an override change derives the next snapshot
from the served one (catalog, index and, when the model reads usage alike, usage features
kept) and ranks exactly as a snapshot built from disk would. The references are full
`build_snapshot` builds of the same workspace."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from recommender.embedding.embedders import get_embedder
from recommender.ranking.build import build_snapshot, update_snapshot
from recommender.ranking.content import ContentScorer
from recommender.ranking.recommender import Recommender
from recommender.ranking.snapshot import Snapshot
from recommender.steering.overrides import OverrideStore
from recommender.storage.registry import MODEL_FILE, ModelRegistryError, Registry
from recommender.types import DealContext
from recommender.workspace import Workspace
from tests.support import Template, copy_workspace

NOW = datetime(2027, 1, 1, tzinfo=UTC)  # after the overrides a test adds today
STAGES = ("prospecting", "discovery", "negotiation")
NOTES = (None, "клієнт хоче порахувати окупність", "bank wants a TCO comparison")


@pytest.fixture
def ws(template: Template, tmp_path: Path) -> Workspace:
    return copy_workspace(template, tmp_path / "ws")


def _build(ws: Workspace, **kw: object) -> Snapshot:
    return build_snapshot(ws, embedder=get_embedder("e5"), **kw)  # type: ignore[arg-type]


def _answers(snapshot: Snapshot, partners: list[str]) -> list[list[tuple[str, float, tuple]]]:
    """Every partner's top 10 at every stage, with and without notes: ids, scores, reasons."""
    engine = Recommender(snapshot)
    out = []
    for partner_id in partners:
        partner = snapshot.partners[partner_id]
        for stage in STAGES:
            for notes in NOTES:
                rec = engine.recommend(
                    DealContext(stage=stage, notes=notes), partner, n=10, now=NOW,
                    request_id="fixed",
                )  # fmt: skip
                out.append([(i.asset_id, i.score, i.reasons) for i in rec.items])
    return out


def _same(left: list, right: list) -> None:
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert [x[0] for x in a] == [x[0] for x in b]
        assert [x[2] for x in a] == [x[2] for x in b]
        assert [x[1] for x in a] == pytest.approx([x[1] for x in b], abs=1e-9)


def test_a_promotion_keeps_the_catalog_and_usage_and_ranks_as_a_full_build(
    ws: Workspace, template: Template
) -> None:
    first, second = template.versions
    served = _build(ws, model_version=first)
    derived = update_snapshot(ws, served, model_version=second)
    reference = _build(ws, model_version=second)
    assert derived.model_version == second == reference.model_version
    # the catalog and everything derived from it are the served ones
    assert derived.catalog is served.catalog and derived.table is served.table
    assert derived.groups is served.groups and derived.display is served.display
    # both versions read usage with the same settings: the features are kept
    assert derived.usage is served.usage
    assert derived.return_ratio == reference.return_ratio
    partners = template.partner_ids[:6]
    _same(_answers(derived, partners), _answers(reference, partners))
    # and the ranking did change with the model (the comparison above can fail)
    assert _answers(derived, partners) != _answers(served, partners)


def test_a_version_reading_usage_otherwise_gets_its_own_usage_features(
    ws: Workspace, template: Template
) -> None:
    registry = Registry.of(ws)
    source = registry.get(template.versions[1])
    manifest = {
        "features": source.manifest["features"],
        "usage": {"half_life_days": 3.0, "prior_strength": 2.0},
    }
    model = (source.path / MODEL_FILE).read_bytes()
    other = registry.save(model, manifest, now=datetime(2026, 2, 1, tzinfo=UTC)).name
    served = _build(ws, model_version=template.versions[0])
    derived = update_snapshot(ws, served, model_version=other)
    assert derived.catalog is served.catalog
    assert derived.usage is not served.usage
    assert derived.usage.index.config.half_life_days == 3.0  # type: ignore[union-attr]
    partners = template.partner_ids[:6]
    _same(_answers(derived, partners), _answers(_build(ws, model_version=other), partners))


def test_a_rollback_to_the_playbook_and_back(ws: Workspace, template: Template) -> None:
    served = _build(ws, model_version=template.versions[0])
    playbook = update_snapshot(ws, served, use_model=False)
    assert isinstance(playbook.scorer, ContentScorer) and playbook.usage is None
    partners = template.partner_ids[:4]
    _same(_answers(playbook, partners), _answers(_build(ws, use_model=False), partners))
    # from the playbook, a model needs usage features: built, then as a full build
    again = update_snapshot(ws, playbook, model_version=template.versions[0])
    assert again.usage is not None and again.catalog is served.catalog
    _same(_answers(again, partners), _answers(served, partners))


def test_the_served_version_is_kept_and_the_overrides_are_read_again(
    ws: Workspace, template: Template
) -> None:
    served = _build(ws, model_version=template.versions[0])
    partner = template.partner_ids[0]
    top = _answers(served, [partner])[0][0][0]
    store = OverrideStore(ws.console_location)
    try:
        store.add(actor="test", action="hide", asset_id=top, scope="global")
    finally:
        store.close()
    derived = update_snapshot(ws, served, model_version=template.versions[0])
    assert derived.scorer is served.scorer and derived.usage is served.usage
    assert [o.asset_id for o in derived.overrides] == [top]
    assert top not in [x[0] for x in _answers(derived, [partner])[0]]
    reference = _build(ws, model_version=template.versions[0])
    _same(_answers(derived, [partner]), _answers(reference, [partner]))


def test_a_version_that_is_not_stored_raises_and_changes_nothing(
    ws: Workspace, template: Template
) -> None:
    served = _build(ws, model_version=template.versions[0])
    with pytest.raises(ModelRegistryError):
        update_snapshot(ws, served, model_version="v20990101-000000-0000000")
    assert served.model_version == template.versions[0]
