"""A model's usage settings survive its manifest, and a model trained with the old fixed
examination curve is served with the curve it was trained on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from features.usage import UsageConfig
from recommender.storage.usage import usage_config, usage_settings


def test_settings_round_trip_through_a_json_manifest() -> None:
    config = UsageConfig(half_life_days=12.0, examination=(1.0, 0.6, 0.35))
    back = usage_config(json.loads(json.dumps(usage_settings(config))))
    assert back == config


def test_an_old_manifests_position_bias_gives_its_fixed_curve() -> None:
    old = {"half_life_days": 30.0, "position_bias": 1.0}
    curve = np.array(usage_config(old).examination)
    assert curve[:3] == pytest.approx([1.0, 1 / np.log2(3), 0.5])
    half = np.array(usage_config({"position_bias": 0.5}).examination)
    assert half[1] == pytest.approx(np.sqrt(1 / np.log2(3)))


def test_no_examination_means_no_correction() -> None:
    assert usage_config({}).examination == ()
