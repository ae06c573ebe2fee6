"""Training end to end on a small demo log, through the `recommender` command as a user runs
it: a complete model version (manifest, metrics, card), a time split with no leakage, the
learning CLI (evaluate, models, events), and the pipeline serving the promoted model.

The workspace is the demo catalog (embedded once per machine into the shared test cache) with
300 generated deals and ~30k events.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cli import main
from features.pairs import MODEL_FEATURES
from recommender.storage.registry import Registry
from recommender.workspace import Workspace
from tests.support import SHARED_EMBED_CACHE

BASELINES = ("popularity", "segment_popularity", "semantic", "playbook")
METRICS = {"ndcg@10", "recall@10", "map@10", "mrr", "coverage@10"}


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {"RECO_EMBED_CACHE": str(SHARED_EMBED_CACHE)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from demo.workspace import build_demo_workspace

    SHARED_EMBED_CACHE.parent.mkdir(parents=True, exist_ok=True)
    # A folder name with markup in it: the model card must escape it.
    root = tmp_path_factory.mktemp("learning") / "ws<b>demo</b>"
    workspace = Workspace.at(root, embed_cache=SHARED_EMBED_CACHE)
    build_demo_workspace(workspace, n_deals=300, n_events=30_000, regenerate=True, progress=False)
    return workspace


@pytest.fixture(scope="module")
def trained(ws: Workspace):
    before = {v.name for v in Registry.of(ws).versions()}  # the demo's closed loop trained some
    code, out, err = cli("--workspace", str(ws.root), "train", "--no-progress", "--trees", "60")
    assert code == 0, err
    new = [v for v in Registry.of(ws).versions() if v.name not in before]
    assert len(new) == 1
    return new[0], out


def test_train_writes_a_complete_version(trained):
    version, out = trained
    assert f"trained {version.name}" in out and "promote it with" in out
    manifest = version.manifest
    window = manifest["data_window"]
    assert window["start"] < window["validation"] < window["test"] < window["end"]
    assert window["source"].endswith("events.sqlite")
    assert manifest["features"] == list(MODEL_FEATURES)
    assert manifest["counts"]["events"] > 25_000 and manifest["counts"]["fit_examples"] > 0
    assert set(manifest["code_version"]) == {"package", "git", "features_sha256"}
    import hashlib

    data = (version.path / "model.json").read_bytes()
    assert manifest["model_sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["training"]["stage_seconds"]["fit"] > 0
    assert manifest["training"]["position_aware"] is True  # the default (TrainConfig)
    assert manifest["warnings"] == []  # every event's deal is stored


def test_metrics_have_the_contract_shape(trained):
    version, _ = trained
    metrics = version.metrics()
    assert set(metrics) == {"k", "models", "slices", "true_utility", "off_policy"}
    assert metrics["k"] == 10
    # the demo's closed loop journals propensities, as the API does
    assert set(metrics["off_policy"]) == {
        "available", "reward", "requests", "slots", "logged_policy_value", "position_bias",
        "models",
    }  # fmt: skip
    truth = metrics["true_utility"]  # the demo's generator knows the truth
    assert set(truth["models"]) == {"learned", *BASELINES, "oracle"}
    assert truth["models"]["oracle"] == {"ndcg@10": 1.0, "recall@10": 1.0}
    for values in truth["models"].values():
        assert set(values) == {"ndcg@10", "recall@10"}
        assert all(0.0 <= v <= 1.0 for v in values.values())
    assert "learned" in truth["slices"]["cold_start_assets"]
    assert truth["summary"]["best_baseline"] in BASELINES
    assert set(metrics["models"]) == {"learned", *BASELINES, "oracle"}
    for values in metrics["models"].values():
        assert set(values) == METRICS
        assert all(0.0 <= v <= 1.0 for v in values.values())
    slices = metrics["slices"]
    assert "cold_start_assets" in slices
    assert any(s.startswith("stage=") for s in slices) and any(
        s.startswith("maturity=") for s in slices
    )
    for per_model in slices.values():
        assert "learned" in per_model and "playbook" in per_model


def test_the_learned_model_beats_the_baselines_against_the_truth(trained):
    """Judged by the generator's true utility, not by what the portal happened to show (the
    logged metrics reward imitating the logging policy)."""
    truth = trained[0].metrics()["true_utility"]
    models = truth["models"]
    assert models["learned"]["ndcg@10"] > models["playbook"]["ndcg@10"]
    assert models["learned"]["ndcg@10"] > models["popularity"]["ndcg@10"]
    assert models["oracle"]["ndcg@10"] == pytest.approx(1.0)
    cold = truth["slices"]["cold_start_assets"]
    # new assets are scored by the model itself (trained on copies shown as new), not the
    # playbook: it ranks them better by the truth
    assert cold["learned"]["ndcg@10"] > cold["playbook"]["ndcg@10"]


def test_new_assets_and_partners_are_scored_by_the_model_by_default(trained):
    version, _ = trained
    training = version.manifest["training"]
    assert training["cold_start"] == "model"
    assert training["cold_start_strength"] == 0.0  # no blend with the prior
    assert training["cold_asset_weight"] == 1.0 and training["new_partner_weight"] == 1.0


def test_model_card_is_self_contained_and_escaped(trained):
    version, _ = trained
    html = version.card_path.read_text(encoding="utf-8")
    assert (
        html.count('src="data:image/png;base64,') >= 4
    )  # metrics, importance, calibration, slices
    assert "ws&lt;b&gt;demo&lt;/b&gt;" in html and "<b>demo</b>" not in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere
    assert "It scores new assets and partners itself" in html  # the default cold-start rule
    for heading in (
        "Against the true utility",
        "Logged engagement on the held-out window",
        "Feature importance",
        "Calibration",
        "Per stage",
        "Per maturity",
    ):
        assert heading in html


def test_evaluate_json_reproduces_the_training_metrics(ws, trained):
    version, _ = trained
    code, out, err = cli(
        "--workspace", str(ws.root), "evaluate", "--json", "--version", version.name
    )
    assert code == 0, err
    assert json.loads(out) == version.metrics()


def test_the_examination_curve_is_estimated_from_the_logs(trained):
    """No feature reads the generator's click model: the slots' examination comes from the
    logged impressions (EM), and still finds what the generator did, top slot first, to within
    a factor of 2.5 per slot. EM leans low for the lower slots when the logging policy puts
    what suits each deal on top (the closed loop's model does): on the demo's log it finds
    about half the true examination of slot 10 (0.07 for 0.8**9 = 0.13); bench_learning
    reports what that does to the off-policy estimates."""
    from demo.generator import CONFIGS
    from demo.generator.clicks import ClickModel

    version, out = trained
    curve = np.array(version.manifest["usage"]["examination"])
    assert "  position bias:" in out
    assert len(curve) == 10 and curve[0] == 1.0
    assert np.all(np.diff(curve) < 0.02)  # later slots are looked at less (up to noise)
    config = CONFIGS["default"]
    truth = ClickModel(config.attention_curve, config.attention_decay).examine(np.arange(10))
    ratio = curve / truth
    assert np.all((ratio > 1 / 2.5) & (ratio < 2.5)), np.round(ratio, 2)
    assert curve[-1] < 0.8  # not flat
    assert "position_bias" not in version.manifest["usage"]


def test_the_off_policy_block_reads_the_journals_propensities(trained):
    """The demo's closed loop journals propensities with every impression, as the API does;
    training reads them and values every model off-policy."""
    off = trained[0].metrics()["off_policy"]
    assert off["available"], off
    assert off["requests"] > 100 and {"learned", "playbook"} <= set(off["models"])
    for by_estimator in off["models"].values():
        assert set(by_estimator) == {"ips", "snips", "dr"}
        for estimate in by_estimator.values():
            assert estimate["ci_low"] <= estimate["value"] <= estimate["ci_high"]
            assert estimate["ess"] > 0


def test_the_served_model_is_refit_on_all_data_and_the_evaluated_one_is_kept(trained):
    from recommender.ranking.build import load_model

    version, out = trained
    manifest = version.manifest
    window, refit = manifest["data_window"], manifest["refit"]
    assert "  refit:" in out
    # the served model was fit past the evaluated one's validation start, up to a calibration
    # window as long as the evaluated one's, which ends with the log
    assert refit["fit_window"]["start"] == window["start"]
    assert refit["fit_window"]["end"] > window["test"]
    assert refit["calibration_window"]["end"] == window["end"]
    assert refit["fit_examples"] > manifest["counts"]["fit_examples"]
    served, evaluated = load_model(version), load_model(version, evaluated=True)
    assert (version.path / "evaluated-model.json").is_file()
    assert served.to_json() != evaluated.to_json()
    assert manifest["evaluated_model_sha256"] != manifest["model_sha256"]


def test_training_without_evaluation_serves_the_same_model_and_says_so(ws, trained):
    """`TrainConfig(evaluate=False)` skips the held-out fit and evaluation: the refit it
    registers is byte for byte the model a full training serves, with no metrics or card."""
    from recommender import TrainConfig, train

    config = TrainConfig(progress=False, n_estimators=30, max_eval_queries=400)
    full = train(ws, config=config, save=False)
    quick = train(ws, config=replace(config, evaluate=False))
    assert quick.version is not None  # saved: its scorer carries the version's name
    assert replace(quick.scorer, version=full.scorer.version).to_json() == full.scorer.to_json()
    version = Registry.of(ws).get(quick.version.name)
    assert version.metrics() is None and not version.card_path.exists()
    manifest = version.manifest
    assert "evaluated_model_file" not in manifest
    assert "evaluate=False" in manifest["evaluation"]["skipped"]
    assert manifest["training"]["evaluate"] is False
    assert manifest["counts"]["fit_examples"] == manifest["refit"]["fit_examples"] > 0
    assert manifest["returns"] == full.manifest["returns"]
    assert manifest["usage"] == full.manifest["usage"]
    # the models list shows it, with no figures
    code, out, err = cli("--workspace", str(ws.root), "models", "list", "--json")
    assert code == 0, err
    row = next(r for r in json.loads(out)["versions"] if r["version"] == version.name)
    assert row["ndcg@10"] is None and row["events"] == manifest["counts"]["events"]
    with pytest.raises(ValueError, match="evaluate=False needs refit=True"):
        TrainConfig(evaluate=False, refit=False)


def test_the_served_model_scores_with_compiled_trees_as_lightgbm(ws, trained):
    """The demo model as served: its trees compiled (cached in the version's folder) give
    LightGBM's raw scores within 1e-6 on real requests' pair features, and the same answers:
    the same assets in the same order, scores within 1e-6."""
    from features.pairs import feature_matrix
    from features.schema import Stage
    from recommender import DealContext, Recommender, build_snapshot
    from recommender.ranking.build import load_model
    from recommender.ranking.compiled import TOLERANCE

    version, _ = trained
    snapshot = build_snapshot(ws, model_version=version.name)
    compiled = snapshot.scorer.estimator.compiled_
    assert compiled is not None
    assert (version.path / "compiled" / f"{compiled.key}.o").is_file()
    plain = snapshot.with_changes(scorer=load_model(version, compiled=False))
    assert getattr(plain.scorer.estimator, "compiled_", None) is None
    engine, reference = Recommender(snapshot), Recommender(plain)
    booster = snapshot.scorer.estimator.booster_
    checked = 0
    for k, partner_id in enumerate(sorted(snapshot.partners)[:24]):
        partner = engine.resolve_partner(partner_id)
        context = DealContext(stage=list(Stage)[k % len(Stage)],
                              notes="модернізація ЦОД" if k % 2 else None)  # fmt: skip
        request = engine.prepare(context, partner, n=10, snapshot=snapshot, request_id=f"q{k}")
        X = feature_matrix(dict(engine.rank(request, snapshot).columns), snapshot.scorer.features)
        expected = booster.predict(X, raw_score=True, num_threads=1)
        np.testing.assert_allclose(compiled.predict(X), expected, rtol=0, atol=TOLERANCE)
        checked += len(X)
        answers = [
            e.recommend(context, partner, n=10, request_id=f"q{k}").items
            for e in (engine, reference)
        ]
        assert [i.asset_id for i in answers[0]] == [i.asset_id for i in answers[1]]
        np.testing.assert_allclose([i.score for i in answers[0]],
                                   [i.score for i in answers[1]], atol=TOLERANCE)  # fmt: skip
    assert checked > 24 * 50


def test_seen_assets_move_by_the_measured_return_ratio_unless_the_model_knows(ws, trained):
    """Training measures how partners come back to what they used and serving applies it, on
    ranks, to what a partner engaged with since the snapshot; what the model's features
    already count (partner_engaged) keeps its learned place."""
    from recommender import DealContext, Recommender, build_snapshot
    from recommender.ranking.seen import seen_order

    version, _ = trained
    returns = version.manifest["returns"]
    assert returns["method"] == "log" and returns["seen_impressions"] > 0
    engine = Recommender(build_snapshot(ws, model_version=version.name))
    assert engine.snapshot.return_ratio == returns["ratio"]
    context = DealContext(stage="solution")
    moved = kept = 0
    for partner_id in sorted(engine.snapshot.partners)[:40]:
        # reading every language, so that the rule for unreadable assets (which reorders by
        # the spread of every candidate's score; tests/recommender/ranking/test_languages.py)
        # moves nothing and the seen rule is all that differs from the scores' order
        partner = engine.resolve_partner(partner_id).merged(languages=["uk", "ru", "en"])

        def top(seen: set[str], partner=partner) -> list:  # type: ignore[no-untyped-def]
            return list(engine.recommend(context, partner, n=50, max_per_type=50, seen=seen).items)

        items = top(set())
        known = [i.asset_id for i in items[:10] if i.features["partner_engaged"] > 0]
        if known:  # the model already weighs it: the seen set changes nothing
            assert [i.asset_id for i in top({known[0]})] == [i.asset_id for i in items]
            kept += 1
        fresh = next(i.asset_id for i in items if i.features["partner_engaged"] == 0)
        mask = np.array([i.asset_id == fresh for i in items])
        scores = np.array([i.score for i in items])
        expected = [items[j].asset_id for j in seen_order(scores, mask, returns["ratio"])]
        assert [i.asset_id for i in top({fresh})][:10] == expected[:10]
        moved += 1
    assert kept > 0 and moved == 40


def test_evaluate_keeps_to_its_window_as_events_arrive(ws, trained, tmp_path):
    """New events do not move a version's figures (they did: the window ran to the latest
    event); --after-training evaluates the served model on the new events instead."""
    import shutil

    from recommender.storage.events import EventJournal

    version, _ = trained
    copy = tmp_path / "ws"
    shutil.copytree(ws.root, copy)
    base = ("--workspace", str(copy))
    code, out, err = cli(*base, "evaluate", "--json", "--version", version.name, "--after-training")
    assert code == 2 and "no event was logged after" in err
    with EventJournal(copy / "events.sqlite") as journal:
        events = journal.read()
        later = events[events["ts"] >= events["ts"].max() - pd.Timedelta(days=20)].copy()
        later["ts"] = later["ts"] + pd.Timedelta(days=30)
        later["event_id"] = "later-" + later["event_id"].astype(str)
        later["request_id"] = later["request_id"].map(
            lambda r: None if r is None or pd.isna(r) else f"later-{r}"
        )
        assert journal.append(later, all_or_nothing=True).accepted == len(later)
    code, out, err = cli(*base, "evaluate", "--json", "--version", version.name)
    assert code == 0, err
    assert json.loads(out) == version.metrics()
    code, out, err = cli(*base, "evaluate", "--version", version.name, "--after-training")
    assert code == 0, err
    window = out.split(" queries in ")[1].split()[0]  # the window's start
    assert pd.Timestamp(window) > pd.Timestamp(version.manifest["data_window"]["end"])


def test_promote_serve_and_roll_back(ws, trained):
    version, _ = trained
    base = ("--workspace", str(ws.root))
    previous = Registry.of(ws).promoted()  # the demo's closed loop ends with a promotion
    assert previous is not None and previous != version.name
    code, out, _ = cli(*base, "models", "promote", version.name)
    assert code == 0 and f"promoted {version.name}" in out
    code, out, _ = cli(*base, "models", "list")
    assert f"* {version.name}" in out
    code, out, err = cli(
        *base,
        "recommend",
        "--partner",
        "P0001",
        "--stage",
        "negotiation",
        "--json",
        "-n",
        "5",
        "--notes",
        "The CFO wants an ROI calculation before signing",
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["model_version"] == version.name and len(payload["items"]) == 5
    code, out, _ = cli(*base, "models", "rollback")
    assert code == 0 and previous in out
    code, out, _ = cli(*base, "recommend", "--partner", "P0001", "--stage", "negotiation", "--json")
    assert json.loads(out)["model_version"] == previous


def test_models_promote_an_unknown_version_exits_2(ws):
    code, _, err = cli("--workspace", str(ws.root), "models", "promote", "v20990101-000000-0000000")
    assert code == 2 and "not found" in err


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("open=1,like=2", "NAME=NUMBER with NAME one of"),
        ("share=-3", "must be >= 0"),
        ("open=x", "not a number"),
    ],
    ids=["unknown-kind", "negative", "not-a-number"],
)
def test_bad_label_weights_exit_2(ws, weights, message):
    code, _, err = cli("--workspace", str(ws.root), "train", "--no-progress", "--weights", weights)
    assert code == 2 and message in err


def test_events_export_import_and_train_from_parquet(ws, tmp_path, trained):
    base = ("--workspace", str(ws.root))
    export = tmp_path / "export"
    code, out, err = cli(*base, "events", "export", str(export))
    assert code == 0, err
    days = sorted(p.name for p in export.iterdir())
    assert days and all(d.startswith("date=") for d in days)
    # Import the export into a copy of the workspace without a journal: all new, then all
    # duplicates on a second import.
    import shutil

    copy = Workspace.at(tmp_path / "copy", embed_cache=SHARED_EMBED_CACHE)
    shutil.copytree(ws.catalog_dir, copy.catalog_dir)
    shutil.copy(ws.partners_path, copy.partners_path)
    code, out, err = cli(
        "--workspace", str(copy.root), "events", "import", str(export), "--no-progress"
    )
    assert code == 0, err
    n = int(out.split("imported ")[1].split()[0])
    assert n == trained[0].manifest["counts"]["events"]
    code, out, _ = cli(
        "--workspace", str(copy.root), "events", "import", str(export), "--no-progress"
    )
    assert "imported 0 events" in out and f"{n} duplicates skipped" in out
    # Training reads the parquet export as well as the journal.
    code, out, err = cli(*base, "train", "--no-progress", "--trees", "20", "--events", str(export))
    assert code == 0, err
    newest = Registry.of(ws).versions()[-1]
    assert newest.manifest["data_window"]["source"] == str(export)
    # Evaluating it reads the same export by default.
    code, out, err = cli(*base, "evaluate", "--json", "--version", newest.name)
    assert code == 0, err
    assert json.loads(out) == newest.metrics()


def test_a_log_that_names_no_stage_or_deal_trains_and_evaluates(ws, trained, tmp_path):
    """Events without stage or deal import fine; training then failed with an indexing
    error. Such a log (a public ratings set, say) trains and is evaluated by partner."""
    from recommender.storage.events import EventJournal

    with EventJournal(ws.events_path) as journal:
        events = journal.read()
    bare = events.assign(stage=None, deal_id=None)
    path = tmp_path / "bare.parquet"
    bare.to_parquet(path, index=False)
    base = ("--workspace", str(ws.root))
    code, _, err = cli(*base, "train", "--no-progress", "--trees", "20", "--events", str(path))
    assert code == 0, err
    newest = Registry.of(ws).versions()[-1]
    metrics = newest.metrics()
    assert metrics["models"]["learned"]["ndcg@10"] > 0
    assert metrics["true_utility"] == {}  # the truth is a deal's at a stage: none here
    assert newest.manifest["counts"]["fit_examples"] > 0


def test_partners_of_one_profile_with_different_histories_get_different_top10s(ws, tmp_path):
    """A log with no deal ids (partners browsing the portal) in a workspace of its own: a
    model trained on it ranks by each partner's history (co-engagement across partners, the
    partner's own engagements), not by the profile alone. Each partner is served with one and
    the same profile; only the history behind its id differs."""
    from dataclasses import replace

    from recommender import DealContext, Recommender, build_snapshot
    from recommender.storage.events import EventJournal

    with EventJournal(ws.events_path) as journal:
        events = journal.read()
    bare = tmp_path / "bare.parquet"
    browsing = events[events["type"] != "deal_outcome"].assign(stage=None, deal_id=None)
    browsing.to_parquet(bare, index=False)
    root = tmp_path / "browsing"
    skip = shutil.ignore_patterns("models", "events.sqlite*", "deals.parquet", "generated")
    shutil.copytree(ws.root, root, ignore=skip)
    copy = Workspace.at(root, embed_cache=SHARED_EMBED_CACHE)
    base = ("--workspace", str(root))
    code, _, err = cli(*base, "events", "import", str(bare), "--no-progress")
    assert code == 0, err
    code, _, err = cli(*base, "train", "--no-progress", "--trees", "60")
    assert code == 0, err
    version = Registry.of(copy).versions()[-1].name
    engine = Recommender(build_snapshot(copy, model_version=version))
    active = events[events["type"].isin(["open", "download", "share"])]
    counts = active["partner_id"].value_counts()
    partners = sorted(counts[counts >= 5].index)[:20]
    assert len(partners) == 20
    profile = engine.resolve_partner(partners[0])
    context = DealContext(stage="discovery")
    tops = {
        tuple(engine.recommend(context, replace(profile, partner_id=p), n=10).ids())
        for p in partners
    }
    assert len(tops) >= 18, f"{len(tops)} distinct top-10s for 20 partners of one profile"


def test_events_import_rejects_unknown_ids_and_writes_nothing(ws, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "event_id,ts,type,partner_id,asset_id\n"
        "x1,2026-01-01T10:00:00Z,open,P0001,NO-SUCH-ASSET\n"
        "x2,2026-01-01T10:00:00Z,open,NOBODY,A0001\n",
        encoding="utf-8",
    )
    from recommender.storage.events import EventJournal

    with EventJournal(ws.events_path) as journal:
        before = journal.count()
    code, _, err = cli("--workspace", str(ws.root), "events", "import", str(bad), "--no-progress")
    assert code == 2
    assert "unknown asset_id 'NO-SUCH-ASSET'" in err and "unknown partner_id 'NOBODY'" in err
    with EventJournal(ws.events_path) as journal:
        assert journal.count() == before


def test_examples_and_their_features_ignore_events_after_the_window(ws):
    """No leakage through training examples: rewriting everything from the validation start
    on changes neither the fit examples nor their features."""
    from dataclasses import replace

    from features.labels import LabelConfig
    from features.usage import UsageIndex
    from recommender.embedding.embedders import get_embedder
    from recommender.learning.data import Split, load_learning_data
    from recommender.learning.deal_text import DealText
    from recommender.learning.encoder import PairEncoder
    from recommender.learning.examples import build_context_examples, build_examples

    emb = get_embedder("e5")
    data = load_learning_data(ws, embedder_id=emb.id, dim=emb.dim)
    split = Split.of(data.events["ts"], 0.2, 0.15)
    text = DealText.compute(
        data.deals, data.catalog, data.table, emb, cache_path=ws.cache_path, progress=False
    )
    future = data.events["ts"] >= split.validation
    changed = data.events.copy()
    changed.loc[future, "asset_id"] = np.where(
        changed.loc[future, "asset_id"].notna(), "A0001", None
    )
    changed.loc[future, "type"] = np.where(
        changed.loc[future, "type"] == "deal_outcome", "deal_outcome", "share"
    )
    changed.loc[future & (changed["type"] == "deal_outcome"), "outcome"] = "won"
    results = []
    for events in (data.events, changed):
        d = replace(data, events=events)
        usage = UsageIndex.build(events, d.table, d.partners)
        enc = PairEncoder(d.table, d.playbook, d.partners, d.deals, usage, text)
        kw = dict(start=split.start, end=split.validation, labels=LabelConfig(), seed=0)
        parts = [
            build_examples(d, enc, negatives=5, **kw),
            build_context_examples(d, enc, negatives=5, **kw),
        ]
        for ex in parts:
            ex.encode(enc)
        results.append(parts)
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a.asset_pos, b.asset_pos)
        np.testing.assert_array_equal(a.gain, b.gain)
        for name in MODEL_FEATURES:
            # (decayed popularity is scaled by the last event's time: equal up to rounding)
            np.testing.assert_allclose(
                a.columns[name], b.columns[name], rtol=1e-6, atol=1e-7, err_msg=name
            )


def test_a_workspace_without_events_explains_what_to_do(tmp_path):
    code, _, err = cli("--workspace", str(tmp_path / "empty"), "train", "--no-progress")
    assert code == 2 and "recommender demo" in err


def test_evaluate_without_a_model_explains_what_to_do(tmp_path):
    code, _, err = cli("--workspace", str(tmp_path / "empty"), "evaluate")
    assert code == 2 and "recommender train" in err


def test_deal_text_matches_the_pipelines_similarity(ws):
    """Training's note similarity is the pipeline's (best chunk, same embedder)."""
    from recommender.embedding.embedders import get_embedder
    from recommender.learning.deal_text import DealText
    from recommender.ranking.build import build_snapshot
    from recommender.ranking.candidates import candidate_similarity

    emb = get_embedder("e5")
    snap = build_snapshot(ws, embedder=emb, use_model=False)
    deals = pd.read_parquet(ws.deals_path).head(3)
    text = DealText.compute(
        deals, snap.catalog, snap.table, emb, cache_path=ws.cache_path, progress=False
    )
    cands = np.arange(len(snap.table))
    for deal_id, note in zip(deals["deal_id"], deals["notes"], strict=True):
        query = snap.query_cache.embed(str(note).strip())
        expected = candidate_similarity(snap, cands, query)
        np.testing.assert_allclose(text.sims[text.rows[deal_id]], expected, atol=1e-5)


def test_train_report_lists_stages(trained):
    _, out = trained
    for stage in (
        "load",
        "usage index",
        "deal text",
        "examples",
        "features",
        "fit",
        "calibrate",
        "evaluate",
        "refit",
    ):
        assert f"  {stage}:" in out
