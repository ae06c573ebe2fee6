"""`recommender demo`: turn the shipped demo data into a working workspace.

Catalog and index from data/demo/assets.jsonl (+ documents), partners from partners.csv, the
default playbook, and usage logs made by the closed loop (`demo.generator.closed_loop`): the
engine serves the simulated portal period after period, is retrained on what it served and
promoted, so the workspace ends with a promoted model trained on the whole log. Re-running is
cheap: vectors come from the content-hash cache and the journal is filled only when empty (or
when `regenerate` asks for fresh logs).
"""

from __future__ import annotations

import json
import sys
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
    preset: str = "default",
    seed: int | None = None,
    variant: str | None = None,
    n_assets: int | None = None,
    n_partners: int | None = None,
    n_deals: int = 3000,
    n_events: int = 200_000,
    rounds: int | None = None,
    out: Path | None = None,
    progress: bool = True,
) -> list[str]:
    """Build (or refresh) the demo workspace; returns the lines of a human-readable report.

    The generator's configuration is the `preset` (`demo.generator.CONFIGS`: "default" or
    "second") with the sizes given and, when given, another seed, variant or number of
    rounds (periods of the closed loop, each ending with a retraining and a promotion)."""
    from demo.generator import GeneratorConfig, World, closed_loop, write_generated
    from recommender import EventJournal, import_partners, ingest, load_playbook, save_partners

    ws.ensure()
    lines: list[str] = [f"workspace: {ws.root}"]
    load_playbook(ws)
    changes: dict[str, Any] = {
        "n_assets": n_assets,
        "n_partners": n_partners,
        "n_deals": n_deals,
        "n_events": n_events,
    }
    for name, value in (("seed", seed), ("variant", variant), ("rounds", rounds)):
        if value is not None:
            changes[name] = value
    config = GeneratorConfig.preset(preset, **changes)
    synthetic = n_assets is not None or n_partners is not None
    if events and regenerate:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ws.events_path}{suffix}").unlink(missing_ok=True)
    logs = events and _journal_count(ws) == 0
    world = World.build(config) if synthetic or logs else None

    if synthetic and world is not None:
        save_partners(ws, world.partners)
        lines.append(f"partners: {len(world.partners)} (synthesized)")
        table = ws.generated_dir / "assets.parquet"
        table.parent.mkdir(parents=True, exist_ok=True)
        world.assets.to_parquet(table, index=False)
        report = ingest(ws, [table], replace=True, progress=progress)
    else:
        count = import_partners(ws, DEMO_DATA / "partners.csv").total
        lines.append(f"partners: {count} from {DEMO_DATA / 'partners.csv'}")
        report = ingest(ws, [DEMO_DATA / "assets.jsonl"], replace=True, progress=progress)
    lines.append(
        f"catalog: {report.assets} assets, {report.chunks} chunks "
        f"({report.embedded} embedded, {report.cached} from cache) in {report.seconds:.1f} s"
    )

    if logs and world is not None:
        periods: list[str] = []

        def say(line: str) -> None:
            periods.append(f"  {line}")
            if progress:
                print(line, file=sys.stderr, flush=True)

        started = time.perf_counter()
        result = closed_loop(ws, config, world=world, report=say)
        data = result.data
        lines.append(
            f"closed loop: {len(data.deals)} deals, {len(result.requests)} requests served by "
            f"the engine, {len(data.events)} events (preset {preset}, seed {config.seed}, "
            f"variant {config.variant}, {config.rounds} rounds) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        lines.extend(periods)
        out_dir = out or ws.generated_dir
        write_generated(data, out_dir)
        lines.append(f"generated data written to {out_dir}")
        data.deals.to_parquet(ws.deals_path, index=False)
        last = result.periods[-1]
        model = (
            f"model {last.trained} (trained on all of them) promoted"
            if last.trained
            else f"no model trained ({last.not_trained}): the playbook serves"
        )
        lines.append(f"event journal: {len(data.events)} events in {ws.events_path}; {model}")
    elif events:
        with EventJournal(ws.events_path) as journal:
            lines.append(f"event journal: {journal.count()} events in {ws.events_path} (kept)")
    if ws.deals_path.exists():
        deals = pd.read_parquet(ws.deals_path)
        lines.append(f"deals: {len(deals)} in {ws.deals_path}")
    return lines


def _journal_count(ws: Workspace) -> int:
    """How many events the workspace's journal holds (0 without one)."""
    from recommender import EventJournal

    if not ws.events_path.exists():
        return 0
    with EventJournal(ws.events_path) as journal:
        return journal.count()


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
