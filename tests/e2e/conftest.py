"""Fixtures for the console's end-to-end tests: a real workspace, a real server, Chromium.

One workspace and one `recommender serve` process serve the whole session (building the
workspace embeds ~60 summaries with the real e5 model; the server loads it again). Browser
tests drive Debian's Chromium through Playwright and are skipped, with the reason, when
/usr/bin/chromium is absent (`apt-get install chromium`). Screenshots go to
artifacts/screenshots/<page>.png.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:  # `pytest` as well as `python -m pytest` finds tests.*
    sys.path.insert(0, str(PROJECT_ROOT))

from tests.e2e.workspace import CHROMIUM, CHROMIUM_ARGS, E2EWorkspace, build_e2e_workspace
from tests.support import Server, start_server, stop_server


@pytest.fixture(scope="session")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> E2EWorkspace:
    return build_e2e_workspace(tmp_path_factory.mktemp("console-e2e"))


@pytest.fixture(scope="session")
def server(e2e: E2EWorkspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("console-server") / "server.log"
    # The console's tests compare its preview with the API's answer: the API serves the
    # ranking as it is (RECO_EXPLORATION=0), which is what a preview shows.
    srv = start_server(e2e.workspace, log, keys=e2e.keys, env={"RECO_EXPLORATION": "0"})
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A Chromium browser (Debian's build), or a skip naming why there is none."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def console_page(chromium: Any, server: Server) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page on the server; JS dialogs are recorded
    in `page.dialogs` (and dismissed): a hostile title that ran would show up there."""
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    context = chromium.new_context(
        base_url=server.url, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    dialogs: list[str] = []
    page.dialogs = dialogs

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield page
    finally:
        context.close()
