"""Reference tables a CRM export gives (partners, deals): reading any of its formats and storing
a validated table by upsert on its key.

`read_table(path)` reads CSV (list cells as `a;b`), JSON lines or Parquet, every cell as the
file has it; validation is the table contract's (`features.validation`), which names the file,
row, column and reason of every problem. `store_table` writes the validated rows atomically,
replacing the stored table or upserting into it by key, and says what changed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.validation import Problem, SchemaError
from recommender.workspace import atomic_write_bytes

TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json", ".parquet")


@dataclass(frozen=True)
class TableImport:
    """What an import did: rows read from the file, how many were new or replaced a stored row
    with the same key, and how many rows the stored table holds after it."""

    rows: int
    added: int
    updated: int
    total: int

    def summary(self, noun: str) -> str:
        return (
            f"imported {self.rows} {noun} ({self.added} new, {self.updated} updated); "
            f"{self.total} {noun} stored"
        )


def read_table(path: Path) -> pd.DataFrame:
    """A table file as strings/objects: CSV, JSONL/JSON lines or Parquet."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise SchemaError([Problem(str(path), None, None, "file not found")])
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        if suffix in (".jsonl", ".ndjson", ".json"):
            return pd.read_json(path, lines=True, dtype=False)
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise SchemaError([Problem(str(path), None, None, f"cannot be read: {exc}")]) from None
    raise SchemaError(
        [
            Problem(
                str(path),
                None,
                None,
                f"unsupported file type {suffix!r}; use .csv, .jsonl or .parquet",
            )
        ]
    )


def store_table(
    target: Path, frame: pd.DataFrame, stored: pd.DataFrame | None, *, key: str, replace: bool
) -> TableImport:
    """Write validated `frame` to `target` (parquet, atomically): the whole table with
    `replace`, else upserted into `stored` by `key` (a row with a stored key replaces it)."""
    new_keys = set(frame[key].astype(str))
    old_keys = set() if stored is None else set(stored[key].astype(str))
    merged = frame
    if not replace and stored is not None and len(stored):
        kept = stored[~stored[key].astype(str).isin(new_keys)]
        merged = pd.concat([kept, frame], ignore_index=True) if len(kept) else frame
    buf = io.BytesIO()
    merged.reset_index(drop=True).to_parquet(buf, index=False)
    atomic_write_bytes(target, buf.getvalue())
    updated = len(new_keys & old_keys)
    return TableImport(len(frame), len(new_keys) - updated, updated, len(merged))
