"""`recommender serve` and `recommender keys ...`: run the HTTP service and manage its API keys.

The core never imports the service: `serve` hands uvicorn the import string
"service.app:create_app" and passes the configuration through `RECO_*` environment variables,
which every worker process reads into `service.config.Settings`.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from cli.common import command, say, workspace_of


# --- serve ------------------------------------------------------------------------------------
def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=os.environ.get("RECO_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("RECO_PORT", "8000")))
    p.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("RECO_WORKERS", "1")),
        help="worker processes (each loads its own snapshot; 2 suits a 2-core machine)",
    )
    p.add_argument(
        "--log-level",
        default=os.environ.get("RECO_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
    )
    p.add_argument(
        "--no-demo-keys",
        action="store_true",
        help="do not create demo keys in a workspace that has no key yet",
    )


@command("serve", "serve the HTTP API (and the console) on the workspace", _serve_args)
def _serve(args: argparse.Namespace) -> int:
    from recommender import DEFAULT_ROOT, demo_keys_path, ensure_demo_keys

    if args.workers < 1:
        raise ValueError(f"--workers={args.workers} must be at least 1")
    ws = workspace_of(args)
    if ws.database_url:
        _check_database(ws.database_url)
    if not ws.has_catalog():
        if ws.root != DEFAULT_ROOT.resolve() or ws.database_url:
            raise FileNotFoundError(
                f"no catalog in {ws.catalog_dir}: run `recommender --workspace {ws.root} demo` "
                "or `recommender ingest PATH` first"
            )
        from demo.workspace import build_demo_workspace

        say(f"no catalog in {ws.catalog_dir} yet: building the demo workspace first")
        for line in build_demo_workspace(ws):
            say(line)

    shown_before = demo_keys_path(ws).exists()
    keys = {} if args.no_demo_keys else ensure_demo_keys(ws)
    base = f"http://{args.host}:{args.port}"
    say(f"serving workspace {ws.root} (models: {ws.models_dir})")
    say(f"API: {base}   docs: {base}/docs   metrics: {base}/metrics")
    if keys and shown_before:
        # Printed once, when they were made: stdout is often a log (journald, docker logs).
        say(f"demo API keys: in {demo_keys_path(ws)} (readable by its owner only)")
    elif keys:
        say(f"demo API keys (also in {demo_keys_path(ws)}):")
        for scope in ("portal", "manager", "admin"):
            if scope in keys:
                say(f"  {scope:<8} {keys[scope]}")
        portal = keys.get("portal", "...")
        say(
            f"try: curl -s -X POST {base}/v1/recommendations -H 'X-API-Key: {portal}' "
            "-H 'Content-Type: application/json' "
            '-d \'{"partner_id": "P0001", "context": {"stage": "negotiation"}, "n": 3}\''
        )
    else:
        say("no demo keys to show: create one with `recommender keys create --scope portal`")

    env = os.environ
    env["RECO_WORKSPACE"] = str(ws.root)
    env["RECO_MODELS_DIR"] = str(ws.models_dir)
    env["RECO_HOST"], env["RECO_PORT"] = args.host, str(args.port)
    env["RECO_WORKERS"] = str(args.workers)
    env["RECO_LOG_LEVEL"] = args.log_level
    from service.runtime.http_protocol import PROTOCOL
    from service.runtime.process import worker_environment
    from service.runtime.workers import reuse_port_supported, serve_workers

    worker_environment(env, workers=args.workers)

    config: dict[str, Any] = {
        "app": "service.app:create_app",
        "factory": True,
        # uvicorn's HTTP protocol with TCP_NODELAY: with several workers it is otherwise off
        # and a kept-alive connection's every request waits ~40 ms
        # (service/runtime/http_protocol.py).
        # The event loop is uvicorn's "auto": uvloop when installed.
        "http": PROTOCOL,
        "log_level": args.log_level,
        "access_log": False,  # the service logs every request itself, with its request id
        "timeout_graceful_shutdown": 15,
    }
    if args.workers > 1 and reuse_port_supported():
        # One listening socket per worker, so that connections spread evenly over the
        # workers (service/runtime/workers.py): uvicorn's shared socket left one doing most work.
        return serve_workers(config, host=args.host, port=args.port, workers=args.workers)
    import uvicorn

    uvicorn.run(**config, host=args.host, port=args.port, workers=args.workers)
    return 0


def _check_database(url: str) -> None:
    """Refuse to serve on a shared database whose schema is not this code's (every worker
    would fail at start), with what to run."""
    from recommender import connect_database, database_schema_status

    pool = connect_database(url, max_size=1, name="reco-serve")
    try:
        status = database_schema_status(pool)
    finally:
        pool.close()
    if not status.up_to_date:
        raise RuntimeError(status.describe())


# --- keys -------------------------------------------------------------------------------------
def _keys_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="keys_command", required=True)
    create = sub.add_parser("create", help="create a key and print it (once)")
    create.add_argument("--scope", required=True, choices=["portal", "manager", "admin"])
    create.add_argument("--name", default="unnamed", help="who or what will use the key")
    listing = sub.add_parser("list", help="list keys (ids, scopes, names; never the keys)")
    listing.add_argument("--active", action="store_true", help="hide revoked keys")
    revoke = sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", help="the 12-hex-digit id shown by `keys list`")


@command("keys", "manage the service's API keys: create, list, revoke", _keys_args)
def _keys(args: argparse.Namespace) -> int:
    from recommender import create_key, key_id_of, list_keys
    from recommender import revoke_key as revoke

    ws = workspace_of(args).ensure()
    actor = f"cli:{os.environ.get('USER', 'unknown')}"
    if args.keys_command == "create":
        key = create_key(ws, args.scope, args.name, actor=actor)
        say(key)
        say(
            f"# key id {key_id_of(key)}, scope {args.scope}, name {args.name!r}: "
            "store it now, it is not shown again"
        )
        return 0
    if args.keys_command == "list":
        keys = list_keys(ws, include_revoked=not args.active)
        if not keys:
            say("no keys")
            return 0
        say(f"{'key id':<14}{'scope':<9}{'created':<27}{'revoked':<27}name")
        for k in keys:
            say(f"{k.key_id:<14}{k.scope:<9}{k.created_at:<27}{k.revoked_at or '-':<27}{k.name}")
        return 0
    if not revoke(ws, args.key_id, actor=actor):
        raise LookupError(f"no active key with id {args.key_id!r}; see `recommender keys list`")
    say(f"revoked key {args.key_id}")
    return 0
