"""A real PostgreSQL server for the tests, started by the tests themselves.

Debian's binaries (package ``postgresql``; `.ci/run` installs it when missing) run a throwaway
cluster in a temporary folder on a free port: one server per test session (`pg_server`), and a
fresh database per test (`database_url`), copied from a template that already holds the
current schema, so a test starts from an empty journal in a fraction of a second.

No mock, no pytest-postgresql: its process fixture runs ``pg_ctl`` as the current user, and
PostgreSQL refuses to run as root, which CI is. Here the server runs as the ``postgres`` user
when the tests run as root. ``fsync=off`` keeps it fast: a commit still reaches the kernel
before it returns, so killing the server (SIGKILL, ``pg_ctl -m immediate``) loses nothing a
test could see; only a power cut could, as for the SQLite files on this tmpfs.

Without the binaries the tests that need a server are skipped, except under CI, where that is
a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TEMPLATE = "reco_template"


def pg_bindir() -> Path | None:
    """The folder of initdb/pg_ctl: $RECO_TEST_PG_BIN, those on PATH, or Debian's newest."""
    if env := os.environ.get("RECO_TEST_PG_BIN"):
        return Path(env)
    if found := shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    return versions[-1].parent if versions else None


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as `postgres` then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """One PostgreSQL cluster in `root`, listening on 127.0.0.1:`port`."""

    bindir: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://reco@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run(_as_server_user(list(args)), check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "reco", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root}"
            " -c max_connections=200 -c fsync=off -c full_page_writes=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; mode "immediate" is a crash (no checkpoint, recovery at start)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def admin(self):  # -> psycopg.Connection
        import psycopg

        return psycopg.connect(self.url(), autocommit=True)

    def new_database(self, template: str = TEMPLATE) -> str:
        """A fresh database copied from `template`; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start_server() -> PgServer:
    bindir = pg_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        reason = "PostgreSQL's binaries are not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; .ci/run installs them")
        pytest.skip(reason)
    # Not under pytest's tmp_path: its root is 0700 and owned by root, which the server's
    # user cannot enter.
    root = Path(tempfile.mkdtemp(prefix="reco-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = PgServer(bindir=bindir, root=root, port=_free_port())
    server.init()
    server.start()
    from recommender.storage.postgres import connect, upgrade

    with server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    pool = connect(server.url(TEMPLATE), max_size=1)
    try:
        upgrade(pool)
    finally:
        pool.close()
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the session; its template database holds the current schema."""
    server = _start_server()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server.stop("immediate")
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def database_url(pg_server: PgServer) -> Iterator[str]:
    """The URL of a fresh database with the current schema, dropped after the test."""
    url = pg_server.new_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def console_location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Each backend of the console database in turn: a SQLite file, then a fresh PostgreSQL
    database (what `Workspace.console_location` gives the stores)."""
    if request.param == "sqlite":
        return tmp_path / "console.sqlite"
    return str(request.getfixturevalue("database_url"))
