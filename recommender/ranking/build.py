"""Building snapshots from a workspace: the one place that knows what a snapshot reads."""

from __future__ import annotations

import logging
import shutil

from recommender.catalog.catalog import load_catalog
from recommender.embedding.embedders import DEFAULT_EMBEDDER, Embedder, QueryCache, get_embedder
from recommender.ranking.recommender import Recommender
from recommender.ranking.snapshot import Snapshot
from recommender.steering.overrides import OverrideStore
from recommender.steering.partners import load_partners
from recommender.steering.playbook import DEFAULT_PLAYBOOK, Playbook
from recommender.workspace import Workspace

log = logging.getLogger(__name__)


def load_playbook(workspace: Workspace) -> Playbook:
    """The workspace's playbook, seeded from the shipped default the first time."""
    if not workspace.playbook_path.exists():
        workspace.ensure()
        shutil.copyfile(DEFAULT_PLAYBOOK, workspace.playbook_path)
    return Playbook.load(workspace.playbook_path)


def build_snapshot(
    workspace: Workspace,
    *,
    embedder: Embedder | None = None,
    model_version: str | None = None,
    query_cache: QueryCache | None = None,
    use_model: bool = True,
) -> Snapshot:
    """Load catalog, index, playbook, partners, overrides and the promoted model into one
    immutable snapshot. Raises (and changes nothing) if any part is missing or inconsistent."""
    embedder = embedder or get_embedder(DEFAULT_EMBEDDER)
    catalog = load_catalog(workspace, embedder_id=embedder.id, dim=embedder.dim)
    playbook = load_playbook(workspace)
    partners = load_partners(workspace)
    store = OverrideStore(workspace.console_path)
    try:
        overrides = store.list(include_expired=False)
    finally:
        store.close()
    snapshot = Snapshot.build(
        catalog,
        playbook,
        partners,
        embedder,
        overrides=overrides,
        query_cache=query_cache,
    )
    if use_model:
        snapshot = attach_model(workspace, snapshot, version=model_version)
    return snapshot


def attach_model(
    workspace: Workspace, snapshot: Snapshot, *, version: str | None = None
) -> Snapshot:
    """The snapshot scored by the promoted (or given) model version, if there is one."""
    try:
        from recommender.storage.registry import load_scorer
    except ImportError:  # the learning part is optional for a content-only install
        return snapshot
    loaded = load_scorer(workspace, snapshot, version=version)
    if loaded is None:
        return snapshot
    scorer, usage = loaded
    return snapshot.with_changes(scorer=scorer, usage=usage)


def open_recommender(workspace: Workspace, *, embedder: Embedder | None = None) -> Recommender:
    return Recommender(build_snapshot(workspace, embedder=embedder))
