"""Soak: minutes of mixed load on a real server; no 5xx, bounded memory, no event lost.

    .venv/bin/python -m bench.soak                    # 300 s (the issue's 5 minutes)
    .venv/bin/python -m bench.soak --seconds 30       # a quick run
    .venv/bin/python -m bench.soak --workspace data   # a copy of an existing workspace

The run works on a private temporary workspace: a copy of `--workspace` when given (the
original is never touched), else a small one built from the demo catalog (the first 60 assets
without their documents, 40 partners, the default playbook, one promoted stand-in model), with
vectors from the shared test embedding cache when it has them. It then starts the real server
(`recommender serve`, a separate process on a free loopback port) and, from threads of this
process, keeps up a paced mixed load until the time is up:

- recommendation requests (`--reco-rate` per second in total): demo partners, all stages,
  industries, deal notes in uk/ru/en from a pool (so the query cache warms as a portal's
  traffic does), one in ten for a partner the service does not know, with an inline profile;
- event batches (`--event-rate` batches per second, `--batch` events each): opens, downloads,
  shares and feedback with unique event ids; every id of a batch that got a 200 with all of
  it accepted is remembered as acknowledged.

The server's resident memory (all its processes) is sampled every second. After the warm-up
(`--warmup` of the run, at least 10 s) the median of the last 5 samples is the baseline; the
median of the last 5 samples of the run is the end; growth = end / baseline - 1. At the end
the journal is read back: every acknowledged event must be there exactly once.

Passes (exit 0) when: no 5xx, no transport error, memory growth < `--max-growth` (10%), no
acknowledged event lost or doubled. Prints a table and one JSON document (also written to
bench/results/soak-<time>.json). The figures depend on what else runs on the machine: the JSON
records the load average, and the table says "contended" when it exceeded the CPU count.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.bench_http import STAGES, free_port, note_pool
from bench.common import (
    PROJECT_ROOT,
    copy_workspace,
    percentiles,
    print_table,
    recommender_command,
    write_result,
)
from demo import DEMO_DATA
from demo.workspace import demo_asset_rows
from recommender import Workspace

SHARED_EMBED_CACHE = PROJECT_ROOT / ".cache" / "test-embeddings.sqlite"
INDUSTRIES = ["manufacturing", "retail", "banking", "logistics", "energy", "telecom", None]
EVENT_TYPES = ("open", "download", "share", "feedback")


# --- the workspace ------------------------------------------------------------------------------
def build_workspace(root: Path, *, n_assets: int = 60, n_partners: int = 40) -> Workspace:
    """A small real workspace: demo assets (no documents) embedded with e5, demo partners, the
    default playbook, and one stand-in model version, promoted."""
    from bench.bench_http import ensure_model_versions
    from recommender import (
        Registry,
        get_embedder,
        import_partners,
        ingest,
        load_partners,
        load_playbook,
    )

    rows = demo_asset_rows(n_assets)
    src = root / "src"
    src.mkdir(parents=True)
    (src / "assets.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    lines = (DEMO_DATA / "partners.csv").read_text(encoding="utf-8").splitlines()
    (src / "partners.csv").write_text("\n".join(lines[: n_partners + 1]) + "\n", encoding="utf-8")
    cache = SHARED_EMBED_CACHE if SHARED_EMBED_CACHE.exists() else None
    ws = Workspace.at(root / "ws", embed_cache=cache).ensure()
    load_playbook(ws)
    ingest(ws, [src / "assets.jsonl"], embedder=get_embedder("e5"), replace=True, progress=False)
    import_partners(ws, src / "partners.csv")
    _seed_usage(ws, [str(r["asset_id"]) for r in rows], sorted(load_partners(ws)))
    versions, _ = ensure_model_versions(ws.root, ws.models_dir)
    Registry.of(ws).promote(versions[0])
    return Workspace.at(ws.root)


def _seed_usage(ws: Workspace, assets: list[str], partners: list[str], n: int = 400) -> None:
    """A small usage log (impressions, opens, downloads within 20 deals, then each deal's
    outcome), so that the promoted model has usage features to read, as it would in use."""
    from datetime import timedelta

    from recommender import EventJournal

    rng = random.Random(1)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    for i in range(n):
        deal, ts = i % 20, (start + timedelta(hours=3 * i)).isoformat()
        common = {"partner_id": partners[deal % len(partners)], "asset_id": rng.choice(assets),
                  "deal_id": f"SEED{deal}", "request_id": f"seed{i:05d}"}  # fmt: skip
        events.append({"event_id": f"seed-imp-{i}", "ts": ts, "type": "impression",
                       "position": i % 10, "stage": rng.choice(STAGES), **common})  # fmt: skip
        if i % 3 == 0:
            kind = "open" if i % 2 else "download"
            events.append({"event_id": f"seed-{kind}-{i}", "ts": ts, "type": kind, **common})
    end = (start + timedelta(hours=3 * n + 1)).isoformat()
    events += [
        {"event_id": f"seed-outcome-{d}", "ts": end, "type": "deal_outcome",
         "partner_id": partners[d % len(partners)], "deal_id": f"SEED{d}",
         "outcome": "won" if d % 2 else "lost"}
        for d in range(20)
    ]  # fmt: skip
    with EventJournal(ws.events_path) as journal:
        journal.append(events, all_or_nothing=True)


def prepare_workspace(source: Path | None, tmp: Path) -> Workspace:
    if source is None:
        return build_workspace(tmp)
    source = source.resolve()
    if not (source / "catalog" / "assets.parquet").exists():
        sys.exit(f"no catalog in {source}: run `recommender demo` first, or leave out --workspace")
    return copy_workspace(source, None, tmp / "ws")


# --- the server ---------------------------------------------------------------------------------
@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    keys: dict[str, str]
    log: Path

    @classmethod
    def start(cls, ws: Workspace, log: Path, workers: int) -> ServerProcess:
        port = free_port()
        env = {**os.environ, "RECO_RATE_LIMIT_PER_SECOND": "0", "PYTHONUNBUFFERED": "1"}
        cmd = recommender_command("--workspace", str(ws.root), "--models", str(ws.models_dir),
                                  "serve", "--port", str(port), "--workers", str(workers),
                                  "--log-level", "warning")  # fmt: skip
        with log.open("wb") as fh:
            process = subprocess.Popen(
                cmd, cwd=PROJECT_ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if process.poll() is not None:
                sys.exit(f"the server exited:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            process.kill()
            sys.exit(f"the server was not ready in 300 s:\n{log.read_text()}")
        time.sleep(2.0 * (workers - 1))  # the other workers finish loading
        keys = json.loads((ws.root / "demo-keys.json").read_text())
        return cls(url, process, keys, log)

    def rss_bytes(self) -> int:
        """Resident memory of the server and its worker processes."""
        try:
            import psutil

            proc = psutil.Process(self.process.pid)
            return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
        except ImportError:
            text = Path(f"/proc/{self.process.pid}/status").read_text()
            line = next(x for x in text.splitlines() if x.startswith("VmRSS:"))
            return int(line.split()[1]) * 1024

    def stop(self) -> int | None:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            return None


# --- the load -----------------------------------------------------------------------------------
@dataclass
class Tally:
    """What the clients saw (shared by the threads; updated under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)  # (kind, status) -> count
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: {"reco": [], "events": []})
    transport_errors: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    refused_batches: list[str] = field(default_factory=list)

    def record(self, kind: str, status: int, ms: float) -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1
            self.latency_ms[kind].append(ms)


def _paced(stop_at: float, interval: float, offset: float) -> Any:
    """Yield until `stop_at`, once every `interval` seconds (no catch-up bursts)."""
    due = time.monotonic() + offset
    while True:
        now = time.monotonic()
        if now >= stop_at:
            return
        if due > now:
            time.sleep(min(due - now, stop_at - now))
            if time.monotonic() >= stop_at:
                return
        due = max(due + interval, time.monotonic() - interval)
        yield


def reco_worker(
    url: str, key: str, partners: list[str], notes: list[str], stop_at: float,
    interval: float, offset: float, seed: int, tally: Tally,
) -> None:  # fmt: skip
    rng = random.Random(seed)
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        for _ in _paced(stop_at, interval, offset):
            context: dict[str, Any] = {"stage": rng.choice(STAGES), "notes": rng.choice(notes)}
            industry = rng.choice(INDUSTRIES)
            if industry:
                context["industry"] = industry
            body: dict[str, Any] = {"context": context, "n": 10}
            if rng.random() < 0.1:
                body["partner"] = {"maturity": rng.choice(["new", "developing", "established"]),
                                   "tier": rng.choice(["silver", "gold"])}  # fmt: skip
            else:
                body["partner_id"] = rng.choice(partners)
            started = time.perf_counter()
            try:
                r = client.post("/v1/recommendations", json=body)
            except httpx.HTTPError as exc:
                with tally.lock:
                    tally.transport_errors.append(f"reco: {exc!r}")
                continue
            tally.record("reco", r.status_code, (time.perf_counter() - started) * 1000)


def event_worker(
    url: str, key: str, partners: list[str], assets: list[str], run_id: str, number: int,
    batch: int, stop_at: float, interval: float, offset: float, tally: Tally,
) -> None:  # fmt: skip
    rng = random.Random(number)
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        for seq, _ in enumerate(_paced(stop_at, interval, offset)):
            ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            events = []
            for i in range(batch):
                kind = rng.choice(EVENT_TYPES)
                event: dict[str, Any] = {
                    "event_id": f"soak-{run_id}-{number}-{seq:06d}-{i:03d}",
                    "ts": ts,
                    "type": kind,
                    "partner_id": rng.choice(partners),
                    "asset_id": rng.choice(assets),
                }
                if kind == "feedback":
                    event["value"] = rng.choice([-1.0, 0.5, 1.0])
                events.append(event)
            started = time.perf_counter()
            try:
                r = client.post("/v1/events", json={"events": events})
            except httpx.HTTPError as exc:
                with tally.lock:
                    tally.transport_errors.append(f"events: {exc!r}")
                continue
            tally.record("events", r.status_code, (time.perf_counter() - started) * 1000)
            if r.status_code == 200 and r.json().get("accepted") == batch:
                with tally.lock:
                    tally.acknowledged.extend(e["event_id"] for e in events)
            elif r.status_code == 200:
                with tally.lock:
                    tally.refused_batches.append(r.text[:300])


def sample_memory(server: ServerProcess, stop_at: float, out: list[tuple[float, int]]) -> None:
    started = time.monotonic()
    while time.monotonic() < stop_at:
        try:
            out.append((round(time.monotonic() - started, 1), server.rss_bytes()))
        except Exception:  # the server is gone: the load threads will say so
            return
        time.sleep(1.0)


def journaled(ws: Workspace, run_id: str) -> Counter:
    """event_id -> rows, for this run's events, through the journal's public API."""
    from recommender import EventJournal

    with EventJournal(ws.events_path) as journal:
        ids = journal.read(columns=["event_id"])["event_id"]
    mine = ids[ids.str.startswith(f"soak-{run_id}-")]
    return Counter(mine.tolist())


def _metric(text: str, prefix: str) -> float:
    return sum(float(x.rsplit(" ", 1)[1]) for x in text.splitlines() if x.startswith(prefix))


def _server_errors(metrics: str) -> float:
    """5xx responses the server itself counted (also those no client of ours saw)."""
    return sum(
        float(x.rsplit(" ", 1)[1])
        for x in metrics.splitlines()
        if x.startswith("reco_http_requests_total{") and 'status="5' in x
    )


# --- the run ------------------------------------------------------------------------------------
def run(
    *,
    seconds: float = 300,
    workspace: Path | None = None,
    workers: int = 1,
    reco_rate: float = 30.0,
    event_rate: float = 8.0,
    batch: int = 10,
    reco_threads: int = 4,
    event_threads: int = 2,
    warmup: float = 0.2,
    max_growth: float = 0.10,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run the soak and return its result (see the module docstring)."""
    from recommender import load_catalog, load_partners

    load_before = os.getloadavg()[0]
    run_id = datetime.now(UTC).strftime("%H%M%S") + f"{random.randrange(1 << 16):04x}"
    with tempfile.TemporaryDirectory(prefix="reco-soak-") as tmp_name:
        tmp = Path(tmp_name)
        if not quiet:
            print(f"preparing a workspace in {tmp} ...", flush=True)
        ws = prepare_workspace(workspace, tmp)
        partners = sorted(load_partners(ws))
        assets = load_catalog(ws, with_chunks=False).assets["asset_id"].astype(str).tolist()
        server = ServerProcess.start(ws, tmp / "server.log", workers)
        if not quiet:
            print(f"server on {server.url}; load for {seconds:g} s ...", flush=True)
        tally = Tally()
        samples: list[tuple[float, int]] = []
        started = time.monotonic()
        stop_at = started + seconds
        notes = note_pool(200)
        threads = [threading.Thread(target=sample_memory, args=(server, stop_at, samples))]
        for i in range(reco_threads):
            interval = reco_threads / reco_rate
            threads.append(threading.Thread(target=reco_worker, args=(
                server.url, server.keys["portal"], partners, notes, stop_at, interval,
                interval * i / reco_threads, i, tally)))  # fmt: skip
        for i in range(event_threads):
            interval = event_threads / event_rate
            threads.append(threading.Thread(target=event_worker, args=(
                server.url, server.keys["portal"], partners, assets, run_id, i, batch, stop_at,
                interval, interval * i / event_threads, tally)))  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 120)
        elapsed = time.monotonic() - started
        metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
        stored = journaled(ws, run_id)  # acknowledged events are durable on the 200
        exit_code = server.stop()
        log_tail = server.log.read_text(errors="replace")[-4000:]
    load_after = os.getloadavg()[0]

    acknowledged = tally.acknowledged
    lost = [e for e in acknowledged if stored.get(e, 0) == 0]
    doubled = [e for e, n in stored.items() if n > 1]
    warm_at = max(10.0, warmup * seconds)
    warm = [rss for t, rss in samples if t <= warm_at][-5:]
    end = [rss for _, rss in samples][-5:]
    rss_warm = statistics.median(warm) if warm else 0
    rss_end = statistics.median(end) if end else 0
    growth = (rss_end / rss_warm - 1) if rss_warm else float("nan")
    statuses = {f"{k}:{s}": n for (k, s), n in sorted(tally.statuses.items())}
    requests = sum(tally.statuses.values())
    server_5xx = sum(n for (_, s), n in tally.statuses.items() if s >= 500)
    cpus = os.cpu_count() or 1
    result: dict[str, Any] = {
        "benchmark": f"soak-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}",
        "seconds": round(elapsed, 1),
        "workers": workers,
        "offered": {"reco_rps": reco_rate, "event_batches_per_s": event_rate, "batch": batch},
        "requests": requests,
        "rps": round(requests / elapsed, 1),
        "statuses": statuses,
        "server_5xx": server_5xx,
        "server_5xx_metrics": _server_errors(metrics),
        "transport_errors": len(tally.transport_errors),
        "transport_error_examples": tally.transport_errors[:5],
        "refused_batches": len(tally.refused_batches),
        "latency": {k: percentiles(v) for k, v in tally.latency_ms.items() if v},
        "rss_mb": {
            "warm_at_s": warm_at,
            "warm": round(rss_warm / 2**20, 1),
            "end": round(rss_end / 2**20, 1),
            "max": round(max((r for _, r in samples), default=0) / 2**20, 1),
            "growth_pct": round(growth * 100, 2),
            "samples": len(samples),
            # About 30 points over the run: whether memory levels off or keeps climbing.
            "trace": [(t, round(r / 2**20, 1)) for t, r in samples[:: max(1, len(samples) // 30)]],
        },
        "events": {
            "acknowledged": len(acknowledged),
            "journaled": sum(1 for e in acknowledged if stored.get(e, 0) >= 1),
            "lost": len(lost),
            "doubled": len(doubled),
            "lost_examples": lost[:5],
        },
        "impressions": {
            "written": _metric(metrics, 'reco_impressions_total{outcome="written"}'),
            "dropped": _metric(metrics, 'reco_impressions_total{outcome="dropped"}'),
        },
        "server_exit_code": exit_code,
        "load_average": {"before": round(load_before, 2), "after": round(load_after, 2)},
        "cpus": cpus,
        "contended": max(load_before, load_after) > cpus,
    }
    checks = {
        "no 5xx": server_5xx == 0 and not result["server_5xx_metrics"],
        "no transport error": not tally.transport_errors,
        f"memory growth < {max_growth:.0%}": growth < max_growth,
        "no acknowledged event lost": not lost and not doubled,
        "every batch accepted": not tally.refused_batches,
        # uvicorn re-raises the SIGTERM it handled once it has shut down gracefully.
        "clean shutdown": exit_code in (0, -signal.SIGTERM) and "Traceback" not in log_tail,
    }
    result["checks"] = checks
    result["passed"] = all(checks.values())
    if not result["passed"]:
        result["server_log_tail"] = log_tail
    return result


def print_summary(result: dict[str, Any]) -> None:
    rss, ev = result["rss_mb"], result["events"]
    row = {
        "seconds": result["seconds"],
        "requests": result["requests"],
        "rps": result["rps"],
        "5xx": result["server_5xx"],
        "errors": result["transport_errors"],
        "rss warm MB": rss["warm"],
        "rss end MB": rss["end"],
        "growth %": rss["growth_pct"],
        "events acked": ev["acknowledged"],
        "journaled": ev["journaled"],
        "lost": ev["lost"],
    }
    print()
    print_table([row], list(row))
    for name, ok in result["checks"].items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    if result["contended"]:
        print(
            f"  note: contended machine (load average {result['load_average']}, "
            f"{result['cpus']} CPUs): latency and rps are not the service's own"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=300, help="length of the load (default 300)")
    p.add_argument("--workspace", type=Path, default=None, help="copy this workspace (else build)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--reco-rate", type=float, default=30.0, help="recommendations/s offered")
    p.add_argument("--event-rate", type=float, default=8.0, help="event batches/s offered")
    p.add_argument("--batch", type=int, default=10, help="events per batch")
    p.add_argument("--warmup", type=float, default=0.2, help="share of the run before the baseline")
    p.add_argument("--max-growth", type=float, default=0.10, help="allowed RSS growth (0.10: 10%%)")
    p.add_argument("--out", type=Path, default=None, help="where to write the JSON result")
    args = p.parse_args(argv)
    if not 1 <= args.seconds <= 3600:
        p.error(f"--seconds={args.seconds:g} must be within 1..3600")
    if not 0 < args.reco_rate <= 500 or not 0 < args.event_rate <= 100:
        p.error("--reco-rate must be within (0, 500] and --event-rate within (0, 100]")
    result = run(
        seconds=args.seconds,
        workspace=args.workspace,
        workers=args.workers,
        reco_rate=args.reco_rate,
        event_rate=args.event_rate,
        batch=args.batch,
        warmup=args.warmup,
        max_growth=args.max_growth,
    )
    write_result(result, args.out)
    print_summary(result)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
