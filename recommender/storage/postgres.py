"""PostgreSQL, the shared store: connection pools and versioned schema migrations.

SQLite files are the embedded default; a workspace whose `database_url` is a
``postgresql://`` URL (``RECO_DATABASE_URL``) keeps its event journal in that database instead,
so that service replicas on several hosts share it (`recommender.storage.pg_events`).

**Driver.** psycopg 3 with psycopg_pool, from the ``postgres`` extra
(``pip install 'enablement-recommender[postgres]'``), imported only when a PostgreSQL URL is
used. Every connection commits durably (``synchronous_commit=on``, whatever the server's
default): a transaction that returned is in the server's WAL on disk, which is what an
acknowledged event promises.

**Migrations.** The schema is the numbered SQL files in ``migrations/postgresql/``
(``0001_journal.sql``, ...), applied in order by `upgrade` (``recommender db upgrade``), one
transaction per file, each recorded in ``schema_migrations`` with the file's checksum. Two
upgrades started at once queue on an advisory lock; a file edited after it was applied is an
error, not a silent difference. Nothing upgrades a PostgreSQL database implicitly: opening a
store checks the schema (`check_current`) and says what to run when it is behind, or that the
code is older than the database when it is ahead.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.workspace import redact_url

if TYPE_CHECKING:
    from psycopg import Connection, Cursor
    from psycopg_pool import ConnectionPool

__all__ = [
    "Migration",
    "Qmark",
    "SchemaAhead",
    "SchemaBehind",
    "SchemaStatus",
    "StoreUnavailable",
    "acquire_pool",
    "check_current",
    "connect",
    "is_postgres_url",
    "migrations",
    "release_pool",
    "schema_status",
    "unavailable_as",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).with_name("migrations") / "postgresql"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# pg_advisory_xact_lock key of schema upgrades (any constant; "reco" in ASCII)
_UPGRADE_LOCK = 0x7265636F
_INSTALL_HINT = "PostgreSQL support needs psycopg 3: pip install 'enablement-recommender[postgres]'"


class StoreUnavailable(RuntimeError):
    """The database cannot be reached (down, refusing connections, or out of connections)."""


class SchemaBehind(RuntimeError):
    """The database's schema is older than this code: `recommender db upgrade` brings it up."""


class SchemaAhead(RuntimeError):
    """The database's schema is newer than this code: upgrade the package, not the database."""


@contextmanager
def unavailable_as(where: str) -> Iterator[None]:
    """Inside, a database that cannot be reached (down, restarting, the connection lost, no
    free connection within the pool's timeout) raises `StoreUnavailable` naming `where`;
    every other error (a constraint, a deadlock to retry) passes unchanged."""
    try:
        yield
    except Exception as exc:
        import psycopg
        from psycopg import errors
        from psycopg_pool import PoolTimeout

        lost = (
            PoolTimeout,
            errors.AdminShutdown,
            errors.CrashShutdown,
            errors.CannotConnectNow,
            errors.ConnectionException,
        )
        if isinstance(exc, lost) or type(exc) is psycopg.OperationalError:
            raise StoreUnavailable(f"{where} is unavailable: {exc}".strip()) from exc
        raise


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("postgresql://", "postgres://"))


def connect(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 4,
    timeout: float = 5.0,
    name: str = "recommender",
) -> ConnectionPool:
    """An open pool of autocommit connections to `url` (callers open their transactions with
    ``conn.transaction()``); `StoreUnavailable` when no connection can be made within
    `timeout` seconds, which is also how long a caller waits for a free connection before
    `StoreUnavailable` (see `unavailable_as`). Lost connections are replaced as the database
    comes back: the pool keeps trying."""
    if not is_postgres_url(url):
        raise ValueError(f"{redact_url(url)!r} is not a PostgreSQL URL (postgresql://...)")
    try:
        from psycopg_pool import ConnectionPool, PoolTimeout
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc

    def configure(conn: Connection[Any]) -> None:
        conn.execute("SET synchronous_commit TO on")

    pool: ConnectionPool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        open=False,
        configure=configure,
        check=ConnectionPool.check_connection,
        kwargs={"autocommit": True, "application_name": name},
        name=name,
        reconnect_timeout=float("inf"),  # never give up on the database coming back
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except PoolTimeout as exc:
        pool.close()
        raise StoreUnavailable(
            f"cannot connect to {redact_url(url)} within {timeout:g} s: is the database "
            "running and the URL right?"
        ) from exc
    return pool


class Qmark:
    """A connection that runs SQL written for both backends: ``?`` placeholders (psycopg's are
    ``%s``). The stores' SQL has no other ``?`` and no ``%``."""

    def __init__(self, conn: Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor[Any]:
        return self._conn.execute(sql.replace("?", "%s"), params)


# Pools shared by the stores of one process, by URL: [pool, how many stores hold it].
_POOLS: dict[str, list[Any]] = {}
_POOLS_LOCK = threading.Lock()


def _forget_pools_in_child() -> None:
    # A forked child must not use (or close: that would end the parent's sessions) the
    # parent's connections; it opens its own.
    _POOLS.clear()


os.register_at_fork(after_in_child=_forget_pools_in_child)


def acquire_pool(url: str, *, max_size: int = 4) -> ConnectionPool:
    """The process's pool for `url`, opened (and its schema checked) by the first store that
    asks; give it back with `release_pool`."""
    with _POOLS_LOCK:
        entry = _POOLS.get(url)
        if entry is not None:
            entry[1] += 1
            return entry[0]  # type: ignore[no-any-return]
        pool = connect(url, max_size=max_size, name="reco-console")
        try:
            check_current(pool)
        except BaseException:
            pool.close()
            raise
        _POOLS[url] = [pool, 1]
        return pool


def release_pool(pool: ConnectionPool) -> None:
    """Give back a pool from `acquire_pool`; the last holder closes it."""
    with _POOLS_LOCK:
        for url, entry in list(_POOLS.items()):
            if entry[0] is pool:
                entry[1] -= 1
                if entry[1] == 0:
                    del _POOLS[url]
                    pool.close()
                return


@dataclass(frozen=True)
class Migration:
    """One numbered schema file."""

    version: int
    name: str
    sql: str

    @property
    def file(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The schema files in `folder`, in order; numbered 1, 2, 3... with no gap."""
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise ValueError(f"{path}: a migration is named NNNN_name.sql (e.g. 0002_usage.sql)")
        found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    for expected, m in enumerate(found, start=1):
        if m.version != expected:
            raise ValueError(f"{folder}: migration {expected:04d} is missing before {m.file}")
    return found


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands: `current` of `latest`, the files still to apply."""

    url: str  # without its password
    current: int
    latest: int
    pending: tuple[Migration, ...]

    @property
    def up_to_date(self) -> bool:
        return self.current == self.latest

    def describe(self) -> str:
        if self.current > self.latest:
            return (
                f"{self.url} is at schema migration {self.current}; this code knows "
                f"{self.latest}: upgrade the package"
            )
        if self.pending:
            files = ", ".join(m.file for m in self.pending)
            return (
                f"{self.url} is at schema migration {self.current} of {self.latest} "
                f"(pending: {files}): run `recommender db upgrade`"
            )
        return f"{self.url} is up to date (schema migration {self.current})"


_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
    applied_at timestamptz NOT NULL)"""


def _applied(conn: Connection[Any]) -> dict[int, tuple[str, str]]:
    """version -> (name, checksum) of the migrations recorded in the database."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
    return {int(v): (str(n), str(c)) for v, n, c in rows}


def _check_unchanged(applied: dict[int, tuple[str, str]], known: list[Migration]) -> None:
    for m in known:
        if m.version in applied and applied[m.version][1] != m.checksum:
            raise RuntimeError(
                f"schema migration {m.file} was changed after it was applied to this database; "
                "restore the file (a change to the schema is a new, numbered file)"
            )


def schema_status(pool: ConnectionPool, *, folder: Path = MIGRATIONS_DIR) -> SchemaStatus:
    """The schema of the database `pool` connects to, against the migration files."""
    known = migrations(folder)
    with pool.connection() as conn:
        applied = _applied(conn)
    _check_unchanged(applied, known)
    current = max(applied, default=0)
    return SchemaStatus(
        url=redact_url(str(pool.conninfo)),
        current=current,
        latest=len(known),
        pending=tuple(m for m in known if m.version not in applied),
    )


def check_current(pool: ConnectionPool, *, folder: Path = MIGRATIONS_DIR) -> None:
    """Raise `SchemaBehind` or `SchemaAhead`, with what to do, unless the schema is current."""
    status = schema_status(pool, folder=folder)
    if status.current > status.latest:
        raise SchemaAhead(status.describe())
    if status.pending:
        raise SchemaBehind(status.describe())


def upgrade(
    pool: ConnectionPool,
    *,
    folder: Path = MIGRATIONS_DIR,
    on_applied: Callable[[Migration], None] | None = None,
) -> list[Migration]:
    """Apply the pending migration files in order, one transaction each; return those applied
    (none when the schema is current). Safe to run from several processes at once."""
    done: list[Migration] = []
    known = migrations(folder)
    for m in known:
        with pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_UPGRADE_LOCK,))
            conn.execute(_LEDGER)
            applied = _applied(conn)
            _check_unchanged(applied, known)
            if max(applied, default=0) > len(known):
                raise SchemaAhead(
                    f"{redact_url(str(pool.conninfo))} is at schema migration {max(applied)}; this "
                    f"code knows {len(known)}: upgrade the package"
                )
            if m.version in applied:
                continue
            conn.execute(m.sql)  # no parameters: the file may hold several statements
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                "VALUES (%s, %s, %s, %s)",
                (m.version, m.name, m.checksum, datetime.now(UTC)),
            )
        done.append(m)
        if on_applied is not None:
            on_applied(m)
    return done


# Console tables copied by `import_sqlite`, with their key: a row whose key is already in the
# database is skipped. The audit log has no key: an entry equal in every field is skipped.
_CONSOLE_TABLES = (
    ("api_keys", ("key_id", "scope", "name", "salt", "digest", "created_at", "revoked_at")),
    ("overrides", ("override_id", "data", "deleted")),
    ("experiments", ("name", "status", "data")),
    (
        "digests",
        ("digest_id", "partner_id", "created_at", "created_by", "language", "format", "since",
         "assets"),
    ),
)  # fmt: skip
_AUDIT_COLUMNS = ("at", "actor", "action", "target", "detail")


def import_sqlite(
    events_path: Path, console_path: Path, url: str, *, stage_dir: Path | None = None
) -> dict[str, int]:
    """Copy an embedded workspace's SQLite stores (the event journal at `events_path`, the
    console database at `console_path`; either may be missing) into the PostgreSQL database
    at `url`, whose schema must be current. Returns how many rows each table gained.

    Safe to run again: events already stored (by id), keys, overrides, experiments and
    digests already there (by their key) and identical audit entries are skipped. Each store
    is copied in one transaction. Copied events get the copy's time as `ingested_at`.
    """
    import sqlite3

    from recommender.storage.pg_events import PostgresJournal

    added: dict[str, int] = {}
    if events_path.exists():
        with PostgresJournal(url, stage_dir=stage_dir) as journal:
            added["events"] = journal.copy_from_stage(events_path)
    if not console_path.exists():
        return added
    source = sqlite3.connect(f"file:{console_path}?mode=ro", uri=True)
    pool = connect(url, max_size=1, name="reco-import")
    try:
        check_current(pool)
        present = {r[0] for r in source.execute("SELECT name FROM sqlite_master")}
        with pool.connection() as conn, conn.transaction():
            for table, columns in _CONSOLE_TABLES:
                if table not in present:
                    continue
                cols = ", ".join(columns)
                insert = (
                    f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(columns))}) "
                    "ON CONFLICT DO NOTHING"
                )
                added[table] = sum(
                    conn.execute(insert, row).rowcount
                    for row in source.execute(f"SELECT {cols} FROM {table} ORDER BY rowid")
                )
            if "audit" in present:
                cols = ", ".join(_AUDIT_COLUMNS)
                same = " AND ".join(f"{c} = %s" for c in _AUDIT_COLUMNS)
                insert = (
                    f"INSERT INTO audit ({cols}) SELECT %s, %s, %s, %s, %s "
                    f"WHERE NOT EXISTS (SELECT 1 FROM audit WHERE {same})"
                )
                added["audit"] = sum(
                    conn.execute(insert, (*row, *row)).rowcount
                    for row in source.execute(f"SELECT {cols} FROM audit ORDER BY seq")
                )
    finally:
        pool.close()
        source.close()
    return added
