"""Deals and their stage timelines: which partner works each deal, its context (industry,
products, competitors, buyer role, size, a note in its language), and when it enters, leaves
or drops out of each stage (see "Behaviour" in the package docstring).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demo.content import deal_note
from demo.content.world import COMPETITOR_IDS, INDUSTRY_PRODUCTS, PRODUCT_IDS
from demo.generator.config import STAGES, GeneratorConfig
from demo.generator.encoding import Partners, as_list
from features.schema import BuyerRole, Stage, values

__all__ = [
    "CLOSING",
    "POST_SALE",
    "STAGE_DAYS",
    "DealSim",
    "business_hours",
    "simulate_deals",
]

POST_SALE = STAGES.index(Stage.POST_SALE)
CLOSING = STAGES.index(Stage.CLOSING)

# Simulation constants (documented in the package docstring).
STAGE_DAYS = (2.0, 12.0)  # minimum + exponential mean, per stage visit
_DROP_AFTER = {0: 0.25, 1: 0.20, 2: 0.15, 3: 0.12, 4: 0.10}
_START_STAGE = (0.7, 0.2, 0.1)  # prospecting, qualification, discovery
_SIZE_MEDIAN_EUR = 40_000.0


def business_hours(t: np.ndarray) -> np.ndarray:
    """Map a continuous time in days onto 08:00-18:00 of the same day (monotonic)."""
    day = np.floor(t)
    return day + (8.0 + 10.0 * (t - day)) / 24.0


@dataclass
class DealSim:
    """The simulated deals before their outcomes: the DEALS frame, sizes, stage visits and
    how each deal left the funnel (dropped, or through closing inside the window)."""

    frame: pd.DataFrame  # the DEALS table, before the final stage is known
    size: np.ndarray
    visits: dict[str, np.ndarray]  # deal, stage, t0, t1
    closing_done: np.ndarray  # deal finished closing inside the window (outcome pending)
    closing_end: np.ndarray  # when (days)
    dropped: np.ndarray  # lost by dropping out
    dropped_at: np.ndarray
    last_stage: np.ndarray


def simulate_deals(
    rng: np.random.Generator,
    config: GeneratorConfig,
    partners: pd.DataFrame,
    p: Partners,
    start: pd.Timestamp,
) -> DealSim:
    """`config.n_deals` deals of partners weighted by maturity and tier, with their context
    and their stage timeline (visits of [t0, t1) days per stage)."""
    n = config.n_deals
    days = float(config.days)
    weights = (1.0 + 0.5 * p.maturity) * (1.0 + 0.3 * p.tier)
    # Partners that join too late to work a deal in the window get none (unless all do).
    in_time = p.joined < 0.85 * days
    if in_time.any():
        weights = weights * in_time
    pidx = rng.choice(len(p.ids), size=n, p=weights / weights.sum())
    # A deal starts after its partner joined the programme (and early enough to move on).
    lo = np.clip(p.joined[pidx], 0.0, 0.85 * days)
    created = lo + rng.random(n) * (0.9 * days - lo)
    start_stage = rng.choice(3, size=n, p=_START_STAGE)
    size = np.round(
        np.exp(rng.normal(np.log(_SIZE_MEDIAN_EUR * (1.0 + 0.6 * p.tier[pidx])), 0.8)), -2
    )
    size = np.maximum(size, 1000.0)

    # Context attributes from the partner's profile (a Python loop over deals, not events).
    rnd = random.Random(config.seed * 7919 + 17)
    roles = values(BuyerRole)
    role_w = [2, 3, 2, 3, 3, 2, 1]  # cio cfo cto technical business procurement end_user
    ind_col = partners["industries"].tolist()
    cert_col = partners["certified_products"].tolist()
    lang_col = partners["languages"].tolist()
    competitor_slugs = sorted(COMPETITOR_IDS)
    product_slugs = sorted(PRODUCT_IDS)
    rows = []
    for i in range(n):
        pi = int(pidx[i])
        inds = as_list(ind_col[pi])
        industry = rnd.choice(inds) if inds and rnd.random() < 0.92 else None
        certified = as_list(cert_col[pi])
        pool = INDUSTRY_PRODUCTS.get(industry or "", product_slugs)
        if certified and rnd.random() < 0.7:
            pool = certified
        products = rnd.sample(pool, k=min(len(pool), rnd.choice((1, 1, 1, 2))))
        r = rnd.random()
        n_comp = 2 if r < 0.1 else (1 if r < 0.6 else 0)
        competitors = rnd.sample(competitor_slugs, k=n_comp)
        role = rnd.choices(roles, weights=role_w)[0]
        langs = as_list(lang_col[pi]) or ["en"]
        language = "en" if "en" in langs and rnd.random() < 0.2 else langs[0]
        note = deal_note(
            language=language,
            industry=industry,
            products=products,
            competitors=competitors,
            buyer_role=role,
            size=float(size[i]),
            rnd=rnd,
        )
        rows.append((industry, products, competitors, role, note, language))
    width = max(5, len(str(n)))
    created_ts = start + pd.to_timedelta(np.round(business_hours(created) * 86_400), unit="s")
    frame = pd.DataFrame(
        {
            "deal_id": [f"D{i + 1:0{width}d}" for i in range(n)],
            "partner_id": p.ids[pidx],
            "stage": [STAGES[s] for s in start_stage],
            "industry": [r[0] for r in rows],
            "products": [r[1] for r in rows],
            "size": size,
            "competitors": [r[2] for r in rows],
            "buyer_role": [r[3] for r in rows],
            "notes": [r[4] for r in rows],
            "language": [r[5] for r in rows],
            "created_at": created_ts,
        }
    )

    # Stage timeline, vectorised over deals, one stage at a time.
    t = created.copy()
    alive = np.ones(n, dtype=bool)
    last = start_stage.copy()
    v_deal, v_stage, v_t0, v_t1 = [], [], [], []
    dropped = np.zeros(n, dtype=bool)
    dropped_at = np.full(n, np.nan)
    closing_done = np.zeros(n, dtype=bool)
    closing_end = np.full(n, np.nan)
    for s in range(CLOSING + 1):
        enter = alive & (start_stage <= s) & (t < days)
        alive &= ~((start_stage <= s) & (t >= days))  # window over before this stage
        idx = np.flatnonzero(enter)
        dur = STAGE_DAYS[0] + rng.exponential(STAGE_DAYS[1], size=n)
        end = t + dur
        v_deal.append(idx)
        v_stage.append(np.full(len(idx), s))
        v_t0.append(t[idx])
        v_t1.append(np.minimum(end[idx], days))
        last[idx] = s
        completed = enter & (end < days)
        alive &= ~(enter & ~completed)  # still in this stage when the window ends
        if s < CLOSING:
            drop = completed & (rng.random(n) < _DROP_AFTER[s])
            dropped |= drop
            dropped_at[drop] = end[drop]
            alive &= ~drop
        else:
            closing_done = completed
            closing_end[completed] = end[completed]
        t = np.where(enter, end, t)
    visits = {
        "deal": np.concatenate(v_deal),
        "stage": np.concatenate(v_stage),
        "t0": np.concatenate(v_t0),
        "t1": np.concatenate(v_t1),
    }
    return DealSim(
        frame=frame,
        size=size,
        visits=visits,
        closing_done=closing_done,
        closing_end=closing_end,
        dropped=dropped,
        dropped_at=dropped_at,
        last_stage=last,
    )
