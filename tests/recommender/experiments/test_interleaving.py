"""Team-draft interleaving on hand-worked lists: the lists each coin sequence gives, the team
of every slot, exact propensities, the type cap, pins, and the credit of a request."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from recommender.experiments import CONTROL, PINNED, TREATMENT, credit, team_draft

C, T = CONTROL, TREATMENT
CONTROL_LIST = ["a", "b", "c", "d"]
TREATMENT_LIST = ["b", "e", "a", "f"]

# Worked by hand: two coin flips (round 1 and round 2), True = the treatment picks first.
#   F,F: C a, T b, C c, T e      F,T: C a, T b, T e, C c
#   T,F: T b, C a, C c, T e      T,T: T b, C a, T e, C c
HAND_WORKED = {
    ("a", "b", "c", "e"): [C, T, C, T],
    ("a", "b", "e", "c"): [C, T, T, C],
    ("b", "a", "c", "e"): [T, C, C, T],
    ("b", "a", "e", "c"): [T, C, T, C],
}


def test_every_coin_sequence_gives_the_hand_worked_list_and_teams() -> None:
    seen: Counter[tuple[str, ...]] = Counter()
    for i in range(4000):
        got = team_draft(CONTROL_LIST, TREATMENT_LIST, 4, request_id=f"r{i}")
        items = tuple(got.items)
        assert got.teams == HAND_WORKED[items]
        # each list is one of four equally likely outcomes: an item is in its slot in two
        assert got.propensity == [0.5] * 4 and got.propensity_shown == [1.0] * 4
        seen[items] += 1
        assert team_draft(CONTROL_LIST, TREATMENT_LIST, 4, request_id=f"r{i}") == got
    assert set(seen) == set(HAND_WORKED)
    assert all(abs(c / 4000 - 0.25) < 0.03 for c in seen.values())  # 4 sd is 0.027


def test_propensities_are_how_often_items_land_in_slots() -> None:
    """Uneven lists (one team runs out): the logged propensities match the frequencies."""
    control, treatment = ["a", "b", "c", "d", "e", "f"], ["g", "a", "h"]
    runs = 6000
    in_slot: Counter[tuple[str, int]] = Counter()
    logged: dict[tuple[str, int], float] = {}
    for i in range(runs):
        got = team_draft(control, treatment, 5, request_id=f"u{i}")
        assert len(got.items) == 5 and len(set(got.items)) == 5
        for slot, item in enumerate(got.items):
            in_slot[(item, slot)] += 1
            logged[(item, slot)] = got.propensity[slot]
    for key, p in logged.items():
        assert abs(in_slot[key] / runs - p) < 4 * (p * (1 - p) / runs) ** 0.5 + 1e-9, key


def test_pins_come_first_for_no_team_and_are_not_picked_again() -> None:
    got = team_draft(["p", "a", "b"], ["b", "p", "c"], 4, request_id="x", pinned=["p"])
    assert got.items[0] == "p" and got.teams[0] == PINNED and got.propensity[0] == 1.0
    assert sorted(got.items[1:]) == ["a", "b", "c"] and len(set(got.items)) == 4
    assert Counter(got.teams[1:]) in (Counter({C: 2, T: 1}), Counter({C: 1, T: 2}))


def test_the_type_cap_passes_over_items_for_both_teams() -> None:
    def kind(item: str) -> str:
        return item[0]

    for i in range(50):
        got = team_draft(
            ["x1", "x2", "y1", "z1"], ["x3", "y2", "x4", "z2"], 4, request_id=f"t{i}",
            type_of=kind, max_per_type=1,
        )  # fmt: skip
        assert Counter(kind(item) for item in got.items).most_common(1)[0][1] == 1
        assert len(got.items) == 3  # one x, one y, one z: nothing else fits
    with pytest.raises(ValueError, match="max_per_type"):
        team_draft(["a"], ["b"], 2, request_id="r", max_per_type=1)


def test_bad_lists_are_refused() -> None:
    with pytest.raises(ValueError, match=r"control ranking lists 'a' more than once"):
        team_draft(["a", "a"], ["b"], 2, request_id="r")
    with pytest.raises(ValueError, match="n=0"):
        team_draft(["a"], ["b"], 0, request_id="r")


@pytest.mark.parametrize(
    ("engaged", "expected"),
    [({1, 2}, 1), ({0}, -1), ({0, 1}, 0), ({4}, 0), (set(), 0), ([1, 1, 0], 0), ({1, 2, 3}, 1)],
)
def test_credit_counts_engaged_slots_per_team(engaged, expected) -> None:
    assert credit([C, T, T, C, PINNED], engaged) == expected


@pytest.mark.parametrize("seed", range(12))
def test_the_walk_gives_the_probabilities_of_drafting_every_coin_sequence(seed: int) -> None:
    """Against the definition: draft once for each of the 2^rounds coin sequences (each as
    likely) and count where items land; rankings that overlap, types with a cap, pins."""
    from itertools import product

    from recommender.experiments.interleaving import _coins, _draft

    rng = np.random.default_rng(seed)
    pool = [f"a{i}" for i in range(25)]
    kinds = {a: f"t{rng.integers(0, 4)}" for a in pool}
    control = list(rng.permutation(pool)[:18])
    treatment = list(rng.permutation(pool)[:18])
    pinned = list(rng.permutation(pool)[: seed % 3])
    n, cap = 6 + seed % 5, (None, 2, 3)[seed % 3]
    type_of = kinds.__getitem__ if cap else None
    got = team_draft(control, treatment, n, request_id=f"r{seed}", pinned=pinned,
                     type_of=type_of, max_per_type=cap)  # fmt: skip
    rounds = (n - len(pinned) + 1) // 2
    in_slot: Counter[tuple[str, int]] = Counter()
    shown: Counter[str] = Counter()
    outcomes = list(product((False, True), repeat=rounds))
    for coins in outcomes:
        items, _ = _draft(control, treatment, n, pinned, list(coins), type_of, cap)
        for slot, item in enumerate(items):
            in_slot[(item, slot)] += 1
            shown[item] += 1
    expected = [in_slot[(a, s)] / len(outcomes) for s, a in enumerate(got.items)]
    assert got.propensity == pytest.approx(expected, abs=1e-12)
    assert got.propensity_shown == pytest.approx(
        [shown[a] / len(outcomes) for a in got.items], abs=1e-12
    )
    assert (got.items, got.teams) == _draft(
        control, treatment, n, pinned,
        _coins(f"r{seed}", n),
        type_of, cap,
    )  # fmt: skip


def test_coins_are_fair_stable_and_as_many_as_asked() -> None:
    """The coins are the request id's: the same on every call, a longer draw extends a
    shorter one, and over many request ids each round's coin is fair (a binomial test at
    1e-4 on 4,000 fixed ids: deterministic, so it cannot fail by chance)."""
    from scipy.stats import binomtest

    from recommender.experiments.interleaving import _coins

    assert _coins("req-1", 700) == _coins("req-1", 700)
    assert len(_coins("req-1", 700)) == 700
    assert _coins("req-1", 700)[:5] == _coins("req-1", 5)
    assert _coins("req-1", 10) != _coins("req-2", 10)
    draws = np.array([_coins(f"req-{i}", 12) for i in range(4000)])
    for column in draws.T:
        assert binomtest(int(column.sum()), len(column)).pvalue > 1e-4
    # rounds are independent: the first two coins' four outcomes are about equally frequent
    pairs = np.bincount(draws[:, 0] * 2 + draws[:, 1], minlength=4)
    assert pairs.min() > 900 and pairs.max() < 1100
