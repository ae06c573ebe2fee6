"""The closed loop: the engine serves every request of the generated world, the journal holds
what it served with its propensities, each period is served by the model trained on the ones
before, and the same config gives the same journal. Also the on-policy value and the two
configurations.

One small world (the demo catalog, 200 deals, ~15k events, 3 periods) is run through the loop
once for the module; `build_demo_workspace` runs the same config again for the determinism
test.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from demo import DEMO_DATA
from demo.generator import (
    CONFIGS,
    EnginePolicy,
    GeneratorConfig,
    LoopResult,
    OraclePolicy,
    RandomPolicy,
    closed_loop,
    logged_requests,
    on_policy_value,
    request_sample,
)
from demo.generator.behaviour import Requests
from demo.generator.portal import Portal, PortalError
from demo.oracle import oracle_for
from recommender import (
    EventJournal,
    Recommender,
    Registry,
    Workspace,
    build_snapshot,
    get_embedder,
    import_partners,
    ingest,
    load_playbook,
)
from tests.support import SHARED_EMBED_CACHE

SMALL = GeneratorConfig(n_deals=200, n_events=15_000, rounds=3)


@dataclass
class Run:
    ws: Workspace
    result: LoopResult


def _demo_catalog_workspace(root) -> Workspace:  # type: ignore[no-untyped-def]
    SHARED_EMBED_CACHE.parent.mkdir(parents=True, exist_ok=True)
    ws = Workspace.at(root, embed_cache=SHARED_EMBED_CACHE).ensure()
    load_playbook(ws)
    import_partners(ws, DEMO_DATA / "partners.csv")
    ingest(ws, [DEMO_DATA / "assets.jsonl"], replace=True, progress=False)
    return ws


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    ws = _demo_catalog_workspace(tmp_path_factory.mktemp("loop") / "ws")
    return Run(ws, closed_loop(ws, SMALL, keep_snapshots=True))


def _journal(ws: Workspace) -> pd.DataFrame:
    with EventJournal(ws.events_path) as journal:
        return journal.read()


def test_the_same_config_gives_the_same_journal(run, tmp_path):
    from demo.workspace import build_demo_workspace

    ws = Workspace.at(tmp_path / "again", embed_cache=SHARED_EMBED_CACHE)
    lines = build_demo_workspace(
        ws, n_deals=SMALL.n_deals, n_events=SMALL.n_events, rounds=SMALL.rounds, progress=False
    )
    assert any(line.startswith("closed loop:") for line in lines)
    first, again = _journal(run.ws), _journal(ws)
    assert len(first) > 10_000
    pd.testing.assert_frame_equal(first, again)
    # Request ids come from the seed, in serving order.
    ids = first["request_id"].dropna().unique()
    assert set(ids) == {f"r{SMALL.seed}-{j}" for j in range(len(ids))}
    # The journal is the loop's event frame, in order; the demo ends with the last model
    # promoted and the generator's output beside it (the oracle reads it).
    events = run.result.data.events
    assert first["event_id"].tolist() == events["event_id"].tolist()
    assert first["ts"].is_monotonic_increasing
    registry, first_registry = Registry.of(ws), Registry.of(run.ws)
    promoted = registry.get(registry.promoted() or "")
    first_promoted = first_registry.get(first_registry.promoted() or "")
    assert promoted.manifest["model_sha256"] == first_promoted.manifest["model_sha256"]
    assert len(registry.versions()) == SMALL.rounds
    assert oracle_for(ws) is not None


def test_every_impression_carries_the_propensities_the_engine_served(run):
    journal = _journal(run.ws)
    imp = journal[journal["type"] == "impression"]
    per_request = imp.groupby("request_id")["position"].agg(["min", "count", "nunique"])
    assert (per_request["min"] == 0).all()
    assert (per_request["count"] == per_request["nunique"]).all()
    assert per_request["count"].max() == SMALL.impressions_per_request
    assert imp[["propensity", "propensity_shown"]].notna().all().all()
    assert imp["propensity"].between(0, 1, inclusive="right").all()
    assert (imp["propensity_shown"] >= imp["propensity"]).all()
    rate = SMALL.exploration
    explored = imp[imp["propensity"] < 1 - rate - 1e-9]
    assert len(explored) > 0  # exploration put reserves in some slots
    # Every request of the log was served by the engine under its own id.
    served = run.result.requests
    assert set(imp["request_id"]) == set(served["request_id"])


def test_replayed_requests_get_identical_slates(run):
    """A request replayed through its period's snapshot, exploration and seen assets gets
    exactly the slate and propensities the journal holds."""
    journal = _journal(run.ws)
    imp = journal[journal["type"] == "impression"].sort_values(["request_id", "position"])
    requests = run.result.requests.set_index("request_id")
    explored_ids = imp.loc[imp["propensity"] < 1 - SMALL.exploration - 1e-9, "request_id"]
    rng = np.random.default_rng(0)
    ids = list(dict.fromkeys([*explored_ids.iloc[:3], *rng.choice(requests.index, 5)]))
    portal = Portal(run.result.world)
    for rid in ids:
        row = requests.loc[rid]
        period = run.result.periods[int(row["period"])]
        assert period.snapshot is not None
        again = portal.serve(
            Recommender(period.snapshot),
            Requests(np.array([row["deal"]]), np.array([row["stage"]]), np.array([row["t"]])),
            [rid],
            k=SMALL.impressions_per_request,
            exploration=run.result.exploration,
            seen=period.seen,
        )
        logged = imp[imp["request_id"] == rid]
        shown = [str(run.result.world.a.ids[i]) for i in again.shown[0] if i >= 0]
        assert shown == logged["asset_id"].tolist(), rid
        np.testing.assert_allclose(again.propensity[0, : len(shown)], logged["propensity"])
        np.testing.assert_allclose(
            again.propensity_shown[0, : len(shown)], logged["propensity_shown"]
        )


def test_each_period_is_served_by_the_model_trained_on_the_ones_before(run):
    periods = run.result.periods
    assert len(periods) == SMALL.rounds
    assert periods[0].served_by is None  # no model yet: the playbook prior serves
    assert periods[0].snapshot is not None and periods[0].snapshot.model_version == "playbook"
    for before, after in itertools.pairwise(periods):
        assert after.served_by == before.trained
        assert after.snapshot is not None and after.snapshot.model_version == before.trained
    registry = Registry.of(run.ws)
    trained = [p.trained for p in periods]
    assert sorted(v.name for v in registry.versions()) == sorted(trained)
    promotions = [e["version"] for e in registry.history()["log"] if e["action"] == "promote"]
    assert promotions == trained
    assert registry.promoted() == trained[-1]
    # Only the last model is evaluated; the others were registered without (same models).
    metrics = [registry.get(name).metrics() for name in trained]
    assert all(m is None for m in metrics[:-1]) and metrics[-1] is not None
    assert "true_utility" in metrics[-1]  # the generator's oracle judged it
    for name in trained[:-1]:
        assert "skipped" in registry.get(name).manifest["evaluation"]
    # Each model learned from what was logged before its period ended, nothing later.
    start = pd.Timestamp(SMALL.start)
    for period in periods:
        window = registry.get(period.trained).manifest["data_window"]
        assert pd.Timestamp(window["end"]) < start + pd.Timedelta(days=period.end + 1)
    # Requests are served in time order within each period, and periods follow each other.
    for period in periods:
        t = run.result.requests.loc[run.result.requests["period"] == period.index, "t"]
        assert t.between(period.start, period.end, inclusive="left").all()


def test_a_partner_the_engine_does_not_know_is_an_error_not_a_skip(run):
    portal = Portal(run.result.world)
    snapshot = run.result.periods[0].snapshot
    assert snapshot is not None
    blind = Recommender(snapshot.with_changes(partners={}))
    requests = run.result.requests.iloc[:3]
    with pytest.raises(PortalError, match="cannot serve partner"):
        portal.serve(
            blind,
            Requests(
                requests["deal"].to_numpy(), requests["stage"].to_numpy(), requests["t"].to_numpy()
            ),
            requests["request_id"].tolist(),
            k=SMALL.impressions_per_request,
        )


def test_the_second_configuration_differs_in_seed_truth_clicks_and_display():
    default, second = CONFIGS["default"], CONFIGS["second"]
    assert default == GeneratorConfig()
    assert default.seed != second.seed
    assert default.variant != second.variant
    from demo.generator import truth_parameters

    t_default, t_second = truth_parameters(default), truth_parameters(second)
    assert t_default["stage_type_affinity"] != t_second["stage_type_affinity"]
    assert t_default["weights"] != t_second["weights"]
    assert default.click_model != second.click_model
    positions = np.arange(10)
    assert not np.allclose(
        default.click_model.examine(positions), second.click_model.examine(positions)
    )
    assert default.exploration != second.exploration
    assert default.exploration_reserve != second.exploration_reserve
    assert default.impressions_per_request != second.impressions_per_request
    assert GeneratorConfig.preset("second", n_deals=50).n_deals == 50
    with pytest.raises(ValueError, match="preset='third' is unknown"):
        GeneratorConfig.preset("third")


def test_on_policy_value_ranks_oracle_over_playbook_over_random(run):
    world = run.result.world
    sample = request_sample(run.result.requests, 300, seed=1)
    assert len(sample) == 300
    pd.testing.assert_frame_equal(sample, request_sample(run.result.requests, 300, seed=1))
    playbook = build_snapshot(run.ws, embedder=get_embedder("e5"), use_model=False)
    values = {
        "oracle": on_policy_value(OraclePolicy(), world, sample),
        "playbook": on_policy_value(EnginePolicy(playbook), world, sample),
        "random": on_policy_value(RandomPolicy(seed=3), world, sample),
    }
    for metric in ("opens", "graded"):
        v = {name: getattr(value, metric) for name, value in values.items()}
        assert v["oracle"] > v["playbook"] > v["random"] > 0, (metric, v)
        for value in values.values():
            assert getattr(value, f"{metric}_se") < 0.1 * getattr(value, metric)
    # The journal alone gives the same requests to sample from (for evaluations that start
    # from a workspace, not from the loop's result).
    logged = logged_requests(world, _journal(run.ws))
    served = run.result.requests.sort_values("request_id").reset_index(drop=True)
    logged = logged.sort_values("request_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(logged, served[logged.columns.tolist()], check_dtype=False)
    # Every request counts: exact expectations, one row per sampled request.
    assert len(values["oracle"].per_request) == 300
    assert values["oracle"].graded > values["oracle"].opens  # downloads and shares weigh more


def test_the_demo_command_takes_a_preset_and_rounds_and_survives_a_tiny_log(
    tmp_path, monkeypatch, capsys
):
    """`recommender demo --preset second --rounds 2` on a log too small to learn from at first:
    the first period reports why no model was trained, the playbook serves on, and the
    second configuration's slate size and exploration are what was served."""
    import json

    from cli import main

    monkeypatch.setenv("RECO_EMBED_CACHE", str(SHARED_EMBED_CACHE))
    root = tmp_path / "ws"
    code = main(
        ["--workspace", str(root), "demo", "--generate", "--preset", "second",
         "--deals", "10", "--events", "150", "--rounds", "3"]
    )  # fmt: skip
    assert code == 0
    periods = [line for line in capsys.readouterr().out.splitlines() if "period " in line]
    assert len(periods) == 3
    assert "no model trained (" in periods[0] and "nothing to evaluate" in periods[0]
    assert "served by the playbook" in periods[1]  # the playbook went on serving
    assert "model v" in periods[2] or "served by v" in periods[2]
    ws = Workspace.at(root, embed_cache=SHARED_EMBED_CACHE)
    truth = json.loads((ws.generated_dir / "ground_truth.json").read_text("utf-8"))
    second = CONFIGS["second"]
    assert truth["config"]["seed"] == second.seed and truth["truth"]["variant"] == "alt"
    assert truth["config"]["rounds"] == 3 and truth["config"]["n_deals"] == 10
    imp = _journal(ws).query("type == 'impression'")
    assert imp.groupby("request_id").size().max() == second.impressions_per_request
    explored = imp[imp["propensity"] < 1 - second.exploration - 1e-9]
    # An explored reserve's propensity is rate / pool: all 20 next-ranked reserves are there,
    # and under a model up to 10 of the playbook's best join them.
    pool = second.exploration / explored["propensity"].to_numpy()
    assert len(explored) and np.allclose(pool, np.round(pool))
    assert pool.min() >= second.exploration_reserve
    assert pool.max() <= second.exploration_reserve + second.exploration_fallback
    kept = imp.drop(explored.index)
    assert np.isin(kept["propensity"].round(9), [round(1 - second.exploration, 9), 1.0]).all()


def test_an_engine_experiment_finds_the_truly_better_version(run, tmp_path):
    """End to end in a copy of the loop's workspace: the first period's model against the
    last one's, interleaved by the engine itself on requests of the world, engagement from the
    click model, the report read back from the journal."""
    import shutil

    from demo.generator import World, run_engine_experiment

    ws = Workspace.at(tmp_path / "ws", embed_cache=SHARED_EMBED_CACHE)
    shutil.copytree(run.ws.root, ws.root)
    world = World.build(SMALL)
    first, last = (v.name for v in Registry.of(ws).versions()[:: SMALL.rounds - 1])
    sample = request_sample(run.result.requests, 2500, seed=5)
    out = run_engine_experiment(ws, world, sample, name="e2e", control=first, treatment=last,
                                method="interleave")  # fmt: skip
    report, truth = out.report, out.true_ndcg
    assert report["requests"] == out.requests == len(sample)
    assert report["impressions"] == out.requests * SMALL.impressions_per_request
    better = max(truth, key=truth.get)
    assert report["winner"] == better and report["interleaving"]["p_value"] < 0.05
