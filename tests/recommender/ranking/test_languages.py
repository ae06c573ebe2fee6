"""Languages the partner reads: the ordering rule on its own, then through the pipeline with
the real embedder on the demo catalog (reasons, the playbook's settings, the fallback)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from features.pairs import LANGUAGES
from features.validation import SchemaError
from recommender.ranking.build import build_snapshot
from recommender.ranking.languages import readable, readable_first
from recommender.ranking.recommender import Recommender
from recommender.steering.playbook import Playbook
from recommender.types import DealContext, PartnerProfile

NOW = datetime(2026, 11, 27, tzinfo=UTC)
UK, RU, EN = (LANGUAGES.index(x) for x in ("uk", "ru", "en"))


def test_readable_counts_unknown_languages_and_unknown_partners_as_readable() -> None:
    codes = np.array([UK, EN, -1, RU])
    assert readable(codes, []) is None
    assert readable(codes, [UK, EN, RU]) is None
    assert readable(codes, [UK]).tolist() == [True, False, True, False]


def order_of(scores: list[float], ok: list[bool], **kw) -> list[int]:
    s = np.array(scores)
    order = np.argsort(-s, kind="stable").tolist()
    kw = {"pinned": 0, "per_list": 2, "comparable": 0.5, **kw}
    return readable_first(order, s, np.array(ok), **kw)


def test_an_unreadable_asset_far_ahead_keeps_its_place() -> None:
    # std of the scores ~0.33: comparable within ~0.17
    scores = [1.0, 0.3, 0.25, 0.2, 0.1]
    ok = [False, True, True, True, True]
    assert order_of(scores, ok) == [0, 1, 2, 3, 4]


def test_an_unreadable_asset_close_to_a_readable_one_goes_after_it() -> None:
    scores = [1.0, 0.98, 0.2, 0.1, 0.0]
    ok = [False, True, True, True, True]
    # it yields to the comparable one only: the rest are far less relevant than both
    assert order_of(scores, ok) == [1, 0, 2, 3, 4]
    scores = [1.0, 0.98, 0.97, 0.96, 0.0]
    assert order_of(scores, ok) == [1, 2, 3, 0, 4]


def test_at_most_per_list_pass_and_the_rest_follow_the_readable_ones() -> None:
    scores = [1.0, 0.99, 0.98, 0.97, 0.1, 0.05]
    ok = [False, False, False, False, True, True]
    assert order_of(scores, ok) == [0, 1, 4, 5, 2, 3]
    assert order_of(scores, ok, per_list=0) == [4, 5, 0, 1, 2, 3]


def test_pins_keep_their_places_and_a_lone_language_changes_nothing() -> None:
    s = np.array([0.1, 1.0, 0.5])
    assert readable_first([0, 1, 2], s, np.array([False, False, True]), pinned=1, per_list=0,
                          comparable=0.5) == [0, 2, 1]  # fmt: skip
    assert order_of([1.0, 0.5], [False, False]) == [0, 1]
    assert order_of([1.0, 0.5], [True, True]) == [0, 1]


def test_the_playbook_holds_the_settings_and_rejects_bad_ones() -> None:
    base = Playbook.load().raw
    book = Playbook.from_mapping(
        {**base, "languages": {"unreadable_per_list": 0, "comparable_relevance": 1.5}}
    )
    assert (book.unreadable_per_list, book.comparable_relevance) == (0, 1.5)
    with pytest.raises(SchemaError) as err:
        Playbook.from_mapping(
            {**base, "languages": {"unreadable_per_list": -1, "comparable": 2, "x": 1}}
        )
    text = str(err.value)
    assert "languages.unreadable_per_list" in text and "languages.comparable" in text


@pytest.fixture(scope="module")
def engine(demo_workspace) -> Recommender:
    return Recommender(build_snapshot(demo_workspace, use_model=False))


UK_ONLY = PartnerProfile(partner_id="u", tier="platinum", maturity="advanced", languages=("uk",))


def unreadable_before_readable(ids: list[str], language: dict[str, str], reads: set[str]) -> int:
    """How many unreadable items come before the last readable one."""
    last = max((k for k, a in enumerate(ids) if language[a] in reads), default=-1)
    return sum(1 for a in ids[:last] if language[a] not in reads)


@pytest.mark.parametrize("stage", ["prospecting", "qualification", "negotiation", "closing"])
def test_a_ukrainian_partner_sees_english_only_when_nothing_ukrainian_is_as_good(
    engine, stage
) -> None:
    assets = engine.snapshot.catalog.assets.set_index("asset_id")
    language = assets["language"].to_dict()
    notes = "клієнт хоче порахувати окупність інтеграції з SCADA"
    for context in (DealContext(stage=stage), DealContext(stage=stage, notes=notes)):
        answer = engine.recommend(context, UK_ONLY, n=10, now=NOW)
        ids = answer.ids()
        assert unreadable_before_readable(ids, language, {"uk"}) <= 2
        for item in answer.items:
            codes = [r.code for r in item.reasons]
            if item.language == "uk":
                assert "unreadable" not in codes
            else:
                reason = next(r for r in item.reasons if r.code == "unreadable")
                family_too = any(r.code == "also_in" for r in item.reasons)
                assert reason.text == (
                    "No Ukrainian version yet"  # beside "Also in ..." for a family member
                    if family_too
                    else f"Only in {'English' if item.language == 'en' else 'Russian'}; "
                    "no Ukrainian version yet"
                )
        # with none allowed, every Ukrainian asset comes first
        strict = engine.snapshot.with_changes(
            playbook=Playbook.from_mapping(
                {**engine.snapshot.playbook.raw, "languages": {"unreadable_per_list": 0}}
            )
        )
        ids = engine.recommend(context, UK_ONLY, n=10, now=NOW, snapshot=strict).ids()
        assert unreadable_before_readable(ids, language, {"uk"}) == 0


def test_the_deal_language_is_read_too(engine) -> None:
    assets = engine.snapshot.catalog.assets.set_index("asset_id")
    context = DealContext(stage="negotiation", language="en")
    answer = engine.recommend(context, UK_ONLY, n=10, now=NOW)
    assert {assets.loc[a, "language"] for a in answer.ids()} >= {"en"}
    assert all(r.code != "unreadable" for i in answer.items for r in i.reasons if i.language in
               ("uk", "en"))  # fmt: skip


def _readable_first_by_the_rule(order, scores, ok, *, pinned, per_list, comparable):
    """The rule step by step, as first written (a reference for the faster one)."""
    head, rest = order[:pinned], order[pinned:]
    good = [i for i in rest if ok[i]]
    bad = [i for i in rest if not ok[i]]
    if not bad or not good:
        return order
    gap = comparable * float(np.std(scores)) if len(scores) > 1 else 0.0
    position = {i: k for k, i in enumerate(rest)}
    out = list(head)
    g = b = passed = 0
    while g < len(good) and b < len(bad):
        r, u = good[g], bad[b]
        if passed < per_list and position[u] < position[r] and scores[u] > scores[r] + gap:
            out.append(u)
            b += 1
            passed += 1
        else:
            out.append(r)
            g += 1
    return out + good[g:] + bad[b:]


def test_the_ordering_equals_the_rule_step_by_step_on_random_rankings() -> None:
    rng = np.random.default_rng(12)
    for _ in range(2000):
        n = int(rng.integers(1, 40))
        scores = rng.normal(size=n).round(int(rng.integers(1, 4)))  # ties too
        ok = rng.random(n) < rng.random()
        order = np.argsort(-scores, kind="stable").tolist()
        if rng.random() < 0.3:
            order = rng.permutation(n).tolist()  # pins and answers reorder a ranking
        kw = {
            "pinned": int(rng.integers(0, 4)),
            "per_list": int(rng.integers(0, 4)),
            "comparable": float(rng.choice([0.0, 0.25, 0.5, 2.0])),
        }
        got = readable_first(order, scores, ok, **kw)
        assert got == _readable_first_by_the_rule(order, scores, ok, **kw)
        assert sorted(got) == sorted(order)
