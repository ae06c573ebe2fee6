"""Training's side of "serving and training compute features with the same function".

A request gives serving one partner profile, one deal context and a time; training has
millions of (partner, deal, stage, time, asset) rows. `PairEncoder` encodes the partners and
deals of the data once into arrays (what serving reads from the profile and the request: the
partner's maturity, tier, languages and regions; the deal's industry, products, competitors,
buyer role, language and notes), so that a batch of rows is numpy indexing into a
`features.pairs.PairBatch`, then `pair_features` and `UsageIndex.features`: the functions
serving calls. `tests/recommender/learning/test_parity.py` checks the two agree on every
model feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.codes import codes_of, lookup_codes
from features.eligibility import eligible
from features.pairs import (
    LANGUAGES,
    MATURITIES,
    ROLES,
    TIERS,
    AssetTable,
    PairBatch,
    PlaybookMatrices,
    multi_hot,
    pair_features,
)
from features.timebase import micros_to_day
from features.usage import UsageIndex
from recommender.learning.deal_text import DealText


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
