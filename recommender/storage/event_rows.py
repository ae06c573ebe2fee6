"""Event rows: the journal's columns and their types, validation of incoming events, and the
conversions between frames, SQLite rows and Arrow that the journal and its files share.

Events follow the EVENTS table contract (`features.schema`). Times are stored as INTEGER UTC
epoch *microseconds* and read back as tz-naive UTC ``datetime64[us]``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from features.schema import EVENT_REQUIRED_FIELDS, EVENTS, EventType
from features.validation import Problem, check_table

EVENT_COLUMNS: tuple[str, ...] = tuple(EVENTS.names)
"""The EVENTS contract's columns, in contract order: what `read` returns by default."""


READABLE_COLUMNS = (*EVENT_COLUMNS, "ingested_at")


TIME_COLUMNS = ("ts", "ingested_at")


INT_COLUMNS = ("position",)


FLOAT_COLUMNS = ("value", "amount", "propensity", "propensity_shown")


STR_COLUMNS = tuple(
    c for c in EVENT_COLUMNS if c not in (*TIME_COLUMNS, *INT_COLUMNS, *FLOAT_COLUMNS)
)


# check_table reports a repeated key as a problem; for events a repeat is a duplicate to skip.
_EVENTS_NO_KEY = dataclasses.replace(EVENTS, key=None)


_EPOCH = pd.Timestamp(0)


COLUMNS_SQL = """
    event_id    TEXT PRIMARY KEY NOT NULL,
    ts          INTEGER NOT NULL,  -- UTC epoch microseconds
    type        TEXT NOT NULL,
    partner_id  TEXT NOT NULL,
    asset_id    TEXT,
    deal_id     TEXT,
    request_id  TEXT,
    position    INTEGER,
    stage       TEXT,
    value       REAL,
    outcome     TEXT,
    amount      REAL,
    propensity  REAL,              -- impressions: P(this asset in this slot)
    -- impressions: P(this asset anywhere in the response)
    propensity_shown REAL,
    experiment  TEXT,              -- impressions served in an online experiment: its name
    arm         TEXT               -- ... and the arm or interleaving team of the slot
"""


ARROW_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("ts", pa.timestamp("us")),
        ("type", pa.string()),
        ("partner_id", pa.string()),
        ("asset_id", pa.string()),
        ("deal_id", pa.string()),
        ("request_id", pa.string()),
        ("position", pa.int64()),
        ("stage", pa.string()),
        ("value", pa.float64()),
        ("outcome", pa.string()),
        ("amount", pa.float64()),
        ("propensity", pa.float64()),
        ("propensity_shown", pa.float64()),
        ("experiment", pa.string()),
        ("arm", pa.string()),
    ]
)


assert ARROW_SCHEMA.names == list(EVENT_COLUMNS), "keep the export schema in contract order"


def timestamp_micros(value: Any, name: str) -> int:
    """A time bound (anything pandas reads as a timestamp) as UTC epoch microseconds."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not a timestamp; expected ISO 8601") from None
    if pd.isna(ts):
        raise ValueError(f"{name}={value!r} is not a timestamp; expected ISO 8601")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    # Timestamp.value is always nanoseconds whatever the unit; count microseconds instead.
    return int((ts - _EPOCH) // pd.Timedelta(1, "us"))


def now_micros() -> int:
    return time.time_ns() // 1000


def to_frame(rows: list[tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    """Rows from SQLite as a DataFrame with the journal's column types."""
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for c in columns:
        if c in TIME_COLUMNS:
            frame[c] = pd.to_datetime(frame[c].astype("int64"), unit="us").astype("datetime64[us]")
        elif c in INT_COLUMNS:
            frame[c] = frame[c].astype("Int64")
        elif c in FLOAT_COLUMNS:
            frame[c] = frame[c].astype("float64")
        elif not rows:
            frame[c] = frame[c].astype(object)
    return frame


def sql_rows(valid: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Normalised (validated) events as tuples in EVENT_COLUMNS order, NULL for missing."""
    out: list[list[Any]] = []
    for c in EVENT_COLUMNS:
        col = valid[c]
        if c == "ts":
            micros = pd.to_datetime(col).to_numpy(dtype="datetime64[us]").astype(np.int64)
            out.append(micros.tolist())
            continue
        present = col.notna().to_numpy()
        cells = col.to_numpy(dtype=object)
        if c in INT_COLUMNS:
            out.append([int(v) if p else None for v, p in zip(cells, present, strict=True)])
        elif c in FLOAT_COLUMNS:
            out.append([float(v) if p else None for v, p in zip(cells, present, strict=True)])
        else:
            out.append([str(v) if p else None for v, p in zip(cells, present, strict=True)])
    return list(zip(*out, strict=True))


def validate(
    frame: pd.DataFrame,
    *,
    source: str,
    first_row: int,
    known_assets: Collection[str] | None,
    known_partners: Collection[str] | None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Contract checks, per-type required fields and unknown ids; every problem, row-located."""
    normalised, problems = check_table(frame, _EVENTS_NO_KEY, source=source, first_row=first_row)
    if not len(normalised):
        return normalised, problems
    flagged = {(p.row, p.column) for p in problems}
    rows = np.arange(first_row, first_row + len(normalised))
    types = normalised["type"].to_numpy(dtype=object)
    for event_type, fields in EVENT_REQUIRED_FIELDS.items():
        of_type = types == event_type.value
        if not of_type.any():
            continue
        for name in fields:
            missing = of_type & normalised[name].isna().to_numpy()
            for row in rows[missing]:
                if (int(row), name) not in flagged:
                    reason = f"value is missing; {event_type.value} events need {', '.join(fields)}"
                    problems.append(Problem(source, int(row), name, reason))
    problems += _propensity_problems(normalised, rows, types, flagged, source)
    for name, known, what in (
        ("asset_id", known_assets, "the catalog"),
        ("partner_id", known_partners, "the partner table"),
    ):
        if known is None:
            continue
        col = normalised[name]
        unknown = (col.notna() & ~col.isin(list(known))).to_numpy()
        for row, value in zip(rows[unknown], col.to_numpy(dtype=object)[unknown], strict=True):
            problems.append(
                Problem(source, int(row), name, f"unknown {name} {value!r}; not in {what}")
            )
    # Report in file order: whole-file problems first, then row by row (stable within a row).
    problems.sort(key=lambda p: -1 if p.row is None else p.row)
    return normalised, problems


def _propensity_problems(
    events: pd.DataFrame,
    rows: np.ndarray,
    types: np.ndarray,
    flagged: set[tuple[int | None, str | None]],
    source: str,
) -> list[Problem]:
    """Propensities (and an experiment's name and arm) belong to impressions, an experiment's
    impression names both, and an asset is shown in its slot no more often than it is shown at
    all (propensity <= propensity_shown)."""
    out: list[Problem] = []
    slot = pd.to_numeric(events["propensity"], errors="coerce").to_numpy(dtype=np.float64)
    shown = pd.to_numeric(events["propensity_shown"], errors="coerce").to_numpy(dtype=np.float64)
    not_impression = types != EventType.IMPRESSION.value
    for name, values in (("propensity", slot), ("propensity_shown", shown)):
        for row in rows[not_impression & ~np.isnan(values)]:
            if (int(row), name) not in flagged:
                reason = "only impressions carry a propensity; leave it empty for other events"
                out.append(Problem(source, int(row), name, reason))
    for name in ("experiment", "arm"):
        for row in rows[not_impression & events[name].notna().to_numpy()]:
            if (int(row), name) not in flagged:
                reason = f"only impressions carry an {name}; leave it empty for other events"
                out.append(Problem(source, int(row), name, reason))
    experiment, arm = events["experiment"].notna().to_numpy(), events["arm"].notna().to_numpy()
    for row in rows[~not_impression & (experiment != arm)]:
        if (int(row), "arm") not in flagged and (int(row), "experiment") not in flagged:
            reason = "an impression of an experiment names both the experiment and its arm"
            out.append(Problem(source, int(row), "arm", reason))
    above = ~not_impression & (shown < slot)  # NaN compares False
    for row, a, b in zip(rows[above], slot[above], shown[above], strict=True):
        if (int(row), "propensity_shown") not in flagged:
            reason = f"{b:g} is below propensity {a:g}: shown anywhere is at least shown here"
            out.append(Problem(source, int(row), "propensity_shown", reason))
    return out


def as_frame(frame_or_records: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    if isinstance(frame_or_records, pd.DataFrame):
        return frame_or_records.reset_index(drop=True)
    if isinstance(frame_or_records, Mapping):
        raise ValueError("append takes a DataFrame or a list of event records, not one mapping")
    records = list(frame_or_records)
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise ValueError(f"record {i} is a {type(record).__name__}; expected a mapping")
    # A key a record leaves out is a missing value of that record, not a missing column.
    return pd.DataFrame.from_records(records).reindex(
        columns=list(dict.fromkeys([*EVENT_COLUMNS, *(k for r in records for k in r)]))
    )
