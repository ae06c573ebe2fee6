"""TrainConfig refuses settings it cannot honour, naming the setting and what it accepts."""

from __future__ import annotations

import pytest

from recommender.learning.train import TrainConfig


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cold_start": "prior"}, "cold_start='prior'; expected one of ['model', 'blend']"),
        ({"examples": "clicks"}, "examples='clicks' is not supported"),
        ({"visibility": "future"}, "visibility='future'; expected 'frozen' or 'rolling'"),
        ({"negatives": 0}, "negatives=0 and context_negatives=40 must be >= 1"),
        ({"test_fraction": 0.95}, "test_fraction=0.95 must be in (0, 0.9)"),
    ],
)
def test_a_setting_it_cannot_honour_is_refused_by_name(changes, message) -> None:
    with pytest.raises(ValueError) as error:
        TrainConfig(**changes)
    assert message in str(error.value)
