"""What every `recommender` subcommand shares: the command registry, the workspace the global
options name, and plain output.

Every subcommand takes `--workspace` (default: data/ in the current folder, or
$RECO_WORKSPACE) and reports problems as one clear message and exit status 2, never a
traceback (`cli.main.main`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from recommender import DEFAULT_ROOT, Workspace

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Handler, str]] = {}


def command(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] | None = None
) -> Callable[[Handler], Handler]:
    """Register the decorated handler as subcommand `name`; `arguments` adds its options."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = (arguments or (lambda _p: None), handler, help)
        return handler

    return register


def workspace_of(args: argparse.Namespace) -> Workspace:
    """The workspace named by --workspace / $RECO_WORKSPACE (models: --models / $RECO_MODELS;
    the event journal in PostgreSQL: $RECO_DATABASE_URL)."""
    root = args.workspace or os.environ.get("RECO_WORKSPACE") or DEFAULT_ROOT
    return Workspace.at(
        root,
        getattr(args, "models", None) or os.environ.get("RECO_MODELS"),
        embed_cache=os.environ.get("RECO_EMBED_CACHE") or None,
        database_url=os.environ.get("RECO_DATABASE_URL") or None,
    )


def say(msg: str = "") -> None:
    """One line of the command's output, flushed (commands often run under a pipe or a log)."""
    print(msg, flush=True)
