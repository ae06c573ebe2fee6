"""Tracked-link tokens: a token says exactly what it was signed with until it expires; any
change to it, another key, or garbage is `ForgedLink`; the workspace key is made once,
owner-only, and shared."""

from __future__ import annotations

import base64
import json
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from recommender.outreach.links import (
    ExpiredLink,
    ForgedLink,
    LinkSigner,
    click_event_id,
    link_key,
    web_url,
)
from recommender.workspace import Workspace

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
KEY = bytes(range(32))


def _token(signer: LinkSigner, **kw: str) -> str:
    args = {"asset_id": "A0001", "partner_id": "P0002", "source": "digest",
            "source_id": "dg-20261206-00ff00ff"} | kw  # fmt: skip
    return signer.token(now=NOW, **args)


def test_a_token_carries_what_it_was_signed_with_until_it_expires() -> None:
    signer = LinkSigner(KEY, ttl=timedelta(days=30))
    token = _token(signer)
    claim = signer.verify(token, now=NOW + timedelta(days=29, hours=23))
    assert (claim.asset_id, claim.partner_id, claim.source, claim.source_id) == (
        "A0001", "P0002", "digest", "dg-20261206-00ff00ff",
    )  # fmt: skip
    assert claim.expires == NOW + timedelta(days=30)
    request = signer.verify(_token(signer, source="request", source_id="req-1"), now=NOW)
    assert (request.source, request.source_id) == ("request", "req-1")
    with pytest.raises(ExpiredLink, match="expired on 2027-01-05"):
        signer.verify(token, now=NOW + timedelta(days=30))
    # the URL-safe alphabet only: the token is one path segment
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def _altered_payload(token: str, **changes: object) -> str:
    version, payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    names = ["asset_id", "partner_id", "source", "source_id", "expires"]
    for name, value in changes.items():
        fields[names.index(name)] = value
    raw = json.dumps(fields, separators=(",", ":")).encode()
    new = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{version}.{new}.{signature}"


@pytest.mark.parametrize(
    "change",
    [
        {"asset_id": "A0002"},  # another asset
        {"partner_id": "P0003"},  # credited to another partner
        {"expires": 4102444800},  # living longer
        {"source_id": "dg-other"},
    ],
)
def test_a_changed_payload_is_forged(change: dict[str, object]) -> None:
    signer = LinkSigner(KEY)
    with pytest.raises(ForgedLink):
        signer.verify(_altered_payload(_token(signer), **change), now=NOW)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "garbage",
        "1..",
        "2.abc.def",  # another version
        "1.abc",
        "1." + "A" * 2000 + ".x",  # far too long
        "1.e30.e30",
    ],
)
def test_garbage_is_forged(bad: str) -> None:
    with pytest.raises(ForgedLink):
        LinkSigner(KEY).verify(bad, now=NOW)


def test_another_key_or_a_flipped_signature_is_forged() -> None:
    token = _token(LinkSigner(KEY))
    with pytest.raises(ForgedLink):
        LinkSigner(bytes(32)).verify(token, now=NOW)
    head, signature = token.rsplit(".", 1)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    with pytest.raises(ForgedLink):
        LinkSigner(KEY).verify(f"{head}.{flipped}", now=NOW)
    # expiry is only read from a genuine token: a forged expired one is forged, not expired
    with pytest.raises(ForgedLink):
        LinkSigner(bytes(32)).verify(token, now=NOW + timedelta(days=400))


def test_the_workspace_key_is_made_once_owner_only_and_shared(tmp_path) -> None:
    ws = Workspace.at(tmp_path / "ws")
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: link_key(ws), range(16)))
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    path = ws.root / "link-signing.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert link_key(Workspace.at(tmp_path / "ws")) == keys[0]
    assert not list(ws.root.glob(".link-signing.key.*"))  # no candidate left behind
    path.write_text("short\n")
    with pytest.raises(RuntimeError, match="no usable secret"):
        link_key(ws)


def test_a_click_is_one_event_per_token_and_minute() -> None:
    token = _token(LinkSigner(KEY))
    first = click_event_id(token, NOW)
    assert click_event_id(token, NOW + timedelta(seconds=59)) == first
    assert click_event_id(token, NOW + timedelta(seconds=60)) != first
    assert click_event_id(token + "x", NOW) != first
    assert len(first) <= 64


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/a?b=1", True),
        ("HTTP://example.com", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<b>x</b>", False),
        ("//evil.example.com/x", False),
        ("/relative/path", False),
        ("https://example.com/\nSet-Cookie: x", False),
        (None, False),
        ("", False),
    ],
)
def test_only_absolute_web_addresses_are_linked(url: str | None, ok: bool) -> None:
    assert (web_url(url) is not None) == ok
