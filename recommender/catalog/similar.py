"""Assets that are one another: near-duplicates and proposed translation families.

Ingestion runs `find_similar` over the catalog it is about to write and keeps the result as
`catalog/similar.parquet` (columns `SIMILAR_COLUMNS`, one row per pair, `asset_a < asset_b`):

- **near-duplicates** (`kind = "near_duplicate"`): two assets whose texts are nearly the same.
  The score is the *resemblance* of their texts (Jaccard similarity of their sets of 5-word
  shingles; Broder 1997), not the cosine of their vectors: in a multilingual space a
  translation, or two documents of one template about one product, are as close as two copies
  (the demo's FAQ and webinar on one product have cosine 0.98), while their shingles barely
  overlap. Vectors only pick which pairs to compare: each asset's nearest neighbours by the
  mean of its chunk vectors, so a catalog of n assets costs n searches, not n^2 comparisons.
- **family proposals** (`kind = "family_proposal"`): an asset and its likely translation, for
  a person to confirm by giving both one `family_id`. Cross-lingual cosine alone does not
  separate a translation from another document of the same kind (two different case studies
  in Ukrainian and Russian score 0.88, above some true translations), so a pair is proposed
  when the two have the same type and different languages, are each other's nearest
  neighbour in the other's language, and stand out from their other neighbours there by a
  margin (cosine divided by the mean cosine of both assets' k nearest neighbours in the
  other language; Artetxe & Schwenk 2019). Assets already in one family are not proposed.

Re-ingesting recomputes the pairs of changed assets only: pairs between two assets the
ingestion did not touch are kept from the previous file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.validation import is_missing

NEAR_DUPLICATE = "near_duplicate"
FAMILY_PROPOSAL = "family_proposal"
SIMILAR_COLUMNS = ("asset_a", "asset_b", "kind", "score", "cosine")
SHINGLE_WORDS = 5
NEIGHBOURS = 10
# A pair is compared for resemblance only above this cosine: copies sit at 0.99+.
COMPARE_COSINE = 0.9
_WORD = re.compile(r"\w+")
_BLOCK = 1024  # changed assets compared at once (a block x catalog matrix of cosines)


@dataclass(frozen=True)
class SimilarityOptions:
    """`near_duplicate`: the resemblance (0-1) from which two texts are near-duplicates;
    `family_margin`: how far a translation must stand out from the other neighbours
    (1 = not at all); `family_cosine`: the least cosine of a proposed translation."""

    near_duplicate: float = 0.7
    family_margin: float = 1.03
    family_cosine: float = 0.8
    margin_neighbours: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.near_duplicate <= 1:
            raise ValueError(f"near-duplicate threshold {self.near_duplicate!r} must be in (0, 1]")
        if self.family_margin < 1:
            raise ValueError(f"family margin {self.family_margin!r} must be at least 1")


def empty_similar() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asset_a": pd.Series([], dtype=object),
            "asset_b": pd.Series([], dtype=object),
            "kind": pd.Series([], dtype=object),
            "score": pd.Series([], dtype="float64"),
            "cosine": pd.Series([], dtype="float64"),
        }
    )


def read_similar(path: Path) -> pd.DataFrame:
    """similar.parquet, or an empty table when the catalog predates it."""
    if not path.exists():
        return empty_similar()
    frame = pd.read_parquet(path)
    out = empty_similar()
    for name in SIMILAR_COLUMNS:
        values = frame[name].tolist()
        out[name] = pd.Series(values, dtype=out[name].dtype)
    return out


def write_similar(frame: pd.DataFrame, path: Path) -> None:
    frame[list(SIMILAR_COLUMNS)].to_parquet(path, index=False)


def asset_vectors(
    vectors: np.ndarray, chunk_assets: Sequence[str], asset_ids: Sequence[str]
) -> np.ndarray:
    """Each asset's vector: the normalised mean of its chunks' vectors (rows of `asset_ids`;
    an asset without chunks gets zeros)."""
    row = {a: i for i, a in enumerate(asset_ids)}
    which = np.array([row.get(a, -1) for a in chunk_assets], dtype=np.int64)
    keep = which >= 0
    sums = np.zeros((len(asset_ids), vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, which[keep], vectors[keep].astype(np.float64))
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def shingles(text: str, k: int = SHINGLE_WORDS) -> frozenset[int]:
    """The hashed k-word shingles of `text` (lowercased words); a shorter text is one shingle."""
    words = _WORD.findall(text.lower())
    if len(words) <= k:
        return frozenset([hash(tuple(words))]) if words else frozenset()
    return frozenset(hash(tuple(words[i : i + k])) for i in range(len(words) - k + 1))


def resemblance(a: frozenset[int], b: frozenset[int]) -> float:
    """Jaccard similarity of two shingle sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def find_similar(
    assets: pd.DataFrame,
    texts: dict[str, str],
    vectors: np.ndarray,
    *,
    changed: Iterable[str] | None = None,
    previous: pd.DataFrame | None = None,
    options: SimilarityOptions | None = None,
) -> pd.DataFrame:
    """Near-duplicate pairs and family proposals of the catalog `assets` (SIMILAR_COLUMNS).

    `texts`: each asset's text (what its chunks hold); `vectors`: `asset_vectors` rows aligned
    with `assets`. With `changed` (asset ids) and `previous` (the last result), only pairs
    touching a changed asset are computed; the other previous pairs are kept while both their
    assets remain."""
    options = options or SimilarityOptions()
    ids = [str(a) for a in assets["asset_id"].tolist()]
    if len(ids) < 2:
        return empty_similar()
    present = set(ids)
    todo = set(ids) if changed is None or previous is None else set(changed) & present
    kept = empty_similar()
    if previous is not None and changed is not None and len(previous):
        stale = set(changed) | (set(previous["asset_a"]) | set(previous["asset_b"])) - present
        keep = ~(previous["asset_a"].isin(stale) | previous["asset_b"].isin(stale))
        kept = previous[keep.to_numpy()].reset_index(drop=True)
    if not todo:
        return kept
    rows = np.array([i for i, a in enumerate(ids) if a in todo], dtype=np.int64)
    pairs = _near_duplicates(ids, texts, vectors, rows, options)
    families = _family_proposals(assets, ids, vectors, rows, options)
    frames = [f for f in (kept, pairs, families) if len(f)]
    if not frames:
        return empty_similar()
    out = pd.concat(frames, ignore_index=True)
    out = out.drop_duplicates(["asset_a", "asset_b", "kind"], keep="last")
    return out.sort_values(["kind", "score"], ascending=[False, False], kind="stable").reset_index(
        drop=True
    )


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _near_duplicates(
    ids: list[str],
    texts: dict[str, str],
    vectors: np.ndarray,
    rows: np.ndarray,
    options: SimilarityOptions,
) -> pd.DataFrame:
    k = min(NEIGHBOURS + 1, len(ids))
    cache: dict[int, frozenset[int]] = {}

    def sh(j: int) -> frozenset[int]:
        if j not in cache:
            cache[j] = shingles(texts.get(ids[j], ""))
        return cache[j]

    found: dict[tuple[str, str], tuple[float, float]] = {}
    for start in range(0, len(rows), _BLOCK):
        block = rows[start : start + _BLOCK]
        sims = vectors[block] @ vectors.T  # (block, n): changed assets against the catalog
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for r, i in enumerate(block.tolist()):
            for j in top[r].tolist():
                cosine = float(sims[r, j])
                if j == i or cosine < COMPARE_COSINE:
                    continue
                score = resemblance(sh(i), sh(j))
                if score >= options.near_duplicate:
                    found[_pair(ids[i], ids[j])] = (score, cosine)
    return _frame(found, NEAR_DUPLICATE)


def _family_proposals(
    assets: pd.DataFrame,
    ids: list[str],
    vectors: np.ndarray,
    rows: np.ndarray,
    options: SimilarityOptions,
) -> pd.DataFrame:
    languages = np.array([None if is_missing(x) else str(x) for x in assets["language"]], object)
    types = np.array([str(x) for x in assets["type"]], dtype=object)
    family_col = assets["family_id"] if "family_id" in assets else pd.Series([None] * len(ids))
    families = np.array([None if is_missing(x) else str(x) for x in family_col], dtype=object)
    touched = np.zeros(len(ids), dtype=bool)
    touched[rows] = True
    found: dict[tuple[str, str], tuple[float, float]] = {}
    kk = options.margin_neighbours
    known = sorted({x for x in languages.tolist() if x is not None})
    for kind in sorted(set(types[rows].tolist())):
        group = {lang: np.flatnonzero((languages == lang) & (types == kind)) for lang in known}
        for a_pos, lang_a in enumerate(known):
            for lang_b in known[a_pos + 1 :]:
                left, right = group[lang_a], group[lang_b]
                if len(left) == 0 or len(right) == 0:
                    continue
                if not (touched[left].any() or touched[right].any()):
                    continue
                sims = vectors[left] @ vectors[right].T  # (|left|, |right|)
                best_right = np.argmax(sims, axis=1)
                best_left = np.argmax(sims, axis=0)
                spread_left = _mean_top(sims, kk, axis=1)
                spread_right = _mean_top(sims, kk, axis=0)
                for li, ri in enumerate(best_right.tolist()):
                    if best_left[ri] != li:
                        continue  # not each other's nearest
                    i, j = int(left[li]), int(right[ri])
                    if not (touched[i] or touched[j]):
                        continue
                    if families[i] is not None and families[i] == families[j]:
                        continue  # already one family
                    cosine = float(sims[li, ri])
                    spread = (spread_left[li] + spread_right[ri]) / 2
                    margin = cosine / spread if spread > 0 else 0.0
                    if cosine >= options.family_cosine and margin >= options.family_margin:
                        found[_pair(ids[i], ids[j])] = (margin, cosine)
    return _frame(found, FAMILY_PROPOSAL)


def _mean_top(sims: np.ndarray, k: int, *, axis: int) -> np.ndarray:
    """The mean of the k largest values along `axis` (all of them when fewer)."""
    size = sims.shape[axis]
    if size <= k:
        return np.asarray(sims.mean(axis=axis), dtype=np.float64)
    top = np.partition(sims, size - k, axis=axis)
    top = top[:, size - k :] if axis == 1 else top[size - k :, :]
    return np.asarray(top.mean(axis=axis), dtype=np.float64)


def _frame(found: dict[tuple[str, str], tuple[float, float]], kind: str) -> pd.DataFrame:
    if not found:
        return empty_similar()
    keys = sorted(found)
    return pd.DataFrame(
        {
            "asset_a": pd.Series([a for a, _ in keys], dtype=object),
            "asset_b": pd.Series([b for _, b in keys], dtype=object),
            "kind": pd.Series([kind] * len(keys), dtype=object),
            "score": np.array([found[k][0] for k in keys], dtype=np.float64),
            "cosine": np.array([found[k][1] for k in keys], dtype=np.float64),
        }
    )
