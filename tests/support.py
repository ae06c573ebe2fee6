"""Shared by the whole suite: where the checkout and the shared test caches are.

The demo data is `demo.DEMO_DATA` (package data); this file only names what exists because
the tests run from a checkout.
"""

from __future__ import annotations

from pathlib import Path

# the checkout the tests run from (tests/ is not installed)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# vectors of the demo catalog, embedded for real once per machine and shared by every test
SHARED_EMBED_CACHE = PROJECT_ROOT / ".cache" / "test-embeddings.sqlite"
