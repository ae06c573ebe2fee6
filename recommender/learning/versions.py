"""Re-running the evaluation of a stored model version, on its own held-out window (the figures
recorded at training, however many events arrived since) or, for the served model, on the
events logged after its data ended."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.labels import LabelConfig
from recommender.embedding.embedders import DEFAULT_EMBEDDER, Embedder, get_embedder
from recommender.learning.data import Split, load_learning_data
from recommender.learning.deal_text import DealText
from recommender.learning.encoder import PairEncoder
from recommender.learning.evaluation import EvaluationResult, evaluate
from recommender.learning.oracle import Oracle
from recommender.learning.policy_value import off_policy_block
from recommender.learning.queries import prepare_queries
from recommender.ranking.build import load_model
from recommender.storage.registry import ModelRegistryError, Registry
from recommender.storage.usage import usage_config
from recommender.workspace import Workspace


def evaluate_version(
    workspace: Workspace,
    *,
    version: str | None = None,
    embedder: Embedder | None = None,
    events_path: Path | None = None,
    progress: bool = False,
    oracle: Oracle | None = None,
    after_training: bool = False,
) -> EvaluationResult:
    """Re-run the evaluation of a stored model version (default: the promoted one, else the
    newest) with the settings recorded in its manifest (and against the `oracle`, when one is
    given).

    By default the model the version's metrics were measured on is evaluated on its own
    held-out window again: the same figures, however many events arrived since. With
    `after_training`, the model the version serves (refit on all its data) is evaluated on the
    events logged after its data ended instead: how it does on what it has not seen."""
    registry = Registry.of(workspace)
    name = version or registry.promoted()
    if name is None:
        versions = registry.versions()
        if not versions:
            raise ModelRegistryError(
                f"no trained model in {registry.root}; run `recommender train` first"
            )
        name = versions[-1].name
    model_version = registry.get(name)
    scorer = load_model(model_version, evaluated=not after_training, compiled=False)
    manifest = model_version.manifest
    embedder = embedder or get_embedder(DEFAULT_EMBEDDER)
    if manifest.get("embedder_id") not in (None, embedder.id):
        raise ValueError(
            f"model {name} was trained with embedder {manifest['embedder_id']!r}; "
            f"evaluate it with the same (got {embedder.id!r})"
        )
    source = manifest.get("data_window", {}).get("source")
    if (
        events_path is None
        and source
        and not str(source).endswith(".sqlite")
        and Path(source).exists()
    ):
        events_path = Path(source)  # trained on a parquet export: evaluate on the same
    data = load_learning_data(
        workspace,
        events_path=events_path,
        embedder_id=embedder.id,
        dim=embedder.dim,
        oracle=oracle,
    )
    split = Split.from_dict(manifest["data_window"])
    settings = manifest.get("evaluation", {})
    labels = LabelConfig(**manifest.get("labels", {}))
    usage = data.usage_index(usage_config(manifest.get("usage")))
    text = DealText.compute(
        data.deals,
        data.catalog,
        data.table,
        embedder,
        cache_path=workspace.cache_path,
        progress=progress,
    )
    encoder = PairEncoder(data.table, data.playbook, data.partners, data.deals, usage, text)
    tick = pd.Timedelta(microseconds=1)
    start, end = split.test, split.end + tick
    if after_training:
        start, end = split.end + tick, pd.Timestamp(data.events["ts"].max()) + tick
        if start >= end:
            raise ValueError(
                f"no event was logged after model {name}'s data ended ({split.end.isoformat()}); "
                "evaluate it on its own held-out window (without --after-training) instead"
            )
    queries = prepare_queries(
        data,
        encoder,
        start=start,
        end=end,
        labels=labels,
        max_queries=settings.get("max_queries"),
        seed=int(settings.get("seed", 0)),
        visibility=settings.get("visibility", "frozen"),
    )
    result = evaluate(scorer, queries, data, k=int(settings.get("k", 10)), progress=progress)
    result.off_policy = off_policy_block(
        data,
        encoder,
        scorer,
        start=start,
        end=end,
        visibility=settings.get("visibility", "frozen"),
        seed=int(settings.get("seed", 0)),
    )
    result.details["version"] = name
    result.details["evaluated_model"] = "served" if after_training else "evaluated"
    return result
