"""Subcommands for the catalog and what it recommends: `demo`, `ingest`, `recommend`."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.common import command, say, workspace_of
from features.schema import BuyerRole, Language, Stage, values


# --- demo -------------------------------------------------------------------------------------
def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--generate", action="store_true", help="(re)generate deals and usage logs")
    p.add_argument("--no-events", action="store_true", help="build catalog and index only")
    p.add_argument("--preset", default="default", help="generator configuration: default or second")
    p.add_argument("--seed", type=int, default=None, help="another seed than the preset's")
    p.add_argument("--variant", default=None, help="generator variant (truth): default or alt")
    p.add_argument(
        "--rounds", type=int, default=None, help="closed-loop periods, each retrained and promoted"
    )
    p.add_argument("--assets", type=int, default=None, help="synthesize this many assets")
    p.add_argument("--partners", type=int, default=None, help="synthesize this many partners")
    p.add_argument("--deals", type=int, default=3000)
    p.add_argument("--events", type=int, default=200_000, help="approximate number of events")
    p.add_argument("--out", type=Path, default=None, help="write generated parquet files here")


@command(
    "demo", "build the demo workspace: catalog, index, partners, playbook, usage logs", _demo_args
)
def _demo(args: argparse.Namespace) -> int:
    from demo.workspace import build_demo_workspace

    ws = workspace_of(args)
    if ws.database_url:
        # The closed loop writes, rewinds and retrains on its own journal; a shared database
        # is append-only and may already serve a portal.
        raise ValueError(
            "`recommender demo` builds an embedded (SQLite) workspace: run it without "
            "RECO_DATABASE_URL, then copy its events and console into the database with "
            "`recommender db import-sqlite`"
        )
    report = build_demo_workspace(
        ws,
        events=not args.no_events,
        regenerate=args.generate,
        preset=args.preset,
        seed=args.seed,
        variant=args.variant,
        rounds=args.rounds,
        n_assets=args.assets,
        n_partners=args.partners,
        n_deals=args.deals,
        n_events=args.events,
        out=args.out,
    )
    for line in report:
        say(line)
    return 0


# --- ingest -----------------------------------------------------------------------------------
def _ingest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, help="asset tables and/or document folders")
    p.add_argument(
        "--replace", action="store_true", help="replace the catalog instead of upserting"
    )
    p.add_argument("--embedder", default=os.environ.get("RECO_EMBEDDER", "e5"))
    p.add_argument(
        "--near-duplicate-threshold",
        type=float,
        default=None,
        metavar="R",
        help="text resemblance (0-1, default 0.7) from which two assets are near-duplicates",
    )


@command("ingest", "ingest assets (JSONL, CSV, Parquet) or a folder of documents", _ingest_args)
def _ingest(args: argparse.Namespace) -> int:
    from recommender import SimilarityOptions, get_embedder, ingest

    ws = workspace_of(args).ensure()
    similarity = (
        SimilarityOptions(near_duplicate=args.near_duplicate_threshold)
        if args.near_duplicate_threshold is not None
        else None
    )
    report = ingest(
        ws,
        args.paths,
        embedder=get_embedder(args.embedder),
        replace=args.replace,
        similarity=similarity,
    )
    say(
        f"ingested {report.assets} assets ({report.chunks} chunks; {report.embedded} embedded, "
        f"{report.cached} from cache) in {report.seconds:.1f} s into {ws.catalog_dir}"
    )
    for line in report.documents:
        say(f"  {line}")
    for line in report.warnings:
        say(f"  warning: {line}")
    _say_pairs(
        report.near_duplicates,
        "near-duplicate pair(s): a list shows one of each",
        "resemblance",
    )
    _say_pairs(
        report.family_proposals,
        "proposed famil(ies): likely translations; give both one family_id to join them",
        "margin",
    )
    if len(report.similar):
        say(f"  all pairs: {ws.similar_path}")
    return 0


def _say_pairs(pairs: Any, what: str, score: str, shown: int = 20) -> None:
    """One line per pair of `pairs` (asset_a, asset_b, score, cosine), the first `shown`."""
    if not len(pairs):
        return
    say(f"{len(pairs)} {what}")
    for row in pairs.head(shown).itertuples(index=False):
        say(f"  {row.asset_a} ~ {row.asset_b}: {score} {row.score:.3f}, cosine {row.cosine:.3f}")
    if len(pairs) > shown:
        say(f"  ... and {len(pairs) - shown} more")


# --- recommend --------------------------------------------------------------------------------
def _recommend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--partner", required=True, help="partner id")
    p.add_argument("--stage", required=True, choices=values(Stage))
    p.add_argument("--industry")
    p.add_argument("--product", action="append", default=[], help="repeat for several")
    p.add_argument("--competitor", action="append", default=[])
    p.add_argument("--buyer-role", choices=values(BuyerRole))
    p.add_argument("--notes")
    p.add_argument("--language", choices=values(Language))
    p.add_argument("--type", action="append", default=[], help="only these asset types")
    p.add_argument("-n", type=int, default=10)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--embedder", default=os.environ.get("RECO_EMBEDDER", "e5"))


@command("recommend", "print the top-N assets for a partner and a deal", _recommend_args)
def _recommend(args: argparse.Namespace) -> int:
    from recommender import DealContext, Filters, get_embedder, open_recommender

    ws = workspace_of(args)
    engine = open_recommender(ws, embedder=get_embedder(args.embedder))
    partner = engine.resolve_partner(args.partner)
    context = DealContext(
        stage=args.stage,
        industry=args.industry,
        products=tuple(args.product),
        competitors=tuple(args.competitor),
        buyer_role=args.buyer_role,
        notes=args.notes,
        language=args.language,
    )
    result = engine.recommend(context, partner, n=args.n, filters=Filters(types=tuple(args.type)))
    if args.json:
        payload = {
            "request_id": result.request_id,
            "model_version": result.model_version,
            "items": [item.to_dict(reasons_as_text=True) for item in result.items],
        }
        say(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print_recommendation(result)
    return 0


def print_recommendation(result: Any) -> None:
    p = result.partner
    ctx = result.context
    say(
        f"Partner {p.partner_id} {p.name or ''} ({p.tier}, {p.maturity}; languages "
        f"{', '.join(p.languages) or '-'}), stage {ctx.stage}"
        + (f", industry {ctx.industry}" if ctx.industry else "")
        + (f", notes: {ctx.notes!r}" if ctx.notes else "")
    )
    say(
        f"model {result.model_version}, {result.candidates} candidates, request {result.request_id}"
    )
    for rank, item in enumerate(result.items, 1):
        say(
            f"{rank:>2}. [{item.score:.3f}] {item.title}  "
            f"({item.type}, {item.language}, {item.asset_id})"
        )
        for reason in item.reasons:
            say(f"      - {reason.text}")


# --- partners and deals -----------------------------------------------------------------------
def _table_args(noun: str, key: str) -> Callable[[argparse.ArgumentParser], None]:
    def arguments(p: argparse.ArgumentParser) -> None:
        sub = p.add_subparsers(dest="action", required=True)
        imp = sub.add_parser(
            "import",
            help=f"import {noun} from a CSV, JSONL or Parquet file (a CRM export): validated, all "
            f"or nothing, upserted by {key}",
        )
        imp.add_argument("file", type=Path)
        imp.add_argument(
            "--replace", action="store_true", help=f"make the stored {noun} exactly the file's"
        )

    return arguments


@command("partners", "import partner profiles", _table_args("partners", "partner_id"))
def _partners(args: argparse.Namespace) -> int:
    from recommender import import_partners

    ws = workspace_of(args).ensure()
    say(import_partners(ws, args.file, replace=args.replace).summary("partners"))
    return 0


@command(
    "deals", "import deals (what recommendation requests describe)", _table_args("deals", "deal_id")
)
def _deals(args: argparse.Namespace) -> int:
    from recommender import import_deals, load_partners

    ws = workspace_of(args)
    known = set(load_partners(ws))
    if not known:
        raise FileNotFoundError(
            f"no partner table at {ws.partners_path}; import partners first "
            "(`recommender partners import FILE`) so deal partner ids can be checked"
        )
    say(
        import_deals(ws.ensure(), args.file, known_partners=known, replace=args.replace).summary(
            "deals"
        )
    )
    return 0
