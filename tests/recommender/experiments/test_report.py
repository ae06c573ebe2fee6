"""An experiment's report from journal rows: interleaving credits and A/B metrics against
hand-worked values, scipy and the statistics modules' own functions."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recommender.experiments import Look, bootstrap_difference, msprt_p_values
from recommender.experiments.report import ReportOptions, report, summary_lines
from recommender.experiments.store import Experiment
from recommender.storage.event_rows import EVENT_COLUMNS

T0 = pd.Timestamp("2026-03-02 09:00")
_ids = itertools.count()


def rows(*events: dict) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(events)).reindex(columns=list(EVENT_COLUMNS))
    frame["ts"] = pd.to_datetime(frame["ts"]).astype("datetime64[us]")
    return frame


def shown(request: str, partner: str, teams: list[str], *, day: int = 0, name: str = "x1"):
    """One request's impressions: asset a<slot> in slot order, each slot's team."""
    return [
        {
            "event_id": f"imp-{request}-{slot}",
            "ts": T0 + pd.Timedelta(days=day),
            "type": "impression",
            "partner_id": partner,
            "asset_id": f"a{slot}",
            "request_id": request,
            "position": slot,
            "experiment": name,
            "arm": team,
            "propensity": 0.5,
            "propensity_shown": 1.0,
        }
        for slot, team in enumerate(teams)
    ]


def engaged(request: str | None, partner: str, asset: str, kind: str = "open", day: int = 0):
    ts = T0 + pd.Timedelta(days=day, hours=1)
    event_id = f"{kind}-{next(_ids)}"
    return {"event_id": event_id, "ts": ts, "type": kind, "partner_id": partner,
            "asset_id": asset, "request_id": request}  # fmt: skip


INTERLEAVE = Experiment("x1", "v1", "v2", "interleave")
TEAMS = ["pinned", "control", "treatment", "treatment", "control"]


def test_interleaving_credits_wins_losses_and_ties_per_request() -> None:
    impressions = rows(
        *shown("r1", "p1", TEAMS), *shown("r2", "p1", TEAMS), *shown("r3", "p2", TEAMS),
        *shown("r4", "p2", TEAMS, day=1), *shown("r5", "p3", TEAMS, day=1),
        *shown("o1", "p3", TEAMS, name="other"),
    )  # fmt: skip
    later = rows(
        engaged("r1", "p1", "a2"),  # treatment slot: a win
        engaged("r2", "p1", "a1"), engaged("r2", "p1", "a3"),  # one each: a tie
        engaged("r3", "p2", "a4"), engaged("r3", "p2", "a0"),  # control (+ pinned): a loss
        # two treatment slots, one of them twice, against one control slot: a win
        engaged("r4", "p2", "a2", day=1), engaged("r4", "p2", "a2", "download", day=1),
        engaged("r4", "p2", "a3", "share", day=1), engaged("r4", "p2", "a1", day=1),
        engaged(None, "p3", "a2", day=1),  # no request id: not attributed
        engaged("r5", "p3", "a9", day=1),  # an asset r5 did not show
        engaged("o1", "p3", "a2", day=1),  # another experiment's request
    )  # fmt: skip
    out = report(INTERLEAVE, impressions, later)
    i = out["interleaving"]
    assert (i["wins"], i["losses"], i["ties"], i["engaged_requests"]) == (2, 1, 1, 4)
    assert out["requests"] == 5 and out["partners"] == 3 and out["impressions"] == 25
    ref = stats.binomtest(2, 3, 0.5)
    assert i["p_value"] == pytest.approx(ref.pvalue)
    ci = ref.proportion_ci(confidence_level=0.95, method="wilson")
    assert (i["ci_low"], i["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert i["win_rate"] == pytest.approx(2 / 3)
    assert out["winner"] is None and out["winner_version"] is None
    # the chart: as it stood at the end of each day
    day1, day2 = out["cumulative"]
    assert (day1["wins"], day1["losses"], day1["ties"], day1["requests"]) == (1, 1, 1, 3)
    assert (day2["wins"], day2["losses"], day2["ties"], day2["requests"]) == (2, 1, 1, 5)
    assert "treatment wins 2, loses 1, ties 1" in "\n".join(summary_lines(out))


def test_interleaving_names_the_winner_at_the_test_level() -> None:
    requests = [f"r{k}" for k in range(7)]
    impressions = rows(*(e for r in requests for e in shown(r, "p1", TEAMS)))
    later = rows(*(engaged(r, "p1", "a4" if r == "r0" else "a2") for r in requests))
    out = report(INTERLEAVE, impressions, later)
    assert (out["interleaving"]["wins"], out["interleaving"]["losses"]) == (6, 1)
    # 6 of 7: p = 2 * 8 / 128 = 0.125 > 0.05, no winner; at alpha 0.2 the treatment wins
    assert out["interleaving"]["p_value"] == pytest.approx(16 / 128)
    assert out["winner"] is None
    loose = report(INTERLEAVE, impressions, later, options=ReportOptions(alpha=0.2))
    assert (loose["winner"], loose["winner_version"]) == ("treatment", "v2")


def test_ab_metrics_per_partner_with_intervals_and_the_always_valid_test() -> None:
    ab = Experiment("x2", "v1", "v2", "ab")
    rng = np.random.default_rng(3)
    events, later = [], []
    per_request = {}  # partner -> (arm, attributed engagement per request by day), by hand
    for k in range(40):
        partner, side = f"p{k}", ("treatment" if k % 2 else "control")
        n_requests, daily = 2 + k % 3, []
        for q in range(n_requests):
            request = f"r{k}-{q}"
            events += shown(request, partner, [side] * 3, day=q, name="x2")
            hits = int(rng.integers(0, 3)) if side == "treatment" else int(rng.integers(0, 2))
            for slot in range(hits):
                later.append(engaged(request, partner, f"a{slot}", day=q))
            daily.append(hits)
        per_request[partner] = (side, daily)
        if k % 4 == 1:  # a treatment partner downloads outside any request, and wins a deal
            later.append(engaged(None, partner, "a7", "download", day=1))
            later.append({"event_id": f"deal-{k}", "ts": T0 + pd.Timedelta(days=2),
                          "type": "deal_outcome", "partner_id": partner, "deal_id": f"d{k}",
                          "outcome": "won"})  # fmt: skip

    def values(side: str, day: int) -> np.ndarray:  # partners in id order, as of `day`
        return np.array([sum(d[: day + 1]) / len(d[: day + 1])
                         for p, (s, d) in sorted(per_request.items()) if s == side])  # fmt: skip

    out = report(ab, rows(*events), rows(*later), options=ReportOptions(bootstrap=500))
    arms = out["ab"]["arms"]
    t, c = values("treatment", 3), values("control", 3)
    assert arms["treatment"]["partners"] == arms["control"]["partners"] == 20
    assert arms["treatment"]["engagement_per_request"] == pytest.approx(t.mean())
    assert arms["control"]["engagement_per_request"] == pytest.approx(c.mean())
    assert arms["treatment"]["deals_won_per_partner"] == pytest.approx(10 / 20)
    assert arms["control"]["deals_won_per_partner"] == 0.0
    # downloads: the 10 outside any request (attributed engagement are all opens here)
    assert arms["treatment"]["downloads_per_partner"] == pytest.approx(10 / 20)
    metric = out["ab"]["metrics"]["engagement_per_request"]
    diff, low, high = bootstrap_difference(t, c, n_bootstrap=500, seed=0)
    assert (metric["difference"], metric["ci_low"], metric["ci_high"]) == pytest.approx(
        (diff, low, high)
    )
    # the always-valid p-value after the last daily look, by the mSPRT with tau = 5% of control
    looks = [Look.of(values("treatment", day), values("control", day)) for day in range(4)]
    tau = 0.05 * c.mean()
    assert out["ab"]["p_value"] == pytest.approx(msprt_p_values(looks, tau)[-1])
    assert [p["effect"] for p in out["cumulative"]] == pytest.approx(
        [look.difference for look in looks]
    )
    assert out["ab"]["min_effect"] == pytest.approx(tau)
    assert out["winner"] == ("treatment" if out["ab"]["p_value"] < 0.05 else None)
    needed = out["ab"]["needed"]
    assert needed["partners_per_arm"] > 0 and needed["partners_more_per_arm"] >= 0
    assert [p["date"] for p in out["cumulative"]] == [f"2026-03-0{d}" for d in (2, 3, 4, 5)]


def test_an_experiment_without_requests_reports_so() -> None:
    empty = rows()
    for experiment in (INTERLEAVE, Experiment("x2", "v1", "v2", "ab")):
        out = report(experiment, empty, empty)
        assert out["requests"] == 0 and out["winner"] is None and out["cumulative"] == []
        assert out["decision"] == "no requests served in the experiment yet"
        assert summary_lines(out)


def test_report_options_are_checked() -> None:
    with pytest.raises(ValueError, match=r"alpha=1\.5"):
        ReportOptions(alpha=1.5)
    with pytest.raises(ValueError, match="bootstrap=10"):
        ReportOptions(bootstrap=10)
