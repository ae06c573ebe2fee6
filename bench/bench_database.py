"""The shared store under load (issue 17): events through `/v1/events` into PostgreSQL against
the SQLite default, and two service replicas on one PostgreSQL database.

    python -m bench.bench_database                               # 1,000,000 events; 60 s
    python -m bench.bench_database --events 100000 --seconds 20  # quicker

PostgreSQL is a throwaway cluster from Debian's binaries (`bench.pgcluster`), durable as a
real one is: fsync on, full-page writes, and the service commits with synchronous_commit on.
It runs on the same 2 cores as the service and the load generators.

1. **Ingest.** For each backend (the workspace's SQLite journal; a PostgreSQL database made
   by `recommender db upgrade`), `recommender serve --workers 2` on a fresh copy of the demo
   workspace takes `--events` events (bench_snapshot's portal traffic: impressions, opens,
   downloads, shares, deal outcomes) as batches of 500 from 4 concurrent clients, prepared
   before the clock starts. Throughput = events acknowledged / wall seconds. The journal is
   then counted: every acknowledged event stored, once.
2. **Replicas.** Two `recommender serve` processes (`--replica-workers` each) on one
   PostgreSQL database and one workspace folder, each paced at `--rate` recommendations/s
   with notes from bench_http's pool (wrk), for `--seconds`, while a client posts
   `--events-rate` events/s (batches of 50, alternating replicas). Targets: no failed
   request, p99 <= 30 ms on each replica, every event acknowledged and stored once.

Prints a table and one JSON document (bench/results/database.json unless --out).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from bench.bench_http import (
    LUA,
    ServerProcess,
    bodies,
    ensure_wrk,
    note_pool,
    run_wrk,
)
from bench.bench_snapshot import portal_events
from bench.common import PROJECT_ROOT, copy_workspace, print_table, recommender_command
from bench.common import write_result as save_result
from bench.pgcluster import PgServer, throwaway

BATCH = 500
CLIENTS = 4


def event_batches(ws: Any, n_events: int, tag: str, size: int = BATCH) -> Iterator[bytes]:
    """`n_events` of a portal's traffic for `ws` as JSON request bodies of `size` events."""
    from recommender import load_catalog, load_partners

    partners = sorted(load_partners(ws))
    assets = list(load_catalog(ws).asset_ids)
    start = pd.Timestamp("2026-01-01")
    for frame in portal_events(
        partners, assets, {}, n_events, start, seed=zlib.crc32(tag.encode()) % 1000
    ):
        frame = frame.assign(
            event_id=tag + "-" + frame["event_id"],
            ts=frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            position=frame["position"].astype(object).where(frame["position"].notna(), None),
        )
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        for k in range(0, len(records), size):
            chunk = [{c: v for c, v in r.items() if v is not None} for r in records[k : k + size]]
            yield json.dumps({"events": chunk}).encode()


def post_all(url: str, key: str, batches: list[bytes], clients: int) -> dict[str, Any]:
    """Post every batch from `clients` threads (each takes the next); wall time and counts."""
    lock = threading.Lock()
    queue = list(reversed(batches))
    counts = {"accepted": 0, "duplicates": 0, "rejected": 0, "failed": 0}

    def client() -> None:
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                for _attempt in range(5):
                    r = http.post("/v1/events", content=body)
                    if r.status_code != 503:
                        break
                    time.sleep(float(r.headers.get("Retry-After", "1")))
                with lock:
                    if r.status_code != 200:
                        counts["failed"] += 1
                        continue
                    got = r.json()
                    counts["accepted"] += got["accepted"]
                    counts["duplicates"] += got["duplicates"]
                    counts["rejected"] += len(got.get("rejected", []))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    return {
        **counts,
        "seconds": round(seconds, 2),
        "events_per_second": round(counts["accepted"] / seconds),
    }


def stored_events(ws: Any, database_url: str | None, prefix: str = "") -> int:
    """Events in the journal (those whose id starts with `prefix`)."""
    sql = "SELECT count(*) FROM events WHERE event_id LIKE ?"
    if database_url:
        import psycopg

        with psycopg.connect(database_url) as pg:
            row = pg.execute(sql.replace("?", "%s"), (prefix + "%",)).fetchone()
            return int(row[0]) if row else 0
    lite = sqlite3.connect(ws.events_path)
    try:
        return int(lite.execute(sql, (prefix + "%",)).fetchone()[0])
    finally:
        lite.close()


def upgraded_database(pg: PgServer, name: str) -> str:
    url = pg.create_database(name)
    cmd = recommender_command("db", "upgrade")
    subprocess.run(
        cmd, check=True, capture_output=True, cwd=PROJECT_ROOT,
        env={**os.environ, "RECO_DATABASE_URL": url},
    )  # fmt: skip
    return url


def ingest(args: argparse.Namespace, pg: PgServer, tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for backend in ("sqlite", "postgresql"):
        ws = copy_workspace(args.workspace, args.models, tmp / f"ingest-{backend}")
        url = upgraded_database(pg, "ingest") if backend == "postgresql" else None
        env = {"RECO_DATABASE_URL": url} if url else {}
        batches = list(event_batches(ws, args.events, backend))
        server = ServerProcess(ws.root, ws.models_dir, 2, tmp / f"ingest-{backend}.log", env)
        try:
            posted = post_all(server.url, server.keys["portal"], batches, CLIENTS)
        finally:
            server.stop()
        stored = stored_events(ws, url, prefix=f"{backend}-")
        out[backend] = {**posted, "stored": stored, "events": args.events}
        print(f"  {backend}: {posted['events_per_second']:,} events/s "
              f"({posted['accepted']:,} accepted, {stored:,} stored)", file=sys.stderr)  # fmt: skip
    out["ratio"] = round(
        out["postgresql"]["events_per_second"] / max(1, out["sqlite"]["events_per_second"]), 3
    )
    return out


class EventPoster(threading.Thread):
    """Posts `rate` events/s (batches of 50 on a schedule, alternating between `urls`, from a
    pool of client threads so that a slow answer does not hold the next batch back) until
    stopped; counts what was sent and acknowledged."""

    def __init__(self, urls: list[str], key: str, batches: list[bytes], rate: float) -> None:
        super().__init__(daemon=True)
        self.urls, self.key, self.batches, self.rate = urls, key, batches, rate
        self.stop = threading.Event()
        self.acknowledged = 0
        self.failed = 0
        self.sent = 0
        self.latencies: list[float] = []
        self.seconds = 0.0  # from start to stop
        self._lock = threading.Lock()
        self._local = threading.local()

    def _post(self, i: int, body: bytes) -> None:
        clients = getattr(self._local, "clients", None)
        if clients is None:
            headers = {"X-API-Key": self.key, "Content-Type": "application/json"}
            clients = [httpx.Client(base_url=u, headers=headers, timeout=60) for u in self.urls]
            self._local.clients = clients
        t0 = time.perf_counter()
        try:
            r = clients[i % len(clients)].post("/v1/events", content=body)
            accepted = r.json()["accepted"] if r.status_code == 200 else None
        except httpx.HTTPError:
            accepted = None
        with self._lock:
            self.latencies.append(time.perf_counter() - t0)
            self.sent += 50
            if accepted is None:
                self.failed += 1
            else:
                self.acknowledged += accepted

    def run(self) -> None:
        interval = 50 / self.rate
        next_at = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for i, body in enumerate(self.batches):
                if self.stop.is_set():
                    break
                pool.submit(self._post, i, body)
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))


def replicas(args: argparse.Namespace, pg: PgServer, tmp: Path) -> dict[str, Any]:
    wrk = ensure_wrk()
    ws = copy_workspace(args.workspace, args.models, tmp / "replicas")
    url = upgraded_database(pg, "replicas")
    from recommender import load_partners

    script = tmp / "reco.lua"
    script.write_text(LUA)
    bodies_file = tmp / "bodies.jsonl"
    lines = bodies(sorted(load_partners(ws)), note_pool(40), 2000)
    bodies_file.write_text("\n".join(lines) + "\n")
    env = {"RECO_DATABASE_URL": url}
    a = ServerProcess(ws.root, ws.models_dir, args.replica_workers, tmp / "replica-a.log", env)
    b = ServerProcess(ws.root, ws.models_dir, args.replica_workers, tmp / "replica-b.log", env)
    servers = [a, b]
    key = a.keys["portal"]
    n_events = int(args.events_rate * (args.seconds + 30))
    batches = list(event_batches(ws, n_events, "replicas", size=50))
    connections = 16

    def run(server: ServerProcess, seconds: int, pace_ms: float) -> dict[str, Any]:
        return run_wrk(
            wrk, server.url, script, bodies_file, key, seconds=seconds, connections=connections,
            threads=1, pace_ms=pace_ms, server_pid=server.process.pid,
        )  # fmt: skip

    results: dict[str, Any] = {}
    poster = EventPoster([s.url for s in servers], key, batches, args.events_rate)
    try:
        for server in servers:  # warm-up: note caches, code paths
            run(server, 10, 0)
        probe = run(a, 5, 20)
        pace = max(1.0, connections * 1000 / args.rate - probe["latency_us"]["mean"] / 1000)
        poster.start()
        started = time.monotonic()
        time.sleep(2)
        threads = [
            threading.Thread(
                target=lambda s=s, n=n: results.__setitem__(n, run(s, args.seconds, pace))
            )
            for s, n in ((a, "a"), (b, "b"))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        poster.stop.set()
        poster.seconds = time.monotonic() - started
        poster.join(timeout=120)
        time.sleep(1)
    finally:
        for server in servers:
            server.stop()
    posted_stored = stored_events(ws, url, prefix="replicas-")
    latencies = sorted(poster.latencies)
    return {
        "replica_workers": args.replica_workers,
        "offered_rate": args.rate,
        "runs": results,
        "p99_ms": {n: round(float(r["latency_us"]["p99"]) / 1000, 2) for n, r in results.items()},
        "rps": {n: r["rps"] for n, r in results.items()},
        "failed": sum(r["failed"] for r in results.values()),
        "events": {
            "offered_rate": args.events_rate,
            "sent": poster.sent,
            "acknowledged": poster.acknowledged,
            "failed_batches": poster.failed,
            "stored": posted_stored,
            "rate": round(poster.sent / max(1e-9, poster.seconds), 1),
            "batch_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1)
            if latencies
            else None,
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--workspace", type=Path, default=PROJECT_ROOT / "data")
    p.add_argument("--models", type=Path, default=None)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--seconds", type=int, default=60, help="the replicas' paced runs")
    p.add_argument("--rate", type=float, default=200.0, help="req/s per replica")
    p.add_argument("--events-rate", type=float, default=500.0)
    p.add_argument("--replica-workers", type=int, default=1)
    p.add_argument("--no-ingest", action="store_true")
    p.add_argument("--no-replicas", action="store_true")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if not (args.workspace / "catalog" / "assets.parquet").exists():
        sys.exit(f"no catalog in {args.workspace}: run `recommender demo` first")
    result: dict[str, Any] = {"benchmark": "database", "workspace": str(args.workspace)}
    with tempfile.TemporaryDirectory(prefix="bench-database-") as tmp, throwaway() as pg:
        if not args.no_ingest:
            result["ingest"] = ingest(args, pg, Path(tmp))
        if not args.no_replicas:
            result["replicas"] = replicas(args, pg, Path(tmp))
    result["targets"] = {"replica_p99_ms": 30.0, "replica_rate": args.rate, "events_rate": 500.0}
    rows = []
    for backend, r in (result.get("ingest") or {}).items():
        if isinstance(r, dict):
            rows.append(
                {"what": f"/v1/events into {backend}, events/s", "value": r["events_per_second"]}
            )
    if "replicas" in result:
        r = result["replicas"]
        rows += [
            {"what": "replica p99, ms", "value": r["p99_ms"]},
            {"what": "replica req/s", "value": r["rps"]},
            {"what": "failed requests", "value": r["failed"]},
            {"what": "events sent / acknowledged / stored",
             "value": "{sent} / {acknowledged} / {stored}".format(**r["events"])},
        ]  # fmt: skip
    print_table(rows, ["what", "value"])
    save_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
