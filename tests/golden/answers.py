"""Golden answers: the top 10 of 200 fixed requests on the demo workspace, kept as a test.

The requests are 100 deal contexts drawn (seeded) from the demo generator's deals and the demo
partners, each asked with its notes and without them; every request is answered twice, by the
playbook scorer (no model) and by a small trained model committed beside this file
(`model.json`, trained once by `record` on the same workspace). An answer is the asset ids in
order with their scores to 6 decimals.

    .venv/bin/python -m tests.golden.answers --record   # rewrite answers.json (and the model)

Record only when a change of behaviour is intended, and say so in the commit: the test's
whole point is that a refactoring changes no answer.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from demo.workspace import build_demo_workspace
from recommender.embedding.embedders import get_embedder
from recommender.ranking.build import build_snapshot
from recommender.ranking.recommender import Recommender
from recommender.storage.registry import Registry
from recommender.storage.usage import read_journal
from recommender.types import DealContext, Filters
from recommender.workspace import Workspace

HERE = Path(__file__).resolve().parent
ANSWERS = HERE / "answers.json"
MODEL = HERE / "model.json"
MODEL_MANIFEST = HERE / "model-manifest.json"
# The demo log, kept small: the same world the training tests use.
N_DEALS = 300
N_EVENTS = 30_000
SEED = 7
# Requests are dated after the generated year (2025), so usage sees the whole log.
NOW = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
N_CONTEXTS = 100


def build_workspace(root: Path, *, embed_cache: Path | None = None) -> Workspace:
    """The demo catalog, partners, playbook and a seeded 30k-event log in `root`: the closed
    loop in one round, so the playbook served the whole log (a log served by models the loop
    trained would hang on LightGBM's arithmetic being the same on every machine)."""
    ws = Workspace.at(root, embed_cache=embed_cache)
    build_demo_workspace(
        ws, n_deals=N_DEALS, n_events=N_EVENTS, rounds=1, regenerate=True, progress=False
    )
    return ws


def golden_requests(ws: Workspace) -> list[dict[str, Any]]:
    """200 requests: 100 seeded contexts from the workspace's deals, with and without notes.

    Some carry filters, an inline partner profile, or assets the partner has seen."""
    deals = pd.read_parquet(ws.deals_path).sort_values("deal_id").reset_index(drop=True)
    events = read_journal(ws)
    engaged = events[events["type"].isin(["open", "download", "share"])]
    seen_by_partner = engaged.groupby("partner_id")["asset_id"].agg(lambda a: sorted(set(a)))
    rng = np.random.default_rng(20261206)
    rows = rng.choice(len(deals), N_CONTEXTS, replace=False)
    stages = ["prospecting", "qualification", "discovery", "solution", "negotiation", "closing"]
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows.tolist()):
        deal = deals.iloc[row]

        def listed(name: str, deal: pd.Series = deal) -> list[str]:
            value = deal.get(name)
            return [str(v) for v in value] if value is not None and len(value) else []

        context: dict[str, Any] = {
            "stage": str(deal["stage"]) if i % 3 else stages[i % len(stages)],
            "industry": None if pd.isna(deal.get("industry")) else str(deal["industry"]),
            "products": listed("products"),
            "competitors": listed("competitors"),
            "buyer_role": None if pd.isna(deal.get("buyer_role")) else str(deal["buyer_role"]),
            "language": None if pd.isna(deal.get("language")) else str(deal["language"]),
            "deal_id": str(deal["deal_id"]) if i % 4 else None,
        }
        request: dict[str, Any] = {"partner_id": str(deal["partner_id"]), "n": 10}
        if i % 10 == 3:
            request["filters"] = {"types": ["case_study", "white_paper", "battlecard"]}
        if i % 10 == 5:
            request["filters"] = {"languages": [context["language"] or "en"]}
        if i % 10 == 7:
            request["partner"] = {"maturity": "strategic", "languages": ["en"]}
        if i % 10 == 9:
            request["seen"] = list(seen_by_partner.get(request["partner_id"], []))
            request["exclude_seen"] = i % 20 == 9
        notes = deal.get("notes")
        for with_notes in (True, False):
            ctx = dict(context, notes=str(notes) if with_notes and isinstance(notes, str) else None)
            out.append({**request, "context": ctx})
    return out


def _answer(engine: Recommender, request: dict[str, Any]) -> dict[str, Any]:
    c = request["context"]
    context = DealContext(
        stage=c["stage"],
        industry=c["industry"],
        products=tuple(c["products"]),
        competitors=tuple(c["competitors"]),
        buyer_role=c["buyer_role"],
        notes=c["notes"],
        language=c["language"],
        deal_id=c["deal_id"],
    )
    partner = engine.resolve_partner(request["partner_id"], request.get("partner"))
    raw = request.get("filters", {})
    filters = Filters(
        types=tuple(raw.get("types", ())),
        languages=tuple(raw.get("languages", ())),
        exclude_seen=bool(request.get("exclude_seen", False)),
    )
    result = engine.recommend(
        context,
        partner,
        n=request["n"],
        filters=filters,
        seen=frozenset(request.get("seen", ())),
        now=NOW,
    )
    return {
        "model_version": result.model_version,
        "items": [[item.asset_id, round(float(item.score), 6)] for item in result.items],
    }


def install_model(ws: Workspace) -> str:
    """Put the committed model into the workspace's registry and promote it."""
    manifest = json.loads(MODEL_MANIFEST.read_text(encoding="utf-8"))
    registry = Registry.of(ws)
    version = registry.save(MODEL.read_bytes(), manifest, now=datetime(2026, 1, 1, tzinfo=UTC))
    registry.promote(version.name)
    return version.name


def answer_all(ws: Workspace, requests: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each request's answer by the playbook scorer and by the promoted committed model."""
    embedder = get_embedder("e5")
    playbook = Recommender(build_snapshot(ws, embedder=embedder, use_model=False))
    learned = Recommender(build_snapshot(ws, embedder=embedder, model_version=install_model(ws)))
    return {
        "playbook": [_answer(playbook, r) for r in requests],
        "learned": [_answer(learned, r) for r in requests],
    }


def record(root: Path) -> None:
    """Train the small model, then write the requests and both scorers' answers."""
    from recommender.learning.train import TrainConfig, train

    ws = build_workspace(root)
    result = train(ws, config=TrainConfig(n_estimators=40, progress=False), save=False)
    MODEL.write_bytes(result.scorer.to_json())
    manifest = {k: result.manifest[k] for k in ("features", "usage", "embedder_id", "returns")}
    MODEL_MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    requests = golden_requests(ws)
    answers = answer_all(ws, requests)
    doc = {"now": NOW.isoformat(), "requests": requests, "answers": answers}
    ANSWERS.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="rewrite answers.json and the model")
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/golden-ws"))
    args = parser.parse_args()
    if not args.record:
        parser.error("nothing to do; pass --record to rewrite the golden answers")
    record(args.workspace)


if __name__ == "__main__":
    main()
