"""What the notes ask for: the phrase matching, the reordering rule on its own, the playbook's
`asks` section, then the payback question through the pipeline on the demo catalog with the
real embedder (every stage, pins, exploration, the reason, the rule switched off)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import numpy as np
import pytest

from features.pairs import TYPES
from features.validation import SchemaError
from recommender.ranking.build import build_snapshot
from recommender.ranking.exploration import Exploration
from recommender.ranking.recommender import Recommender
from recommender.steering.asks import Ask, answering, answers_first, asked, phrase_words
from recommender.steering.overrides import Action, Override
from recommender.steering.playbook import Playbook
from recommender.types import DealContext, PartnerProfile

NOW = datetime(2026, 11, 27, tzinfo=UTC)
ROI, TCO, CASE = (TYPES.index(t) for t in ("roi_calculator", "tco_calculator", "case_study"))
PAYBACK = Ask("payback", (ROI,), "a payback calculation",
              (phrase_words("окупн"), phrase_words("return on invest")))  # fmt: skip
CASES = Ask("cases", (CASE,), "customer cases", (phrase_words("case stud"),))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("клієнт хоче порахувати окупність", ["payback"]),
        ("Розрахунок ОКУПНОСТІ для фіндиректора", ["payback"]),
        ("what is the Return On Investment?", ["payback"]),
        ("return of investment", []),  # the words must follow each other as written
        ("on return investment", []),
        ("окупація", []),
        ("a case study and the return on investment", ["payback", "cases"]),  # playbook order
        ("", []),
        (None, []),
    ],
)
def test_asks_are_found_by_word_beginnings_in_order(text, found) -> None:
    assert [a.name for a in asked(text, (PAYBACK, CASES))] == found


def _found_by_words(text: str, ask: Ask) -> bool:
    """The matching rule written out plainly: some phrase's word beginnings start
    consecutive words of the lower-cased text."""
    words = re.findall(r"\w+", text.lower())
    return any(
        all(words[i + j].startswith(w) for j, w in enumerate(phrase))
        for phrase in ask.phrases
        for i in range(len(words) - len(phrase) + 1)
    )


def test_the_compiled_phrases_match_as_the_rule_says() -> None:
    rnd = random.Random(5)
    vocab = ["return", "returns", "on", "one", "investment", "invest", "окупність", "окупація",
             "the", "case", "studies", "stud", "Окупності", "x-on", "on_", "ROI"]  # fmt: skip
    seps = [" ", ", ", "-", "'", " — ", "_", ""]
    for _ in range(3000):
        text = "".join(rnd.choice(vocab) + rnd.choice(seps) for _ in range(rnd.randint(0, 6)))
        for ask in (PAYBACK, CASES):
            assert ask.found_in(text.lower()) == _found_by_words(text, ask), (text, ask.name)


def test_answers_move_after_the_pins_best_ranked_first() -> None:
    types = np.array([CASE, 0, ROI, ROI, CASE, 0])
    order = [1, 0, 5, 3, 2, 4]  # 3 is the best-ranked ROI calculator, 0 the best case study
    assert answers_first(order, types, (PAYBACK,), head=0) == ([3, 1, 0, 5, 2, 4], 1)
    assert answers_first(order, types, (PAYBACK, CASES), head=1) == ([1, 3, 0, 5, 2, 4], 3)
    # a pin that answers already: nothing moves for that ask
    assert answers_first([2, 1, 0, 3], types, (PAYBACK,), head=1) == ([2, 1, 0, 3], 1)
    # no candidate answers: nothing moves
    assert answers_first([1, 5], types, (PAYBACK,), head=0) == ([1, 5], 0)
    assert answering(types, (PAYBACK, CASES)).tolist() == [True, False, True, True, True, False]


def test_the_playbook_reads_and_checks_the_asks_section() -> None:
    base = {k: v for k, v in Playbook.load().raw.items() if k != "asks"}
    assert Playbook.from_mapping(base).asks == ()
    cases = {"types": ["case_study"], "label": "customer cases", "phrases": ["Case Stud", "кейс"]}
    book = Playbook.from_mapping({**base, "asks": {"cases": cases}})
    assert book.asks == (Ask("cases", (CASE,), "customer cases", (("case", "stud"), ("кейс",))),)
    with pytest.raises(SchemaError) as err:
        wrong = {"types": ["case_studies"], "label": "", "phrases": ["  "], "weight": 2}
        Playbook.from_mapping({**base, "asks": {"x": wrong, "y": "roi"}})
    text = str(err.value)
    for where in ("asks.x.types", "asks.x.label", "asks.x.phrases[0]", "asks.x.weight", "asks.y"):
        assert where in text
    assert "'case_studies' is not an asset type" in text


@pytest.fixture(scope="module")
def engine(demo_workspace) -> Recommender:
    return Recommender(build_snapshot(demo_workspace, use_model=False))


NOTE = "клієнт хоче порахувати окупність"
PARTNER = PartnerProfile(partner_id="p", tier="platinum", maturity="developing",
                         languages=("uk", "en"))  # fmt: skip


@pytest.mark.parametrize(
    "stage",
    ["prospecting", "qualification", "discovery", "solution", "negotiation", "closing",
     "post_sale"],
)  # fmt: skip
def test_the_payback_question_gets_an_roi_workbook_first_at_every_stage(engine, stage) -> None:
    assets = engine.snapshot.catalog.assets.set_index("asset_id")
    answer = engine.recommend(DealContext(stage=stage, notes=NOTE), PARTNER, n=10, now=NOW)
    first = answer.items[0]
    assert first.type == "roi_calculator"
    assert str(assets.loc[first.asset_id, "document"]).endswith(".xlsx")
    assert first.reasons[0].code == "asked"
    assert first.reasons[0].text == "Your notes ask for a payback calculation"
    # the best of them by the scorer: no other ROI calculator among the candidates scores more
    request = engine.prepare(DealContext(stage=stage, notes=NOTE), PARTNER, n=10, now=NOW)
    ranked = engine.rank(request, engine.snapshot)
    roi = [i for i in range(len(request.cands))
           if engine.snapshot.table.type_code[request.cands[i]] == ROI]  # fmt: skip
    assert first.score == pytest.approx(max(float(ranked.scores[i]) for i in roi))
    # every item that answers says so, and nothing else does
    for item in answer.items:
        assert (item.type == "roi_calculator") == any(r.code == "asked" for r in item.reasons)


def test_without_the_asks_section_the_stage_decides(engine) -> None:
    raw = {k: v for k, v in engine.snapshot.playbook.raw.items() if k != "asks"}
    plain = engine.snapshot.with_changes(playbook=Playbook.from_mapping(raw))
    answer = engine.recommend(DealContext(stage="prospecting", notes=NOTE), PARTNER, n=10,
                              now=NOW, snapshot=plain)  # fmt: skip
    assert answer.items[0].type != "roi_calculator"
    assert all(r.code != "asked" for i in answer.items for r in i.reasons)


def test_pins_come_first_and_exploration_leaves_the_answer_in_place(engine) -> None:
    assets = engine.snapshot.catalog.assets
    pinned = str(assets[assets["type"] == "white_paper"]["asset_id"].iloc[0])
    pin = Override(override_id="o1", action=Action.PIN, asset_id=pinned, scope="global")
    snap = engine.snapshot.with_changes(overrides=(pin,))
    context = DealContext(stage="prospecting", notes=NOTE)
    answer = engine.recommend(context, PARTNER, n=10, now=NOW, snapshot=snap)
    assert answer.ids()[0] == pinned and answer.items[1].type == "roi_calculator"
    exploration = Exploration(rate=0.9, reserve=10)
    explored = 0
    for k in range(30):
        answer = engine.recommend(context, PARTNER, n=10, now=NOW, snapshot=snap,
                                  request_id=f"{k:032x}", exploration=exploration)  # fmt: skip
        assert answer.ids()[0] == pinned and answer.items[1].type == "roi_calculator"
        assert answer.items[1].propensity == 1.0 and not answer.items[1].explored
        explored += sum(i.explored for i in answer.items)
    assert explored > 0  # the other slots did explore
