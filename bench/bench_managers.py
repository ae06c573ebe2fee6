"""Channel managers at scale: a manager's portfolio page and digests on the demo workspace.

    python -m bench.bench_managers                      # the demo workspace (data/)
    python -m bench.bench_managers --repeats 5          # a quick run

A copy of the demo workspace (its catalog; the 160 demo partners with their managers, imported
again from demo/data/partners.csv) gets a usage
journal of the size the demo's closed loop writes (`--events`, 200,000 by default: 70%
impressions, the rest opens, downloads, shares and deal outcomes, over the last 365 days,
seeded) and a deal table, so that every figure reads as much as it would on the demo. The
manager with the most partners (at least 40) is measured:

- portfolio: GET /console/portfolio?manager=M on the real server (`recommender serve`, one
  worker, signed in as a manager), `--repeats` times after one unmeasured request: wall
  seconds per page (target: under 1 s for 40 partners); the CSV export alike;
- digest: building and rendering every digest of that manager's partners as HTML, in
  process (`build_digests` + `render`, the snapshot loaded once; what `recommender digest`
  does after loading), `--repeats` times (target: under 2 s for 40 partners); and the
  console's digest preview of the same partners over HTTP.

Prints a table and one JSON document (bench/results/managers.json unless --out).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.bench_http import ServerProcess
from bench.common import PROJECT_ROOT, copy_workspace, print_table, write_result


def synthesize_usage(ws: Any, n_events: int, seed: int = 5) -> dict[str, Any]:
    """A seeded journal of `n_events` over the last 365 days and a deal table for `ws`."""
    import pandas as pd

    from recommender import EventJournal, load_catalog, load_partners

    rng = random.Random(seed)
    partners = sorted(load_partners(ws))
    assets = list(load_catalog(ws).asset_ids)
    now = datetime.now(UTC)
    stages = ["prospecting", "qualification", "discovery", "solution", "negotiation", "closing"]
    deals = [
        {"deal_id": f"BD{i:05d}", "partner_id": rng.choice(partners), "stage": rng.choice(stages)}
        for i in range(3000)
    ]
    pd.DataFrame(deals).to_parquet(ws.deals_path, index=False)
    events: list[dict[str, Any]] = []
    for i in range(n_events):
        ts = (now - timedelta(days=rng.random() * 365)).isoformat()
        r = rng.random()
        if r < 0.70:
            kind = "impression"
        elif r < 0.88:
            kind = "open"
        elif r < 0.95:
            kind = "download"
        elif r < 0.985:
            kind = "share"
        else:
            kind = "deal_outcome"
        event: dict[str, Any] = {"event_id": f"bm-{i}", "ts": ts, "type": kind}
        if kind == "deal_outcome":
            deal = rng.choice(deals)
            event.update(partner_id=deal["partner_id"], deal_id=deal["deal_id"],
                         outcome=rng.choice(["won", "lost"]))  # fmt: skip
        else:
            event.update(partner_id=rng.choice(partners), asset_id=rng.choice(assets))
            if kind == "impression":
                event.update(request_id=f"bm-r{i // 10}", position=i % 10)
        events.append(event)
    with EventJournal(ws.events_path) as journal:
        for k in range(0, len(events), 50_000):
            journal.append(events[k : k + 50_000], all_or_nothing=True)
    return {"events": n_events, "deals": len(deals), "partners": len(partners)}


def seconds(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 4),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4),
        "max": round(ordered[-1], 4),
        "n": len(ordered),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--workspace", type=Path, default=PROJECT_ROOT / "data")
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if not (args.workspace / "catalog" / "assets.parquet").exists():
        sys.exit(f"no catalog in {args.workspace}: run `recommender demo` first")

    from recommender import (
        DigestStore,
        EventJournal,
        LinkSigner,
        build_digests,
        build_snapshot,
        link_key,
        manager_names,
        partners_of,
        render_digests,
    )

    tmp = Path(tempfile.mkdtemp(prefix="bench-managers-"))
    ws = copy_workspace(args.workspace, None, tmp / "ws")
    for suffix in ("", "-wal", "-shm"):  # the demo's own journal, if any, is replaced
        Path(f"{ws.events_path}{suffix}").unlink(missing_ok=True)
    # the demo's partners as the demo ships them (a workspace built before partners had a
    # manager column keeps its older table otherwise)
    from demo import DEMO_DATA
    from recommender import import_partners

    import_partners(ws, DEMO_DATA / "partners.csv")
    started = time.perf_counter()
    usage = synthesize_usage(ws, args.events)
    usage["seconds"] = round(time.perf_counter() - started, 1)
    print(f"journal: {usage}", flush=True)

    snapshot = build_snapshot(ws)
    names = manager_names(snapshot.partners)
    if not names:
        sys.exit("no partner has a manager: the demo's partners.csv names them")
    manager = max(names, key=lambda m: (len(partners_of(snapshot.partners, m)), m))
    partners = partners_of(snapshot.partners, manager)
    print(f"manager: {manager} ({len(partners)} partners)", flush=True)

    # digests in process
    signer = LinkSigner(link_key(ws))
    build: list[float] = []
    with EventJournal(ws.events_path) as journal, DigestStore(ws.console_path) as store:
        for _ in range(max(3, args.repeats // 4) + 1):
            t0 = time.perf_counter()
            digests = build_digests(snapshot, partners, store, journal.seen_assets, n=5,
                                    signer=signer, base_url="https://reco.example.com")  # fmt: skip
            html = render_digests(digests, "html")
            build.append(time.perf_counter() - t0)
    build = build[1:]  # the first warms the engine's caches
    items = sum(len(d.items) for d in digests)

    # the console over HTTP
    server = ServerProcess(ws.root, ws.models_dir, 1, tmp / "server.log")
    page_times: list[float] = []
    csv_times: list[float] = []
    preview_times: list[float] = []
    try:
        with httpx.Client(base_url=server.url, timeout=120, follow_redirects=False) as client:
            signed = client.post(
                "/console/login",
                data={"key": server.keys["manager"], "next": "/console/portfolio"},
                headers={"Origin": server.url},
            )
            if signed.status_code != 303:
                sys.exit(f"could not sign in to the console: {signed.status_code} {signed.text}")
            params = {"manager": manager}
            for k in range(args.repeats + 1):
                t0 = time.perf_counter()
                page = client.get("/console/portfolio", params=params)
                elapsed = time.perf_counter() - t0
                if page.status_code != 200:
                    sys.exit(f"the portfolio page answered {page.status_code}")
                if k:
                    page_times.append(elapsed)
            rows = len(re.findall(r'<tr data-partner-id="', page.text))
            for k in range(max(3, args.repeats // 4) + 1):
                t0 = time.perf_counter()
                exported = client.get("/console/portfolio.csv", params=params)
                if k:
                    csv_times.append(time.perf_counter() - t0)
            assert exported.status_code == 200
            for k in range(max(3, args.repeats // 4) + 1):
                t0 = time.perf_counter()
                preview = client.get("/console/digest", params={"manager": manager, "n": 5})
                if k:
                    preview_times.append(time.perf_counter() - t0)
            assert preview.status_code == 200
    finally:
        server.stop()

    result: dict[str, Any] = {
        "benchmark": "managers",
        "workspace": str(args.workspace),
        "journal": usage,
        "manager": manager,
        "partners": len(partners),
        "portfolio_rows": rows,
        "portfolio_seconds": seconds(page_times),
        "portfolio_csv_seconds": seconds(csv_times),
        "digest_seconds": seconds(build),
        "digest_items": items,
        "digest_html_bytes": len(html.encode()),
        "digest_preview_seconds": seconds(preview_times),
        "targets": {"portfolio_seconds": 1.0, "digest_seconds": 2.0, "partners": 40},
    }
    print_table(
        [
            {"what": f"portfolio page, {rows} partners (HTTP)", **result["portfolio_seconds"]},
            {"what": "portfolio CSV (HTTP)", **result["portfolio_csv_seconds"]},
            {
                "what": f"digests for {len(partners)} partners, html (in process)",
                **result["digest_seconds"],
            },
            {"what": "digest preview page (HTTP)", **result["digest_preview_seconds"]},
        ],
        ["what", "median", "p95", "max", "n"],
    )
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
