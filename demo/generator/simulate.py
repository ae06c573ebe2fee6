"""`generate`: one world from a config through the open loop, in order: the world (tables,
deals), the heuristic policy, requests and behaviour, outcomes (won with a probability that
rises with what was shared), post-sale requests, organic opens, and the final frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from demo.generator.behaviour import organic, simulate_requests
from demo.generator.config import GeneratorConfig
from demo.generator.deals import POST_SALE
from demo.generator.events import Events, events_frame
from demo.generator.policy import make_policy
from demo.generator.truth import truth_parameters
from demo.generator.world import World

__all__ = ["GeneratedData", "generate"]


@dataclass
class GeneratedData:
    """One generated world: the tables (each valid under its contract) and the config."""

    assets: pd.DataFrame
    partners: pd.DataFrame
    deals: pd.DataFrame
    events: pd.DataFrame
    config: GeneratorConfig

    def truth(self) -> dict[str, Any]:
        """The ground-truth parameters these data were generated from."""
        return truth_parameters(self.config)


def generate(
    config: GeneratorConfig,
    *,
    assets: pd.DataFrame | None = None,
    partners: pd.DataFrame | None = None,
) -> GeneratedData:
    """The open loop: deals and usage events of a portal that ranks by its own heuristic
    (`demo.generator.policy`), not by the engine (see the package docstring for the model).

    A model trained on these logs learns to imitate that display rule, so the demo does not
    use them: `recommender demo` runs the closed loop (`demo.generator.loop.closed_loop`),
    where the engine serves every request. This stays for what needs many events fast and no
    engine: synthetic catalogs and training benchmarks in bench/, fast unit tests.

    `assets` / `partners` replace the demo or synthesized tables when given (validated
    against their contracts first). Deterministic: the same config and tables give identical
    frames. Vectorised over requests: 1M events take about 4 s of CPU with the demo catalog,
    about 30 s with 10k synthesized assets (the policy ranks every eligible asset).
    """
    world = World.build(config, assets=assets, partners=partners)
    a, p, d, truth, sim = world.a, world.p, world.d, world.truth, world.sim
    policy = make_policy(world.rng("policy"), a, p, d)
    events = Events()
    rng_req = world.rng("requests")
    behaviour, n_req = simulate_requests(
        rng_req, config, a, p, d, truth, policy, sim.visits, world.lam, 0, events
    )

    # Outcomes: dropped deals are lost; deals through closing are won with a probability that
    # rises with the utility of what they shared.
    closed = np.flatnonzero(sim.closing_done)
    won = np.zeros(world.n_deals, dtype=bool)
    won[closed] = world.won(behaviour, closed)
    world.closing_outcomes(events, closed, won[closed])
    world.dropped_outcomes(events)

    # Won deals go on into post-sale (adoption, training) until the window ends.
    post_visits = world.post_sale_visits(np.flatnonzero(won))
    simulate_requests(
        rng_req, config, a, p, d, truth, policy, post_visits, world.lam, n_req, events
    )
    last_stage = sim.last_stage.copy()
    last_stage[post_visits["deal"]] = POST_SALE

    all_visits = {key: np.concatenate([sim.visits[key], post_visits[key]]) for key in post_visits}
    organic(world.rng("organic"), world.n_organic, a, p, d, truth, all_visits, events)

    deals = world.deals_frame(last_stage)
    frame = events_frame(
        events.arrays(), a, p, deals["deal_id"].to_numpy(dtype=object), world.start, config.seed
    )
    return GeneratedData(
        assets=world.assets, partners=world.partners, deals=deals, events=frame, config=config
    )
