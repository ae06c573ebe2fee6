"""Fixtures of the storage tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.storage.events import EventJournal


@pytest.fixture
def journal(tmp_path: Path):
    with EventJournal(tmp_path / "ws" / "events.sqlite") as j:
        yield j
