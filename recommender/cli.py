"""The `recommender` command.

Every subcommand takes `--workspace` (default: the project's data/ folder, or $RECO_WORKSPACE)
and reports problems as one clear message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from features.schema import BuyerRole, Language, Stage, values
from features.validation import SchemaError

Handler = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Handler, str]] = {}


def command(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] | None = None
) -> Callable[[Handler], Handler]:
    """Register the decorated handler as subcommand `name`; `arguments` adds its options."""

    def register(handler: Handler) -> Handler:
        _COMMANDS[name] = (arguments or (lambda _p: None), handler, help)
        return handler

    return register


def workspace_of(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from recommender.workspace import DEFAULT_ROOT, Workspace

    root = args.workspace or os.environ.get("RECO_WORKSPACE") or DEFAULT_ROOT
    return Workspace.at(
        root,
        getattr(args, "models", None) or os.environ.get("RECO_MODELS"),
        embed_cache=os.environ.get("RECO_EMBED_CACHE") or None,
    )


def _print(msg: str = "") -> None:
    print(msg, flush=True)


# --- demo -------------------------------------------------------------------------------------
def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--generate", action="store_true", help="(re)generate deals and usage logs")
    p.add_argument("--no-events", action="store_true", help="build catalog and index only")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--variant", default="default", help="generator variant: default or alt")
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
    report = build_demo_workspace(
        ws,
        events=not args.no_events,
        regenerate=args.generate,
        seed=args.seed,
        variant=args.variant,
        n_assets=args.assets,
        n_partners=args.partners,
        n_deals=args.deals,
        n_events=args.events,
        out=args.out,
    )
    for line in report:
        _print(line)
    return 0


# --- ingest -----------------------------------------------------------------------------------
def _ingest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, help="asset tables and/or document folders")
    p.add_argument(
        "--replace", action="store_true", help="replace the catalog instead of upserting"
    )
    p.add_argument("--embedder", default=os.environ.get("RECO_EMBEDDER", "e5"))


@command("ingest", "ingest assets (JSONL, CSV, Parquet) or a folder of documents", _ingest_args)
def _ingest(args: argparse.Namespace) -> int:
    from recommender.catalog.ingest import ingest
    from recommender.embedding.embedders import get_embedder

    ws = workspace_of(args).ensure()
    report = ingest(ws, args.paths, embedder=get_embedder(args.embedder), replace=args.replace)
    _print(
        f"ingested {report.assets} assets ({report.chunks} chunks; {report.embedded} embedded, "
        f"{report.cached} from cache) in {report.seconds:.1f} s into {ws.catalog_dir}"
    )
    return 0


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
    from recommender.embedding.embedders import get_embedder
    from recommender.ranking.build import open_recommender
    from recommender.types import DealContext, Filters

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
        _print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print_recommendation(result)
    return 0


def print_recommendation(result: Any) -> None:
    p = result.partner
    ctx = result.context
    _print(
        f"Partner {p.partner_id} {p.name or ''} ({p.tier}, {p.maturity}; languages "
        f"{', '.join(p.languages) or '-'}), stage {ctx.stage}"
        + (f", industry {ctx.industry}" if ctx.industry else "")
        + (f", notes: {ctx.notes!r}" if ctx.notes else "")
    )
    _print(
        f"model {result.model_version}, {result.candidates} candidates, request {result.request_id}"
    )
    for rank, item in enumerate(result.items, 1):
        _print(
            f"{rank:>2}. [{item.score:.3f}] {item.title}  "
            f"({item.type}, {item.language}, {item.asset_id})"
        )
        for reason in item.reasons:
            _print(f"      - {reason.text}")


def build_parser() -> argparse.ArgumentParser:
    # Commands defined in other modules register themselves on import.
    for module in ("recommender.cli_learning", "recommender.cli_service"):
        try:
            __import__(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    parser = argparse.ArgumentParser(prog="recommender", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workspace", type=Path, default=None, help="workspace folder (default: data/)"
    )
    parser.add_argument(
        "--models", type=Path, default=None, help="model registry folder (default: models/)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (build, _handler, help_text) in _COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        build(sp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _, handler, _ = _COMMANDS[args.command]
    started = time.perf_counter()
    try:
        return handler(args)
    except SchemaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, LookupError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted after {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # Run through the importable module, so that commands registered by other modules
    # (which import `recommender.cli`, not `__main__`) are found.
    from recommender.cli import main as _main

    sys.exit(_main())
