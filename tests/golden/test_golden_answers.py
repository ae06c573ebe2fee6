"""The engine answers 200 fixed requests exactly as recorded in answers.json: same assets in
the same order, scores equal to 6 decimals, by the playbook scorer and by the committed model.

A refactoring must leave every answer as it was; a deliberate change of behaviour re-records
the file (`python -m tests.golden.answers --record`) and says so in its commit.
"""

from __future__ import annotations

import json

import pytest

from tests.golden.answers import ANSWERS, answer_all, build_workspace, golden_requests
from tests.support import SHARED_EMBED_CACHE


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(ANSWERS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def answered(tmp_path_factory: pytest.TempPathFactory, recorded: dict) -> dict:
    ws = build_workspace(tmp_path_factory.mktemp("golden") / "ws", embed_cache=SHARED_EMBED_CACHE)
    requests = golden_requests(ws)
    assert requests == recorded["requests"], "the golden requests are drawn differently now"
    return answer_all(ws, requests)


@pytest.mark.parametrize("scorer", ["playbook", "learned"])
def test_every_answer_is_as_recorded(recorded: dict, answered: dict, scorer: str) -> None:
    expected, actual = recorded["answers"][scorer], answered[scorer]
    assert len(actual) == len(expected) == 200
    differ = []
    for i, (want, got) in enumerate(zip(expected, actual, strict=True)):
        ids_want = [a for a, _ in want["items"]]
        ids_got = [a for a, _ in got["items"]]
        scores_off = any(
            abs(s_want - s_got) > 1.5e-6
            for (_, s_want), (_, s_got) in zip(want["items"], got["items"], strict=False)
        )
        if ids_want != ids_got or scores_off or want["model_version"] != got["model_version"]:
            differ.append((i, want, got))
    assert not differ, f"{len(differ)} of 200 answers changed; the first: {differ[0]}"


def test_the_golden_set_exercises_both_scorers_and_notes(recorded: dict) -> None:
    requests = recorded["requests"]
    assert sum(bool(r["context"]["notes"]) for r in requests) >= 90
    assert sum(not r["context"]["notes"] for r in requests) == 100
    learned = recorded["answers"]["learned"]
    playbook = recorded["answers"]["playbook"]
    assert all(a["model_version"] == "playbook" for a in playbook)
    assert all(a["model_version"].startswith("v20260101-") for a in learned)
    # the two scorers disagree often, so the model's answers test the model's path
    same = sum(
        [x for x, _ in a["items"]] == [x for x, _ in b["items"]]
        for a, b in zip(learned, playbook, strict=True)
    )
    assert same < 20
