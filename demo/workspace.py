"""`recommender demo`: turn the shipped demo data into a working workspace.

Catalog and index from data/demo/assets.jsonl (+ documents), partners from partners.csv, the
default playbook, and usage logs from the seeded generator imported into the event journal.
Re-running is cheap: vectors come from the content-hash cache and the journal is filled only
when empty (or when `regenerate` asks for fresh logs).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from demo import DEMO_DATA
from recommender import Workspace


def build_demo_workspace(
    ws: Workspace,
    *,
    events: bool = True,
    regenerate: bool = False,
    seed: int = 7,
    variant: str = "default",
    n_assets: int | None = None,
    n_partners: int | None = None,
    n_deals: int = 3000,
    n_events: int = 200_000,
    out: Path | None = None,
    progress: bool = True,
) -> list[str]:
    """Build (or refresh) the demo workspace; returns the lines of a human-readable report."""
    from demo.generator import GeneratorConfig, generate, write_generated
    from recommender import EventJournal, import_partners, ingest, load_playbook, save_partners

    ws.ensure()
    lines: list[str] = [f"workspace: {ws.root}"]
    load_playbook(ws)
    synthetic = n_assets is not None or n_partners is not None
    data = None
    if synthetic or (events and (regenerate or not ws.events_path.exists())):
        config = GeneratorConfig(
            seed=seed,
            variant=variant,
            n_assets=n_assets,
            n_partners=n_partners,
            n_deals=n_deals,
            n_events=n_events,
        )
        started = time.perf_counter()
        data = generate(config)
        lines.append(
            f"generated {len(data.deals)} deals and {len(data.events)} events "
            f"(seed {seed}, variant {variant}) in {time.perf_counter() - started:.1f} s"
        )
        out_dir = out or ws.generated_dir
        write_generated(data, out_dir)
        lines.append(f"generated data written to {out_dir}")

    if synthetic and data is not None:
        save_partners(ws, data.partners)
        lines.append(f"partners: {len(data.partners)} (synthesized)")
        table = ws.generated_dir / "assets.parquet"
        data.assets.to_parquet(table, index=False)
        report = ingest(ws, [table], replace=True, progress=progress)
    else:
        count = import_partners(ws, DEMO_DATA / "partners.csv")
        lines.append(f"partners: {count} from {DEMO_DATA / 'partners.csv'}")
        report = ingest(ws, [DEMO_DATA / "assets.jsonl"], replace=True, progress=progress)
    lines.append(
        f"catalog: {report.assets} assets, {report.chunks} chunks "
        f"({report.embedded} embedded, {report.cached} from cache) in {report.seconds:.1f} s"
    )

    if data is not None and events:
        if regenerate and ws.events_path.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{ws.events_path}{suffix}").unlink(missing_ok=True)
        data.deals.to_parquet(ws.deals_path, index=False)
        with EventJournal(ws.events_path) as journal:
            result = journal.append(
                data.events,
                known_assets=set(data.assets["asset_id"]),
                known_partners=set(data.partners["partner_id"]),
                all_or_nothing=True,
            )
            total = journal.count()
        lines.append(
            f"event journal: {result.accepted} events added, {result.duplicates} already there; "
            f"{total} in {ws.events_path}"
        )
    elif events:
        from recommender import EventJournal as _Journal

        with _Journal(ws.events_path) as journal:
            lines.append(f"event journal: {journal.count()} events in {ws.events_path} (kept)")
    if ws.deals_path.exists():
        deals = pd.read_parquet(ws.deals_path)
        lines.append(f"deals: {len(deals)} in {ws.deals_path}")
    return lines


def demo_asset_rows(count: int) -> list[dict[str, Any]]:
    """The first `count` assets of the demo catalog as ASSETS rows, without their documents
    (a small real catalog for tests and benchmarks that are not about document reading)."""
    rows: list[dict[str, Any]] = []
    with (DEMO_DATA / "assets.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if len(rows) == count:
                break
            if line.strip():
                row = json.loads(line)
                row.pop("document", None)
                rows.append(row)
    return rows
