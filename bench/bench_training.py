"""Training time and peak memory on N generated events (target: 1M events <= 120 s, <= 4 GB).

    .venv/bin/python -m bench.bench_training                      # 1,000,000 events
    .venv/bin/python -m bench.bench_training --events 200000 --events 1000000
    .venv/bin/python -m bench.bench_training --quick              # 100,000 events

For each size: a workspace with the demo catalog and partners and the generator's events in
the event journal (default variant, seed 7, 3000 deals) is prepared first, untimed; the deal
notes are embedded once into the embedding cache (the first run on a machine pays this once:
its time is reported as `note_embedding_s`). Then `recommender train` runs in a fresh
subprocess, exactly as a user runs it (journal in, model version out: examples, features,
fit, calibration, evaluation against every baseline, model card), and is timed end to end;
its peak resident memory is the child's ru_maxrss. Per-stage seconds come from the new
version's manifest. LightGBM uses 2 threads (the machine has 2 cores, shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import BENCH_EMBED_CACHE, PROJECT_ROOT, RESULTS, machine, recommender_command


def prepare(root: Path, n_events: int, cache: Path, seed: int = 7) -> dict[str, Any]:
    """A workspace at `root` with the demo catalog, partners, deals and `n_events` events."""
    from bench.common import ensure_demo_index
    from recommender import Workspace, get_embedder

    ws = Workspace.at(root, embed_cache=cache)
    info: dict[str, Any] = {"workspace": str(root)}
    started = time.perf_counter()
    if not ws.events_path.exists():
        from demo.workspace import build_demo_workspace

        # one round of the closed loop: the playbook serves the whole log (the timed training
        # cares about its size, not about which policy served it), trained once at its end
        build_demo_workspace(
            ws, seed=seed, n_events=n_events, rounds=1, regenerate=True, progress=False
        )
    info["prepare_s"] = round(time.perf_counter() - started, 1)
    # Embed the deal notes once (cached by content hash), so the timed run measures training.
    import pandas as pd

    from features.pairs import AssetTable
    from recommender import DealText, load_catalog

    embedder = get_embedder("e5")
    info["reingested"] = ensure_demo_index(ws, embedder)
    catalog = load_catalog(ws, embedder_id=embedder.id, dim=embedder.dim)
    started = time.perf_counter()
    DealText.compute(
        pd.read_parquet(ws.deals_path),
        catalog,
        AssetTable.from_frame(catalog.assets),
        embedder,
        cache_path=ws.cache_path,
        progress=True,
    )
    info["note_embedding_s"] = round(time.perf_counter() - started, 1)
    from recommender import EventJournal

    with EventJournal(ws.events_path) as journal:
        info["events"] = journal.count()
    return info


def timed_train(root: Path, cache: Path) -> dict[str, Any]:
    """`recommender train` in a child process: wall seconds, peak RSS, the manifest's stages."""
    env = dict(os.environ, RECO_EMBED_CACHE=str(cache))
    cmd = recommender_command("--workspace", str(root), "train", "--no-progress")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"recommender train failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    versions = sorted((root / "models").glob("v*/manifest.json"), key=lambda p: p.stat().st_mtime)
    manifest = json.loads(versions[-1].read_text())
    summary = manifest["evaluation"].get("summary", {})
    return {
        "total_s": round(wall, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KB
        "train_reported_s": manifest["training"]["seconds"],
        "stages_s": manifest["training"]["stage_seconds"],
        "fit_examples": manifest["counts"]["fit_examples"],
        "test_queries": manifest["counts"]["test_queries"],
        "learned_ndcg@10": summary.get("learned_ndcg"),
        "best_baseline": summary.get("best_baseline"),
        "best_baseline_ndcg@10": summary.get("best_baseline_ndcg"),
        "load_average_before": round(load, 2),
        "version": manifest["version"],
        "stdout_tail": proc.stdout.strip().splitlines()[-12:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append", default=None)
    parser.add_argument("--quick", action="store_true", help="100,000 events only")
    parser.add_argument(
        "--root", type=Path, default=Path("/tmp/bench-training"), help="workspaces go here"
    )
    parser.add_argument("--embed-cache", type=Path, default=BENCH_EMBED_CACHE)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = args.events or ([100_000] if args.quick else [1_000_000])
    args.embed_cache.parent.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in sizes:
        root = args.root / f"events-{n}"
        print(f"== {n:,} events: preparing {root}", flush=True)
        info = prepare(root, n, args.embed_cache)
        print(
            f"   prepared in {info['prepare_s']} s; notes embedded in {info['note_embedding_s']} s",
            flush=True,
        )
        result = timed_train(root, args.embed_cache)
        run = {"n_events": n, **info, **result}
        runs.append(run)
        print(
            f"   train: {run['total_s']} s wall (target <= 120 s at 1M), "
            f"peak RSS {run['peak_rss_mb']} MB (target <= 4096 MB), "
            f"load average before {run['load_average_before']}",
            flush=True,
        )
        print(f"   stages: {run['stages_s']}", flush=True)
    out = args.out or RESULTS / "training.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "runs": runs}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
