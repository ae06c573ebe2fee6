"""The learned scorer: gradient boosting over pair features, blended with the playbook prior.

Two layers:

- `GradientBoostedRanker`, a scikit-learn estimator (LightGBM underneath): `fit(X, y, group=)`
  with LambdaRank when query groups are given (the default objective, optimising NDCG with a
  linear gain, like the evaluation) and least squares otherwise; `predict(X)` returns scores,
  higher is better. It knows nothing of feature names beyond `feature_names_in_`.
- `LearnedScorer`, the pipeline's `Scorer`: turns named feature columns into the estimator's
  matrix and blends the model with the content/playbook scorer for assets the logs know
  little about:

      score = w * P_model + (1 - w) * P_prior,   w = n / (n + cold_start_strength)

      w = [w0 + (1 - w0) * n / (n + s)] * [v0 + (1 - v0) * h / (h + s)]

  n is the asset's exposure (impressions + opens before the request), h the partner's
  engagements before it, s = `cold_start_strength`; w0 (`cold_asset_weight`) is the model's
  share for an asset never shown, v0 (`new_partner_weight`) for a partner without history.
  Both scores are mapped to probabilities of engagement by Platt scaling fitted on validation
  data. By default training sets s = 0 (w = 1): the model, which learned to score assets with
  no usage from copies of its examples shown as new, scores new assets and partners itself
  (`TrainConfig.cold_start = "model"`). With "blend" it picks w0, v0 and s on the validation
  window (new assets, new partners, all queries), so a new asset or partner is scored by a
  blend with the playbook prior and the model takes over as evidence accumulates.

Models are saved as one JSON document (LightGBM's text model inside), never pickled, so a
model file cannot run code when it is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from features.pairs import feature_matrix
from recommender.ranking.compiled import compile_trees
from recommender.ranking.content import ContentScorer

OBJECTIVES = ("lambdarank", "regression", "binary")
MODEL_FORMAT = "enablement-recommender/learned-scorer@1"


def _lightgbm() -> Any:
    # (OpenMP's passive wait policy, which LightGBM's training needs on a busy machine, is set
    # when the `recommender` package is imported.)
    try:
        import lightgbm
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "install lightgbm to train or load a learned scorer: pip install lightgbm"
        ) from exc
    return lightgbm


class GradientBoostedRanker(RegressorMixin, BaseEstimator):
    """Gradient-boosted trees that rank (LambdaRank) or regress engagement grades.

    Parameters
    ----------
    objective: "lambdarank" (needs `group` in fit; labels are integer grades), "regression"
        or "binary" (label > 0). Without `group`, "lambdarank" falls back to "regression".
    n_estimators, learning_rate, num_leaves, max_depth, min_child_samples, subsample,
    colsample_bytree, reg_lambda: the usual boosting controls (shallow trees score faster).
    categorical_features: column indices to split as categories (integer codes, -1 = none).
    max_grade: the highest label grade LambdaRank sees (gains are linear: grade g counts g).
    n_jobs: threads; random_state: seed (training is deterministic for a given n_jobs).
    """

    def __init__(
        self,
        *,
        objective: str = "lambdarank",
        n_estimators: int = 200,
        learning_rate: float = 0.08,
        num_leaves: int = 31,
        max_depth: int = -1,
        min_child_samples: int = 40,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        categorical_features: Sequence[int] = (),
        max_grade: int = 30,
        n_jobs: int = 2,
        random_state: int = 0,
    ) -> None:
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.categorical_features = categorical_features
        self.max_grade = max_grade
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _check_params(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"objective={self.objective!r} is not supported; expected one of {list(OBJECTIVES)}"
            )
        for name in ("n_estimators", "num_leaves", "min_child_samples", "max_grade", "n_jobs"):
            value = getattr(self, name)
            low = 2 if name == "num_leaves" else 1
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name}={value!r} must be an integer >= {low}")
        for name in ("learning_rate", "subsample", "colsample_bytree"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ValueError(f"{name}={value!r} must be a number in (0, 1]")
        if (
            isinstance(self.max_depth, bool)
            or not isinstance(self.max_depth, (int, np.integer))
            or self.max_depth == 0
            or self.max_depth < -1
        ):
            raise ValueError(f"max_depth={self.max_depth!r} must be -1 (no limit) or >= 1")
        if not isinstance(self.reg_lambda, (int, float)) or self.reg_lambda < 0:
            raise ValueError(f"reg_lambda={self.reg_lambda!r} must be a number >= 0")

    def _lgb_params(self, objective: str, n_features: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": objective,
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "max_depth": int(self.max_depth),
            "min_data_in_leaf": int(self.min_child_samples),
            "bagging_fraction": float(self.subsample),
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": float(self.colsample_bytree),
            "lambda_l2": float(self.reg_lambda),
            "num_threads": int(self.n_jobs),
            "seed": int(self.random_state),
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
            "min_data_in_bin": 1,
            "feature_pre_filter": False,
        }
        if objective == "lambdarank":
            params["label_gain"] = list(range(int(self.max_grade) + 1))
            params["lambdarank_truncation_level"] = 20
            params["eval_at"] = [10]
        return params

    def fit(
        self,
        X: Any,
        y: Any,
        group: Sequence[int] | np.ndarray | None = None,
        sample_weight: Any = None,
        callbacks: Sequence[Any] | None = None,
        position: Sequence[int] | np.ndarray | None = None,
    ) -> GradientBoostedRanker:
        """Fit on rows X (n, d) with grades y; `group` = sizes of consecutive query groups.

        `position` (lambdarank only): the slot each row was shown in, any integer id per slot
        (one id for "not shown"); LightGBM's position-aware LambdaMART then learns how much
        each slot is looked at together with the ranker and discounts the pairs of rows by it
        (Unbiased LambdaMART). `callbacks` are passed to `lightgbm.train` (e.g. to drive a
        progress bar).
        """
        self._check_params()
        X, y = validate_data(
            self, X, y, dtype=np.float32, ensure_all_finite="allow-nan", y_numeric=True
        )
        y = np.asarray(y, dtype=np.float64)
        if len(y) < 2:
            raise ValueError(f"n_samples={len(y)}; gradient boosting needs at least 2 samples")
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity; expected finite grades")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            if not sample_weight.sum() > 0:
                raise ValueError(
                    "sample_weight sums to 0; at least one row must have a positive weight"
                )
        objective = self.objective
        if objective == "lambdarank" and group is None:
            objective = "regression"
        if group is not None:
            group = np.asarray(group, dtype=np.int64)
            if group.ndim != 1 or (group < 1).any() or int(group.sum()) != len(y):
                raise ValueError(
                    f"group sizes sum to {int(group.sum()) if group.ndim == 1 else '?'}, "
                    f"but there are {len(y)} rows; pass the size of each consecutive query group"
                )
        label = y
        if objective == "lambdarank":
            if (y < 0).any() or not np.allclose(y, np.round(y)) or y.max() > self.max_grade:
                raise ValueError(
                    f"lambdarank needs integer grades in 0..{self.max_grade}; got values in "
                    f"[{y.min():g}, {y.max():g}] (map gains with features.labels.as_int_grades)"
                )
            label = np.round(y).astype(np.int32)
        elif objective == "binary":
            label = (y > 0).astype(np.int32)
        cats = [int(c) for c in self.categorical_features]
        for c in cats:
            if not 0 <= c < X.shape[1]:
                raise ValueError(
                    f"categorical feature index {c} is out of range 0..{X.shape[1] - 1}"
                )
        if cats:
            # LightGBM treats negative category codes as missing; keep them so.
            X = X.copy()
            for c in cats:
                col = X[:, c]
                col[col < 0] = np.nan
        if position is not None:
            position = np.asarray(position, dtype=np.int64)
            if position.shape != (len(y),):
                raise ValueError(
                    f"position has shape {position.shape}; expected one slot per row ({len(y)})"
                )
            # LightGBM wants position ids 0..m-1
            position = np.unique(position, return_inverse=True)[1].astype(np.int32)
        lgb = _lightgbm()
        data = lgb.Dataset(
            X,
            label=label,
            weight=sample_weight,
            group=group if objective == "lambdarank" else None,
            position=position if objective == "lambdarank" else None,
            categorical_feature=cats or "auto",
            free_raw_data=True,
        )
        self.objective_ = objective
        self.__dict__.pop("compiled_", None)  # compiled from the trees this fit replaces
        self.booster_ = lgb.train(
            self._lgb_params(objective, X.shape[1]),
            data,
            num_boost_round=int(self.n_estimators),
            callbacks=list(callbacks or []),
        )
        gain = self.booster_.feature_importance(importance_type="gain")
        total = float(gain.sum())
        self.feature_importances_ = gain / total if total > 0 else np.zeros(X.shape[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Scores (n,), higher is better (grade scale for regression, logits for binary)."""
        check_is_fitted(self, "booster_")
        X = validate_data(self, X, dtype=np.float32, ensure_all_finite="allow-nan", reset=False)
        return self.predict_raw(X)

    def predict_raw(self, X: np.ndarray) -> np.ndarray:
        """`predict` without input validation, for the serving path: X must already be a
        float32 (n, n_features_in_) matrix. Negative category codes need no conversion:
        LightGBM reads a negative categorical value as missing, as in training. The
        compiled trees score when `compile_trees` has built them."""
        compiled = getattr(self, "compiled_", None)
        if compiled is not None:
            return compiled.predict(X)
        raw = self.booster_.predict(
            X, raw_score=True, num_threads=1 if len(X) < 5000 else self.n_jobs
        )
        return np.asarray(raw, dtype=np.float64)

    def compile_trees(self, cache_dir: Path | None = None) -> bool:
        """Score with the trees compiled to machine code from now on (`ranking.compiled`:
        the same scores within 1e-6, ~15x faster on a request's candidates), cached in
        `cache_dir`. False when they cannot be built: LightGBM keeps scoring."""
        check_is_fitted(self, "booster_")
        self.compiled_ = compile_trees(
            self.booster_.model_to_string(), cache_dir, booster=self.booster_, n_jobs=self.n_jobs
        )
        return self.compiled_ is not None

    # ---- persistence (JSON, no pickle) --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        check_is_fitted(self, "booster_")
        params = self.get_params()
        params["categorical_features"] = [int(c) for c in params["categorical_features"]]
        return {
            "params": params,
            "objective_": self.objective_,
            "n_features_in_": int(self.n_features_in_),
            "feature_names_in_": (
                [str(x) for x in self.feature_names_in_]
                if hasattr(self, "feature_names_in_")
                else None
            ),
            "feature_importances_": [float(x) for x in self.feature_importances_],
            "booster": self.booster_.model_to_string(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GradientBoostedRanker:
        lgb = _lightgbm()
        est = cls(**data["params"])
        est.booster_ = lgb.Booster(model_str=data["booster"])
        est.objective_ = data["objective_"]
        est.n_features_in_ = int(data["n_features_in_"])
        if data.get("feature_names_in_"):
            est.feature_names_in_ = np.asarray(data["feature_names_in_"], dtype=object)
        est.feature_importances_ = np.asarray(data["feature_importances_"], dtype=np.float64)
        if est.booster_.num_feature() != est.n_features_in_:
            raise ValueError(
                f"the booster reads {est.booster_.num_feature()} features, "
                f"the estimator says {est.n_features_in_}"
            )
        return est


@dataclass(frozen=True)
class Platt:
    """p = sigmoid(a * score + b): a score mapped to a probability of engagement."""

    a: float = 1.0
    b: float = 0.0

    def __call__(self, score: np.ndarray) -> np.ndarray:
        z = np.clip(self.a * np.asarray(score, dtype=np.float64) + self.b, -30, 30)
        return 1.0 / (1.0 + np.exp(-z))

    @classmethod
    def fit(cls, score: np.ndarray, relevant: np.ndarray, *, max_rows: int = 200_000) -> Platt:
        """Logistic regression of `relevant` (bool) on one score; identity-ish if degenerate."""
        from sklearn.linear_model import LogisticRegression

        score = np.asarray(score, dtype=np.float64)
        relevant = np.asarray(relevant, dtype=bool)
        if len(score) > max_rows:
            pick = np.random.default_rng(0).choice(len(score), max_rows, replace=False)
            score, relevant = score[pick], relevant[pick]
        if relevant.all() or not relevant.any() or np.ptp(score) == 0:
            rate = float(np.clip(relevant.mean() if len(relevant) else 0.5, 1e-4, 1 - 1e-4))
            return cls(a=0.0, b=float(np.log(rate / (1 - rate))))
        model = LogisticRegression(C=1e4, max_iter=200).fit(score[:, None], relevant)
        return cls(a=float(model.coef_[0, 0]), b=float(model.intercept_[0]))


@dataclass(frozen=True)
class LearnedScorer:
    """The pipeline's Scorer for a trained model (see the module docstring for the blend)."""

    estimator: GradientBoostedRanker
    features: tuple[str, ...]
    version: str = "learned"
    model_calibration: Platt = field(default_factory=Platt)
    prior_calibration: Platt = field(default_factory=Platt)
    cold_start_strength: float = 5.0
    cold_asset_weight: float = 0.5
    new_partner_weight: float = 0.5
    exposure_feature: str = "exposure"
    history_feature: str = "partner_history"
    prior: ContentScorer = field(default_factory=ContentScorer)

    def __post_init__(self) -> None:
        if self.estimator.n_features_in_ != len(self.features):
            raise ValueError(
                f"the model reads {self.estimator.n_features_in_} features but "
                f"{len(self.features)} names were given"
            )

    def model_score(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        missing = [f for f in self.features if f not in columns]
        if missing:
            raise KeyError(
                f"feature columns {missing} are missing; "
                f"the model was trained on {list(self.features)}"
            )
        return self.estimator.predict_raw(feature_matrix(columns, self.features))

    def blend_weight(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Weight of the model per pair, in [0, 1] (see the module docstring)."""
        n_rows = len(next(iter(columns.values()))) if columns else 0
        s = float(self.cold_start_strength)
        if s <= 0:
            return np.ones(n_rows)
        w = np.ones(n_rows)
        for feature, floor in (
            (self.exposure_feature, self.cold_asset_weight),
            (self.history_feature, self.new_partner_weight),
        ):
            if feature in columns:
                # Both features are log1p counts.
                evidence = np.expm1(np.asarray(columns[feature], dtype=np.float64))
                w = w * (floor + (1.0 - floor) * evidence / (evidence + s))
        return w

    def score(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        if not columns or len(next(iter(columns.values()))) == 0:
            return np.zeros(0, dtype=np.float32)
        p_model = self.model_calibration(self.model_score(columns))
        w = self.blend_weight(columns)
        if np.all(w >= 1.0):
            return p_model.astype(np.float32)
        p_prior = self.prior_calibration(self.prior.score(columns))
        return (w * p_model + (1.0 - w) * p_prior).astype(np.float32)

    # ---- persistence --------------------------------------------------------------------------
    def to_json(self) -> bytes:
        doc = {
            "format": MODEL_FORMAT,
            "version": self.version,
            "features": list(self.features),
            "model_calibration": {"a": self.model_calibration.a, "b": self.model_calibration.b},
            "prior_calibration": {"a": self.prior_calibration.a, "b": self.prior_calibration.b},
            "cold_start_strength": self.cold_start_strength,
            "cold_asset_weight": self.cold_asset_weight,
            "new_partner_weight": self.new_partner_weight,
            "exposure_feature": self.exposure_feature,
            "history_feature": self.history_feature,
            "prior": {
                "w_prior": self.prior.w_prior,
                "w_text": self.prior.w_text,
                "w_meta": self.prior.w_meta,
            },
            "estimator": self.estimator.to_dict(),
        }
        return json.dumps(doc).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, *, version: str | None = None) -> LearnedScorer:
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"the model file is not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
            found = doc.get("format") if isinstance(doc, dict) else None
            raise ValueError(f"the model file's format is {found!r}; expected {MODEL_FORMAT!r}")
        estimator = GradientBoostedRanker.from_dict(doc["estimator"])
        return cls(
            estimator=estimator,
            features=tuple(doc["features"]),
            version=version or doc.get("version", "learned"),
            model_calibration=Platt(**doc["model_calibration"]),
            prior_calibration=Platt(**doc["prior_calibration"]),
            cold_start_strength=float(doc["cold_start_strength"]),
            cold_asset_weight=float(doc["cold_asset_weight"]),
            new_partner_weight=float(doc["new_partner_weight"]),
            exposure_feature=str(doc["exposure_feature"]),
            history_feature=str(doc["history_feature"]),
            prior=ContentScorer(version="playbook", **doc["prior"]),
        )
