"""Digests on a real snapshot: what is left out (opened, sent before, hidden, unreadable),
what comes first (pinned, then new, then relevance), the partner's language, tracked links
that verify back to the digest, and the three formats with catalog text that tries markup."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from recommender.outreach.awareness import awareness
from recommender.outreach.digests import (
    DigestItem,
    PartnerDigest,
    build_digest,
    build_digests,
    digest_language,
    record,
    render,
)
from recommender.outreach.links import LinkSigner
from recommender.outreach.store import DigestStore
from recommender.ranking.snapshot import Snapshot
from recommender.steering.overrides import Override
from recommender.types import PartnerProfile
from recommender.workspace import Workspace

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
SIGNER = LinkSigner(bytes(range(32)))


def _reader(snapshot: Snapshot, language: str) -> PartnerProfile:
    """A stored partner that reads only `language`."""
    partner = next(p for p in snapshot.partners.values() if language in p.languages)
    return replace(partner, languages=(language,))


def test_opened_sent_and_unreadable_assets_are_left_out(snapshot: Snapshot) -> None:
    partner = _reader(snapshot, "uk")
    ranked, _ = awareness(snapshot, partner, set(), limit=None, languages=("uk",), now=NOW)
    assert len(ranked) >= 8, "the fixture has enough Ukrainian assets to choose from"
    opened = {ranked[0].asset_id}
    sent = {ranked[1].asset_id, ranked[2].asset_id}
    digest = build_digest(snapshot, partner, opened=opened, already_sent=sent, n=4, now=NOW)
    ids = [item.asset_id for item in digest.items]
    assert len(ids) == 4 and not (set(ids) & (opened | sent))
    # the partner's awareness ranking as if it had opened those too (ranks move up when
    # assets leave the lists, so relevance is recomputed without them)
    rest, _ = awareness(snapshot, partner, opened | sent, limit=4, languages=("uk",), now=NOW)
    assert ids == [r.asset_id for r in rest]
    languages = {snapshot.catalog.asset(a).get("language") for a in ids}
    assert languages <= {"uk", None}
    assert digest.language == "uk" and digest.partner_id == partner.partner_id
    # the reasons speak the partner's language and name the stages
    assert all("Етапи:" in item.reason for item in digest.items)


def test_pinned_first_then_new_and_hidden_never(snapshot: Snapshot) -> None:
    partner = _reader(snapshot, "en")
    ranked, _ = awareness(snapshot, partner, set(), limit=None, languages=("en",), now=NOW)
    hidden, pinned = ranked[0].asset_id, ranked[-1].asset_id
    steered = snapshot.with_changes(
        overrides=(
            Override("o1", "hide", hidden, "global"),
            Override("o2", "pin", pinned, "partner", partner_id=partner.partner_id),
        )
    )
    # "new": published on or after the newest publication day among the rest
    published = {r.asset_id: snapshot.catalog.asset(r.asset_id).get("published_at") for r in ranked}
    days = sorted({str(d)[:10] for d in published.values() if d is not None})
    since = datetime.fromisoformat(days[-1]).replace(tzinfo=UTC)
    digest = build_digest(steered, partner, opened=set(), since=since, n=6, now=NOW)
    ids = [item.asset_id for item in digest.items]
    assert hidden not in ids
    assert ids[0] == pinned and digest.items[0].pinned
    assert digest.items[0].reason.startswith("Chosen for you by your channel manager")
    flags = [item.new for item in digest.items[1:]]
    assert flags == sorted(flags, reverse=True), "new ones come right after the pins"
    for item in digest.items[1:]:
        assert item.new == (str(published[item.asset_id])[:10] >= days[-1])
    # without a day to count from, nothing is new
    assert not any(i.new for i in build_digest(steered, partner, opened=set(), now=NOW).items)


def test_tracked_links_verify_back_to_the_digest(snapshot: Snapshot) -> None:
    partner = _reader(snapshot, "uk")
    digest = build_digest(snapshot, partner, opened=set(), n=3, signer=SIGNER,
                          base_url="https://reco.example.com/", now=NOW)  # fmt: skip
    for item in digest.items:
        assert item.url is not None and item.url.startswith("https://")
        assert item.link is not None and item.link.startswith("https://reco.example.com/r/")
        claim = SIGNER.verify(item.link.rsplit("/", 1)[1], now=NOW)
        assert (claim.asset_id, claim.partner_id, claim.source, claim.source_id) == (
            item.asset_id, partner.partner_id, "digest", digest.digest_id,
        )  # fmt: skip
    untracked = build_digest(snapshot, partner, opened=set(), n=3, now=NOW)
    assert [i.link for i in untracked.items] == [i.url for i in untracked.items]


def test_the_language_is_the_first_the_partner_reads_that_we_write() -> None:
    assert digest_language(PartnerProfile(partner_id="x", languages=("ru", "uk"))) == "ru"
    assert digest_language(PartnerProfile(partner_id="x", languages=("uk", "en"))) == "uk"
    assert digest_language(PartnerProfile(partner_id="x")) == "en"


def test_recorded_digests_are_not_repeated_and_new_counts_from_the_last(
    snapshot: Snapshot, workspace: Workspace
) -> None:
    partners = sorted(snapshot.partners.values(), key=lambda p: p.partner_id or "")[:3]
    with DigestStore(workspace.console_path) as store:
        first = build_digests(snapshot, partners, store, lambda _p: set(), n=3, now=NOW)
        assert all(d.since is None for d in first)
        record(store, first, actor="test", fmt="md")
        later = NOW + timedelta(days=7)
        second = build_digests(snapshot, partners, store, lambda _p: set(), n=3, now=later)
        for a, b in zip(first, second, strict=True):
            assert not {i.asset_id for i in a.items} & {i.asset_id for i in b.items}
            assert b.since == NOW  # "new" counts from the last digest
            assert store.last(a.partner_id).digest_id == a.digest_id  # type: ignore[union-attr]
            assert store.sent(a.partner_id) == {i.asset_id for i in a.items}


TRICKY = "<script>alert(1)</script> [click](javascript:alert(2)) *bold* «Кейс»"


def _digest(items: int = 1) -> PartnerDigest:
    item = DigestItem(
        asset_id="A1", title=TRICKY, type="case_study", language="en",
        url="https://example.com/a", link="https://reco.example.com/r/1.x.y",
        reason="Про вашу галузь · Етапи: переговори", new=True, pinned=False, relevance=0.5,
    )  # fmt: skip
    return PartnerDigest(
        digest_id="dg-20261206-00000001", partner_id="P1", partner_name="ТОВ «Р&Д» <b>",
        manager="Olena Kovalenko", language="uk", created_at=NOW, since=None,
        items=(item,) * items,
    )  # fmt: skip


def test_html_escapes_catalog_text_and_links_only_the_link() -> None:
    out = render([_digest()], "html")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "ТОВ «Р&amp;Д» &lt;b&gt;" in out
    assert out.count("<a href=") == 1 and 'href="https://reco.example.com/r/1.x.y"' in out
    assert "Новинка" in out and "кейс" in out and 'lang="uk"' in out
    assert "мова: англійська" in out  # the asset is in English, the digest in Ukrainian


def test_markdown_escapes_markup_so_a_title_cannot_link() -> None:
    out = render([_digest()], "md")
    assert "](https://reco.example.com/r/1.x.y)" in out
    assert "\\[click\\]\\(javascript:alert\\(2\\)\\)" in out and "\\*bold\\*" in out
    assert out.startswith("## Добірка матеріалів для ТОВ «Р&Д» \\<b\\>")
    empty = render([replace(_digest(), items=())], "md")
    assert "Цього разу нового немає" in empty


def test_json_carries_every_field() -> None:
    doc = json.loads(render([_digest(2)], "json"))
    (d,) = doc["digests"]
    assert d["partner_id"] == "P1" and d["language"] == "uk" and len(d["items"]) == 2
    assert d["items"][0]["title"] == TRICKY and d["items"][0]["new"] is True
    assert d["created_at"] == NOW.isoformat(timespec="seconds")
    with pytest.raises(ValueError, match="not one of"):
        render([_digest()], "pdf")
