"""Building snapshots from a workspace: the one place that knows what a snapshot reads, and
how a registered model version becomes the snapshot's scorer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from features.pairs import AssetTable
from recommender.catalog.catalog import load_catalog
from recommender.embedding.embedders import DEFAULT_EMBEDDER, Embedder, QueryCache, get_embedder
from recommender.ranking.compiled import COMPILED_DIR
from recommender.ranking.content import ContentScorer
from recommender.ranking.learned import LearnedScorer
from recommender.ranking.recommender import Recommender
from recommender.ranking.seen import DEFAULT_RETURN_RATIO
from recommender.ranking.snapshot import Snapshot
from recommender.steering.overrides import Override, OverrideStore
from recommender.steering.partners import load_partner_frame, load_partners
from recommender.steering.playbook import load_playbook
from recommender.storage.registry import ModelIntegrityError, ModelVersion, Registry, read_verified
from recommender.storage.usage import (
    JournalUsageProvider,
    asset_vectors,
    journal_position,
    read_usage_inputs,
    usage_config,
)
from recommender.workspace import Workspace

log = logging.getLogger(__name__)

# How a snapshot gets its usage features: (workspace, snapshot, a model's usage settings) ->
# provider. `usage_provider` builds them here; a service passes one that builds them in a
# child process (service.runtime.usage_process), off its serving threads' GIL.
UsageSource = Callable[[Workspace, Snapshot, Mapping[str, Any] | None], JournalUsageProvider]


def build_snapshot(
    workspace: Workspace,
    *,
    embedder: Embedder | None = None,
    model_version: str | None = None,
    query_cache: QueryCache | None = None,
    use_model: bool = True,
    usage: UsageSource | None = None,
) -> Snapshot:
    """Load catalog, index, playbook, partners, overrides and the promoted model into one
    immutable snapshot. Raises (and changes nothing) if any part is missing or inconsistent.
    `usage` builds the model's usage features (default: `usage_provider`, in this process)."""
    embedder = embedder or get_embedder(DEFAULT_EMBEDDER)
    catalog = load_catalog(workspace, embedder_id=embedder.id, dim=embedder.dim)
    playbook = load_playbook(workspace)
    partners = load_partners(workspace)
    snapshot = Snapshot.build(
        catalog,
        playbook,
        partners,
        embedder,
        overrides=_active_overrides(workspace),
        query_cache=query_cache,
    )
    if use_model:
        snapshot = attach_model(workspace, snapshot, version=model_version, usage=usage)
    return snapshot


def update_snapshot(
    workspace: Workspace,
    snapshot: Snapshot,
    *,
    model_version: str | None = None,
    use_model: bool = True,
    usage: UsageSource | None = None,
) -> Snapshot:
    """What `build_snapshot` would build, derived from `snapshot` when the workspace's catalog,
    index, partners and playbook are still the ones it was built from (the caller knows: a
    promotion, a rollback, an override or an experiment changed since, nothing else).

    The overrides are read again and the model attached; the rest is kept: the catalog, its
    index and all that is derived from them, the scorer when `model_version` (else the
    promoted one) already scores `snapshot`, and the usage features when the version reads
    usage with the same settings as the one that serves. Kept usage features are as recent
    as `snapshot`'s; `refresh_usage` brings them up to date like any others. A version that
    cannot be loaded raises `ModelIntegrityError` or `ModelRegistryError`, as in
    `build_snapshot`."""
    base = snapshot.with_changes(overrides=_active_overrides(workspace), experiments=())
    registry = Registry.of(workspace)
    name = (model_version or registry.promoted()) if use_model else None
    if name is None:
        return base.with_changes(
            scorer=ContentScorer(), usage=None, return_ratio=DEFAULT_RETURN_RATIO
        )
    if name == snapshot.model_version and isinstance(snapshot.scorer, LearnedScorer):
        return base
    version = registry.get(name)
    scorer = load_model(version)
    settings = version.manifest.get("usage")
    current = snapshot.usage
    if isinstance(current, JournalUsageProvider) and current.index.config == usage_config(settings):
        provider = current
    else:
        provider = (usage or usage_provider)(workspace, base, settings)
    return base.with_changes(scorer=scorer, usage=provider, return_ratio=return_ratio(version))


def _active_overrides(workspace: Workspace) -> tuple[Override, ...]:
    store = OverrideStore(workspace.console_location)
    try:
        return tuple(store.list(include_expired=False))
    finally:
        store.close()


def attach_model(
    workspace: Workspace,
    snapshot: Snapshot,
    *,
    version: str | None = None,
    usage: UsageSource | None = None,
) -> Snapshot:
    """The snapshot scored by the promoted (or given) model version, if there is one."""
    loaded = load_scorer(workspace, snapshot, version=version, usage=usage)
    if loaded is None:
        return snapshot
    scorer, provider, returns = loaded
    return snapshot.with_changes(scorer=scorer, usage=provider, return_ratio=returns)


def open_recommender(workspace: Workspace, *, embedder: Embedder | None = None) -> Recommender:
    return Recommender(build_snapshot(workspace, embedder=embedder))


def load_model(
    version: ModelVersion, *, evaluated: bool = False, compiled: bool = True
) -> LearnedScorer:
    """The verified LearnedScorer of one registered version (`read_verified` checks size,
    checksum and features); a damaged or mismatched model raises `ModelIntegrityError`.
    `evaluated` loads the model the version's metrics were measured on (see `read_verified`).
    `compiled` scores with its trees compiled (`ranking.compiled`, cached in the version's
    `compiled/` folder), or with LightGBM when they cannot be."""
    data = read_verified(version, evaluated=evaluated)
    try:
        scorer = LearnedScorer.from_json(data, version=version.name)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"model {version.name} cannot be read: {exc}") from None
    if list(scorer.features) != list(version.manifest["features"]):
        raise ModelIntegrityError(
            f"model {version.name} reads features {list(scorer.features)} but its manifest "
            f"lists {version.manifest['features']}; refusing to load a mismatched model"
        )
    if compiled:
        scorer.estimator.compile_trees(version.path / COMPILED_DIR)
    return scorer


def usage_provider(
    workspace: Workspace, snapshot: Snapshot, settings: Mapping[str, Any] | None = None
) -> JournalUsageProvider:
    """The usage features of `snapshot`'s assets from the workspace's journal (its
    engagements and impression aggregates) and partners, with a model's usage `settings`
    (its manifest's "usage")."""
    return build_usage(
        workspace,
        snapshot.table,
        asset_vectors(snapshot.catalog, snapshot.table),
        settings,
    )


def build_usage(
    workspace: Workspace,
    table: AssetTable,
    vectors: np.ndarray | None,
    settings: Mapping[str, Any] | None = None,
    *,
    compact: bool = False,
) -> JournalUsageProvider:
    """`usage_provider` from what it needs of a snapshot (the asset table and vectors, which
    pickle), so that a child process can run it. `compact` keeps what serving after the
    journal's last event reads (`UsageIndex.for_serving`): what a child sends a worker."""
    position = journal_position(workspace)  # read first: the usage is at least this recent
    events, impressions = read_usage_inputs(workspace)
    provider = JournalUsageProvider.build(
        events,
        table,
        load_partner_frame(workspace),
        config=usage_config(settings),
        vectors=vectors,
        impressions=impressions,
        journal_position=position,
    )
    if compact:
        provider.index = provider.index.for_serving()
    return provider


def model_usage_settings(workspace: Workspace, version: str) -> Mapping[str, Any] | None:
    """A registered model version's usage settings (its manifest's "usage")."""
    usage: Mapping[str, Any] | None = Registry.of(workspace).get(version).manifest.get("usage")
    return usage


def refresh_usage(
    workspace: Workspace, snapshot: Snapshot, *, usage: UsageSource | None = None
) -> Snapshot | None:
    """`snapshot` with usage features that include the events journaled since its own were
    built, or None when there are none (or it reads no usage: the playbook)."""
    current = snapshot.usage
    if not isinstance(current, JournalUsageProvider):
        return None
    if journal_position(workspace) == current.journal_position:
        return None
    settings = model_usage_settings(workspace, snapshot.model_version)
    provider = (usage or usage_provider)(workspace, snapshot, settings)
    return snapshot.with_changes(usage=provider)


def load_scorer(
    workspace: Workspace,
    snapshot: Snapshot,
    version: str | None = None,
    usage: UsageSource | None = None,
) -> tuple[LearnedScorer, JournalUsageProvider, float] | None:
    """The promoted (or given) model, its usage provider for `snapshot` and the return ratio
    it was trained with (`recommender.ranking.seen`; the default for models trained before
    it was measured), or None.

    None when no version is given and none is promoted: the snapshot keeps the content
    scorer. A damaged or mismatched model raises `ModelIntegrityError`.
    """
    registry = Registry.of(workspace)
    name = version or registry.promoted()
    if name is None:
        return None
    model_version = registry.get(name)
    scorer = load_model(model_version)
    provider = (usage or usage_provider)(workspace, snapshot, model_version.manifest.get("usage"))
    return scorer, provider, return_ratio(model_version)


def return_ratio(version: ModelVersion) -> float:
    """The return ratio `version` was trained with (`recommender.ranking.seen`; the default for
    models trained before it was measured)."""
    returns = version.manifest.get("returns") or {}
    return float(returns.get("ratio", DEFAULT_RETURN_RATIO))
