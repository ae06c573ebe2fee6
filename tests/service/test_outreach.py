"""Tracked links, the partner's manager, the portfolio and digests over HTTP (TestClient on
the real app): a good link records one open tied to its digest and redirects to the asset's
own URL; forged, expired and tampered links record nothing; the API can hand out tracked
links; the portfolio (and its CSV) and the digest page work for a signed-in manager."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recommender.outreach.links import LinkSigner
from recommender.storage.events import EventJournal
from tests.service.helpers import Api
from tests.support import recommendation_body


def _opens(api: Api, partner_id: str) -> list[dict[str, Any]]:
    with EventJournal(api.workspace.events_path) as journal:
        frame = journal.partner_events([partner_id], types=["open"])
    return frame.to_dict("records")


def _asset_with_url(api: Api) -> tuple[str, str]:
    snapshot = api.state.snapshot
    for asset_id in snapshot.catalog.asset_ids:
        url = snapshot.catalog.asset(asset_id).get("url")
        if isinstance(url, str) and url.startswith("http"):
            return str(asset_id), url
    raise AssertionError("the fixture has an asset with a URL")


def _token(api: Api, asset_id: str, partner_id: str, **kw: Any) -> str:
    signer: LinkSigner = api.state.links
    return signer.token(asset_id=asset_id, partner_id=partner_id,
                        source=kw.get("source", "digest"),
                        source_id=kw.get("source_id", "dg-20261206-0000abcd"),
                        now=kw.get("now"))  # fmt: skip


def test_the_portfolio_says_when_the_journal_is_behind(api: Api) -> None:
    """First in the module: its journal holds only the seeded usage of late 2025."""
    client = TestClient(api.app, follow_redirects=False)
    client.post(
        "/console/login",
        data={"key": api.keys["manager"], "next": "/console/portfolio"},
        headers={"Origin": "http://testserver"},
    )
    page = client.get("/console/portfolio")
    assert page.status_code == 200
    behind = re.search(r'id="journal-behind">[^<]*<a href="([^"]+)"', page.text)
    assert behind is not None and "as_of=2025-12-" in behind.group(1).replace("&amp;", "&")


def test_a_good_link_records_one_open_and_redirects_to_the_assets_own_url(api: Api) -> None:
    asset_id, url = _asset_with_url(api)
    partner_id = sorted(api.state.snapshot.partners)[0]
    before = len(_opens(api, partner_id))
    token = _token(api, asset_id, partner_id)
    first = api.client.get(f"/r/{token}", follow_redirects=False)
    assert first.status_code == 302 and first.headers["location"] == url
    assert first.headers["cache-control"] == "no-store"
    again = api.client.get(f"/r/{token}", follow_redirects=False)  # a double click
    assert again.status_code == 302
    opens = _opens(api, partner_id)
    assert len(opens) == before + 1
    newest = opens[-1]
    assert (newest["asset_id"], newest["request_id"]) == (asset_id, "dg-20261206-0000abcd")
    assert asset_id in api.state.seen.get(partner_id)  # seen at once, not after the cache ttl


def test_forged_expired_and_tampered_links_record_nothing(api: Api) -> None:
    asset_id, url = _asset_with_url(api)
    partner_id = sorted(api.state.snapshot.partners)[1]
    before = len(_opens(api, partner_id))
    token = _token(api, asset_id, partner_id)
    head, signature = token.rsplit(".", 1)
    forged = f"{head}.{signature[::-1]}"
    page = api.client.get(f"/r/{forged}", follow_redirects=False)
    assert page.status_code == 400 and "not valid" in page.text
    assert "location" not in page.headers
    uk = api.client.get(f"/r/{forged}", headers={"Accept-Language": "uk-UA,uk;q=0.9"})
    assert "недійсне" in uk.text
    old = _token(api, asset_id, partner_id, now=datetime.now(UTC) - timedelta(days=400))
    expired = api.client.get(f"/r/{old}", follow_redirects=False)
    assert expired.status_code == 410 and "expired" in expired.text
    # a redirect target smuggled in the query is ignored: it goes to the asset's own URL
    tampered = api.client.get(
        f"/r/{token}?url=https://evil.example.com&next=//evil.example.com", follow_redirects=False
    )
    assert tampered.status_code == 302 and tampered.headers["location"] == url
    assert len(_opens(api, partner_id)) == before + 1  # only the genuine one
    # a genuine token for an asset the catalog does not have: nothing to open
    ghost = _token(api, "A9999", partner_id)
    gone = api.client.get(f"/r/{ghost}", follow_redirects=False)
    assert gone.status_code == 404 and len(_opens(api, partner_id)) == before + 1


def test_the_api_hands_out_tracked_links_under_the_response_request_id(api: Api) -> None:
    partner_id = sorted(api.state.snapshot.partners)[2]
    body = {**recommendation_body(partner_id, n=3), "tracked_links": True}
    answer = api.post("/v1/recommendations", body).json()
    items = [i for i in answer["items"] if i["url"]]
    assert items and all(i["tracked_url"].startswith("http://testserver/r/") for i in items)
    followed = api.client.get(items[0]["tracked_url"], follow_redirects=False)
    assert followed.status_code == 302 and followed.headers["location"] == items[0]["url"]
    assert _opens(api, partner_id)[-1]["request_id"] == answer["request_id"]
    plain = api.post("/v1/recommendations", recommendation_body(partner_id, n=3)).json()
    assert all(i.get("tracked_url") is None for i in plain["items"])


def test_a_partners_manager_is_stored_and_shown(api: Api) -> None:
    partner_id = sorted(api.state.snapshot.partners)[3]
    shown = api.get(f"/v1/partners/{partner_id}", "manager").json()
    assert shown["manager"]  # the demo partners have one
    body = {k: v for k, v in shown.items() if k not in ("partner_id",)}
    body["manager"] = "Test Manager"
    assert api.put(f"/v1/partners/{partner_id}", body).status_code == 200
    assert api.get(f"/v1/partners/{partner_id}", "manager").json()["manager"] == "Test Manager"
    assert api.state.snapshot.partners[partner_id].manager == "Test Manager"


# --- the console ------------------------------------------------------------------------------
@pytest.fixture
def console(api: Api) -> Iterator[TestClient]:
    """A client signed in to the console with the manager key (its own cookies)."""
    client = TestClient(api.app, follow_redirects=False)
    signed = client.post(
        "/console/login",
        data={"key": api.keys["manager"], "next": "/console/portfolio"},
        headers={"Origin": "http://testserver"},
    )
    assert signed.status_code == 303, signed.text
    yield client


def _row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-partner-id="([^"]+)"', html)


def test_the_portfolio_lists_a_managers_partners_sorted_and_as_csv(
    api: Api, console: TestClient
) -> None:
    partners = api.state.snapshot.partners
    manager = sorted({p.manager for p in partners.values() if p.manager})[0]
    mine = {pid for pid, p in partners.items() if p.manager == manager}
    page = console.get("/console/portfolio", params={"manager": manager, "as_of": "2025-12-01"})
    assert page.status_code == 200
    ids = _row_ids(page.text)
    assert set(ids) == mine
    assert "Engaged (30 days)" in page.text and 'class="sparkline"' in page.text
    by_never = console.get(
        "/console/portfolio",
        params={"manager": manager, "as_of": "2025-12-01", "sort": "never_opened", "order": "desc"},
    )
    counts = [
        int(c) for c in re.findall(r'data-col="never_opened"><a [^>]+>(\d+)</a>', by_never.text)
    ]
    assert len(counts) == len(mine) and counts == sorted(counts, reverse=True)
    exported = console.get(
        "/console/portfolio.csv", params={"manager": manager, "as_of": "2025-12-01"}
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["partner_id"] for r in rows} == mine
    assert all(r["manager"] == manager for r in rows)
    # the seeded usage (October-November 2025) shows as of 2025-12-01, not as of today
    assert sum(int(r["engaged_90d"]) for r in rows) > 0
    filtered = console.get(
        "/console/portfolio", params={"manager": manager, "tier": "registered", "q": "zz-none"}
    )
    assert _row_ids(filtered.text) == [] and "No partner matches" in filtered.text


def test_a_digest_previews_then_records_and_downloads(api: Api, console: TestClient) -> None:
    partner_id = sorted(api.state.snapshot.partners)[4]
    preview = console.get("/console/digest", params={"partner_id": partner_id, "n": 3})
    assert preview.status_code == 200
    shown = re.findall(r'<li data-asset-id="([^"]+)"', preview.text)
    assert 1 <= len(shown) <= 3
    assert api.state.digests.last(partner_id) is None  # a preview records nothing
    csrf = re.search(r'name="csrf" value="([^"]+)"', preview.text)
    assert csrf is not None
    sent = console.post(
        "/console/digest",
        data={"csrf": csrf.group(1), "partner_id": partner_id, "n": "3", "format": "json"},
        headers={"Origin": "http://testserver"},
    )
    assert sent.status_code == 200, sent.text
    assert "attachment" in sent.headers["content-disposition"]
    doc = sent.json()
    (digest,) = doc["digests"]
    record = api.state.digests.last(partner_id)
    assert record is not None and record.digest_id == digest["digest_id"]
    assert list(record.asset_ids) == [i["asset_id"] for i in digest["items"]]
    assert all(i["link"].startswith("http://testserver/r/") for i in digest["items"] if i["url"])
    again = console.get("/console/digest", params={"partner_id": partner_id, "n": 3})
    assert not set(re.findall(r'<li data-asset-id="([^"]+)"', again.text)) & set(record.asset_ids)
    forged = console.post(
        "/console/digest",
        data={"csrf": "nope", "partner_id": partner_id, "format": "md"},
        headers={"Origin": "http://testserver"},
    )
    assert forged.status_code == 403
