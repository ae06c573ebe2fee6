"""Languages the partner reads: an asset in another language is a last resort.

A partner reads the languages its profile lists, and the deal's own language. An asset in
none of them (an *unreadable* one) keeps its place in a ranking only when no readable asset of
comparable relevance is left to take it: a readable candidate is comparable when its score is
within `comparable` standard deviations (of the request's candidate scores) of the unreadable
one's. At most `per_list` unreadable assets pass readable ones that way; once the readable
candidates run out, the unreadable ones follow in their order (a list in a language the
partner does not read beats no list). Pins keep their places. Assets of unknown language, and
every asset for a partner whose languages are not known, count as readable.

The playbook holds both numbers (`languages` section, recommender.steering.playbook), so a
vendor tunes them per workspace and every replica serves the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def readable(language_code: np.ndarray, preference: Sequence[int]) -> np.ndarray | None:
    """Which of these assets (LANGUAGES codes, -1 unknown) the partner reads; None when every
    one is (no languages known, or all assets readable)."""
    if not preference:
        return None
    ok = (language_code < 0) | np.isin(language_code, np.asarray(preference))
    return None if bool(ok.all()) else ok


def readable_first(
    order: list[int],
    scores: np.ndarray,
    ok: np.ndarray,
    *,
    pinned: int,
    per_list: int,
    comparable: float,
) -> list[int]:
    """`order` (candidate indexes) with unreadable candidates (`ok` False) moved after the
    readable ones of comparable relevance, as the module says; the first `pinned` stay."""
    head, rest = order[:pinned], order[pinned:]
    readable_ = ok.tolist()
    good = [i for i in rest if readable_[i]]
    if not good or len(good) == len(rest):
        return order
    bad = [i for i in rest if not readable_[i]]
    gap = comparable * float(np.std(scores)) if len(scores) > 1 else 0.0
    score = scores.tolist()
    position = dict(zip(rest, range(len(rest)), strict=True))
    out = list(head)
    g = b = passed = 0
    # Merge the two, readable first unless an unreadable one is well ahead; once `per_list`
    # have passed, none can any more: the readable rest, then the unreadable rest.
    while passed < per_list and g < len(good) and b < len(bad):
        r, u = good[g], bad[b]
        if position[u] < position[r] and score[u] > score[r] + gap:
            out.append(u)
            b += 1
            passed += 1
        else:
            out.append(r)
            g += 1
    out.extend(good[g:])
    out.extend(bad[b:])
    return out
