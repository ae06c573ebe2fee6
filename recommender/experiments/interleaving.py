"""Team-draft interleaving (Radlinski, Kurup and Joachims, CIKM 2008) of a control and a
treatment ranking, with each slot credited to the team that placed it.

Pinned items come first and belong to no team. Then, round by round, the team with fewer picks
so far (a coin flip when they have as many) adds its best item not yet shown; an item over the
type cap (`max_per_type` of one type in the list) is passed over by both teams. A team whose
ranking is used up leaves the picking to the other. The coin flips are drawn from the request
id, so the same request gets the same list.

Propensities are exact: the list depends only on the coin flips (at most one per round, so at
most 2^ceil(n/2) outcomes, 32 for ten slots), and `team_draft` enumerates them all to give each
shown item the probability that it lands in its slot and that it is shown at all.

`credit` turns a request's engaged slots into a win (+1), loss (-1) or tie (0) for the
treatment: the team with more engaged slots wins; engagement on pinned slots counts for
neither.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np

from recommender.ranking.exploration import stable_seed

CONTROL, TREATMENT, PINNED = "control", "treatment", "pinned"

# an interleaved list of more than this many rounds is not enumerated (2^20 outcomes)
_MAX_ROUNDS = 20


@dataclass(frozen=True)
class Interleaved:
    """One request's interleaved list: items in slot order, the team of each slot, and each
    slot's propensities (the item in that slot; the item shown anywhere)."""

    items: list[str]
    teams: list[str]
    propensity: list[float]
    propensity_shown: list[float]


def team_draft(
    control: Sequence[str],
    treatment: Sequence[str],
    n: int,
    *,
    request_id: str,
    pinned: Sequence[str] = (),
    type_of: Callable[[str], str] | None = None,
    max_per_type: int | None = None,
) -> Interleaved:
    """The interleaved top `n` of `control` and `treatment` (best first, no repeats within
    each), after the `pinned` items; see the module docstring."""
    if n < 1:
        raise ValueError(f"n={n} must be at least 1")
    for name, ranking in (("control", control), ("treatment", treatment), ("pinned", pinned)):
        repeated = [item for item, c in Counter(ranking).items() if c > 1]
        if repeated:
            raise ValueError(f"the {name} ranking lists {repeated[0]!r} more than once")
    if max_per_type is not None and (max_per_type < 1 or type_of is None):
        raise ValueError("max_per_type needs type_of and must be at least 1")
    head = list(pinned)[:n]
    coins = _coins(request_id, n)
    items, teams = _draft(control, treatment, n, head, coins, type_of, max_per_type)
    # every sequence of coin flips, each as likely as the others: a flip is followed by a pick
    # of the other team, so the list takes at most ceil(slots / 2) of them
    rounds = (n - len(head) + 1) // 2
    in_slot: Counter[tuple[str, int]] = Counter()
    shown: Counter[str] = Counter()
    outcomes = list(product((False, True), repeat=rounds)) if rounds <= _MAX_ROUNDS else []
    for outcome in outcomes:
        alt, _ = _draft(control, treatment, n, head, list(outcome), type_of, max_per_type)
        for slot, item in enumerate(alt):
            in_slot[(item, slot)] += 1
            shown[item] += 1
    total = len(outcomes)
    if total:
        slot_p = [in_slot[(item, slot)] / total for slot, item in enumerate(items)]
        shown_p = [shown[item] / total for item in items]
    else:  # too many rounds to enumerate: no propensity is claimed
        slot_p = shown_p = [float("nan")] * len(items)
    return Interleaved(items, teams, slot_p, shown_p)


def _coins(request_id: str, n: int) -> list[bool]:
    """One coin per possible round (True: the treatment picks first), from the request id."""
    return (np.random.default_rng(stable_seed(request_id)).random(n) < 0.5).tolist()


def _draft(
    control: Sequence[str],
    treatment: Sequence[str],
    n: int,
    head: list[str],
    coins: Sequence[bool],
    type_of: Callable[[str], str] | None,
    max_per_type: int | None,
) -> tuple[list[str], list[str]]:
    """The list for these coin flips and its teams (a coin is used only when the teams have as
    many picks and both can still pick; True: the treatment picks)."""
    items, teams = list(head), [PINNED] * len(head)
    taken = set(items)
    types: Counter[str] = Counter(type_of(i) for i in items) if type_of else Counter()
    cursor = {CONTROL: 0, TREATMENT: 0}
    rankings = {CONTROL: control, TREATMENT: treatment}
    picks = {CONTROL: 0, TREATMENT: 0}
    flips = 0  # coins used

    def over_cap(item: str) -> bool:
        return (
            max_per_type is not None
            and type_of is not None
            and (types[type_of(item)] >= max_per_type)
        )

    def next_item(team: str) -> str | None:
        ranking, i = rankings[team], cursor[team]
        while i < len(ranking):
            item = ranking[i]
            i += 1
            if item in taken or over_cap(item):
                continue
            cursor[team] = i
            return item
        cursor[team] = i
        return None

    pending: dict[str, str | None] = {}
    while len(items) < n:
        for team in (CONTROL, TREATMENT):
            item = pending.get(team)
            if item is None or item in taken or over_cap(item):
                pending[team] = next_item(team)
        can = [t for t in (CONTROL, TREATMENT) if pending[t] is not None]
        if not can:
            break
        if len(can) == 1:
            team = can[0]
        elif picks[CONTROL] != picks[TREATMENT]:
            team = CONTROL if picks[CONTROL] < picks[TREATMENT] else TREATMENT
        else:
            team = TREATMENT if coins[flips] else CONTROL
            flips += 1
        item = pending[team]
        assert item is not None
        items.append(item)
        teams.append(team)
        taken.add(item)
        if type_of:
            types[type_of(item)] += 1
        picks[team] += 1
        pending[team] = None
    return items, teams


def credit(teams: Sequence[str], engaged_slots: Iterable[int]) -> int:
    """+1 when the treatment's slots were engaged with more than the control's, -1 when
    less, 0 on a tie (pinned slots count for neither)."""
    count = Counter(teams[s] for s in set(engaged_slots))
    return int(np.sign(count[TREATMENT] - count[CONTROL]))
