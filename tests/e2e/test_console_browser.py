"""The console in a real Chromium against a real server (see conftest.py).

Each test signs in in a fresh browser context and checks what a channel manager relies on:
the preview equals the portal API's answer, a pin or hide acts on the next request in the
console and the API alike, the language switch translates the labels, hostile catalog text
stays text, and the keyboard alone can drive the preview. Screenshots of every page land in
artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from service.console.analysis import coverage_level, rank_diff
from service.console.i18n import tables
from tests.e2e.workspace import (
    AWARE_PARTNER,
    HOSTILE_ID,
    HOSTILE_IMG_ID,
    HOSTILE_IMG_TITLE,
    HOSTILE_TITLE,
    UK_ONLY_PARTNER,
    UNREAD_IMPRESSIONS,
    E2EWorkspace,
    screenshot,
)
from tests.support import Server

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package drives the browser"
).expect


# --- helpers ------------------------------------------------------------------------------------
def sign_in(page: Any, key: str, next_path: str = "/console/preview") -> None:
    page.goto(f"/console/login?next={quote(next_path, safe='')}")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/(?!login)"))


def result_ids(page: Any, scope: str = "ol.results") -> list[str]:
    return page.locator(f"{scope} > li.result").evaluate_all(
        "els => els.map(e => e.dataset.assetId)"
    )


def api_recommend(server: Server, e2e: E2EWorkspace, body: dict[str, Any]) -> httpx.Response:
    response = httpx.post(
        f"{server.url}/v1/recommendations",
        json=body,
        headers={"X-API-Key": e2e.keys["portal"]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response


def api_ids(server: Server, e2e: E2EWorkspace, body: dict[str, Any]) -> list[str]:
    return [item["asset_id"] for item in api_recommend(server, e2e, body).json()["items"]]


def manager_api(
    server: Server, e2e: E2EWorkspace, method: str, path: str, **kw: Any
) -> httpx.Response:
    return httpx.request(
        method, f"{server.url}{path}", headers={"X-API-Key": e2e.keys["manager"]}, timeout=30, **kw
    )


# --- sign-in ------------------------------------------------------------------------------------
def test_sign_in_needs_a_manager_or_admin_key_and_sets_a_strict_httponly_cookie(
    console_page: Any, e2e: E2EWorkspace
) -> None:
    page = console_page
    page.goto("/console/preview")
    assert "/console/login" in page.url  # not signed in: sent to sign in, coming back after
    screenshot(page, "login")

    page.get_by_label("API key").fill("reco_manager_000000000000_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("main")).to_contain_text("This key is not valid")

    page.get_by_label("API key").fill(e2e.keys["portal"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("main")).to_contain_text("A portal key cannot use the console")

    page.get_by_label("API key").fill(e2e.keys["manager"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/preview"))
    expect(page.locator(".who")).to_have_text("Signed in as e2e manager (manager)")
    cookie = next(c for c in page.context.cookies() if c["name"] == "reco_console")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/console"
    assert e2e.keys["manager"] not in cookie["value"]  # the key itself never reaches the browser

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("main")).to_contain_text("You have signed out.")
    assert not [c for c in page.context.cookies() if c["name"] == "reco_console"]
    page.goto("/console/steer")
    assert "/console/login" in page.url


# --- preview ------------------------------------------------------------------------------------
def test_preview_shows_exactly_what_the_portal_api_returns(
    console_page: Any, e2e: E2EWorkspace, server: Server
) -> None:
    page = console_page
    sign_in(page, e2e.keys["manager"])
    page.get_by_label("Partner name or id").fill("Brightwave")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="Brightwave Automatisierung GmbH").click()
    expect(page.locator(".partner-name")).to_have_text("Brightwave Automatisierung GmbH")
    page.get_by_label("Deal stage").select_option("negotiation")
    page.get_by_label("Industry", exact=True).select_option("telecom")
    page.get_by_label("Buyer role").select_option("cfo")
    page.get_by_label("Notes").fill("The CFO wants a TCO comparison against the incumbent")
    page.get_by_label("Number of assets").fill("6")
    page.get_by_role("button", name="Show recommendations").click()
    expect(page.locator("#results")).to_be_visible()
    screenshot(page, "preview")

    body = json.loads(page.locator("#request-json").text_content())
    assert body == {
        "partner_id": "P0003",
        "context": {
            "stage": "negotiation",
            "industry": "telecom",
            "buyer_role": "cfo",
            "notes": "The CFO wants a TCO comparison against the incumbent",
        },
        "n": 6,
    }
    shown = json.loads(page.locator("#response-json").text_content())
    api = api_recommend(server, e2e, body).json()
    # Same items, same order, same scores and reasons: only the request id differs.
    assert shown["items"] == api["items"]
    assert shown["model_version"] == api["model_version"]
    assert len(api["items"]) == 6
    assert result_ids(page) == [i["asset_id"] for i in api["items"]]
    for item, li in zip(api["items"], page.locator("ol.results > li.result").all(), strict=True):
        expect(li.locator(".asset-title")).to_have_text(item["title"])
        expect(li.locator(".badge-type")).to_have_attribute("data-type", item["type"])
        if item["language"]:
            expect(li.locator(".badge-lang")).to_have_text(item["language"].upper())
        expect(li.locator(".score data")).to_have_attribute("value", str(item["score"]))
        assert li.locator(".reasons > li").evaluate_all("els => els.map(e => e.dataset.code)") == [
            r["code"] for r in item["reasons"]
        ]
        if (item["url"] or "").startswith("https://"):
            expect(li.locator("a.asset-title")).to_have_attribute("href", item["url"])


def test_preview_form_works_with_the_keyboard_alone(console_page: Any, e2e: E2EWorkspace) -> None:
    page = console_page
    sign_in(page, e2e.keys["manager"], "/console/coverage")
    # The skip link is the first stop and moves focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    assert page.evaluate("document.activeElement.getBoundingClientRect().top") >= 0  # visible
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.goto("/console/preview")
    expect(page.get_by_label("Partner name or id")).to_be_focused()
    page.keyboard.type("Brightwave")
    page.keyboard.press("Enter")
    partner_link = page.get_by_role("link", name="Brightwave Automatisierung GmbH")
    expect(partner_link).to_be_focused()
    page.keyboard.press("Enter")
    stage = page.get_by_label("Deal stage")
    expect(stage).to_be_focused()
    page.keyboard.press("ArrowDown")  # discovery -> solution -> negotiation
    page.keyboard.press("ArrowDown")
    expect(stage).to_have_value("negotiation")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('#preview-form button[type=submit]')"):
            break
    else:
        pytest.fail("Tab never reached the preview form's submit button")
    # The focused control shows a visible focus ring.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("#results")).to_be_focused()
    assert len(result_ids(page)) == 10
    assert "stage=negotiation" in page.url  # a shareable URL


# --- compare ------------------------------------------------------------------------------------
def test_compare_two_maturity_levels_side_by_side(
    console_page: Any, e2e: E2EWorkspace, server: Server
) -> None:
    page = console_page
    sign_in(page, e2e.keys["manager"], "/console/compare?partner_id=P0002")
    page.get_by_label("Two maturity levels").check()
    page.get_by_label("Left maturity").select_option("new")
    page.get_by_label("Right maturity").select_option("strategic")
    # The other dimensions' pairs are hidden while maturity is chosen (JS nicety).
    expect(page.get_by_label("Left stage")).to_be_hidden()
    page.get_by_label("Deal stage", exact=True).select_option("solution")
    page.get_by_label("Industry", exact=True).select_option("logistics")
    page.get_by_label("Number of assets").fill("8")
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(page.locator("#comparison")).to_be_visible()
    screenshot(page, "compare")

    left = result_ids(page, "section.side[data-side=left] ol.results")
    right = result_ids(page, "section.side[data-side=right] ol.results")
    context = {"stage": "solution", "industry": "logistics"}
    for maturity, shown in (("new", left), ("strategic", right)):
        body = {
            "partner_id": "P0002",
            "partner": {"maturity": maturity},
            "context": context,
            "n": 8,
        }
        assert shown == api_ids(server, e2e, body), maturity
    assert left != right, "the two maturity levels should rank differently"

    diff = rank_diff(left, right)
    summary = page.locator("#comparison .summary").text_content()
    for kind in ("up", "down", "new", "out"):
        phrase = {"up": "moved up", "down": "moved down", "new": "came in", "out": "dropped out"}[
            kind
        ]
        assert f"{diff.count(kind)} {phrase}" in summary
    for move in diff.right:
        li = page.locator(
            f"section.side[data-side=right] li.result[data-asset-id='{move.asset_id}']"
        )
        expect(li.locator(".move")).to_have_class(re.compile(f"move-{move.kind}"))
    for move in diff.left:
        if move.kind == "out":
            li = page.locator(
                f"section.side[data-side=left] li.result[data-asset-id='{move.asset_id}']"
            )
            expect(li.locator(".move")).to_have_text(re.compile("out"))


# --- steer --------------------------------------------------------------------------------------
def test_pin_shows_first_and_hide_removes_in_console_and_api(
    console_page: Any, e2e: E2EWorkspace, server: Server
) -> None:
    page = console_page
    partner = "P0005"  # silver, established
    body = {"partner_id": partner, "context": {"stage": "discovery"}, "n": 10}
    before = api_ids(server, e2e, body)
    pin_target, hide_target = before[4], before[1]
    preview_url = f"/console/preview?partner_id={partner}&stage=discovery&n=10"

    sign_in(page, e2e.keys["manager"], "/console/steer")
    page.get_by_label("Action", exact=True).select_option("pin")
    page.get_by_label("Asset id").fill(pin_target)
    page.get_by_label("Applies to").select_option("partner")
    page.get_by_label("Partner id").fill(partner)
    page.get_by_label("Comment").fill("e2e: show this first")
    page.get_by_role("button", name="Save override").click()
    expect(page.locator(".message-success")).to_contain_text("saved")

    page.goto(preview_url)
    assert result_ids(page)[0] == pin_target
    first = page.locator("ol.results > li.result").first
    expect(first.locator(".reasons > li[data-code=pinned]")).to_have_count(1)
    api = api_recommend(server, e2e, body).json()["items"]
    assert api[0]["asset_id"] == pin_target  # the API too, on the next request, no restart
    assert api[0]["reasons"][0]["code"] == "pinned"

    # Hide one for the partner's whole segment (tier x maturity), with an expiry.
    page.goto("/console/steer")
    page.get_by_label("Action", exact=True).select_option("hide")
    page.get_by_label("Asset id").fill(hide_target)
    page.get_by_label("Applies to").select_option("segment")
    expect(page.get_by_label("Partner id")).to_be_hidden()
    page.get_by_label("Tier", exact=True).select_option("silver")
    page.get_by_label("Maturity", exact=True).select_option("established")
    page.get_by_label("Expires (UTC)").fill("2099-12-31T23:00")
    page.get_by_label("Comment").fill("e2e: outdated for this segment")
    page.get_by_role("button", name="Save override").click()
    expect(page.locator(".message-success")).to_contain_text("saved")

    page.goto(preview_url)
    shown = result_ids(page)
    assert hide_target not in shown and shown[0] == pin_target
    assert hide_target not in api_ids(server, e2e, body)

    page.goto("/console/steer")
    rows = page.locator("table.overrides tbody tr")
    expect(rows.filter(has_text="e2e: show this first")).to_have_count(1)
    hide_row = page.locator(f"table.overrides tr[data-asset-id='{hide_target}']")
    expect(hide_row).to_contain_text("2099-12-31T23:00:00")
    expect(hide_row).to_contain_text("segment Silver × Established")
    audit = page.locator("table.audit tbody")
    expect(audit).to_contain_text("override.pin")
    expect(audit).to_contain_text("override.hide")
    expect(audit.locator("tr").filter(has_text="override.hide").first).to_contain_text(
        "e2e manager"
    )
    screenshot(page, "steer")

    # Removing both brings the original ranking back, again without a restart.
    for target in (hide_target, pin_target):
        page.locator(f"table.overrides tr[data-asset-id='{target}'] button").click()
        expect(page.locator(".message-success")).to_contain_text("removed")
    assert api_ids(server, e2e, body) == before
    expect(page.locator("table.audit tbody")).to_contain_text("override.remove")


# --- language -----------------------------------------------------------------------------------
def test_language_switch_translates_every_label(console_page: Any, e2e: E2EWorkspace) -> None:
    page = console_page
    sign_in(page, e2e.keys["manager"], "/console/preview?partner_id=P0003")
    page.get_by_role("link", name="Українська").click()
    expect(page.locator("html")).to_have_attribute("lang", "uk")
    assert "partner_id=P0003" in page.url  # back on the same page
    uk = tables()["uk"]
    nav = page.get_by_role("navigation", name=uk["nav.label"])
    assert nav.get_by_role("link").all_text_contents() == [
        uk[f"nav.{k}"]
        for k in ("preview", "compare", "steer", "coverage", "awareness", "portfolio", "digest")
    ]
    expect(page.get_by_role("heading", level=1)).to_have_text(uk["preview.title"])
    stage = page.get_by_label(uk["field.stage"])
    assert stage.locator("option").all_text_contents() == [
        uk[f"stage.{s}"]
        for s in (
            "prospecting",
            "qualification",
            "discovery",
            "solution",
            "negotiation",
            "closing",
            "post_sale",
        )
    ]
    expect(page.get_by_label(uk["field.buyer_role"])).to_be_visible()
    expect(page.get_by_role("button", name=uk["preview.submit"])).to_be_visible()
    expect(page.get_by_role("button", name=uk["user.sign_out"])).to_be_visible()
    page.get_by_role("button", name=uk["preview.submit"]).click()
    expect(page.get_by_role("heading", name=re.compile("точно так"))).to_be_visible()
    # No English label is left on the page (catalog titles and reason texts are content).
    labels = page.locator("label, legend, h1, h2, th, button, .main-nav a").all_text_contents()
    english = {v for k, v in tables()["en"].items() if v != uk.get(k)}
    assert not [text for text in labels if text.strip() in english]
    screenshot(page, "preview-uk")

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview")
    assert next(c for c in page.context.cookies() if c["name"] == "lang")["value"] == "en"


# --- hostile catalog text -----------------------------------------------------------------------
def test_hostile_titles_render_as_text(
    console_page: Any, e2e: E2EWorkspace, server: Server
) -> None:
    page = console_page
    partner = "P0006"
    created = [
        manager_api(
            server, e2e, "POST", "/v1/overrides",
            json={"action": "pin", "asset_id": asset_id, "scope": "partner", "partner_id": partner},
        ).json()["override_id"]
        for asset_id in (HOSTILE_ID, HOSTILE_IMG_ID)
    ]  # fmt: skip
    try:
        sign_in(page, e2e.keys["manager"], f"/console/preview?partner_id={partner}&stage=discovery")
        assert result_ids(page)[:2] == [HOSTILE_ID, HOSTILE_IMG_ID]
        script_item = page.locator(f"li.result[data-asset-id='{HOSTILE_ID}'] .asset-title")
        expect(script_item).to_have_text(HOSTILE_TITLE)
        assert script_item.evaluate("e => e.tagName") == "SPAN"  # its javascript: URL is no link
        img_item = page.locator(f"li.result[data-asset-id='{HOSTILE_IMG_ID}'] .asset-title")
        expect(img_item).to_have_text(HOSTILE_IMG_TITLE)
        assert page.locator("img").count() == 0
        scripts = page.evaluate("[...document.scripts].map(s => s.src)")
        assert len(scripts) == 1 and "/console/static/console.js" in scripts[0]
        assert page.locator("a[href^='javascript']").count() == 0
        screenshot(page, "hostile")

        page.goto("/console/steer")
        row = page.locator(f"table.overrides tr[data-asset-id='{HOSTILE_ID}'] .asset-title")
        expect(row).to_have_text(HOSTILE_TITLE)
        page.goto("/console/coverage?cell=discovery:new")
        page.goto(f"/console/awareness?partner_id={partner}")
        assert page.dialogs == [], f"a script ran: {page.dialogs}"
    finally:
        for override_id in created:
            manager_api(server, e2e, "DELETE", f"/v1/overrides/{override_id}")


# --- coverage -----------------------------------------------------------------------------------
def _cells(page: Any) -> dict[tuple[str, str], tuple[int, str]]:
    data = page.locator("table.coverage td.cell").evaluate_all(
        "els => els.map(e => [e.dataset.stage, e.dataset.maturity, +e.dataset.count, e.className])"
    )
    return {(s, m): (c, cls) for s, m, c, cls in data}


def test_coverage_matrix_counts_filters_and_colours(console_page: Any, e2e: E2EWorkspace) -> None:
    page = console_page
    sign_in(page, e2e.keys["manager"], "/console/coverage")
    expect(page.locator("#coverage-definition")).to_contain_text("content score")
    everything = _cells(page)
    assert len(everything) == 7 * 5
    for count, cls in everything.values():
        assert f"level-{coverage_level(count)}" in cls  # thin = red, none = dark red...
    assert any(c > 0 for c, _ in everything.values())

    page.get_by_label("Asset language").select_option("ru")
    page.get_by_role("button", name="Apply").click()
    russian = _cells(page)
    assert all(russian[k][0] <= everything[k][0] for k in everything)
    assert sum(c for c, _ in russian.values()) < sum(c for c, _ in everything.values())

    page.get_by_label("Asset language").select_option("")
    page.get_by_label("Industry", exact=True).select_option("banking")
    page.get_by_role("button", name="Apply").click()
    assert "industry=banking" in page.url
    banking = _cells(page)
    stage, maturity = max(banking, key=lambda k: banking[k][0])
    page.locator(f"td.cell[data-stage={stage}][data-maturity={maturity}] a").click()
    expect(page.locator("#cell .asset-list > li")).to_have_count(banking[(stage, maturity)][0])
    screenshot(page, "coverage")


# --- localisation -------------------------------------------------------------------------------
def _families(page: Any) -> list[dict[str, Any]]:
    return page.locator("table.localisation tbody tr").evaluate_all(
        """els => els.map(e => ({family: e.dataset.family, partners: +e.dataset.partners,
            shown: +e.dataset.shown, missing: e.dataset.missing,
            title: e.querySelector('.asset-title').textContent}))"""
    )


def test_localisation_view_lists_missing_languages_and_sorts(
    console_page: Any, e2e: E2EWorkspace
) -> None:
    page = console_page
    sign_in(page, e2e.keys["manager"], "/console/coverage")
    section = page.locator("#localisation")
    expect(section.get_by_role("heading", name="Localisation")).to_be_visible()
    rows = _families(page)
    by_family = {r["family"]: r for r in rows}
    # the battlecard exists in en and uk: Russian is missing; the case studies are complete
    assert by_family["battlecard-polar"]["missing"] == "ru"
    row = section.locator("tr[data-family=battlecard-polar]")
    expect(row.locator(".badge-lang")).to_have_text(["UK", "EN"])
    assert not {"case-bank", "case-hospital", "case-retail"} & set(by_family)
    readers = {p: set(langs) for p, langs in e2e.partner_languages.items() if langs}
    assert by_family["battlecard-polar"]["partners"] == sum(
        1 for langs in readers.values() if not langs & {"en", "uk"}
    )
    # sorted by partners who read only missing languages, most first
    counts = [r["partners"] for r in rows]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    expect(section.locator("th[aria-sort=descending]")).to_contain_text("Partners reading only")

    section.get_by_role("link", name="Sort by Shown untranslated").click()
    assert "loc_sort=shown" in page.url
    rows = _families(page)
    shown = [r["shown"] for r in rows]
    assert shown == sorted(shown, reverse=True)
    # against the journal itself (earlier tests' API calls journal impressions too): the
    # impressions of each asset to partners whose languages do not include the asset's
    from recommender.storage.events import EventJournal

    with EventJournal(e2e.workspace.events_path) as journal:
        logged = journal.read(types=["impression"], columns=["partner_id", "asset_id"])
    language = {"roi-storage": "en", "battlecard-polar-en": "en", "battlecard-polar-uk": "uk"}
    unread = Counter(
        a
        for p, a in zip(logged["partner_id"], logged["asset_id"], strict=True)
        if a in language and language[a] not in (e2e.partner_languages.get(p) or (language[a],))
    )
    by_family = {r["family"]: r["shown"] for r in rows}
    assert by_family["roi-storage"] == unread["roi-storage"] >= UNREAD_IMPRESSIONS["roi-storage"]
    assert (
        by_family["battlecard-polar"]
        == unread["battlecard-polar-en"] + unread["battlecard-polar-uk"]
    )
    screenshot(page, "localisation")

    section.get_by_role("link", name="Sort by Family").click()
    titles = [r["title"].casefold() for r in _families(page)]
    assert titles == sorted(titles)


def test_preview_shows_one_translation_with_its_other_languages(
    console_page: Any, e2e: E2EWorkspace, server: Server
) -> None:
    page = console_page
    sign_in(page, e2e.keys["manager"])
    page.goto(f"/console/preview?partner_id={UK_ONLY_PARTNER}")
    page.get_by_label("Deal stage").select_option("discovery")
    page.get_by_label("Notes").fill("Банк хоче скоротити час звірки, потрібен кейс")
    page.get_by_label("Number of assets").fill("10")
    page.get_by_role("button", name="Show recommendations").click()
    expect(page.locator("#results")).to_be_visible()
    ids = result_ids(page)
    assert "case-bank-uk" in ids and not {"case-bank-en", "case-bank-ru"} & set(ids)
    item = page.locator("li.result[data-asset-id=case-bank-uk]")
    expect(item.locator("li[data-code=also_in]")).to_contain_text("Also in Russian and English")
    body = json.loads(page.locator("#request-json").text_content())
    assert ids == api_ids(server, e2e, body)
    screenshot(page, "preview-also-in")


# --- awareness ----------------------------------------------------------------------------------
def test_awareness_lists_relevant_unopened_assets(console_page: Any, e2e: E2EWorkspace) -> None:
    page = console_page
    sign_in(page, e2e.keys["manager"], "/console/awareness")
    page.get_by_label("Partner name or id").fill("Zaporizhzhia Systems")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="Zaporizhzhia Systems LLC").click()
    expect(page.locator("#awareness")).to_contain_text("opened 3 assets")
    rows = page.locator("table.awareness tbody tr")
    ids = rows.evaluate_all("els => els.map(e => e.dataset.assetId)")
    assert ids and not set(ids) & set(e2e.opened)  # the opened ones (its top three) are gone
    relevance = page.locator("table.awareness tbody data").evaluate_all(
        "els => els.map(e => +e.getAttribute('value'))"
    )
    assert relevance == sorted(relevance, reverse=True)
    assert AWARE_PARTNER in page.url
    screenshot(page, "awareness")


# --- portfolio and digests -----------------------------------------------------------------
def _partner(server: Server, e2e: E2EWorkspace, partner_id: str) -> dict[str, Any]:
    return manager_api(server, e2e, "GET", f"/v1/partners/{partner_id}").json()


def test_portfolio_shows_a_managers_partners_sorts_and_exports(
    console_page: Any, e2e: E2EWorkspace, server: Server
) -> None:
    page = console_page
    manager = _partner(server, e2e, AWARE_PARTNER)["manager"]
    assert manager, "the demo partners have a channel manager"
    sign_in(page, e2e.keys["manager"], "/console/portfolio")
    page.get_by_label("Channel manager").select_option(manager)
    page.get_by_role("button", name="Apply").click()
    ids = page.locator("table.portfolio tbody tr").evaluate_all(
        "els => els.map(e => e.dataset.partnerId)"
    )
    mine = [pid for pid in e2e.partner_ids if _partner(server, e2e, pid)["manager"] == manager]
    assert sorted(ids) == sorted(mine) and AWARE_PARTNER in ids
    row = page.locator(f'tr[data-partner-id="{AWARE_PARTNER}"]')
    expect(row.locator('[data-col="engaged_30d"]')).to_have_text("3")  # opened yesterday
    expect(row.locator("svg.sparkline")).to_have_attribute("aria-label", re.compile(r"3$"))
    page.locator('a[data-sort="never_opened"]').click()  # ascending
    page.locator('a[data-sort="never_opened"]').click()  # then descending
    expect(page.locator('th[aria-sort="descending"]')).to_contain_text("Never opened")
    counts = [int(v) for v in page.locator('td[data-col="never_opened"] a').all_inner_texts()]
    assert counts == sorted(counts, reverse=True) and len(counts) == len(mine)
    shown = page.locator("table.portfolio tbody tr").evaluate_all(
        "els => els.map(e => e.dataset.partnerId)"
    )
    with page.expect_download() as info:
        page.get_by_role("link", name="Download as CSV").click()
    exported = Path(info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["partner_id"] for r in rows] == shown  # the same rows in the same order
    screenshot(page, "portfolio")
    page.locator('a[data-lang="uk"]').click()
    expect(page.locator("h1")).to_have_text("Портфель")
    expect(page.locator("table.portfolio thead")).to_contain_text("Не відкривали")
    screenshot(page, "portfolio-uk")


def test_a_digest_is_previewed_sent_and_its_link_counted(
    console_page: Any, e2e: E2EWorkspace, server: Server
) -> None:
    page = console_page
    sign_in(page, e2e.keys["manager"], f"/console/digest?partner_id={AWARE_PARTNER}&n=4")
    article = page.locator(f'article.digest[data-partner-id="{AWARE_PARTNER}"]')
    ids = article.locator("li").evaluate_all("els => els.map(e => e.dataset.assetId)")
    assert 1 <= len(ids) <= 4 and not set(ids) & set(e2e.opened)
    languages = _partner(server, e2e, AWARE_PARTNER)["languages"]
    expected = next((lang for lang in languages if lang in ("uk", "ru", "en")), "en")
    expect(article).to_have_attribute("lang", expected)
    screenshot(page, "digest")
    page.get_by_label("Format").select_option("md")
    with page.expect_download() as info:
        page.get_by_role("button", name="Record as sent and download").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    links = re.findall(r"\]\((http[^)\s]+/r/[^)\s]+)\)", text)
    assert links and len(links) <= len(ids)  # an asset without a web address has no link
    followed = httpx.get(links[0], follow_redirects=False, timeout=30)
    assert followed.status_code == 302
    # the portfolio counts the open against the digest just sent
    page.goto(f"/console/portfolio?q={AWARE_PARTNER}")
    cell = page.locator(f'tr[data-partner-id="{AWARE_PARTNER}"] [data-col="last_digest"]')
    expect(cell).to_contain_text(f"1 of {len(ids)} opened")
    # and the next digest does not repeat what was sent
    page.goto(f"/console/digest?partner_id={AWARE_PARTNER}&n=4")
    again = article.locator("li").evaluate_all("els => els.map(e => e.dataset.assetId)")
    assert not set(again) & set(ids)
    page.locator('a[data-lang="uk"]').click()
    expect(page.locator("h1")).to_have_text("Дайджести")
    screenshot(page, "digest-uk")


# --- models (admin); last, since it changes the serving model -----------------------------------
def test_models_page_is_admin_only_and_promotes_and_rolls_back(
    console_page: Any, e2e: E2EWorkspace, server: Server
) -> None:
    page = console_page
    sign_in(page, e2e.keys["manager"])
    expect(
        page.get_by_role("navigation", name="Console pages").get_by_role("link", name="Models")
    ).to_have_count(0)
    response = page.goto("/console/models")
    assert response is not None and response.status == 403
    expect(page.get_by_role("main")).to_contain_text("needs an admin key")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, e2e.keys["admin"], "/console/models")
    expect(page.locator("#serving")).to_have_text("Serving now: playbook")
    rows = page.locator("table.models tbody tr")
    expect(rows).to_have_count(len(e2e.versions))
    target = e2e.versions[-1]
    expect(page.locator(f"tr[data-version='{target}']")).to_contain_text("ndcg@10")

    page.get_by_role("button", name=f"Promote {target}").click()
    expect(page.locator(".message-success")).to_contain_text(f"{target} promoted")
    expect(page.locator("#serving")).to_have_text(f"Serving now: {target}")
    body = {"partner_id": "P0002", "context": {"stage": "discovery"}, "n": 3}
    assert api_recommend(server, e2e, body).headers["X-Model-Version"] == target

    page.locator(f"tr[data-version='{target}']").get_by_role("link", name="Model card").click()
    card = page.frame_locator("iframe.model-card")
    expect(card.locator("h1")).to_have_text("Model card 2")
    expect(page.locator("iframe.model-card")).to_have_attribute("sandbox", "")
    screenshot(page, "models")
    assert page.dialogs == [], "the model card's script must not run"

    page.get_by_role("button", name="Roll back to the previous version").click()
    expect(page.locator(".message-success")).to_contain_text("Rolled back")
    expect(page.locator("#serving")).to_have_text("Serving now: playbook")
    assert api_recommend(server, e2e, body).headers["X-Model-Version"] == "playbook"


def _treatment_slots(e2e: E2EWorkspace, request_ids: list[str]) -> dict[str, str]:
    """request id -> an asset the treatment placed in it, from the server's journal (the
    impression writer commits within about a second)."""
    import time

    from recommender import EventJournal

    deadline = time.monotonic() + 30
    while True:
        with EventJournal(e2e.workspace.events_path) as journal:
            shown, _ = journal.experiment_events("console-il")
        rows = shown[shown["request_id"].isin(request_ids) & (shown["arm"] == "treatment")]
        found = rows.groupby("request_id")["asset_id"].first().to_dict()
        if len(found) == len(request_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_an_experiment_from_start_to_the_promoted_winner(
    console_page: Any, e2e: E2EWorkspace, server: Server
) -> None:
    page = console_page
    control, treatment = e2e.versions
    sign_in(page, e2e.keys["admin"], "/console/models")
    experiments = page.get_by_role("region", name="Experiments")
    expect(experiments).to_contain_text("No experiments yet.")
    page.get_by_label("Name", exact=True).fill("console-il")
    page.get_by_label("Control", exact=True).select_option(control)
    page.get_by_label("Treatment", exact=True).select_option(treatment)
    page.get_by_label("Method", exact=True).select_option("interleave")
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".message-success")).to_contain_text("Experiment console-il started")
    row = page.locator("tr[data-experiment='console-il']")
    expect(row).to_contain_text("running")
    expect(page.locator("#experiment")).to_contain_text("No requests served in the experiment")
    expect(page.get_by_role("button", name="Promote the winner")).to_be_disabled()

    # seven partners' requests, each with an open on a slot the treatment placed
    bodies = [{"partner_id": p, "context": {"stage": "discovery"}, "n": 6}
              for p in e2e.partner_ids[:7]]  # fmt: skip
    answers = [api_recommend(server, e2e, body).json() for body in bodies]
    assert {a["experiment"] for a in answers} == {"console-il"}
    slots = _treatment_slots(e2e, [a["request_id"] for a in answers])
    assert len(slots) == 7
    now = datetime.now(UTC).isoformat()
    events = [{"event_id": f"console-il-{k}", "ts": now, "type": "open",
               "partner_id": body["partner_id"], "asset_id": slots[a["request_id"]],
               "request_id": a["request_id"]}
              for k, (body, a) in enumerate(zip(bodies, answers, strict=True))]  # fmt: skip
    posted = httpx.post(f"{server.url}/v1/events", json={"events": events},
                        headers={"X-API-Key": e2e.keys["portal"]}, timeout=30)  # fmt: skip
    assert posted.status_code == 200 and posted.json()["accepted"] == 7, posted.text

    page.goto("/console/models?experiment=console-il")
    report = page.locator("#experiment")
    expect(report.locator("dd.wins")).to_have_text("7")
    expect(report.locator("dd.losses")).to_have_text("0")
    expect(report).to_contain_text(f"Treatment ({treatment}) wins")
    expect(report.locator("svg[role='img'] polyline.effect-line")).to_have_count(1)
    expect(report.get_by_role("img")).to_have_accessible_name(re.compile("win rate"))
    screenshot(page, "experiment")

    page.get_by_role("button", name="Promote the winner").click()
    expect(page.locator(".message-success")).to_contain_text(
        f"Experiment console-il stopped and {treatment} promoted"
    )
    expect(page.locator("#serving")).to_have_text(f"Serving now: {treatment}")
    expect(row).to_contain_text("stopped")
    after = api_recommend(server, e2e, bodies[0]).json()
    assert after["model_version"] == treatment and "experiment" not in after
    page.get_by_role("button", name="Roll back to the previous version").click()
    expect(page.locator("#serving")).to_have_text("Serving now: playbook")
