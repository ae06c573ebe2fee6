"""The generator's oracle: the true utility of every (deal at a stage, asset) in a generated
world, read back from the generator's output folder (`<workspace>/generated/`), or handed the
world's tables directly (the closed loop trains with it). `demo.oracle` is its public path.

It implements `recommender.Oracle` (recommender.learning.oracle), so training and evaluation
rank by the truth and score every model against it, without the engine knowing the generator
exists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from demo.generator.config import GeneratorConfig
from demo.generator.truth import true_utility
from features.codes import table_positions
from features.pairs import STAGES, AssetTable
from recommender import Workspace


@dataclass
class GeneratorOracle:
    """The generator's true utility for (deal at stage, asset), for the data it made."""

    config: GeneratorConfig
    assets: pd.DataFrame
    partners: pd.DataFrame
    deals: pd.DataFrame

    @classmethod
    def from_folder(cls, folder: Path) -> GeneratorOracle | None:
        """The oracle of the generator output in `folder`, or None when there is none."""
        truth = folder / "ground_truth.json"
        needed = [folder / f"{n}.parquet" for n in ("assets", "partners", "deals")]
        if not truth.exists() or not all(p.exists() for p in needed):
            return None
        raw = json.loads(truth.read_text(encoding="utf-8"))["config"]
        names = set(GeneratorConfig.__dataclass_fields__)
        config = GeneratorConfig(**{k: v for k, v in raw.items() if k in names})
        return cls(
            config=config,
            assets=pd.read_parquet(needed[0]),
            partners=pd.read_parquet(needed[1]),
            deals=pd.read_parquet(needed[2]),
        )

    def utility(
        self, deal_ids: Sequence[Any], stages: Sequence[str], table: AssetTable
    ) -> np.ndarray:
        """(n, len(table)) true utility of each (deal at stage) for every catalog asset;
        -inf for assets or deals the generator did not make, and for a context of no known
        stage (the truth is a deal's at a stage)."""
        n = len(deal_ids)
        out = np.full((n, len(table)), -np.inf)
        deals = self.deals.set_index(self.deals["deal_id"].astype(str), drop=False)
        known = np.array(
            [str(d) in deals.index and s in STAGES for d, s in zip(deal_ids, stages, strict=True)],
            dtype=bool,
        )
        if not known.any():
            return out
        rows = deals.loc[[str(d) for d, k in zip(deal_ids, known, strict=True) if k]].copy()
        rows["stage"] = [s for s, k in zip(stages, known, strict=True) if k]
        rows = rows.reset_index(drop=True)
        u = true_utility(rows, self.assets, self.partners, self.config)
        cols = table_positions(table, self.assets["asset_id"].astype(str))
        ok = cols >= 0
        block = np.full((len(rows), len(table)), -np.inf)
        block[:, cols[ok]] = u[:, ok]
        out[known] = block
        return out


def oracle_for(workspace: Workspace) -> GeneratorOracle | None:
    """The oracle of the data the demo generator wrote into `workspace`, or None (real logs)."""
    return GeneratorOracle.from_folder(Path(workspace.generated_dir))
