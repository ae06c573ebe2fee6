"""API keys: scoped, stored as salted hashes, shown in plain text exactly once.

A key reads ``reco_<scope>_<key_id>_<secret>``: `key_id` (12 hex chars) names the key in
logs, listings and the audit log; `secret` is 32 random bytes (base64url). The store keeps
only ``HMAC-SHA256(salt, secret)`` with a per-key random salt: keys are high-entropy, so a
slow password hash would add latency to every request and no security. Verification looks
the key up by id and compares digests with `hmac.compare_digest`.

Scopes are ordered, each including the ones below it:

    portal  < manager < admin
    recommendations, events  | + console, overrides | + catalog, partners, models, audit

Keys live in the `api_keys` table of the workspace's console database
(`Workspace.console_location`: SQLite, or the shared PostgreSQL database), beside the
overrides and the audit log; creating and revoking a key is audited there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from features.schema import values
from recommender.storage.audit import AuditLog, ConsoleDatabase
from recommender.workspace import Workspace

__all__ = [
    "KeyInfo",
    "KeyStore",
    "Scope",
    "create_key",
    "demo_keys_path",
    "ensure_demo_keys",
    "key_id_of",
    "list_keys",
    "revoke",
    "scope_allows",
    "verify",
]

KEY_PREFIX = "reco"
_KEY_RE = re.compile(r"^reco_(portal|manager|admin)_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id     TEXT PRIMARY KEY,
    scope      TEXT NOT NULL,
    name       TEXT NOT NULL,
    salt       BLOB NOT NULL,
    digest     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""


class Scope(StrEnum):
    """What a key may do; each scope includes the ones before it."""

    PORTAL = "portal"
    MANAGER = "manager"
    ADMIN = "admin"


_RANK = {scope.value: i for i, scope in enumerate(Scope)}


def scope_allows(held: str, needed: str) -> bool:
    """True when a key of scope `held` may do what needs scope `needed`."""
    return _RANK.get(held, -1) >= _RANK[needed]


@dataclass(frozen=True)
class KeyInfo:
    """A key as the store knows it (never its secret). `prefix` is safe to log and show."""

    key_id: str
    scope: str
    name: str
    created_at: str
    revoked_at: str | None = None

    @property
    def prefix(self) -> str:
        return f"{KEY_PREFIX}_{self.scope}_{self.key_id}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def key_id_of(key: str) -> str | None:
    """The key id inside a well-formed key, or None (safe to log either way)."""
    match = _KEY_RE.match(key or "")
    return match.group(2) if match else None


def _digest(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode("ascii"), hashlib.sha256).digest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_scope(scope: str) -> str:
    if scope not in values(Scope):
        raise ValueError(f"scope={scope!r} is not a key scope; expected one of {values(Scope)}")
    return scope


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValueError(f"name={name!r} must be 1..100 characters")
    return name


class KeyStore:
    """API keys in the console database (SQLite: WAL, durable writes; or the shared PostgreSQL
    database). Safe to share between threads."""

    def __init__(self, location: str | os.PathLike[str]) -> None:
        self._db = ConsoleDatabase(location, _SCHEMA)

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def _insert(conn: Any, scope: str, name: str) -> tuple[KeyInfo, str]:
        """Insert a new key through `conn` (in the caller's write transaction)."""
        key_id = secrets.token_hex(6)
        secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
        salt = secrets.token_bytes(16)
        info = KeyInfo(key_id=key_id, scope=scope, name=name, created_at=_now())
        conn.execute(
            "INSERT INTO api_keys (key_id, scope, name, salt, digest, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key_id, scope, name, salt, _digest(salt, secret), info.created_at),
        )
        return info, f"{info.prefix}_{secret}"

    def create(self, scope: str, name: str) -> tuple[KeyInfo, str]:
        """A new key of `scope`; returns (its info, the plain key). The plain key is not kept."""
        scope, name = _check_scope(scope), _check_name(name)
        with self._db.write() as conn:
            return self._insert(conn, scope, name)

    def create_if_empty(self, scopes: tuple[str, ...], name: str) -> dict[str, str] | None:
        """One key per scope if the store holds no key at all (atomic across processes and
        replicas); returns {scope: plain key}, or None when keys already existed."""
        with self._db.write(lock="api_keys") as conn:
            if conn.execute("SELECT count(*) FROM api_keys").fetchone()[0]:
                return None
            return {s: self._insert(conn, _check_scope(s), name)[1] for s in scopes}

    def verify(self, key: str) -> KeyInfo | None:
        """The key's info if `key` is a valid, unrevoked key; None otherwise."""
        match = _KEY_RE.match(key or "")
        if match is None:
            return None
        scope, key_id, secret = match.groups()
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT scope, name, salt, digest, created_at, revoked_at FROM api_keys "
                "WHERE key_id = ?",
                (key_id,),
            ).fetchone()
        if row is None:
            return None
        stored_scope, name, salt, digest, created_at, revoked_at = row
        if not hmac.compare_digest(_digest(bytes(salt), secret), bytes(digest)):
            return None
        if revoked_at is not None or stored_scope != scope:
            return None
        return KeyInfo(key_id, stored_scope, name, created_at, None)

    def list(self, *, include_revoked: bool = True) -> list[KeyInfo]:
        """Every key, oldest first (ids, scopes and names only)."""
        sql = "SELECT key_id, scope, name, created_at, revoked_at FROM api_keys"
        if not include_revoked:
            sql += " WHERE revoked_at IS NULL"
        with self._db.read() as conn:
            rows = conn.execute(sql + f" ORDER BY created_at, {self._db.row_order}").fetchall()
        return [KeyInfo(*r) for r in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke the key `key_id`; False when there is no such active key."""
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (_now(), key_id),
            )
            return bool(cur.rowcount)


def _audit(
    workspace: Workspace, actor: str, action: str, target: str, detail: dict[str, object]
) -> None:
    with AuditLog(workspace.console_location) as log:
        log.record(actor, action, target, detail)


def create_key(
    workspace: Workspace, scope: str, name: str = "unnamed", *, actor: str = "cli"
) -> str:
    """Create a key of `scope` in the workspace's store and audit it; return the plain key
    (shown once: only its salted hash is stored)."""
    with KeyStore(workspace.console_location) as store:
        info, key = store.create(scope, name)
    _audit(workspace, actor, "key.create", info.key_id, {"scope": info.scope, "name": info.name})
    return key


def verify(workspace: Workspace, key: str) -> KeyInfo | None:
    """One-off check of a key against the workspace's store (the service keeps a KeyStore open)."""
    with KeyStore(workspace.console_location) as store:
        return store.verify(key)


def list_keys(workspace: Workspace, *, include_revoked: bool = True) -> list[KeyInfo]:
    with KeyStore(workspace.console_location) as store:
        return store.list(include_revoked=include_revoked)


def revoke(workspace: Workspace, key_id: str, *, actor: str = "cli") -> bool:
    """Revoke a key by id and audit it; False when there is no such active key."""
    with KeyStore(workspace.console_location) as store:
        done = store.revoke(key_id)
    if done:
        _audit(workspace, actor, "key.revoke", key_id, {})
    return done


def demo_keys_path(workspace: Workspace) -> Path:
    return workspace.root / "demo-keys.json"


def ensure_demo_keys(workspace: Workspace, *, actor: str = "serve") -> dict[str, str]:
    """Demo keys, one per scope, for a fresh workspace; {scope: plain key}.

    When the store holds no key, creates one per scope and writes them to
    `<workspace>/demo-keys.json` (mode 0600) so that the README, tests and the console can
    read them. When keys exist, returns the keys of that file that are still valid (possibly
    none: keys created by hand are never written anywhere).
    """
    path = demo_keys_path(workspace)
    with KeyStore(workspace.console_location) as store:
        made = store.create_if_empty(tuple(values(Scope)), "demo")
        if made is None:
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            if not isinstance(saved, dict):
                return {}
            return {
                s: k
                for s, k in saved.items()
                if isinstance(k, str) and (info := store.verify(k)) is not None and info.scope == s
            }
    for scope, key in made.items():
        _audit(
            workspace, actor, "key.create", key_id_of(key) or "?", {"scope": scope, "name": "demo"}
        )
    _write_private(path, json.dumps(made, indent=2) + "\n")
    return made


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by the owner only, through a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
