"""The console's end-to-end workspace and the browser's settings.

The workspace is built with the real engine (`tests.support.build_workspace`): the first
`N_ASSETS` assets of the demo catalog (without their documents) plus hostile assets (a
`<script>` title, a `javascript:` link) and the translation families of `tests.family_catalog`
(case studies in uk/ru/en, a battlecard in en/uk, a datasheet and its near-duplicate),
ingested with the real multilingual-e5 embedder; the
first `N_PARTNERS` demo partners; the default playbook; two tiny model versions in the
registry (each with a model card); a few "open" events so that the awareness page has
something to leave out, and impressions of English assets to a partner that reads only
Ukrainian (`UK_ONLY_PARTNER`) for the localisation view; and one API key per scope, created
through the key store as an operator would. The server is `tests.support.start_server`
(`recommender serve`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from recommender.workspace import Workspace
from tests.family_catalog import family_rows
from tests.support import PROJECT_ROOT, build_workspace, make_model_versions

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"

N_ASSETS = 60
N_PARTNERS = 24
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_ID = "X-HOSTILE-1"
HOSTILE_IMG_TITLE = '"><img src=x onerror=alert(3)> Battlecard'
HOSTILE_IMG_ID = "X-HOSTILE-2"
# Partner ids the tests use (from data/demo/partners.csv).
AWARE_PARTNER = "P0004"
UK_ONLY_PARTNER = "P0014"  # reads Ukrainian only
# impressions of English assets shown to UK_ONLY_PARTNER: asset id -> how many
UNREAD_IMPRESSIONS = {"roi-storage": 3, "battlecard-polar-en": 1}


def hostile_assets() -> list[dict[str, object]]:
    """Assets whose catalog text is markup: the console must show it as text."""
    return [
        {
            "asset_id": HOSTILE_ID,
            "title": HOSTILE_TITLE,
            "type": "white_paper",
            "language": "en",
            "summary": "A white paper whose title is a script tag; it must render as text. "
            "<b>bold?</b> It covers cloud data integration for discovery meetings.",
            "industries": [],
            "stages": ["discovery", "solution"],
            "url": "javascript:alert(2)",
            "status": "published",
        },
        {
            "asset_id": HOSTILE_IMG_ID,
            "title": HOSTILE_IMG_TITLE,
            "type": "battlecard",
            "language": "en",
            "summary": "A battlecard whose title tries to break out of an attribute.",
            "stages": ["negotiation"],
            "url": "https://enablement.example.com/assets/x2",
            "status": "published",
        },
    ]


@dataclass(frozen=True)
class E2EWorkspace:
    workspace: Workspace
    keys: dict[str, str]  # scope -> plain key
    versions: list[str]
    asset_ids: list[str]
    partner_ids: list[str]
    opened: list[str]  # assets AWARE_PARTNER opened
    partner_languages: dict[str, tuple[str, ...]]  # each partner's profile languages


def build_e2e_workspace(root: Path) -> E2EWorkspace:
    """Build the e2e workspace under `root` (takes a few seconds: it embeds ~60 summaries)."""
    from recommender.embedding.embedders import get_embedder
    from recommender.ranking.build import build_snapshot
    from recommender.storage.events import EventJournal
    from recommender.storage.keys import create_key
    from service.console.analysis import awareness

    embedder = get_embedder("e5")
    built = build_workspace(
        root,
        embedder=embedder,
        assets=N_ASSETS,
        partners=N_PARTNERS,
        extra_assets=[*hostile_assets(), *family_rows()],
    )
    ws = built.workspace
    versions = make_model_versions(
        ws,
        2,
        metrics=[{"ndcg@10": 0.1 * (i + 1), "recall@10": 0.2 * (i + 1)} for i in range(2)],
        cards=True,
    )

    # The partner "opened" its three most relevant assets, so that the awareness page has to
    # leave out assets it would otherwise list first.
    snapshot = build_snapshot(ws, embedder=embedder, use_model=False)
    ranked, _ = awareness(snapshot, snapshot.partners[AWARE_PARTNER], frozenset())
    opened = [item.asset_id for item in ranked[:3]]
    now = datetime.now(UTC)
    events = [
        {
            "event_id": f"e2e-open-{i}",
            "ts": (now - timedelta(days=1, minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "type": "open",
            "partner_id": AWARE_PARTNER,
            "asset_id": asset_id,
        }
        for i, asset_id in enumerate(opened)
    ]
    events += [
        {
            "event_id": f"e2e-unread-{asset_id}-{k}",
            "ts": (now - timedelta(days=2, minutes=k)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "type": "impression",
            "partner_id": UK_ONLY_PARTNER,
            "asset_id": asset_id,
            "request_id": f"e2e-unread-{k}",
            "position": 0,
        }
        for asset_id, times in UNREAD_IMPRESSIONS.items()
        for k in range(times)
    ]
    with EventJournal(ws.events_path) as journal:
        journal.append(
            events,
            known_assets=set(built.asset_ids),
            known_partners=set(built.partner_ids),
            all_or_nothing=True,
        )
    keys = {
        scope: create_key(ws, scope, f"e2e {scope}", actor="e2e-fixture")
        for scope in ("portal", "manager", "admin")
    }
    languages = {pid: p.languages for pid, p in snapshot.partners.items()}
    return E2EWorkspace(ws, keys, versions, built.asset_ids, built.partner_ids, opened, languages)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
