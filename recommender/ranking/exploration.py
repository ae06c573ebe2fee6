"""Exploration: a little randomness in what is served, with the probability of every shown
item logged, so that the logs can tell what other rankings would have earned.

The serving policy shows the ranked top n, except that each slot a channel manager did not pin
is, with probability `rate` (epsilon), given instead to a *reserve*, drawn uniformly at random
without replacement from a pool: the next `reserve` ranked candidates, and the `fallback` best
candidates of the fallback ranking (the playbook's, which serves before any model) that are
neither shown nor already in the pool. The second part gives the playbook support under any
model: a learned model rarely ranks the playbook's picks near its top, and an off-policy
estimate can only value an asset that the logging policy could have shown. Hidden assets are
never candidates, so they are never reserves either. The draw is seeded by the request id: the
same request id gives the same answer.

Propensities, exact for this policy (n' = slots not pinned, m = reserves available):

    kept item in its slot            P(in this slot) = P(shown at all) = 1 - epsilon
    pinned item                      1 = 1
    reserve b in slot k              P(in this slot) = epsilon / m      (each exploring slot
                                     gets a uniformly random reserve, whatever the others get)
                                     P(shown at all) = n' epsilon / m
                                     (m = the pool's size, fallback picks included)

Explored reserves land in uniformly random slots, so the engagement they receive by slot
measures how much a slot is looked at (position bias) free of what is shown there.

A request explores only when there are at least as many reserves as slots that could explore
(m >= n'); otherwise it is served as ranked, with propensity 1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Served:
    """What a request shows: items (indexes into the caller's candidate arrays) in slot order,
    each slot's propensities, and which slots hold an explored reserve."""

    items: list[int]
    propensity: list[float]
    propensity_shown: list[float]
    explored: list[bool]


@dataclass(frozen=True)
class Exploration:
    """Per-slot exploration: `rate` (epsilon, 0 = serve the ranking as it is), how many of the
    next-ranked candidates may take a slot (`reserve`) and how many of the fallback ranking's
    best (`fallback`, 0 = none) join them."""

    rate: float = 0.0
    reserve: int = 30
    fallback: int = 10

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate < 1.0:
            raise ValueError(f"rate={self.rate!r} must be in [0, 1) (a share of slots)")
        if self.reserve < 1:
            raise ValueError(f"reserve={self.reserve!r} must be at least 1")
        if self.fallback < 0:
            raise ValueError(f"fallback={self.fallback!r} must be 0 or more")

    @property
    def active(self) -> bool:
        return self.rate > 0.0

    def serve(
        self,
        ranked: Sequence[int],
        reserves: Sequence[int],
        *,
        pinned: int,
        request_id: str,
        fallback: Sequence[int] = (),
    ) -> Served:
        """The slate for `ranked` (the top n, the first `pinned` of them pinned) given the
        next-ranked `reserves` (best first; the first `reserve` of them are used) and the
        fallback ranking's order (best first; its first `fallback` items not in `ranked` or
        among the reserves used join the pool)."""
        n = len(ranked)
        open_slots = list(range(min(pinned, n), n))
        pool = list(reserves[: self.reserve])
        if self.fallback:
            taken = set(ranked) | set(pool)
            pool += [i for i in fallback[: self.fallback] if i not in taken]
        if not self.active or not open_slots or len(pool) < len(open_slots):
            ones = [1.0] * n
            return Served(list(ranked), ones, list(ones), [False] * n)
        rng = np.random.default_rng(stable_seed(request_id))
        explore = rng.random(len(open_slots)) < self.rate
        drawn = rng.permutation(len(pool))[: int(explore.sum())]
        items = list(ranked)
        explored = [False] * n
        slot_p = [1.0] * n
        shown_p = [1.0] * n
        m, n_open = len(pool), len(open_slots)
        picks = iter(drawn.tolist())
        for slot, flag in zip(open_slots, explore.tolist(), strict=True):
            if flag:
                items[slot] = pool[next(picks)]
                explored[slot] = True
                slot_p[slot] = self.rate / m
                shown_p[slot] = n_open * self.rate / m
            else:
                slot_p[slot] = shown_p[slot] = 1.0 - self.rate
        return Served(items, slot_p, shown_p, explored)


def stable_seed(text: str) -> int:
    """A 64-bit seed from a text such as a request id (blake2b: the same in every process and
    Python version, unlike hash()); exploration, interleaving's coins and A/B arms draw from
    it."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
