"""The oracle: the true utility of (deal at a stage, asset), which only a simulator knows.

Data a simulator made can come with its oracle (the demo generator's: `demo.oracle.oracle_for`);
`LearningData` carries it, and the evaluation then ranks by it as the `oracle` model and scores
every model against it (`evaluation.truth_ndcg`). Real logs have none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from features.pairs import AssetTable


class Oracle(Protocol):
    """The true utility of (deal at a stage, asset), which only a simulator knows: the demo
    generator's (`demo.oracle_for`) or another's. Evaluation ranks by it as the `oracle`
    model and scores every model against it (`truth_ndcg`)."""

    def utility(
        self, deal_ids: Sequence[Any], stages: Sequence[str], table: AssetTable
    ) -> np.ndarray:
        """(n, len(table)) utility of each (deal at stage) for every catalog asset; -inf for
        assets or deals the oracle does not know."""
        ...
