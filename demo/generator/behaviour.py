"""What partners do: requests spread over their deals' stage visits, the impressions the
policy shows, and the examine / open / download / share / feedback choices made by the true
utility plus noise; and organic opens found by search (see "Behaviour" in the package
docstring).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demo.generator.clicks import DOWNLOAD_SHIFT, SHARE_SHIFT, sigmoid
from demo.generator.config import GeneratorConfig
from demo.generator.deals import business_hours
from demo.generator.encoding import Assets, Deals, Partners
from demo.generator.events import Events
from demo.generator.policy import Policy, eligible, show
from demo.generator.truth import Truth, utility
from features.schema import EventType

__all__ = [
    "Behaviour",
    "Requests",
    "organic",
    "respond",
    "schedule_requests",
    "sigmoid",
    "simulate_requests",
]

# Simulation constants (documented in the package docstring).
_ORGANIC_CANDIDATES = 40
_FEEDBACK_RATE = 0.1


@dataclass
class Behaviour:
    """Per deal: the summed true utility and the count of the assets its partner shared and
    opened (what decides whether the deal is won). Accumulates over batches of requests."""

    shared_sum: np.ndarray
    shared_n: np.ndarray
    opened_sum: np.ndarray
    opened_n: np.ndarray

    @classmethod
    def zeros(cls, n_deals: int) -> Behaviour:
        return cls(*(np.zeros(n_deals) for _ in range(4)))

    def add(self, other: Behaviour) -> None:
        for name in ("shared_sum", "shared_n", "opened_sum", "opened_n"):
            getattr(self, name)[:] += getattr(other, name)


@dataclass
class Requests:
    """Requests as arrays, sorted by time: the deal, its stage at the request and the time
    (days since the window start)."""

    deal: np.ndarray
    stage: np.ndarray
    t: np.ndarray

    def __len__(self) -> int:
        return len(self.deal)

    def take(self, index: np.ndarray) -> Requests:
        return Requests(self.deal[index], self.stage[index], self.t[index])


def schedule_requests(
    rng: np.random.Generator, visits: dict[str, np.ndarray], lam: float
) -> Requests:
    """1 + Poisson(lam - 1) requests per stage visit (a Bernoulli(lam) one when lam < 1), at
    business-hours times inside the visit, sorted by time (ties by deal)."""
    n_visits = len(visits["deal"])
    if lam >= 1.0:
        counts = 1 + rng.poisson(lam - 1.0, size=n_visits)
    else:
        counts = (rng.random(n_visits) < lam).astype(np.int64)
    req_visit = np.repeat(np.arange(n_visits), counts)
    req_deal = visits["deal"][req_visit]
    req_stage = visits["stage"][req_visit]
    t0, t1 = visits["t0"][req_visit], visits["t1"][req_visit]
    req_t = business_hours(t0 + rng.random(len(req_visit)) * (t1 - t0))
    order = np.lexsort((req_deal, req_t))  # request ids in time order
    return Requests(req_deal[order], req_stage[order], req_t[order])


def simulate_requests(
    rng: np.random.Generator,
    config: GeneratorConfig,
    a: Assets,
    p: Partners,
    d: Deals,
    truth: Truth,
    policy: Policy,
    visits: dict[str, np.ndarray],
    lam: float,
    first_request: int,
    events: Events,
) -> tuple[Behaviour, int]:
    """The open loop: requests inside `visits`, ranked by the heuristic `policy`, and what
    the partner did with them."""
    requests = schedule_requests(rng, visits, lam)
    n_req = len(requests)
    if n_req == 0 or a.n == 0:
        return Behaviour.zeros(len(d.partner)), 0
    k = config.impressions_per_request
    shown = show(rng, a, p, d, policy, requests.deal, requests.stage, requests.t, k)
    behaviour = respond(rng, config, a, p, d, truth, requests, shown, first_request, events)
    return behaviour, n_req


def respond(
    rng: np.random.Generator,
    config: GeneratorConfig,
    a: Assets,
    p: Partners,
    d: Deals,
    truth: Truth,
    requests: Requests,
    shown: np.ndarray,
    first_request: int,
    events: Events,
    propensity: np.ndarray | None = None,
    propensity_shown: np.ndarray | None = None,
) -> Behaviour:
    """Impressions of the slates `shown` ((n_requests, k) asset indices, -1 = empty slot) and
    what the partners did with them, by the click model (`demo.generator.clicks`); request
    j is numbered `first_request + j`. `propensity` / `propensity_shown` (same shape as
    `shown`) are journaled with the impressions when the serving policy knows them."""
    clicks = config.click_model
    n_deals = len(d.partner)
    r_idx, pos = np.nonzero(shown >= 0)
    if len(r_idx) == 0:
        return Behaviour.zeros(n_deals)
    ai = shown[r_idx, pos]
    di = requests.deal[r_idx]
    # The deal's stage at this request (the encoding holds the current stage per deal).
    d_at = d.at(di, requests.stage[r_idx])
    k_rows = np.arange(len(ai))
    u = utility(a, p, d_at, k_rows, ai, truth)
    pi = d.partner[di]
    t = requests.t[r_idx]
    request = first_request + r_idx
    stage = requests.stage[r_idx]
    logged = {}
    if propensity is not None and propensity_shown is not None:
        logged = {
            "propensity": propensity[r_idx, pos],
            "propensity_shown": propensity_shown[r_idx, pos],
        }
    events.add(
        t,
        EventType.IMPRESSION,
        pi,
        asset=ai,
        deal=di,
        request=request,
        position=pos,
        stage=stage,
        **logged,
    )

    examine = rng.random(len(ai)) < clicks.examine(pos)
    u_noisy = u + clicks.noise * rng.standard_normal(len(ai))
    opened = examine & (rng.random(len(ai)) < sigmoid(u_noisy))
    downloaded = opened & (rng.random(len(ai)) < sigmoid(u_noisy - DOWNLOAD_SHIFT))
    shared = opened & (rng.random(len(ai)) < sigmoid(u_noisy - SHARE_SHIFT))
    feedback = opened & (rng.random(len(ai)) < _FEEDBACK_RATE)
    fb_value = np.where(rng.random(len(ai)) < sigmoid(2.0 * u_noisy), 1.0, -1.0)
    minute = 1.0 / 1440.0
    t_open = t + (0.1 + rng.exponential(3.0, len(ai))) * minute
    t_down = t_open + (0.2 + rng.exponential(1.5, len(ai))) * minute
    t_share = t_open + np.minimum(2.0 + rng.exponential(30.0, len(ai)), 180.0) * minute
    t_fb = t_open + (0.5 + rng.exponential(4.0, len(ai))) * minute
    for mask, times, etype in (
        (opened, t_open, EventType.OPEN),
        (downloaded, t_down, EventType.DOWNLOAD),
        (shared, t_share, EventType.SHARE),
    ):
        events.add(
            times[mask],
            etype,
            pi[mask],
            asset=ai[mask],
            deal=di[mask],
            request=request[mask],
            stage=stage[mask],
        )
    events.add(
        t_fb[feedback],
        EventType.FEEDBACK,
        pi[feedback],
        asset=ai[feedback],
        deal=di[feedback],
        request=request[feedback],
        stage=stage[feedback],
        value=fb_value[feedback],
    )
    return Behaviour(
        shared_sum=np.bincount(di[shared], weights=u[shared], minlength=n_deals),
        shared_n=np.bincount(di[shared], minlength=n_deals).astype(np.float64),
        opened_sum=np.bincount(di[opened], weights=u[opened], minlength=n_deals),
        opened_n=np.bincount(di[opened], minlength=n_deals).astype(np.float64),
    )


def organic(
    rng: np.random.Generator,
    n: int,
    a: Assets,
    p: Partners,
    d: Deals,
    truth: Truth,
    visits: dict[str, np.ndarray],
    events: Events,
) -> None:
    """Opens found by search, without an impression: the best of a few random candidates."""
    if n <= 0 or len(visits["deal"]) == 0 or a.n == 0:
        return
    v = rng.integers(0, len(visits["deal"]), size=n)
    di, stage = visits["deal"][v], visits["stage"][v]
    t0, t1 = visits["t0"][v], visits["t1"][v]
    t = business_hours(t0 + rng.random(n) * (t1 - t0))
    pi = d.partner[di]
    c = min(_ORGANIC_CANDIDATES, a.n)
    cand = rng.integers(0, a.n, size=(n, c))
    ctx = d.at(di, stage)
    rows = np.repeat(np.arange(n), c)
    u = utility(a, p, ctx, rows, cand.ravel(), truth).reshape(n, c)
    score = u + rng.gumbel(size=(n, c))
    score[~eligible(a, p, pi, t, cand)] = -np.inf
    best = np.argmax(score, axis=1)
    ok = np.isfinite(score[np.arange(n), best])
    ai = cand[np.arange(n), best][ok]
    ub = u[np.arange(n), best][ok]
    di, pi, stage, t = di[ok], pi[ok], stage[ok], t[ok]
    # A quarter are browsing outside a deal: no deal id, no stage.
    in_deal = rng.random(len(ai)) < 0.75
    deal_col = np.where(in_deal, di, -1)
    stage_col = np.where(in_deal, stage, -1)
    events.add(t, EventType.OPEN, pi, asset=ai, deal=deal_col, stage=stage_col)
    down = rng.random(len(ai)) < sigmoid(ub - 1.0)
    t_down = t + (0.2 + rng.exponential(1.5, len(ai))) / 1440.0
    events.add(
        t_down[down],
        EventType.DOWNLOAD,
        pi[down],
        asset=ai[down],
        deal=deal_col[down],
        stage=stage_col[down],
    )
