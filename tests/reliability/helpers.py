"""Helpers for the reliability tests: a real server process we can configure, kill and restart,
and digests of what the workspace stores.

The server is started the way a user starts it (`recommender serve`, one uvicorn worker in the
process itself, so SIGKILL to that pid kills the server with no chance to clean up), on a free
loopback port, with its stdout and stderr captured in one log file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from recommender.workspace import Workspace
from tests.service.helpers import free_port
from tests.support import PROJECT_ROOT

CLI = "import sys; from cli import main; sys.exit(main())"


@dataclass
class Server:
    """A running `recommender serve` process (see `start`)."""

    url: str
    keys: dict[str, str]
    process: subprocess.Popen[bytes]
    workspace: Workspace
    log: Path

    def headers(self, scope: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[scope]}

    def client(self, scope: str | None = None, **kw: Any) -> httpx.Client:
        headers = self.headers(scope) if scope else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=kw.pop("timeout", 60), **kw)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start(
    ws: Workspace,
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    log_level: str = "warning",
    workers: int = 1,
    timeout: float = 180,
) -> Server:
    """Start `recommender serve` on `ws` and return once /readyz says ready.

    `env` adds RECO_* settings (the rate limiter is off unless `env` turns it on); the log
    file is appended to, so a restart on the same path keeps the first run's lines.
    """
    port = free_port()
    full_env = {
        **os.environ,
        "RECO_RATE_LIMIT_PER_SECOND": "0",
        "RECO_EMBEDDER_THREADS": "1",  # the machine is shared: one engine thread per server
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    cmd = [
        sys.executable, "-c", CLI, "--workspace", str(ws.root), "--models", str(ws.models_dir),
        "serve", "--port", str(port), "--workers", str(workers), "--log-level", log_level,
    ]  # fmt: skip
    log = log_path.open("ab")
    process = subprocess.Popen(
        cmd, cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()  # the child holds its own descriptor
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        kill(process)
        raise RuntimeError(f"server not ready in {timeout} s:\n{log_path.read_text()}")
    keys = json.loads((ws.root / "demo-keys.json").read_text())
    return Server(url, keys, process, ws, log_path)


def stop(server: Server) -> int | None:
    """SIGTERM (a graceful stop: uvicorn drains, the lifespan flushes); returns the exit code."""
    server.process.terminate()
    try:
        return server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill(server.process)
        return None


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and any children it has (no cleanup of any kind runs)."""
    try:
        import psutil

        children = psutil.Process(process.pid).children(recursive=True)
    except Exception:  # psutil missing or the process already gone
        children = []
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


# --- what the workspace stores ------------------------------------------------------------------
def journal_counts(ws: Workspace) -> dict[str, int]:
    """event_id -> number of rows with that id, read through the journal's public API."""
    from recommender.storage.events import EventJournal

    with EventJournal(ws.events_path) as journal:
        ids = journal.read(columns=["event_id"])["event_id"]
    return {str(k): int(v) for k, v in ids.value_counts().items()}


def journal_rows(ws: Workspace) -> list[tuple[Any, ...]]:
    """Every stored event row in write order (read-only connection: what is on disk)."""
    uri = f"file:{ws.events_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        return conn.execute("SELECT * FROM events ORDER BY rowid").fetchall()


def table_digest(db: Path, tables: Iterable[str]) -> dict[str, str]:
    """sha256 of each table's rows in rowid order."""
    out = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        for table in tables:  # names from the caller's fixed list, never from input
            digest = hashlib.sha256()
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                digest.update(repr(row).encode())
            out[table] = digest.hexdigest()
    return out


def files_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` (relative path -> digest)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def stored_state(ws: Workspace) -> dict[str, Any]:
    """What a hostile request must not change: the event rows, the catalog folder (assets,
    chunks, index), the partner table, the playbook, the overrides, keys and audit log."""
    return {
        "events": hashlib.sha256(repr(journal_rows(ws)).encode()).hexdigest(),
        "catalog": files_digest(ws.catalog_dir),
        "partners": hashlib.sha256(ws.partners_path.read_bytes()).hexdigest(),
        "playbook": hashlib.sha256(ws.playbook_path.read_bytes()).hexdigest(),
        "console": table_digest(ws.console_path, ["overrides", "api_keys", "audit"]),
        "promoted": (ws.models_dir / "PROMOTED").read_text()
        if (ws.models_dir / "PROMOTED").exists()
        else None,
    }


def recommendation(partner_id: str = "P0001", n: int = 5, **context: Any) -> dict[str, Any]:
    return {"partner_id": partner_id, "context": {"stage": "negotiation", **context}, "n": n}
