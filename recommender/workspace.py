"""Where a workspace keeps its files.

A workspace is one folder holding everything the engine reads and writes at run time except
trained models (which live in a separate registry folder so several workspaces can share
them). Only this module knows the layout; everything else asks it for paths.

    <root>/catalog/                    replaced as one folder, so catalog and index always agree:
        assets.parquet                 validated asset table (one row per asset)
        chunks.parquet                 text chunks that were embedded (asset_id, chunk, text)
        index/                         FAISS index + manifest.json + chunk ids
    <root>/cache/embeddings.sqlite     vectors by content hash
    <root>/partners.parquet            validated partner table
    <root>/deals.parquet               generated or imported deals
    <root>/playbook.yaml               the editable playbook prior
    <root>/events.sqlite               the event journal (in PostgreSQL instead when the
                                       workspace has a `database_url`)
    <root>/console.sqlite              overrides, audit log, API keys
    <root>/generated/                  demo generator output (usage logs, ground truth)
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# Relative to the current folder, resolved when a workspace is opened: `recommender` run from a
# checkout uses its data/ and models/, as the README says.
DEFAULT_ROOT = Path("data")
DEFAULT_MODELS = Path("models")


@dataclass(frozen=True)
class Workspace:
    root: Path = DEFAULT_ROOT
    models_dir: Path = DEFAULT_MODELS
    # The content-hash vector cache may be shared between workspaces (e.g. by a test session
    # or a team's build machine); by default each workspace has its own.
    embed_cache: Path | None = None
    # A postgresql:// URL: the event journal lives in that shared database instead of
    # events.sqlite (recommender.storage.pg_events). Kept out of repr: it may hold a password.
    database_url: str | None = field(default=None, repr=False)

    @classmethod
    def at(
        cls,
        root: str | os.PathLike[str],
        models_dir: str | os.PathLike[str] | None = None,
        *,
        embed_cache: str | os.PathLike[str] | None = None,
        database_url: str | None = None,
    ) -> Workspace:
        """A workspace at `root`; models default to `<root>/models` (`models/` beside `data/`
        for the default workspace); `embed_cache` names a shared vector cache file;
        `database_url` a PostgreSQL database for the event journal."""
        path = Path(root).resolve()
        if models_dir is not None:
            models = Path(models_dir).resolve()
        else:
            models = DEFAULT_MODELS.resolve() if path == DEFAULT_ROOT.resolve() else path / "models"
        cache = Path(embed_cache).resolve() if embed_cache else None
        return cls(
            root=path, models_dir=models, embed_cache=cache, database_url=database_url or None
        )

    @property
    def catalog_dir(self) -> Path:
        return self.root / "catalog"

    @property
    def assets_path(self) -> Path:
        return self.catalog_dir / "assets.parquet"

    @property
    def chunks_path(self) -> Path:
        return self.catalog_dir / "chunks.parquet"

    @property
    def index_dir(self) -> Path:
        return self.catalog_dir / "index"

    @property
    def similar_path(self) -> Path:
        """Near-duplicate pairs and proposed families (recommender.catalog.similar)."""
        return self.catalog_dir / "similar.parquet"

    @property
    def cache_path(self) -> Path:
        return self.embed_cache or self.root / "cache" / "embeddings.sqlite"

    @property
    def partners_path(self) -> Path:
        return self.root / "partners.parquet"

    @property
    def deals_path(self) -> Path:
        return self.root / "deals.parquet"

    @property
    def playbook_path(self) -> Path:
        return self.root / "playbook.yaml"

    @property
    def events_path(self) -> Path:
        return self.root / "events.sqlite"

    @property
    def has_journal(self) -> bool:
        """Whether there is an event journal to read: in a database always (opening it checks
        its schema), else when events.sqlite exists."""
        return self.database_url is not None or self.events_path.exists()

    @property
    def journal_location(self) -> str:
        """Where the event journal is, for messages (a URL without its password)."""
        return redact_url(self.database_url) if self.database_url else str(self.events_path)

    @property
    def console_path(self) -> Path:
        return self.root / "console.sqlite"

    @property
    def console_location(self) -> Path | str:
        """Where the console's stores (keys, overrides, experiments, digests, audit) are: the
        database URL when the workspace names one, else console.sqlite."""
        return self.database_url or self.console_path

    @property
    def generated_dir(self) -> Path:
        return self.root / "generated"

    def has_catalog(self) -> bool:
        recover_swap(self.catalog_dir)
        return self.assets_path.exists() and (self.index_dir / "manifest.json").exists()

    def ensure(self) -> Workspace:
        self.root.mkdir(parents=True, exist_ok=True)
        return self


def redact_url(url: str) -> str:
    """`url` (or a ``key=value`` connection string) with its password replaced by ``***``,
    for messages and logs."""
    url = re.sub(r"(?<=://)([^:/@]*):[^/]*@", r"\1:***@", str(url))
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", url)


def recover_swap(target: Path) -> None:
    """Finish an `atomic_dir` swap that a crash interrupted between its two renames: with
    `target` gone and `.<target>.old` present, the old folder (the last committed one) goes
    back into place."""
    old = target.with_name(f".{target.name}.old")
    if not target.exists() and old.is_dir():
        os.replace(old, target)


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `target`; on success it replaces `target` whole.

    If the body raises, `target` is untouched and the temporary folder is removed, so a failed
    build never leaves half an index behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_swap(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename (readers never see half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def workspace_secret(root: Path, name: str) -> str:
    """The secret in file `name` of the workspace at `root`, created on first use (0600,
    atomic, race-free): what every worker, replica and command sharing the workspace signs
    with (the console's sessions, tracked links).

    Several processes may start at once: each writes a candidate to its own temporary file and
    tries to hard-link it into place; exactly one link succeeds and everyone reads that file,
    never a half-written one."""
    path = root / name
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".{name}.{secrets.token_hex(6)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_urlsafe(48) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process won the race
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable secret; delete it to make a new one")
    return secret
