"""Training: usage events in, a registered model version out.

    events (journal or parquet export) + catalog + partners + deals
      -> time split: train = the log before `split`, test = the last `test_fraction` of its
         time span; the last `validation_fraction` of the train window calibrates the blend
      -> examples: every impression with the best engagement that followed it (grouped by
         request); engagements that no impression explains (search, imports without
         impressions) become positives with `negatives` sampled eligible assets each
      -> features: `features.pairs.pair_features` + `features.usage.UsageIndex`, exactly the
         code serving runs, each example at its own time (usage sees only earlier events)
      -> fit `GradientBoostedRanker` (LambdaRank over requests) on the fit window
      -> calibrate model and prior on the validation window, pick the cold-start blend
      -> evaluate on the test window against the baselines (recommender.learning.evaluation)
      -> write models/<version>/ (model, manifest, metrics, model card)

Labels may look past an example (that is what a label is) but never past the end of the
window the example belongs to, so nothing of the test window reaches the fit.
Everything is vectorised over examples (numpy/pandas); the only per-group Python loops are
over query groups (requests), for the prior's per-request normalisation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from features.eligibility import eligible, published_assets
from features.labels import LabelConfig, as_int_grades, impression_labels
from features.pairs import (
    CATEGORY_FEATURES,
    LANGUAGES,
    MATURITIES,
    MODEL_FEATURES,
    ROLES,
    STAGES,
    TIERS,
    AssetTable,
    PairBatch,
    PlaybookMatrices,
    multi_hot,
    pair_features,
)
from features.schema import ENGAGEMENT_TYPES
from features.timebase import micros_to_day, to_micros
from features.usage import (
    UsageConfig,
    UsageIndex,
    codes_of,
    lookup_codes,
    table_positions,
)
from recommender.learning.evaluation import Oracle
from recommender.ranking.learned import GradientBoostedRanker, LearnedScorer
from recommender.workspace import Workspace

log = logging.getLogger(__name__)


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
    max_fit_rows: int = 400_000  # cap on fit rows (context groups first, whole groups sampled)
    cold_start_strengths: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0)
    cold_start_floors: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
    k: int = 10
    max_eval_queries: int | None = 6000
    visibility: str = "frozen"  # what the held-out queries' usage features may see
    n_jobs: int = 2
    seed: int = 0
    progress: bool = True

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
        if self.visibility not in ("frozen", "rolling"):
            raise ValueError(f"visibility={self.visibility!r}; expected 'frozen' or 'rolling'")


# ---- inputs -----------------------------------------------------------------------------------


@dataclass
class LearningData:
    """The inputs of training and evaluation, loaded once."""

    events: pd.DataFrame  # EVENTS columns, sorted by ts, ts tz-naive UTC
    catalog: Any  # recommender.catalog.catalog.Catalog
    table: AssetTable
    playbook: PlaybookMatrices
    partners: pd.DataFrame
    deals: pd.DataFrame
    source: str
    workspace: Workspace | None = None
    oracle: Oracle | None = None  # the true utility, when a simulator made the data

    @property
    def static_ok(self) -> np.ndarray:
        """(n_assets,) bool: the assets whose status is published (`published_assets`)."""
        return published_assets(self.catalog.assets)


def load_learning_data(
    workspace: Workspace,
    *,
    events_path: Path | None = None,
    embedder_id: str | None = None,
    dim: int | None = None,
    oracle: Oracle | None = None,
) -> LearningData:
    """Events from the journal (or a parquet file / export folder), with catalog, playbook,
    partners, deals and, for generated data, the `oracle` given."""
    from recommender.catalog.catalog import load_catalog
    from recommender.steering.partners import load_partner_frame
    from recommender.steering.playbook import load_playbook
    from recommender.storage.usage import EVENT_READ_COLUMNS, read_journal

    catalog = load_catalog(workspace, embedder_id=embedder_id, dim=dim)
    if events_path is not None:
        from recommender.storage.events import read_events_parquet

        events = read_events_parquet(events_path)
        source = str(events_path)
    else:
        if not workspace.events_path.exists():
            raise FileNotFoundError(
                f"no event journal at {workspace.events_path}; run `recommender demo` or "
                "`recommender events import FILE` first"
            )
        events = read_journal(workspace)
        source = str(workspace.events_path)
    columns = [c for c in (*EVENT_READ_COLUMNS, "position") if c in events]
    events = (
        events[list(dict.fromkeys(columns))].sort_values("ts", kind="stable").reset_index(drop=True)
    )
    if not len(events):
        raise ValueError(f"{source} holds no events; there is nothing to learn from")
    deals = (
        pd.read_parquet(workspace.deals_path)
        if workspace.deals_path.exists()
        else pd.DataFrame(columns=["deal_id", "partner_id", "stage"])
    )
    return LearningData(
        events=events,
        catalog=catalog,
        table=AssetTable.from_frame(catalog.assets),
        playbook=load_playbook(workspace).matrices,
        partners=load_partner_frame(workspace),
        deals=deals,
        source=source,
        workspace=workspace,
        oracle=oracle,
    )


@dataclass(frozen=True)
class Split:
    """Time windows: fit [start, validation), validation [validation, test), test [test, end]."""

    start: pd.Timestamp
    validation: pd.Timestamp
    test: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def of(cls, ts: pd.Series, test_fraction: float, validation_fraction: float) -> Split:
        start, end = pd.Timestamp(ts.min()), pd.Timestamp(ts.max())
        span = end - start
        test = start + span * (1.0 - test_fraction)
        validation = start + (test - start) * (1.0 - validation_fraction)
        return cls(start=start, validation=validation, test=test, end=end)

    def to_dict(self) -> dict[str, str]:
        return {k: pd.Timestamp(v).isoformat() for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Split:
        return cls(**{k: pd.Timestamp(data[k]) for k in ("start", "validation", "test", "end")})


# ---- deal text ----------------------------------------------------------------------------------


@dataclass
class DealText:
    """Cosine similarity of each deal's notes to every asset (best chunk), as serving does."""

    rows: dict[str, int]  # deal id -> row of `sims`
    sims: np.ndarray  # (n_rows, n_assets) float32, aligned with the AssetTable

    @classmethod
    def empty(cls, n_assets: int) -> DealText:
        return cls(rows={}, sims=np.zeros((0, n_assets), dtype=np.float32))

    @classmethod
    def compute(
        cls,
        deals: pd.DataFrame,
        catalog: Any,
        table: AssetTable,
        embedder: Any,
        *,
        cache_path: Path | None = None,
        progress: bool = True,
    ) -> DealText:
        """Embed each deal's notes (as queries; vectors cached by content hash) and compare
        them with the asset chunks of the catalog's index."""
        from recommender.embedding.embedders import EmbeddingCache, content_hash

        if "notes" not in deals or not len(deals):
            return cls.empty(len(table))
        notes = deals["notes"].astype(object)
        has = notes.notna() & (notes.astype(str).str.strip() != "")
        ids = deals.loc[has, "deal_id"].astype(str).tolist()
        texts = notes[has].astype(str).str.strip().tolist()
        if not texts:
            return cls.empty(len(table))
        keys = [content_hash(embedder.id, "query", t) for t in texts]
        cache = EmbeddingCache(cache_path) if cache_path is not None else None
        try:
            found = cache.get_many(list(dict.fromkeys(keys))) if cache else {}
            missing = list(dict.fromkeys(k for k in keys if k not in found))
            if missing:
                text_of = dict(zip(keys, texts, strict=True))
                batch = 32
                bar = tqdm(
                    total=len(missing),
                    desc="embedding deal notes",
                    unit=" notes",
                    disable=not progress,
                )
                with bar:
                    for lo in range(0, len(missing), batch):
                        part = missing[lo : lo + batch]
                        vecs = embedder.embed_queries([text_of[k] for k in part])
                        fresh = dict(zip(part, np.asarray(vecs, dtype=np.float32), strict=True))
                        if cache:
                            cache.put_many(fresh)
                        found.update(fresh)
                        bar.update(len(part))
        finally:
            if cache:
                cache.close()
        queries = np.stack([found[k] for k in keys]).astype(np.float32)
        index = catalog.index
        vectors = index.vectors()
        best = np.full((len(ids), len(index.asset_ids)), -1.0, dtype=np.float32)
        order = np.argsort(index.chunk_pos, kind="stable")
        pos_sorted = index.chunk_pos[order]
        starts = np.flatnonzero(np.r_[True, pos_sorted[1:] != pos_sorted[:-1]])
        for lo in range(0, len(ids), 2048):
            sims = queries[lo : lo + 2048] @ vectors[order].T
            best[lo : lo + 2048, pos_sorted[starts]] = np.maximum.reduceat(sims, starts, axis=1)
        lookup = {a: i for i, a in enumerate(index.asset_ids.tolist())}
        cols = np.array([lookup.get(a, -1) for a in table.ids.tolist()], dtype=np.int64)
        sims = np.where(cols[None, :] >= 0, best[:, np.maximum(cols, 0)], 0.0).astype(np.float32)
        return cls(rows={d: i for i, d in enumerate(ids)}, sims=sims)


def embed_deal_notes(workspace: Workspace, *, embedder: Any = None, progress: bool = True) -> int:
    """Embed every deal's notes into the workspace's embedding cache (what `train` and
    `evaluate` need) and return how many deals have notes. `recommender demo` can call this so
    the first `recommender train` does not pay for it; later calls hit the cache."""
    from recommender.catalog.catalog import load_catalog
    from recommender.embedding.embedders import DEFAULT_EMBEDDER, get_embedder

    embedder = embedder or get_embedder(DEFAULT_EMBEDDER)
    if not workspace.deals_path.exists():
        return 0
    catalog = load_catalog(workspace, embedder_id=embedder.id, dim=embedder.dim)
    text = DealText.compute(
        pd.read_parquet(workspace.deals_path),
        catalog,
        AssetTable.from_frame(catalog.assets),
        embedder,
        cache_path=workspace.cache_path,
        progress=progress,
    )
    return len(text.rows)


# ---- examples -> features -----------------------------------------------------------------------


class PairEncoder:
    """(partner, deal, stage, time, asset) rows -> the pair feature columns serving computes.

    Partner and deal attributes are encoded once into arrays (one extra last row for an
    unknown partner or deal, with the engine's defaults); a batch of rows is then pure numpy
    indexing plus `pair_features` and `UsageIndex.features`.
    """

    def __init__(
        self,
        table: AssetTable,
        playbook: PlaybookMatrices,
        partners: pd.DataFrame,
        deals: pd.DataFrame,
        usage: UsageIndex,
        text: DealText | None = None,
    ) -> None:
        self.table, self.playbook, self.usage = table, playbook, usage
        self.text = text or DealText.empty(len(table))
        pids = partners["partner_id"].astype(str).tolist() if len(partners) else []
        self.partner_row = {p: i for i, p in enumerate(pids)}
        n_p = len(pids)
        maturity = codes_of(partners["maturity"] if n_p else None, MATURITIES, n_p)
        tier = codes_of(partners["tier"] if n_p else None, TIERS, n_p)
        self.p_maturity = np.r_[np.where(maturity >= 0, maturity, 1), 1].astype(np.int16)
        self.p_tier = np.r_[np.where(tier >= 0, tier, 0), 0].astype(np.int16)
        langs = partners["languages"].tolist() if n_p and "languages" in partners else [[]] * n_p
        self.p_lang = np.vstack([multi_hot(langs, LANGUAGES), np.zeros((1, len(LANGUAGES)), bool)])
        regions = partners["regions"].tolist() if n_p and "regions" in partners else [[]] * n_p
        self.p_region = np.vstack(
            [multi_hot(regions, table.region_vocab), np.zeros((1, len(table.region_vocab)), bool)]
        )
        dids = deals["deal_id"].astype(str).tolist() if len(deals) else []
        self.deal_row = {d: i for i, d in enumerate(dids)}
        n_d = len(dids)

        def col(name: str) -> list[Any]:
            return deals[name].tolist() if n_d and name in deals else [None] * n_d

        self.d_ind = np.vstack(
            [
                multi_hot(
                    [[x] if isinstance(x, str) else [] for x in col("industry")],
                    table.industry_vocab,
                ),
                np.zeros((1, len(table.industry_vocab)), bool),
            ]
        )
        self.d_prod = np.vstack(
            [
                multi_hot(col("products"), table.product_vocab),
                np.zeros((1, len(table.product_vocab)), bool),
            ]
        )
        self.d_comp = np.vstack(
            [
                multi_hot(col("competitors"), table.competitor_vocab),
                np.zeros((1, len(table.competitor_vocab)), bool),
            ]
        )
        self.d_role = np.r_[
            codes_of(pd.Series(col("buyer_role"), dtype=object), ROLES, n_d), -1
        ].astype(np.int16)
        self.d_lang = np.r_[
            codes_of(pd.Series(col("language"), dtype=object), LANGUAGES, n_d), -1
        ].astype(np.int16)
        self.d_text = np.r_[np.array([self.text.rows.get(d, -1) for d in dids], dtype=np.int64), -1]

    def partner_rows(self, partner_ids: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Rows of the partner arrays (the last row for partners without a profile)."""
        rows = lookup_codes(self.partner_row, partner_ids)
        return np.where(rows >= 0, rows, len(self.partner_row))

    def deal_rows(self, deal_ids: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Rows of the deal arrays (the last row for unknown or missing deals)."""
        rows = lookup_codes(self.deal_row, deal_ids)
        return np.where(rows >= 0, rows, len(self.deal_row))

    def encode(
        self,
        partner_ids: np.ndarray,
        deal_ids: np.ndarray,
        stage: np.ndarray,
        t_us: np.ndarray,
        asset_pos: np.ndarray,
        *,
        visible_before: int | None = None,
        as_new: np.ndarray | None = None,
        chunk: int = 250_000,
    ) -> dict[str, np.ndarray]:
        """Feature columns (every name of MODEL_FEATURES and more) for aligned row arrays.

        Usage features see events before each row's time (and before `visible_before`).
        """
        n = len(asset_pos)
        p_all = self.partner_rows(partner_ids)
        d_all = self.deal_rows(deal_ids)
        u_partner = self.usage.partner_codes(partner_ids)
        u_deal = self.usage.deal_codes(deal_ids)
        parts: list[dict[str, np.ndarray]] = []
        for lo in range(0, max(n, 1), chunk):
            sl = slice(lo, min(lo + chunk, n))
            p, d = p_all[sl], d_all[sl]
            a = np.asarray(asset_pos[sl], dtype=np.int64)
            st = np.asarray(stage[sl], dtype=np.int16)
            t = np.asarray(t_us[sl], dtype=np.int64)
            maturity = self.p_maturity[p]
            langs = self.p_lang[p]
            no_lang = ~langs.any(axis=1) & (self.d_lang[d] >= 0)
            if no_lang.any():  # as the pipeline: the partner's languages, else the deal's
                langs = langs.copy()
                langs[np.flatnonzero(no_lang), self.d_lang[d][no_lang]] = True
            text_row = self.d_text[d]
            has_text = text_row >= 0
            semantic = np.zeros(len(a), dtype=np.float32)
            if has_text.any():
                semantic[has_text] = self.text.sims[text_row[has_text], a[has_text]]
            usage = self.usage.features(
                a,
                t,
                partner=u_partner[sl],
                deal=u_deal[sl],
                stage=st,
                segment=self.p_tier[p].astype(np.int64) * len(MATURITIES) + maturity,
                maturity=maturity,
                visible_before=visible_before,
                as_new=False if as_new is None else as_new[sl],
            )
            batch = PairBatch(
                asset_pos=a,
                stage=st,
                maturity=maturity,
                industry=self.d_ind[d],
                products=self.d_prod[d],
                competitors=self.d_comp[d],
                role=self.d_role[d],
                languages=langs,
                day=micros_to_day(t),
                semantic=semantic,
                has_text=has_text,
                usage=usage,
                deal_language=self.d_lang[d],
            )
            parts.append(pair_features(self.table, batch, self.playbook))
        if len(parts) == 1:
            return parts[0]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def eligible(
        self, partner_ids: np.ndarray, t_us: np.ndarray, static_ok: np.ndarray
    ) -> np.ndarray:
        """(n_rows, n_assets) bool: what each (partner, time) may be shown, by the mask serving
        uses (`features.eligibility.eligible`: published, not expired, tier, regions)."""
        p = self.partner_rows(partner_ids)
        return eligible(
            self.table,
            static_ok,
            day=micros_to_day(t_us),
            tier=self.p_tier[p],
            regions=self.p_region[p],
        )


# ---- examples -----------------------------------------------------------------------------------


@dataclass
class Examples:
    """Training rows grouped by query (consecutive rows of one group), with their features."""

    partner_id: np.ndarray
    deal_id: np.ndarray
    stage: np.ndarray  # codes
    t_us: np.ndarray
    asset_pos: np.ndarray
    gain: np.ndarray
    group: np.ndarray  # group id per row (consecutive)
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    as_new: np.ndarray | None = None  # rows whose asset is presented as never used

    def encode(self, encoder: PairEncoder) -> None:
        """Compute this set's feature columns (each row at its own time)."""
        self.columns = encoder.encode(
            self.partner_id,
            self.deal_id,
            self.stage,
            self.t_us,
            self.asset_pos,
            as_new=self.as_new,
        )

    def __len__(self) -> int:
        return len(self.asset_pos)

    @property
    def group_sizes(self) -> np.ndarray:
        if not len(self.group):
            return np.zeros(0, dtype=np.int64)
        change = np.flatnonzero(np.r_[True, self.group[1:] != self.group[:-1]])
        return np.diff(np.r_[change, len(self.group)])

    def take(self, rows: np.ndarray) -> Examples:
        return Examples(
            partner_id=self.partner_id[rows],
            deal_id=self.deal_id[rows],
            stage=self.stage[rows],
            t_us=self.t_us[rows],
            asset_pos=self.asset_pos[rows],
            gain=self.gain[rows],
            group=self.group[rows],
            columns={k: v[rows] for k, v in self.columns.items()},
            as_new=None if self.as_new is None else self.as_new[rows],
        )


def build_examples(
    data: LearningData,
    encoder: PairEncoder,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    labels: LabelConfig,
    negatives: int,
    seed: int,
) -> Examples:
    """Examples for events with start <= ts < end; labels see events before `end` only."""
    ev = data.events
    table = data.table
    window = ev[(ev["ts"] >= start) & (ev["ts"] < end)]
    in_window = ev[ev["ts"] < end]
    asset_pos = table_positions(table, window["asset_id"])
    stage = codes_of(window["stage"], STAGES, len(window))
    kind = window["type"].astype(str).to_numpy()
    usable = (asset_pos >= 0) & (stage >= 0)
    imp_mask = usable & (kind == "impression") & window["request_id"].notna().to_numpy()
    imp = window[imp_mask]
    gain_imp = impression_labels(imp, in_window, labels, cutoff=end)
    # Groups: one request each, rows in position order.
    req = imp["request_id"].astype(str).to_numpy()
    order = np.lexsort((pd.to_numeric(imp["position"], errors="coerce").fillna(0).to_numpy(), req))
    req_codes = pd.factorize(req[order])[0]
    parts = {
        "partner_id": imp["partner_id"].astype(str).to_numpy()[order],
        "deal_id": imp["deal_id"].astype(object).to_numpy()[order],
        "stage": stage[imp_mask][order],
        "t_us": to_micros(imp["ts"])[order],
        "asset_pos": asset_pos[imp_mask][order],
        "gain": gain_imp[order],
        "group": req_codes.astype(np.int64),
    }
    # Engagements that no impression explains: positives with sampled negatives.
    eng_mask = usable & np.isin(kind, ENGAGEMENT_TYPES)
    eng = window[eng_mask]
    explained = (
        eng["request_id"].notna().to_numpy()
        & eng["request_id"].astype(str).isin(set(req)).to_numpy()
    )
    free = eng[~explained]
    if len(free):
        free_gain = pd.Series(free["type"].astype(str)).map(labels.weights).fillna(0).to_numpy()
        f = pd.DataFrame(
            {
                "partner_id": free["partner_id"].astype(str).to_numpy(),
                "deal_id": free["deal_id"].astype(object).to_numpy(),
                "stage": stage[eng_mask][~explained],
                "t_us": to_micros(free["ts"]),
                "asset_pos": asset_pos[eng_mask][~explained],
                "gain": free_gain,
            }
        )
        # One positive per (partner, deal, stage, asset): its best engagement, first time.
        f["deal_key"] = f["deal_id"].astype(str)
        f = (
            f.sort_values("t_us", kind="stable")
            .groupby(["partner_id", "deal_key", "stage", "asset_pos"], sort=False)
            .agg(deal_id=("deal_id", "first"), t_us=("t_us", "first"), gain=("gain", "max"))
            .reset_index()
        )
        rng = np.random.default_rng(seed)
        ok = encoder.eligible(f["partner_id"].to_numpy(), f["t_us"].to_numpy(), data.static_ok)
        n_pos = len(f)
        neg = _sample_eligible(ok, negatives, rng)
        pos_assets = f["asset_pos"].to_numpy()
        keep = (neg != pos_assets[:, None]) & ok[np.arange(n_pos)[:, None], neg]
        base_group = int(parts["group"].max()) + 1 if len(parts["group"]) else 0
        rows_pos = np.arange(n_pos)
        rep = np.repeat(rows_pos, 1 + negatives)
        assets = np.column_stack([pos_assets, neg]).ravel()
        valid = np.column_stack([np.ones(n_pos, bool), keep]).ravel()
        gains = np.column_stack([f["gain"].to_numpy(), np.zeros((n_pos, negatives))]).ravel()
        extra = {
            "partner_id": f["partner_id"].to_numpy()[rep][valid],
            "deal_id": f["deal_id"].to_numpy()[rep][valid],
            "stage": f["stage"].to_numpy()[rep][valid].astype(np.int64),
            "t_us": f["t_us"].to_numpy()[rep][valid],
            "asset_pos": assets[valid],
            "gain": gains[valid],
            "group": (base_group + rep)[valid],
        }
        parts = {k: np.concatenate([parts[k], extra[k]]) for k in parts}
    deal = parts["deal_id"].astype(object)
    deal[pd.isna(deal)] = None
    return Examples(
        partner_id=parts["partner_id"].astype(object),
        deal_id=deal,
        stage=parts["stage"].astype(np.int64),
        t_us=parts["t_us"].astype(np.int64),
        asset_pos=parts["asset_pos"].astype(np.int64),
        gain=parts["gain"].astype(np.float64),
        group=parts["group"].astype(np.int64),
    )


def build_context_examples(
    data: LearningData,
    encoder: PairEncoder,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    labels: LabelConfig,
    negatives: int,
    seed: int,
) -> Examples:
    """One group per request context (partner, deal, stage) of [start, end) with engagement:
    its engaged assets (graded) and `negatives` sampled eligible assets it did not engage
    with, at the context's first event. These teach what a context ends up using out of the
    whole catalog (what the evaluation asks), where impressions teach what gets opened once
    shown."""
    from features.labels import context_keys, context_relevance

    ev = data.events
    in_window = (ev["ts"] >= start) & (ev["ts"] < end)
    # Engagement inside the window; deal outcomes known by its end (for the won bonus).
    judged = context_relevance(
        ev[in_window | ((ev["type"] == "deal_outcome") & (ev["ts"] < end))], labels
    )
    window = ev[in_window]
    window = window[window["stage"].notna() & window["partner_id"].notna()]
    judged = judged.assign(asset_pos=table_positions(data.table, judged["asset_id"]))
    judged = judged[judged["asset_pos"] >= 0]
    if not len(judged):
        return _empty_examples()
    first = (
        pd.DataFrame(
            {
                "context": context_keys(window).to_numpy(),
                "partner_id": window["partner_id"].astype(str).to_numpy(),
                "deal_id": window["deal_id"].astype(object).to_numpy(),
                "stage": codes_of(window["stage"], STAGES, len(window)),
                "t_us": to_micros(window["ts"]),
            }
        )
        .groupby("context", sort=False)
        .first()
    )
    ctx = first.loc[first.index.isin(set(judged["context"]))].reset_index()
    ctx_row = {c: i for i, c in enumerate(ctx["context"])}
    judged = judged[judged["context"].isin(ctx_row)]
    rng = np.random.default_rng(seed)
    ok = encoder.eligible(ctx["partner_id"].to_numpy(), ctx["t_us"].to_numpy(), data.static_ok)
    rows = judged["context"].map(ctx_row).to_numpy()
    engaged = np.zeros_like(ok)
    engaged[rows, judged["asset_pos"].to_numpy()] = True
    neg = _sample_eligible(ok & ~engaged, negatives, rng)
    neg_ok = (ok & ~engaged)[np.arange(len(ctx))[:, None], neg]
    n_ctx = len(ctx)
    pos_group = rows
    neg_group = np.repeat(np.arange(n_ctx), negatives)[neg_ok.ravel()]
    group = np.concatenate([pos_group, neg_group])
    asset = np.concatenate([judged["asset_pos"].to_numpy(), neg.ravel()[neg_ok.ravel()]])
    gain = np.concatenate([judged["gain"].to_numpy(), np.zeros(int(neg_ok.sum()))])
    order = np.argsort(group, kind="stable")
    group, asset, gain = group[order], asset[order], gain[order]
    deal = ctx["deal_id"].to_numpy(dtype=object)[group]
    deal[pd.isna(deal)] = None
    return Examples(
        partner_id=ctx["partner_id"].to_numpy(dtype=object)[group],
        deal_id=deal,
        stage=ctx["stage"].to_numpy(dtype=np.int64)[group],
        t_us=ctx["t_us"].to_numpy(dtype=np.int64)[group],
        asset_pos=asset.astype(np.int64),
        gain=gain.astype(np.float64),
        group=group.astype(np.int64),
    )


def _empty_examples() -> Examples:
    z = np.zeros(0, dtype=np.int64)
    return Examples(
        partner_id=np.zeros(0, dtype=object),
        deal_id=np.zeros(0, dtype=object),
        stage=z,
        t_us=z,
        asset_pos=z,
        gain=np.zeros(0),
        group=z,
    )


def concat_examples(parts: Sequence[Examples]) -> Examples:
    """Examples one after the other, group ids renumbered so groups stay distinct."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_examples()
    out = []
    base = 0
    for p in parts:
        codes = pd.factorize(p.group)[0].astype(np.int64) + base
        base = int(codes.max()) + 1
        out.append(replace(p, group=codes))
    cols = (
        {k: np.concatenate([p.columns[k] for p in out]) for k in out[0].columns}
        if all(p.columns for p in out)
        else {}
    )
    return Examples(
        partner_id=np.concatenate([p.partner_id for p in out]),
        deal_id=np.concatenate([p.deal_id for p in out]),
        stage=np.concatenate([p.stage for p in out]),
        t_us=np.concatenate([p.t_us for p in out]),
        asset_pos=np.concatenate([p.asset_pos for p in out]),
        gain=np.concatenate([p.gain for p in out]),
        group=np.concatenate([p.group for p in out]),
        columns=cols,
        as_new=np.concatenate([_flags(p) for p in out]),
    )


def _flags(ex: Examples) -> np.ndarray:
    return np.zeros(len(ex), dtype=bool) if ex.as_new is None else ex.as_new


def with_new_asset_copies(ex: Examples, fraction: float, seed: int) -> Examples:
    """`ex` plus a copy of a random `fraction` of its groups in which every asset is presented
    as never used (`UsageIndex` as_new): the model learns to rank new assets by their content,
    context and the partner's tastes, as it must for assets published after training."""
    if fraction <= 0 or not len(ex):
        return ex
    sizes = ex.group_sizes
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    rng = np.random.default_rng(seed)
    pick = np.flatnonzero(rng.random(len(sizes)) < fraction)
    if not len(pick):
        return ex
    copy = ex.take(_ranges(starts[pick], sizes[pick]))
    copy.as_new = np.ones(len(copy), dtype=bool)
    return concat_examples([ex, copy])


def _sample_eligible(ok: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(rows, n) asset positions drawn uniformly (with replacement) from each row's True
    columns of `ok`; rows without any eligible asset draw column 0 (callers mask by `ok`)."""
    rows, cols = ok.shape
    counts = ok.sum(axis=1)
    cum = np.cumsum(ok, axis=1).astype(np.float64) / np.maximum(counts, 1)[:, None]
    # One sorted array: row r's cumulative shares shifted by r, so one searchsorted serves all.
    flat = (cum + np.arange(rows)[:, None]).ravel()
    draws = rng.random((rows, n)) + np.arange(rows)[:, None]
    idx = np.searchsorted(flat, draws.ravel(), side="right").reshape(rows, n)
    return np.clip(idx - np.arange(rows)[:, None] * cols, 0, cols - 1)


def _informative_groups(ex: Examples, max_rows: int, seed: int) -> np.ndarray:
    """Rows of groups with at least one positive and one negative (LambdaRank learns nothing
    from the others), at most `max_rows`, sampled by whole groups."""
    sizes = ex.group_sizes
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    pos = np.add.reduceat(ex.gain > 0, starts) if len(starts) else np.zeros(0)
    keep = (pos > 0) & (pos < sizes)
    chosen = np.flatnonzero(keep)
    if sizes[chosen].sum() > max_rows:
        rng = np.random.default_rng(seed)
        chosen = rng.permutation(chosen)
        chosen = np.sort(chosen[np.cumsum(sizes[chosen]) <= max_rows])
    return _ranges(starts[chosen], sizes[chosen])


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    total = int(sizes.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.repeat(starts, sizes) + offsets


# ---- the whole run ------------------------------------------------------------------------------


class _Stages:
    """Timing and a progress line per stage of training."""

    def __init__(self, progress: bool, report: Callable[[str], None] | None) -> None:
        self.progress = progress
        self.report = report
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 3)
        if self.report:
            self.report(f"{name}: {self.seconds[name]:.1f} s")


@dataclass
class TrainResult:
    scorer: LearnedScorer
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    details: dict[str, Any]
    version: Any = None  # registry.ModelVersion once saved


def select_fit_rows(parts: Sequence[Examples], max_rows: int, seed: int) -> Examples:
    """The informative groups of each part (one engaged and one ignored asset at least), the
    earlier parts first, at most `max_rows` in all (whole groups are sampled)."""
    chosen = []
    room = max_rows
    for part in parts:
        if room <= 0 or not len(part):
            continue
        rows = _informative_groups(part, room, seed)
        chosen.append(part.take(rows))
        room -= len(rows)
    return concat_examples(chosen)


def fit_scorer(
    fit: Examples,
    config: TrainConfig,
    *,
    features: Sequence[str] = MODEL_FEATURES,
    progress: bool = False,
) -> LearnedScorer:
    """Fit the ranker on `fit` (already selected rows, consecutive groups). The result is not
    calibrated yet: see `recommender.learning.evaluation.calibrate` and `choose_cold_start`."""
    features = tuple(features)
    if not len(fit):
        raise ValueError(
            "no request or context in the training window has both an engaged and an ignored "
            "asset; there is nothing to learn from (is the log too short?)"
        )
    from features.pairs import feature_matrix

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
    with bar:
        estimator.fit(X, y, group=fit.group_sizes, callbacks=[lambda _env: bar.update(1)])
    return LearnedScorer(estimator=estimator, features=features)


def grouped_prior(
    scorer: LearnedScorer, columns: dict[str, np.ndarray], sizes: np.ndarray
) -> np.ndarray:
    """The content/playbook scorer, run once per query group (it normalises within a request)."""
    out = np.zeros(len(next(iter(columns.values()))), dtype=np.float64)
    lo = 0
    for size in sizes.tolist():
        hi = lo + size
        out[lo:hi] = scorer.prior.score({k: v[lo:hi] for k, v in columns.items()})
        lo = hi
    return out


def train(
    workspace: Workspace,
    *,
    config: TrainConfig | None = None,
    events_path: Path | None = None,
    embedder: Any = None,
    save: bool = True,
    report: Callable[[str], None] | None = None,
    data: LearningData | None = None,
    oracle: Oracle | None = None,
) -> TrainResult:
    """Train, evaluate and (with `save`) register a new model version; see the module doc.

    With an `oracle` (generated data), the evaluation also ranks by the true utility and
    scores every model against it."""
    from recommender.embedding.embedders import DEFAULT_EMBEDDER, get_embedder
    from recommender.learning.evaluation import (
        calibrate,
        choose_cold_start,
        evaluate,
        prepare_queries,
    )

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
    split = Split.of(data.events["ts"], config.test_fraction, config.validation_fraction)
    with stages.stage("usage index"):
        from recommender.storage.usage import asset_vectors

        vectors = asset_vectors(data.catalog, data.table)
        usage = UsageIndex.build(
            data.events, data.table, data.partners, config=config.usage, asset_vectors=vectors
        )
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
    with stages.stage("examples"):
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
        fit_ex = select_fit_rows(parts, config.max_fit_rows, config.seed)
        fit_ex = with_new_asset_copies(fit_ex, config.new_asset_copies, config.seed)
    with stages.stage("features"):
        fit_ex.encode(encoder)
    with stages.stage("fit"):
        scorer = fit_scorer(fit_ex, config, progress=config.progress)
    with stages.stage("calibrate"):
        valid_queries = prepare_queries(
            data,
            encoder,
            start=split.validation,
            end=split.test,
            labels=config.labels,
            max_queries=config.max_eval_queries,
            seed=config.seed,
            visibility=config.visibility,
        )
        scorer = calibrate(scorer, valid_queries)
        scorer, blend_scores = choose_cold_start(
            scorer,
            valid_queries,
            strengths=config.cold_start_strengths,
            floors=config.cold_start_floors,
            k=config.k,
        )
    with stages.stage("evaluate"):
        test_queries = prepare_queries(
            data,
            encoder,
            start=split.test,
            end=split.end + pd.Timedelta(microseconds=1),
            labels=config.labels,
            max_queries=config.max_eval_queries,
            seed=config.seed,
            visibility=config.visibility,
        )
        evaluation = evaluate(scorer, test_queries, data, k=config.k, progress=config.progress)
    total = time.perf_counter() - started
    importances = dict(
        zip(scorer.features, scorer.estimator.feature_importances_.tolist(), strict=True)
    )
    counts = {
        "events": len(data.events),
        "events_by_type": {str(k): int(v) for k, v in data.events["type"].value_counts().items()},
        "fit_examples": len(fit_ex),
        "fit_groups": len(fit_ex.group_sizes),
        "validation_queries": len(valid_queries),
        "test_queries": evaluation.details["queries"],
        "assets": len(data.table),
        "partners": len(data.partners),
        "deals": len(data.deals),
        "deals_with_text": len(text.rows),
    }
    from recommender.storage.registry import code_version
    from recommender.storage.usage import usage_settings

    manifest = {
        "data_window": {**split.to_dict(), "source": data.source},
        "counts": counts,
        "features": list(scorer.features),
        "code_version": code_version(),
        "embedder_id": embedder.id,
        "usage": usage_settings(config.usage),
        "labels": asdict(config.labels),
        "training": {
            "objective": scorer.estimator.objective_,
            "examples": config.examples,
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
            "cold_start_validation": blend_scores,
            "seed": config.seed,
            "seconds": round(total, 2),
            "stage_seconds": stages.seconds,
        },
        "evaluation": {
            "k": config.k,
            "max_queries": config.max_eval_queries,
            "seed": config.seed,
            **evaluation.details,
        },
        "feature_importance": importances,
    }
    result = TrainResult(
        scorer=scorer,
        manifest=manifest,
        metrics=evaluation.to_json(),
        details={"evaluation": evaluation, "split": split},
    )
    if save:
        from recommender.learning.model_card import render_card
        from recommender.storage.registry import Registry

        card = render_card(manifest, result.metrics, evaluation)
        version = Registry.of(workspace).save(
            scorer.to_json(), manifest, metrics=result.metrics, card_html=card
        )
        result.version = version
        result.scorer = replace(scorer, version=version.name)
    return result


def evaluate_version(
    workspace: Workspace,
    *,
    version: str | None = None,
    embedder: Any = None,
    events_path: Path | None = None,
    progress: bool = False,
    oracle: Oracle | None = None,
) -> Any:
    """Re-run the evaluation of a stored model version (default: the promoted one, else the
    newest) on its held-out window, with the settings recorded in its manifest (and against
    the `oracle`, when one is given)."""
    from features.labels import LabelConfig
    from recommender.embedding.embedders import DEFAULT_EMBEDDER, get_embedder
    from recommender.learning.evaluation import evaluate, prepare_queries
    from recommender.ranking.build import load_model
    from recommender.storage.registry import ModelRegistryError, Registry
    from recommender.storage.usage import asset_vectors, usage_config

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
    scorer = load_model(model_version)
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
    usage = UsageIndex.build(
        data.events,
        data.table,
        data.partners,
        config=usage_config(manifest.get("usage")),
        asset_vectors=asset_vectors(data.catalog, data.table),
    )
    text = DealText.compute(
        data.deals,
        data.catalog,
        data.table,
        embedder,
        cache_path=workspace.cache_path,
        progress=progress,
    )
    encoder = PairEncoder(data.table, data.playbook, data.partners, data.deals, usage, text)
    end = max(split.end, pd.Timestamp(data.events["ts"].max())) + pd.Timedelta(microseconds=1)
    queries = prepare_queries(
        data,
        encoder,
        start=split.test,
        end=end,
        labels=labels,
        max_queries=settings.get("max_queries"),
        seed=int(settings.get("seed", 0)),
        visibility=settings.get("visibility", "frozen"),
    )
    result = evaluate(scorer, queries, data, k=int(settings.get("k", 10)), progress=progress)
    result.details["version"] = name
    return result
