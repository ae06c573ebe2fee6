"""Issue 14's four targets, kept in one script: they share each seed's closed-loop run.

    python -m bench.bench_learning                  # 2 presets x 3 seeds, 3,000 deals, 200k events
    python -m bench.bench_learning --quick          # 200 deals, 15k events, 3 rounds (minutes)
    python -m bench.bench_learning --presets second --seeds 7 --deals 300 --events 20000

Each (preset, seed) gets a temporary workspace built as `recommender demo --generate` builds it:
the demo catalog and partners, then the closed loop (`demo.generator.closed_loop`): the engine
serves every request of the generated world, period after period, and is retrained on what it
served and promoted after each of `--rounds` periods. `--seeds` are the default preset's seeds;
every preset keeps its own seed's offset (seed = the preset's seed + s - 7), so the runs of a
preset differ and each preset's first run is its documented configuration. Nothing is tuned:
every step runs with the engine's and the generator's defaults. Then:

1. Gap closed (target >= 70%) and 2. cold start (target: learned >= 1.10 x playbook): a fresh
   model trained on the whole log as `recommender train` trains it (TrainConfig's defaults,
   the generator's oracle). From its `true_utility` block: the share of the gap from the best
   baseline to the oracle that the learned model's NDCG@10 against true utility closes, and
   learned / playbook NDCG@10 on the cold-start slice (assets new in the held-out window,
   ranked among themselves).
3. Second closed loop (target: the true value does not drop): the model that served the loop's
   last period (itself trained on logs a learned model served, from the third period on)
   against the model retrained at that period's end, on those logs too (the models promoted
   after consecutive periods). Both are served by the engine as the portal asks it (no
   exploration, the partners' already-seen assets as the loop had them, the journal as it
   stood at the period's start) on one sample of the last period's requests, and valued by
   the generator's exact expected engagement per request under its hidden click model
   (`on_policy_value`: opens, i.e. engaged impressions, and graded gain). Reported: both
   values with their standard errors, the change with its paired standard error, and every
   promoted model, the playbook and the oracle on the same sample. Met when after >= before.
4. Off-policy vs on-policy (target: within +-10% for learned and playbook): the fresh
   training's `off_policy` block (IPS, SNIPS, DR of engaged impressions per request, each
   model's top slate on the held-out window's logged requests) against the on-policy value of
   the same model on the same requests. Matched: the slate length (the log's slots), the
   reward (an engaged impression is an opened one: downloads and shares follow an open), the
   requests (the block's own selection, re-drawn here and checked against its count), the
   model (the evaluated one, not the refit that is registered for serving), no exploration,
   no already-seen handling, and the usage features as of the window's start (the workspace's
   journal cut there, as the block's "frozen" visibility sees it). What cannot be matched
   through the engine's public API: (a) the engine serves at most 3 assets of a type per 10
   (`diversify`), the block values each model's plain top slate by score, so the on-policy
   value is also reported for the engine without that cap ("top by score"); (b) the block's
   reward also credits an engagement without a request id (an organic open) of the shown asset
   in the same deal and stage within 14 days (`features.labels.impression_labels`), which the
   click model's value does not count: the log's realised value is reported both ways, beside
   the generator's expected value of the slates it logged. Judged by DR (primary); IPS and
   SNIPS are reported.

Each figure is averaged over the seeds of its preset; the targets judge the averages
(bench/targets.py), and a target whose figure a seed could not give is not measured. Prints a
table per target and one JSON document (bench/results/learning.json unless --out), with the
seconds of each step.

Run time on 2 shared cores at the full sizes: about 8-10 minutes per run (closed loop 4-5,
fresh training 1-2, on-policy values 2), so about an hour for the 6 runs.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bench.common import BENCH_EMBED_CACHE, print_table, write_result

if TYPE_CHECKING:
    from demo.generator import GeneratorConfig, LoopResult, PolicyValue, World
    from recommender import Embedder, Snapshot, TrainResult, Workspace

PRESETS = ("default", "second")
SEEDS = (7, 8, 9)
BASE_SEED = 7  # the default preset's seed: --seeds are offsets from it for every preset
GAP_TARGET = 0.70
COLD_START_TARGET = 1.10
OFF_POLICY_TOLERANCE = 0.10
ESTIMATORS = ("dr", "ips", "snips")  # DR judges the target
# recommender.learning.policy_value.off_policy_block's sample of the window's requests, as
# `train` calls it (max_requests default, TrainConfig.seed)
OFF_POLICY_MAX_REQUESTS = 3000
OFF_POLICY_SEED = 0
QUICK = {"deals": 200, "events": 15_000, "rounds": 3, "value_requests": 400}


# --- figures from the engine's metrics (pure; tested in tests/bench) --------------------------
def truth_figures(metrics: dict[str, Any]) -> dict[str, Any]:
    """Targets 1 and 2 from a training's metrics (`recommender evaluate --json`'s shape): the
    `true_utility` summary and the cold-start slice's learned / playbook NDCG@10."""
    truth = metrics.get("true_utility") or {}
    if not truth:
        return {"available": False, "reason": "the training had no oracle (true_utility is {})"}
    key = f"ndcg@{truth.get('k', 10)}"
    summary = truth["summary"]
    cold = (truth.get("slices") or {}).get("cold_start_assets") or {}
    learned = cold.get("learned", {}).get(key)
    playbook = cold.get("playbook", {}).get(key)
    return {
        "available": True,
        "queries": truth.get("queries"),
        "models": {m: v[key] for m, v in truth["models"].items()},
        "best_baseline": summary["best_baseline"],
        "best_baseline_ndcg": summary["best_baseline_ndcg"],
        "learned_ndcg": summary["learned_ndcg"],
        "oracle_ndcg": summary["oracle_ndcg"],
        "gap_closed": summary["gap_closed"],
        "cold_start": {
            "learned_ndcg": learned,
            "playbook_ndcg": playbook,
            "ratio": learned / playbook if learned is not None and playbook else None,
        },
    }


def off_policy_errors(block: dict[str, Any], on_policy: dict[str, float]) -> dict[str, Any]:
    """Each estimate of the `off_policy` block against the on-policy value of its model
    ({model: engaged impressions per request}): {model: {estimator: {value, ci_low, ci_high,
    ess, support, on_policy, rel_error}}}, rel_error = estimate / on-policy - 1."""
    out: dict[str, Any] = {}
    for model, truth in on_policy.items():
        estimates = (block.get("models") or {}).get(model)
        if not estimates:
            continue
        out[model] = {}
        for name in ESTIMATORS:
            e = estimates[name]
            out[model][name] = {
                "value": e["value"],
                "ci_low": e["ci_low"],
                "ci_high": e["ci_high"],
                "ess": e["ess"],
                "support": e.get("support"),
                "on_policy": truth,
                "rel_error": e["value"] / truth - 1.0 if truth > 0 else None,
            }
    return out


def _mean(values: Sequence[float | None]) -> float | None:
    """The mean of `values` to 6 decimals (as the engine rounds its metrics, so that seeds all
    at a bar average to the bar), or None when any is missing (every seed must give it)."""
    if not values or any(v is None for v in values):
        return None
    return round(float(np.mean([float(v) for v in values if v is not None])), 6)


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A preset's figures averaged over its seeds' runs; None where a seed lacks the figure.

    Gap closed and the cold-start ratio are the means of the seeds' figures (also given: the
    gap of the mean NDCGs); the second loop compares the mean values before and after; the
    off-policy error is mean(estimate) / mean(on-policy) - 1 per model and estimator (also
    given: the worst seed's error)."""
    truth = [r["truth"] for r in runs]
    ok = all(t.get("available") for t in truth)
    out: dict[str, Any] = {"seeds": [r["seed"] for r in runs]}
    if ok:
        best, learned, oracle = (
            _mean([t[k] for t in truth])
            for k in ("best_baseline_ndcg", "learned_ndcg", "oracle_ndcg")
        )
        gap_of_mean = None
        if learned is not None and best is not None and oracle is not None and oracle > best:
            gap_of_mean = (learned - best) / (oracle - best)
        out["truth"] = {
            "gap_closed": _mean([t["gap_closed"] for t in truth]),
            "gap_closed_by_seed": [t["gap_closed"] for t in truth],
            "gap_of_mean_ndcg": gap_of_mean,
            "learned_ndcg": learned,
            "best_baseline_ndcg": best,
            "best_baselines": [t["best_baseline"] for t in truth],
            "oracle_ndcg": oracle,
        }
        cold = [t["cold_start"] for t in truth]
        out["cold_start"] = {
            "ratio": _mean([c["ratio"] for c in cold]),
            "ratio_by_seed": [c["ratio"] for c in cold],
            "learned_ndcg": _mean([c["learned_ndcg"] for c in cold]),
            "playbook_ndcg": _mean([c["playbook_ndcg"] for c in cold]),
        }
    loops = [r["second_loop"] for r in runs]
    if loops and all(x.get("available") for x in loops):
        before = _mean([x["opens"]["before"] for x in loops])
        after = _mean([x["opens"]["after"] for x in loops])
        ses = [x["opens"]["change_se"] for x in loops]
        out["second_loop"] = {
            "before": before,
            "after": after,
            "change": None if before is None or after is None else after - before,
            # the seeds' samples are independent: the mean's error from theirs
            "change_se": math.sqrt(sum(s * s for s in ses)) / len(ses),
            "change_by_seed": [x["opens"]["change"] for x in loops],
            "graded_change": _mean([x["graded"]["change"] for x in loops]),
        }
    offs = [r["off_policy"] for r in runs]
    if offs and all(x.get("available") for x in offs):
        models: dict[str, Any] = {}
        for model in ("learned", "playbook"):
            models[model] = {}
            for name in ESTIMATORS:
                pairs = [x["errors"].get(model, {}).get(name) for x in offs]
                if any(p is None for p in pairs):
                    continue
                est = _mean([p["value"] for p in pairs])  # type: ignore[index]
                true = _mean([p["on_policy"] for p in pairs])  # type: ignore[index]
                errors = [p["rel_error"] for p in pairs]  # type: ignore[index]
                models[model][name] = {
                    "estimate": est,
                    "on_policy": true,
                    "rel_error": est / true - 1.0 if est is not None and true else None,
                    "worst_seed_rel_error": max(errors, key=lambda e: abs(e))
                    if None not in errors
                    else None,
                }
        out["off_policy"] = models
    else:
        reasons = sorted({x.get("reason", "") for x in offs if not x.get("available")})
        out["off_policy_unavailable"] = "; ".join(r for r in reasons if r)
    return out


# --- one run -----------------------------------------------------------------------------------
@dataclass
class Run:
    """A closed-loop workspace and what it was made of."""

    ws: Workspace
    loop: LoopResult
    config: GeneratorConfig
    embedder: Embedder
    root: Path


def seed_of(preset: str, seed: int) -> int:
    """The generator seed of `preset`'s run for `--seeds` value `seed` (module docstring)."""
    from demo.generator import CONFIGS

    return CONFIGS[preset].seed + seed - BASE_SEED


def build_run(
    root: Path,
    preset: str,
    seed: int,
    *,
    deals: int,
    events: int,
    rounds: int,
    cache: Path,
    exploration: float | None = None,
) -> tuple[Run, dict[str, float]]:
    """The workspace of one (preset, seed) at `root`, as `recommender demo --generate` builds
    it (demo.workspace.build_demo_workspace): the demo catalog and partners, then the closed
    loop, its generated data and deals; and the seconds of each step. `exploration`: the
    portal's exploration rate (None: the preset's)."""
    from demo.generator import GeneratorConfig, World, closed_loop, write_generated
    from demo.workspace import build_demo_workspace
    from recommender import Workspace, get_embedder

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    ws = Workspace.at(root / "ws", root / "models", embed_cache=cache)
    build_demo_workspace(ws, events=False, progress=False)  # catalog, index, partners, playbook
    seconds["catalog"] = time.perf_counter() - started
    changes: dict[str, Any] = {} if exploration is None else {"exploration": exploration}
    config = GeneratorConfig.preset(
        preset, seed=seed_of(preset, seed), n_deals=deals, n_events=events, rounds=rounds, **changes
    )
    started = time.perf_counter()
    world = World.build(config)
    embedder = get_embedder("e5")
    say = _say(f"{preset} seed {config.seed}")
    loop = closed_loop(ws, config, world=world, embedder=embedder, keep_snapshots=True, report=say)
    write_generated(loop.data, ws.generated_dir)  # the oracle reads it (demo.oracle_for)
    loop.data.deals.to_parquet(ws.deals_path, index=False)
    seconds["closed_loop"] = time.perf_counter() - started
    return Run(ws, loop, config, embedder, root), seconds


def journal_before(run: Run, until: pd.Timestamp, name: str) -> Workspace:
    """A copy of the run's workspace whose journal holds only the events before `until` (the
    models stay shared): a snapshot of it has the usage features the engine had then."""
    from recommender import EventJournal, Workspace

    dest = run.root / name
    shutil.copytree(run.ws.root, dest, ignore=shutil.ignore_patterns("events.sqlite*", "*.lock"))
    copy = Workspace.at(dest, run.ws.models_dir, embed_cache=run.ws.embed_cache)
    with EventJournal(run.ws.events_path) as journal:
        events = journal.read(end=until)
    with EventJournal(copy.events_path) as journal:
        journal.append(events, all_or_nothing=True, source=f"journal before {until}")
    return copy


def _values(
    policies: dict[str, Any], world: World, requests: pd.DataFrame
) -> dict[str, PolicyValue]:
    from demo.generator import on_policy_value

    return {name: on_policy_value(policy, world, requests) for name, policy in policies.items()}


def _value_json(value: PolicyValue) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in value.to_json().items()}


def _paired(a: PolicyValue, b: PolicyValue, metric: str) -> tuple[float, float]:
    """b - a on the same requests, and its standard error over them."""
    diff = b.per_request[metric].to_numpy() - a.per_request[metric].to_numpy()
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    return float(diff.mean()), se


def second_loop(run: Run, n_requests: int) -> dict[str, Any]:
    """Target 3 (module docstring): the model that served the last period against the one
    retrained at its end, and the chain of every promoted model, on the last period's
    requests."""
    from demo.generator import EnginePolicy, OraclePolicy, request_sample
    from demo.generator.loop import period_bounds
    from recommender import build_snapshot

    periods = run.loop.periods
    last = periods[-1]
    if len(periods) < 2 or last.served_by is None or last.trained is None:
        return {
            "available": False,
            "reason": "the last period was not served by a learned model and retrained "
            f"(served by {last.served_by}, trained {last.trained}); more rounds or events",
        }
    bounds = period_bounds(run.config)
    world = run.loop.world
    sample = request_sample(run.loop.requests, n_requests, seed=0, start=bounds[-2], end=bounds[-1])
    cut = journal_before(run, world.start + pd.Timedelta(days=bounds[-2]), "journal-last-period")
    seen = last.seen
    chain = [p.trained for p in periods if p.trained is not None]
    policies: dict[str, Any] = {
        "playbook": EnginePolicy(
            build_snapshot(cut, embedder=run.embedder, use_model=False), seen=seen
        )
    }
    for version in chain:
        snapshot = build_snapshot(cut, embedder=run.embedder, model_version=version)
        policies[version] = EnginePolicy(snapshot, seen=seen)
    policies["oracle"] = OraclePolicy()
    values = _values(policies, world, sample)
    before, after = values[last.served_by], values[last.trained]
    out: dict[str, Any] = {
        "available": True,
        "before": last.served_by,
        "after": last.trained,
        "period_days": [bounds[-2], bounds[-1]],
        "requests": len(sample),
    }
    for metric in ("opens", "graded"):
        change, se = _paired(before, after, metric)
        out[metric] = {
            "before": getattr(before, metric),
            "before_se": getattr(before, f"{metric}_se"),
            "after": getattr(after, metric),
            "after_se": getattr(after, f"{metric}_se"),
            "change": change,
            "change_se": se,
        }
    out["chain"] = [{"policy": name, **_value_json(v)} for name, v in values.items()]
    return out


class _TopByScore:
    """The engine's ranking without its type cap (`diversify`: at most 3 of a type per 10):
    each request's top k by score, as the off-policy block values a model's slate."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def slates(self, world: World, requests: Any, request_ids: list[str], k: int) -> np.ndarray:
        from demo.generator.portal import Portal
        from recommender import Recommender

        class Uncapped(Recommender):
            def recommend(self, *args: Any, **kwargs: Any) -> Any:
                return super().recommend(*args, **{**kwargs, "max_per_type": k})

        return Portal(world).serve(Uncapped(self.snapshot), requests, request_ids, k=k).shown


def window_impressions(
    events: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    known_assets: set[str],
    *,
    max_requests: int = OFF_POLICY_MAX_REQUESTS,
    seed: int = OFF_POLICY_SEED,
) -> pd.DataFrame:
    """The impressions the off-policy block values, selected as it selects them
    (recommender.learning.policy_value.logged_requests): logged in [start, end) with a
    request, a slot, a stage, a propensity and a catalog asset; at most `max_requests`
    requests, drawn whole by the same generator."""
    ev = events.sort_values("ts", kind="stable")
    imp = ev[(ev["type"] == "impression") & (ev["ts"] >= start) & (ev["ts"] < end)]
    keep = imp["request_id"].notna() & imp["position"].notna() & imp["stage"].notna()
    keep &= imp["asset_id"].isin(known_assets)
    imp = imp[keep & imp["propensity"].notna()] if "propensity" in imp else imp.iloc[:0]
    ids = imp["request_id"].astype(str).to_numpy()
    unique = pd.unique(ids)
    if len(unique) > max_requests:
        chosen = np.random.default_rng(seed).choice(unique, max_requests, replace=False)
        imp = imp[np.isin(ids, list(set(chosen.tolist())))]
    return imp


def logged_values(
    run: Run, impressions: pd.DataFrame, events: pd.DataFrame, end: pd.Timestamp
) -> dict[str, float]:
    """Engaged impressions per request that the window's log realised, by the block's reward
    (any engagement credited by `impression_labels`) and by request id only, and what the
    generator expects of the slates it logged (exact, under the click model)."""
    from demo.generator.behaviour import Requests
    from demo.generator.value import slate_value
    from features.labels import impression_labels

    n = impressions["request_id"].nunique()
    with_request = events[events["request_id"].notna() | (events["type"] == "impression")]
    engine_reward = impression_labels(impressions, events, cutoff=end) > 0
    by_request = impression_labels(impressions, with_request, cutoff=end) > 0
    world = run.loop.world
    requests = run.loop.requests.set_index("request_id")
    ids = pd.unique(impressions["request_id"].astype(str))
    row = {r: i for i, r in enumerate(ids)}
    slots = int(impressions["position"].max()) + 1
    shown = np.full((len(ids), slots), -1, dtype=np.int64)
    asset = {str(a): i for i, a in enumerate(world.a.ids.tolist())}
    shown[
        impressions["request_id"].astype(str).map(row).to_numpy(),
        impressions["position"].to_numpy(dtype=np.int64),
    ] = impressions["asset_id"].astype(str).map(asset).to_numpy()
    req = requests.loc[ids]
    arrays = Requests(
        req["deal"].to_numpy(dtype=np.int64),
        req["stage"].to_numpy(dtype=np.int64),
        req["t"].to_numpy(dtype=np.float64),
    )
    opens, _graded = slate_value(world, arrays, shown)
    return {
        "realised_engine_reward": float(engine_reward.sum() / n),
        "realised_by_request_id": float(by_request.sum() / n),
        "expected_opens": float(opens.mean()),
    }


def off_vs_on_policy(run: Run, train_result: TrainResult) -> dict[str, Any]:
    """Target 4 (module docstring): the training's off-policy estimates against the on-policy
    values of the same models on the same requests."""
    from demo.generator import EnginePolicy, OraclePolicy, logged_requests
    from recommender import EventJournal, Registry, build_snapshot, load_model

    block = train_result.metrics.get("off_policy") or {}
    window = train_result.manifest["data_window"]
    start = pd.Timestamp(window["test"])
    end = pd.Timestamp(window["end"]) + pd.Timedelta(microseconds=1)
    world = run.loop.world
    with EventJournal(run.ws.events_path) as journal:
        events = journal.read()
    impressions = window_impressions(events, start, end, set(world.a.ids.tolist()))
    out: dict[str, Any] = {
        "available": bool(block.get("available")),
        "reason": block.get("reason"),
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "requests": int(impressions["request_id"].nunique()),
        "block_requests": block.get("requests"),
        "slots": int(impressions["position"].max()) + 1 if len(impressions) else 0,
        "block_slots": block.get("slots"),
    }
    if not len(impressions):
        out.update(available=False, reason="the window logged no impression with a propensity")
        return out
    out["logged"] = logged_values(run, impressions, events, end)
    out["logged"]["block"] = block.get("logged_policy_value")
    ids = set(impressions["request_id"].astype(str))
    served = logged_requests(world, events)
    sample = served[served["request_id"].isin(ids)].reset_index(drop=True)
    cut = journal_before(run, start, "journal-held-out")
    assert train_result.version is not None  # run_one checked
    version = train_result.version.name
    learned = build_snapshot(cut, embedder=run.embedder, model_version=version)
    evaluated = load_model(Registry.of(run.ws).get(version), evaluated=True)
    learned = learned.with_changes(scorer=evaluated)
    playbook = build_snapshot(cut, embedder=run.embedder, use_model=False)
    values = _values(
        {
            "learned": EnginePolicy(learned),
            "playbook": EnginePolicy(playbook),
            "learned_top_by_score": _TopByScore(learned),
            "playbook_top_by_score": _TopByScore(playbook),
            "oracle": OraclePolicy(),
        },
        world,
        sample,
    )
    out["on_policy"] = {name: _value_json(v) for name, v in values.items()}
    if out["available"]:
        out["position_bias"] = block.get("position_bias")
        out["errors"] = off_policy_errors(
            block, {m: values[m].opens for m in ("learned", "playbook")}
        )
        out["errors_top_by_score"] = off_policy_errors(
            block, {m: values[f"{m}_top_by_score"].opens for m in ("learned", "playbook")}
        )
    return out


def run_one(
    preset: str,
    seed: int,
    *,
    deals: int,
    events: int,
    rounds: int,
    value_requests: int,
    cache: Path,
    workdir: Path | None,
    exploration: float | None = None,
) -> dict[str, Any]:
    """Every target's figures for one (preset, seed), with the seconds of each step."""
    from demo.oracle import oracle_for
    from recommender import EventJournal, Registry, TrainConfig, train

    with tempfile.TemporaryDirectory(prefix=f"bench-learning-{preset}-{seed}-", dir=workdir) as tmp:
        started = time.perf_counter()
        run, seconds = build_run(
            Path(tmp),
            preset,
            seed,
            deals=deals,
            events=events,
            rounds=rounds,
            cache=cache,
            exploration=exploration,
        )
        say = _say(f"{preset} seed {run.config.seed}")
        t0 = time.perf_counter()
        trained = train(
            run.ws,
            config=TrainConfig(progress=False),
            embedder=run.embedder,
            oracle=oracle_for(run.ws),
        )
        seconds["train"] = time.perf_counter() - t0
        version = trained.version
        if version is None:  # train(save=True) registers its model; say so if it did not
            raise RuntimeError(f"{preset} seed {run.config.seed}: the training saved no model")
        truth = truth_figures(trained.metrics)
        say(f"trained {version.name}: gap closed {truth.get('gap_closed')}")
        t0 = time.perf_counter()
        off = off_vs_on_policy(run, trained)
        seconds["off_policy"] = time.perf_counter() - t0
        say(f"off-policy: {'available' if off['available'] else off['reason']}")
        t0 = time.perf_counter()
        loop = second_loop(run, value_requests)
        seconds["second_loop"] = time.perf_counter() - t0
        say(f"second loop: {loop.get('opens', loop.get('reason'))}")
        with EventJournal(run.ws.events_path) as journal:
            n_events = journal.count()
        registry = Registry.of(run.ws)
        last = run.loop.periods[-1].trained
        same = last is not None and (
            registry.get(last).manifest["model_sha256"] == version.manifest["model_sha256"]
        )
        seconds["total"] = time.perf_counter() - started
        return {
            "preset": preset,
            "seed": run.config.seed,
            "variant": run.config.variant,
            "deals": deals,
            "events": n_events,
            "requests": len(run.loop.requests),
            "rounds": rounds,
            "exploration": run.config.exploration,
            "periods": [
                {
                    "served_by": p.served_by,
                    "trained": p.trained,
                    "not_trained": p.not_trained,
                    "requests": p.requests,
                    "events": p.events,
                    "seconds": {k: round(v, 1) for k, v in p.seconds.items()},
                }
                for p in run.loop.periods
            ],
            "fresh_version": version.name,
            "fresh_equals_last_promoted": same,
            "truth": truth,
            "second_loop": loop,
            "off_policy": off,
            "seconds": {k: round(v, 1) for k, v in seconds.items()},
        }


def _say(prefix: str) -> Callable[[str], None]:
    def say(line: str) -> None:
        print(f"[{prefix}] {line}", file=sys.stderr, flush=True)

    return say


# --- tables ------------------------------------------------------------------------------------
def _r(v: Any, digits: int = 4) -> Any:
    return None if v is None else round(float(v), digits)


def _pct(v: Any) -> str | None:
    return None if v is None else f"{100 * float(v):+.1f}%"


def tables(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The printed (and BENCHMARKS.md) tables: per target, a row per seed and per preset mean."""
    truth_rows, loop_rows, off_rows, time_rows = [], [], [], []
    for preset, entry in result["presets"].items():
        for r in entry["runs"]:
            time_rows.append({"preset": preset, "seed": r["seed"], "events": r["events"],
                              "requests": r["requests"], **r["seconds"]})  # fmt: skip
            t = r["truth"]
            if t.get("available"):
                truth_rows.append(
                    {
                        "preset": preset,
                        "seed": r["seed"],
                        "learned": _r(t["learned_ndcg"]),
                        "best baseline": f"{t['best_baseline']} {_r(t['best_baseline_ndcg'])}",
                        "oracle": _r(t["oracle_ndcg"]),
                        "gap closed": _r(t["gap_closed"], 3),
                        "cold learned": _r(t["cold_start"]["learned_ndcg"]),
                        "cold playbook": _r(t["cold_start"]["playbook_ndcg"]),
                        "cold ratio": _r(t["cold_start"]["ratio"], 3),
                    }
                )
            loop = r["second_loop"]
            if loop.get("available"):
                o = loop["opens"]
                chain = {c["policy"]: c["opens"] for c in loop["chain"]}
                loop_rows.append(
                    {
                        "preset": preset,
                        "seed": r["seed"],
                        "requests": loop["requests"],
                        "playbook": _r(chain.get("playbook")),
                        "before": f"{o['before']:.4f} ± {o['before_se']:.4f}",
                        "after": f"{o['after']:.4f} ± {o['after_se']:.4f}",
                        "change": f"{o['change']:+.4f} ± {o['change_se']:.4f}",
                        "graded change": f"{loop['graded']['change']:+.4f}",
                        "oracle": _r(chain.get("oracle")),
                    }
                )
            else:
                loop_rows.append({"preset": preset, "seed": r["seed"], "before": loop["reason"]})
            off = r["off_policy"]
            for model in ("learned", "playbook"):
                value = (off.get("on_policy") or {}).get(model, {}).get("opens")
                top = (off.get("on_policy") or {}).get(f"{model}_top_by_score", {}).get("opens")
                row: dict[str, Any] = {
                    "preset": preset,
                    "seed": r["seed"],
                    "model": model,
                    "requests": off.get("requests"),
                    "on-policy": _r(value),
                    "top by score": _r(top),
                }
                errors = (off.get("errors") or {}).get(model)
                if errors:
                    for name in ESTIMATORS:
                        row[name.upper()] = (
                            f"{errors[name]['value']:.4f} ({_pct(errors[name]['rel_error'])})"
                        )
                else:
                    row["DR"] = f"not available: {off.get('reason')}"
                off_rows.append(row)
        mean = entry["mean"]
        if "truth" in mean:
            t, c = mean["truth"], mean["cold_start"]
            truth_rows.append(
                {
                    "preset": preset,
                    "seed": "mean",
                    "learned": _r(t["learned_ndcg"]),
                    "best baseline": _r(t["best_baseline_ndcg"]),
                    "oracle": _r(t["oracle_ndcg"]),
                    "gap closed": _r(t["gap_closed"], 3),
                    "cold learned": _r(c["learned_ndcg"]),
                    "cold playbook": _r(c["playbook_ndcg"]),
                    "cold ratio": _r(c["ratio"], 3),
                }
            )
        if "second_loop" in mean:
            s = mean["second_loop"]
            loop_rows.append(
                {
                    "preset": preset,
                    "seed": "mean",
                    "before": _r(s["before"]),
                    "after": _r(s["after"]),
                    "change": f"{s['change']:+.4f} ± {s['change_se']:.4f}",
                    "graded change": f"{s['graded_change']:+.4f}",
                }
            )
    return {
        "truth": truth_rows,
        "second_loop": loop_rows,
        "off_policy": off_rows,
        "seconds": time_rows,
    }


def quality_profile(result: dict[str, Any]) -> str:
    """Where the quality stands against each bar, per preset (seed means): how far the learned
    NDCG@10 and the cold slice are from what the targets ask, and for each off-policy estimate
    its error, effective sample size and the share of the model's slots the logs support."""
    lines = []
    for preset, entry in result["presets"].items():
        mean, runs = entry["mean"], entry["runs"]
        truth, cold = mean.get("truth"), mean.get("cold_start")
        if truth and None not in (truth["best_baseline_ndcg"], truth["oracle_ndcg"]):
            best, oracle = truth["best_baseline_ndcg"], truth["oracle_ndcg"]
            need = best + GAP_TARGET * (oracle - best)
            lines.append(
                f"{preset}: learned NDCG@10 {_r(truth['learned_ndcg'])}; {GAP_TARGET:.0%} of "
                f"the gap from {_r(best)} to {_r(oracle)} needs {_r(need)}"
            )
        if cold and cold["playbook_ndcg"] is not None:
            lines.append(
                f"{preset}: new assets, learned {_r(cold['learned_ndcg'])}; "
                f"{COLD_START_TARGET}x the playbook's {_r(cold['playbook_ndcg'])} needs "
                f"{_r(COLD_START_TARGET * cold['playbook_ndcg'])}"
            )
        for model in ("learned", "playbook"):
            per_seed = []
            for r in runs:
                off = r["off_policy"]
                est = ((off.get("errors") or {}).get(model) or {}).get("dr")
                if est is None:
                    continue
                support = est.get("support")
                per_seed.append(
                    f"seed {r['seed']} {_pct(est['rel_error'])} (ESS {est['ess']:.0f}"
                    + (f", support {support:.2f})" if support is not None else ")")
                )
            if per_seed:
                lines.append(f"{preset}: DR of {model}: " + "; ".join(per_seed))
    return "\n".join(lines)


def time_profile(result: dict[str, Any]) -> str:
    """Where the time went: each step's seconds summed over the runs, and the loop's split."""
    runs = [r for entry in result["presets"].values() for r in entry["runs"]]
    steps = ("catalog", "closed_loop", "train", "off_policy", "second_loop")
    total = sum(r["seconds"]["total"] for r in runs) or 1.0
    lines = [f"{len(runs)} runs, {total:.0f} s of work in all"]
    for step in steps:
        s = sum(r["seconds"].get(step, 0.0) for r in runs)
        lines.append(f"  {step:<12} {s:8.1f} s  {100 * s / total:5.1f}%")
    parts = ("snapshot", "serve", "journal", "train")
    split = {k: sum(p["seconds"].get(k, 0.0) for r in runs for p in r["periods"]) for k in parts}
    lines.append("  closed loop by part: " + ", ".join(f"{k} {v:.0f} s" for k, v in split.items()))
    return "\n".join(lines)


TABLE_COLUMNS = {
    "truth": ["preset", "seed", "learned", "best baseline", "oracle", "gap closed",
              "cold learned", "cold playbook", "cold ratio"],
    "second_loop": ["preset", "seed", "requests", "playbook", "before", "after", "change",
                    "graded change", "oracle"],
    "off_policy": ["preset", "seed", "model", "requests", "on-policy", "top by score", "DR",
                   "IPS", "SNIPS"],
    "seconds": ["preset", "seed", "events", "requests", "catalog", "closed_loop", "train",
                "off_policy", "second_loop", "total"],
}  # fmt: skip
TABLE_TITLES = {
    "truth": "1-2. NDCG@10 against true utility (fresh training's held-out window)",
    "second_loop": "3. second closed loop: engaged impressions per request, last period's "
    "requests (before = the model that served it, after = the model retrained at its end)",
    "off_policy": "4. off-policy estimates vs on-policy value, engaged impressions per request",
    "seconds": "seconds per step",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--presets", default=",".join(PRESETS), help="generator presets")
    parser.add_argument(
        "--seeds",
        default=",".join(map(str, SEEDS)),
        help="the default preset's seeds; other presets keep their own seed's offset",
    )
    parser.add_argument("--deals", type=int, default=3000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=None, help="closed-loop periods (preset's)")
    parser.add_argument(
        "--exploration",
        type=float,
        default=None,
        help="the portal's exploration rate (the preset's unless given)",
    )
    parser.add_argument(
        "--value-requests",
        type=int,
        default=2000,
        help="requests of the last period the second loop's on-policy values average over",
    )
    parser.add_argument("--quick", action="store_true", help=f"small sizes: {QUICK}")
    parser.add_argument("--embed-cache", type=Path, default=BENCH_EMBED_CACHE)
    parser.add_argument("--workdir", type=Path, default=None, help="where the workspaces go")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from demo.generator import CONFIGS

    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    unknown = [p for p in presets if p not in CONFIGS]
    if unknown:
        parser.error(f"unknown preset(s) {unknown}; expected some of {sorted(CONFIGS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if args.quick:
        args.deals, args.events = QUICK["deals"], QUICK["events"]
        args.rounds = args.rounds or QUICK["rounds"]
        args.value_requests = min(args.value_requests, QUICK["value_requests"])
    args.embed_cache.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "learning",
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "targets": {
            "gap_closed": GAP_TARGET,
            "cold_start_ratio": COLD_START_TARGET,
            "second_loop_change": 0.0,
            "off_policy_rel_error": OFF_POLICY_TOLERANCE,
            "off_policy_estimator": "dr",
        },
        "presets": {},
    }
    for preset in presets:
        rounds = args.rounds or CONFIGS[preset].rounds
        runs = [
            run_one(
                preset,
                seed,
                deals=args.deals,
                events=args.events,
                rounds=rounds,
                value_requests=args.value_requests,
                cache=args.embed_cache,
                workdir=args.workdir,
                exploration=args.exploration,
            )
            for seed in seeds
        ]
        result["presets"][preset] = {"runs": runs, "mean": summarise(runs)}
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["tables"] = tables(result)
    result["profile"] = {
        "text": "where the quality stands:\n"
        + quality_profile(result)
        + "\n\nwhere the time went:\n"
        + time_profile(result)
    }
    for name, rows in result["tables"].items():
        print(f"\n{TABLE_TITLES[name]}")
        print_table(rows, TABLE_COLUMNS[name])
    print(f"\n{result['profile']['text']}")
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
