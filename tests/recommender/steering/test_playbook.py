import pytest

from features import SchemaError
from recommender.steering.playbook import DEFAULT_PLAYBOOK, Playbook


@pytest.fixture(scope="module")
def playbook():
    return Playbook.load(DEFAULT_PLAYBOOK)


def test_shipped_playbook_follows_the_domain(playbook):
    # Early stages: white papers and thought leadership, not battlecards.
    assert playbook.best_types("prospecting")[:2] == ["white_paper", "article"]
    assert playbook.stage_type("prospecting", "battlecard") < playbook.stage_type(
        "prospecting", "white_paper"
    )
    # Negotiation: ROI/TCO calculators and battlecards.
    assert set(playbook.best_types("negotiation", 3)) == {
        "roi_calculator",
        "tco_calculator",
        "battlecard",
    }
    # Solution design: reference architectures, calculators, case studies.
    assert "reference_architecture" in playbook.best_types("solution", 3)
    m = playbook.matrices
    # New partners: basics; advanced partners: no basics.
    new, advanced = 0, 3
    assert m.maturity_depth[new, 0] > m.maturity_depth[new, 3]
    assert m.maturity_depth[advanced, 0] < m.maturity_depth[advanced, 2]


def test_unlisted_cells_take_the_default():
    pb = Playbook.from_yaml("default: 0.1\nstage_type:\n  closing: {faq: 0.9}\n")
    assert pb.stage_type("closing", "faq") == pytest.approx(0.9)
    assert pb.stage_type("closing", "webinar") == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("text", "where", "match"),
    [
        ("stage_type:\n  negotiaton: {battlecard: 1}\n", "stage_type.negotiaton", "is not a stage"),
        (
            "stage_type:\n  closing: {brochure: 1}\n",
            "stage_type.closing.brochure",
            "is not a asset type",
        ),
        ("maturity_depth:\n  new: {basic: 1.5}\n", "maturity_depth.new.basic", "between 0 and 1"),
        ("maturity_type:\n  guru: {faq: 1}\n", "maturity_type.guru", "is not a maturity"),
        ("weights: {stage_type: -1}\n", "weights.stage_type", "non-negative"),
        ("stages: {}\n", "stages", "unknown section"),
    ],
    ids=[
        "stage-typo",
        "type-typo",
        "out-of-range",
        "unknown-maturity",
        "negative-weight",
        "unknown-section",
    ],
)
def test_bad_playbooks_are_refused_with_their_place(text, where, match):
    with pytest.raises(SchemaError, match=match) as info:
        Playbook.from_yaml(text, source="pb.yaml")
    assert info.value.problems[0].column == where


def test_all_problems_at_once():
    with pytest.raises(SchemaError) as info:
        Playbook.from_yaml("stage_type:\n  x: {}\n  closing: {faq: 2, y: 1}\n")
    assert len(info.value.problems) == 3


def test_not_yaml():
    with pytest.raises(SchemaError, match="not valid YAML"):
        Playbook.from_yaml("stage_type: [unclosed")


def test_round_trip(playbook):
    again = Playbook.from_yaml(playbook.to_yaml())
    assert (again.matrices.stage_type == playbook.matrices.stage_type).all()
