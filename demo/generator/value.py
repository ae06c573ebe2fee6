"""On-policy value: what a policy truly earns per request in a generated world.

A policy (the engine on any snapshot, with or without exploration; or the oracle's or a random
ranking) is served on a fixed, seeded sample of the world's request contexts; for each slate
the expected engagement under the true click model (`demo.generator.clicks`) is computed
exactly, slot by slot:

    opens(request)  = sum over slots p of  examine(p) * E_e[sigmoid(u + noise * e)]
    graded(request) = sum over slots p of  examine(p) * E_e[sigmoid(u') * best gain | u']

u the true utility of (the deal at the request's stage, the asset in slot p); the graded gain is
that of the best engagement (open 1, download 2, share 3: `features.labels.LabelConfig`, no
won bonus). The value is the mean over the sample, with its standard error over requests (the
sample is a sample of contexts; with exploration, also of its draws: `draws` serves each
context that many times under different request ids). These are the numbers off-policy
estimates from the logs are checked against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from demo.generator.behaviour import Requests
from demo.generator.config import STAGES
from demo.generator.policy import eligible
from demo.generator.portal import Portal
from demo.generator.truth import utility
from demo.generator.world import World
from features.labels import LabelConfig
from recommender import Exploration, Recommender, Snapshot, stable_seed

__all__ = [
    "EnginePolicy",
    "NoisyOraclePolicy",
    "OraclePolicy",
    "Policy",
    "PolicyValue",
    "RandomPolicy",
    "logged_requests",
    "on_policy_value",
    "request_arrays",
    "request_sample",
    "slate_ndcg",
    "slate_value",
    "slot_values",
]


class Policy(Protocol):
    """Chooses the slates of requests: (n_requests, k) asset indices of the world, -1 for an
    empty slot. `request_ids` name the requests (and seed any randomness)."""

    def slates(
        self, world: World, requests: Requests, request_ids: list[str], k: int
    ) -> np.ndarray: ...


@dataclass
class EnginePolicy:
    """The engine serving from `snapshot`, as the portal asks it (`Portal.serve`), with
    `exploration` (None: the ranking as it is) and the partners' `seen` assets (None: none)."""

    snapshot: Snapshot
    exploration: Exploration | None = None
    seen: Mapping[str, frozenset[str]] | None = None

    def slates(
        self, world: World, requests: Requests, request_ids: list[str], k: int
    ) -> np.ndarray:
        portal = Portal(world)
        engine = Recommender(self.snapshot)
        served = portal.serve(
            engine, requests, request_ids, k=k, exploration=self.exploration, seen=self.seen
        )
        return served.shown


@dataclass
class OraclePolicy:
    """The truly best slate: eligible assets by true utility, best first."""

    def slates(
        self, world: World, requests: Requests, request_ids: list[str], k: int
    ) -> np.ndarray:
        return _top_k(world, requests, k, lambda u, _rows: u)


@dataclass
class NoisyOraclePolicy:
    """Eligible assets by true utility plus N(0, noise^2) noise drawn per (request id, asset):
    a ranker of known, tunable quality (more noise, worse), the same for the same request."""

    noise: float
    salt: str = "noisy"

    def slates(
        self, world: World, requests: Requests, request_ids: list[str], k: int
    ) -> np.ndarray:
        if self.noise < 0:
            raise ValueError(f"noise={self.noise!r} must be >= 0")

        def noisy(u: np.ndarray, rows: np.ndarray) -> np.ndarray:
            draws = [
                np.random.default_rng(stable_seed(f"{self.salt}|{request_ids[r]}")).standard_normal(
                    u.shape[1]
                )
                for r in rows.tolist()
            ]
            return u + self.noise * np.stack(draws)

        return _top_k(world, requests, k, noisy)


@dataclass
class RandomPolicy:
    """k eligible assets in random order (seeded by `seed`)."""

    seed: int = 0

    def slates(
        self, world: World, requests: Requests, request_ids: list[str], k: int
    ) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        return _top_k(world, requests, k, lambda u, _rows: rng.random(u.shape))


@dataclass(frozen=True)
class PolicyValue:
    """Expected engagements per request: opens and graded gain, each with its standard error
    over the sampled requests; `per_request` holds each request's values (mean over draws)."""

    opens: float
    opens_se: float
    graded: float
    graded_se: float
    requests: int
    draws: int
    per_request: pd.DataFrame

    def to_json(self) -> dict[str, float | int]:
        return {
            "opens": self.opens,
            "opens_se": self.opens_se,
            "graded": self.graded,
            "graded_se": self.graded_se,
            "requests": self.requests,
            "draws": self.draws,
        }


def logged_requests(world: World, events: pd.DataFrame) -> pd.DataFrame:
    """The requests of a log of `world` (its impressions, one row per request id): request_id,
    deal, deal_id, partner_id, stage, t (days), as `LoopResult.requests` has them, so that a
    workspace's journal (`recommender.read_journal`) can be sampled without the loop's result.
    Impressions of deals the world does not have raise ValueError."""
    imp = events[events["type"].astype(str) == "impression"]
    first = imp.sort_values("ts", kind="stable").drop_duplicates("request_id")
    deal_index = {str(d): i for i, d in enumerate(world.deal_ids.tolist())}
    deal = first["deal_id"].astype(str).map(deal_index)
    if deal.isna().any():
        unknown = first.loc[deal.isna(), "deal_id"].iloc[0]
        raise ValueError(f"deal_id={unknown!r} is not a deal of this world")
    ts = pd.to_datetime(first["ts"])
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.DataFrame(
        {
            "request_id": first["request_id"].astype(str).to_numpy(),
            "deal": deal.to_numpy(dtype=np.int64),
            "deal_id": first["deal_id"].astype(str).to_numpy(),
            "partner_id": first["partner_id"].astype(str).to_numpy(),
            "stage": first["stage"].astype(str).map(STAGES.index).to_numpy(dtype=np.int64),
            "t": ((ts - world.start) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64),
        }
    ).reset_index(drop=True)


def request_sample(
    requests: pd.DataFrame,
    n: int = 2000,
    *,
    seed: int = 0,
    start: float | None = None,
    end: float | None = None,
) -> pd.DataFrame:
    """A fixed, seeded sample of `n` requests (rows of `LoopResult.requests` or
    `logged_requests`: request_id, deal, stage, t in days, ...) dated in [start, end) days;
    all of them when fewer."""
    rows = requests
    if start is not None:
        rows = rows[rows["t"] >= start]
    if end is not None:
        rows = rows[rows["t"] < end]
    if len(rows) > n:
        pick = np.sort(np.random.default_rng(seed).choice(len(rows), size=n, replace=False))
        rows = rows.iloc[pick]
    return rows.reset_index(drop=True)


def slate_value(
    world: World, requests: Requests, shown: np.ndarray, gains: LabelConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(opens, graded) expected per request for the slates `shown` ((n, k) asset indices,
    -1 = empty), exactly under the world's click model (module docstring)."""
    opens, graded = slot_values(world, requests, shown, gains)
    return opens.sum(axis=1), graded.sum(axis=1)


def slate_ndcg(world: World, requests: Requests, shown: np.ndarray) -> np.ndarray:
    """Each request's NDCG of the slate `shown` ((n, k), -1 = empty) against the true utility,
    with the gains of `recommender`'s true-utility metrics (sigmoid(u): the probability of an
    open once looked at) and log2 discounts, over the oracle's slate of the same size."""
    k = shown.shape[1]
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = _top_k(world, requests, k, lambda u, _rows: u)

    def dcg(slates: np.ndarray) -> np.ndarray:
        r_idx, slot = np.nonzero(slates >= 0)
        gains = np.zeros(slates.shape)
        u = _utility(world, requests, r_idx, slates[r_idx, slot])
        gains[r_idx, slot] = 1.0 / (1.0 + np.exp(-np.clip(u, -30, 30)))
        return (gains * discount).sum(axis=1)

    best = dcg(ideal)
    return np.divide(dcg(shown), best, out=np.zeros(len(best)), where=best > 0)


def slot_values(
    world: World, requests: Requests, shown: np.ndarray, gains: LabelConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(opens, graded), each (n, k): the probability that the partner engages with the asset
    in each slot and the expected gain of it, under the world's click model (0 where the slot
    is empty)."""
    gains = gains or LabelConfig()
    clicks = world.config.click_model
    r_idx, slot = np.nonzero(shown >= 0)
    opens, graded = np.zeros(shown.shape), np.zeros(shown.shape)
    if len(r_idx) == 0:
        return opens, graded
    u = _utility(world, requests, r_idx, shown[r_idx, slot])
    p_open, gain = clicks.expected(u, (gains.open, gains.download, gains.share))
    examine = clicks.examine(slot)
    opens[r_idx, slot] = examine * p_open
    graded[r_idx, slot] = examine * gain
    return opens, graded


def on_policy_value(
    policy: Policy,
    world: World,
    requests: pd.DataFrame,
    *,
    k: int | None = None,
    draws: int = 1,
    gains: LabelConfig | None = None,
    salt: str = "value",
) -> PolicyValue:
    """The true expected engagement per request of `policy` on `requests` (a sample:
    `request_sample`), top `k` (the world's slate size by default); see the module docstring.

    Each request is served `draws` times, under the ids "{request_id}/{salt}{draw}" (they seed
    the engine's exploration), and its values averaged over the draws."""
    if draws < 1:
        raise ValueError(f"draws={draws!r} must be at least 1")
    k = k or world.config.impressions_per_request
    arrays, ids = request_arrays(requests)
    opens = np.zeros(len(arrays))
    graded = np.zeros(len(arrays))
    for draw in range(draws):
        shown = policy.slates(world, arrays, [f"{r}/{salt}{draw}" for r in ids], k)
        o, g = slate_value(world, arrays, shown, gains)
        opens += o / draws
        graded += g / draws
    n = len(arrays)
    return PolicyValue(
        opens=float(opens.mean()) if n else 0.0,
        opens_se=_se(opens),
        graded=float(graded.mean()) if n else 0.0,
        graded_se=_se(graded),
        requests=n,
        draws=draws,
        per_request=pd.DataFrame({"request_id": ids, "opens": opens, "graded": graded}),
    )


def request_arrays(requests: pd.DataFrame) -> tuple[Requests, list[str]]:
    """A frame of requests (request_id, deal, stage, t) as the arrays policies serve, and the
    request ids."""
    arrays = Requests(
        requests["deal"].to_numpy(dtype=np.int64),
        requests["stage"].to_numpy(dtype=np.int64),
        requests["t"].to_numpy(dtype=np.float64),
    )
    return arrays, requests["request_id"].astype(str).tolist()


def _se(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def _utility(world: World, requests: Requests, rows: np.ndarray, assets: np.ndarray) -> np.ndarray:
    """True utility of (request rows[i]'s deal at its stage, assets[i])."""
    at = world.d.at(requests.deal[rows], requests.stage[rows])
    return utility(world.a, world.p, at, np.arange(len(rows)), assets, world.truth)


def _top_k(
    world: World,
    requests: Requests,
    k: int,
    score: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """The top `k` eligible assets of each request by `score(u, rows)` ((B, n_assets) true
    utilities of a chunk of requests -> scores); -1 where fewer are eligible."""
    n, n_assets = len(requests), world.a.n
    out = np.full((n, k), -1, dtype=np.int64)
    chunk = max(1, 2_000_000 // max(n_assets, 1))
    cols = np.arange(n_assets)
    for lo in range(0, n, chunk):
        rows = np.arange(lo, min(lo + chunk, n))
        pairs_r = np.repeat(rows, n_assets)
        pairs_a = np.tile(cols, len(rows))
        u = _utility(world, requests, pairs_r, pairs_a).reshape(len(rows), n_assets)
        ok = eligible(
            world.a,
            world.p,
            world.d.partner[requests.deal[rows]],
            requests.t[rows],
            np.broadcast_to(cols, (len(rows), n_assets)),
        )
        s = np.where(ok, score(u, rows), -np.inf)
        top = np.argsort(-s, axis=1, kind="stable")[:, :k]
        top_s = np.take_along_axis(s, top, axis=1)
        out[rows, : top.shape[1]] = np.where(np.isfinite(top_s), top, -1)
    return out
