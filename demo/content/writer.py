"""Deterministic builder of the committed demo catalog: assets, partners and documents.

`python -m demo.content [--out DIR] [--faq PATH]` (re)writes assets.jsonl, partners.csv and
documents/ in demo/data/ (the package data; `data/demo` in a checkout links to it). The output
is committed, and re-running reproduces it byte for byte: after an edit of the phrase tables
(demo/data/phrases/) or of the builders, run it and commit the result (tests/demo checks that
the committed data is what this writes).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo import DEMO_DATA
from demo.content.catalog import FAQ_FILE, Draft, draft_assets, faq_asset, translate
from demo.content.documents import document_name, metadata, plan_documents, write_documents
from demo.content.partners import build_partners
from demo.content.world import DEMO_SEED

__all__ = ["DEMO_ASSETS", "DEMO_DIR", "DEMO_PARTNERS", "main", "render_tables", "write_demo"]

DEMO_DIR = DEMO_DATA
DEMO_ASSETS = 320  # drafted assets, the FAQ among them; their translations come on top
DEMO_PARTNERS = 160
# The share of drafted assets translated, and the chance of each other language joining a
# family (at least one does): some families are complete, some lack a language.
TRANSLATED_SHARE = 0.3
TRANSLATION_CHANCE = 0.6
_LANGUAGES = ("uk", "ru", "en")


@dataclass
class _Demo:
    drafts: list[Draft]  # the drafted assets, then their translations
    faq: dict[str, Any]
    sources: dict[str, str]  # translation id -> the id of the asset it translates


def _demo_drafts(n_assets: int, seed: int) -> _Demo:
    """The drafted assets, the FAQ and the translations of a share of the drafts (ids after
    the FAQ's): each translated asset and its translations share `family_id` F-<its id>.
    The translations draw from a stream of their own, so the drafts are what they were."""
    drafts = draft_assets(n_assets - 1, seed=seed)
    rnd = random.Random(seed * 7919 + 1)
    translations: list[Draft] = []
    sources: dict[str, str] = {}
    for draft in drafts:
        draft.row["family_id"] = None
        if rnd.random() >= TRANSLATED_SHARE:
            continue
        others = [x for x in _LANGUAGES if x != draft.row["language"]]
        languages = [x for x in others if rnd.random() < TRANSLATION_CHANCE] or [rnd.choice(others)]
        family = f"F-{draft.row['asset_id']}"
        draft.row["family_id"] = family
        for language in languages:
            asset_id = f"A{n_assets + 1 + len(translations):04d}"
            twin = translate(draft, asset_id, language)
            twin.row["family_id"] = family
            translations.append(twin)
            sources[asset_id] = draft.row["asset_id"]
    faq = {**faq_asset(f"A{n_assets:04d}"), "family_id": None}
    return _Demo([*drafts, *translations], faq, sources)


def _plan(demo: _Demo) -> list[tuple[str, Draft, str]]:
    """The drafted assets' documents, and one in the same format for each translation of an
    asset that has one."""
    originals = [d for d in demo.drafts if d.row["asset_id"] not in demo.sources]
    plan = plan_documents(originals)
    fmt_of = {draft.row["asset_id"]: fmt for fmt, draft, _ in plan}
    for draft in demo.drafts:
        fmt = fmt_of.get(demo.sources.get(draft.row["asset_id"], ""))
        if fmt is not None:
            name = document_name(draft.row, fmt)
            draft.row["document"] = f"documents/{name}"
            plan.append((fmt, draft, name))
    return plan


def render_tables(
    *, n_assets: int = DEMO_ASSETS, n_partners: int = DEMO_PARTNERS, seed: int = DEMO_SEED
) -> dict[str, str]:
    """The text of assets.jsonl and partners.csv exactly as `write_demo` writes them (the
    documents are planned, so each row's `document` is set, but no file is written)."""
    demo = _demo_drafts(n_assets, seed)
    _plan(demo)
    originals = [d.row for d in demo.drafts if d.row["asset_id"] not in demo.sources]
    translated = [d.row for d in demo.drafts if d.row["asset_id"] in demo.sources]
    rows = [*originals, demo.faq, *translated]
    assets = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    partners = build_partners(n_partners, seed=seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = list(partners[0])
    writer.writerow(columns)
    for p in partners:
        writer.writerow([";".join(p[c]) if isinstance(p[c], list) else p[c] for c in columns])
    return {"assets.jsonl": assets, "partners.csv": out.getvalue()}


def write_demo(
    out_dir: Path = DEMO_DIR,
    *,
    n_assets: int = DEMO_ASSETS,
    n_partners: int = DEMO_PARTNERS,
    seed: int = DEMO_SEED,
    faq_source: Path | None = None,
) -> dict[str, Any]:
    """(Re)write assets.jsonl, partners.csv and documents/ under `out_dir`.

    The FAQ is copied byte for byte from `faq_source` (default: the copy already in
    documents/). Other files in `out_dir` (e.g. playbook.yaml) are left alone;
    documents/ is replaced whole. Returns counts for a report.
    """
    docs_dir = out_dir / "documents"
    candidates = [faq_source] if faq_source else [docs_dir / FAQ_FILE]
    faq_path = next((p for p in candidates if p is not None and p.is_file()), None)
    if faq_path is None:
        raise FileNotFoundError(f"{FAQ_FILE} not found in {[str(c) for c in candidates]}")
    faq_bytes = faq_path.read_bytes()

    demo = _demo_drafts(n_assets, seed)
    faq_row = demo.faq
    plan = _plan(demo)
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    docs_dir.mkdir(parents=True)
    files = write_documents(plan, docs_dir)
    (docs_dir / FAQ_FILE).write_bytes(faq_bytes)
    faq_meta = docs_dir / FAQ_FILE.replace(".txt", ".meta.json")
    faq_meta.write_text(
        json.dumps(metadata(faq_row), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    files += [docs_dir / FAQ_FILE, faq_meta]
    tables = render_tables(n_assets=n_assets, n_partners=n_partners, seed=seed)
    for name, text in tables.items():
        (out_dir / name).write_text(text, encoding="utf-8", newline="")
    return {
        "assets": n_assets + len(demo.sources),
        "translations": len(demo.sources),
        "partners": n_partners,
        "documents": len(plan) + 1,
        "files": len(files),
    }


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m demo.content [--out DIR] [--faq PATH]`."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.content", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=DEMO_DIR)
    parser.add_argument("--faq", type=Path, default=None, help="source of the Ukrainian FAQ")
    args = parser.parse_args(argv)
    counts = write_demo(args.out, faq_source=args.faq)
    print(", ".join(f"{k}: {v}" for k, v in counts.items()), f"-> {args.out}")
    return 0
