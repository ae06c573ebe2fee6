"""A real PostgreSQL server for the tests, started by the tests themselves.

Debian's binaries (package ``postgresql``; `.ci/run` installs it when missing) run a throwaway
cluster in a temporary folder on a free port: one server per test session (`pg_server`), and a
fresh database per test (`database_url`), copied from a template that already holds the
current schema, so a test starts from an empty journal in a fraction of a second.

No mock, no pytest-postgresql: its process fixture runs ``pg_ctl`` as the current user, and
PostgreSQL refuses to run as root, which CI is. The cluster is `bench.pgcluster`'s (the
benchmarks run theirs with it), which runs the server as the ``postgres`` user when the tests
run as root. ``fsync=off`` keeps it fast: a commit still reaches the kernel
before it returns, so killing the server (SIGKILL, ``pg_ctl -m immediate``) loses nothing a
test could see; only a power cut could, as for the SQLite files on this tmpfs.

Without the binaries the tests that need a server are skipped, except under CI, where that is
a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.pgcluster import PgServer, new_cluster, pg_bindir, remove

__all__ = ["TEMPLATE", "PgServer", "console_location", "database_url", "pg_server"]

TEMPLATE = "reco_template"


def _start_server() -> PgServer:
    bindir = pg_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        reason = "PostgreSQL's binaries are not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; .ci/run installs them")
        pytest.skip(reason)
    server = new_cluster(durable=False)
    from recommender.storage.postgres import connect, upgrade

    server.create_database(TEMPLATE)
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
        remove(server)


@pytest.fixture
def database_url(pg_server: PgServer) -> Iterator[str]:
    """The URL of a fresh database with the current schema, dropped after the test."""
    url = pg_server.create_database(template=TEMPLATE)
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
