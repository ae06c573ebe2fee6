"""The phrase tables (demo/data/phrases/*.yaml): every file loads, and a translator's mistake
is refused with the file, the key and the reason."""

from __future__ import annotations

import pytest

from demo import DEMO_DATA
from demo.content.phrases import NAMES, PhraseError, parse, table


def _text(name: str) -> str:
    return (DEMO_DATA / "phrases" / f"{name}.yaml").read_text(encoding="utf-8")


def test_the_phrase_folder_holds_exactly_the_tables_the_builders_read():
    files = {p.name for p in (DEMO_DATA / "phrases").iterdir()}
    assert files == {f"{name}.yaml" for name in NAMES} | {"README.md"}


@pytest.mark.parametrize("name", NAMES)
def test_every_table_loads_and_its_header_explains_it(name):
    assert table(name)
    assert _text(name).startswith("# ")


@pytest.mark.parametrize(
    ("name", "old", "new", "match"),
    [
        (
            "titles",
            '"{product}: бізнес-обґрунтування',
            '"{produt}: бізнес-обґрунтування',
            r"titles\.yaml: white_paper\[0\]\.uk: unknown placeholder \{produt\}; allowed: ",
        ),
        (
            "summaries",
            '    en: "It includes benchmark figures',
            '    de: "It includes benchmark figures',
            r"summaries\.yaml: bodies\.white_paper\[0\]\.en: missing; expected keys \['uk', 'ru'",
        ),
        (
            "titles",
            "case_study:",
            "case_studies:",
            r"titles\.yaml: case_study: missing",
        ),
        (
            "stages-and-roles",
            '    uk: "пошуку клієнтів"',
            '    uk: "пошуку клієнтів"\n    uk: "пошуку"',
            r"stages-and-roles\.yaml: not valid YAML: line 10, column 5: the key 'uk' is given tw",
        ),
        (
            "deal-notes",
            "Бюджет орієнтовно {size} тис. євро.",
            "Бюджет орієнтовно {size тис. євро.",
            r"deal-notes\.yaml: budget\.uk: .*brace",
        ),
        (
            "documents",
            '    uk: "Огляд"',
            '    uk: "Огляд: {country}"',
            r"documents\.yaml: headings\.overview\.uk: has a placeholder \{country\} but nothing "
            r"fills it here",
        ),
        (
            "documents",
            '  - "Price, EUR"',
            "",
            r"documents\.yaml: proposal_table: expected 3 items, got 2",
        ),
        (
            "competitors",
            'name: "Vortex Networks"',
            "name: [Vortex Networks",
            r"competitors\.yaml: not valid YAML: line \d+, column \d+: ",
        ),
        (
            "faq",
            'title: "Розвиток партнерів — FAQ про поняття"',
            'title: ""',
            r"faq\.yaml: title: is empty",
        ),
    ],
    ids=[
        "unknown-placeholder",
        "missing-language",
        "renamed-id",
        "duplicate-key",
        "unbalanced-brace",
        "placeholder-nothing-fills",
        "wrong-length",
        "broken-yaml",
        "empty-text",
    ],
)
def test_a_broken_table_is_refused_naming_file_key_and_reason(name, old, new, match):
    text = _text(name)
    assert old in text
    with pytest.raises(PhraseError, match=match):
        parse(name, text.replace(old, new, 1))


def test_an_unknown_table_name_lists_the_known_ones():
    with pytest.raises(PhraseError, match=r"'glossary' is not a phrase table; expected one of"):
        table("glossary")
