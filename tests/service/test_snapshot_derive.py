"""A worker derives its next snapshot from the served one when only the model pointer, the
overrides or the experiments changed (a promotion or rollback through it or through another
worker or replica), and builds it from disk when the catalog, index, partners or playbook
changed: the catalog is then a new object, else the served one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from recommender.steering.overrides import OverrideStore
from recommender.steering.partners import upsert_partner
from recommender.storage.registry import Registry
from service.state import ServiceState, bump_generation
from tests.service.helpers import Api
from tests.support import Template, copy_workspace, make_settings, recommendation_body


@pytest.fixture
def api(template: Template, tmp_path) -> Iterator[Api]:
    """The app on a fresh copy (checking the files at every request)."""
    from service.app import create_app

    ws = copy_workspace(template, tmp_path / "ws")
    app = create_app(make_settings(ws, reload_check_seconds=0.01))
    with TestClient(app) as client:
        yield Api(client, dict(app.state.service.demo_keys), ws)


def _state(api: Api) -> ServiceState:
    return api.client.app.state.service


def test_a_promotion_and_a_rollback_through_this_worker_keep_the_catalog(
    api: Api, template: Template
) -> None:
    state = _state(api)
    catalog = state.recommender.snapshot.catalog
    first, second = template.versions
    for path, version in ((f"/v1/models/{first}/promote", first),
                          (f"/v1/models/{second}/promote", second),
                          ("/v1/models/rollback", first),
                          ("/v1/models/rollback", "playbook")):  # fmt: skip
        r = api.post(path, scope="admin")
        assert r.status_code == 200 and r.json()["model_version"] == version, r.text
        served = state.recommender.snapshot
        assert served.model_version == version and served.catalog is catalog
        reco = api.post("/v1/recommendations", recommendation_body(template.partner_ids[0]))
        assert reco.status_code == 200 and reco.json()["model_version"] == version


def test_changes_made_elsewhere_derive_or_rebuild_as_the_files_say(
    api: Api, template: Template
) -> None:
    state, ws = _state(api), api.workspace
    catalog = state.recommender.snapshot.catalog
    first, second = template.versions

    # another worker promoted: only the pointer moved
    Registry.of(ws).promote(first)
    bump_generation(ws, "promote")
    state.refresh_now()
    assert state.recommender.snapshot.model_version == first
    assert state.recommender.snapshot.catalog is catalog

    # another worker added an override: only the generation moved
    store = OverrideStore(ws.console_location)
    try:
        hidden = store.add(actor="test", action="hide", asset_id=template.asset_ids[0],
                           scope="global")  # fmt: skip
    finally:
        store.close()
    bump_generation(ws, "override-add")
    state.refresh_now()
    served = state.recommender.snapshot
    assert [o.override_id for o in served.overrides] == [hidden.override_id]
    assert served.catalog is catalog and served.model_version == first

    # another worker stored a partner and promoted: the partners file changed, so the
    # snapshot is built from disk (and the usage features know the new partner's segment)
    upsert_partner(ws, {"partner_id": "P-NEW", "name": "New", "type": "reseller", "tier": "gold",
                        "maturity": "advanced"})  # fmt: skip
    Registry.of(ws).promote(second)
    bump_generation(ws, "partner-put")
    state.refresh_now()
    served = state.recommender.snapshot
    assert served.model_version == second and "P-NEW" in served.partners
    assert served.catalog is not catalog
    assert "P-NEW" in served.usage.index.partner_ids  # type: ignore[union-attr]
    assert [o.override_id for o in served.overrides] == [hidden.override_id]
