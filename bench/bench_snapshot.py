"""Snapshot builds over a large journal (issue 17): usage is aggregated as events arrive, so a
snapshot build reads the engagements and the impression aggregates, not every impression.

    python -m bench.bench_snapshot                      # a journal of 10,000,000 events
    python -m bench.bench_snapshot --events 1000000     # quicker

A copy of the demo workspace (catalog, partners, playbook, deals, the promoted model and the
demo's own journal) gets more events, written as a busy portal's service writes them, until
the journal holds `--events`:

- requests of a seeded partner, one of its deals and a stage, 10 impressions each. The display
  policy is a ranker's: for each (partner, stage) a fixed list of 14 candidates, of which the
  first 8 are shown in order and 2 of the other 6 at random in the last two slots
  (exploration);
- opens of a shown asset with probability 5% x 1/log2(position + 2); a download after 30% of
  opens, a share after 10%; each deal's outcome after about 40 requests;
- times spread over the year after the demo's journal, in order.

The events go in through `Journal.append` in batches of 100,000 (validated, with the
aggregates kept by the journal's trigger), timed as the write throughput. Then, `--repeats`
times: `build_snapshot` of the workspace (catalog, index, playbook, partners, overrides, the
promoted model, its usage features: what a promotion or a reload builds, with the embedder
loaded before, as a serving worker holds it), and its usage part alone (`build_usage`).
Target: every build <= 5 s.

Then (unless --no-promote) `recommender serve` on that workspace (`--workers`, 2 by default)
takes paced recommendations (`--rate` req/s, notes from bench_http's pool, with wrk): one
steady run, then the same load while two versions are promoted and one rolled back (the
rebuilds' usage features built in each worker's child process). Target: the p99 during the
promotions <= 2x the steady p99.

Prints a table and one JSON document (bench/results/snapshot.json unless --out).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import PROJECT_ROOT, copy_workspace, print_table, write_result

STAGES = ["prospecting", "qualification", "discovery", "solution", "negotiation", "closing"]
CANDIDATES = 14  # per (partner, stage): 8 shown in order, 2 of the other 6 explored
BATCH = 100_000


def portal_events(
    partners: list[str],
    assets: list[str],
    deals: dict[str, list[str]],
    n_events: int,
    start: pd.Timestamp,
    seed: int = 11,
    end: pd.Timestamp | None = None,
) -> Any:
    """Frames of about BATCH events, `n_events` in all, from `start` to `end` (default: a
    year later) (see the module docstring)."""
    rng = np.random.default_rng(seed)
    lists = {
        (p, s): rng.choice(len(assets), CANDIDATES, replace=False) for p in partners for s in STAGES
    }
    examination = 1.0 / np.log2(np.arange(10) + 2.0)
    per_request = 10.35  # impressions + about 0.35 engagements and outcomes
    n_requests = int(n_events / per_request)
    span_us = 365 * 86_400_000_000 if end is None else int((end - start).value // 1000)
    step = span_us // max(n_requests, 1)
    t0 = int(start.value // 1000)
    written = 0
    r = 0
    while written < n_events:
        rows: list[tuple[Any, ...]] = []
        while len(rows) < BATCH and written + len(rows) < n_events:
            partner = partners[int(rng.integers(len(partners)))]
            owned = deals.get(partner) or [f"{partner}-D0"]
            deal = owned[int(rng.integers(len(owned)))]
            stage = STAGES[int(rng.integers(len(STAGES)))]
            ranked = lists[(partner, stage)]
            explored = rng.choice(ranked[8:], 2, replace=False)
            shown = [*ranked[:8].tolist(), *explored.tolist()]
            ts = t0 + r * step
            request = f"b{r}"
            for pos, a in enumerate(shown):
                asset = assets[a]
                rows.append((f"{request}-{pos}", ts, "impression", partner, asset, deal,
                             request, pos, stage, None))  # fmt: skip
                if rng.random() < 0.05 * examination[pos]:
                    rows.append((f"{request}-{pos}-o", ts + 60_000_000, "open", partner, asset,
                                 deal, None, None, stage, None))  # fmt: skip
                    if rng.random() < 0.3:
                        rows.append((f"{request}-{pos}-d", ts + 120_000_000, "download", partner,
                                     asset, deal, None, None, stage, None))  # fmt: skip
                    if rng.random() < 0.1:
                        rows.append((f"{request}-{pos}-s", ts + 180_000_000, "share", partner,
                                     asset, deal, None, None, stage, None))  # fmt: skip
            if r % 40 == 39:
                outcome = "won" if rng.random() < 0.4 else "lost"
                rows.append((f"{request}-w", ts + 240_000_000, "deal_outcome", partner, None,
                             deal, None, None, None, outcome))  # fmt: skip
            r += 1
        rows = rows[: n_events - written]
        written += len(rows)
        frame = pd.DataFrame(
            rows,
            columns=["event_id", "ts", "type", "partner_id", "asset_id", "deal_id",
                     "request_id", "position", "stage", "outcome"],
        )  # fmt: skip
        frame["ts"] = pd.to_datetime(frame["ts"], unit="us", utc=True)
        frame["position"] = frame["position"].astype("Int64")
        yield frame


def fill_journal(ws: Any, n_events: int) -> dict[str, Any]:
    """Grow the workspace's journal to `n_events` (see the module docstring)."""
    from recommender import EventJournal, load_catalog, load_partners

    partners = sorted(load_partners(ws))
    assets = list(load_catalog(ws).asset_ids)
    deals: dict[str, list[str]] = {}
    if ws.deals_path.exists():
        table = pd.read_parquet(ws.deals_path, columns=["deal_id", "partner_id"])
        for deal, partner in zip(table["deal_id"], table["partner_id"], strict=True):
            deals.setdefault(str(partner), []).append(str(deal))
    with EventJournal(ws.events_path) as journal:
        before = journal.count()
        newest = journal.newest()
        # from the demo's last event to yesterday: a journal is in the past, and requests
        # dated after its last event take serving's fast path, as a portal's do
        end = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("D") - pd.Timedelta(days=1)
        start = (
            pd.Timestamp(newest) + pd.Timedelta(hours=1) if newest else end - pd.Timedelta(days=365)
        )
        if start >= end:
            start = end - pd.Timedelta(days=30)
        t = time.perf_counter()
        added = 0
        todo = max(0, n_events - before)
        for frame in portal_events(partners, assets, deals, todo, start, end=end):
            result = journal.append(frame, all_or_nothing=True)
            added += result.accepted
            print(f"  {before + added:,} events", file=sys.stderr, flush=True)
        seconds = time.perf_counter() - t
        total = journal.count()
    return {
        "events": total,
        "demo_events": before,
        "added": added,
        "write_seconds": round(seconds, 1),
        "write_events_per_second": round(added / seconds) if seconds else None,
    }


def journal_shape(ws: Any) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(ws.events_path)
    try:
        q = conn.execute
        return {
            "impressions": int(q("SELECT sum(events) FROM impression_totals").fetchone()[0] or 0),
            "impression_total_rows": int(q("SELECT count(*) FROM impression_totals").fetchone()[0]),
            "not_impressions": int(
                q("SELECT count(*) FROM events WHERE type != 'impression'").fetchone()[0]
            ),
            "usage_daily_rows": int(q("SELECT count(*) FROM usage_daily").fetchone()[0]),
            "file_bytes": ws.events_path.stat().st_size,
        }
    finally:
        conn.close()


def promotion_runs(ws: Any, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The steady and the promoting paced runs against a server on `ws` (see the module
    docstring)."""
    from bench.bench_http import (
        LUA,
        ServerProcess,
        bodies,
        ensure_model_versions,
        ensure_wrk,
        note_pool,
        promote_sequence,
        run_wrk,
    )
    from recommender import Registry, load_partners

    wrk = ensure_wrk()
    versions, stand_in = ensure_model_versions(ws.root, ws.models_dir)
    registry = Registry.of(ws)
    if registry.promoted() != versions[1]:
        # the first call promotes versions[0]: a change from what serves, also in a workspace
        # kept from an earlier run (whose last call, a rollback, left versions[0] promoted)
        registry.promote(versions[1])
    script = tmp / "reco.lua"
    script.write_text(LUA)
    bodies_file = tmp / "bodies.jsonl"
    lines = bodies(sorted(load_partners(ws)), note_pool(40), 2000)
    bodies_file.write_text("\n".join(lines) + "\n")
    server = ServerProcess(ws.root, ws.models_dir, args.workers, tmp / "server.log")
    key = server.keys["portal"]
    connections = 16

    def run(seconds: int, pace_ms: float, during: Any = None) -> dict[str, Any]:
        return run_wrk(
            wrk, server.url, script, bodies_file, key, seconds=seconds, connections=connections,
            threads=2, pace_ms=pace_ms, server_pid=server.process.pid, during=during,
        )  # fmt: skip

    try:
        for _ in range(3):  # warm-up: every worker's note cache and code paths
            run(10, 0)
        probe = run(5, 20)
        pace = max(1.0, connections * 1000 / args.rate - probe["latency_us"]["mean"] / 1000)
        steady = run(args.duration, pace)
        calls: list[dict[str, Any]] = []
        promoting = run(
            600, pace, during=lambda: calls.extend(promote_sequence(server, versions, 5.0))
        )
        promoting["admin_calls"] = calls
    finally:
        server.stop()

    def p99(r: dict[str, Any]) -> float:
        return float(r["latency_us"]["p99"]) / 1000

    return {
        "workers": args.workers,
        "offered_rate": args.rate,
        "versions": versions,
        "stand_in_models": stand_in,
        "steady": steady,
        "promoting": promoting,
        "steady_p99_ms": round(p99(steady), 2),
        "promoting_p99_ms": round(p99(promoting), 2),
        "p99_ratio": round(p99(promoting) / p99(steady), 3),
        "failed": steady["failed"] + promoting["failed"],
        "calls_ok": sum(1 for c in calls if c["status"] == 200),
        "calls": len(calls),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workspace", type=Path, default=PROJECT_ROOT / "data")
    p.add_argument("--models", type=Path, default=None)
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument(
        "--keep", type=Path, default=None,
        help="grow the workspace in this folder and keep it (reused when it exists)",
    )  # fmt: skip
    p.add_argument("--no-promote", action="store_true", help="no HTTP runs")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rate", type=float, default=200.0, help="paced req/s")
    p.add_argument("--duration", type=int, default=30, help="seconds of the steady run")
    args = p.parse_args(argv)
    if not (args.workspace / "catalog" / "assets.parquet").exists():
        sys.exit(f"no catalog in {args.workspace}: run `recommender demo` first")

    from recommender import (
        DEFAULT_EMBEDDER,
        Registry,
        Workspace,
        asset_vectors,
        build_snapshot,
        build_usage,
        get_embedder,
    )

    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
        if args.keep is not None and (args.keep / "catalog").exists():
            ws = Workspace.at(args.keep, args.keep / "models")  # grown by an earlier run
        else:
            ws = copy_workspace(args.workspace, args.models, args.keep or Path(tmp) / "ws")
        promoted = Registry.of(ws).promoted()
        if promoted is None:
            sys.exit(f"no promoted model in {ws.models_dir}: run `recommender demo` first")
        settings = Registry.of(ws).get(promoted).manifest.get("usage")
        journal = fill_journal(ws, args.events)
        journal.update(journal_shape(ws))
        builds: list[float] = []
        usage: list[float] = []
        snapshot = None
        # loaded once, as a serving worker holds it (`recommender serve` loads it at start)
        embedder = get_embedder(DEFAULT_EMBEDDER)
        warm = getattr(embedder, "warm", None)
        if callable(warm):
            warm()
        for _ in range(args.repeats):
            t = time.perf_counter()
            snapshot = build_snapshot(ws, embedder=embedder)
            builds.append(time.perf_counter() - t)
            t = time.perf_counter()
            build_usage(
                ws, snapshot.table, asset_vectors(snapshot.catalog, snapshot.table), settings
            )
            usage.append(time.perf_counter() - t)
        assert snapshot is not None and snapshot.model_version == promoted
        del snapshot
        http = None if args.no_promote else promotion_runs(ws, args, Path(tmp))

    result: dict[str, Any] = {
        "benchmark": "snapshot",
        "workspace": str(args.workspace),
        "model": promoted,
        "journal": journal,
        "build_seconds": [round(s, 3) for s in builds],
        "build_seconds_median": round(statistics.median(builds), 3),
        "build_seconds_max": round(max(builds), 3),
        "usage_seconds": [round(s, 3) for s in usage],
        "usage_seconds_median": round(statistics.median(usage), 3),
        "promotion": http,
        "targets": {"build_seconds_max": 5.0, "events": 10_000_000, "p99_ratio": 2.0},
    }
    print_table(
        [
            {"what": "journal written (events/s)", "value": journal["write_events_per_second"]},
            {"what": "events", "value": journal["events"]},
            {
                "what": "impressions / their aggregate rows",
                "value": f"{journal['impressions']:,} / {journal['impression_total_rows']:,}",
            },
            {"what": "events that are not impressions", "value": journal["not_impressions"]},
            {"what": "snapshot build, s (each)", "value": result["build_seconds"]},
            {
                "what": "its usage features alone (read + index), s",
                "value": result["usage_seconds"],
            },
        ]
        + (
            [
                {"what": "steady paced p99, ms", "value": http["steady_p99_ms"]},
                {"what": "p99 while promoting, ms", "value": http["promoting_p99_ms"]},
                {"what": "p99 ratio", "value": http["p99_ratio"]},
                {"what": "failed requests", "value": http["failed"]},
                {"what": "admin calls ok", "value": f"{http['calls_ok']}/{http['calls']}"},
            ]
            if http
            else []
        ),
        ["what", "value"],
    )
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
