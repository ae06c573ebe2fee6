"""`recommender digest`: digests of relevant, unopened assets for a manager's partners or one
partner, as HTML, Markdown or JSON, ready to paste into an e-mail or a portal's news feed.

    recommender digest --manager "Olena Kovalenko" --format html --out digest.html
    recommender digest --partner P0002 --format md [--since 2026-11-01] [--n 5] [--dry-run]

Works on the workspace's files (no service needed), through the engine's own digests
(`recommender.outreach.digests`), the same the console's Digests page makes. Each digest is
recorded as sent (audited under the CLI user), so that the next one does not repeat it;
`--dry-run` records nothing. Links go through the service's tracked links
(`{--base-url}/r/{token}`, signed with the workspace's link key): following one records an
open and redirects to the asset.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, date, datetime, time
from pathlib import Path

from cli.common import command, say, workspace_of


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-11-01") from None


def _args(p: argparse.ArgumentParser) -> None:
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--manager", help="every partner this channel manager looks after")
    who.add_argument("--partner", help="one partner id")
    p.add_argument("--format", choices=["html", "md", "json"], default="md")
    p.add_argument("--since", type=_day, default=None,
                   help="assets published on or after this day come first "
                   "(default: since each partner's last digest)")  # fmt: skip
    p.add_argument("--n", type=int, default=5, help="assets per partner (default 5)")
    p.add_argument("--out", type=Path, default=None, help="write here instead of stdout")
    p.add_argument(
        "--base-url",
        default=os.environ.get("RECO_PUBLIC_URL") or "http://127.0.0.1:8000",
        help="the service's address partners reach, for tracked links "
        "(default: $RECO_PUBLIC_URL, else http://127.0.0.1:8000)",
    )
    p.add_argument("--dry-run", action="store_true", help="show them; record nothing")


@command("digest", "digests of relevant assets partners have not opened (html, md, json)", _args)
def _digest(args: argparse.Namespace) -> int:
    import sys

    from recommender import (
        DigestStore,
        LinkSigner,
        build_digests,
        build_snapshot,
        link_key,
        manager_names,
        open_journal,
        partners_of,
        record_digests,
        render_digests,
    )

    if not 1 <= args.n <= 50:
        raise ValueError(f"--n {args.n} must be between 1 and 50")
    ws = workspace_of(args)
    if not ws.has_catalog():
        raise FileNotFoundError(f"no catalog in {ws.root}: run `recommender demo` or ingest first")
    snapshot = build_snapshot(ws)
    if args.partner is not None:
        partner = snapshot.partners.get(args.partner)
        if partner is None:
            raise LookupError(f"partner {args.partner!r} is not in the partner table")
        partners = [partner]
    else:
        partners = partners_of(snapshot.partners, args.manager)
        if not partners:
            known = manager_names(snapshot.partners)
            raise LookupError(
                f"no partner has manager {args.manager!r}; managers in the partner table: "
                f"{', '.join(known) or 'none (import partners with a manager column)'}"
            )
    since = datetime.combine(args.since, time.min, tzinfo=UTC) if args.since else None
    signer = LinkSigner(link_key(ws))
    with open_journal(ws) as journal, DigestStore(ws.console_location) as store:
        digests = build_digests(
            snapshot, partners, store, journal.seen_assets, since=since, n=args.n,
            signer=signer, base_url=args.base_url,
        )  # fmt: skip
        text = render_digests(digests, args.format)
        if not args.dry_run:
            actor = f"cli:{os.environ.get('USER', 'unknown')}"
            record_digests(store, digests, actor=actor, fmt=args.format)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    sent = sum(len(d.items) for d in digests)
    what = "shown, not recorded" if args.dry_run else "recorded as sent"
    note = f"{len(digests)} digests, {sent} assets ({what})"
    if args.out is not None:
        say(f"{note}; written to {args.out}")
    else:
        print(note, file=sys.stderr, flush=True)
    return 0
