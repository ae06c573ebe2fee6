"""Team-draft interleaving (Radlinski, Kurup and Joachims, CIKM 2008) of a control and a
treatment ranking, with each slot credited to the team that placed it.

Pinned items come first and belong to no team. Then, round by round, the team with fewer picks
so far (a coin flip when they have as many) adds its best item not yet shown; an item over the
type cap (`max_per_type` of one type in the list) is passed over by both teams. A team whose
ranking is used up leaves the picking to the other. The coin flips are drawn from the request
id, so the same request gets the same list.

Propensities are exact: the list depends only on the coin flips (at most one per round, so at
most 2^ceil(n/2) outcomes, 32 for ten slots), and `team_draft` accounts for them all (a walk
that branches at each coin and is memoised on the items already in the list, so outcomes that
share a future compute it once) to give each shown item the probability that it lands in its
slot and that it is shown at all.
Only the head of each ranking that a team could ever pick is walked (`_reachable`).

`credit` turns a request's engaged slots into a win (+1), loss (-1) or tie (0) for the
treatment: the team with more engaged slots wins; engagement on pinned slots counts for
neither.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.ranking.exploration import stable_seed

CONTROL, TREATMENT, PINNED = "control", "treatment", "pinned"

Item = Hashable  # what the rankings list: asset ids, or the caller's indexes of its candidates

# an interleaved list of more than this many rounds is not enumerated (2^20 outcomes)
_MAX_ROUNDS = 20


@dataclass(frozen=True)
class Interleaved:
    """One request's interleaved list: items in slot order, the team of each slot, and each
    slot's propensities (the item in that slot; the item shown anywhere)."""

    items: list[Item]
    teams: list[str]
    propensity: list[float]
    propensity_shown: list[float]


def team_draft(
    control: Sequence[Item],
    treatment: Sequence[Item],
    n: int,
    *,
    request_id: str,
    pinned: Sequence[Item] = (),
    type_of: Callable[[Item], Hashable] | None = None,
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
    control, treatment = (_reachable(r, n, type_of, max_per_type) for r in (control, treatment))
    coins = _coins(request_id, n)
    rounds = (n - len(head) + 1) // 2
    if rounds > _MAX_ROUNDS:  # too many outcomes to enumerate: no propensity is claimed
        items, teams = _draft(control, treatment, n, head, coins, type_of, max_per_type)
        return Interleaved(items, teams, [float("nan")] * len(items), [float("nan")] * len(items))
    draft = _Drafts(control, treatment, n, head, coins, type_of, max_per_type)
    draft.run()
    assert draft.items is not None and draft.teams is not None
    items = draft.items
    slot_p = [draft.in_slot[(item, slot)] for slot, item in enumerate(items)]
    shown_p = [draft.shown[item] for item in items]
    return Interleaved(items, draft.teams, slot_p, shown_p)


class _Drafts:
    """The probability of every (item, slot) over the coin flips, and the list of the request's
    own `coins` (`items`, `teams`: one draft along them).

    A draft is a deterministic walk with a coin wherever the teams have as many picks and both
    can pick. What follows a coin depends only on what is in the list by then (which items,
    hence each type's count and where each team's next pick is): outcomes that reach the same
    set of items by different orders, as two teams whose picks do not collide do, share their
    future. So the walk is memoised on that set, and each distinct future is computed once: a
    few dozen picks for ten slots, where drafting each of the 2^rounds coin sequences takes
    hundreds."""

    def __init__(
        self,
        control: Sequence[Item],
        treatment: Sequence[Item],
        n: int,
        head: list[Item],
        coins: Sequence[bool],
        type_of: Callable[[Item], Hashable] | None,
        max_per_type: int | None,
    ) -> None:
        self.rankings = {CONTROL: control, TREATMENT: treatment}
        self.n, self.head, self.coins, self.cap = n, head, coins, max_per_type
        self.kind = {i: type_of(i) for i in (*control, *treatment, *head)} if type_of else {}
        self.in_slot: dict[tuple[Item, int], float] = {}
        self.shown: dict[Item, float] = {}
        self.items: list[Item] | None = None
        self.teams: list[str] | None = None
        self._memo: dict[tuple[frozenset[Item], int, int], dict[tuple[Item, int], float]] = {}

    def run(self) -> None:
        kind_of = self.kind.__getitem__ if self.cap is not None else None
        self.items, self.teams = _draft(
            self.rankings[CONTROL], self.rankings[TREATMENT], self.n, self.head, self.coins,
            kind_of, self.cap,
        )  # fmt: skip
        types: dict[Hashable, int] = {}
        if self.cap is not None:
            for item in self.head:
                types[self.kind[item]] = types.get(self.kind[item], 0) + 1
        start = {(item, slot): 1.0 for slot, item in enumerate(self.head)}
        rest = self._future(set(self.head), len(self.head), types, {CONTROL: 0, TREATMENT: 0},
                            {CONTROL: 0, TREATMENT: 0})  # fmt: skip
        self.in_slot = start | rest
        for (item, _slot), p in self.in_slot.items():
            self.shown[item] = self.shown.get(item, 0.0) + p

    def _next(
        self, team: str, cursor: dict[str, int], taken: set[Item], types: dict[Hashable, int]
    ) -> Item | None:
        ranking, i, cap, kind = self.rankings[team], cursor[team], self.cap, self.kind
        # passed-over items stay passed over: the list and the types' counts only grow
        while i < len(ranking) and (
            ranking[i] in taken or (cap is not None and types.get(kind[ranking[i]], 0) >= cap)
        ):
            i += 1
        cursor[team] = i
        return ranking[i] if i < len(ranking) else None

    def _future(
        self,
        taken: set[Item],
        filled: int,
        types: dict[Hashable, int],
        cursor: dict[str, int],
        picks: dict[str, int],
    ) -> dict[tuple[Item, int], float]:
        """P(item in slot) for the slots from `filled` on, from this state (changed in place)."""
        out: dict[tuple[Item, int], float] = {}
        counted = self.cap is not None
        while filled < self.n:
            a = self._next(CONTROL, cursor, taken, types)
            b = self._next(TREATMENT, cursor, taken, types)
            if a is None and b is None:
                break
            if b is None or (a is not None and picks[CONTROL] < picks[TREATMENT]):
                team, item = CONTROL, a
            elif a is None or picks[TREATMENT] < picks[CONTROL]:
                team, item = TREATMENT, b
            else:  # a coin: both outcomes, each half as likely
                key = (frozenset(taken), picks[CONTROL], picks[TREATMENT])
                after = self._memo.get(key)
                if after is None:
                    after = {}
                    for side, pick in ((CONTROL, a), (TREATMENT, b)):
                        more = dict(types)
                        if counted:
                            more[self.kind[pick]] = more.get(self.kind[pick], 0) + 1
                        branch = self._future(
                            taken | {pick}, filled + 1, more, dict(cursor),
                            {**picks, side: picks[side] + 1},
                        )  # fmt: skip
                        branch[(pick, filled)] = branch.get((pick, filled), 0.0) + 1.0
                        for slot_item, p in branch.items():
                            after[slot_item] = after.get(slot_item, 0.0) + p / 2
                    self._memo[key] = after
                for slot_item, p in after.items():
                    out[slot_item] = out.get(slot_item, 0.0) + p
                return out
            assert item is not None
            out[(item, filled)] = out.get((item, filled), 0.0) + 1.0
            taken.add(item)
            if counted:
                types[self.kind[item]] = types.get(self.kind[item], 0) + 1
            picks[team] += 1
            filled += 1
        return out


def _reachable(
    ranking: Sequence[Item],
    n: int,
    type_of: Callable[[Item], Hashable] | None,
    max_per_type: int | None,
) -> list[Item]:
    """The head of `ranking` that a team can pick from: the rest never makes the list.

    A team passes over an item only when it is already in the list or its type is full, so
    every item before the one it picks is in the list or of a full type. Hence its pick is
    among its first n items when there is no cap, and among the first `max_per_type` items of
    each type with one (a later item of a type comes after `max_per_type` of that type, each
    in the list or of the full type). Cutting the rest changes no draft and makes each of the
    enumerated drafts cheap (a ranking may hold hundreds of candidates)."""
    if max_per_type is None or type_of is None:
        return list(ranking[:n])
    seen: dict[Hashable, int] = {}
    out = []
    for item in ranking:
        kind = type_of(item)
        count = seen.get(kind, 0)
        if count < max_per_type:
            seen[kind] = count + 1
            out.append(item)
    return out


def _coins(request_id: str, n: int) -> list[bool]:
    """One coin per possible round (True: the treatment picks first), from the request id."""
    return (np.random.default_rng(stable_seed(request_id)).random(n) < 0.5).tolist()


def _draft(
    control: Sequence[Item],
    treatment: Sequence[Item],
    n: int,
    head: list[Item],
    coins: Sequence[bool],
    type_of: Callable[[Item], Hashable] | None,
    max_per_type: int | None,
) -> tuple[list[Item], list[str]]:
    """The list for these coin flips and its teams (a coin is used only when the teams have as
    many picks and both can still pick; True: the treatment picks)."""
    items, teams = list(head), [PINNED] * len(head)
    taken = set(items)
    types: Counter[Hashable] = Counter(type_of(i) for i in items) if type_of else Counter()
    cursor = {CONTROL: 0, TREATMENT: 0}
    rankings = {CONTROL: control, TREATMENT: treatment}
    picks = {CONTROL: 0, TREATMENT: 0}
    flips = 0  # coins used

    def over_cap(item: Item) -> bool:
        return (
            max_per_type is not None
            and type_of is not None
            and (types[type_of(item)] >= max_per_type)
        )

    def next_item(team: str) -> Item | None:
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

    pending: dict[str, Item | None] = {}
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
