"""Scoring latency of the promoted learned model: 300 candidates for one request (target 3 ms).

    .venv/bin/python -m bench.bench_scoring --workspace /tmp/bench-training/events-1000000
    .venv/bin/python -m bench.bench_scoring --quick            # builds a small demo workspace

"Scoring" is what the pipeline does per request once it has its candidates: the usage features
from the snapshot's `JournalUsageProvider` (asset-level values precomputed at snapshot build,
the partner's and deal's history looked up per request), `PairBatch.single` + `pair_features`
(the same function training uses), and `LearnedScorer.score` (LightGBM + the cold-start blend
with the playbook prior). Each timed request varies partner, deal and stage; the deal-notes
similarity is a precomputed vector (embedding the notes is the query cache's job, measured by
bench_recommend). Timings are wall-clock per request, single thread, after a warm-up; the full
`Recommender.recommend` (candidates, eligibility, overrides, diversity, reasons) is reported
beside them for context.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import RESULTS, ensure_demo_index, machine, percentiles

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = PROJECT_ROOT / ".cache" / "bench-embeddings.sqlite"


def ensure_model(root: Path, cache: Path, quick: bool) -> Any:
    """The workspace at `root` with its newest model promoted (built and trained if missing)."""
    from recommender import Registry, Workspace

    ws = Workspace.at(root, embed_cache=cache)
    if not ws.events_path.exists():
        from demo.workspace import build_demo_workspace

        print(f"building a demo workspace in {root}", flush=True)
        build_demo_workspace(
            ws,
            n_deals=600 if quick else 3000,
            n_events=50_000 if quick else 200_000,
            regenerate=True,
            progress=False,
        )
    registry = Registry.of(ws)
    versions = registry.versions()
    if not versions:
        from recommender import TrainConfig, train

        print("training a model", flush=True)
        versions = [train(ws, config=TrainConfig(progress=False)).version]
    if registry.promoted() != versions[-1].name:
        registry.promote(versions[-1].name)  # the bench's own workspace: serve the newest
    return ws


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--embed-cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.requests = min(args.requests, 500)
    root = args.workspace or Path(
        "/tmp/bench-scoring/ws-quick" if args.quick else "/tmp/bench-training/events-1000000"
    )
    ws = ensure_model(root, args.embed_cache, args.quick)

    from features.pairs import PairBatch, pair_features
    from recommender import DealContext, Recommender, build_snapshot, get_embedder

    ensure_demo_index(ws, get_embedder("e5"))
    snap = build_snapshot(ws, embedder=get_embedder("e5"))
    scorer, usage, table = snap.scorer, snap.usage, snap.table
    assert usage is not None, "no promoted model"
    n = len(table)
    rng = np.random.default_rng(0)
    partners = list(snap.partners.values())
    import pandas as pd

    deals = pd.read_parquet(ws.deals_path) if ws.deals_path.exists() else None
    stages = [
        "prospecting",
        "qualification",
        "discovery",
        "solution",
        "negotiation",
        "closing",
        "post_sale",
    ]

    def request(i: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
        partner = partners[i % len(partners)]
        deal = deals.iloc[i % len(deals)] if deals is not None else None

        def listed(name: str) -> tuple[str, ...]:
            value = None if deal is None else deal.get(name)
            return () if value is None or isinstance(value, float) else tuple(str(v) for v in value)

        context = DealContext(
            stage=stages[i % len(stages)],
            industry=None if deal is None else deal.get("industry"),
            products=listed("products"),
            competitors=listed("competitors"),
            deal_id=None if deal is None else str(deal["deal_id"]),
        )
        cands = (
            rng.choice(n, size=min(args.candidates, n), replace=False)
            if n >= args.candidates
            else rng.choice(n, size=args.candidates)
        )
        semantic = rng.random(len(cands)).astype(np.float32)
        return partner, context, np.sort(cands), semantic

    day = float((pd.Timestamp.now().normalize() - pd.Timestamp("2000-01-01")).days)

    def score(partner: Any, context: Any, cands: np.ndarray, semantic: np.ndarray) -> np.ndarray:
        cols_usage = usage.features(partner, context, cands, day)
        batch = PairBatch.single(
            table,
            cands,
            stage=context.stage,
            maturity=partner.maturity,
            industry=context.industry,
            products=context.products,
            competitors=context.competitors,
            role=context.buyer_role,
            languages=partner.languages,
            day=day,
            semantic=semantic,
            usage=cols_usage,
        )
        return scorer.score(pair_features(table, batch, snap.playbook.matrices))

    reqs = [request(i) for i in range(args.requests)]
    for r in reqs[:200]:
        score(*r)  # warm-up
    times, parts = [], {"usage": [], "features": [], "model": []}
    for r in reqs:
        t0 = time.perf_counter()
        score(*r)
        times.append((time.perf_counter() - t0) * 1000)
    # The same, split by part (separately, so the split's own timing does not inflate the total).
    for partner, context, cands, semantic in reqs[: min(1000, len(reqs))]:
        t0 = time.perf_counter()
        cols_usage = usage.features(partner, context, cands, day)
        t1 = time.perf_counter()
        batch = PairBatch.single(
            table,
            cands,
            stage=context.stage,
            maturity=partner.maturity,
            industry=context.industry,
            products=context.products,
            competitors=context.competitors,
            role=context.buyer_role,
            languages=partner.languages,
            day=day,
            semantic=semantic,
            usage=cols_usage,
        )
        cols = pair_features(table, batch, snap.playbook.matrices)
        t2 = time.perf_counter()
        scorer.score(cols)
        t3 = time.perf_counter()
        parts["usage"].append((t1 - t0) * 1000)
        parts["features"].append((t2 - t1) * 1000)
        parts["model"].append((t3 - t2) * 1000)
    # The whole pipeline for context (candidates <= 300 from the catalog, reasons, diversity).
    engine = Recommender(snap)
    full = []
    for i in range(min(300, len(reqs))):
        partner, context, _c, _s = reqs[i]
        t0 = time.perf_counter()
        engine.recommend(context, partner, n=10)
        full.append((time.perf_counter() - t0) * 1000)
    result = {
        "machine": machine(),
        "load_average_before": round(os.getloadavg()[0], 2),
        "workspace": str(ws.root),
        "model_version": snap.model_version,
        "trees": int(scorer.estimator.booster_.num_trees()),
        "candidates": args.candidates,
        "scoring_300": {
            **percentiles(times),
            "target_ms": 3.0,
            "met": bool(np.percentile(times, 50) <= 3.0),
        },
        "parts_p50_ms": {k: round(float(np.percentile(v, 50)), 3) for k, v in parts.items()},
        "recommend_end_to_end": percentiles(full),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    out = args.out or RESULTS / "scoring.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
