"""Online experiments through /v1/experiments on a real workspace with two model versions:
creating (admin, checked, audited), serving (A/B arms sticky by partner, team-draft lists that
keep pins, hides and the type cap, impressions that name experiment, arm and propensity),
reporting from the journal, stopping, promoting the winner, and refusing a model that does not
load while the control keeps serving."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from recommender import DealContext, EventJournal, Recommender, recommend_in_experiments
from recommender.experiments import arm, team_draft
from tests.service.helpers import Api
from tests.support import Template, recommendation_body


@pytest.fixture
def clean(api: Api) -> Iterator[Api]:
    """`api` with no running experiment and no override after the test."""
    yield api
    for e in api.get("/v1/experiments", scope="admin").json()["data"]:
        if e["status"] == "running":
            assert api.post(f"/v1/experiments/{e['name']}/stop", scope="admin").status_code == 200
    for o in api.get("/v1/overrides", scope="manager").json()["data"]:
        api.delete(f"/v1/overrides/{o['override_id']}", scope="manager")


def create(api: Api, name: str, control: str, treatment: str, method: str, **more: object):
    body = {"name": name, "control": control, "treatment": treatment, "method": method, **more}
    return api.post("/v1/experiments", body, scope="admin")


def experiment_rows(api: Api, name: str):
    assert api.state.impressions.flush()
    with EventJournal(api.workspace.events_path) as journal:
        return journal.experiment_events(name)


def test_creating_needs_admin_and_checks_what_it_is_given(clean: Api, template: Template) -> None:
    v1, v2 = template.versions
    body = {"name": "x", "control": v1, "treatment": v2, "method": "ab"}
    assert clean.post("/v1/experiments", body, scope="manager").status_code == 403
    assert clean.get("/v1/experiments", scope="manager").status_code == 403
    bad = clean.post("/v1/experiments", body | {"method": "bandit"}, scope="admin")
    assert bad.status_code == 422
    bad = create(clean, "x", v1, v2, "ab", segment="tier=diamond")
    assert bad.status_code == 422 and "tier='diamond'" in bad.text
    missing = create(clean, "x", v1, "v20990101-000000-abcdef0", "ab")
    assert missing.status_code == 409 and "v20990101-000000-abcdef0" in missing.text
    assert clean.get("/v1/experiments", scope="admin").json()["count"] == 0
    assert clean.get("/v1/experiments/x", scope="admin").status_code == 404


def test_a_model_that_fails_to_load_is_refused_and_the_control_keeps_serving(
    clean: Api, template: Template
) -> None:
    v1, v2 = template.versions
    model_file = clean.workspace.models_dir / v2 / "model.json"
    original = model_file.read_bytes()
    audit_before = clean.get("/v1/audit", scope="admin").json()["count"]
    try:
        model_file.write_bytes(original[:-10])
        refused = create(clean, "broken", v1, v2, "interleave")
        assert refused.status_code == 409 and "truncated" in refused.json()["detail"]
        assert clean.get("/v1/experiments", scope="admin").json()["count"] == 0
        assert clean.get("/v1/audit", scope="admin").json()["count"] == audit_before
        answer = clean.post("/v1/recommendations", recommendation_body()).json()
        assert answer["model_version"] == "playbook" and "experiment" not in answer
        # created while the model loaded, damaged later: the rebuild leaves it out and says so
        model_file.write_bytes(original)
        assert create(clean, "later", v1, v2, "interleave").status_code == 201
        model_file.write_bytes(original[:-10])
        clean.state.change("test", lambda: None)  # any rebuild (a catalog change, a restart)
        listed = clean.get("/v1/experiments/later", scope="admin").json()
        assert listed["status"] == "running" and listed["serving"] is False
        answer = clean.post("/v1/recommendations", recommendation_body()).json()
        assert answer["model_version"] == "playbook" and "experiment" not in answer
        warnings = clean.get("/readyz").json()["warnings"]
        assert any("'later' is not served" in w and "truncated" in w for w in warnings)
    finally:
        model_file.write_bytes(original)
        clean.state.change("test", lambda: None)


def test_ab_arms_are_sticky_per_partner_and_follow_the_hash(clean: Api, template: Template) -> None:
    v1, v2 = template.versions
    made = create(clean, "ab1", v1, v2, "ab", share=0.5)
    assert made.status_code == 201, made.text
    assert made.json()["serving"] is True and made.json()["segment"] == {}
    served: dict[str, set[str]] = {}
    for _ in range(3):
        for partner in template.partner_ids:
            answer = clean.post("/v1/recommendations", recommendation_body(partner)).json()
            assert answer["experiment"] == "ab1"
            served.setdefault(partner, set()).add(answer["model_version"])
    expected = {p: {v2 if arm("ab1", p) == "treatment" else v1} for p in template.partner_ids}
    assert served == expected
    assert {len(v) for v in served.values()} == {1}
    assert Counter(next(iter(v)) for v in served.values()).keys() == {v1, v2}
    shown, _ = experiment_rows(clean, "ab1")
    assert len(shown) == 3 * 5 * len(template.partner_ids)
    by_partner = shown.groupby("partner_id")["arm"].agg(set)
    assert all(by_partner[p] == {arm("ab1", p)} for p in template.partner_ids)
    assert shown["propensity"].between(0, 1, inclusive="right").all()


def test_a_segment_holds_only_its_partners(clean: Api, template: Template) -> None:
    v1, v2 = template.versions
    partners = {p: clean.get(f"/v1/partners/{p}", scope="manager").json()
                for p in template.partner_ids}  # fmt: skip
    tier = Counter(p["tier"] for p in partners.values()).most_common(1)[0][0]
    assert create(clean, "seg", v1, v2, "ab", segment=f"tier={tier}").status_code == 201
    overlap = create(clean, "seg2", v1, v2, "interleave")
    assert overlap.status_code == 409 and "'seg' is running" in overlap.json()["detail"]
    for pid, p in partners.items():
        answer = clean.post("/v1/recommendations", recommendation_body(pid)).json()
        assert (answer.get("experiment") == "seg") == (p["tier"] == tier)
        if p["tier"] != tier:
            assert answer["model_version"] == "playbook"


def test_interleaving_merges_both_rankings_under_steering(clean: Api, template: Template) -> None:
    v1, v2 = template.versions
    assert create(clean, "il1", v1, v2, "interleave").status_code == 201
    body = recommendation_body("P0003", n=10, notes="ROI calculator for a bank")
    first = clean.post("/v1/recommendations", body).json()
    pinned, hidden = template.asset_ids[-1], first["items"][1]["asset_id"]
    for action, asset in (("pin", pinned), ("hide", hidden)):
        r = clean.post("/v1/overrides", {"action": action, "asset_id": asset, "scope": "global"},
                       scope="manager")  # fmt: skip
        assert r.status_code == 201, r.text
    answers = [clean.post("/v1/recommendations", body).json() for _ in range(8)]
    shown, _ = experiment_rows(clean, "il1")
    for answer in answers:
        assert answer["experiment"] == "il1" and answer["model_version"] == f"{v1}|{v2}"
        ids = [i["asset_id"] for i in answer["items"]]
        assert ids[0] == pinned and hidden not in ids and len(ids) == len(set(ids)) == 10
        assert max(Counter(i["type"] for i in answer["items"]).values()) <= 3
        rows = shown[shown["request_id"] == answer["request_id"]].sort_values("position")
        assert rows["asset_id"].tolist() == ids
        teams = rows["arm"].tolist()
        assert teams[0] == "pinned" and set(teams[1:]) <= {"control", "treatment"}
        # team draft: after the pin, the teams' picks never differ by more than one
        gap = [teams[1 : k + 1].count("control") - teams[1 : k + 1].count("treatment")
               for k in range(1, 10)]  # fmt: skip
        assert max(map(abs, gap)) <= 1
        assert rows["propensity"].iloc[0] == 1.0
        assert (rows["propensity"] <= rows["propensity_shown"]).all()
        assert rows["propensity"].between(0, 1, inclusive="right").all()


def test_an_interleaved_list_is_the_team_draft_of_both_arms_rankings(
    clean: Api, template: Template
) -> None:
    """Recomputed outside the service: each arm ranks the prepared request on its own, and
    `team_draft` of those orders (seeded by the request id) is what the engine served."""
    v1, v2 = template.versions
    assert create(clean, "il3", v1, v2, "interleave").status_code == 201
    snapshot = clean.state.recommender.snapshot
    (live,) = snapshot.experiments
    engine = Recommender(snapshot)
    partner = engine.resolve_partner("P0005")
    context = DealContext(stage="solution", notes="TCO calculator for a retailer")
    types = dict(zip(snapshot.table.ids.tolist(), snapshot.table.type_code.tolist(), strict=True))
    for k in range(6):
        rid = f"req-{k}"
        got = recommend_in_experiments(engine, context, partner, snapshot=snapshot, n=8,
                                       request_id=rid)  # fmt: skip
        again = recommend_in_experiments(engine, context, partner, snapshot=snapshot, n=8,
                                         request_id=rid)  # fmt: skip
        assert got.ids() == again.ids() and got.experiment == "il3"
        request = engine.prepare(context, partner, n=8, snapshot=snapshot, request_id=rid)
        ids = snapshot.table.ids[request.cands]
        orders = [[str(ids[i]) for i in engine.rank(request, side.on(snapshot)).order]
                  for side in (live.control, live.treatment)]  # fmt: skip
        merged = team_draft(*orders, 8, request_id=rid, type_of=lambda a: str(types[a]),
                            max_per_type=3)  # fmt: skip
        assert got.ids() == merged.items
        assert [i.arm for i in got.items] == merged.teams
        assert [i.propensity for i in got.items] == merged.propensity
        # each item shows the score of the ranking that placed it
        for item, team in zip(got.items, merged.teams, strict=True):
            side = live.treatment if team == "treatment" else live.control
            ranked = engine.rank(request, side.on(snapshot))
            position = list(ids).index(item.asset_id)
            assert item.score == pytest.approx(float(ranked.scores[position]))
    assert orders[0] != orders[1]  # the two versions rank differently here


def test_report_stop_and_promote_the_winner(clean: Api, template: Template) -> None:
    v1, v2 = template.versions
    assert create(clean, "il2", v1, v2, "interleave").status_code == 201
    assert clean.post("/v1/experiments/il2/promote", scope="admin").status_code == 409  # no data
    events, wins = [], 0
    for k in range(12):
        answer = clean.post("/v1/recommendations", recommendation_body("P0004", n=6)).json()
        shown, _ = experiment_rows(clean, "il2")
        rows = shown[shown["request_id"] == answer["request_id"]]
        treatment = rows[rows["arm"] == "treatment"]["asset_id"].tolist()
        if not treatment:
            continue
        wins += 1
        events.append({"event_id": f"il2-open-{k}", "ts": datetime.now(UTC).isoformat(),
                       "type": "open", "partner_id": "P0004", "asset_id": treatment[0],
                       "request_id": answer["request_id"]})  # fmt: skip
    assert wins >= 8
    assert clean.post("/v1/events", {"events": events}, scope="portal").json()["accepted"] == wins
    report = clean.get("/v1/experiments/il2/report", scope="admin").json()
    assert report["interleaving"]["wins"] == wins and report["interleaving"]["losses"] == 0
    assert report["winner"] == "treatment" and report["winner_version"] == v2
    assert report["cumulative"][-1]["wins"] == wins
    promoted = clean.post("/v1/experiments/il2/promote", scope="admin")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["model_version"] == v2
    assert promoted.json()["experiment"]["status"] == "stopped"
    assert promoted.json()["experiment"]["promoted"] == v2
    answer = clean.post("/v1/recommendations", recommendation_body("P0004")).json()
    assert answer["model_version"] == v2 and "experiment" not in answer
    actions = [e["action"] for e in clean.get("/v1/audit", scope="admin").json()["data"]][:3]
    assert actions == ["experiment.stop", "model.promote", "experiment.create"]
    assert clean.post("/v1/experiments/il2/stop", scope="admin").status_code == 409
    assert clean.post("/v1/models/rollback", scope="admin").status_code == 200
