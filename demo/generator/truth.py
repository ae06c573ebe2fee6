"""The ground truth: the utility of a (deal context, asset) pair, by the formula the package
docstring documents, with the weights and affinity table of the config's variant.

`true_utility` scores every pair of two tables, `true_utility_pairs` aligned rows, and
`utility` encoded pairs (what the simulation calls); `asset_quality` is the latent quality
term alone. Deterministic given (seed, variant).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from demo.generator.config import STAGES, TYPES, VARIANTS, GeneratorConfig
from demo.generator.encoding import Assets, Deals, Partners, encode_all, hash_normal

__all__ = [
    "Truth",
    "asset_quality",
    "true_utility",
    "true_utility_pairs",
    "truth_of",
    "truth_parameters",
    "utility",
]


@dataclass(frozen=True)
class Truth:
    """The truth of one config as numbers: the affinity matrix and the weights."""

    affinity: np.ndarray  # (n_stages, n_types)
    w_stage: float
    w_maturity: float
    w_industry: float
    w_product: float
    w_competitor: float
    w_language: float
    w_tag: float
    quality_std: float
    depth_slope: float
    depth_offset: float
    bias: float


def _affinity_table(config: GeneratorConfig) -> dict[str, dict[str, float]]:
    base = VARIANTS[config.variant]["affinity"]
    table = {s: dict(base[s]) for s in STAGES}
    for stage, row in (config.stage_type_affinity or {}).items():
        for atype, value in row.items():
            table[stage][atype] = float(value)
    return table


def truth_parameters(config: GeneratorConfig) -> dict[str, Any]:
    """The truth of `config` as plain JSON-able data: variant, weights, affinity table."""
    params = {k: v for k, v in VARIANTS[config.variant].items() if k != "affinity"}
    if config.quality_std is not None:
        params["quality_std"] = float(config.quality_std)
    return {
        "variant": config.variant,
        "seed": config.seed,
        "weights": params,
        "stage_type_affinity": _affinity_table(config),
    }


def truth_of(config: GeneratorConfig) -> Truth:
    """The truth of `config` as numbers (the affinity table as a stages x types matrix)."""
    params = truth_parameters(config)
    table = params["stage_type_affinity"]
    matrix = np.array([[table[s][t] for t in TYPES] for s in STAGES], dtype=np.float64)
    return Truth(affinity=matrix, **params["weights"])


def asset_quality(asset_ids: Iterable[str], config: GeneratorConfig) -> np.ndarray:
    """Latent quality of each asset (the `quality_std * z(a)` term), deterministic per
    (seed, asset_id) and independent of the catalog around the asset."""
    z = hash_normal(list(asset_ids), config.seed)
    return truth_of(config).quality_std * z


def utility(
    a: Assets, p: Partners, d: Deals, di: np.ndarray, ai: np.ndarray, truth: Truth
) -> np.ndarray:
    """u for the pairs (deal di[k], asset ai[k]); see the package docstring."""
    stage = d.stage[di]
    pi = d.partner[di]
    aff = truth.affinity[stage, a.type[ai]]
    depth = a.depth[ai]
    ideal = truth.depth_slope * p.maturity[pi] + truth.depth_offset
    fit = np.where(np.isnan(depth), 0.0, np.clip(1.0 - np.abs(ideal - depth) / 1.5, -1.0, 1.0))
    zero = np.uint64(0)
    a_ind, d_ind = a.ind[ai], d.ind[di]
    ind = np.where((a_ind == zero) | (d_ind == zero), 0.4, ((a_ind & d_ind) != zero) * 1.0)
    a_prod = a.prod[ai]
    prod = np.where(a_prod == zero, 0.4, ((a_prod & d.prod[di]) != zero) * 1.0)
    comp = np.where(a.battlecard[ai], np.where((a.comp[ai] & d.comp[di]) != zero, 1.0, -1.0), 0.0)
    al = a.lang[ai]
    reads = ((p.lang_mask[pi] >> np.maximum(al, 0)) & 1) == 1
    lang = np.where(al < 0, 0.6, np.where(al == d.lang[di], 1.0, np.where(reads, 0.6, 0.0)))
    sm = a.stage_mask[ai]
    tag = np.where(sm == 0, 0.5, ((sm >> stage) & 1) * 1.0)
    return (
        truth.w_stage * aff
        + truth.w_maturity * fit
        + truth.w_industry * ind
        + truth.w_product * prod
        + truth.w_competitor * comp
        + truth.w_language * lang
        + truth.w_tag * tag
        + truth.quality_std * a.z[ai]
        + truth.bias
    )


def true_utility(
    deals: pd.DataFrame, assets: pd.DataFrame, partners: pd.DataFrame, config: GeneratorConfig
) -> np.ndarray:
    """Ground-truth utility of every (deal, asset) pair, shape (len(deals), len(assets)).

    Each deal row is a context: its `stage`, `industry`, `products`, `competitors`,
    `language` and partner are used. To score a request at another stage than the deal's
    final one, pass a copy of the deal row with `stage` replaced. Latent quality depends on
    config.seed and the asset id only; per-impression noise is not included.
    """
    a, p, d = encode_all(deals, assets, partners, config)
    truth = truth_of(config)
    out = np.empty((len(d.stage), a.n), dtype=np.float64)
    chunk = max(1, 2_000_000 // max(a.n, 1))
    cols = np.arange(a.n)
    for lo in range(0, len(d.stage), chunk):
        rows = np.arange(lo, min(lo + chunk, len(d.stage)))
        di = np.repeat(rows, a.n)
        ai = np.tile(cols, len(rows))
        out[rows] = utility(a, p, d, di, ai, truth).reshape(len(rows), a.n)
    return out


def true_utility_pairs(
    deal_rows: pd.DataFrame,
    asset_rows: pd.DataFrame,
    partners: pd.DataFrame,
    config: GeneratorConfig,
) -> np.ndarray:
    """Ground-truth utility of aligned pairs: row k of `deal_rows` with row k of `asset_rows`
    (equal lengths; rows may repeat). Same formula and conventions as `true_utility`."""
    if len(deal_rows) != len(asset_rows):
        raise ValueError(
            f"deal_rows has {len(deal_rows)} rows but asset_rows has {len(asset_rows)}; "
            "pairs must be aligned"
        )
    a, p, d = encode_all(deal_rows, asset_rows, partners, config)
    k = np.arange(len(deal_rows))
    return utility(a, p, d, k, k, truth_of(config))
