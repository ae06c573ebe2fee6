"""A/B arms: sticky for a partner, balanced in the asked share, independent across
experiments."""

from __future__ import annotations

import pytest

from recommender.experiments import CONTROL, TREATMENT, arm

PARTNERS = [f"P{i:05d}" for i in range(20_000)]


@pytest.mark.parametrize("share", [0.5, 0.2])
def test_arms_are_split_in_the_asked_share(share: float) -> None:
    treated = sum(arm("exp-1", p, share) == TREATMENT for p in PARTNERS)
    sd = (len(PARTNERS) * share * (1 - share)) ** 0.5
    assert abs(treated - share * len(PARTNERS)) < 4 * sd


def test_a_partner_keeps_its_arm_and_experiments_split_independently() -> None:
    first = [arm("exp-1", p) for p in PARTNERS[:2000]]
    assert [arm("exp-1", p) for p in PARTNERS[:2000]] == first
    other = [arm("exp-2", p) for p in PARTNERS[:2000]]
    agree = sum(a == b for a, b in zip(first, other, strict=True))
    assert abs(agree - 1000) < 4 * (2000 * 0.25) ** 0.5  # as if drawn anew
    # the experiment name and the partner id cannot slide into each other
    assert [arm("ab", "c" + p[1:]) for p in PARTNERS[:200]] != [
        arm("a", "bc" + p[1:]) for p in PARTNERS[:200]
    ]
    assert set(first) == {CONTROL, TREATMENT}


@pytest.mark.parametrize(
    ("experiment", "partner", "share"),
    [("e", "p", 0.0), ("e", "p", 1.0), ("", "p", 0.5), ("e", "", 0.5)],
)
def test_bad_arguments_are_refused(experiment: str, partner: str, share: float) -> None:
    with pytest.raises(ValueError, match=r"share|needs"):
        arm(experiment, partner, share)
