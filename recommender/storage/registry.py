"""The model registry: versioned model folders, a promoted pointer, promotion history.

Layout (under `Workspace.models_dir`):

    <version>/model.json      the model (JSON with LightGBM's text model inside; never pickled)
    <version>/manifest.json   data window, counts, features, code version, usage settings,
                              and the model file's size and sha256
    <version>/metrics.json    the evaluation (`recommender evaluate --json` shape)
    <version>/card.html       the model card
    PROMOTED                  the promoted version's name (written atomically)
    promotions.json           {"stack": [...], "log": [...]}: promote pushes, rollback pops

Versions are named ``v<UTC yyyymmdd-HHMMSS>-<first 7 hex of the model's sha256>`` and written
through a temporary folder that is renamed into place, so a half-written version never
exists. Nothing loads a model file the registry did not write: `read_verified` checks that the
manifest names this registry's format, that the file has the recorded size (truncation) and
sha256 (any change), and that the model reads exactly the manifest's feature list, all of
which this code can compute; any mismatch raises `ModelIntegrityError` with what differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from features.pairs import MODEL_FEATURES
from recommender.workspace import Workspace, atomic_write_bytes

MODEL_FILE = "model.json"
EVALUATED_FILE = "evaluated-model.json"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "card.html"
PROMOTED_FILE = "PROMOTED"
HISTORY_FILE = "promotions.json"
MANIFEST_FORMAT = "enablement-recommender/model-manifest@1"
VERSION_RE = re.compile(r"^v\d{8}-\d{6}-[0-9a-f]{7}$")


class ModelRegistryError(RuntimeError):
    """A registry operation that cannot be done (unknown version, nothing to roll back...)."""


class ModelIntegrityError(ModelRegistryError):
    """A model file that does not match what the registry wrote; it is not loaded."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Where this package's code is: git finds the checkout it belongs to, if there is one.
_SOURCE = Path(str(resources.files("recommender")))


def _git(*args: str) -> str:
    """The output of one git command in the package's checkout (raises when there is none)."""
    done = subprocess.run(
        ["git", *args], cwd=_SOURCE, capture_output=True, text=True, timeout=5, check=True
    )
    return done.stdout.strip()


def code_version() -> dict[str, Any]:
    """The code that trained a model: package version, git commit (+dirty), features hash."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("enablement-recommender")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        package = "unknown"
    try:
        head = _git("rev-parse", "--short=12", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        git: str | None = head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        git = None
    # every module the features are computed by, so a model records which definitions it saw
    digest = hashlib.sha256()
    for source in sorted(resources.files("features").iterdir(), key=lambda p: p.name):
        if source.name.endswith(".py") and source.is_file():
            digest.update(source.read_bytes())
    return {"package": package, "git": git, "features_sha256": digest.hexdigest()[:16]}


@dataclass(frozen=True)
class ModelVersion:
    """One stored version: its folder and manifest."""

    name: str
    path: Path
    manifest: dict[str, Any]

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def card_path(self) -> Path:
        return self.path / CARD_FILE

    def metrics(self) -> dict[str, Any] | None:
        if not self.metrics_path.exists():
            return None
        return json.loads(self.metrics_path.read_text(encoding="utf-8"))


class Registry:
    """Model versions under one folder (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def of(cls, workspace: Workspace) -> Registry:
        return cls(workspace.models_dir)

    # ---- writing ---------------------------------------------------------------------------
    def save(
        self,
        model_bytes: bytes,
        manifest: dict[str, Any],
        *,
        metrics: dict[str, Any] | None = None,
        card_html: str | None = None,
        evaluated_bytes: bytes | None = None,
        now: datetime | None = None,
    ) -> ModelVersion:
        """Write a new version (model, manifest with checksum, metrics, card) atomically.

        `evaluated_bytes` is the model the metrics were measured on, when the served model is
        a refit of it on more data (`EVALUATED_FILE`, checksummed like the model)."""
        checksum = sha256_bytes(model_bytes)
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        name = f"v{stamp}-{checksum[:7]}"
        target = self.root / name
        if target.exists():
            raise ModelRegistryError(f"version {name} already exists in {self.root}")
        full = {
            "format": MANIFEST_FORMAT,
            "version": name,
            "created_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            **manifest,
            "model_file": MODEL_FILE,
            "model_bytes": len(model_bytes),
            "model_sha256": checksum,
        }
        if evaluated_bytes is not None:
            full["evaluated_model_file"] = EVALUATED_FILE
            full["evaluated_model_bytes"] = len(evaluated_bytes)
            full["evaluated_model_sha256"] = sha256_bytes(evaluated_bytes)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=self.root))
        try:
            (tmp / MODEL_FILE).write_bytes(model_bytes)
            if evaluated_bytes is not None:
                (tmp / EVALUATED_FILE).write_bytes(evaluated_bytes)
            (tmp / MANIFEST_FILE).write_text(
                json.dumps(full, indent=2, default=str), encoding="utf-8"
            )
            if metrics is not None:
                (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
            if card_html is not None:
                (tmp / CARD_FILE).write_text(card_html, encoding="utf-8")
            for path in tmp.iterdir():
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return ModelVersion(name, target, full)

    # ---- reading ---------------------------------------------------------------------------
    def versions(self) -> list[ModelVersion]:
        """Stored versions, oldest first (folders with a readable manifest)."""
        if not self.root.exists():
            return []
        out = []
        for path in sorted(self.root.iterdir()):
            if path.is_dir() and VERSION_RE.match(path.name) and (path / MANIFEST_FILE).exists():
                try:
                    out.append(self.get(path.name))
                except ModelRegistryError:
                    continue
        return out

    def get(self, name: str) -> ModelVersion:
        if not isinstance(name, str) or not VERSION_RE.match(name):
            raise ModelRegistryError(
                f"{name!r} is not a model version name (like v20261127-213000-1a2b3c4)"
            )
        path = self.root / name
        manifest_path = path / MANIFEST_FILE
        if not manifest_path.exists():
            known = [v.name for v in self.versions()] if path.parent.exists() else []
            raise ModelRegistryError(
                f"model version {name!r} not found in {self.root}; "
                f"known versions: {known or 'none'}"
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelIntegrityError(f"{manifest_path} is not valid JSON: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise ModelIntegrityError(
                f"{manifest_path} was not written by this registry (format "
                f"{manifest.get('format') if isinstance(manifest, dict) else None!r})"
            )
        return ModelVersion(name, path, manifest)

    def promoted(self) -> str | None:
        """The promoted version's name, or None."""
        path = self.root / PROMOTED_FILE
        if not path.exists():
            return None
        name = path.read_text(encoding="utf-8").strip()
        return name or None

    def history(self) -> dict[str, Any]:
        path = self.root / HISTORY_FILE
        if not path.exists():
            return {"stack": [], "log": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelRegistryError(f"{path} is not valid JSON: {exc}") from None
        return {"stack": list(data.get("stack", [])), "log": list(data.get("log", []))}

    # ---- promotion -------------------------------------------------------------------------
    def _write_pointer(self, name: str | None, history: dict[str, Any]) -> None:
        atomic_write_bytes(self.root / HISTORY_FILE, json.dumps(history, indent=2).encode("utf-8"))
        pointer = self.root / PROMOTED_FILE
        if name is None:
            pointer.unlink(missing_ok=True)
        else:
            atomic_write_bytes(pointer, (name + "\n").encode("utf-8"))

    def promote(self, name: str) -> ModelVersion:
        """Point PROMOTED at `name` after verifying its files; remember the previous one."""
        version = self.get(name)
        read_verified(version)  # refuse to promote a damaged model
        history = self.history()
        previous = self.promoted()
        if previous == name:
            return version
        history["stack"].append(name)
        history["log"].append(
            {"action": "promote", "version": name, "previous": previous, "at": _now()}
        )
        self._write_pointer(name, history)
        return version

    def rollback(self) -> str | None:
        """Return to the version promoted before the current one (None = no model)."""
        history = self.history()
        current = self.promoted()
        if current is None:
            raise ModelRegistryError("no model is promoted; there is nothing to roll back")
        stack = history["stack"]
        while stack and stack[-1] != current:
            stack.pop()  # entries made stale by hand edits
        if stack:
            stack.pop()
        previous = stack[-1] if stack else None
        history["log"].append(
            {"action": "rollback", "version": previous, "previous": current, "at": _now()}
        )
        self._write_pointer(previous, history)
        return previous


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_verified(version: ModelVersion, *, evaluated: bool = False) -> bytes:
    """The model file's bytes, after checking size, checksum and feature list.

    With `evaluated`, the model the version's metrics were measured on: its own file when the
    served model is a refit on all data, else the served model itself (which was evaluated)."""
    manifest = version.manifest
    prefix = "evaluated_model" if evaluated and "evaluated_model_file" in manifest else "model"
    path = version.path / str(manifest.get(f"{prefix}_file", MODEL_FILE))
    if not path.exists():
        raise ModelIntegrityError(f"{path} is missing; the version {version.name} is incomplete")
    data = path.read_bytes()
    expected_size = manifest.get(f"{prefix}_bytes")
    if expected_size is not None and len(data) != int(expected_size):
        raise ModelIntegrityError(
            f"{path} has {len(data)} bytes but the manifest recorded {expected_size}: "
            "the file is truncated or was replaced; retrain or restore it"
        )
    actual = sha256_bytes(data)
    expected = manifest.get(f"{prefix}_sha256")
    if actual != expected:
        raise ModelIntegrityError(
            f"{path} has checksum {actual[:12]}..., the manifest says {str(expected)[:12]}...: "
            "the file was changed after the registry wrote it; refusing to load it"
        )
    features = manifest.get("features")
    if not isinstance(features, list) or not features:
        raise ModelIntegrityError(f"{version.path / MANIFEST_FILE} lists no features")
    unknown = [f for f in features if f not in MODEL_FEATURES]
    if unknown:
        raise ModelIntegrityError(
            f"model {version.name} reads features this code does not compute: {unknown}; "
            f"known features: {list(MODEL_FEATURES)}"
        )
    return data
