"""Tracked links: signed, expiring tokens that each stand for one asset shown to one partner.

A digest (and, when asked, a recommendation) links to `/r/{token}` on the service instead of
the asset's URL. Following the link records an `open` event for that partner and asset, tied
to the digest or the request, and redirects to the asset's own stored URL. The token names
the asset, never a URL: what it redirects to is looked up in the catalog when it is followed,
so no token can send anyone elsewhere (no open redirect), and a token whose asset has lost
its URL redirects nowhere.

    1.<payload>.<signature>

`payload` is the base64url JSON list [asset id, partner id, source ("d" digest, "r" request),
source id, expiry as Unix seconds]; `signature` the base64url HMAC-SHA256 of "1.<payload>"
under the workspace's link key (`link_key`: a random secret in `link-signing.key` beside the
catalog, created on first use, readable by its owner only; every worker, replica and the CLI
that share the workspace sign and check with it). A token whose signature does not match is
`ForgedLink`; a genuine one past its expiry is `ExpiredLink`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from recommender.workspace import Workspace, workspace_secret

VERSION = "1"
KEY_FILE = "link-signing.key"
DEFAULT_TTL = timedelta(days=30)
MAX_TOKEN_CHARS = 1024
SOURCES = {"d": "digest", "r": "request"}


class LinkError(ValueError):
    """A token that must not be followed; the message says why, for the page shown."""


class ForgedLink(LinkError):
    """Not a token this workspace signed (malformed, altered, or signed with another key)."""


class ExpiredLink(LinkError):
    """A genuine token past its expiry."""


@dataclass(frozen=True)
class LinkClaim:
    """What a genuine token says: who was shown which asset, through what, until when."""

    asset_id: str
    partner_id: str
    source: str  # "digest" or "request"
    source_id: str  # the digest's id or the request's
    expires: datetime


def link_key(workspace: Workspace) -> bytes:
    """The workspace's link key (`workspace_secret`: created once, owner-only, shared)."""
    return workspace_secret(workspace.root, KEY_FILE).encode("ascii")


class LinkSigner:
    """Signs and checks tracked-link tokens with one key; tokens live `ttl`."""

    def __init__(self, key: bytes, ttl: timedelta = DEFAULT_TTL) -> None:
        if len(key) < 32:
            raise ValueError("a link key has at least 32 bytes")
        if ttl <= timedelta(0):
            raise ValueError(f"ttl={ttl} must be positive")
        self._key = key
        self.ttl = ttl

    def token(
        self,
        *,
        asset_id: str,
        partner_id: str,
        source: str,
        source_id: str,
        now: datetime | None = None,
    ) -> str:
        """A token for `asset_id` shown to `partner_id` through a digest or a request."""
        code = next((c for c, name in SOURCES.items() if name == source), None)
        if code is None:
            raise ValueError(f"source={source!r}; expected one of {sorted(SOURCES.values())}")
        expires = int(((now or datetime.now(UTC)) + self.ttl).timestamp())
        raw = json.dumps([asset_id, partner_id, code, source_id, expires], separators=(",", ":"))
        payload = _b64(raw.encode())
        return f"{VERSION}.{payload}.{self._sign(payload)}"

    def verify(self, token: str, *, now: datetime | None = None) -> LinkClaim:
        """The claim of a genuine, unexpired token; `ForgedLink` or `ExpiredLink` otherwise."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            raise ForgedLink("this link is not one of ours")
        version, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        if version != VERSION or not payload or not signature:
            raise ForgedLink("this link is not one of ours")
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise ForgedLink("this link has been altered or was not made here")
        try:
            asset_id, partner_id, code, source_id, expires = json.loads(_unb64(payload))
            claim = LinkClaim(
                asset_id=str(asset_id),
                partner_id=str(partner_id),
                source=SOURCES[code],
                source_id=str(source_id),
                expires=datetime.fromtimestamp(int(expires), UTC),
            )
        except (ValueError, TypeError, KeyError, OverflowError, OSError):
            raise ForgedLink("this link is not one of ours") from None
        if (now or datetime.now(UTC)) >= claim.expires:
            raise ExpiredLink(f"this link expired on {claim.expires:%Y-%m-%d}")
        return claim

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._key, f"{VERSION}.{payload}".encode(), hashlib.sha256)
        return _b64(mac.digest())


def web_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) address, else None: what may be linked to or
    redirected to (escaping stops markup, not `javascript:` or `data:` links in an href)."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ord(c) < 0x20 for c in url):
        return None
    return url


def click_event_id(token: str, at: datetime) -> str:
    """The id of the `open` a click records: one per token and minute, so that a double
    click or a mail scanner's second fetch is the same event (the journal is idempotent)."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:24]
    return f"link-{digest}-{int(at.timestamp()) // 60}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
