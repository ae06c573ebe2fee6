"""The benchmark scripts live in `bench/` at the project root, which is not an installed
package: put the root on sys.path so that `pytest` finds them as well as `python -m pytest`.

`saved` is the results of the run that wrote the committed BENCHMARKS.md (fixtures/results/,
whose rendering is fixtures/BENCHMARKS.md): the targets and the report are tested on it."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

FIXTURES = Path(__file__).parent / "fixtures"
_SAVED = {
    p.stem: json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((FIXTURES / "results").glob("*.json"))
    if p.stem != "run_all"  # the runner's own record of the run, not a script's result
}


@pytest.fixture
def saved() -> dict[str, Any]:
    """{bench: its result JSON}, a fresh copy per test (tests change figures in it)."""
    return copy.deepcopy(_SAVED)
