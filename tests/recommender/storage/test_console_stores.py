"""The console database's stores (keys, overrides, digests, the audit log) keep one contract on
both backends: each test runs on a SQLite file and on a fresh database of a real PostgreSQL
server (`console_location`). What only a shared database needs (several processes checking
then writing at once) and the copy of an embedded workspace into it are tested on PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recommender.experiments.store import ExperimentStore
from recommender.outreach.store import DigestRecord, DigestStore
from recommender.steering.overrides import OverrideStore
from recommender.storage import postgres
from recommender.storage.audit import AuditLog
from recommender.storage.events import EventJournal
from recommender.storage.keys import KeyStore, key_id_of
from recommender.storage.pg_events import PostgresJournal
from tests.recommender.storage.event_samples import ev


def test_keys_verify_list_and_revoke(console_location):
    with KeyStore(console_location) as store:
        first, key = store.create("portal", "portal backend")
        second, other = store.create("manager", "anna")
        assert store.verify(key) == first
        assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        assert store.verify(key.replace("reco_portal_", "reco_admin_")) is None
        assert [k.key_id for k in store.list()] == [first.key_id, second.key_id]
        assert store.revoke(first.key_id) and not store.revoke(first.key_id)
        assert store.verify(key) is None and store.verify(other) == second
        assert [k.key_id for k in store.list(include_revoked=False)] == [second.key_id]
        assert store.create_if_empty(("portal",), "demo") is None  # keys exist


def test_create_if_empty_makes_one_key_per_scope_once(console_location):
    with KeyStore(console_location) as store:
        made = store.create_if_empty(("portal", "manager", "admin"), "demo")
        assert made is not None and sorted(made) == ["admin", "manager", "portal"]
        for scope, key in made.items():
            info = store.verify(key)
            assert info is not None and info.scope == scope and info.key_id == key_id_of(key)
        assert store.create_if_empty(("portal",), "demo") is None


def test_overrides_add_list_remove_and_audit_together(console_location):
    with OverrideStore(console_location) as store:
        pin = store.add(actor="anna", action="pin", asset_id="A0001", scope="global")
        hide = store.add(actor="anna", action="hide", asset_id="A0002", scope="global")
        assert [o.override_id for o in store.list()] == [pin.override_id, hide.override_id]
        assert store.remove(pin.override_id, actor="bob")
        assert not store.remove(pin.override_id, actor="bob")
        assert [o.override_id for o in store.list()] == [hide.override_id]
        with pytest.raises(ValueError, match="action"):
            store.add(actor="anna", action="explode", asset_id="A0003", scope="global")
        store.audit("carol", "model.promote", "v2", {"from": "v1"})
        log = store.audit_log()
    assert [(e["actor"], e["action"], e["target"]) for e in log] == [
        ("carol", "model.promote", "v2"),
        ("bob", "override.remove", pin.override_id),
        ("anna", "override.hide", "A0002"),
        ("anna", "override.pin", "A0001"),
    ]
    assert [e["seq"] for e in log] == sorted((e["seq"] for e in log), reverse=True)


def test_digests_are_recorded_with_their_audit_and_listed_newest_first(console_location):
    at = [datetime(2026, 11, d, 9, 0, tzinfo=UTC) for d in (2, 9, 16)]
    records = [
        DigestRecord(f"dg-{i}", "P0001", at[i], "anna", "uk", "html", (f"A000{i}", "A0009"))
        for i in range(3)
    ]
    records.append(DigestRecord("dg-x", "P0002", at[0], "anna", "en", "md", ("A0005",), at[0]))
    with DigestStore(console_location) as store:
        store.record(records, actor="anna")
        assert [r.digest_id for r in store.list(["P0001"])] == ["dg-2", "dg-1", "dg-0"]
        assert store.last("P0001") == records[2]
        assert store.get("dg-x") == records[3]
        assert store.sent("P0001") == {"A0000", "A0001", "A0002", "A0009"}
        assert store.list([]) == [] and len(store.list(limit=2)) == 2
        with pytest.raises(Exception, match=r"(?i)unique|primary key|duplicate"):
            store.record([records[0]], actor="anna")  # all or none: the same id again
    with AuditLog(console_location) as log:
        assert [e["action"] for e in log.entries()].count("digest.record") == 4


def test_a_closed_store_refuses_work(console_location):
    store = KeyStore(console_location)
    store.close()
    with pytest.raises(ValueError, match="is closed"):
        store.list()


# ---- several processes on one PostgreSQL database ------------------------------------------

# Each "replica" is a process of its own that opens its store, waits for a common moment, then
# checks and writes; it prints what it got as JSON.
_REPLICA = """
import json, sys, time
from recommender.experiments.store import ExperimentConflict, ExperimentStore
from recommender.storage.keys import KeyStore
kind, url, start, i = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
if kind == "keys":
    with KeyStore(url) as store:
        time.sleep(max(0.0, start - time.time()))
        print(json.dumps(store.create_if_empty(("portal", "manager", "admin"), "demo")))
else:
    with ExperimentStore(url) as store:
        time.sleep(max(0.0, start - time.time()))
        try:
            store.create(actor="a", name="x" + i, control="v1", treatment="v2", method="ab",
                         segment="tier=gold")
            print(json.dumps("created"))
        except ExperimentConflict:
            print(json.dumps("conflict"))
"""


def _replicas(kind: str, url: str, n: int = 4) -> list:
    start = time.time() + 4.0  # every process has opened its store by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _REPLICA, kind, url, str(start), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
        out.append(json.loads(stdout))
    return out


@pytest.mark.postgres
def test_replicas_starting_at_once_make_one_set_of_demo_keys(database_url):
    """Each replica's first start asks for demo keys at the same moment: one set is made."""
    results = _replicas("keys", database_url)
    assert sum(r is not None for r in results) == 1
    with KeyStore(database_url) as store:
        assert len(store.list()) == 3


@pytest.mark.postgres
def test_overlapping_experiments_created_at_once_on_replicas_run_one(database_url):
    assert sorted(_replicas("experiments", database_url)) == ["conflict"] * 3 + ["created"]
    with ExperimentStore(database_url) as store:
        assert len(store.running()) == 1


# ---- an embedded workspace copied into the database ----------------------------------------


@pytest.mark.postgres
def test_import_sqlite_copies_journal_and_console_once(tmp_path: Path, database_url):
    ws = tmp_path / "ws"
    with EventJournal(ws / "events.sqlite") as journal:
        journal.append([ev(i) for i in range(25)])
    with KeyStore(ws / "console.sqlite") as keys:
        info, key = keys.create("portal", "portal backend")
    with OverrideStore(ws / "console.sqlite") as overrides:
        overrides.add(actor="anna", action="pin", asset_id="A0001", scope="global")
    with DigestStore(ws / "console.sqlite") as digests:
        digests.record(
            [DigestRecord("dg-1", "P0001", datetime(2026, 11, 2, tzinfo=UTC), "anna", "uk",
                          "html", ("A0001",))],
            actor="anna",
        )  # fmt: skip
    with ExperimentStore(ws / "console.sqlite") as experiments:
        experiments.create(actor="a", name="x1", control="v1", treatment="v2", method="ab")

    first = postgres.import_sqlite(ws / "events.sqlite", ws / "console.sqlite", database_url)
    assert first == {
        "events": 25, "api_keys": 1, "overrides": 1, "experiments": 1, "digests": 1, "audit": 3,
    }  # fmt: skip
    again = postgres.import_sqlite(ws / "events.sqlite", ws / "console.sqlite", database_url)
    assert set(again.values()) == {0}
    with PostgresJournal(database_url) as journal:
        assert journal.read()["event_id"].tolist() == [f"e{i}" for i in range(25)]
    with KeyStore(database_url) as keys:
        assert keys.verify(key) == info  # the salted hash survived the copy
    with OverrideStore(database_url) as overrides:
        assert [o.asset_id for o in overrides.list()] == ["A0001"]
        assert len(overrides.audit_log()) == 3


def test_the_generation_row_counts_changes_on_a_shared_database(console_location):
    from recommender.storage.audit import ConsoleDatabase

    db = ConsoleDatabase(console_location)
    try:
        if isinstance(console_location, Path):  # SQLite: workers watch a file instead
            assert db.generation() is None and db.bump_generation("x") is None
            return
        first = db.generation()
        assert db.bump_generation("override") == first + 1 == db.generation()
        assert db.bump_generation("promote") == first + 2
    finally:
        db.close()
