"""The model card: one self-contained HTML page per model version.

Sections: what the model is and the data it saw (window, counts, code version, checksum),
its metrics next to every baseline and the oracle, the lift over the best baseline and the
share of the oracle gap closed, feature importance, calibration on held-out query pairs,
and per-slice tables (cold-start assets, new partners, each stage, each maturity).
Plots are matplotlib (Agg) PNGs inlined as base64; every piece of text is HTML-escaped.
"""

from __future__ import annotations

import base64
import io
from html import escape
from typing import Any

from recommender.learning.evaluation import METRIC_NAMES, MODEL_ORDER

_STYLE = (
    "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;"
    "padding:0 1em;color:#222}table{border-collapse:collapse;margin:.6em 0 1.2em}"
    "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right;font-size:.9em}"
    "th{background:#f4f4f4;text-align:left}h2{margin-top:1.8em;border-bottom:1px solid #ddd}"
    "img{max-width:100%}.note{color:#555}</style>"
)


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt  # matplotlib loads only when a card is drawn (heavy)

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return (
        '<img alt="plot" src="data:image/png;base64,'
        + base64.b64encode(buf.getvalue()).decode("ascii")
        + '">'
    )


def _plt() -> Any:
    import matplotlib  # loads only when a card is drawn (heavy); Agg: no display needed

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def metrics_plot(models: dict[str, dict[str, float]], k: int) -> str:
    plt = _plt()
    names = [m for m in MODEL_ORDER if m in models]
    metrics = [m.format(k=k) for m in METRIC_NAMES[:4]]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        xs = [j + i * width for j in range(len(metrics))]
        ax.bar(xs, [models[name].get(m, 0.0) for m in metrics], width, label=name)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(metrics))], metrics)
    ax.set_ylabel("score")
    ax.set_title("Held-out window: learned model vs baselines")
    ax.legend(fontsize=7, ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    return _png(fig)


def importance_plot(importance: dict[str, float], top: int = 20) -> str:
    plt = _plt()
    items = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:top][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(items) + 0.8))
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set_xlabel("share of total split gain")
    ax.set_title("Feature importance (gain)")
    return _png(fig)


def calibration_plot(calibration: dict[str, list[float]]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.4, 4))
    pred = [max(p, 1e-6) for p in calibration.get("predicted", [])]
    obs = [max(o, 1e-6) for o in calibration.get("observed", [])]
    lo, hi = min([*pred, *obs]) / 1.5, max([*pred, *obs]) * 1.5
    ax.plot([lo, hi], [lo, hi], linestyle="--", color="grey", linewidth=1)
    ax.plot(pred, obs, marker="o")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("predicted probability of engagement")
    ax.set_ylabel("observed engagement rate")
    ax.set_title("Calibration (held-out query pairs, deciles)")
    return _png(fig)


def slice_plot(slices: dict[str, dict[str, dict[str, float]]], prefix: str, k: int) -> str:
    plt = _plt()
    names = [s for s in slices if s.startswith(prefix)]
    if not names:
        return ""
    key = f"ndcg@{k}"
    models = [m for m in MODEL_ORDER if any(m in slices[s] for s in names)]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / max(len(models), 1)
    for i, m in enumerate(models):
        xs = [j + i * width for j in range(len(names))]
        ax.bar(xs, [slices[s].get(m, {}).get(key, 0.0) for s in names], width, label=m)
    ax.set_xticks(
        [j + 0.4 - width / 2 for j in range(len(names))],
        [s.split("=", 1)[1] for s in names],
        fontsize=8,
    )
    ax.set_ylabel(key)
    ax.set_title(f"{key} per {prefix.rstrip('=')}")
    ax.legend(fontsize=7, ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    return _png(fig)


def _table(models: dict[str, dict[str, float]], k: int) -> str:
    metrics = [m.format(k=k) for m in METRIC_NAMES]
    head = "".join(f"<th>{escape(m)}</th>" for m in metrics)
    rows = []
    for name in [m for m in MODEL_ORDER if m in models] + [
        m for m in models if m not in MODEL_ORDER
    ]:
        cells = "".join(
            f"<td>{models[name][m]:.4f}</td>" if m in models[name] else "<td>-</td>"
            for m in metrics
        )
        rows.append(f"<tr><th>{escape(name)}</th>{cells}</tr>")
    return f"<table><tr><th>model</th>{head}</tr>{''.join(rows)}</table>"


def _kv(data: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in data.items()
    )
    return f"<table>{rows}</table>"


def _off_policy_section(block: dict[str, Any] | None) -> str:
    """The off-policy estimates from the held-out window's logged propensities."""
    if not block:
        return ""
    if not block.get("available"):
        reason = escape(str(block.get("reason")))
        return f"<h2>Off-policy estimates</h2><p class='note'>None: {reason}.</p>"
    rows = []
    for model in MODEL_ORDER:
        est = block["models"].get(model)
        if est is None:
            continue
        ips, snips, dr = est["ips"], est["snips"], est["dr"]
        rows.append(
            f"<tr><th>{escape(model)}</th><td>{ips['value']:.4f} "
            f"[{ips['ci_low']:.3f}, {ips['ci_high']:.3f}]</td><td>{snips['value']:.4f}</td>"
            f"<td>{dr['value']:.4f}</td><td>{ips['ess']:.0f}</td><td>{ips['support']:.2f}</td></tr>"
        )
    theta = ", ".join("-" if t is None else f"{t:.2f}" for t in block["position_bias"]["theta"])
    return (
        "<h2>Off-policy estimates</h2><p class='note'>"
        f"{escape(block['reward'])}, on {block['requests']} requests of the held-out window "
        "that logged propensities: each model's top slate on each of them, estimated from "
        f"what partners did with what was shown (examination per slot from the log: {theta}; "
        f"the logging policy itself: {block['logged_policy_value']:.4f}). Support: the share "
        "of a model's slots the log saw shown on the same request (a lower bound).</p>"
        "<table><tr><th>model</th><th>IPS [95% interval]</th><th>SNIPS</th><th>DR</th>"
        f"<th>ESS</th><th>support</th></tr>{''.join(rows)}</table>"
    )


def _refit_text(refit: dict[str, Any] | None) -> str:
    """How the served model differs from the evaluated one."""
    if not refit:
        return "the evaluated model itself"
    fit, cal = refit.get("fit_window", {}), refit.get("calibration_window", {})
    return (
        f"refit on all data after the evaluation: fit {fit.get('start')} .. {fit.get('end')}, "
        f"calibrated on {cal.get('start')} .. {cal.get('end')} (the metrics below are the "
        "evaluated model's, measured on the held-out window before the refit)"
    )


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):+.1f}%"


def _truth_section(truth: dict[str, Any] | None, k: int) -> str:
    """The metrics against the generator's true utility, first on the card when known."""
    if not truth or not truth.get("models"):
        return ""
    keys = (f"ndcg@{k}", f"recall@{k}")
    head = "".join(f"<th>{escape(key)}</th>" for key in keys)

    def rows(models: dict[str, dict[str, float]]) -> str:
        return "".join(
            f"<tr><th>{escape(m)}</th>"
            + "".join(f"<td>{models[m][key]:.4f}</td>" for key in keys)
            + "</tr>"
            for m in MODEL_ORDER
            if m in models
        )

    summary = truth.get("summary", {})
    parts = [
        "<h2>Against the true utility</h2><p class='note'>The generator knows what every "
        "asset is worth to every deal: each model ranks every eligible asset, and is judged by "
        f"it, free of what the logging policy happened to show. Gain: {escape(truth['gain'])}; "
        f"recall@{k}: of {escape(truth['relevant'])}.</p>",
        f"<table><tr><th>model</th>{head}</tr>{rows(truth['models'])}</table>",
        _kv(
            {
                "best baseline": summary.get("best_baseline"),
                "share of the gap to the oracle closed": _pct(summary.get("gap_closed")),
            }
        ),
    ]
    cold = truth.get("slices", {}).get("cold_start_assets")
    if cold:
        parts.append(
            "<h3>Cold-start assets, against the true utility</h3>"
            f"<table><tr><th>model</th>{head}</tr>{rows(cold)}</table>"
        )
    return "".join(parts)


def _cold_start_text(training: dict[str, Any]) -> str:
    """How the model scores new assets and partners, in a sentence."""
    if training.get("cold_start") == "blend":
        return (
            "It is blended with the playbook prior for assets and partners with little "
            "evidence (weights chosen on the validation window's logged engagement)."
        )
    return (
        "It scores new assets and partners itself, from their content and the deal's context "
        "(it learned from copies of its examples shown as new)."
    )


def render_card(manifest: dict[str, Any], metrics: dict[str, Any], evaluation: Any = None) -> str:
    """The model card of one version as a self-contained HTML page."""
    k = int(metrics.get("k", 10))
    models = metrics.get("models", {})
    slices = metrics.get("slices", {})
    details = manifest.get("evaluation", {})
    summary = details.get("summary", {}) or {}
    window = manifest.get("data_window", {})
    counts = manifest.get("counts", {})
    training = manifest.get("training", {})
    version = manifest.get("version", "(unsaved)")
    calibration = getattr(evaluation, "calibration", None) or details.get("calibration") or {}
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Model card {escape(str(version))}</title>",
        _STYLE,
        "</head><body>",
        f"<h1>Model card: {escape(str(version))}</h1>",
        "<p>A gradient-boosted ranker (LightGBM LambdaRank) over context-asset features and usage "
        f"aggregates. {_cold_start_text(training)} It ranks enablement assets for a partner's "
        "deal context.</p>",
        "<h2>Data and training</h2>",
        _kv(
            {
                "data source": window.get("source"),
                "log window": f"{window.get('start')} .. {window.get('end')}",
                "fit window": f"{window.get('start')} .. {window.get('validation')}",
                "validation window": f"{window.get('validation')} .. {window.get('test')}",
                "held-out (test) window": f"{window.get('test')} .. {window.get('end')}",
                "served model": _refit_text(manifest.get("refit")),
                "events": counts.get("events"),
                "fit examples / groups": (
                    f"{counts.get('fit_examples')} / {counts.get('fit_groups')}"
                ),
                "test queries": counts.get("test_queries"),
                "catalog assets": counts.get("assets"),
                "objective": training.get("objective"),
                "position-aware": training.get("position_aware"),
                "trees / learning rate / leaves": f"{training.get('n_estimators')} / "
                f"{training.get('learning_rate')} / {training.get('num_leaves')}",
                "cold-start blend (strength, w0 new asset, v0 new partner)": (
                    f"{training.get('cold_start_strength')}, {training.get('cold_asset_weight')}, "
                    f"{training.get('new_partner_weight')}"
                ),
                "training seconds": training.get("seconds"),
                "code version": manifest.get("code_version"),
                "model sha256": manifest.get("model_sha256", "(written on save)"),
            }
        ),
        _truth_section(metrics.get("true_utility"), k),
        _off_policy_section(metrics.get("off_policy")),
        "<h2>Logged engagement on the held-out window</h2>",
        "<p class='note'>Biased by exposure: an asset the logging policy never showed cannot "
        "have been opened, so these figures reward ranking what was shown. "
        "Every model ranks the full eligible catalog for each query; "
        "relevance is the query's observed engagement (open 1, download 2, share 3, +1 for a "
        f"won deal). NDCG@{k} uses linear gains; MAP@{k} divides by all relevant items of the "
        "query. Visibility: "
        f"{escape(str(details.get('visibility', 'frozen')))}.</p>",
        _table(models, k),
        _kv(
            {
                "best baseline": summary.get("best_baseline"),
                f"learned NDCG@{k} vs best baseline": _pct(summary.get("lift_over_best")),
                "share of the gap to the oracle closed": _pct(summary.get("gap_closed")),
            }
        ),
        metrics_plot(models, k) if models else "",
        "<h2>Feature importance</h2>",
        importance_plot(manifest.get("feature_importance", {}))
        if manifest.get("feature_importance")
        else "",
        "<h2>Calibration</h2>",
        "<p class='note'>Predicted probability that the context engages with the asset (the "
        "blended, calibrated score) against the observed rate, in deciles of the held-out "
        "(query, eligible asset) pairs.</p>",
        calibration_plot(calibration)
        if calibration.get("predicted")
        else "<p>(no impressions held out)</p>",
        "<h2>Slices</h2>",
    ]
    for name in [s for s in slices if not s.startswith(("stage=", "maturity="))]:
        n = details.get("slice_queries", {}).get(name)
        parts.append(f"<h3>{escape(name)} ({escape(str(n))} queries)</h3>")
        parts.append(_table(slices[name], k))
    for prefix, title in (("stage=", "Per stage"), ("maturity=", "Per maturity")):
        names = [s for s in slices if s.startswith(prefix)]
        if not names:
            continue
        parts.append(f"<h3>{title}</h3>")
        parts.append(slice_plot(slices, prefix, k))
        key = f"ndcg@{k}"
        cols = [m for m in MODEL_ORDER if any(m in slices[s] for s in names)]
        head = "".join(f"<th>{escape(c)}</th>" for c in cols)
        rows = []
        for s in names:
            n = details.get("slice_queries", {}).get(s)
            cells = "".join(
                f"<td>{slices[s][c][key]:.4f}</td>" if c in slices[s] else "<td>-</td>"
                for c in cols
            )
            rows.append(f"<tr><th>{escape(s.split('=', 1)[1])} ({escape(str(n))})</th>{cells}</tr>")
        parts.append(f"<p class='note'>{escape(key)} by slice (queries in brackets)</p>")
        parts.append(f"<table><tr><th>slice</th>{head}</tr>{''.join(rows)}</table>")
    parts.append("<h2>Features</h2><p>" + escape(", ".join(manifest.get("features", []))) + "</p>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)
