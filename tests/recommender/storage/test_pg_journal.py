"""The event journal on a real PostgreSQL server: schema migrations, what only this backend has
(append-only triggers, replicas writing at once, a crash of the server), and the same files
out of both backends. The contract every backend keeps is tested over both through the
`journal` fixture (test_journal.py, test_event_files.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from recommender.storage import postgres
from recommender.storage.event_files import export_csv, export_parquet, import_file
from recommender.storage.events import EventJournal, open_journal
from recommender.storage.pg_events import PostgresJournal
from recommender.workspace import Workspace
from tests.pg import PgServer
from tests.recommender.storage.event_samples import KNOWN, ev, mixed_events, write_events

pytestmark = pytest.mark.postgres

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def empty_database(pg_server: PgServer):
    """A database with no schema at all (what a DBA hands over)."""
    url = pg_server.create_database(template="template0")
    yield url
    pg_server.drop_database(url)


# ---- migrations ------------------------------------------------------------------------------


LATEST = len(postgres.migrations())


def test_a_database_without_the_schema_is_refused_with_what_to_run(empty_database):
    with pytest.raises(postgres.SchemaBehind) as caught:
        PostgresJournal(empty_database)
    message = str(caught.value)
    assert f"schema migration 0 of {LATEST}" in message
    assert "0001_journal.sql" in message
    assert "recommender db upgrade" in message


def test_upgrade_applies_each_file_once_and_records_it(empty_database):
    pool = postgres.connect(empty_database, max_size=1)
    try:
        before = postgres.schema_status(pool)
        assert (before.current, before.latest, before.up_to_date) == (0, LATEST, False)
        applied = postgres.upgrade(pool)
        assert [m.file for m in applied] == [m.file for m in postgres.migrations()]
        assert applied[0].file == "0001_journal.sql"
        assert postgres.upgrade(pool) == []  # a second run has nothing to do
        after = postgres.schema_status(pool)
        assert (after.current, after.up_to_date, after.pending) == (LATEST, True, ())
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
            ).fetchall()
        assert rows == [(m.version, m.name, m.checksum) for m in applied]
        with pool.connection() as conn:  # as in SQLite: the asset index leaves impressions out
            (definition,) = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'events_asset'"
            ).fetchone()
        assert definition.endswith("WHERE (type <> 'impression'::text)")
    finally:
        pool.close()
    with PostgresJournal(empty_database) as journal:
        assert journal.append([ev(1)]).accepted == 1


def test_concurrent_upgrades_apply_the_schema_once(empty_database):
    results: list[list[postgres.Migration]] = []
    errors: list[BaseException] = []

    def run() -> None:
        pool = postgres.connect(empty_database, max_size=1)
        try:
            results.append(postgres.upgrade(pool))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            pool.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(results) == 4
    # each migration applied once, by whichever upgrader took the lock first for it (one
    # transaction per migration: the upgraders may share the work)
    applied = sorted(m.version for r in results for m in r)
    assert applied == [m.version for m in postgres.migrations()] and len(applied) == LATEST
    pool = postgres.connect(empty_database, max_size=1)
    try:
        with pool.connection() as conn:
            rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version")
            assert [r[0] for r in rows.fetchall()] == applied
    finally:
        pool.close()


def _copy_migrations(folder: Path) -> Path:
    folder.mkdir()
    for f in postgres.MIGRATIONS_DIR.glob("*.sql"):
        shutil.copy(f, folder / f.name)
    return folder


def test_a_new_migration_file_is_pending_until_upgraded(empty_database, tmp_path):
    folder = _copy_migrations(tmp_path / "migrations")
    pool = postgres.connect(empty_database, max_size=1)
    try:
        postgres.upgrade(pool, folder=folder)
        new = f"{LATEST + 1:04d}_partner_notes.sql"
        (folder / new).write_text("CREATE TABLE partner_notes (id int);")
        with pytest.raises(postgres.SchemaBehind, match=rf"{LATEST} of {LATEST + 1}.*{new}"):
            postgres.check_current(pool, folder=folder)
        assert [m.file for m in postgres.upgrade(pool, folder=folder)] == [new]
        postgres.check_current(pool, folder=folder)
        # the shipped files stop before it: this database is ahead of that code
        with pytest.raises(postgres.SchemaAhead, match="upgrade the package"):
            postgres.check_current(pool)
    finally:
        pool.close()


def test_a_migration_edited_after_it_was_applied_is_an_error(empty_database, tmp_path):
    folder = _copy_migrations(tmp_path / "migrations")
    pool = postgres.connect(empty_database, max_size=1)
    try:
        postgres.upgrade(pool, folder=folder)
        path = folder / "0001_journal.sql"
        path.write_text(path.read_text() + "\nCREATE INDEX events_type ON events (type);\n")
        with pytest.raises(RuntimeError, match=r"0001_journal\.sql was changed after it was"):
            postgres.schema_status(pool, folder=folder)
        with pytest.raises(RuntimeError, match="changed after"):
            postgres.upgrade(pool, folder=folder)
    finally:
        pool.close()


def test_misnamed_or_missing_migration_files_are_refused(tmp_path):
    folder = _copy_migrations(tmp_path / "migrations")
    later = folder / f"{LATEST + 2:04d}_later.sql"
    later.write_text("SELECT 1;")
    with pytest.raises(ValueError, match=rf"migration {LATEST + 1:04d} is missing before"):
        postgres.migrations(folder)
    later.unlink()
    (folder / "2-bad name.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match=r"NNNN_name\.sql"):
        postgres.migrations(folder)


def test_an_unreachable_database_is_a_clear_error_without_the_password():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    with pytest.raises(postgres.StoreUnavailable) as caught:
        PostgresJournal(f"postgresql://reco:hunter2@127.0.0.1:{port}/x", connect_timeout=1)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "hunter2" not in str(caught.value)


# ---- what only PostgreSQL has ------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE events SET type = 'share'", "DELETE FROM events", "TRUNCATE events"],
    ids=["update", "delete", "truncate"],
)
def test_the_journal_is_append_only(database_url, statement):
    with PostgresJournal(database_url) as journal:
        journal.append([ev(1)])
        with (
            psycopg.connect(database_url, autocommit=True) as conn,
            pytest.raises(psycopg.errors.RaiseException, match="append-only"),
        ):
            conn.execute(statement)
        assert journal.read()["type"].tolist() == ["open"]


def test_seen_assets_can_be_read_from_the_partial_index(database_url):
    with PostgresJournal(database_url) as journal:
        journal.append(
            [ev(i, type="impression", request_id=f"r{i}", position=0) for i in range(50)]
        )
        journal.append([ev(100, type="open"), ev(101, type="share", asset_id="a2")])
        assert journal.seen_assets("p1") == {"a1", "a2"}
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")  # a tiny table: ask whether the index serves it
        sql = events_seen_sql()
        plan = " ".join(r[0] for r in conn.execute(f"EXPLAIN {sql}", ("p1",)))
    assert "events_seen" in plan


def events_seen_sql() -> str:
    from recommender.storage.events import SEEN_ASSETS_SQL

    return SEEN_ASSETS_SQL.replace("?", "%s")


def test_two_replicas_writing_the_same_events_at_once_store_each_once(database_url):
    """Two services (two pools) post overlapping batches concurrently, as portals retrying
    against two replicas would: every event is stored once and counted new exactly once."""
    batches = [[ev(i) for i in range(k, k + 200)] for k in range(0, 1000, 100)]
    results: list[int] = []
    lock = threading.Lock()

    def post(journal: PostgresJournal, order: list[list[dict]]) -> None:
        for batch in order:
            accepted = journal.append(batch).accepted
            with lock:
                results.append(accepted)

    with PostgresJournal(database_url) as a, PostgresJournal(database_url) as b:
        threads = [
            threading.Thread(target=post, args=(a, batches)),
            threading.Thread(target=post, args=(b, batches[::-1])),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        stored = a.read()
    assert sum(results) == 1100 == len(stored) == stored["event_id"].nunique()


def test_acknowledged_events_survive_a_crash_of_the_server(pg_server, database_url):
    journal = PostgresJournal(database_url)
    try:
        assert journal.append([ev(i) for i in range(30)]).accepted == 30
    finally:
        journal.close()
    pg_server.stop("immediate")  # no checkpoint: recovery replays the WAL
    pg_server.start()
    with PostgresJournal(database_url) as reopened:
        assert reopened.read()["event_id"].tolist() == [f"e{i}" for i in range(30)]


def test_open_journal_picks_the_workspace_backend(tmp_path, database_url):
    with open_journal(Workspace.at(tmp_path / "ws")) as journal:
        assert isinstance(journal, EventJournal)
    ws = Workspace.at(tmp_path / "ws", database_url=database_url)
    assert "database_url" not in repr(ws)
    with open_journal(ws) as journal:
        assert isinstance(journal, PostgresJournal)
        assert journal.stage_dir == ws.root
        assert ws.has_journal and ws.journal_location == database_url


# ---- one contract, one output ------------------------------------------------------------------


def test_both_backends_import_and_export_the_same_bytes(tmp_path, database_url):
    """The same file imported into each backend exports to byte-identical files."""
    source = write_events(pd.DataFrame(mixed_events(60)), tmp_path / "events.jsonl")
    outputs = {}
    sqlite_journal = EventJournal(tmp_path / "sqlite" / "events.sqlite")
    pg_journal = PostgresJournal(database_url, stage_dir=tmp_path / "stage")
    for name, journal in (("sqlite", sqlite_journal), ("postgresql", pg_journal)):
        with journal:
            report = import_file(journal, source, **KNOWN, progress=False)
            assert (report.accepted, report.duplicates) == (60, 0)
            again = import_file(journal, source, **KNOWN, progress=False)
            assert (again.accepted, again.duplicates) == (0, 60)
            files = export_parquet(journal, tmp_path / name / "parquet")
            csv = export_csv(journal, tmp_path / name / "events.csv")
            outputs[name] = (
                [(f.relative_to(tmp_path / name).as_posix(), f.read_bytes()) for f in files],
                csv.read_bytes(),
            )
    assert outputs["sqlite"] == outputs["postgresql"]
    assert len(outputs["sqlite"][0]) > 1  # several daily partitions compared


# ---- the command line --------------------------------------------------------------------------


def _cli(
    ws: Workspace, url: str, *args: str, check: int | None = 0
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RECO_DATABASE_URL": url, "RECO_EMBED_CACHE": str(ws.cache_path)}
    out = subprocess.run(
        [sys.executable, "-m", "cli", "--workspace", str(ws.root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check is not None:
        assert out.returncode == check, out.stdout + out.stderr
    return out


def test_db_status_and_upgrade_from_the_command_line(tmp_path, empty_database):
    ws = Workspace.at(tmp_path / "ws")
    out = _cli(ws, empty_database, "db", "status", check=1)
    assert f"schema migration 0 of {LATEST} (pending: 0001_journal.sql" in out.stdout
    out = _cli(ws, empty_database, "db", "upgrade")
    assert "applied 0001_journal.sql" in out.stdout
    assert out.stdout.count("applied ") == LATEST
    assert f"up to date (schema migration {LATEST})" in out.stdout
    out = _cli(ws, empty_database, "db", "upgrade")
    assert out.stdout.startswith("nothing to do")
    assert "up to date" in _cli(ws, empty_database, "db", "status").stdout


def test_events_commands_use_the_database_when_one_is_named(
    demo_workspace, database_url, empty_database, tmp_path
):
    partners = pd.read_parquet(demo_workspace.partners_path)["partner_id"].tolist()[:2]
    assets = pd.read_parquet(demo_workspace.assets_path)["asset_id"].tolist()[:2]
    records = [
        ev(i, partner_id=partners[i % 2], asset_id=assets[i % 2], event_id=f"cli{i}")
        for i in range(10)
    ]
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = _cli(demo_workspace, database_url, "events", "import", str(source), "--no-progress")
    assert "imported 10 events" in out.stdout
    assert database_url.rsplit("/", 1)[1] in out.stdout  # where they went
    assert not demo_workspace.events_path.exists()  # not into the workspace's SQLite file
    out = _cli(demo_workspace, database_url, "events", "export", str(tmp_path / "export"))
    exported = pd.read_parquet(tmp_path / "export")
    assert sorted(exported["event_id"]) == sorted(r["event_id"] for r in records)
    behind = _cli(
        demo_workspace, empty_database, "events", "export", str(tmp_path / "none"), check=2
    )
    assert "recommender db upgrade" in behind.stderr


def test_serve_refuses_a_database_whose_schema_is_behind(demo_workspace, empty_database):
    out = _cli(demo_workspace, empty_database, "serve", "--port", "1", check=2)
    assert "recommender db upgrade" in out.stderr
    assert "Traceback" not in out.stderr
