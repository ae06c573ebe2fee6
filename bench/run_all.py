"""Run every benchmark, check each figure against its target, and write BENCHMARKS.md.

    make bench                                   # = .venv/bin/python -m bench.run_all
    .venv/bin/python -m bench.run_all --quick    # small sizes: a smoke run (minutes)
    .venv/bin/python -m bench.run_all --only ingest,quality
    .venv/bin/python -m bench.run_all --render-only   # rebuild the document from saved JSON

This is the runner. Each script runs in its own subprocess (so one's memory and threads do not
bias the next), in the order of BENCHES: recommend (in process), http (real server + wrk),
query_embed, ingest, training, scoring, soak, managers (portfolio and digests), snapshot
(snapshot builds over a 10M-event journal), database (PostgreSQL: ingest, two replicas),
quality,
experiments (interleaving's power over 50 simulated experiments, one experiment run by the
engine end to end), learning (the closed loop, the longest).
Their output goes to the terminal and to `<results>/logs/<name>.log`; their JSON to
`<results>/<name>.json` (full runs: bench/results/; --quick: bench/results/quick/). Scripts
that do not exist yet are listed as not run. A failed script does not stop the others; the
exit status is 1 when any failed.

The figures are then checked against the targets table (bench/targets.py: met / MISSED / not
measured). For a missed target the profile that shows why goes into the document: the
script's own (bench_recommend and bench_ingest profile themselves when they miss), else
`python -m bench.profile_notes <what>` is run for it.

The document (bench/report.py; BENCHMARKS.md for full runs, <results>/BENCHMARKS.md for
--quick) holds the tables, the machine (CPU model, cores, memory, Python, load average before
the run), the date and the exact command.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import PROJECT_ROOT, RESULTS, machine_info, print_table, recommender_command
from bench.report import render
from bench.targets import Check, evaluate

DOC = PROJECT_ROOT / "BENCHMARKS.md"


@dataclass(frozen=True)
class Bench:
    """A benchmark script and how the runner calls it: `module` with the `quick` or `full`
    arguments (plus `--out <results>/<name>.json` when it takes one), killed after timeout_s."""

    name: str
    module: str
    quick: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    timeout_s: float = 3600.0
    # legacy result files: a glob in bench/results/ for scripts without --out
    glob: str | None = None
    needs_demo: bool = False


BENCHES: tuple[Bench, ...] = (
    Bench(
        "recommend",
        "bench.bench_recommend",
        quick=("--sizes", "demo,1000", "--requests", "100", "--naive-requests", "20"),
        timeout_s=3600,
        needs_demo=True,
    ),
    Bench(
        "http",
        "bench.bench_http",
        quick=(
            "--duration",
            "5",
            "--warmup",
            "3",
            "--no-cold",
            "--no-promote",
            "--experiment-rounds",
            "1",
        ),
        timeout_s=1800,
        glob="http-*.json",
        needs_demo=True,
    ),
    Bench(
        "query_embed",
        "bench.bench_query_embed",
        quick=("--rounds", "30"),
        timeout_s=900,
    ),
    Bench(
        "ingest",
        "bench.bench_ingest",
        quick=("--assets", "100", "--sample", "16"),
        timeout_s=3600,
    ),
    Bench(
        "content",
        "bench.bench_content",
        quick=("--partners", "5", "--no-first-serve"),
        timeout_s=1800,
    ),
    Bench(
        "training",
        "bench.bench_training",
        quick=("--quick",),
        full=("--events", "100000", "--events", "1000000"),
        timeout_s=3600,
        glob="training*.json",
    ),
    Bench(
        "scoring",
        "bench.bench_scoring",
        quick=("--quick",),
        timeout_s=1800,
        glob="scoring*.json",
    ),
    Bench(
        "soak",
        "bench.soak",
        quick=("--seconds", "30"),
        timeout_s=1800,
    ),
    Bench(
        "managers",
        "bench.bench_managers",
        quick=("--repeats", "5", "--events", "50000"),
        timeout_s=1800,
        needs_demo=True,
    ),
    Bench(
        "snapshot",
        "bench.bench_snapshot",
        quick=("--events", "500000", "--repeats", "2"),
        timeout_s=3600,
        needs_demo=True,
    ),
    Bench(
        "database",
        "bench.bench_database",
        quick=("--events", "50000", "--seconds", "15"),
        timeout_s=3600,
        needs_demo=True,
    ),
    Bench(
        "quality",
        "bench.bench_quality",
        quick=("--e5-prefixes", "passage"),
        timeout_s=1800,
    ),
    Bench(
        "experiments",
        "bench.bench_experiments",
        quick=(
            "--deals",
            "600",
            "--experiments",
            "10",
            "--requests",
            "1600",
            "--engine-deals",
            "150",
            "--engine-requests",
            "800",
        ),
        timeout_s=5400,
    ),
    Bench(
        "learning",
        "bench.bench_learning",
        quick=("--quick",),
        timeout_s=7200,
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
    # Unbuffered, so a script's output reaches the terminal and its log as it comes. The
    # engine's own tuning (OMP_WAIT_POLICY) is set by `import recommender` in the child.
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


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
        recommender_command("demo", "--no-events"),
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
    """{name: its JSON} of every script with a result file in `results`."""
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


# --- profiles of missed targets -------------------------------------------------------------
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


def profile_missed(t: Check, results: Path, *, run: bool) -> str | None:
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


def missed_profiles(
    checks: list[Check], data: dict[str, Any], results: Path, *, ran: set[str], run: bool
) -> dict[str, str]:
    """{what: profile text} for each MISSED check: the script's own profile, else
    bench.profile_notes' (run now when `run` and the script ran in this run (`ran`), else the
    log of an earlier run), else a line saying how to get one."""
    profiles: dict[str, str] = {}
    profiled: dict[tuple[str, ...], str | None] = {}
    for t in checks:
        if t.status != "MISSED":
            continue
        text = own_profile(t.bench, data.get(t.bench))
        if text is None and t.profile_args in profiled:
            text = profiled[t.profile_args]  # e.g. training's time and memory: one profile
        elif text is None:
            text = profile_missed(t, results, run=run and t.bench in ran)
            profiled[t.profile_args] = text
        profiles[t.what] = text or (
            "no profile recorded; run: python -m bench.profile_notes " + " ".join(t.profile_args)
            if t.profile_args
            else "no profile recorded: this script has no profiler (for HTTP, the in-process "
            "request path is profiled by `python -m bench.profile_notes recommend`)"
        )
    return profiles


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
            # a partial run keeps the other scripts' earlier records, each with when it ran
            earlier = json.loads(state_path.read_text())
            old = {
                r["name"]: {**r, "run": r.get("run") or earlier.get("when")}
                for r in earlier.get("records", [])
            }
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
    checks = evaluate(data)
    ran = set() if args.render_only else {b.name for b in chosen}
    profiles = missed_profiles(checks, data, results, ran=ran, run=not args.no_profile)
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
    print_table([asdict(t) for t in checks], ["what", "target", "measured", "status"])
    print(f"\nwritten {doc}")
    failed = [r["name"] for r in records if str(r.get("status", "")).startswith("failed")]
    if failed:
        print(f"failed: {failed} (see {results / 'logs'})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
