"""Writing a generated world: its tables as parquet and ground_truth.json (config, truth
parameters, the documented formula, every asset's latent quality, counts).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from demo.generator.simulate import GeneratedData
from demo.generator.truth import asset_quality, truth_parameters

__all__ = ["write_generated"]


def write_generated(data: GeneratedData, out_dir: Path) -> dict[str, Path]:
    """Write deals/events/partners/assets parquet files and ground_truth.json to `out_dir`.

    ground_truth.json holds the config, the truth parameters (weights, affinity table) and
    the latent quality of every asset, so an evaluation can rebuild the oracle ranking.
    Returns {name: path}.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        name: out_dir / f"{name}.parquet" for name in ("deals", "events", "partners", "assets")
    }
    data.deals.to_parquet(paths["deals"], index=False)
    data.events.to_parquet(paths["events"], index=False)
    data.partners.to_parquet(paths["partners"], index=False)
    data.assets.to_parquet(paths["assets"], index=False)
    quality = asset_quality(data.assets["asset_id"].astype(str), data.config)
    truth = {
        "config": asdict(data.config),
        "truth": truth_parameters(data.config),
        "formula": _formula(),
        "asset_quality": {
            str(aid): round(float(q), 6)
            for aid, q in zip(data.assets["asset_id"], quality, strict=True)
        },
        "counts": {
            "assets": len(data.assets),
            "partners": len(data.partners),
            "deals": len(data.deals),
            "events": len(data.events),
            "events_by_type": {
                str(k): int(v) for k, v in data.events["type"].value_counts().sort_index().items()
            },
        },
    }
    paths["ground_truth"] = out_dir / "ground_truth.json"
    paths["ground_truth"].write_text(
        json.dumps(truth, ensure_ascii=False, indent=2, default=_json_default) + "\n",
        encoding="utf-8",
    )
    return paths


def _formula() -> str:
    """The truth as the package docstring documents it (the part before its notes on the
    simulation). Read when writing: the package imports this module while it loads."""
    doc = importlib.import_module("demo.generator").__doc__
    return doc.split("Behaviour (simulation")[0].strip() if doc else ""


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)
