"""Where the time goes: cProfile summaries for the benchmarks that miss a target.

    python -m bench.profile_notes recommend [--assets 100000] [--requests 300] [--notes]
    python -m bench.profile_notes ingest [--assets 2000] [--changed 0.01]
    python -m bench.profile_notes training --events 1000000 [--workspace DIR]

Each subcommand runs the measured operation under cProfile and prints the top functions by
cumulative time (and by own time), so a missed target comes with the evidence of why. The
benchmark scripts import `profile_call` to attach the same summary to their JSON when a
target is missed; `bench.run_all` calls this CLI for a missed target whose script did not.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def _short(path: str) -> str:
    """`.../site-packages/pandas/core/frame.py` -> `pandas/core/frame.py`; project files
    relative to the project."""
    for marker in ("site-packages/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return path.replace(root, "")


def top_functions(
    profile: cProfile.Profile, *, top: int = 25, sort: str = "cumulative"
) -> list[dict[str, Any]]:
    """The `top` functions of a finished profile as dicts (calls, own and cumulative s)."""
    stats = pstats.Stats(profile)
    rows = []
    for (file, line, name), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{_short(file)}:{line}({name})" if line else name,
                "calls": int(ncalls),
                "own_s": round(float(tottime), 4),
                "cumulative_s": round(float(cumtime), 4),
            }
        )
    key = "cumulative_s" if sort == "cumulative" else "own_s"
    rows.sort(key=lambda r: r[key], reverse=True)
    return rows[:top]


def format_profile(rows: list[dict[str, Any]], title: str) -> str:
    """A fixed-width text table of `top_functions` rows."""
    out = io.StringIO()
    out.write(f"{title}\n")
    out.write(f"{'cum s':>9} {'own s':>9} {'calls':>9}  function\n")
    for r in rows:
        out.write(
            f"{r['cumulative_s']:>9.3f} {r['own_s']:>9.3f} {r['calls']:>9}  {r['function']}\n"
        )
    return out.getvalue()


def profile_call(
    fn: Callable[[], T], *, top: int = 25, title: str = "profile"
) -> tuple[T, dict[str, Any]]:
    """Run `fn()` under cProfile; returns (its result, {"wall_s", "by_cumulative", "by_own",
    "text"}) and prints the text summary."""
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    try:
        result = fn()
    finally:
        profile.disable()
    wall = time.perf_counter() - started
    cumulative = top_functions(profile, top=top, sort="cumulative")
    own = top_functions(profile, top=top, sort="own")
    text = (
        f"{title}: {wall:.2f} s under cProfile\n"
        + format_profile(cumulative, "top functions by cumulative time")
        + format_profile(own[: max(10, top // 2)], "top functions by own time")
    )
    print(text, flush=True)
    return result, {
        "wall_s": round(wall, 3),
        "by_cumulative": cumulative,
        "by_own": own,
        "text": text,
    }


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
                ws, n_events=args.events, n_deals=args.deals, n_assets=args.assets, progress=False
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
