"""The ranker's trees compiled to machine code, for the serving path.

LightGBM's `predict` walks its trees through generic code: on a request's few hundred
candidates, 80 trees of 15 leaves cost 0.3-0.7 ms, the largest single step of a request and
twice that for an interleaved one (two models). lleaves compiles one LightGBM model with LLVM
to a function that makes the same comparisons in the same float64 arithmetic; only the order in
which tree outputs are summed differs, so scores agree to ~1e-12 (checked at compile time to
`TOLERANCE`), at ~15x the speed.

`compile_trees(model_text, cache_dir)` gives a `CompiledTrees` or None. The machine code is
cached as `<cache_dir>/<key>.o`, where the key hashes the model text, the compiler versions,
the options and the host CPU: another model, another lleaves or llvmlite, or another CPU (a
model folder shared between hosts) has another key, so a stale artifact is never loaded; a
missing or damaged one (its sha256 is kept beside it) is compiled again (about 0.01 s a tree)
and written atomically, so workers compiling the same model at once are harmless. None, with
a logged reason, when lleaves is not installed, compilation fails or the compiled scores
differ from LightGBM's: the caller keeps LightGBM.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

COMPILED_DIR = "compiled"
"""The folder, in a model version's folder, that holds its compiled trees."""

TOLERANCE = 1e-6
"""Largest difference from LightGBM's raw score a compiled model may show on the check rows."""

_OPTIONS = {"raw_score": True, "use_fp64": True}
# LightGBM's kZeroThreshold: it may read a value this close to zero as zero
_ZERO_BAND = np.float32(1e-35)
# lleaves predicts in threads above this many rows; a request's candidates stay on one thread
_THREADED_ROWS = 5000


class CompiledTrees:
    """A compiled model: `predict(X)` -> raw scores (n,) float64, as `Booster.predict(X,
    raw_score=True)`."""

    def __init__(self, model: Any, key: str, n_jobs: int = 1) -> None:
        self.model = model
        self.key = key
        self.n_jobs = n_jobs

    def predict(self, X: np.ndarray) -> np.ndarray:
        threads = 1 if len(X) < _THREADED_ROWS else max(1, self.n_jobs)
        return np.asarray(self.model.predict(X, n_jobs=threads), dtype=np.float64)


def compile_trees(
    model_text: str, cache_dir: Path | None, *, booster: Any = None, n_jobs: int = 1
) -> CompiledTrees | None:
    """`model_text` (LightGBM's `model_to_string()`) compiled, from `cache_dir` when compiled
    before; None when it cannot be (see the module docstring). `booster`, when given, is the
    same model loaded in LightGBM: the compiled scores are checked against it."""
    try:
        import lleaves
        import llvmlite.binding as llvm
    except ImportError as exc:
        log.warning("the ranker is not compiled (%s); LightGBM scores it", exc)
        return None
    key = _key(model_text, llvm)
    try:
        model = _load(lleaves, model_text, key, cache_dir)
    except Exception as exc:  # any compiler failure leaves LightGBM serving
        log.warning("the ranker could not be compiled (%s: %s); LightGBM scores it",
                    type(exc).__name__, exc)  # fmt: skip
        return None
    compiled = CompiledTrees(model, key, n_jobs=n_jobs)
    if booster is not None:
        gap = _largest_gap(compiled, booster)
        if not gap <= TOLERANCE:
            log.error("the compiled ranker differs from LightGBM by %.3g on the check rows; "
                      "LightGBM scores it", gap)  # fmt: skip
            return None
    return compiled


def _key(model_text: str, llvm: Any) -> str:
    digest = hashlib.sha256(model_text.encode("utf-8"))
    for part in (
        importlib.metadata.version("lleaves"),
        importlib.metadata.version("llvmlite"),
        llvm.get_process_triple(),
        llvm.get_host_cpu_name(),
        llvm.get_host_cpu_features().flatten(),
        repr(sorted(_OPTIONS.items())),
    ):
        digest.update(b"\0" + part.encode("utf-8"))
    return digest.hexdigest()[:32]


def _load(lleaves: Any, model_text: str, key: str, cache_dir: Path | None) -> Any:
    """The lleaves model of `model_text`, compiled or read from `cache_dir/<key>.o`.

    LLVM aborts the process on a damaged object file, so a cached one is loaded only when its
    sha256 matches the digest written beside it; otherwise it is compiled again."""
    with tempfile.TemporaryDirectory(prefix="reco-trees-") as scratch:
        model_file = Path(scratch) / "model.txt"
        model_file.write_text(model_text, encoding="utf-8")
        model = lleaves.Model(model_file=str(model_file))
        if cache_dir is None:
            model.compile(**_OPTIONS)
            return model
        target = Path(cache_dir) / f"{key}.o"
        digest_file = target.with_suffix(".o.sha256")
        if _intact(target, digest_file):
            model.compile(cache=str(target), **_OPTIONS)
            return model
        fresh = Path(scratch) / "trees.o"
        model.compile(cache=str(fresh), **_OPTIONS)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            data = fresh.read_bytes()
            _write_atomic(digest_file, hashlib.sha256(data).hexdigest().encode("ascii"))
            _write_atomic(target, data)
        except OSError as exc:  # a read-only model folder: compiled again at the next load
            log.info("compiled ranker not cached in %s (%s)", cache_dir, exc)
        return model


def _intact(target: Path, digest_file: Path) -> bool:
    try:
        data, digest = target.read_bytes(), digest_file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return bool(data) and hashlib.sha256(data).hexdigest() == digest


def _write_atomic(path: Path, data: bytes) -> None:
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _largest_gap(compiled: CompiledTrees, booster: Any) -> float:
    """Largest |compiled - LightGBM| raw score over rows that reach both sides of every split
    kind: each split's threshold and its neighbours, missing values, negative codes."""
    rows = _check_rows(booster)
    expected = booster.predict(rows, raw_score=True, num_threads=1)
    return float(np.max(np.abs(compiled.predict(rows) - expected), initial=0.0))


def _check_rows(booster: Any, n_random: int = 256) -> np.ndarray:
    """Rows (float32, as serving scores) of values drawn per feature from its split
    thresholds, the float32 values either side of each, 0, -1, NaN and +-1e30.

    Values in LightGBM's zero band (0 < |x| <= 1e-35, which it may read as zero) are left out:
    the compiled code draws the band's edge differently, and no pair feature takes such a
    value (LightGBM puts thresholds at +-1e-35 around a feature's zeros; those are checked at 0
    and beyond)."""
    n_features = booster.num_feature()
    dump = booster.dump_model(num_iteration=-1)
    thresholds: list[list[float]] = [[] for _ in range(n_features)]

    def walk(node: dict[str, Any]) -> None:
        if "split_feature" not in node:
            return
        value = node["threshold"]
        if isinstance(value, (int, float)):
            thresholds[node["split_feature"]].append(float(value))
        else:  # categorical: "1||3||7"
            thresholds[node["split_feature"]].extend(float(v) for v in str(value).split("||"))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in dump["tree_info"]:
        walk(tree["tree_structure"])
    rng = np.random.default_rng(0)
    rows = np.empty((n_random, n_features), dtype=np.float32)
    for j, values in enumerate(thresholds):
        big = float(np.finfo(np.float32).max) / 2  # its neighbours stay finite
        pool = np.clip(np.asarray(values or [0.0]), -big, big).astype(np.float32)
        edges = np.asarray([0.0, -1.0, np.nan, 1e30, -1e30], dtype=np.float32)
        up, down = np.float32(np.inf), np.float32(-np.inf)
        pool = np.concatenate([pool, np.nextafter(pool, up), np.nextafter(pool, down), edges])
        pool = pool[~((np.abs(pool) <= _ZERO_BAND) & (pool != 0))]
        rows[:, j] = rng.choice(pool, size=n_random)
    return rows
