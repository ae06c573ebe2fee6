"""Fixtures for the reliability tests: the service tests' template workspace, copied per test.

The template (`tests.support.service_template`: 30 demo assets embedded with the real
multilingual-e5 model, 20 partners, a seeded usage log and two tiny model versions in the
registry) is built once per session, whichever folder asks first. Every test that starts a
server gets its own copy, so killing, corrupting and hostile input never leak from one test
into another.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from recommender.workspace import Workspace
from tests.support import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:  # `pytest` as well as `python -m pytest` finds tests.*
    sys.path.insert(0, str(PROJECT_ROOT))

from tests.support import Template, copy_workspace


@pytest.fixture
def fresh_workspace(template: Template, tmp_path: Path) -> Workspace:
    """A private copy of the template workspace for one test."""
    return copy_workspace(template, tmp_path / "ws")
