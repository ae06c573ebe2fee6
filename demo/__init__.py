"""The demo: a seeded generator of a believable world (catalog, partners, deals, usage logs)
with a documented true utility, the oracle that ranks by it, and `build_demo_workspace`, which
turns the shipped demo data into a working workspace. Uses the engine's public API; nothing in
recommender/ or service/ imports it.

`DEMO_DATA` is the shipped demo data (package data: assets.jsonl, partners.csv, documents/,
the playbook; `data/demo` in a checkout links here).
"""

from importlib import resources
from pathlib import Path

DEMO_DATA = Path(str(resources.files("demo") / "data"))
