"""Scoring latency of the promoted learned model: 300 candidates for one request (target 3 ms).

    .venv/bin/python -m bench.bench_scoring --workspace /tmp/bench-training/events-1000000
    .venv/bin/python -m bench.bench_scoring --quick            # builds a small demo workspace

"Scoring" is what `Recommender.recommend` does per request once it has its candidates, call
for call: the usage features from the snapshot's `JournalUsageProvider` (asset-level values
precomputed at snapshot build, the partner's and deal's history looked up per request), the
request's pairs from `recommender.request_batch` (the one constructor serving uses) and
`pair_features` (the same function training uses), and `LearnedScorer.score` (LightGBM + the
cold-start blend with the playbook prior). Each timed request varies partner, deal (its
industry, products, competitors, buyer role and language, as the portal states them) and
stage; the deal-notes similarity is a precomputed vector (embedding the notes is the query
cache's job, measured by bench_recommend). Timings are wall-clock per request, single thread,
after a warm-up; the full `Recommender.recommend` (candidates, eligibility, overrides,
diversity, reasons) is reported beside them for context.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import recommender
from bench.common import BENCH_EMBED_CACHE, RESULTS, ensure_demo_index, machine, percentiles
from features.pairs import days_since_epoch, pair_features

if TYPE_CHECKING:
    import pandas as pd

    from recommender import DealContext, Snapshot


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
        trained = train(ws, config=TrainConfig(progress=False)).version
        assert trained is not None  # train saves the version it trains
        versions = [trained]
    if registry.promoted() != versions[-1].name:
        registry.promote(versions[-1].name)  # the bench's own workspace: serve the newest
    return ws


@dataclass(frozen=True)
class ServedScoring:
    """What `Recommender.recommend` runs on `snapshot` between choosing the candidates and
    steering them, call for call, as parts that can be timed apart; `day` is days since
    2000-01-01 (the request's time). Calling it scores one request's candidates."""

    snapshot: Snapshot
    day: float

    def usage(self, partner: Any, context: Any, cands: np.ndarray) -> dict[str, np.ndarray] | None:
        """The pairs' usage features (None before a model is promoted)."""
        usage = self.snapshot.usage
        return usage.features(partner, context, cands, self.day) if usage is not None else None

    def pairs(
        self,
        partner: Any,
        context: Any,
        cands: np.ndarray,
        semantic: np.ndarray | None,
        usage: dict[str, np.ndarray] | None,
    ) -> dict[str, np.ndarray]:
        """The pairs' feature columns: `request_batch` (the one constructor serving uses),
        then `pair_features` (the one training uses)."""
        snap = self.snapshot
        batch = recommender.request_batch(
            snap.table, cands, context, partner, day=self.day, semantic=semantic, usage=usage
        )
        return pair_features(snap.table, batch, snap.playbook.matrices)

    def model(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """The scorer's scores of the pairs."""
        return self.snapshot.scorer.score(columns).astype(np.float64)

    def __call__(
        self, partner: Any, context: Any, cands: np.ndarray, semantic: np.ndarray | None
    ) -> np.ndarray:
        return self.model(
            self.pairs(partner, context, cands, semantic, self.usage(partner, context, cands))
        )


def day_of(now: datetime) -> float:
    """Days since 2000-01-01 at `now`, the day `Recommender.recommend(now=now)` scores on."""
    return float(days_since_epoch([now.astimezone(UTC).replace(tzinfo=None)])[0])


def deal_context(deal: pd.Series | None, stage: str) -> DealContext:
    """The context a portal states for `deal` (a row of the workspace's deals table, None for
    none) at `stage`: its industry, products, competitors, buyer role and language."""
    from recommender import DealContext

    def value(name: str) -> Any:
        v = None if deal is None else deal.get(name)
        return None if v is None or isinstance(v, float) else v  # NaN: not stated

    def listed(name: str) -> tuple[str, ...]:
        v = value(name)
        return () if v is None else tuple(str(x) for x in v)

    return DealContext(
        stage=stage,
        industry=value("industry"),
        products=listed("products"),
        competitors=listed("competitors"),
        buyer_role=value("buyer_role"),
        language=value("language"),
        deal_id=None if deal is None else str(deal["deal_id"]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--embed-cache", type=Path, default=BENCH_EMBED_CACHE)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.requests = min(args.requests, 500)
    root = args.workspace or Path(
        "/tmp/bench-scoring/ws-quick" if args.quick else "/tmp/bench-training/events-1000000"
    )
    ws = ensure_model(root, args.embed_cache, args.quick)

    import pandas as pd

    from features.pairs import STAGES
    from recommender import LearnedScorer, Recommender, build_snapshot, get_embedder

    ensure_demo_index(ws, get_embedder("e5"))
    snap = build_snapshot(ws, embedder=get_embedder("e5"))
    scorer = snap.scorer
    assert snap.usage is not None and isinstance(scorer, LearnedScorer), "no promoted model"
    n = len(snap.table)
    rng = np.random.default_rng(0)
    partners = list(snap.partners.values())
    deals = pd.read_parquet(ws.deals_path) if ws.deals_path.exists() else None

    def request(i: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
        """A partner, a deal at one of the stages, the candidates' positions and their
        similarity to the deal's notes."""
        partner = partners[i % len(partners)]
        deal = deals.iloc[i % len(deals)] if deals is not None else None
        context = deal_context(deal, STAGES[i % len(STAGES)])
        cands = (
            rng.choice(n, size=min(args.candidates, n), replace=False)
            if n >= args.candidates
            else rng.choice(n, size=args.candidates)
        )
        semantic = rng.random(len(cands)).astype(np.float32)
        return partner, context, np.sort(cands), semantic

    score = ServedScoring(snap, day=day_of(datetime.now(UTC)))

    reqs = [request(i) for i in range(args.requests)]
    for r in reqs[:200]:
        score(*r)  # warm-up
    times = []
    for r in reqs:
        t0 = time.perf_counter()
        score(*r)
        times.append((time.perf_counter() - t0) * 1000)
    # The same, split by part (separately, so the split's own timing does not inflate the total).
    parts: dict[str, list[float]] = {"usage": [], "features": [], "model": []}
    for partner, context, cands, semantic in reqs[: min(1000, len(reqs))]:
        t0 = time.perf_counter()
        cols_usage = score.usage(partner, context, cands)
        t1 = time.perf_counter()
        cols = score.pairs(partner, context, cands, semantic, cols_usage)
        t2 = time.perf_counter()
        score.model(cols)
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
