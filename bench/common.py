"""Helpers shared by the benchmark scripts: percentiles, a readable table, JSON results."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from recommender import Workspace

# the checkout the benchmarks run from (bench/ is not installed)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT_ROOT / "bench" / "results"
# the vector cache the benchmarks' own workspaces share (git-ignored, like every .cache/)
BENCH_EMBED_CACHE = PROJECT_ROOT / ".cache" / "bench-embeddings.sqlite"


def recommender_command(*args: str) -> list[str]:
    """`recommender <args>` as an argv: the command's own entry point (cli.main) run by this
    Python, so that it is the checkout's code whether or not the package is installed."""
    return [sys.executable, "-c", "import sys; from cli import main; sys.exit(main())", *args]


def percentiles(times_ms: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean of a list of latencies in milliseconds."""
    a = np.asarray(times_ms, dtype=np.float64)
    return {
        "n": int(a.size),
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p90_ms": round(float(np.percentile(a, 90)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "max_ms": round(float(a.max()), 3),
        "mean_ms": round(float(a.mean()), 3),
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gb() -> float | None:
    """Total memory in GB (from /proc/meminfo; None elsewhere)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    """`machine()` plus the CPU model, the cores this process may use and the memory: the
    Machine table of BENCHMARKS.md."""
    info = machine()
    info.update(
        cpu_model=cpu_model(),
        nproc=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        memory_gb=memory_gb(),
    )
    return info


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """A fixed-width table of `columns` (missing cells blank)."""
    cells = [[str(c) for c in columns]] + [
        ["" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for n, r in enumerate(cells):
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def write_result(result: dict[str, Any], out: Path | None = None) -> Path:
    """Print the result as JSON and save it (default bench/results/<benchmark>.json)."""
    result = {**result, "machine": machine()}
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    print(text)
    path = out or RESULTS / f"{result['benchmark']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return path


def ensure_demo_index(ws: Any, embedder: Any) -> bool:
    """Re-ingest the demo catalog into `ws` when its index was built by another embedder (a
    workspace a bench reuses across runs, made before the default engine changed); events,
    deals and models stay. Returns whether it re-ingested."""
    from demo import DEMO_DATA
    from recommender import IndexMismatchError, ingest, load_catalog

    try:
        load_catalog(ws, embedder_id=embedder.id, dim=embedder.dim)
        return False
    except IndexMismatchError:
        ingest(ws, [DEMO_DATA / "assets.jsonl"], embedder=embedder, replace=True, progress=True)
        return True


def copy_workspace(source: Path, models: Path | None, dest: Path) -> Workspace:
    """A private copy of the workspace at `source` (and of its models) in `dest`, for a
    benchmark that runs a server: what the server writes (impressions, events, promotions)
    goes to the copy, so the source's journal does not grow with every run and every run
    starts from the same state. Lock files are left out. Returns the copy's Workspace."""
    from recommender import Workspace

    original = Workspace.at(source, models)
    shutil.copytree(original.root, dest, ignore=shutil.ignore_patterns("*.lock"))
    target = dest / "models"
    if original.models_dir.exists() and original.models_dir.resolve() != target.resolve():
        shutil.copytree(original.models_dir, target, dirs_exist_ok=True)
    return Workspace.at(dest, target)
