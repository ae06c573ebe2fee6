"""Training: usage events in, a registered model version out, in stages.

    load        events (journal or parquet export), catalog, playbook, partners, deals
                (`data.load_learning_data`); the log's time span split into fit,
                validation and test windows (`data.Split`)
    position bias how likely partners look at each slot, from the logged impressions before the
                test window (an EM click model, `policy_value.examination_curve`): the usage
                features' examination, recorded in the manifest for serving
    usage index the usage aggregates serving uses, point-in-time (`features.usage`)
    deal text   each deal's notes against every asset, as serving compares a request's
                notes (`deal_text.DealText`)
    examples    request contexts and requests of the fit window, with graded gains and
                sampled negatives; the groups the ranker learns from (`examples`)
    features    each example's features at its own time, by the code serving runs
                (`encoder.PairEncoder`: `features.pairs.pair_features` + `UsageIndex`)
    fit         `GradientBoostedRanker` (LambdaRank over groups)
    calibrate   model and prior mapped to probabilities on the validation window, the
                cold-start blend chosen there (`calibration`)
    evaluate    the test window against the baselines (`evaluation`)
    refit       the same fit and calibration again on all data: fit up to a validation
                window as long as the first, at the end of the log (`Split.refit`); this
                is the model served, the evaluated one is kept beside it. It depends on
                nothing from examples to evaluate, so it runs on a thread of its own
                beside them (a quarter less wall time on 2 cores, the same model)
    returns     how much less (or more) partners engage again with what they used, from the
                whole log (`returns.return_ratio`), recorded for serving's seen handling
    save        models/<version>/: model, evaluated model, manifest (`training_manifest`),
                metrics, model card

With `TrainConfig(evaluate=False)` the stages from examples to evaluate are skipped: the
refit alone makes the model, the same one a full run serves (the refit does not depend on
the evaluated model), and the version has no metrics or model card. The demo's closed loop
retrains that way between its periods and evaluates only its last model.

Nothing of a later window reaches an earlier one's examples or labels. Everything is
vectorised over examples (numpy/pandas); the only per-group Python loops are over query groups
(requests), for the prior's per-request normalisation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from tqdm.auto import tqdm

from features.labels import LabelConfig, as_int_grades
from features.pairs import CATEGORY_FEATURES, MODEL_FEATURES, feature_matrix
from features.usage import UsageConfig
from recommender.embedding.embedders import DEFAULT_EMBEDDER, Embedder, get_embedder
from recommender.learning.calibration import calibrate, choose_cold_start
from recommender.learning.data import LearningData, Split, load_learning_data
from recommender.learning.deal_text import DealText
from recommender.learning.encoder import PairEncoder
from recommender.learning.evaluation import EvaluationResult, evaluate, nothing_to_evaluate
from recommender.learning.examples import (
    Examples,
    build_context_examples,
    build_examples,
    select_fit_rows,
    with_new_asset_copies,
)
from recommender.learning.model_card import render_card
from recommender.learning.oracle import Oracle
from recommender.learning.policy_value import examination_curve, off_policy_block
from recommender.learning.queries import Queries, prepare_queries, window_contexts
from recommender.learning.returns import return_ratio
from recommender.ranking.learned import GradientBoostedRanker, LearnedScorer
from recommender.storage.deals import unknown_deals
from recommender.storage.registry import ModelVersion, Registry, code_version
from recommender.storage.usage import usage_settings
from recommender.workspace import Workspace

_T = TypeVar("_T")

# TrainConfig.cold_start: the model scores new assets and partners, or a blend with the prior
COLD_START_RULES = ("model", "blend")


@dataclass(frozen=True)
class TrainConfig:
    """Everything `train` can be told; defaults suit the demo data (200k events)."""

    test_fraction: float = 0.2
    validation_fraction: float = 0.15
    labels: LabelConfig = field(default_factory=LabelConfig)
    usage: UsageConfig = field(default_factory=UsageConfig)
    # Few trees: serving cost grows with the number of trees (LightGBM pays per tree and row),
    # and 80 trees of 15 leaves rank as well as 300 on the demo data (both variants).
    n_estimators: int = 80
    learning_rate: float = 0.2
    num_leaves: int = 15
    max_depth: int = -1
    min_child_samples: int = 100
    # Fit examples: "contexts" (each request context's engaged assets against sampled eligible
    # ones: what the context ends up using out of the catalog), "impressions" (each request's
    # impressions with their outcomes, plus engagements no impression explains against
    # sampled negatives), or "both".
    examples: str = "both"
    context_negatives: int = 40  # sampled eligible assets per context
    new_asset_copies: float = 0.2  # share of context groups copied with assets shown as new
    negatives: int = 20  # sampled negatives per engagement without an impression
    # Position-aware LambdaMART (LightGBM's `position`): each fit row's slot (one id for rows
    # the portal did not show in a request), the slots' bias learned with the ranker. On the
    # generator's presets at 3,000 deals (200k events) it moved NDCG@10 against true utility
    # by +0.019 (default) and +0.002 (second); at 1,000 deals by -0.005 and -0.007 (noise)
    position_aware: bool = True
    # cap on fit rows (context groups first, whole groups sampled): at 200k events the fit
    # window has about 600k; a cap of 400k cost the default preset 0.02 NDCG@10
    max_fit_rows: int = 800_000
    # How new assets and partners are scored. "model": by the model itself, which learned to
    # score assets with no usage from the copies of its examples shown as new (their content,
    # type, tags, language, depth and the deal's context): its share is 1 everywhere. "blend":
    # the playbook prior's share for assets and partners with little evidence is chosen on the
    # validation window's logged engagement, which favours what the logging policy showed: on
    # the generator's two presets at 200 and 1,000 deals it kept the prior for new assets and
    # cost 0.005-0.05 NDCG@10 against true utility overall and 0.01-0.07 on new assets.
    cold_start: str = "model"
    cold_start_strengths: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0)
    cold_start_floors: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
    k: int = 10
    max_eval_queries: int | None = 6000
    visibility: str = "frozen"  # what the held-out queries' usage features may see
    n_jobs: int = 2
    seed: int = 0
    progress: bool = True
    # After the evaluation, fit the model that is registered and served again on all data
    # (the evaluated model's metrics stay in the manifest, and its file beside the served one).
    refit: bool = True
    # Evaluate on the held-out window (fit, calibrate and evaluate a model on the earlier
    # windows). False registers the refit alone, without metrics: a third of the time.
    evaluate: bool = True

    def __post_init__(self) -> None:
        for name in ("test_fraction", "validation_fraction"):
            value = getattr(self, name)
            if not 0 < value < 0.9:
                raise ValueError(f"{name}={value!r} must be in (0, 0.9)")
        if self.negatives < 1 or self.context_negatives < 1:
            raise ValueError(
                f"negatives={self.negatives!r} and context_negatives={self.context_negatives!r} "
                "must be >= 1"
            )
        if self.examples not in ("contexts", "impressions", "both"):
            raise ValueError(
                f"examples={self.examples!r} is not supported; expected 'contexts', "
                "'impressions' or 'both'"
            )
        if self.cold_start not in COLD_START_RULES:
            raise ValueError(
                f"cold_start={self.cold_start!r}; expected one of {list(COLD_START_RULES)}"
            )
        if self.visibility not in ("frozen", "rolling"):
            raise ValueError(f"visibility={self.visibility!r}; expected 'frozen' or 'rolling'")
        if not (self.evaluate or self.refit):
            raise ValueError(
                "evaluate=False needs refit=True: without either, no model would be fit"
            )


@dataclass
class TrainResult:
    """What `train` made: the (calibrated) scorer, its manifest and metrics, and the evaluation
    and split behind them (`details`); `version` once it is saved in the registry."""

    scorer: LearnedScorer
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    details: dict[str, Any]
    version: ModelVersion | None = None


def train(
    workspace: Workspace,
    *,
    config: TrainConfig | None = None,
    events_path: Path | None = None,
    embedder: Embedder | None = None,
    save: bool = True,
    report: Callable[[str], None] | None = None,
    data: LearningData | None = None,
    oracle: Oracle | None = None,
) -> TrainResult:
    """Train, evaluate and (with `save`) register a new model version; see the module doc.

    `data` skips loading (already loaded inputs); with an `oracle` (generated data), the
    evaluation also ranks by the true utility and scores every model against it. `report`
    receives one line per stage with its duration."""
    config = config or TrainConfig()
    stages = _Stages(config.progress, report)
    started = time.perf_counter()
    embedder = embedder or get_embedder(DEFAULT_EMBEDDER)
    with stages.stage("load"):
        if data is None:
            data = load_learning_data(
                workspace,
                events_path=events_path,
                embedder_id=embedder.id,
                dim=embedder.dim,
                oracle=oracle,
            )
    warnings = deal_warnings(data.events, data.deals)
    for line in warnings:
        stages.note(f"warning: {line}")
    split = Split.of(data.events["ts"], config.test_fraction, config.validation_fraction)
    with stages.stage("position bias"):
        # estimated from the logs before the test window (the evaluated model may see them)
        examination = examination_curve(data, split.test)
        config = replace(config, usage=replace(config.usage, examination=examination))
    with stages.stage("usage index"):
        usage = data.usage_index(config.usage)
    with stages.stage("deal text"):
        text = DealText.compute(
            data.deals,
            data.catalog,
            data.table,
            embedder,
            cache_path=workspace.cache_path,
            progress=config.progress,
        )
    encoder = PairEncoder(data.table, data.playbook, data.partners, data.deals, usage, text)
    if not config.evaluate:
        # Refuse what a full training refuses: a log too short to hold out a window.
        end = split.end + pd.Timedelta(microseconds=1)
        if not len(window_contexts(data, split.test, end, config.labels)[0]):
            raise nothing_to_evaluate(split.test, end)
        with stages.stage("refit"):
            served, refit = refit_on_all_data(data, encoder, split, config)
        manifest = unevaluated_manifest(
            served,
            config,
            data=data,
            split=split,
            refit=refit,
            text=text,
            embedder_id=embedder.id,
            seconds=time.perf_counter() - started,
            stage_seconds=stages.seconds,
        )
        manifest["warnings"] = warnings
        with stages.stage("returns"):
            manifest["returns"] = return_ratio(data, examination, split.end + pd.Timedelta(1, "us"))
        result = TrainResult(scorer=served, manifest=manifest, metrics={}, details={"split": split})
        return save_version(workspace, result) if save else result
    # The refit (the model served) does not depend on the evaluated model: it runs on a
    # thread of its own meanwhile (numpy and LightGBM release the GIL for most of it), the
    # same call as the evaluate=False branch above, so the same model.
    with ThreadPoolExecutor(1, thread_name_prefix="refit") as pool:
        refit_job = (
            pool.submit(_timed, refit_on_all_data, data, encoder, split, config)
            if config.refit
            else None
        )
        with stages.stage("examples"):
            fit_examples = training_examples(data, encoder, split, config)
        with stages.stage("features"):
            fit_examples.encode(encoder)
        with stages.stage("fit"):
            scorer = fit_scorer(fit_examples, config, progress=config.progress)
        with stages.stage("calibrate"):
            valid_queries = window_queries(data, encoder, split.validation, split.test, config)
            scorer, blend_scores = calibrated(scorer, valid_queries, config)
        with stages.stage("evaluate"):
            end = split.end + pd.Timedelta(microseconds=1)
            test_queries = window_queries(data, encoder, split.test, end, config)
            evaluation = evaluate(scorer, test_queries, data, k=config.k, progress=config.progress)
        with stages.stage("off-policy"):
            evaluation.off_policy = off_policy_block(
                data,
                encoder,
                scorer,
                start=split.test,
                end=end,
                visibility=config.visibility,
                seed=config.seed,
            )
        served, refit_info = scorer, None
        if refit_job is not None:
            with stages.stage("refit (wait)"):
                (served, refit_info), seconds = refit_job.result()
            stages.record("refit", seconds, "on its own thread, beside the stages above")
    manifest = training_manifest(
        scorer,
        config,
        data=data,
        split=split,
        fit_examples=fit_examples,
        valid_queries=valid_queries,
        text=text,
        embedder_id=embedder.id,
        evaluation=evaluation,
        cold_start_validation=blend_scores,
        seconds=time.perf_counter() - started,
        stage_seconds=stages.seconds,
    )
    if refit_info is not None:
        manifest["refit"] = refit_info
    manifest["warnings"] = warnings
    with stages.stage("returns"):
        # how partners come back to what they used: for serving only, so from the whole log
        manifest["returns"] = return_ratio(data, examination, split.end + pd.Timedelta(1, "us"))
    result = TrainResult(
        scorer=served,
        manifest=manifest,
        metrics=evaluation.to_json(),
        details={"evaluation": evaluation, "split": split, "evaluated": scorer},
    )
    return save_version(workspace, result) if save else result


def _timed(job: Callable[..., _T], *args: Any) -> tuple[_T, float]:
    """`job(*args)` and the seconds it took."""
    started = time.perf_counter()
    out = job(*args)
    return out, round(time.perf_counter() - started, 3)


def deal_warnings(events: pd.DataFrame, deals: pd.DataFrame) -> list[str]:
    """What the model will not know about deals: no deals table at all, or events that name
    deals it lacks (they train without the deal's industry, products, competitors and notes)."""
    hint = "import them with `recommender deals import FILE`"
    named, missing = unknown_deals(events, deals if len(deals) else None)
    if not len(deals):
        if not named:
            return []
        return [f"no deals are stored, yet {named:,} events name {len(missing):,} deals; the "
                f"model learns without their industry, products or notes: {hint}"]  # fmt: skip
    if not named:
        return []
    shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
    return [f"{named:,} events name {len(missing):,} deals that are not stored ({shown}); "
            f"they train without their deal's fields: {hint}"]  # fmt: skip


# ---- the stages ---------------------------------------------------------------------------------


def training_examples(
    data: LearningData, encoder: PairEncoder, split: Split, config: TrainConfig
) -> Examples:
    """The fit window's examples of the kinds `config.examples` names (contexts first), their
    informative groups up to `config.max_fit_rows`, plus the copies shown as new assets.
    Features are not computed yet (`Examples.encode`)."""
    builders = (
        ("contexts", build_context_examples, config.context_negatives),
        ("impressions", build_examples, config.negatives),
    )
    parts = [
        build(
            data,
            encoder,
            start=split.start,
            end=split.validation,
            labels=config.labels,
            negatives=negatives,
            seed=config.seed,
        )
        for kind, build, negatives in builders
        if config.examples in (kind, "both")
    ]
    fit = select_fit_rows(parts, config.max_fit_rows, config.seed)
    return with_new_asset_copies(fit, config.new_asset_copies, config.seed)


def calibrated(
    scorer: LearnedScorer, queries: Queries, config: TrainConfig
) -> tuple[LearnedScorer, dict[str, Any]]:
    """`scorer` with its probabilities calibrated on `queries` (a validation window) and its
    cold-start rule applied (`TrainConfig.cold_start`), and what the rule tried."""
    scorer = calibrate(scorer, queries)
    if config.cold_start == "model":  # the model's share is 1: s = 0 turns the blend off
        model = replace(scorer, cold_start_strength=0.0, cold_asset_weight=1.0)
        return replace(model, new_partner_weight=1.0), {"rule": "model"}
    return choose_cold_start(
        scorer,
        queries,
        strengths=config.cold_start_strengths,
        floors=config.cold_start_floors,
        k=config.k,
    )


def refit_on_all_data(
    data: LearningData, encoder: PairEncoder, split: Split, config: TrainConfig
) -> tuple[LearnedScorer, dict[str, Any]]:
    """The model to serve: fit and calibrated as the evaluated one, on the windows of
    `split.refit()` (the whole log, the last part for calibration), and what it was fit on."""
    windows = split.refit()
    examples = training_examples(data, encoder, windows, config)
    examples.encode(encoder)
    scorer = fit_scorer(examples, config)
    end = windows.end + pd.Timedelta(microseconds=1)
    queries = window_queries(data, encoder, windows.validation, end, config)
    scorer, blend = calibrated(scorer, queries, config)
    return scorer, {
        "fit_window": {"start": windows.start.isoformat(), "end": windows.validation.isoformat()},
        "calibration_window": {
            "start": windows.validation.isoformat(),
            "end": windows.end.isoformat(),
        },
        "fit_examples": len(examples),
        "fit_groups": len(examples.group_sizes),
        "calibration_queries": len(queries),
        "cold_start_strength": scorer.cold_start_strength,
        "cold_asset_weight": scorer.cold_asset_weight,
        "new_partner_weight": scorer.new_partner_weight,
        "cold_start_validation": blend,
    }


def window_queries(
    data: LearningData,
    encoder: PairEncoder,
    start: pd.Timestamp,
    end: pd.Timestamp,
    config: TrainConfig,
) -> Queries:
    """The query set of [start, end) with the config's labels, sample size and visibility."""
    return prepare_queries(
        data,
        encoder,
        start=start,
        end=end,
        labels=config.labels,
        max_queries=config.max_eval_queries,
        seed=config.seed,
        visibility=config.visibility,
    )


def training_manifest(
    scorer: LearnedScorer,
    config: TrainConfig,
    *,
    data: LearningData,
    split: Split,
    fit_examples: Examples,
    valid_queries: Queries,
    text: DealText,
    embedder_id: str,
    evaluation: EvaluationResult,
    cold_start_validation: dict[str, Any],
    seconds: float,
    stage_seconds: dict[str, float],
) -> dict[str, Any]:
    """The manifest of a trained version: data window and counts, features, code and
    embedder, usage and label settings, training settings and timings, the evaluation's
    details and the features' importance (the registry adds checksums when it saves)."""
    fit = {
        "fit_examples": len(fit_examples),
        "fit_groups": len(fit_examples.group_sizes),
        "validation_queries": len(valid_queries),
        "test_queries": evaluation.details["queries"],
    }
    return {
        **_manifest_base(scorer, config, data, split, text, embedder_id, fit),
        "training": {
            **_training_settings(scorer, config),
            "cold_start_validation": cold_start_validation,
            "seconds": round(seconds, 2),
            "stage_seconds": stage_seconds,
        },
        "evaluation": {
            "k": config.k,
            "max_queries": config.max_eval_queries,
            "seed": config.seed,
            **evaluation.details,
        },
        "feature_importance": _importances(scorer),
    }


def unevaluated_manifest(
    served: LearnedScorer,
    config: TrainConfig,
    *,
    data: LearningData,
    split: Split,
    refit: dict[str, Any],
    text: DealText,
    embedder_id: str,
    seconds: float,
    stage_seconds: dict[str, float],
) -> dict[str, Any]:
    """The manifest of a version registered without evaluation (`TrainConfig.evaluate`):
    what `training_manifest` records about data, code and settings, the refit's windows and
    counts, and `evaluation.skipped` where the held-out results would be."""
    fit = {"fit_examples": refit["fit_examples"], "fit_groups": refit["fit_groups"]}
    return {
        **_manifest_base(served, config, data, split, text, embedder_id, fit),
        "training": {
            **_training_settings(served, config),
            "seconds": round(seconds, 2),
            "stage_seconds": stage_seconds,
        },
        "refit": refit,
        "evaluation": {
            "k": config.k,
            "skipped": "registered without a held-out evaluation (TrainConfig.evaluate=False)",
        },
        "feature_importance": _importances(served),
    }


def _manifest_base(
    scorer: LearnedScorer,
    config: TrainConfig,
    data: LearningData,
    split: Split,
    text: DealText,
    embedder_id: str,
    fit_counts: dict[str, int],
) -> dict[str, Any]:
    """What every version's manifest records first: data window, counts (with `fit_counts`),
    features, code, embedder, usage and label settings."""
    counts = {
        "events": len(data.events),
        "events_by_type": {str(k): int(v) for k, v in data.events["type"].value_counts().items()},
        **fit_counts,
        "assets": len(data.table),
        "partners": len(data.partners),
        "deals": len(data.deals),
        "deals_with_text": len(text.rows),
    }
    return {
        "data_window": {**split.to_dict(), "source": data.source},
        "counts": counts,
        "features": list(scorer.features),
        "code_version": code_version(),
        "embedder_id": embedder_id,
        "usage": usage_settings(config.usage),
        "labels": asdict(config.labels),
    }


def _importances(scorer: LearnedScorer) -> dict[str, Any]:
    return dict(zip(scorer.features, scorer.estimator.feature_importances_.tolist(), strict=True))


def _training_settings(scorer: LearnedScorer, config: TrainConfig) -> dict[str, Any]:
    """The manifest's `training` settings that every version records."""
    return {
        "objective": scorer.estimator.objective_,
        "examples": config.examples,
        "position_aware": config.position_aware,
        "cold_start": config.cold_start,
        "n_estimators": config.n_estimators,
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "max_depth": config.max_depth,
        "min_child_samples": config.min_child_samples,
        "test_fraction": config.test_fraction,
        "validation_fraction": config.validation_fraction,
        "cold_start_strength": scorer.cold_start_strength,
        "cold_asset_weight": scorer.cold_asset_weight,
        "new_partner_weight": scorer.new_partner_weight,
        "seed": config.seed,
        "evaluate": config.evaluate,
    }


def save_version(workspace: Workspace, result: TrainResult) -> TrainResult:
    """Register `result` as a new version of the workspace's models (model, manifest, metrics
    and model card; an unevaluated version has neither metrics nor card) and return it with
    its version set."""
    evaluation = result.details.get("evaluation")
    if evaluation is None:
        version = Registry.of(workspace).save(result.scorer.to_json(), result.manifest)
        result.version = version
        result.scorer = replace(result.scorer, version=version.name)
        return result
    card = render_card(result.manifest, result.metrics, evaluation)
    evaluated = result.details.get("evaluated")
    version = Registry.of(workspace).save(
        result.scorer.to_json(),
        result.manifest,
        metrics=result.metrics,
        card_html=card,
        evaluated_bytes=(
            evaluated.to_json()
            if evaluated is not None and evaluated is not result.scorer
            else None
        ),
    )
    result.version = version
    result.scorer = replace(result.scorer, version=version.name)
    return result


def fit_scorer(
    fit: Examples,
    config: TrainConfig,
    *,
    features: Sequence[str] = MODEL_FEATURES,
    progress: bool = False,
) -> LearnedScorer:
    """Fit the ranker on `fit` (already selected rows, consecutive groups). The result is not
    calibrated yet: see `recommender.learning.calibration`."""
    features = tuple(features)
    if not len(fit):
        raise ValueError(
            "no request or context in the training window has both an engaged and an ignored "
            "asset; there is nothing to learn from (is the log too short?)"
        )
    X = feature_matrix(fit.columns, features)
    y = as_int_grades(fit.gain, config.labels)
    cats = [features.index(c) for c in CATEGORY_FEATURES if c in features]
    estimator = GradientBoostedRanker(
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        num_leaves=config.num_leaves,
        max_depth=config.max_depth,
        min_child_samples=config.min_child_samples,
        categorical_features=cats,
        n_jobs=config.n_jobs,
        random_state=config.seed,
    )
    bar = tqdm(total=config.n_estimators, desc="fitting", unit=" trees", disable=not progress)
    position = fit.slots if config.position_aware else None
    with bar:
        estimator.fit(
            X, y, group=fit.group_sizes, position=position, callbacks=[lambda _env: bar.update(1)]
        )
    return LearnedScorer(estimator=estimator, features=features)


class _Stages:
    """Timing and a progress line per stage of training."""

    def __init__(self, progress: bool, report: Callable[[str], None] | None) -> None:
        self.progress = progress
        self.report = report
        self.seconds: dict[str, float] = {}

    def note(self, line: str) -> None:
        if self.report:
            self.report(line)

    def record(self, name: str, seconds: float, where: str) -> None:
        """A stage that ran elsewhere (`where`) and took `seconds`."""
        self.seconds[name] = seconds
        if self.report:
            self.report(f"{name}: {seconds:.1f} s ({where})")

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 3)
        if self.report:
            self.report(f"{name}: {self.seconds[name]:.1f} s")
