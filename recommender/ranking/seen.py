"""Already-seen assets: one scale-free rule for every scorer.

A partner who already engaged with an asset may come back to it (a calculator reused in every
deal) or may not (a white paper read once). How much less (or more) likely a partner is to
engage with an asset again is a ratio of engagement rates, `return_ratio`, which training
measures on the log (`recommender.learning.returns`) and records in the model's manifest;
before any model, `DEFAULT_RETURN_RATIO` stands in for it.

The ratio acts on ranks, not on scores, so it means the same under any scorer (the content
scorer's scores sit between 0.6 and 0.8, a learned scorer's probabilities span 0.2 to 0.001):
the candidate at rank k (0 = the best) is worth 1 / (k + 1) and a seen one ratio / (k + 1);
the candidates are ordered by that worth (an unseen one first where they tie). With a ratio
of 0.5 a seen asset at rank 0 moves to rank 1, one at rank 9 to rank 19; with a ratio above 1
seen assets move up.
"""

from __future__ import annotations

import numpy as np

# Until a log says otherwise, a partner is taken to be half as likely to engage again with
# what it already used (an assumption of this engine, replaced by the measured ratio as soon
# as a model is trained).
DEFAULT_RETURN_RATIO = 0.5
# A measured ratio is kept within these bounds: a seen asset never disappears, nor takes over.
MIN_RETURN_RATIO, MAX_RETURN_RATIO = 0.05, 4.0


def seen_order(scores: np.ndarray, seen: np.ndarray, ratio: float) -> list[int]:
    """Indices of the candidates, best first: by score, with the seen ones (`seen`, a mask)
    worth `ratio` times their rank's worth (see the module docstring)."""
    order = np.argsort(-scores, kind="stable")
    if not seen.any() or ratio == 1.0:
        return order.tolist()  # type: ignore[no-any-return]
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    worth = 1.0 / (rank + 1.0)
    worth[seen] *= float(np.clip(ratio, MIN_RETURN_RATIO, MAX_RETURN_RATIO))
    # equal worth: the unseen asset first, then by rank
    return np.lexsort((rank, seen, -worth)).tolist()  # type: ignore[no-any-return]
