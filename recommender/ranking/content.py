"""The content scorer: how assets are ranked before any usage log exists, and for what the logs
know little about (the learned scorer's prior). The playbook prior, the deal notes' semantic
similarity and metadata matches, each in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ContentScorer:
    """Cold-start scorer: playbook prior, semantic match to the notes, metadata matches.

    score = w_prior * prior + w_text * text_relevance + w_meta * metadata_fit, each in [0, 1].
    Without notes text the text weight is shared out between the other two.
    """

    version: str = "playbook"
    w_prior: float = 0.45
    w_text: float = 0.30
    w_meta: float = 0.25

    def score(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        prior = columns["prior"]
        meta = metadata_fit(columns)
        sem = columns["semantic"]
        has_text = columns["has_text"] > 0
        if has_text.any() and len(sem):
            lo, hi = float(np.min(sem)), float(np.max(sem))
            rel = (sem - lo) / (hi - lo) if hi > lo else np.zeros_like(sem)
            with_text = self.w_prior * prior + self.w_text * rel + self.w_meta * meta
        else:
            with_text = np.zeros_like(prior)
        total = self.w_prior + self.w_meta
        without = (self.w_prior / total) * prior + (self.w_meta / total) * meta
        return np.where(has_text, with_text, without).astype(np.float32)


def metadata_fit(columns: dict[str, np.ndarray]) -> np.ndarray:
    """How well an asset's tags fit the deal, in [0, 1] (untagged counts as half a match)."""
    stage = np.where(
        columns["stage_tagged"] > 0, 1.0, np.where(columns["stage_untagged"] > 0, 0.5, 0.0)
    )
    maturity = np.where(
        columns["maturity_untagged"] > 0,
        0.6,
        np.clip(1.0 - columns["maturity_distance"] / 2.0, 0, 1),
    )
    industry = np.where(
        columns["industry_match"] > 0, 1.0, np.where(columns["industry_agnostic"] > 0, 0.5, 0.0)
    )
    product = np.where(
        columns["product_match"] > 0, 1.0, np.where(columns["product_agnostic"] > 0, 0.5, 0.0)
    )
    # A battlecard against another competitor than the one in the deal is of little use.
    competitor = np.where(
        columns["competitor_match"] > 0, 1.0, np.where(columns["is_type_battlecard"] > 0, 0.2, 0.6)
    )
    role = np.where(columns["role_match"] > 0, 1.0, 0.6)
    language = np.where(columns["language_match"] > 0, 1.0, 0.7)
    return (
        0.2 * stage
        + 0.2 * maturity
        + 0.2 * industry
        + 0.15 * product
        + 0.1 * competitor
        + 0.05 * role
        + 0.1 * language
    ).astype(np.float32)
