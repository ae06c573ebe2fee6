"""Learning subcommands of `recommender`: train, evaluate, models, events.

    recommender train [--events PATH] [--weights open=1,download=2,share=3,won=1] [--promote]
    recommender evaluate [--json] [--version VERSION]
    recommender models list [--json] | promote VERSION | rollback
    recommender events import FILE | export DIR [--start DATE] [--end DATE]

Imported by `cli.main`, which registers every `@command` here.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from cli.common import command, say, workspace_of
from features.schema import ENGAGEMENT_TYPES


def _label_weights(text: str) -> dict[str, float]:
    """ "open=1,download=2,share=3,won=1" -> {"open": 1.0, ...}."""
    allowed = (*ENGAGEMENT_TYPES, "won")
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in allowed:
            raise ValueError(
                f"--weights item {part!r} is not NAME=NUMBER with NAME one of {list(allowed)}"
            )
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"--weights {name}={value!r} is not a number") from None
        if number < 0:
            raise ValueError(f"--weights {name}={number:g} must be >= 0")
        out[name] = number
    return out


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:+.1f}%" if pct else f"{value:.4f}"


def print_report(metrics: dict[str, Any], summary: dict[str, Any]) -> None:
    """The evaluation as `train` and `evaluate` print it: against the true utility first (when
    an oracle knows it), then the logged engagement, labelled as biased by exposure."""
    k = metrics["k"]
    truth = metrics.get("true_utility") or {}
    if truth.get("models"):
        say(f"against the true utility ({truth['queries']} queries; gain {truth['gain']}):")
        _table(truth["models"], [f"ndcg@{k}", f"recall@{k}"])
        t = truth.get("summary", {})
        say(
            f"learned true NDCG@{k} {_fmt(t.get('learned_ndcg'))}; best baseline "
            f"{t.get('best_baseline')} {_fmt(t.get('best_baseline_ndcg'))}; closes "
            f"{_fmt(t.get('gap_closed'), pct=True).lstrip('+')} of the gap to the oracle"
        )
        cold = truth.get("slices", {}).get("cold_start_assets", {})
        if "learned" in cold and "playbook" in cold:
            key = f"ndcg@{k}"
            say(
                f"cold-start assets, true NDCG@{k}: learned {cold['learned'][key]:.4f} vs "
                f"playbook {cold['playbook'][key]:.4f}"
            )
        say("")
    _print_off_policy(metrics.get("off_policy") or {})
    say("logged engagement (biased by exposure: what was never shown was never opened):")
    _table(metrics["models"], [f"ndcg@{k}", f"recall@{k}", f"map@{k}", "mrr", f"coverage@{k}"])
    print_summary(summary, metrics["slices"], k)


def _print_off_policy(block: dict[str, Any]) -> None:
    """The off-policy estimates, when the held-out window logged propensities."""
    if not block:
        return
    if not block.get("available"):
        say(f"off-policy estimates: none ({block.get('reason')})")
        say("")
        return
    theta = ", ".join("-" if t is None else f"{t:.2f}" for t in block["position_bias"]["theta"])
    say(
        f"off-policy estimates of {block['reward']} ({block['requests']} logged requests, "
        f"{block['slots']} slots; examination per slot {theta}; the logging policy "
        f"{block['logged_policy_value']:.4f}):"
    )
    say(f"{'model':<20}{'IPS':>26}{'SNIPS':>10}{'DR':>10}{'ESS':>9}{'support':>9}")
    for model, est in block["models"].items():
        ips, snips, dr = est["ips"], est["snips"], est["dr"]
        interval = f"{ips['value']:.4f} [{ips['ci_low']:.3f}, {ips['ci_high']:.3f}]"
        say(
            f"{model:<20}{interval:>26}{snips['value']:>10.4f}{dr['value']:>10.4f}"
            f"{ips['ess']:>9.0f}{ips['support']:>9.2f}"
        )
    say("")


def _table(models: dict[str, dict[str, float]], names: list[str]) -> None:
    say(f"{'model':<20}" + "".join(f"{n:>13}" for n in names))
    for model, values in models.items():
        say(f"{model:<20}" + "".join(f"{_fmt(values.get(n)):>13}" for n in names))


def print_summary(summary: dict[str, Any], slices: dict[str, Any], k: int) -> None:
    key = f"ndcg@{k}"
    say(
        f"learned NDCG@{k} {_fmt(summary.get('learned_ndcg'))}: "
        f"{_fmt(summary.get('lift_over_best'), pct=True)} over the best baseline "
        f"({summary.get('best_baseline')}, {_fmt(summary.get('best_baseline_ndcg'))}); "
        f"closes {_fmt(summary.get('gap_closed'), pct=True).lstrip('+')} of the gap to the oracle "
        f"({_fmt(summary.get('oracle_ndcg'))})"
    )
    cold = slices.get("cold_start_assets", {})
    if "learned" in cold and "playbook" in cold:
        say(
            f"cold-start assets: learned {cold['learned'][key]:.4f} vs playbook "
            f"{cold['playbook'][key]:.4f} NDCG@{k}"
        )


# --- train -------------------------------------------------------------------------------------
def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--events",
        type=Path,
        default=None,
        help="train on this parquet file or export folder instead of the journal",
    )
    p.add_argument(
        "--weights", default="", help="label gains, e.g. open=1,download=2,share=3,won=1"
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="share of the log's time span held out (the last part)",
    )
    p.add_argument(
        "--validation-fraction",
        type=float,
        default=0.15,
        help="share of the train window used to calibrate",
    )
    p.add_argument("--trees", type=int, default=None, help="boosting rounds")
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--leaves", type=int, default=None)
    p.add_argument("--half-life", type=float, default=None, help="days; decay of popularity")
    p.add_argument(
        "--cold-start",
        choices=("model", "blend"),
        default="model",
        help="how new assets and partners are scored: by the model (default), or a blend with "
        "the playbook prior chosen on the validation window's logged engagement",
    )
    p.add_argument(
        "--position-aware",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="learn the slots' position bias with the ranker (LightGBM's position-aware "
        "LambdaMART; default: on)",
    )
    p.add_argument(
        "--visibility",
        choices=("frozen", "rolling"),
        default="frozen",
        help="what held-out queries' usage features see",
    )
    p.add_argument("--max-eval-queries", type=int, default=6000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--promote", action="store_true", help="promote the new version when training succeeds"
    )
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--embedder", default=os.environ.get("RECO_EMBEDDER", "e5"))


@command(
    "train", "train a model on the usage log, evaluate it and register a new version", _train_args
)
def _train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from demo.oracle import oracle_for
    from features.labels import LabelConfig
    from features.usage import UsageConfig
    from recommender import Registry, TrainConfig, get_embedder, train

    ws = workspace_of(args)
    weights = _label_weights(args.weights)
    labels = LabelConfig(**{("won_bonus" if k == "won" else k): v for k, v in weights.items()})
    usage = UsageConfig(engagement_weights=labels.weights)
    if args.half_life is not None:
        usage = replace(usage, half_life_days=args.half_life)
    config = TrainConfig(
        test_fraction=args.test_fraction,
        validation_fraction=args.validation_fraction,
        labels=labels,
        usage=usage,
        visibility=args.visibility,
        max_eval_queries=args.max_eval_queries,
        seed=args.seed,
        position_aware=args.position_aware,
        cold_start=args.cold_start,
        progress=not args.no_progress,
    )
    overrides = {
        "n_estimators": args.trees,
        "learning_rate": args.learning_rate,
        "num_leaves": args.leaves,
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    result = train(
        ws,
        config=config,
        events_path=args.events,
        embedder=get_embedder(args.embedder),
        report=lambda line: say(f"  {line}"),
        oracle=oracle_for(ws),
    )
    version = result.version
    assert version is not None  # train saves by default
    seconds = result.manifest["training"]["seconds"]
    say(f"trained {version.name} in {seconds:.1f} s -> {version.path}")
    print_report(result.metrics, result.manifest["evaluation"]["summary"])
    say(f"model card: {version.card_path}")
    if args.promote:
        Registry.of(ws).promote(version.name)
        say(f"promoted {version.name}")
    else:
        say(f"promote it with: recommender models promote {version.name}")
    return 0


# --- evaluate ----------------------------------------------------------------------------------
def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the metrics JSON only")
    p.add_argument(
        "--version", default=None, help="model version (default: the promoted one, else the newest)"
    )
    p.add_argument(
        "--events",
        type=Path,
        default=None,
        help="evaluate on this parquet file or export (default: what the model was trained on)",
    )
    p.add_argument(
        "--after-training",
        action="store_true",
        help="evaluate the served model on the events logged after its data ended (default: "
        "the evaluated model on its own held-out window, the figures recorded at training)",
    )
    p.add_argument("--embedder", default=os.environ.get("RECO_EMBEDDER", "e5"))
    p.add_argument("--no-progress", action="store_true")


@command(
    "evaluate", "evaluate a model and the baselines on its held-out window (k = 10)", _evaluate_args
)
def _evaluate(args: argparse.Namespace) -> int:
    from demo.oracle import oracle_for
    from recommender import evaluate_version, get_embedder

    ws = workspace_of(args)
    result = evaluate_version(
        ws,
        version=args.version,
        events_path=args.events,
        embedder=get_embedder(args.embedder),
        progress=not (args.no_progress or args.json),
        oracle=oracle_for(ws),
        after_training=args.after_training,
    )
    metrics = result.to_json()
    if args.json:
        say(json.dumps(metrics, indent=2))
        return 0
    say(
        f"model {result.details['version']}: {result.details['queries']} queries in "
        f"{result.details['window']['start']} .. {result.details['window']['end']}"
    )
    print_report(metrics, result.summary)
    return 0


# --- models ------------------------------------------------------------------------------------
def _models_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="list model versions (the promoted one is marked *)")
    listing.add_argument("--json", action="store_true")
    promote = sub.add_parser("promote", help="serve VERSION from now on")
    promote.add_argument("version")
    sub.add_parser("rollback", help="go back to the version promoted before the current one")


@command("models", "list, promote and roll back trained model versions", _models_args)
def _models(args: argparse.Namespace) -> int:
    from recommender import Registry

    ws = workspace_of(args)
    registry = Registry.of(ws)
    if args.action == "promote":
        version = registry.promote(args.version)
        say(f"promoted {version.name}; a service picks it up on its next reload")
        return 0
    if args.action == "rollback":
        previous = registry.rollback()
        say(
            f"rolled back; now serving {previous}"
            if previous
            else "rolled back; no model is promoted (content scorer)"
        )
        return 0
    promoted = registry.promoted()
    rows = []
    for v in registry.versions():
        metrics = v.metrics() or {}
        summary = v.manifest.get("evaluation", {}).get("summary", {}) or {}
        rows.append(
            {
                "version": v.name,
                "promoted": v.name == promoted,
                "created_at": v.manifest.get("created_at"),
                "events": v.manifest.get("counts", {}).get("events"),
                "ndcg@10": metrics.get("models", {}).get("learned", {}).get("ndcg@10"),
                "best_baseline": summary.get("best_baseline"),
                "lift_over_best": summary.get("lift_over_best"),
            }
        )
    if args.json:
        say(json.dumps({"promoted": promoted, "versions": rows}, indent=2))
        return 0
    if not rows:
        say(f"no model versions in {registry.root}; run `recommender train`")
        return 0
    say(f"  {'version':<28} {'created':<26} {'events':>9} {'ndcg@10':>8} {'vs best baseline':>17}")
    for r in rows:
        mark = "*" if r["promoted"] else " "
        say(
            f"{mark} {r['version']:<28} {r['created_at'] or '-':<26} {r['events'] or 0:>9} "
            f"{_fmt(r['ndcg@10']):>8} {_fmt(r['lift_over_best'], pct=True):>17}"
        )
    return 0


# --- events ------------------------------------------------------------------------------------
def _events_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    imp = sub.add_parser(
        "import", help="import a CSV, JSONL or Parquet file of events (all or nothing)"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--no-progress", action="store_true")
    exp = sub.add_parser("export", help="export the journal as parquet partitioned by date")
    exp.add_argument("dir", type=Path)
    exp.add_argument("--start", default=None, help="first timestamp (inclusive, UTC)")
    exp.add_argument("--end", default=None, help="last timestamp (exclusive, UTC)")


@command("events", "import usage events into the journal, or export it to parquet", _events_args)
def _events(args: argparse.Namespace) -> int:
    from recommender import export_events as export_parquet
    from recommender import import_events as import_file
    from recommender import open_journal

    ws = workspace_of(args)
    if args.action == "import":
        known_assets, known_partners = _known_ids(ws)
        ws.ensure()
        with open_journal(ws) as journal:
            report = import_file(
                journal,
                args.file,
                known_assets=known_assets,
                known_partners=known_partners,
                progress=not args.no_progress,
            )
            total = journal.count()
        say(
            f"imported {report.accepted} events from {args.file}; {report.duplicates} duplicates "
            f"skipped; {total} events in {ws.journal_location}"
        )
        return 0
    if not ws.has_journal:
        raise FileNotFoundError(
            f"no event journal at {ws.events_path}; import or generate events first"
        )
    with open_journal(ws) as journal:
        files = export_parquet(journal, args.dir, start=args.start, end=args.end)
    say(f"exported {len(files)} daily partition(s) to {args.dir}")
    return 0


def _known_ids(ws: Any) -> tuple[set[str], set[str]]:
    """Asset ids of the catalog and partner ids of the partner table (unknown ids are errors)."""
    import pandas as pd

    if not ws.assets_path.exists():
        raise FileNotFoundError(
            f"no catalog in {ws.catalog_dir}; ingest assets first so event asset ids can be checked"
        )
    assets = set(pd.read_parquet(ws.assets_path, columns=["asset_id"])["asset_id"].astype(str))
    if not ws.partners_path.exists():
        raise FileNotFoundError(
            f"no partner table at {ws.partners_path}; import partners first so event partner "
            "ids can be checked"
        )
    partners = set(
        pd.read_parquet(ws.partners_path, columns=["partner_id"])["partner_id"].astype(str)
    )
    return assets, partners
