"""The click model: its curves, its exact expectations against the simulation they describe,
and the rule that no engine code knows it (or the truth's affinity tables)."""

from __future__ import annotations

import re
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
import yaml

from demo.generator import CONFIGS, VARIANTS, ClickModel, GeneratorConfig, World
from demo.generator.behaviour import respond, schedule_requests
from demo.generator.config import EVENT_TYPES, STAGES, TYPES
from demo.generator.events import Events
from demo.generator.value import slate_value
from features.schema import EventType
from tests.support import PROJECT_ROOT

SLOTS = np.arange(10)


def test_every_curve_starts_at_one_and_falls():
    for curve, decay in (("geometric", 0.8), ("power", 0.9), ("log", 1.0)):
        examine = ClickModel(curve=curve, decay=decay).examine(SLOTS)
        assert examine[0] == 1.0
        assert np.all(np.diff(examine) < 0), curve


def test_the_default_curve_is_not_the_one_the_features_assume():
    """features/usage.py corrects click-through by (1 / log2(p + 2)) ** 1: the generator's
    curve must not be that (the engine has to estimate it from its logs)."""
    assumed = 1.0 / np.log2(SLOTS + 2.0)
    for config in CONFIGS.values():
        assert not np.allclose(config.click_model.examine(SLOTS), assumed, atol=0.02)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"attention_curve": "cascade"}, "attention_curve='cascade' is unknown"),
        ({"attention_decay": 1.5}, r"must be in \(0, 1\]"),
        ({"click_noise": -0.1}, "click_noise=-0.1"),
        ({"exploration": 1.0}, r"exploration=1.0 must be in \[0, 1\)"),
        ({"rounds": 0}, "rounds=0"),
    ],
    ids=["curve", "decay", "noise", "exploration", "rounds"],
)
def test_bad_click_or_display_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GeneratorConfig(**kwargs)


def test_expected_engagement_matches_sampling():
    model = ClickModel(noise=0.8)
    u = np.array([-3.0, -1.0, 0.5, 2.0])
    p_open, graded = model.expected(u)
    rng = np.random.default_rng(0)
    n = 400_000
    x = u[:, None] + model.noise * rng.standard_normal((len(u), n))
    opened = rng.random(x.shape) < 1 / (1 + np.exp(-x))
    down = opened & (rng.random(x.shape) < 1 / (1 + np.exp(-(x - 1))))
    share = opened & (rng.random(x.shape) < 1 / (1 + np.exp(-(x - 2))))
    gain = np.where(share, 3.0, np.where(down, 2.0, np.where(opened, 1.0, 0.0)))
    np.testing.assert_allclose(p_open, opened.mean(axis=1), atol=0.003)
    np.testing.assert_allclose(graded, gain.mean(axis=1), atol=0.01)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_slate_value_is_the_mean_of_the_simulated_behaviour(name):
    """The on-policy value's exact expectation equals what `respond` (the behaviour the loop
    journals) produces on average, for each configuration's click model."""
    config = GeneratorConfig.preset(name, n_assets=40, n_partners=8, n_deals=30, n_events=3000)
    world = World.build(config)
    requests = schedule_requests(world.rng("requests"), world.sim.visits, world.lam)
    requests = requests.take(np.arange(min(40, len(requests))))
    k = config.impressions_per_request
    rng = np.random.default_rng(1)
    shown = np.stack([rng.permutation(world.a.n)[:k] for _ in range(len(requests))])
    opens, graded = slate_value(world, requests, shown)

    reps = 3000
    repeated = requests.take(np.tile(np.arange(len(requests)), reps))
    events = Events()
    respond(
        rng, config, world.a, world.p, world.d, world.truth, repeated, np.tile(shown, (reps, 1)),
        0, events,
    )  # fmt: skip
    ev = pd.DataFrame(events.arrays())
    gains = {EventType.OPEN: 1.0, EventType.DOWNLOAD: 2.0, EventType.SHARE: 3.0}
    ev["gain"] = [gains.get(EVENT_TYPES[code]) for code in ev["type"].astype(int)]
    engaged = ev.dropna(subset=["gain"])
    best = engaged.groupby(["request", "asset"])["gain"].max().groupby(level=0).sum()
    n_opens = engaged[engaged["gain"] == 1.0].groupby("request").size()
    per_request_graded = best.reindex(range(len(repeated)), fill_value=0.0).to_numpy()
    per_request_opens = n_opens.reindex(range(len(repeated)), fill_value=0).to_numpy()
    sim_graded = per_request_graded.reshape(reps, len(requests)).mean(axis=0)
    sim_opens = per_request_opens.reshape(reps, len(requests)).mean(axis=0)
    se = per_request_graded.std() / np.sqrt(reps)
    assert abs(sim_opens.mean() - opens.mean()) < 4 * per_request_opens.std() / np.sqrt(
        reps * len(requests)
    )
    assert np.max(np.abs(sim_graded - graded)) < 5 * se


# ---- nothing the engine reads encodes a hidden parameter of the generator ---------------------

ENGINE_SOURCES = [
    path
    for package in ("features", "recommender")
    for path in sorted((PROJECT_ROOT / package).rglob("*"))
    if path.suffix in (".py", ".yaml", ".yml", ".json", ".toml", ".txt", ".md")
]


def _hidden_names() -> list[str]:
    click = [f.name for f in fields(GeneratorConfig) if f.name.startswith(("attention", "click"))]
    assert click == ["attention_curve", "attention_decay", "click_noise"]
    weights = sorted({k for v in VARIANTS.values() for k in v if k not in ("affinity", "bias")})
    return [*click, *weights, "DEFAULT_AFFINITY", "ALT_AFFINITY", "stage_type_affinity"]


def _affinity_rows() -> list[list[float]]:
    return [
        [float(v[s][t]) for t in TYPES]
        for variant in VARIANTS.values()
        for v in [variant["affinity"]]
        for s in STAGES
    ]


def _number(value: float) -> str:
    """A regex for one table value as code or data would write it (.9, 0.9, 0.90, 1, 1.0)."""
    whole, frac = f"{value:.2f}".split(".")
    frac = frac.rstrip("0")
    if not frac:
        return r"(?:0?\.0+|0)" if whole == "0" else rf"{whole}(?:\.0+)?"
    return rf"{'0?' if whole == '0' else whole}\.{frac}0*"


def test_the_engine_sources_name_no_generator_parameter():
    assert len(ENGINE_SOURCES) > 50
    names = _hidden_names()
    config_source = (PROJECT_ROOT / "demo" / "generator" / "config.py").read_text("utf-8")
    assert all(name in config_source for name in names[:3])  # the check would see them
    for path in ENGINE_SOURCES:
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in names:
            assert name not in text, f"{path.relative_to(PROJECT_ROOT)} names {name!r}"


def test_the_engine_sources_hold_no_copy_of_an_affinity_table():
    """No run of six values of any affinity row, in order, as a list in code or data; and no
    stage x type table in the engine's data files that agrees with one on half its cells."""
    patterns = _row_patterns()
    # The check finds the generator's own tables where they are written down.
    config_source = (PROJECT_ROOT / "demo" / "generator" / "config.py").read_text("utf-8")
    assert sum(bool(p.search(config_source)) for p in patterns) > 0.9 * len(patterns)
    tables = [
        np.array([[v[s][t] for t in TYPES] for s in STAGES])
        for v in (variant["affinity"] for variant in VARIANTS.values())
    ]
    for path in ENGINE_SOURCES:
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern in patterns:
            assert not pattern.search(text), f"{path.relative_to(PROJECT_ROOT)}: {pattern.pattern}"
        if path.suffix in (".yaml", ".yml"):
            for table in _stage_type_tables(yaml.safe_load(text)):
                cells = [(s, t) for s in STAGES for t in TYPES if t in table.get(s, {})]
                for truth in tables:
                    same = sum(
                        np.isclose(float(table[s][t]), truth[STAGES.index(s), TYPES.index(t)])
                        for s, t in cells
                    )
                    assert same < 0.5 * max(len(cells), 1), path.relative_to(PROJECT_ROOT)


def _row_patterns() -> list[re.Pattern[str]]:
    """Regexes of every run of six consecutive values of every affinity row."""
    separator = r"[\s,;:\[\]()]+"
    return [
        re.compile(r"(?<![\d.])" + separator.join(_number(v) for v in row[i : i + 6]) + r"(?![\d])")
        for row in _affinity_rows()
        for i in range(len(row) - 5)
    ]


def _stage_type_tables(node: object) -> list[dict]:
    """Every mapping in a parsed data file whose keys are mostly deal stages."""
    found: list[dict] = []
    if isinstance(node, dict):
        if sum(k in STAGES for k in node) >= 4:
            found.append({k: v for k, v in node.items() if isinstance(v, dict)})
        for value in node.values():
            found.extend(_stage_type_tables(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_stage_type_tables(value))
    return found


def test_the_engine_playbook_is_found_by_the_table_check():
    """The check above reads the default playbook (so a copy of the truth there would fail)."""
    playbook = PROJECT_ROOT / "recommender" / "steering" / "default_playbook.yaml"
    assert playbook in ENGINE_SOURCES
    assert _stage_type_tables(yaml.safe_load(playbook.read_text(encoding="utf-8")))
