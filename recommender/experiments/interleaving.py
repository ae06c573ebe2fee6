"""Team-draft interleaving (Radlinski, Kurup and Joachims, CIKM 2008) of a control and a
treatment ranking, with each slot credited to the team that placed it.

Pinned items come first and belong to no team. Then, round by round, the team with fewer picks
so far (a coin flip when they have as many) adds its best item not yet shown; an item over the
type cap (`max_per_type` of one type in the list) is passed over by both teams. A team whose
ranking is used up leaves the picking to the other. The coin flips are drawn from the request
id, so the same request gets the same list.

Propensities are exact: the list depends only on the coin flips (at most one per round, so at
most 2^ceil(n/2) outcomes, 32 for ten slots), and `team_draft` accounts for them all (a walk
forward over the distinct states the coins lead to, where outcomes that reach the same state
share their future) to give each shown item the probability that it lands in its slot and that
it is shown at all.
Only the head of each ranking that a team could ever pick is walked (`_reachable`).

`credit` turns a request's engaged slots into a win (+1), loss (-1) or tie (0) for the
treatment: the team with more engaged slots wins; engagement on pinned slots counts for
neither.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

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
        if len(set(ranking)) != len(ranking):
            repeated = [item for item, c in Counter(ranking).items() if c > 1]
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
    items, teams, in_slot = _Drafts(control, treatment, n, type_of, max_per_type).run(head, coins)
    shown: dict[Item, float] = {}
    for (item, _slot), p in in_slot.items():
        shown[item] = shown.get(item, 0.0) + p
    slot_p = [in_slot[(item, slot)] for slot, item in enumerate(items)]
    return Interleaved(items, teams, slot_p, [shown[item] for item in items])


class _Drafts:
    """The probability of every (item, slot) over the coin flips, and the list along the
    request's own coins.

    A draft is a deterministic walk with a coin wherever the teams have as many picks and both
    can pick. What follows depends only on what is in the list (which items, hence each type's
    count and where each team's next pick is) and each team's number of picks: outcomes that
    reach the same state by different orders, as two teams whose picks do not collide do,
    share their future. So the walk goes forward slot by slot over the distinct states, each
    carrying the probability of reaching it: a few dozen states for ten slots, where drafting
    each of the 2^rounds coin sequences takes hundreds of picks. The request's own list is the
    path through them that its coins choose."""

    def __init__(
        self,
        control: Sequence[Item],
        treatment: Sequence[Item],
        n: int,
        type_of: Callable[[Item], Hashable] | None,
        max_per_type: int | None,
    ) -> None:
        self.rankings = (control, treatment)
        self.n, self.type_of = n, type_of
        self.cap = max_per_type if type_of is not None else None

    def run(
        self, head: list[Item], coins: Sequence[bool]
    ) -> tuple[list[Item], list[str], dict[tuple[Item, int], float]]:
        """(items, teams) along `coins`, and P(item in slot) for every reachable pair.

        What is in the list is a bit mask over the items (one bit each), so that a state is a
        tuple of three integers, cheap to hash and to extend."""
        control, treatment = self.rankings
        type_of, cap = self.type_of, self.cap
        bit = {item: 1 << k for k, item in enumerate(dict.fromkeys((*head, *control, *treatment)))}
        # per team: its ranking's items, their bits and (with a cap) their types
        teams_of = tuple(
            (
                ranking,
                list(map(bit.__getitem__, ranking)),
                list(map(type_of, ranking)) if cap is not None and type_of is not None else None,
            )
            for ranking in (control, treatment)
        )
        types: dict[Hashable, int] = {}
        if cap is not None and type_of is not None:
            for kind in map(type_of, head):
                types[kind] = types.get(kind, 0) + 1

        def following_pick(team: int, i: int, taken: int, types: dict[Hashable, int]) -> int:
            """Index of `team`'s next pick from position `i` on (its ranking's length if none);
            passed-over items stay passed over: the list and the types' counts only grow."""
            _, bits, kinds = teams_of[team]
            end = len(bits)
            if kinds is None or cap is None:
                while i < end and taken & bits[i]:
                    i += 1
            else:
                while i < end and (taken & bits[i] or types.get(kinds[i], 0) >= cap):
                    i += 1
            return i

        in_slot = {(item, slot): 1.0 for slot, item in enumerate(head)}
        items, teams = list(head), [PINNED] * len(head)
        # state (items in the list as bits, control's picks, treatment's) ->
        # [probability, cursors, types' counts]
        start = (sum(bit[x] for x in head), 0, 0)
        states: dict[tuple[int, int, int], list] = {start: [1.0, (0, 0), types]}
        path: tuple[int, int, int] | None = start
        flips = 0
        for slot in range(len(head), self.n):
            following: dict[tuple[int, int, int], list] = {}
            for key, (p, (ci, ti), types) in states.items():
                taken, c_picks, t_picks = key
                ci = following_pick(0, ci, taken, types)
                ti = following_pick(1, ti, taken, types)
                a = ci < len(control)
                b = ti < len(treatment)
                if not a and not b:
                    continue
                outcomes: tuple[tuple[int, int, float], ...]
                if not b or (a and c_picks < t_picks):
                    outcomes = ((0, ci, p),)
                elif not a or t_picks < c_picks:
                    outcomes = ((1, ti, p),)
                else:  # a coin: both outcomes, each half as likely
                    outcomes = ((0, ci, p / 2), (1, ti, p / 2))
                for team, i, q in outcomes:
                    ranking, bits, kinds = teams_of[team]
                    item = ranking[i]
                    in_slot[(item, slot)] = in_slot.get((item, slot), 0.0) + q
                    after = (taken | bits[i], c_picks + (team == 0), t_picks + (team == 1))
                    state = following.get(after)
                    if state is not None:
                        state[0] += q
                        continue
                    more = types
                    if kinds is not None and cap is not None:
                        more = dict(types)
                        more[kinds[i]] = more.get(kinds[i], 0) + 1
                    following[after] = [q, (ci, ti), more]
                if key == path:
                    team, i, _ = outcomes[0]
                    if len(outcomes) == 2:
                        team, i, _ = outcomes[1 if coins[flips] else 0]
                        flips += 1
                    items.append(teams_of[team][0][i])
                    teams.append(TREATMENT if team else CONTROL)
                    path = (taken | teams_of[team][1][i], c_picks + (team == 0),
                            t_picks + (team == 1))  # fmt: skip
            states = following
            if not states:
                break
        return items, teams, in_slot


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
    cap = max_per_type
    left: defaultdict[Hashable, int] = defaultdict(lambda: cap)
    out = []
    for item, kind in zip(ranking, map(type_of, ranking), strict=True):
        if left[kind]:
            left[kind] -= 1
            out.append(item)
    return out


def _coins(request_id: str, n: int) -> list[bool]:
    """One coin per possible round (True: the treatment picks first), from the request id:
    the bits of its blake2b digests (512 per block; the same in every process), a tenth of
    the cost of seeding a numpy generator for a handful of draws."""
    coins: list[bool] = []
    block = 0
    while len(coins) < n:
        digest = hashlib.blake2b(
            f"{block}|{request_id}".encode(), digest_size=64, person=b"team-draft"
        ).digest()
        word = int.from_bytes(digest, "little")
        coins.extend(word >> i & 1 == 1 for i in range(min(512, n - len(coins))))
        block += 1
    return coins


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
