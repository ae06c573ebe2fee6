"""`recommender db`: the schema of the shared PostgreSQL store ($RECO_DATABASE_URL).

A PostgreSQL database is upgraded only by `recommender db upgrade`: each service replica and
command checks the schema when it opens the database, and says so when it is behind. The
embedded SQLite files need no step: they bring their own schema up to date when opened.
`import-sqlite` copies an embedded workspace (events.sqlite and console.sqlite, e.g. the
demo's) into the database.
"""

from __future__ import annotations

import argparse
import os

from cli.common import command, say, workspace_of


def _args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    for name, text in (
        ("upgrade", "apply the pending schema migrations, in order (safe to run twice)"),
        ("status", "show the schema's migration and what is pending (exit status 1 if behind)"),
    ):
        sp = sub.add_parser(name, help=text, description=text)
        sp.add_argument(
            "--url", default=None, help="postgresql://... (default: $RECO_DATABASE_URL)"
        )
    text = (
        "copy the workspace's events.sqlite and console.sqlite into the database (rows "
        "already there are skipped: safe to run again)"
    )
    sp = sub.add_parser("import-sqlite", help=text, description=text)
    sp.add_argument("--url", default=None, help="postgresql://... (default: $RECO_DATABASE_URL)")


@command("db", "the shared PostgreSQL store: schema upgrade and status, import-sqlite", _args)
def _db(args: argparse.Namespace) -> int:
    from recommender import (
        connect_database,
        database_schema_status,
        import_sqlite_workspace,
        upgrade_database,
    )

    url = args.url or os.environ.get("RECO_DATABASE_URL")
    if not url:
        raise ValueError(
            "no database named: set RECO_DATABASE_URL=postgresql://user@host/db or pass --url "
            "(the default SQLite files upgrade themselves when opened)"
        )
    if args.action == "import-sqlite":
        ws = workspace_of(args)
        if not ws.events_path.exists() and not ws.console_path.exists():
            raise FileNotFoundError(f"{ws.root} holds neither events.sqlite nor console.sqlite")
        added = import_sqlite_workspace(ws.events_path, ws.console_path, url, stage_dir=ws.root)
        copied = ", ".join(f"{table} {n}" for table, n in added.items()) or "nothing"
        say(f"copied from {ws.root} (new rows: {copied})")
        return 0
    pool = connect_database(url, max_size=1, name="reco-db")
    try:
        if args.action == "upgrade":
            applied = upgrade_database(pool, on_applied=lambda m: say(f"applied {m.file}"))
            status = database_schema_status(pool)
            say(status.describe() if applied else f"nothing to do: {status.describe()}")
            return 0
        status = database_schema_status(pool)
        say(status.describe())
        return 0 if status.up_to_date else 1
    finally:
        pool.close()
