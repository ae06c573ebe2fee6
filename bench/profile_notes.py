"""Where the time goes: cProfile summaries for the benchmarks that miss a target.

    python -m bench.profile_notes recommend [--assets 100000] [--requests 300] [--notes]
    python -m bench.profile_notes ingest [--assets 2000] [--changed 0.01]
    python -m bench.profile_notes training --events 1000000 [--workspace DIR]

Each subcommand runs the measured operation under cProfile and prints the top functions by
cumulative time (and by own time), so a missed target comes with the evidence of why. The
benchmark scripts attach the same summary (`bench.profiling.profile_call`) to their JSON when
they miss a target; `bench.run_all` calls this CLI for a missed target whose script did not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.profiling import profile_call


# --- subcommands ----------------------------------------------------------------------------
def _recommend(args: argparse.Namespace) -> dict[str, Any]:
    import random

    from bench.bench_recommend import NOTES, default_partners, make_requests, synthetic_engine

    engine = synthetic_engine(args.assets)
    assets = engine.snapshot.catalog.assets
    partners = default_partners()
    industries = sorted({x for xs in assets["industries"] for x in xs}) or ["manufacturing"]
    products = sorted({x for xs in assets["products"] for x in xs}) or ["x"]
    competitors = sorted({x for xs in assets["competitors"] for x in xs}) or ["x"]
    rng = random.Random(5)
    notes = NOTES if args.notes else None
    requests = make_requests(rng, partners, industries, products, competitors, args.requests, notes)
    for r in requests[:20]:
        engine.recommend(r.context, r.partner, n=10)

    def run() -> None:
        for r in requests:
            engine.recommend(r.context, r.partner, n=10)

    _, prof = profile_call(
        run, top=args.top, title=f"recommend x{args.requests} at {args.assets:,} assets"
    )
    return prof


def _ingest(args: argparse.Namespace) -> dict[str, Any]:
    from bench.bench_ingest import change_summaries, write_table
    from demo.content import build_assets
    from recommender import Workspace, get_embedder, ingest

    embedder = get_embedder(args.embedder)
    rows = build_assets(args.assets, seed=7)
    with tempfile.TemporaryDirectory(prefix="bench-profile-ingest-") as tmp:
        ws = Workspace.at(Path(tmp) / "ws")
        table = write_table(Path(tmp) / "src" / "assets.jsonl", rows)
        ingest(ws, [table], embedder=embedder, replace=True, progress=False)
        changed, _ = change_summaries(rows, args.changed, seed=1)
        write_table(table, changed)
        _, prof = profile_call(
            lambda: ingest(ws, [table], embedder=embedder, replace=True, progress=False),
            top=args.top,
            title=f"re-ingest of {args.assets:,} assets with {args.changed:.0%} changed",
        )
    return prof


def _training(args: argparse.Namespace) -> dict[str, Any]:
    from demo.workspace import build_demo_workspace
    from recommender import TrainConfig, Workspace, get_embedder, train

    embedder = get_embedder("e5")
    with tempfile.TemporaryDirectory(prefix="bench-profile-train-") as tmp:
        if args.workspace is not None:  # e.g. bench_training's, with its journal and cache
            ws = Workspace.at(args.workspace, Path(tmp) / "models", embed_cache=args.embed_cache)
            label = str(args.workspace)
        else:
            ws = Workspace.at(Path(tmp) / "ws", embed_cache=args.embed_cache)
            build_demo_workspace(
                ws,
                n_events=args.events,
                n_deals=args.deals,
                n_assets=args.assets,
                rounds=1,  # a log of this size served by the playbook: training is profiled
                progress=False,
            )
            label = f"{args.events:,} events"
        _, prof = profile_call(
            lambda: train(ws, config=TrainConfig(progress=False), embedder=embedder),
            top=args.top,
            title=f"train on {label}",
        )
    return prof


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--top", type=int, default=25)
    sub = parser.add_subparsers(dest="what", required=True)
    rec = sub.add_parser("recommend", help="Recommender.recommend on a synthetic catalog")
    rec.add_argument("--assets", type=int, default=100_000)
    rec.add_argument("--requests", type=int, default=300)
    rec.add_argument("--notes", action="store_true", help="requests with (repeated) notes")
    ing = sub.add_parser("ingest", help="re-ingest with a share of summaries changed")
    ing.add_argument("--assets", type=int, default=2000)
    ing.add_argument("--changed", type=float, default=0.01)
    ing.add_argument("--embedder", default="e5")
    tr = sub.add_parser("training", help="recommender.learning.training.train on generated events")
    tr.add_argument("--events", type=int, default=1_000_000)
    tr.add_argument("--deals", type=int, default=15_000)
    tr.add_argument("--assets", type=int, default=None)
    tr.add_argument("--workspace", type=Path, default=None, help="train on this workspace")
    tr.add_argument("--embed-cache", type=Path, default=None, help="shared vector cache")
    args = parser.parse_args(argv)
    {"recommend": _recommend, "ingest": _ingest, "training": _training}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
