"""In-process latency of `Recommender.recommend`, beside a naive pandas baseline.

    python -m bench.bench_recommend                 # demo catalog + 1k/10k/100k synthetic
    python -m bench.bench_recommend --sizes demo    # the demo catalog only (issue 2 targets)

Demo catalog: real e5 vectors of the demo assets; 1,000 mixed requests (random partner, stage,
industry, products, competitors) without notes, with notes never seen before (each request
embeds its note: the cold path), and with notes of a deal asked about again (the query-vector
cache: the portal re-asks for the same deal). Synthetic catalogs (1k, 10k, 100k assets) use the
demo generator's asset distributions and random unit vectors; their notes requests embed real
text and search the synthetic vectors. The naive baseline scores every asset with pandas
(`apply` over rows for tag matches, then `sort_values`), as a script written without the
engine would. Prints a JSON document and a table.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import percentiles, print_table, write_result
from demo import DEMO_DATA
from features.pairs import STAGES
from recommender import (
    Catalog,
    DealContext,
    PartnerProfile,
    Playbook,
    Recommender,
    Snapshot,
    VectorIndex,
    Workspace,
    get_embedder,
)

NOTES = [
    "Клієнт просить порахувати окупність обладнання до засідання правління",
    "Заказчик сравнивает нас с конкурентом и хочет увидеть TCO на три года",
    "Customer wants a reference architecture for a plant-floor data platform",
    "Потрібен кейс з виробництва, схожий на цей завод",
    "CFO asks for ROI numbers and a payback period before signing",
    "Нужна презентация для ИТ-директора банка о безопасности",
    "Partner is new and needs onboarding material for its first deal",
    "Клієнт з енергетики питає про інтеграцію зі SCADA",
]


@dataclass
class Request:
    partner: PartnerProfile
    context: DealContext


def make_requests(
    rng: random.Random,
    partners: list[PartnerProfile],
    industries: list[str],
    products: list[str],
    competitors: list[str],
    n: int,
    notes: list[str] | None,
) -> list[Request]:
    out = []
    for i in range(n):
        p = rng.choice(partners)
        ctx = DealContext(
            stage=rng.choice(STAGES),
            industry=rng.choice(industries) if rng.random() < 0.8 else None,
            products=tuple(rng.sample(products, k=rng.randint(0, 2))),
            competitors=(rng.choice(competitors),) if rng.random() < 0.3 else (),
            notes=None if notes is None else notes[i % len(notes)],
        )
        out.append(Request(p, ctx))
    return out


def time_requests(
    engine: Recommender, requests: list[Request], warmup: list[Request], n: int = 10
) -> dict[str, float]:
    # Warm-up requests are separate from the measured ones: warming up with the measured
    # requests put their notes in the query cache, so "new each time" was partly cached.
    for r in warmup:
        engine.recommend(r.context, r.partner, n=n)
    times = []
    for r in requests:
        started = time.perf_counter()
        engine.recommend(r.context, r.partner, n=n)
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def naive_pandas(assets: pd.DataFrame, playbook: Playbook, r: Request, n: int = 10) -> list[str]:
    """Score every asset row by row with pandas, the way a script without the engine would."""
    pb = playbook.raw
    st = pb.get("stage_type", {}).get(r.context.stage, {})
    md = pb.get("maturity_depth", {}).get(r.partner.maturity, {})
    default = pb.get("default", 0.25)
    frame = assets.copy()
    frame["prior"] = (
        frame["type"].map(lambda t: st.get(t, default)) * 0.5
        + frame["depth"].map(lambda d: md.get(d, default)) * 0.25
    )
    frame["ind"] = frame["industries"].apply(lambda xs: r.context.industry in list(xs))
    frame["prod"] = frame["products"].apply(lambda xs: bool(set(xs) & set(r.context.products)))
    frame["stage_ok"] = frame["stages"].apply(lambda xs: r.context.stage in list(xs))
    frame["lang"] = frame["language"].isin(r.partner.languages)
    frame = frame[frame["status"].fillna("published") == "published"]
    frame["score"] = (
        frame["prior"] + 0.2 * frame["ind"] + 0.1 * frame["prod"] + 0.2 * frame["stage_ok"]
    )
    frame["score"] += 0.05 * frame["lang"]
    return frame.sort_values("score", ascending=False).head(n)["asset_id"].tolist()


def time_naive(
    assets: pd.DataFrame, playbook: Playbook, requests: list[Request]
) -> dict[str, float]:
    times = []
    for r in requests:
        started = time.perf_counter()
        naive_pandas(assets, playbook, r)
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def demo_engine() -> tuple[Recommender, Workspace]:
    from demo.workspace import build_demo_workspace
    from recommender import build_snapshot

    ws = Workspace()
    if not ws.has_catalog():
        build_demo_workspace(ws, events=False)
    return Recommender(build_snapshot(ws, use_model=False)), ws


def synthetic_assets(n_assets: int, seed: int = 3) -> pd.DataFrame:
    """The catalog the demo generator synthesizes for `GeneratorConfig(n_assets=n_assets,
    seed=seed)`: `build_assets` over the generator's window, in the stored asset form."""
    from demo.content import build_assets
    from demo.generator import GeneratorConfig
    from recommender import normalise_assets

    config = GeneratorConfig(n_assets=n_assets, seed=seed)
    rows = build_assets(n_assets, seed=seed, window_start=config.start, window_days=config.days)
    return normalise_assets(pd.DataFrame.from_records(rows))


def synthetic_engine(n_assets: int, seed: int = 3) -> Recommender:
    """A Recommender over `synthetic_assets` with random unit vectors and the demo playbook."""
    assets = synthetic_assets(n_assets, seed)
    embedder = get_embedder("e5")
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(assets), embedder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex.build(vectors, assets["asset_id"].tolist(), embedder_id=embedder.id)
    catalog = Catalog(assets=assets, index=index, chunks=None)
    snap = Snapshot.build(catalog, Playbook.load(DEMO_DATA / "playbook.yaml"), {}, embedder)
    return Recommender(snap)


def default_partners() -> list[PartnerProfile]:
    """Partners of the synthetic catalogs (which have no partner table): one per tier."""
    return [
        PartnerProfile(partner_id=f"S{i}", tier=t, maturity=m, languages=("uk", "en"))
        for i, (t, m) in enumerate(
            [
                ("gold", "established"),
                ("registered", "new"),
                ("platinum", "strategic"),
                ("silver", "developing"),
            ]
        )
    ]


def profile_engine(engine: Recommender, requests: list[Request], label: str) -> dict[str, object]:
    """cProfile of `requests` (no notes) on `engine`: where a missed p99 target goes."""
    from bench.profiling import profile_call

    def run() -> None:
        for r in requests:
            engine.recommend(r.context, r.partner, n=10)

    _, prof = profile_call(run, title=f"recommend x{len(requests)} without notes at {label} assets")
    return prof


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="demo,1000,10000,100000")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--naive-requests", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--target-p99-ms", type=float, default=20.0, help="p99 target at 100k, no notes"
    )
    parser.add_argument(
        "--target-naive-ratio", type=float, default=10.0, help="naive/engine p50 at 100k"
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the 100k run even if targets are met"
    )
    parser.add_argument("--profile-requests", type=int, default=300)
    args = parser.parse_args(argv)
    rng = random.Random(11)
    rows: list[dict[str, object]] = []
    profiles: dict[str, object] = {}
    for size in args.sizes.split(","):
        if size == "demo":
            engine, _ = demo_engine()
        else:
            engine = synthetic_engine(int(size))
        snap = engine.snapshot
        assets = snap.catalog.assets
        partners = list(snap.partners.values()) or default_partners()
        industries = sorted({x for xs in assets["industries"] for x in xs}) or ["manufacturing"]
        products = sorted({x for xs in assets["products"] for x in xs}) or ["x"]
        competitors = sorted({x for xs in assets["competitors"] for x in xs}) or ["x"]
        base = make_requests(rng, partners, industries, products, competitors, args.requests, None)
        # Notes never seen before: make each text unique so the query cache never hits.
        fresh = [f"{NOTES[i % len(NOTES)]} (#{i})" for i in range(args.requests)]
        cold = make_requests(rng, partners, industries, products, competitors, args.requests, fresh)
        warm = make_requests(rng, partners, industries, products, competitors, args.requests, NOTES)
        # Warm-up sets of their own (20 each), so no measured note is cached by the warm-up.
        warm_base = make_requests(rng, partners, industries, products, competitors, 20, None)
        warm_fresh = [f"{NOTES[i % len(NOTES)]} (warm-up #{i})" for i in range(20)]
        warm_cold = make_requests(rng, partners, industries, products, competitors, 20, warm_fresh)
        label = f"demo ({len(assets)})" if size == "demo" else f"{int(size):,}"
        common = {"catalog": label, "assets": len(assets)}
        no_text = time_requests(engine, base, warm_base)
        rows.append({**common, "requests": "no notes", **no_text})
        rows.append(
            {**common, "requests": "notes, new each time", **time_requests(engine, cold, warm_cold)}
        )
        rows.append(
            {**common, "requests": "notes, repeated deal", **time_requests(engine, warm, warm[:20])}
        )
        naive = time_naive(assets, snap.playbook, base[: args.naive_requests])
        rows.append({**common, "requests": "naive pandas, no notes", **naive})
        rows[-1]["p99_ratio_vs_engine"] = round(naive["p99_ms"] / no_text["p99_ms"], 1)
        rows[-1]["p50_ratio_vs_engine"] = round(naive["p50_ms"] / no_text["p50_ms"], 1)
        if size != "demo" and len(assets) >= 100_000:
            missed = []
            if no_text["p99_ms"] > args.target_p99_ms:
                missed.append(f"p99 {no_text['p99_ms']} ms > {args.target_p99_ms} ms")
            ratio = rows[-1]["p50_ratio_vs_engine"]
            if ratio < args.target_naive_ratio:
                missed.append(f"naive/engine p50 {ratio} < {args.target_naive_ratio}")
            if missed or args.profile:
                profiles[label] = {
                    "missed": missed,
                    **profile_engine(engine, base[: args.profile_requests], label),
                }
        print(f"done {label}", file=sys.stderr, flush=True)
    result: dict[str, object] = {
        "benchmark": "recommend_in_process",
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "targets": {
            "p99_ms_without_notes_at_100k": args.target_p99_ms,
            "naive_p50_ratio_at_100k": args.target_naive_ratio,
        },
        "rows": rows,
    }
    if profiles:
        result["profile"] = profiles
    print_table(
        rows,
        [
            "catalog",
            "requests",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
            "p50_ratio_vs_engine",
            "p99_ratio_vs_engine",
        ],
    )
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
