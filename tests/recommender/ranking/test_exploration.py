"""Exploration: reproducible from the request id, never moving pins or showing what is not a
candidate, and logging propensities that match how often items really land in each slot."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from recommender.ranking.exploration import Exploration

RANKED = list(range(10))  # the top 10 (candidate indexes 0..9)
RESERVES = list(range(10, 50))  # the next 40 ranked


def test_no_exploration_serves_the_ranking_with_propensity_one() -> None:
    served = Exploration(rate=0.0).serve(RANKED, RESERVES, pinned=0, request_id="r")
    assert served.items == RANKED and served.propensity == [1.0] * 10
    assert served.propensity_shown == [1.0] * 10 and not any(served.explored)


def test_the_same_request_id_gives_the_same_slate() -> None:
    policy = Exploration(rate=0.3, reserve=20)
    first = policy.serve(RANKED, RESERVES, pinned=0, request_id="req-1")
    assert policy.serve(RANKED, RESERVES, pinned=0, request_id="req-1") == first
    others = {
        tuple(policy.serve(RANKED, RESERVES, pinned=0, request_id=f"r{i}").items) for i in range(50)
    }
    assert len(others) > 40  # and other ids explore differently


def test_pins_stay_and_explored_items_come_from_the_reserves_only() -> None:
    policy = Exploration(rate=0.5, reserve=15)
    for i in range(300):
        served = policy.serve(RANKED, RESERVES, pinned=3, request_id=f"q{i}")
        assert served.items[:3] == [0, 1, 2] and served.propensity[:3] == [1.0] * 3
        assert len(set(served.items)) == 10
        for slot, item in enumerate(served.items):
            assert served.explored[slot] == (item != RANKED[slot])
            if served.explored[slot]:
                assert item in RESERVES[:15]


def test_too_few_reserves_means_no_exploration() -> None:
    served = Exploration(rate=0.9, reserve=30).serve(RANKED, RESERVES[:5], pinned=0, request_id="x")
    assert served.items == RANKED and served.propensity == [1.0] * 10


@pytest.mark.parametrize("pinned", [0, 2], ids=["no-pins", "two-pins"])
def test_logged_propensities_are_how_often_items_land_in_slots(pinned: int) -> None:
    """Over 20,000 request ids, the share of requests that show asset a in slot k equals the
    logged P(a in k), and the share that show a anywhere equals the logged P(shown)."""
    policy = Exploration(rate=0.2, reserve=12)
    runs = 20_000
    in_slot: Counter[tuple[int, int]] = Counter()
    shown: Counter[int] = Counter()
    logged_slot: dict[tuple[int, int], float] = {}
    logged_shown: dict[int, float] = {}
    for i in range(runs):
        served = policy.serve(RANKED, RESERVES, pinned=pinned, request_id=f"run-{i}")
        for slot, item in enumerate(served.items):
            in_slot[(item, slot)] += 1
            shown[item] += 1
            logged_slot[(item, slot)] = served.propensity[slot]
            logged_shown[item] = served.propensity_shown[slot]
    n_open = 10 - pinned
    assert logged_slot[(RANKED[5], 5)] == pytest.approx(0.8)
    assert logged_slot[(RESERVES[0], 5)] == pytest.approx(0.2 / 12)
    assert logged_shown[RESERVES[0]] == pytest.approx(n_open * 0.2 / 12)
    for key, p in logged_slot.items():
        observed = in_slot[key] / runs
        assert abs(observed - p) < 4 * np.sqrt(p * (1 - p) / runs) + 1e-9, (key, observed, p)
    for item, p in logged_shown.items():
        observed = shown[item] / runs
        assert abs(observed - p) < 4 * np.sqrt(p * (1 - p) / runs) + 1e-9, (item, observed, p)
    # explored reserves land in every open slot, evenly
    slots = Counter(slot for (item, slot), c in in_slot.items() for _ in range(c) if item >= 10)
    assert set(slots) == set(range(pinned, 10))
    assert max(slots.values()) / min(slots.values()) < 1.15


def test_the_fallback_rankings_best_join_the_pool_once() -> None:
    """The fallback's first `fallback` items join the reserves unless shown or reserves
    already: here 3 (shown), 12 (a reserve) and four new ones (60..63) of the first six."""
    fallback = [3, 12, 60, 61, 62, 63, 64, 65]
    policy = Exploration(rate=0.5, reserve=10, fallback=6)
    pool = set(RESERVES[:10]) | {60, 61, 62, 63}
    seen: set[int] = set()
    for i in range(400):
        served = policy.serve(RANKED, RESERVES, pinned=0, request_id=f"f{i}", fallback=fallback)
        assert len(set(served.items)) == 10
        for slot, item in enumerate(served.items):
            if served.explored[slot]:
                assert item in pool
                seen.add(item)
                assert served.propensity[slot] == pytest.approx(0.5 / 14)
    assert {60, 61, 62, 63} <= seen and not {64, 65} & seen
    none = Exploration(rate=0.5, reserve=10, fallback=0)
    for i in range(100):
        served = none.serve(RANKED, RESERVES, pinned=0, request_id=f"f{i}", fallback=fallback)
        assert not {60, 61, 62, 63} & set(served.items)


def test_fallback_picks_get_the_propensities_they_are_shown_with() -> None:
    """As above, with the pool grown by fallback picks: the logged P(shown) of a fallback
    pick is how often 30,000 request ids show it."""
    policy = Exploration(rate=0.2, reserve=8, fallback=4)
    fallback = [70, 71, 72, 73]
    runs, shown = 30_000, Counter[int]()
    for i in range(runs):
        served = policy.serve(RANKED, RESERVES, pinned=1, request_id=f"g{i}", fallback=fallback)
        for slot, item in enumerate(served.items):
            if item in fallback:
                shown[item] += 1
                assert served.propensity_shown[slot] == pytest.approx(9 * 0.2 / 12)
    p = 9 * 0.2 / 12
    for item in fallback:
        assert abs(shown[item] / runs - p) < 4 * np.sqrt(p * (1 - p) / runs), item


@pytest.mark.parametrize(
    ("rate", "reserve", "fallback"), [(-0.1, 10, 0), (1.0, 10, 0), (0.1, 0, 0), (0.1, 10, -1)]
)
def test_bad_settings_are_refused(rate: float, reserve: int, fallback: int) -> None:
    with pytest.raises(ValueError, match=r"rate|reserve|fallback"):
        Exploration(rate=rate, reserve=reserve, fallback=fallback)
