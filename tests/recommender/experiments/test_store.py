"""The experiment store: fields and segments checked, one running experiment per partner,
every change audited with it, nothing stored when refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.experiments.store import (
    Experiment,
    ExperimentConflict,
    ExperimentError,
    ExperimentStore,
    parse_segment,
)
from recommender.storage import audit
from recommender.types import PartnerProfile


@pytest.fixture
def store(console_location: Path | str):
    """The store on each backend of the console database (SQLite, PostgreSQL)."""
    with ExperimentStore(console_location) as s:
        yield s


def audit_actions(location: Path | str) -> list[tuple[str, str]]:
    with audit.AuditLog(location) as log:
        return [(e["action"], e["target"]) for e in log.entries()][::-1]


def test_segments_parse_with_clear_errors() -> None:
    assert parse_segment("") == {} and parse_segment(None) == {}
    assert parse_segment("tier=gold, maturity=new|developing") == {
        "tier": ("gold",),
        "maturity": ("new", "developing"),
    }
    for text, message in [
        ("tier", "is not key=value"),
        ("colour=red", "'colour' is not a partner attribute"),
        ("tier=diamond", "tier='diamond' is not valid"),
        ("tier=gold,tier=silver", "given twice"),
        ("maturity=new|", "maturity='' is not valid"),
    ]:
        with pytest.raises(ExperimentError, match=message):
            parse_segment(text)


def test_membership_and_overlap() -> None:
    gold_new = Experiment("a", "v1", "v2", "ab", segment=parse_segment("tier=gold,maturity=new"))
    gold = PartnerProfile("p1", tier="gold", maturity="new", regions=("kyiv",))
    assert gold_new.matches(gold)
    assert not gold_new.matches(PartnerProfile("p2", tier="gold", maturity="advanced"))
    by_region = Experiment("b", "v1", "v2", "ab", segment=parse_segment("region=lviv|kyiv"))
    assert by_region.matches(gold) and not by_region.matches(PartnerProfile("p3"))
    silver = Experiment("c", "v1", "v2", "ab", segment=parse_segment("tier=silver"))
    assert not gold_new.overlaps(silver) and not silver.overlaps(gold_new)
    assert gold_new.overlaps(by_region)  # a gold new partner in Kyiv is in both
    assert Experiment("d", "v1", "v2", "ab").overlaps(silver)  # everyone


def test_create_list_stop_and_audit(store: ExperimentStore, console_location: Path | str) -> None:
    made = store.create(actor="alice", name="x1", control="v1", treatment="v2",
                        method="interleave", segment="tier=gold")  # fmt: skip
    assert made.running and made.created_by == "alice" and made.segment == {"tier": ("gold",)}
    store.create(actor="bob", name="x2", control="v1", treatment="v2", method="ab",
                 share=0.2, segment="tier=silver|registered")  # fmt: skip
    assert [e.name for e in store.running()] == ["x1", "x2"]
    assert store.get("x2") is not None and store.get("x2").share == 0.2  # type: ignore[union-attr]
    stopped = store.stop("x1", actor="alice", promoted="v2")
    assert (stopped.status, stopped.stopped_by, stopped.promoted) == ("stopped", "alice", "v2")
    assert [e.name for e in store.running()] == ["x2"]
    assert [e.name for e in store.list()] == ["x1", "x2"]
    with pytest.raises(ExperimentConflict, match="was stopped"):
        store.stop("x1", actor="alice")
    with pytest.raises(ExperimentError, match="no experiment named 'nope'"):
        store.stop("nope", actor="alice")
    assert audit_actions(console_location) == [
        ("experiment.create", "x1"),
        ("experiment.create", "x2"),
        ("experiment.stop", "x1"),
    ]


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"name": "x 1"}, ExperimentError, "name='x 1' is not a valid name"),
        ({"treatment": "v1"}, ExperimentError, "control and treatment are both 'v1'"),
        ({"method": "bandit"}, ExperimentError, "method='bandit' is not valid"),
        ({"share": 1.0}, ExperimentError, "share=1.0 must be a number in"),
        ({"share": float("nan")}, ExperimentError, "share=nan"),
        ({"segment": "tier=diamond"}, ExperimentError, "tier='diamond'"),
        ({"name": "run"}, ExperimentConflict, "an experiment named 'run' exists"),
        ({"segment": "maturity=new"}, ExperimentConflict, "'run' is running for tier=gold"),
    ],
)
def test_refused_experiments_store_nothing(
    store: ExperimentStore, console_location: Path | str, fields: dict, error: type, message: str
) -> None:
    store.create(actor="a", name="run", control="v1", treatment="v2", method="ab",
                 segment="tier=gold")  # fmt: skip
    proposed = {"name": "new", "control": "v1", "treatment": "v2", "method": "ab"} | fields
    with pytest.raises(error, match=message):
        store.create(actor="a", **proposed)
    assert [e.name for e in store.list()] == ["run"]
    assert audit_actions(console_location) == [("experiment.create", "run")]


def test_a_disjoint_segment_may_run_beside_another(store: ExperimentStore) -> None:
    store.create(actor="a", name="gold", control="v1", treatment="v2", method="ab",
                 segment="tier=gold")  # fmt: skip
    store.create(actor="a", name="silver", control="v1", treatment="v2", method="interleave",
                 segment="tier=silver,maturity=new")  # fmt: skip
    assert len(store.running()) == 2
