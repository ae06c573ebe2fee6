"""Seeded generator of deals and usage logs from a documented ground-truth utility.

Why: a recommender of enablement content can only be evaluated against a truth it does not see.
This module invents one (a utility of every (deal context, asset) pair), simulates partners
working deals through their stages on a portal, and records what they saw, opened, downloaded,
shared, rated and won. In the closed loop (`closed_loop`, what `recommender demo` runs) the
portal is served by the engine itself: its current model answers every request, with
exploration and logged propensities, and is retrained and promoted period after period, so a
model trained on the logs cannot learn a display rule of the generator, only the truth. The open
loop (`generate`) ranks by a heuristic of its own: it is imitable (a model learns that rule)
and stays for benchmarks and fast tests only. The "second" configuration has another seed,
another truth, another click model and another display policy, so a model that merely restates
the playbook, or this generator's habits, loses there.

Ground truth (`true_utility`, deterministic given the config's seed and variant)::

    u(d, a) = w_stage      * A[stage(d), type(a)]          stage x asset-type affinity, 0..1
            + w_maturity   * fit(maturity(p), depth(a))    p = the deal's partner
            + w_industry   * ind(d, a)
            + w_product    * prod(d, a)
            + w_competitor * comp(d, a)
            + w_language   * lang(d, p, a)
            + w_tag        * tag(d, a)
            + quality_std  * z(a)                          latent quality, z ~ N(0, 1)
            + bias

    fit  = clip(1 - |slope * rank(maturity) + offset - rank(depth)| / 1.5, -1, 1); 0 if no depth
           (maturity ranks 0..4 new..strategic, depth ranks 0..3 basic..expert)
    ind  = 1 if the deal's industry is among the asset's, 0.4 if the asset names no industry
           (generic) or the deal has none, else 0
    prod = 1 if deal and asset share a product, 0.4 if the asset names none, else 0
    comp = for battlecards only: +1 if the battlecard's competitor is in the deal, else -1
    lang = 1 if the asset is in the deal's language, 0.6 if in another language the partner
           reads (or has no language), 0 otherwise
    tag  = 1 if the author tagged the asset for the deal's stage, 0.5 if untagged, else 0
    z(a) = a standard normal drawn from blake2b(seed, asset_id): the same asset keeps its
           quality whatever the catalog around it

    variant   A          w_stage w_mat w_ind w_prod w_comp w_lang w_tag q_std slope offset bias
    default   DEFAULT    2.5     1.0   0.8   0.8    1.5    2.0    0.4   0.5   0.75  0.0    -6.2
    alt       ALT        1.2     2.0   1.6   0.3    0.6    1.2    0.0   0.9   0.5   0.75   -5.6

DEFAULT_AFFINITY follows DOMAIN.md (white papers early, reference architectures and calculators
at solution design, ROI/TCO calculators and battlecards at negotiation, training after the
sale). ALT_AFFINITY is a "product-led" vendor: self-serve calculators and datasheets early,
case studies and proposal templates late. `stage_type_affinity` overrides cells of either.

Behaviour (simulation, on top of the truth):
- deals: a partner (more mature / higher tier partners have more deals), an industry and
  products from the partner's profile, 0-2 competitors, a buyer role, a size, a note in the
  deal's language. They start at prospecting (70%), qualification or discovery, spend
  2 + Exp(12) days per stage, drop out (lost) after a stage with probability 25/20/15/12/10%
  (prospecting..negotiation), and after closing are won with probability
  sigmoid(0.2 + 1.0 * s + 0.3 * log(1 + n_shared)), s = mean utility of the assets shared
  in the deal (of those opened minus 0.5 if none shared; -2 if none opened). Won deals
  continue into post_sale. Activity stops at the end of the window; open deals have no outcome.
- requests: spread over the (deal, stage) visits (1 + Poisson per visit) so that there are about
  n_events * (1 - organic_share) / (1.1 * impressions_per_request) in all, at business-hours
  times (08:00-18:00) inside the visit. Each shows impressions_per_request assets (slots
  0..k-1). Closed loop: the engine ranks them (`Recommender.recommend` on the snapshot of the
  period's start, the deal's context at its stage, the partner's stored profile, its
  already-seen assets, exploration `Exploration(exploration, exploration_reserve,
  exploration_fallback)` seeded by the request id; see demo.generator.loop). Open loop: a
  playbook-like heuristic (DEFAULT_AFFINITY, stage and maturity tags, partner language,
  industry) plus log popularity plus uniform noise ranks the eligible assets; 10% of requests
  are pure exploration (random order). Eligible: published, published_at <= request day, not
  expired, partner tier >= min_tier, regions overlap (or none).
- click model (demo.generator.clicks; hidden: no feature may encode it, the engine has to
  estimate position bias from its logs): a partner examines slot p with probability
  examine(p), a curve of the family `attention_curve` with parameter `attention_decay`:

      geometric   decay ** p                    default configuration: decay 0.8
      power       (1 + p) ** -decay             second configuration:  decay 0.9
      log         (1 / log2(p + 2)) ** decay

  opens an examined asset with probability sigmoid(u + click_noise * e), e ~ N(0, 1) per
  impression (click_noise 0.5 default, 0.8 second), then downloads with sigmoid(u' - 1) and
  shares with sigmoid(u' - 2) (u' = the noisy utility); 10% of opens leave feedback +1 with
  probability sigmoid(2 u'), else -1.
- organic opens (about organic_share of the events, no request id or position): searches;
  the partner opens the best of 40 random eligible assets by u + Gumbel noise, and downloads
  it with sigmoid(u - 1); a quarter are browsing outside a deal (no deal id, no stage).
- follow-up events carry the request_id of their impression (to join positions), times a
  few minutes after it; a deal's outcome comes at the end of its last stage, with amount =
  the booked value (won) or the value at stake (lost).
- the quality_std term and the whole truth are deterministic given (seed, variant); the
  noise above is drawn from the seed too, so equal configs give identical frames (and, in the
  closed loop, an identical journal: the engine's exploration is seeded by request ids).
- every event has a unique, deterministic id f"e{seed}-{i}" in timestamp order (in the closed
  loop: in journal order, period by period), every request the id f"r{seed}-{j}".

Configurations (`CONFIGS`, `GeneratorConfig.preset(name, **changes)`):

    name     seed variant curve      decay noise slate exploration reserve rounds
    default  7    default geometric  0.8   0.5   10    0.05        30      4
    second   8    alt     power      0.9   0.8   8     0.10        20      4

On-policy value (`on_policy_value`): a policy (the engine on any snapshot, the oracle's or a
random ranking) served on a seeded sample of the world's requests, its expected opens and
graded engagement per request computed exactly under the click model (demo.generator.value).

Modules (this package's public names are re-exported here; `_resolve_tables` too, for bench/):
    config      GeneratorConfig, CONFIGS, the variants (weights, affinity tables)
    clicks      the click model: examination curves, noise, exact expectations
    truth       true_utility, true_utility_pairs, asset_quality, truth_parameters
    encoding    the tables as arrays (masks, positions, days) the truth and simulation use
    tables      the demo catalog and partners, or synthesized ones (demo.content)
    deals       deals, their context and stage timelines
    world       World: tables, deals, encodings, truth and random streams; outcomes
    policy      the open loop's display heuristic (what its portal shows)
    behaviour   requests, impressions and what partners do with them; organic opens
    events      the event log and its EVENTS frame
    simulate    generate: the open loop, end to end
    portal      the portal asking the engine: request contexts, slates, note vectors
    loop        closed_loop: serve, log with propensities, retrain, promote, serve again
    value       on_policy_value and the policies it measures
    experiment  interleaving and A/B experiments between two policies, judged by the engine
    oracle      GeneratorOracle (recommender.Oracle of a world), oracle_for (demo.oracle)
    writing     write_generated: parquet files and ground_truth.json
"""

from demo.generator.clicks import CURVES, ClickModel
from demo.generator.config import (
    ALT_AFFINITY,
    CONFIGS,
    DEFAULT_AFFINITY,
    VARIANTS,
    GeneratorConfig,
)
from demo.generator.experiment import (
    ABRun,
    EngineExperiment,
    InterleavingRun,
    run_engine_experiment,
    simulate_ab,
    simulate_interleaving,
)
from demo.generator.loop import LoopResult, Period, closed_loop
from demo.generator.portal import PortalError
from demo.generator.simulate import GeneratedData, generate
from demo.generator.tables import DEMO_DIR, load_demo_assets, load_demo_partners, resolve_tables
from demo.generator.truth import asset_quality, true_utility, true_utility_pairs, truth_parameters
from demo.generator.value import (
    EnginePolicy,
    NoisyOraclePolicy,
    OraclePolicy,
    PolicyValue,
    RandomPolicy,
    logged_requests,
    on_policy_value,
    request_sample,
)
from demo.generator.world import World
from demo.generator.writing import write_generated

__all__ = [
    "ALT_AFFINITY",
    "CONFIGS",
    "CURVES",
    "DEFAULT_AFFINITY",
    "DEMO_DIR",
    "VARIANTS",
    "ABRun",
    "ClickModel",
    "EngineExperiment",
    "EnginePolicy",
    "GeneratedData",
    "GeneratorConfig",
    "InterleavingRun",
    "LoopResult",
    "NoisyOraclePolicy",
    "OraclePolicy",
    "Period",
    "PolicyValue",
    "PortalError",
    "RandomPolicy",
    "World",
    "asset_quality",
    "closed_loop",
    "generate",
    "load_demo_assets",
    "load_demo_partners",
    "logged_requests",
    "on_policy_value",
    "request_sample",
    "run_engine_experiment",
    "simulate_ab",
    "simulate_interleaving",
    "true_utility",
    "true_utility_pairs",
    "truth_parameters",
    "write_generated",
]

# bench/bench_recommend.py imports the tables a config resolves to under this older name.
_resolve_tables = resolve_tables
