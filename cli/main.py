"""The `recommender` command: one parser over the subcommands of cli.catalog, cli.learning
and cli.service; problems are one message on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cli import (  # noqa: F401  (each registers its commands)
    catalog,
    database,
    experiments,
    learning,
    outreach,
    service,
)
from cli.common import COMMANDS
from features.validation import SchemaError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recommender", description="Content recommendations for sales and partner enablement."
    )
    parser.add_argument(
        "--workspace", type=Path, default=None, help="workspace folder (default: data/)"
    )
    parser.add_argument(
        "--models", type=Path, default=None, help="model registry folder (default: models/)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (build, _handler, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        build(sp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _, handler, _ = COMMANDS[args.command]
    started = time.perf_counter()
    try:
        return handler(args)
    except SchemaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, LookupError, RuntimeError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted after {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
