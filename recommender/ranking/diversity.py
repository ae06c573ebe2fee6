"""Diversity: no more than a few assets of one type in each block of ten."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def diversify(
    order: Sequence[int], types: np.ndarray, n: int, max_per_type: int, *, protected: int = 0
) -> list[int]:
    """Take items in `order`, at most `max_per_type` of one type in each block of 10.

    The first `protected` items (pins) are always kept. If the cap leaves fewer than n items
    (a catalog thin in types), the skipped ones fill the rest in their order.
    """
    chosen: list[int] = []
    skipped: list[int] = []
    counts: dict[int, int] = {}
    for rank, i in enumerate(order):
        if len(chosen) >= n:
            break
        block_start = (len(chosen) // 10) * 10
        if block_start == len(chosen) and len(chosen) > 0:
            counts = {}
        ty = int(types[i])
        if rank < protected or counts.get(ty, 0) < max_per_type:
            chosen.append(i)
            counts[ty] = counts.get(ty, 0) + 1
        else:
            skipped.append(i)
    for i in skipped:
        if len(chosen) >= n:
            break
        chosen.append(i)
    return chosen
