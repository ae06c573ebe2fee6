"""Event files: importing a CSV / JSONL / Parquet file (or a folder of Parquet, e.g. an export)
into the journal all-or-nothing, and exporting the journal for analysts.

- `import_file` validates every row while streaming the file in chunks (bounded memory), as
  `EventJournal.append` does. Valid rows are staged in a temporary SQLite file beside the
  journal; only when the whole file is clean are they copied into the journal in one
  transaction. The journal is never locked while a large file is being parsed, and a rejected
  file leaves no trace.
- `export_parquet` writes a hive-partitioned dataset (``date=YYYY-MM-DD/part-0.parquet``),
  `export_csv` a spreadsheet-safe CSV, and `read_events_parquet` reads an export back in the
  journal's column types.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from features.schema import EVENTS
from features.validation import Problem, SchemaError
from recommender.storage.event_rows import (
    ARROW_SCHEMA,
    COLUMNS_SQL,
    EVENT_COLUMNS,
    FLOAT_COLUMNS,
    STR_COLUMNS,
    sql_rows,
    validate,
)
from recommender.storage.events import Journal
from recommender.workspace import atomic_dir


@dataclass(frozen=True)
class ImportReport:
    """Outcome of a successful `import_file`: events written, duplicates skipped, the file."""

    accepted: int
    duplicates: int
    source: str


_MAX_IMPORT_PROBLEMS = 10_000


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class _Chunk:
    source: str
    first_row: int
    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    skip_rows: frozenset[int] = frozenset()  # rows already reported as unreadable


_SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".parquet")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir():
        return "parquet-dir"
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return suffix.split(".")[1].replace("ndjson", "jsonl")
    raise ValueError(
        f"{path}: cannot tell the format from the name; expected one of {list(_SUFFIXES)} "
        "or a folder of parquet files"
    )


def _csv_chunks(path: Path, chunk_size: int) -> Iterator[_Chunk]:
    source = str(path)
    first_row = 1
    try:
        # Every cell as text: ids like "007" stay ids; validation parses numbers and dates.
        reader = pd.read_csv(
            path,
            chunksize=chunk_size,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
        )
        with reader:
            for frame in reader:
                yield _Chunk(source, first_row, frame)
                first_row += len(frame)
    except pd.errors.EmptyDataError:
        yield _Chunk(source, first_row, pd.DataFrame(), [Problem(source, None, None, "empty file")])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = f"cannot read the CSV after row {first_row - 1}: {exc}"
        yield _Chunk(source, first_row, pd.DataFrame(), [Problem(source, None, None, reason)])


def _jsonl_chunks(path: Path, chunk_size: int) -> Iterator[_Chunk]:
    source = str(path)
    gzipped = path.name.lower().endswith(".gz")
    opener: Callable[..., IO[str]] = gzip.open if gzipped else open  # type: ignore[assignment]
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    unreadable: set[int] = set()
    first_row = row = 1

    def flush() -> _Chunk:
        nonlocal records, problems, unreadable, first_row
        frame = pd.DataFrame.from_records(records).reindex(
            columns=list(dict.fromkeys([*EVENT_COLUMNS, *(k for r in records for k in r)]))
        )
        chunk = _Chunk(source, first_row, frame, problems, frozenset(unreadable))
        first_row += len(records)
        records, problems, unreadable = [], [], set()
        return chunk

    try:
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            for line in fh:
                if not line.strip():
                    continue  # blank lines are not records
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    record, reason = {}, f"not valid JSON ({exc.msg} at column {exc.colno})"
                else:
                    reason = "" if isinstance(record, dict) else "expected one JSON object"
                if reason:
                    problems.append(Problem(source, row, None, reason))
                    unreadable.add(row)
                    record = {}
                records.append(record)
                row += 1
                if len(records) >= chunk_size:
                    yield flush()
    except (UnicodeDecodeError, OSError) as exc:
        problems.append(
            Problem(source, None, None, f"cannot read the file after row {row - 1}: {exc}")
        )
    if records or problems:
        yield flush()


def _parquet_chunks(path: Path, chunk_size: int) -> Iterator[_Chunk]:
    files = sorted(p for p in path.rglob("*.parquet") if p.is_file()) if path.is_dir() else [path]
    if not files:
        yield _Chunk(
            str(path), 1, pd.DataFrame(), [Problem(str(path), None, None, "no parquet files")]
        )
    for file in files:
        source = str(file)
        first_row = 1
        try:
            # Streams row group by row group: memory is bounded by one row group + one batch.
            with pq.ParquetFile(file) as parquet:
                for batch in parquet.iter_batches(batch_size=chunk_size):
                    frame = batch.to_pandas()
                    yield _Chunk(source, first_row, frame)
                    first_row += len(frame)
        except (pa.ArrowException, OSError) as exc:
            reason = f"cannot read the parquet file after row {first_row - 1}: {exc}"
            yield _Chunk(source, first_row, pd.DataFrame(), [Problem(source, None, None, reason)])


def _total_rows(path: Path, kind: str) -> int | None:
    """Row count when it is cheap to know (parquet metadata), for the progress bar."""
    if kind == "parquet":
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowException, OSError):
            return None
    if kind == "parquet-dir":
        try:
            return sum(pq.ParquetFile(p).metadata.num_rows for p in path.rglob("*.parquet"))
        except (pa.ArrowException, OSError):
            return None
    return None


@contextmanager
def _stage(folder: Path) -> Iterator[tuple[sqlite3.Connection, Path]]:
    """A throwaway SQLite file in `folder` (the journal's `stage_dir`: a disk, not RAM) for
    validated rows."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".events-import-", dir=folder) as tmp:
        stage_path = Path(tmp) / "stage.sqlite"
        conn = sqlite3.connect(stage_path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=OFF")  # scratch data: no durability needed
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(f"CREATE TABLE events ({COLUMNS_SQL})")
            yield conn, stage_path
        finally:
            conn.close()


def import_file(
    journal: Journal,
    path: str | os.PathLike[str],
    *,
    known_assets: Collection[str] | None,
    known_partners: Collection[str] | None,
    progress: bool = True,
    chunk_size: int = 50_000,
) -> ImportReport:
    """Import a CSV, JSONL or Parquet file of events (or a folder of Parquet), all or nothing.

    The file is read in chunks of `chunk_size` rows (bounded memory, with a progress bar) and
    every row is validated as `EventJournal.append` does, with the asset and partner ids
    checked against `known_assets` / `known_partners` (pass None explicitly to skip a check).
    If any problem is found, `SchemaError` lists each one (file, 1-based row, column, reason;
    at most 10,000 are kept) and the journal is unchanged. Otherwise the events are written in
    one transaction; event ids already stored or repeated within the file are skipped and
    counted as duplicates.
    """
    path = Path(path)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be an integer >= 1")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    kind = _kind(path)
    reader = {"csv": _csv_chunks, "jsonl": _jsonl_chunks}.get(kind, _parquet_chunks)
    assets = frozenset(known_assets) if known_assets is not None else None
    partners = frozenset(known_partners) if known_partners is not None else None

    problems: list[Problem] = []
    file_level: set[Problem] = set()  # e.g. a missing column, found again in every chunk
    unlisted = 0
    staged_rows = staged_new = 0
    bar = tqdm(
        total=_total_rows(path, kind),
        unit=" events",
        desc=f"import {path.name}",
        disable=not progress,
    )
    with bar, _stage(journal.stage_dir) as (stage, stage_path):
        for chunk in reader(path, chunk_size):
            found = list(chunk.problems)
            normalised, checked = validate(
                chunk.frame,
                source=chunk.source,
                first_row=chunk.first_row,
                known_assets=assets,
                known_partners=partners,
            )
            if len(chunk.frame.columns):
                found += [p for p in checked if p.row not in chunk.skip_rows]
            found = [p for p in found if p.row is not None or p not in file_level]
            file_level.update(p for p in found if p.row is None)
            if not found and not problems and len(normalised):
                # Stage while the file is clean so far; once a problem is seen, only validate.
                rows = sql_rows(normalised)
                stage.execute("BEGIN")
                before = stage.total_changes
                stage.executemany(
                    f"INSERT OR IGNORE INTO events VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
                    rows,
                )
                staged_new += stage.total_changes - before
                stage.execute("COMMIT")
                staged_rows += len(rows)
            room = _MAX_IMPORT_PROBLEMS - len(problems)
            problems += found[:room]
            unlisted += max(0, len(found) - room)
            bar.update(len(chunk.frame))
        if problems:
            if unlisted:
                problems.append(
                    Problem(str(path), None, None, f"{unlisted} more problem(s) not listed")
                )
            raise SchemaError(problems)
        stage.close()
        accepted = journal.copy_from_stage(stage_path) if staged_new else 0
    return ImportReport(accepted=accepted, duplicates=staged_rows - accepted, source=str(path))


def _day_runs(frame: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """Split a ts-sorted batch into consecutive runs of one UTC date each."""
    days = frame["ts"].to_numpy().astype("datetime64[D]")
    cuts = [0, *(np.flatnonzero(days[1:] != days[:-1]) + 1).tolist(), len(frame)]
    for a, b in itertools.pairwise(cuts):
        yield str(days[a]), frame.iloc[a:b]


def export_parquet(
    journal: Journal,
    out_dir: str | os.PathLike[str],
    *,
    start: Any = None,
    end: Any = None,
    batch_size: int = 100_000,
) -> list[Path]:
    """Write events with start <= ts < end as parquet partitioned by UTC date; return the files.

    Layout: ``out_dir/date=YYYY-MM-DD/part-0.parquet`` (hive style), so
    ``pd.read_parquet(out_dir)`` or `read_events_parquet` reads it back with a ``date``
    column. Events arrive sorted by ts, so each date is one contiguous run: one file is open
    at a time and memory is bounded by one batch (a buffering dataset writer would hold every
    open partition). `out_dir` is replaced whole and atomically: readers never see a
    half-written export, and the folder holds exactly this export.
    """
    out = Path(out_dir)
    written: list[Path] = []
    with atomic_dir(out) as tmp:
        writer: pq.ParquetWriter | None = None
        current = None
        try:
            for frame in journal.iter_batches(batch_size, start=start, end=end):
                for day, run in _day_runs(frame):
                    if day != current:
                        if writer is not None:
                            writer.close()
                        relative = Path(f"date={day}") / "part-0.parquet"
                        (tmp / relative).parent.mkdir()
                        writer = pq.ParquetWriter(tmp / relative, ARROW_SCHEMA)
                        written.append(relative)
                        current = day
                    assert writer is not None
                    writer.write_table(
                        pa.Table.from_pandas(run, schema=ARROW_SCHEMA, preserve_index=False)
                    )
        finally:
            if writer is not None:
                writer.close()
    return [out / r for r in written]


def _neutralise(column: pd.Series) -> pd.Series:
    """Prefix text that a spreadsheet would run as a formula with a single quote (OWASP)."""
    text = column.astype(object)
    risky = text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_PREFIXES))
    return text.where(~risky.astype(bool), "'" + text[risky].astype(str))


def export_csv(
    journal: Journal,
    path: str | os.PathLike[str],
    *,
    start: Any = None,
    end: Any = None,
    batch_size: int = 100_000,
) -> Path:
    """Write events as a CSV that is safe to open in a spreadsheet; return its path.

    ts is ISO 8601 UTC (``2026-03-31T09:15:00.000000Z``). Any text cell starting with
    ``= + - @``, tab or carriage return is prefixed with ``'`` so it is shown, not executed
    (OWASP CSV injection); numeric columns are written as numbers. The file is written to a
    temporary name and renamed, so a reader never sees half of it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(EVENT_COLUMNS)
            for frame in journal.iter_batches(batch_size, start=start, end=end):
                frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                for c in STR_COLUMNS:
                    frame[c] = _neutralise(frame[c])
                frame.to_csv(fh, header=False, index=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_events_parquet(path_or_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an events parquet file or a hive-partitioned export into the journal's types.

    Returns EVENT_COLUMNS (plus ``date`` when read from a partitioned export), ts as tz-naive
    UTC datetime64[us], sorted by ts. Raises SchemaError if a required column is absent.
    """
    path = Path(path_or_dir)
    dataset = ds.dataset(path, format="parquet", partitioning="hive" if path.is_dir() else None)
    names = dataset.schema.names
    missing = [c.name for c in EVENTS.columns if c.required and c.name not in names]
    if missing:
        raise SchemaError(
            Problem(str(path), None, c, "required column is missing") for c in missing
        )
    wanted = [c for c in (*EVENT_COLUMNS, "date") if c in names]
    frame = dataset.to_table(columns=wanted).to_pandas()
    for c in EVENT_COLUMNS:
        if c not in frame:
            frame[c] = None
    ts = pd.to_datetime(frame["ts"])
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    frame["ts"] = ts.astype("datetime64[us]")
    frame["position"] = frame["position"].astype("Int64")
    for c in FLOAT_COLUMNS:
        frame[c] = frame[c].astype("float64")
    if "date" in frame:
        frame["date"] = frame["date"].astype(str)
    columns = [*EVENT_COLUMNS, *(["date"] if "date" in frame else [])]
    return frame[columns].sort_values("ts", kind="stable").reset_index(drop=True)
