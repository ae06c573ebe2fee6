"""Seen assets move by ranks, not by score units: the same for any scorer's scale."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.ranking.seen import MAX_RETURN_RATIO, seen_order


def _rank_of(order: list[int], item: int) -> int:
    return order.index(item)


@pytest.mark.parametrize(
    ("rank", "ratio", "expected"),
    [(0, 0.5, 1), (9, 0.5, 19), (0, 0.25, 3), (4, 1.0, 4), (9, 2.0, 5), (0, 2.0, 0)],
)
def test_a_seen_asset_moves_to_where_its_worth_times_the_ratio_falls(rank, ratio, expected):
    """Rank k is worth 1/(k+1), a seen asset ratio times that, and an unseen asset of equal
    worth goes first: at rank 9 with ratio 0.5 it is worth 1/20, as rank 19 is, so 19 assets
    (ranks 0-8 and 10-19) go before it; with ratio 2 it is worth 1/5, as rank 4 is: five
    before it."""
    scores = np.linspace(1.0, 0.0, 40)
    seen = np.zeros(40, dtype=bool)
    seen[rank] = True
    assert _rank_of(seen_order(scores, seen, ratio), rank) == expected


def test_the_order_is_the_same_under_any_increasing_transform_of_the_scores():
    rng = np.random.default_rng(3)
    content_like = rng.uniform(0.55, 0.85, 200)  # flat, as the content scorer's
    learned_like = np.exp(40 * (content_like - 0.85))  # steep probabilities, same order
    seen = rng.random(200) < 0.1
    assert seen_order(content_like, seen, 0.4) == seen_order(learned_like, seen, 0.4)


def test_nothing_seen_or_a_ratio_of_one_keeps_the_score_order():
    scores = np.array([0.2, 0.9, 0.5, 0.9])
    by_score = [1, 3, 2, 0]  # ties keep their order
    assert seen_order(scores, np.zeros(4, dtype=bool), 0.3) == by_score
    assert seen_order(scores, np.ones(4, dtype=bool), 1.0) == by_score


def test_a_measured_ratio_is_bounded():
    scores = np.linspace(1.0, 0.0, 100)
    seen = np.zeros(100, dtype=bool)
    seen[50] = True
    huge = seen_order(scores, seen, 1000.0)
    bounded = seen_order(scores, seen, MAX_RETURN_RATIO)
    assert huge == bounded and _rank_of(huge, 50) == 12  # 4/51 lies between 1/12 and 1/13
