"""The logging policy: how the simulated portal ranks what it shows. Deliberately not the
truth: a playbook-like heuristic (DEFAULT_AFFINITY, stage and maturity tags, languages the
partner reads, industry) plus popularity and noise, with some pure exploration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demo.generator.config import DEFAULT_AFFINITY, MATURITIES, STAGES, TYPES
from demo.generator.encoding import Assets, Deals, Partners

__all__ = ["Policy", "eligible", "make_policy", "show"]

# Simulation constants (documented in the package docstring).
_EXPLORATION = 0.1
_POLICY_NOISE = 2.0


@dataclass
class Policy:
    """The logging policy, precomputed per group of requests that score alike.

    score(request, asset) = context[stage, languages read, maturity][asset]
                          + industry[deal industry][asset] + gate[tier, regions][asset]
                          + uniform noise, with time eligibility applied per batch.
    Each table row is one (small) group, so a batch of requests costs a few row gathers.
    """

    context: np.ndarray  # (n_stages * 8 * n_maturities, n_assets) float32
    industry: np.ndarray  # (n_distinct_deal_industries, n_assets) float32
    deal_industry: np.ndarray  # row of `industry` per deal
    gate: np.ndarray  # (n_distinct_partner_gates, n_assets) float32: 0 or -inf
    partner_gate: np.ndarray  # row of `gate` per partner


def make_policy(rng: np.random.Generator, a: Assets, p: Partners, d: Deals) -> Policy:
    """The policy's tables for these assets, partners and deals (popularity drawn from `rng`)."""
    playbook = np.array([[DEFAULT_AFFINITY[s][t] for t in TYPES] for s in STAGES])
    # Popularity: partly quality (good assets get talked about), partly luck.
    log_pop = 0.5 * a.z + 0.8 * rng.standard_normal(a.n)
    n_s, n_m = len(STAGES), len(MATURITIES)
    context = np.empty((n_s, 8, n_m, a.n), dtype=np.float32)
    for s in range(n_s):
        tag = np.where(a.stage_mask == 0, 0.5, ((a.stage_mask >> s) & 1) * 1.0)
        base = 1.2 * playbook[s, a.type] + 0.8 * tag + 0.5 * log_pop
        for lm in range(8):
            reads = (((lm >> np.maximum(a.lang, 0)) & 1) == 1) | (a.lang < 0)
            for m in range(n_m):
                context[s, lm, m] = base + 1.5 * reads + 0.4 * ((a.mat_mask >> m) & 1)
    zero = np.uint64(0)
    industries, deal_industry = np.unique(d.ind, return_inverse=True)
    industry = np.array(
        [0.5 * ((a.ind & ind) != zero) for ind in industries], dtype=np.float32
    ).reshape(len(industries), a.n)
    keys = np.stack([p.tier, p.region.view(np.int64)], axis=1)
    gates, partner_gate = np.unique(keys, axis=0, return_inverse=True)
    gate = np.zeros((len(gates), a.n), dtype=np.float32)
    for g, (tier, region) in enumerate(gates):
        region_u = np.array([region], dtype=np.int64).view(np.uint64)[0]
        ok = a.live & (a.min_tier <= tier)
        ok &= (a.region == zero) | ((a.region & region_u) != zero)
        gate[g, ~ok] = -np.inf
    return Policy(
        context=context.reshape(n_s * 8 * n_m, a.n),
        industry=industry,
        deal_industry=deal_industry.ravel(),
        gate=gate,
        partner_gate=partner_gate.ravel(),
    )


def eligible(a: Assets, p: Partners, pi: np.ndarray, t: np.ndarray, ai: np.ndarray) -> np.ndarray:
    """Which candidate assets ai (B, C) partner pi (B,) may see at times t (B,)."""
    zero = np.uint64(0)
    region = a.region[ai]
    ok = a.live[ai] & (a.pub[ai] <= t[:, None]) & (a.exp[ai] > t[:, None])
    ok &= a.min_tier[ai] <= p.tier[pi][:, None]
    ok &= (region == zero) | ((region & p.region[pi][:, None]) != zero)
    return ok


def show(
    rng: np.random.Generator,
    a: Assets,
    p: Partners,
    d: Deals,
    policy: Policy,
    req_deal: np.ndarray,
    req_stage: np.ndarray,
    req_t: np.ndarray,
    k: int,
) -> np.ndarray:
    """The logging policy's ranked lists: (n_requests, k) asset indices, -1 where fewer than
    k assets were eligible. Requests must be sorted by time (batches span a short period, so
    only assets published or expiring inside it need a per-request date check)."""
    n_req = len(req_deal)
    k_eff = min(k, a.n)
    shown = np.full((n_req, k), -1, dtype=np.int64)
    batch = max(1, 3_000_000 // max(a.n, 1))
    n_m = len(MATURITIES)
    pi_all = d.partner[req_deal]
    group = (req_stage * 8 + p.lang_mask[pi_all]) * n_m + np.maximum(p.maturity[pi_all], 0)
    for lo in range(0, n_req, batch):
        sl = slice(lo, min(lo + batch, n_req))
        dd, t = req_deal[sl], req_t[sl]
        score = policy.context[group[sl]]
        score += policy.industry[policy.deal_industry[dd]]
        explore = rng.random(len(dd)) < _EXPLORATION
        score[explore] = 0.0
        score += policy.gate[policy.partner_gate[pi_all[sl]]]
        t_lo, t_hi = float(t.min()), float(t.max())
        always = (a.pub <= t_lo) & (a.exp > t_hi)
        maybe = (a.pub <= t_hi) & (a.exp > t_lo)
        score += np.where(maybe, 0.0, -np.inf).astype(np.float32)
        unsure = np.flatnonzero(maybe & ~always)
        if len(unsure):
            sub = score[:, unsure]
            sub[(a.pub[unsure] > t[:, None]) | (a.exp[unsure] <= t[:, None])] = -np.inf
            score[:, unsure] = sub
        score += rng.random(score.shape, dtype=np.float32) * np.float32(_POLICY_NOISE)
        if k_eff < a.n:
            part = np.argpartition(score, a.n - k_eff, axis=1)[:, a.n - k_eff :]
        else:
            part = np.tile(np.arange(a.n), (len(dd), 1))
        vals = np.take_along_axis(score, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        top = np.take_along_axis(part, order, axis=1)
        top_vals = np.take_along_axis(vals, order, axis=1)
        top[~np.isfinite(top_vals)] = -1
        shown[sl, :k_eff] = top
    return shown
