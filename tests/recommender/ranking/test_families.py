"""One member per family and per set of near-duplicates, through the whole pipeline with the
real embedder: the member in the language the partner reads best for the deal, "also in"
reasons, pins, filters, exploration and interleaving; and the grouping itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from recommender.catalog.ingest import ingest
from recommender.catalog.similar import NEAR_DUPLICATE
from recommender.ranking.build import build_snapshot
from recommender.ranking.exploration import Exploration
from recommender.ranking.families import Groups, collapse, language_preference
from recommender.ranking.recommender import Recommender
from recommender.steering.overrides import Action, Override
from recommender.types import DealContext, Filters, PartnerProfile
from recommender.workspace import Workspace
from tests.family_catalog import FAMILIES, family_rows

NOW = datetime(2026, 11, 27, tzinfo=UTC)
DUPLICATES = {"gateway-datasheet", "gateway-datasheet-v2"}
GROUPS = [set(m) for m in FAMILIES.values()] + [DUPLICATES]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, e5_embedder: Any) -> Workspace:
    root = tmp_path_factory.mktemp("families")
    path = root / "assets.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in family_rows()))
    ws = Workspace.at(root / "ws")
    ingest(ws, [path], embedder=e5_embedder, progress=False)
    return ws


@pytest.fixture(scope="module")
def engine(workspace: Workspace, e5_embedder: Any) -> Recommender:
    return Recommender(build_snapshot(workspace, embedder=e5_embedder, use_model=False))


def partner(*languages: str) -> PartnerProfile:
    return PartnerProfile(partner_id="p", tier="gold", maturity="advanced", languages=languages)


def shown(engine: Recommender, who: PartnerProfile, context: DealContext | None = None,
          **kw: Any) -> Any:  # fmt: skip
    context = context or DealContext(stage="discovery", notes="bank reconciliation case")
    return engine.recommend(context, who, n=20, now=NOW, **kw)


def assert_one_per_group(ids: list[str]) -> None:
    for group in GROUPS:
        assert len(group & set(ids)) <= 1, (group, ids)


@pytest.mark.parametrize("lang", ["en", "uk", "ru"])
def test_each_family_shows_its_member_in_the_partners_language(engine, lang) -> None:
    answer = shown(engine, partner(lang))
    ids = answer.ids()
    assert_one_per_group(ids)
    for family, members in FAMILIES.items():
        picked = [a for a in ids if a in members]
        want = f"{family}-{lang}"
        if want in members:
            assert picked == [want], (family, ids)
        else:  # the battlecard has no Russian version: one of the others
            assert len(picked) == 1
    others = [x for x in ("uk", "en", "ru") if x != lang]
    bank = next(item for item in answer.items if item.asset_id == f"case-bank-{lang}")
    also = [r for r in bank.reasons if r.code == "also_in"]
    names = {"en": "English", "uk": "Ukrainian", "ru": "Russian"}
    assert [r.text for r in also] in (
        [f"Also in {names[others[0]]} and {names[others[1]]}"],
        [f"Also in {names[others[1]]} and {names[others[0]]}"],
    )


def test_the_deal_language_comes_before_the_partners_own(engine) -> None:
    uk_first = partner("uk", "en")
    ids = shown(engine, uk_first).ids()
    assert "case-bank-uk" in ids and "case-bank-en" not in ids
    english_deal = DealContext(stage="discovery", notes="bank reconciliation", language="en")
    answer = shown(engine, uk_first, english_deal)
    assert "case-bank-en" in answer.ids() and "case-bank-uk" not in answer.ids()
    bank = next(i for i in answer.items if i.asset_id == "case-bank-en")
    # the partner reads Ukrainian next, so it comes first among the other languages
    assert bank.reasons[-1].text == "Also in Ukrainian and Russian"


def test_a_language_filter_leaves_no_other_language_to_mention(engine) -> None:
    answer = shown(engine, partner("en"), filters=Filters(languages=("uk",)))
    ids = answer.ids()
    assert "case-bank-uk" in ids
    assert all(r.code != "also_in" for item in answer.items for r in item.reasons)


def test_near_duplicates_show_the_newer_one(engine) -> None:
    ids = shown(engine, partner("en")).ids()
    assert "gateway-datasheet-v2" in ids and "gateway-datasheet" not in ids


def test_a_pinned_member_is_the_one_shown(engine) -> None:
    pin = Override(override_id="o1", action=Action.PIN, asset_id="case-bank-en", scope="global")
    snap = engine.snapshot.with_changes(overrides=(pin,))
    answer = engine.recommend(DealContext(stage="discovery"), partner("uk"), n=20, now=NOW,
                              snapshot=snap)  # fmt: skip
    ids = answer.ids()
    assert ids[0] == "case-bank-en" and "case-bank-uk" not in ids
    assert answer.items[0].reasons[-1].text == "Also in Ukrainian and Russian"
    assert_one_per_group(ids)


def test_exploration_never_shows_two_members_of_a_group(engine) -> None:
    exploration = Exploration(rate=0.9, reserve=10)
    for k in range(40):
        answer = engine.recommend(
            DealContext(stage="discovery"), partner("ru", "en"), n=5, now=NOW,
            request_id=f"{k:032x}", exploration=exploration,
        )  # fmt: skip
        assert_one_per_group(answer.ids())


def test_groups_join_families_and_near_duplicates() -> None:
    assets = pd.DataFrame(
        {
            "asset_id": ["a", "b", "c", "d", "e", "f"],
            "family_id": ["F", None, "F", None, "G", None],
        }
    )
    similar = pd.DataFrame(
        {
            "asset_a": ["c", "d", "zz"],
            "asset_b": ["d", "f", "b"],
            "kind": [NEAR_DUPLICATE, "family_proposal", NEAR_DUPLICATE],
            "score": [0.9, 1.1, 0.9],
            "cosine": [0.99, 0.95, 0.99],
        }
    )
    groups = Groups.build(assets, similar)
    # a-c by family, c-d as near-duplicates; a proposal joins nothing, nor does an unknown id;
    # a family of one (G) is no group
    assert [m.tolist() for m in groups.members] == [[0, 2, 3]]
    assert groups.group.tolist() == [0, -1, 0, 0, -1, -1]
    assert groups.family.tolist() == [0, -1, 0, -1, 1, -1]


def test_collapse_brings_in_the_preferred_member_when_another_made_the_candidates() -> None:
    assets = pd.DataFrame({"asset_id": ["en", "uk", "x"], "family_id": ["F", "F", None]})
    groups = Groups.build(assets, None)
    language = np.array([2, 0, -1])  # LANGUAGES = uk, ru, en
    published = np.array([np.nan, np.nan, np.nan])
    eligible = np.ones(3, dtype=bool)
    cands, also = collapse(groups, np.array([0, 2]), eligible, language, published,
                           language_preference(None, ["uk"]))  # fmt: skip
    assert cands.tolist() == [1, 2] and also == {1: ("en",)}
    eligible[1] = False  # not eligible: the English one stays, with nothing else to offer
    cands, also = collapse(groups, np.array([0, 2]), eligible, language, published,
                           language_preference(None, ["uk"]))  # fmt: skip
    assert cands.tolist() == [0, 2] and also == {}
    assert language_preference("en", ["uk", "en", "ru"]) == [2, 0, 1]


def test_every_ranking_of_a_request_draws_from_collapsed_candidates(engine) -> None:
    # an interleaved experiment ranks `prepare`'s candidates twice (recommender.experiments.
    # live), exploration draws its reserves from the same ranking: one member per group there
    # means one in any list built from them
    request = engine.prepare(DealContext(stage="discovery", notes="case study"), partner("ru"),
                             n=20, now=NOW)  # fmt: skip
    ids = [str(engine.snapshot.table.ids[p]) for p in request.cands]
    assert_one_per_group(ids)
    assert {"case-bank-ru", "case-hospital-ru", "gateway-datasheet-v2"} <= set(ids)


def _reference_collapse(groups, cands, eligible, language_code, published_day, preference, pins):
    """The choice written out plainly, group by group (what `collapse` must equal)."""
    from features.pairs import LANGUAGES

    rank = {code: r for r, code in enumerate(preference)}
    keep, also = set(cands.tolist()), {}
    for g in sorted({int(x) for x in groups.group[cands] if x >= 0}):
        able = [m for m in groups.members[g].tolist() if eligible[m]]
        day = [
            -np.inf if np.isnan(published_day[m]) else published_day[m]
            for m in range(len(eligible))
        ]
        pick = min(able, key=lambda m: (m not in pins, rank.get(int(language_code[m]), len(rank)),
                                        -day[m], m))  # fmt: skip
        keep -= set(groups.members[g].tolist())
        keep.add(pick)
        fam = groups.family[pick]
        langs = {int(language_code[m]) for m in able if fam >= 0 and groups.family[m] == fam}
        langs -= {int(language_code[pick]), -1}
        if langs:
            ordered = sorted(langs, key=lambda c: (rank.get(c, len(rank)), c))
            also[pick] = tuple(LANGUAGES[c] for c in ordered)
    return sorted(keep), also


def test_collapse_equals_the_plain_choice_on_random_requests() -> None:
    rng = np.random.default_rng(5)
    n = 60
    families = [f"F{rng.integers(0, 12)}" if rng.random() < 0.6 else None for _ in range(n)]
    assets = pd.DataFrame({"asset_id": [f"a{i}" for i in range(n)], "family_id": families})
    dups = [(f"a{i}", f"a{j}") for i, j in rng.integers(0, n, size=(8, 2)) if i != j]
    similar = pd.DataFrame({"asset_a": [a for a, _ in dups], "asset_b": [b for _, b in dups],
                            "kind": NEAR_DUPLICATE, "score": 0.9, "cosine": 0.99})  # fmt: skip
    groups = Groups.build(assets, similar)
    language = rng.integers(-1, 3, size=n)
    published = np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 50, size=n).astype(float))
    for _ in range(300):
        eligible = rng.random(n) < 0.85
        cands = np.flatnonzero(eligible & (rng.random(n) < 0.6))
        pins = [int(p) for p in rng.choice(cands, size=min(2, len(cands)), replace=False)] if (
            len(cands) and rng.random() < 0.3) else []  # fmt: skip
        preference = [int(x) for x in rng.permutation(3)[: rng.integers(0, 4)]]
        got, also = collapse(groups, cands, eligible, language, published, preference, pins)
        want, want_also = _reference_collapse(groups, cands, eligible, language, published,
                                              preference, set(pins))  # fmt: skip
        assert got.tolist() == want and also == want_also
