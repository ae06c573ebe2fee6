"""Codes: values as integer positions in a vocabulary or table, -1 for missing or unknown.

Used wherever a column of ids or category names becomes array indexes: the asset table's
encoding, the usage index, training examples and evaluation queries.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from features.pairs import AssetTable


def lookup_codes(mapping: Mapping[str, int], ids: object) -> np.ndarray:
    """mapping[id] for each id (as str; -1 for missing ids and ids not in the mapping).

    Each distinct id is looked up once: the column is factorized (one hashing pass in C,
    dictionary encoding for Arrow-backed strings), so a journal's million rows over a few
    thousand ids cost about as much as the ids.
    """
    if isinstance(ids, pd.Series | pd.Index):
        values: Any = ids
    else:
        values = np.asarray(ids, dtype=object)
        if values.ndim == 0:
            values = values.reshape(1)
    n = len(values)
    if not len(mapping) or not n:
        return np.full(n, -1, dtype=np.int64)
    codes, uniques = pd.factorize(values)  # missing values get -1
    table = {str(k): int(v) for k, v in mapping.items()}
    # One slot more than the distinct ids: code -1 (missing) picks the last, -1.
    found = np.fromiter(
        itertools.chain((table.get(str(u), -1) for u in uniques), (-1,)),
        dtype=np.int64,
        count=len(uniques) + 1,
    )
    return found[codes]


def table_positions(table: AssetTable, asset_ids: pd.Series | np.ndarray) -> np.ndarray:
    """Positions of asset ids in `table` (-1 for missing or unknown ids)."""
    return lookup_codes(table.position, asset_ids)


def codes_of(values: pd.Series | None, vocab: list[str], n: int) -> np.ndarray:
    """Index of each value in `vocab` (-1 for missing or unknown)."""
    if values is None:
        return np.full(n, -1, dtype=np.int64)
    return lookup_codes({v: i for i, v in enumerate(vocab)}, values)
