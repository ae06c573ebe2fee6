"""The catalog and partners a generated world runs on: the caller's tables (validated), the
committed demo data, or tables synthesized by demo.content with the demo's distributions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from demo import DEMO_DATA
from demo.content import build_assets, build_partners
from demo.generator.config import GeneratorConfig
from features.schema import ASSETS, PARTNERS, TableContract
from features.validation import validate_table

__all__ = ["DEMO_DIR", "load_demo_assets", "load_demo_partners", "resolve_tables"]

DEMO_DIR = DEMO_DATA


def load_demo_assets(root: Path = DEMO_DIR) -> pd.DataFrame:
    """The demo catalog (data/demo/assets.jsonl), validated against ASSETS and normalised."""
    path = root / "assets.jsonl"
    with path.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    return _validated(pd.DataFrame.from_records(records), ASSETS, source=str(path))


def load_demo_partners(root: Path = DEMO_DIR) -> pd.DataFrame:
    """The demo partners (data/demo/partners.csv), validated against PARTNERS and normalised."""
    path = root / "partners.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return _validated(frame, PARTNERS, source=str(path))


def _validated(frame: pd.DataFrame, contract: TableContract, *, source: str) -> pd.DataFrame:
    """`validate_table`, then date columns as datetime64 (NaT when missing) so that callers
    can compare and write them without converting cell by cell."""
    out = validate_table(frame, contract, source=source)
    for col in contract.columns:
        if col.kind in ("date", "datetime"):
            out[col.name] = pd.to_datetime(out[col.name])
    return out


def _trusted_frame(rows: list[dict[str, Any]], contract: TableContract) -> pd.DataFrame:
    """A table this module built itself, in the normalised form `validate_table` returns
    (every contract column, dates as datetime64), without re-checking each cell."""
    frame = pd.DataFrame.from_records(rows)
    for col in contract.columns:
        if col.name not in frame.columns:
            empty: list[Any] = (
                [[] for _ in range(len(frame))]
                if col.kind.endswith("_list")
                else [None] * len(frame)
            )
            frame[col.name] = empty
        elif col.kind in ("date", "datetime"):
            frame[col.name] = pd.to_datetime(frame[col.name])
    return frame[contract.names]


def resolve_tables(
    config: GeneratorConfig, assets: pd.DataFrame | None, partners: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The caller's tables (validated: they come from outside), else the demo tables, else
    synthesized ones with the demo's distributions."""
    if assets is not None:
        assets = _validated(assets, ASSETS, source="assets")
    elif config.n_assets is None:
        assets = load_demo_assets()
    else:
        rows = build_assets(
            config.n_assets, seed=config.seed, window_start=config.start, window_days=config.days
        )
        assets = _trusted_frame(rows, ASSETS)
    if partners is not None:
        partners = _validated(partners, PARTNERS, source="partners")
    elif config.n_partners is None:
        partners = load_demo_partners()
    else:
        partners = _trusted_frame(build_partners(config.n_partners, seed=config.seed), PARTNERS)
    if len(partners) == 0:
        raise ValueError("partners is empty; deals need at least one partner")
    return assets, partners
