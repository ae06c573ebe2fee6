"""An experiment's report, from the journal: who wins, how sure we are, and how it got there.

Inputs are the experiment's impressions (each with its request id, slot, arm or team) and the
later events of its partners (`EventJournal.experiment_events`). Engagement (open, download,
share) with a request id and an asset shown by that request is attributed to that slot.

Interleaving: a request with engagement on an unpinned slot is a win for the treatment when
more of its engaged slots are the treatment's, a loss when fewer, a tie when as many
(`interleaving.credit`); requests without such engagement do not count. The treatment's win rate
over wins and losses, with the exact binomial test against 1/2 and the Wilson interval
(`stats`). The winner is the side the test favours at p < alpha.

A/B: the partner is the unit that was randomised, so every metric is a mean over partners:
engagement per request (attributed engagement over the partner's experiment requests),
downloads, shares and deals won (any of the partner's events from its first experiment
request on). Each with the difference of the arms and a bootstrap interval over partners
(`ab.bootstrap_difference`). The decision rests on engagement per request with the mSPRT's
always-valid p-value (`ab.msprt_p_values`), looked at once a day from the start (each look
sees the requests and engagement up to the end of its day), with tau the minimum effect worth
finding; the same effect and the observed spreads give the partners (and,
at the observed requests per partner, the requests) still needed for the stated power.

`cumulative` is the chart's series: the effect as it stood at the end of each day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from features.schema import ENGAGEMENT_TYPES, EventType, Outcome
from recommender.experiments.ab import Look, bootstrap_difference, msprt_p_values, sample_size
from recommender.experiments.interleaving import CONTROL, PINNED, TREATMENT
from recommender.experiments.stats import binomial_test
from recommender.experiments.store import Experiment, Method, format_segment

AB_METRICS = (
    "engagement_per_request",
    "downloads_per_partner",
    "shares_per_partner",
    "deals_won_per_partner",
)


@dataclass(frozen=True)
class ReportOptions:
    """`alpha`: the test level; `power`: the stated power; `min_effect`: the smallest
    difference in engagement per request worth finding, relative to the control's mean (A/B:
    the mSPRT's tau and the sample size's delta); `bootstrap`: resamples per interval."""

    alpha: float = 0.05
    power: float = 0.8
    min_effect: float = 0.05
    bootstrap: int = 2000

    def __post_init__(self) -> None:
        for name in ("alpha", "power", "min_effect"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"{name}={value!r} must be in (0, 1)")
        if self.bootstrap < 100:
            raise ValueError(f"bootstrap={self.bootstrap!r} must be at least 100")


def report(
    experiment: Experiment,
    impressions: pd.DataFrame,
    later: pd.DataFrame,
    *,
    options: ReportOptions | None = None,
) -> dict[str, Any]:
    """The experiment's report as plain JSON-ready data; see the module docstring."""
    options = options or ReportOptions()
    shown = impressions[impressions["experiment"] == experiment.name]
    base: dict[str, Any] = {
        "experiment": experiment.to_dict(),
        "requests": int(shown["request_id"].nunique()),
        "partners": int(shown["partner_id"].nunique()),
        "impressions": len(shown),
        "first": _iso(shown["ts"].min()) if len(shown) else None,
        "last": _iso(shown["ts"].max()) if len(shown) else None,
        "alpha": options.alpha,
    }
    engaged = _attributed(shown, later)
    if experiment.method == Method.INTERLEAVE:
        body = _interleaving(shown, engaged, options)
    else:
        body = _ab(shown, engaged, later, options)
    winner = body.pop("winner_side")
    version = {TREATMENT: experiment.treatment, CONTROL: experiment.control}.get(winner or "")
    return base | body | {"winner": winner, "winner_version": version,
                          "decision": _decision(experiment, winner, base["requests"])}  # fmt: skip


def _iso(ts: Any) -> str:
    return pd.Timestamp(ts).isoformat(timespec="seconds") + "Z"


def _attributed(shown: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    """Engagement events that name a request and an asset this experiment showed in it, with
    the slot's position and arm (one row per event)."""
    if not len(shown) or not len(later):
        return pd.DataFrame(columns=["request_id", "asset_id", "position", "arm", "type", "ts"])
    events = later[later["type"].isin(ENGAGEMENT_TYPES) & later["request_id"].notna()]
    slots = shown[["request_id", "asset_id", "position", "arm", "partner_id"]].drop_duplicates(
        ["request_id", "asset_id"]
    )
    return events[["request_id", "asset_id", "type", "ts", "partner_id"]].merge(
        slots, on=["request_id", "asset_id", "partner_id"], how="inner"
    )


def _requests(shown: pd.DataFrame) -> pd.DataFrame:
    """One row per experiment request: its partner, time, day and arm (A/B: the arm of its
    slots; interleaving: '')."""
    first = shown.sort_values("ts", kind="stable").drop_duplicates("request_id")
    out = first[["request_id", "partner_id", "ts", "arm"]].reset_index(drop=True)
    out["day"] = out["ts"].dt.floor("D")
    return out


# --- interleaving --------------------------------------------------------------------------
def _interleaving(
    shown: pd.DataFrame, engaged: pd.DataFrame, options: ReportOptions
) -> dict[str, Any]:
    requests = _requests(shown) if len(shown) else pd.DataFrame(columns=["request_id", "day"])
    counted = engaged[engaged["arm"] != PINNED]
    # engaged slots per request and team (a slot engaged twice counts once)
    slots = counted.drop_duplicates(["request_id", "position"])
    per = slots.groupby(["request_id", "arm"]).size().unstack(fill_value=0)
    for side in (CONTROL, TREATMENT):
        if side not in per:
            per[side] = 0
    outcome = np.sign(per[TREATMENT] - per[CONTROL]).rename("outcome").reset_index()
    outcome = outcome.merge(requests[["request_id", "day"]], on="request_id", how="left")
    wins = int((outcome["outcome"] > 0).sum())
    losses = int((outcome["outcome"] < 0).sum())
    ties = int((outcome["outcome"] == 0).sum())
    test = binomial_test(wins, losses, confidence=1 - options.alpha)
    winner = None
    if wins + losses and test.p_value < options.alpha:
        winner = TREATMENT if test.win_rate > 0.5 else CONTROL
    cumulative = []
    days = sorted(requests["day"].dropna().unique()) if len(requests) else []
    for day in days:
        upto = outcome[outcome["day"] <= day]
        w, lo = int((upto["outcome"] > 0).sum()), int((upto["outcome"] < 0).sum())
        t = binomial_test(w, lo, confidence=1 - options.alpha)
        cumulative.append(
            {
                "date": pd.Timestamp(day).date().isoformat(),
                "requests": int((requests["day"] <= day).sum()),
                "wins": w,
                "losses": lo,
                "ties": int((upto["outcome"] == 0).sum()),
                "effect": None if w + lo == 0 else t.win_rate,
                "ci_low": None if w + lo == 0 else t.ci_low,
                "ci_high": None if w + lo == 0 else t.ci_high,
                "p_value": t.p_value,
            }
        )
    return {
        "method": Method.INTERLEAVE.value,
        "interleaving": {
            "engaged_requests": wins + losses + ties,
            "wins": wins,
            "losses": losses,
            "ties": ties,
            "win_rate": None if wins + losses == 0 else test.win_rate,
            "ci_low": test.ci_low,
            "ci_high": test.ci_high,
            "p_value": test.p_value,
        },
        "effect_name": "treatment win rate",
        "null_effect": 0.5,
        "cumulative": cumulative,
        "winner_side": winner,
    }


# --- A/B -----------------------------------------------------------------------------------
def _partner_metrics(
    requests: pd.DataFrame, engaged: pd.DataFrame, later: pd.DataFrame
) -> pd.DataFrame:
    """Per partner: its arm, requests, attributed engagement per request, and downloads,
    shares and deals won from its first experiment request on."""
    per = requests.groupby("partner_id").agg(
        arm=("arm", "first"), requests=("request_id", "size"), first=("ts", "min")
    )
    per["engaged"] = engaged.groupby("partner_id").size().reindex(per.index, fill_value=0)
    per["engagement_per_request"] = per["engaged"] / per["requests"]
    events = later.merge(per[["first"]], left_on="partner_id", right_index=True)
    events = events[events["ts"] >= events["first"]]
    for name, mask in (
        ("downloads_per_partner", events["type"] == EventType.DOWNLOAD.value),
        ("shares_per_partner", events["type"] == EventType.SHARE.value),
        (
            "deals_won_per_partner",
            (events["type"] == EventType.DEAL_OUTCOME.value)
            & (events["outcome"] == Outcome.WON.value),
        ),
    ):
        counts = events[mask].groupby("partner_id").size()
        per[name] = counts.reindex(per.index, fill_value=0).astype(float)
    return per


def _ab(
    shown: pd.DataFrame, engaged: pd.DataFrame, later: pd.DataFrame, options: ReportOptions
) -> dict[str, Any]:
    requests = _requests(shown) if len(shown) else pd.DataFrame(
        columns=["request_id", "partner_id", "ts", "arm", "day"]
    )  # fmt: skip
    per = _partner_metrics(requests, engaged, later) if len(requests) else None
    arms: dict[str, dict[str, Any]] = {}
    for side in (CONTROL, TREATMENT):
        rows = per[per["arm"] == side] if per is not None else None
        n = 0 if rows is None else len(rows)
        arms[side] = {
            "partners": n,
            "requests": 0 if rows is None else int(rows["requests"].sum()),
            **{m: (float(rows[m].mean()) if n else None) for m in AB_METRICS},  # type: ignore[index]
        }
    metrics: dict[str, Any] = {}
    enough = per is not None and all(arms[s]["partners"] >= 2 for s in (CONTROL, TREATMENT))
    if enough:
        assert per is not None
        for i, m in enumerate(AB_METRICS):
            t = per.loc[per["arm"] == TREATMENT, m].to_numpy(dtype=float)
            c = per.loc[per["arm"] == CONTROL, m].to_numpy(dtype=float)
            diff, low, high = bootstrap_difference(t, c, n_bootstrap=options.bootstrap, seed=i)
            metrics[m] = {"difference": diff, "ci_low": low, "ci_high": high}
    # the decision: engagement per request, always valid over daily looks
    control_mean = arms[CONTROL]["engagement_per_request"]
    tau = options.min_effect * control_mean if control_mean else None
    cumulative: list[dict[str, Any]] = []
    p_value, winner, still = 1.0, None, None
    if enough and tau:
        assert per is not None
        looks, dates = [], []
        for day in sorted(requests["day"].unique()):
            # the metric as it stood at the end of the day: its requests and engagement only
            upto = requests[requests["day"] <= day]
            end = pd.Timestamp(day) + pd.Timedelta(days=1)
            asof = engaged[engaged["ts"] < end]
            asof = asof[asof["request_id"].isin(upto["request_id"])]
            part = upto.groupby("partner_id").agg(arm=("arm", "first"), n=("request_id", "size"))
            part["value"] = asof.groupby("partner_id").size().reindex(part.index, fill_value=0)
            part["value"] = part["value"] / part["n"]
            t = part.loc[part["arm"] == TREATMENT, "value"].to_numpy(float)
            c = part.loc[part["arm"] == CONTROL, "value"].to_numpy(float)
            if len(t) >= 2 and len(c) >= 2:
                looks.append(Look.of(t, c))
                dates.append((pd.Timestamp(day), len(upto)))
        p_values = msprt_p_values(looks, tau) if looks else []
        for look, p, (day, n_requests) in zip(looks, p_values, dates, strict=True):
            half = NormalDist().inv_cdf(1 - options.alpha / 2) * math.sqrt(look.variance)
            cumulative.append(
                {
                    "date": day.date().isoformat(),
                    "requests": n_requests,
                    "effect": look.difference,
                    "ci_low": look.difference - half,
                    "ci_high": look.difference + half,
                    "p_value": p,
                }
            )
        if p_values:
            p_value = p_values[-1]
            if p_value < options.alpha and looks[-1].difference != 0:
                winner = TREATMENT if looks[-1].difference > 0 else CONTROL
        last = Look.of(
            per.loc[per["arm"] == TREATMENT, "engagement_per_request"].to_numpy(float),
            per.loc[per["arm"] == CONTROL, "engagement_per_request"].to_numpy(float),
        )
        needed = sample_size(
            tau, math.sqrt(last.var_treatment), math.sqrt(last.var_control),
            alpha=options.alpha, power=options.power,
        )  # fmt: skip
        have = min(arms[CONTROL]["partners"], arms[TREATMENT]["partners"])
        per_partner = len(requests) / max(1, len(per))
        still = {
            "partners_per_arm": needed,
            "partners_more_per_arm": max(0, needed - have),
            "requests_more": math.ceil(max(0, needed - have) * 2 * per_partner),
        }
    return {
        "method": Method.AB.value,
        "ab": {
            "arms": arms,
            "metrics": metrics,
            "decision_metric": "engagement_per_request",
            "min_effect": tau,
            "p_value": p_value,
            "power": options.power,
            "needed": still,
        },
        "effect_name": "difference in engagement per request",
        "null_effect": 0.0,
        "cumulative": cumulative,
        "winner_side": winner,
    }


def _decision(experiment: Experiment, winner: str | None, requests: int) -> str:
    if requests == 0:
        return "no requests served in the experiment yet"
    if winner is None:
        return "no winner yet: the difference is not significant"
    version = experiment.treatment if winner == TREATMENT else experiment.control
    return f"{winner} ({version}) wins"


def summary_lines(report_: dict[str, Any]) -> Sequence[str]:
    """The report as a few lines of text (the CLI's output)."""
    e = report_["experiment"]
    lines = [
        f"experiment {e['name']} ({e['method']}, {e['status']}): control {e['control']}, "
        f"treatment {e['treatment']}, segment {format_segment(e['segment']) or 'all'}",
        f"  {report_['requests']} requests, {report_['partners']} partners, "
        f"{report_['impressions']} impressions ({report_['first']} .. {report_['last']})",
    ]
    if report_["method"] == Method.INTERLEAVE:
        i = report_["interleaving"]
        rate = "-" if i["win_rate"] is None else f"{i['win_rate']:.3f}"
        lines.append(
            f"  treatment wins {i['wins']}, loses {i['losses']}, ties {i['ties']} of "
            f"{i['engaged_requests']} engaged requests: win rate {rate} "
            f"[{i['ci_low']:.3f}, {i['ci_high']:.3f}], binomial p = {i['p_value']:.4g}"
        )
    else:
        ab = report_["ab"]
        for side in (CONTROL, TREATMENT):
            a = ab["arms"][side]
            vals = ", ".join(
                f"{m} {a[m]:.4g}" if a[m] is not None else f"{m} -" for m in AB_METRICS
            )
            lines.append(f"  {side}: {a['partners']} partners, {a['requests']} requests; {vals}")
        for m, d in ab["metrics"].items():
            lines.append(
                f"  {m}: difference {d['difference']:+.4g} [{d['ci_low']:+.4g}, "
                f"{d['ci_high']:+.4g}] (bootstrap over partners)"
            )
        lines.append(f"  always-valid p (engagement per request) = {ab['p_value']:.4g}")
        if ab["needed"]:
            n = ab["needed"]
            lines.append(
                f"  for power {ab['power']:.0%} at a difference of {ab['min_effect']:.4g}: "
                f"{n['partners_per_arm']} partners per arm, {n['partners_more_per_arm']} more "
                f"per arm (~{n['requests_more']} more requests)"
            )
    lines.append(f"  decision: {report_['decision']}")
    return lines
