"""Fixtures of the storage tests.

`journal` is every backend of the event journal in turn: the SQLite file, and a fresh
PostgreSQL database on the session's real server (tests.pg), so that each contract test holds
for both. `sqlite_journal` is for what only SQLite has (its file, pragmas, query plans).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.storage.events import EventJournal


@pytest.fixture
def sqlite_journal(tmp_path: Path):
    with EventJournal(tmp_path / "ws" / "events.sqlite") as j:
        yield j


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def journal(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_journal")
        return
    from recommender.storage.pg_events import PostgresJournal

    url = request.getfixturevalue("database_url")
    with PostgresJournal(url, stage_dir=tmp_path / "stage") as j:
        yield j
