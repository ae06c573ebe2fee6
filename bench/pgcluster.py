"""A throwaway PostgreSQL cluster from Debian's binaries, for the benchmarks and the tests.

`PgServer` runs one cluster in a temporary folder on a free loopback port: `initdb` as the
``postgres`` user when run as root (PostgreSQL refuses root), trust authentication for the
role ``reco``, and `pg_ctl` to start, stop or crash it. `throwaway()` makes, starts and
removes one.

`durable=True` (the benchmarks) keeps PostgreSQL's defaults for durability: ``fsync`` on and
full-page writes, so a commit's figure includes its flush to disk. `durable=False` (the test
suite) turns both off for speed: a commit still reaches the kernel before it returns, so
killing the server loses nothing a test could see; only a power cut could.
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
from typing import Any


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


def as_server_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as `postgres` then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """One PostgreSQL cluster in `root`, listening on 127.0.0.1:`port`."""

    bindir: Path
    root: Path
    port: int
    durable: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://reco@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run(as_server_user(list(args)), check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "reco", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root}"
            " -c max_connections=200"
        )
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; mode "immediate" is a crash (no checkpoint, recovery at start)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def admin(self) -> Any:  # psycopg.Connection
        import psycopg

        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """A new database (copied from `template` when given); its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def server_pid(self) -> int | None:
        """The postmaster's process id (None when it is not running)."""
        pid_file = self.data / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None


def new_cluster(*, durable: bool) -> PgServer:
    """An initialised, running cluster in a new temporary folder (`remove` it after), or
    RuntimeError when the binaries are missing."""
    bindir = pg_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        raise RuntimeError("PostgreSQL's binaries are not installed (apt-get install postgresql)")
    # Not under a 0700 folder owned by root (pytest's tmp_path): the server's user must enter it.
    root = Path(tempfile.mkdtemp(prefix="reco-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = PgServer(bindir=bindir, root=root, port=free_port(), durable=durable)
    server.init()
    server.start()
    return server


def remove(server: PgServer) -> None:
    """Crash-stop the cluster (nothing to keep) and delete its folder."""
    with contextlib.suppress(subprocess.SubprocessError):
        server.stop("immediate")
    shutil.rmtree(server.root, ignore_errors=True)


@contextlib.contextmanager
def throwaway(*, durable: bool = True) -> Iterator[PgServer]:
    """A running cluster for the `with` block, removed after it."""
    server = new_cluster(durable=durable)
    try:
        yield server
    finally:
        remove(server)
