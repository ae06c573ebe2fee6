"""One generated world before anything is shown: its tables, deals and their stage timelines,
the arrays the truth and the simulation compute on, the truth itself and the random streams
every later step draws from. Both the open loop (`generate`) and the closed loop
(`demo.generator.loop`) start here, so the same config gives the same deals in both.

Also the steps both loops share after the requests: deal outcomes (won with a probability that
rises with what was shared), post-sale visits of won deals, and the DEALS frame at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from demo.generator.behaviour import Behaviour
from demo.generator.clicks import sigmoid
from demo.generator.config import STAGES, GeneratorConfig
from demo.generator.deals import (
    CLOSING,
    POST_SALE,
    STAGE_DAYS,
    DealSim,
    business_hours,
    simulate_deals,
)
from demo.generator.encoding import (
    Assets,
    Deals,
    Partners,
    build_vocabs,
    encode_all,
    encode_partners,
)
from demo.generator.events import Events
from demo.generator.tables import resolve_tables
from demo.generator.truth import Truth, truth_of
from features.schema import DEALS, EventType, Outcome, values

__all__ = ["EVENTS_PER_IMPRESSION", "World"]

# Simulation constants (documented in the package docstring).
_WIN = (0.2, 1.0, 0.3)  # intercept, x mean shared utility, x log(1 + n_shared)
EVENTS_PER_IMPRESSION = 1.1
# Named random streams, each drawn from its own child of the config's seed.
_STREAMS = ("deals", "policy", "requests", "post_sale", "organic", "outcomes", "behaviour")


@dataclass
class World:
    """The tables, deals, encodings and truth of one config; `rng(name)` gives the seeded
    stream of one step (`_STREAMS`), the same on every call."""

    config: GeneratorConfig
    assets: pd.DataFrame
    partners: pd.DataFrame
    sim: DealSim
    a: Assets
    p: Partners
    d: Deals
    truth: Truth
    start: pd.Timestamp
    lam: float  # mean requests per stage visit (meets config.n_events)
    win_draw: np.ndarray  # (n_deals,) uniform: won if below the win probability
    won_amount: np.ndarray  # (n_deals,) booked value if won
    post_days: np.ndarray  # (n_deals,) length of the post-sale visit if won
    _seeds: tuple[np.random.SeedSequence, ...]

    @classmethod
    def build(
        cls,
        config: GeneratorConfig,
        *,
        assets: pd.DataFrame | None = None,
        partners: pd.DataFrame | None = None,
    ) -> World:
        """The world of `config` on its tables (`resolve_tables`: the caller's, validated, or
        the demo's, or synthesized ones)."""
        assets, partners = resolve_tables(config, assets, partners)
        seeds = tuple(np.random.SeedSequence([config.seed, 20250101]).spawn(len(_STREAMS)))
        start = pd.Timestamp(config.start)
        p0 = encode_partners(partners, build_vocabs(assets, partners, None), start)
        rng_deals = np.random.default_rng(seeds[_STREAMS.index("deals")])
        sim = simulate_deals(rng_deals, config, partners, p0, start)
        a, p, d = encode_all(sim.frame, assets, partners, config)
        n = config.n_deals
        rng_out = np.random.default_rng(seeds[_STREAMS.index("outcomes")])
        win_draw = rng_out.random(n)
        won_amount = np.round(sim.size * rng_out.uniform(0.85, 1.05, n), 2)
        rng_post = np.random.default_rng(seeds[_STREAMS.index("post_sale")])
        post_days = STAGE_DAYS[0] + rng_post.exponential(STAGE_DAYS[1] * 2, n)
        k = config.impressions_per_request
        target = config.n_events * (1.0 - config.organic_share) / (EVENTS_PER_IMPRESSION * k)
        expected_post = 0.5 * float(sim.closing_done.sum())
        lam = target / max(1.0, len(sim.visits["deal"]) + expected_post)
        return cls(
            config=config,
            assets=assets,
            partners=partners,
            sim=sim,
            a=a,
            p=p,
            d=d,
            truth=truth_of(config),
            start=start,
            lam=lam,
            win_draw=win_draw,
            won_amount=won_amount,
            post_days=post_days,
            _seeds=seeds,
        )

    def rng(self, name: str) -> np.random.Generator:
        """A fresh generator on the named stream (equal streams for equal configs)."""
        return np.random.default_rng(self._seeds[_STREAMS.index(name)])

    @property
    def n_deals(self) -> int:
        return len(self.d.partner)

    @property
    def deal_ids(self) -> np.ndarray:
        return self.sim.frame["deal_id"].to_numpy(dtype=object)

    @property
    def days(self) -> float:
        return float(self.config.days)

    @property
    def n_organic(self) -> int:
        """How many organic opens the whole window has (about organic_share of the events)."""
        return round(self.config.n_events * self.config.organic_share / 1.3)

    def won(self, behaviour: Behaviour, deals: np.ndarray) -> np.ndarray:
        """Which of `deals` (indices, all through closing) are won, given what their partners
        shared and opened: P(won) = sigmoid(0.2 + s + 0.3 log(1 + n_shared))."""
        b = behaviour
        shared_n, opened_n = b.shared_n[deals], b.opened_n[deals]
        mean_shared = b.shared_sum[deals] / np.maximum(shared_n, 1.0)
        mean_opened = b.opened_sum[deals] / np.maximum(opened_n, 1.0) - 0.5
        s = np.where(shared_n > 0, mean_shared, np.where(opened_n > 0, mean_opened, -2.0))
        p_win = sigmoid(_WIN[0] + _WIN[1] * s + _WIN[2] * np.log1p(shared_n))
        return self.win_draw[deals] < p_win

    def closing_outcomes(self, events: Events, deals: np.ndarray, won: np.ndarray) -> None:
        """The outcome events of `deals` (indices) that finished closing: won or lost."""
        sim = self.sim
        t = business_hours(sim.closing_end[deals])
        outcome = np.where(
            won, values(Outcome).index(Outcome.WON), values(Outcome).index(Outcome.LOST)
        )
        events.add(
            t,
            EventType.DEAL_OUTCOME,
            self.d.partner[deals],
            deal=deals,
            stage=np.full(len(deals), CLOSING),
            outcome=outcome,
            amount=np.where(won, self.won_amount[deals], sim.size[deals]),
        )

    def dropped_outcomes(self, events: Events) -> None:
        """The outcome events of the deals that dropped out of the funnel (lost)."""
        sim = self.sim
        deals = np.flatnonzero(sim.dropped)
        events.add(
            business_hours(sim.dropped_at[deals]),
            EventType.DEAL_OUTCOME,
            self.d.partner[deals],
            deal=deals,
            stage=sim.last_stage[deals],
            outcome=np.full(len(deals), values(Outcome).index(Outcome.LOST)),
            amount=sim.size[deals],
        )

    def post_sale_visits(self, deals: np.ndarray) -> dict[str, np.ndarray]:
        """The post-sale visits of won `deals` (indices) that closed inside the window."""
        deals = deals[self.sim.closing_end[deals] < self.days]
        t0 = self.sim.closing_end[deals]
        return {
            "deal": deals,
            "stage": np.full(len(deals), POST_SALE),
            "t0": t0,
            "t1": np.minimum(t0 + self.post_days[deals], self.days),
        }

    def deals_frame(self, stage: np.ndarray, created_before: float | None = None) -> pd.DataFrame:
        """The DEALS table with each deal's `stage` (indices); only the deals created before
        `created_before` (days) when given."""
        deals = self.sim.frame.copy()
        deals["stage"] = [STAGES[s] for s in stage]
        deals = deals[DEALS.names]
        if created_before is not None:
            cutoff = self.start + pd.Timedelta(days=created_before)
            deals = deals[deals["created_at"] < cutoff].reset_index(drop=True)
        return deals
