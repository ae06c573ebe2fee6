"""cProfile summaries: run a call under the profiler and keep its top functions as a table.

The benchmark scripts attach `profile_call`'s summary to their JSON when they miss a target
(bench_recommend, bench_ingest); `bench.profile_notes` is the command that profiles a
measured operation on request. Imports nothing of the project but bench.common.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Callable
from typing import Any, TypeVar

from bench.common import PROJECT_ROOT

T = TypeVar("T")


def _short(path: str) -> str:
    """`.../site-packages/pandas/core/frame.py` -> `pandas/core/frame.py`; project files
    relative to the project."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    return path.replace(f"{PROJECT_ROOT}/", "")


def top_functions(
    profile: cProfile.Profile, *, top: int = 25, sort: str = "cumulative"
) -> list[dict[str, Any]]:
    """The `top` functions of a finished profile as dicts (calls, own and cumulative s)."""
    stats = pstats.Stats(profile)
    rows = []
    for (file, line, name), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{_short(file)}:{line}({name})" if line else name,
                "calls": int(ncalls),
                "own_s": round(float(tottime), 4),
                "cumulative_s": round(float(cumtime), 4),
            }
        )
    key = "cumulative_s" if sort == "cumulative" else "own_s"
    rows.sort(key=lambda r: r[key], reverse=True)
    return rows[:top]


def format_profile(rows: list[dict[str, Any]], title: str) -> str:
    """A fixed-width text table of `top_functions` rows."""
    out = io.StringIO()
    out.write(f"{title}\n")
    out.write(f"{'cum s':>9} {'own s':>9} {'calls':>9}  function\n")
    for r in rows:
        out.write(
            f"{r['cumulative_s']:>9.3f} {r['own_s']:>9.3f} {r['calls']:>9}  {r['function']}\n"
        )
    return out.getvalue()


def profile_call(
    fn: Callable[[], T], *, top: int = 25, title: str = "profile"
) -> tuple[T, dict[str, Any]]:
    """Run `fn()` under cProfile; returns (its result, {"wall_s", "by_cumulative", "by_own",
    "text"}) and prints the text summary."""
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    try:
        result = fn()
    finally:
        profile.disable()
    wall = time.perf_counter() - started
    cumulative = top_functions(profile, top=top, sort="cumulative")
    own = top_functions(profile, top=top, sort="own")
    text = (
        f"{title}: {wall:.2f} s under cProfile\n"
        + format_profile(cumulative, "top functions by cumulative time")
        + format_profile(own[: max(10, top // 2)], "top functions by own time")
    )
    print(text, flush=True)
    return result, {
        "wall_s": round(wall, 3),
        "by_cumulative": cumulative,
        "by_own": own,
        "text": text,
    }
