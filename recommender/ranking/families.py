"""One of a kind per list: translations (an asset family) and near-duplicates.

A family is the assets that share a `family_id` (translations and versions of one asset);
near-duplicates are the pairs ingestion found (recommender.catalog.similar). Joined, they make
*groups*: a list shows at most one member of a group. Which one does not depend on the scorer,
so that every ranking of a request (an interleaved experiment's two, exploration's reserves)
draws from the same candidates: a pinned member first, then the member in the language the
partner reads best for this deal (the deal's language, then the partner's languages in the
order its profile lists them), then the most recently published, then catalog order.

`collapse` applies this to a request's candidates: the other members leave, the chosen one
joins when it was eligible but not among them (another member brought the group in), and each
chosen family member carries the other languages its family is available in to the partner,
for an "also in English" reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.pairs import LANGUAGES
from features.validation import is_missing
from recommender.catalog.similar import NEAR_DUPLICATE


@dataclass(frozen=True)
class Groups:
    """The catalog's groups (families joined with near-duplicates), aligned with its rows."""

    group: np.ndarray  # (n,) int64 group of each asset, -1: in none
    members: tuple[np.ndarray, ...]  # positions of each group's assets, ascending
    family: np.ndarray  # (n,) int64 family of each asset, -1: in none
    # the members of every group end to end, each one's group, and where each group starts
    flat: np.ndarray = field(init=False, repr=False)
    flat_group: np.ndarray = field(init=False, repr=False)
    starts: np.ndarray = field(init=False, repr=False)
    sizes: np.ndarray = field(init=False, repr=False)
    # language preference -> each group's member and other languages when all are eligible
    _choices: dict[tuple[int, ...], tuple[np.ndarray, list[tuple[str, ...]]]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        sizes = np.array([len(m) for m in self.members], dtype=np.int64)
        flat = np.concatenate(self.members) if self.members else np.zeros(0, np.int64)
        object.__setattr__(self, "flat", flat.astype(np.int64))
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "starts", np.concatenate([[0], np.cumsum(sizes)[:-1]]))
        object.__setattr__(self, "flat_group", np.repeat(np.arange(len(sizes)), sizes))

    @property
    def any(self) -> bool:
        return len(self.members) > 0

    @classmethod
    def none(cls, n: int) -> Groups:
        return cls(np.full(n, -1, np.int64), (), np.full(n, -1, np.int64))

    def choices(
        self, preference: tuple[int, ...], language_code: np.ndarray, published_day: np.ndarray
    ) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        """Each group's member and its family's other languages when every member is
        eligible and none is pinned: the common case, computed once per language preference
        (a snapshot's requests have a handful) instead of on every request."""
        known = self._choices.get(preference)
        if known is None:
            everyone = np.ones(len(self.group), dtype=bool)
            picks = np.zeros(len(self.members), dtype=np.int64)
            also: list[tuple[str, ...]] = []
            for g in range(len(self.members)):
                pick, others = _choose(
                    self, g, everyone, language_code, published_day, preference, frozenset()
                )
                picks[g] = pick
                also.append(others)
            known = (picks, also)
            self._choices[preference] = known
        return known

    @classmethod
    def build(cls, assets: pd.DataFrame, similar: pd.DataFrame | None) -> Groups:
        n = len(assets)
        ids = [str(a) for a in assets["asset_id"].tolist()]
        position = {a: i for i, a in enumerate(ids)}
        names = assets["family_id"].tolist() if "family_id" in assets else [None] * n
        codes: dict[str, int] = {}
        family = np.full(n, -1, np.int64)
        for i, name in enumerate(names):
            if not is_missing(name):
                family[i] = codes.setdefault(str(name), len(codes))
        parent = list(range(n))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def join(i: int, j: int) -> None:
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)

        first: dict[int, int] = {}
        for i, f in enumerate(family.tolist()):
            if f >= 0:
                join(first.setdefault(f, i), i)
        joined = set(np.flatnonzero(family >= 0).tolist())
        if similar is not None and len(similar):
            dups = similar[similar["kind"] == NEAR_DUPLICATE]
            for a, b in zip(dups["asset_a"].tolist(), dups["asset_b"].tolist(), strict=True):
                pa, pb = position.get(str(a)), position.get(str(b))
                if pa is not None and pb is not None:
                    join(pa, pb)
                    joined.update((pa, pb))
        by_root: dict[int, list[int]] = {}
        for i in sorted(joined):
            by_root.setdefault(root(i), []).append(i)
        group = np.full(n, -1, np.int64)
        members = []
        for g, rows in enumerate(r for r in by_root.values() if len(r) > 1):
            group[rows] = g
            members.append(np.array(rows, dtype=np.int64))
        return cls(group, tuple(members), family)


def language_preference(deal_language: str | None, partner_languages: Sequence[str]) -> list[int]:
    """LANGUAGES codes, best read first: the deal's language, then the partner's in order."""
    out: list[int] = []
    for lang in (deal_language, *partner_languages):
        if lang in LANGUAGES and LANGUAGES.index(lang) not in out:
            out.append(LANGUAGES.index(lang))
    return out


def collapse(
    groups: Groups,
    cands: np.ndarray,
    eligible: np.ndarray,
    language_code: np.ndarray,
    published_day: np.ndarray,
    preference: Sequence[int],
    pinned: Sequence[int] = (),
) -> tuple[np.ndarray, dict[int, tuple[str, ...]]]:
    """`cands` (ascending asset positions) with one member per group, and for each chosen
    family member the languages (LANGUAGES values, best read first) of the other eligible
    members of its family that differ from its own.

    A group whose members are all eligible and none pinned takes the choice `Groups.choices`
    keeps for this language preference; the others are chosen here (`_choose`)."""
    if not groups.any or len(cands) == 0:
        return cands, {}
    touched = np.unique(groups.group[cands])
    touched = touched[touched >= 0]
    if len(touched) == 0:
        return cands, {}
    able_counts = np.add.reduceat(eligible[groups.flat].astype(np.int64), groups.starts)
    whole = able_counts[touched] == groups.sizes[touched]
    if len(pinned):
        whole &= ~np.isin(touched, groups.group[np.asarray(pinned, dtype=np.int64)])
    preference = tuple(preference)
    picks, also_of = groups.choices(preference, language_code, published_day)
    chosen = np.full(len(groups.members), -1, dtype=np.int64)
    chosen[touched[whole]] = picks[touched[whole]]
    also: dict[int, tuple[str, ...]] = {
        int(picks[g]): also_of[g] for g in touched[whole].tolist() if also_of[g]
    }
    pins = frozenset(int(p) for p in pinned)
    for g in touched[~whole].tolist():
        if not eligible[groups.members[g]].any():  # cannot happen for a group a candidate
            continue  # brought in; kept safe
        pick, others = _choose(groups, g, eligible, language_code, published_day, preference, pins)
        chosen[g] = pick
        if others:
            also[pick] = others
    # every member of a touched group leaves but the chosen one, which joins
    member_of_touched = chosen[groups.flat_group] >= 0
    leaving = groups.flat[member_of_touched & (groups.flat != chosen[groups.flat_group])]
    keep = np.setdiff1d(cands, leaving, assume_unique=True)
    picked = chosen[chosen >= 0]
    return np.union1d(keep, picked), also


def _choose(
    groups: Groups,
    g: int,
    eligible: np.ndarray,
    language_code: np.ndarray,
    published_day: np.ndarray,
    preference: Sequence[int],
    pins: frozenset[int],
) -> tuple[int, tuple[str, ...]]:
    """Group `g`'s member for this request (module docstring), and its family's other
    eligible languages, best read first."""
    rank = {code: r for r, code in enumerate(preference)}
    members = groups.members[g]
    able = members[eligible[members]].tolist()
    pick = min(
        able,
        key=lambda m: (
            m not in pins,
            rank.get(int(language_code[m]), len(rank)),
            -_day(float(published_day[m])),
            m,
        ),
    )
    family = groups.family[pick]
    if family < 0:
        return pick, ()
    own = int(language_code[pick])
    others = {
        int(language_code[m])
        for m in able
        if groups.family[m] == family and int(language_code[m]) not in (own, -1)
    }
    ordered = sorted(others, key=lambda c: (rank.get(c, len(rank)), c))
    return pick, tuple(LANGUAGES[c] for c in ordered)


def _day(value: float) -> float:
    return float("-inf") if np.isnan(value) else float(value)
