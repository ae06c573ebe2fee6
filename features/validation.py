"""One validation routine for every table contract.

`validate_table` checks a whole DataFrame against a `TableContract`, collects *every* problem
(file, row, column, reason) before raising, and returns a normalised copy: enums as their
string values, list columns as Python lists of strings, dates and datetimes as tz-naive UTC
`pandas.Timestamp`, numbers as floats/ints, missing optional values as None.

Row numbers in problems are 1-based data rows (a CSV's header is not counted), so "row 3" is
the third record of the file whatever its format.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.schema import ID_PATTERN, SLUG_PATTERN, Column, TableContract, values

_ID_RE = re.compile(ID_PATTERN)
_SLUG_RE = re.compile(SLUG_PATTERN)
MAX_REPORTED_PROBLEMS = 200


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and why."""

    source: str
    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = [self.source]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.reason}"


class SchemaError(ValueError):
    """Input rejected; `problems` lists every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        shown = self.problems[:MAX_REPORTED_PROBLEMS]
        lines = [f"{len(self.problems)} problem(s) found; nothing was written:"]
        lines += [f"  - {p}" for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more")
        super().__init__("\n".join(lines))


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT, pd.NA and blank strings."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    if isinstance(value, (list, tuple, np.ndarray)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def split_list(value: Any) -> list[str]:
    """A list cell from any format: JSON/Parquet list, '["a","b"]' text, or 'a;b' / 'a,b' text."""
    if is_missing(value):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if not is_missing(v)]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{text!r} is not a valid JSON list ({exc.msg})") from None
        if not isinstance(parsed, list):
            raise ValueError(f"{text!r} is not a list")
        return [str(v).strip() for v in parsed if not is_missing(v)]
    sep = ";" if ";" in text else ("|" if "|" in text else ",")
    return [part.strip() for part in text.split(sep) if part.strip()]


@functools.cache
def _allowed(enum: type) -> tuple[frozenset[str], list[str]]:
    listed = values(enum)
    return frozenset(listed), listed


def _check_enum(col: Column, raw: Any) -> str:
    assert col.enum is not None
    text = str(raw).strip().lower().replace("-", "_").replace(" ", "_")
    fast, allowed = _allowed(col.enum)
    if text not in fast:
        raise ValueError(f"{raw!r} is not a valid {col.name}; expected one of {allowed}")
    return text


def _to_timestamp(raw: Any, *, date_only: bool) -> pd.Timestamp:
    if isinstance(raw, (int, float, np.integer, np.floating)) and not isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a date; expected ISO 8601 like 2026-03-31")
    try:
        ts = pd.Timestamp(raw)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{raw!r} is not a date; expected ISO 8601 like 2026-03-31") from None
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"{raw!r} is not a date")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    if not 1990 <= ts.year <= 2100:
        raise ValueError(f"{raw!r} is outside the years 1990-2100")
    return ts.normalize() if date_only else ts


def _check_cell(col: Column, raw: Any) -> Any:
    """Normalise one non-missing cell or raise ValueError with the reason."""
    kind = col.kind
    if kind == "id":
        text = str(raw).strip()
        if isinstance(raw, float) and raw.is_integer():
            text = str(int(raw))
        if not _ID_RE.match(text):
            raise ValueError(
                f"{raw!r} is not a valid id (1-64 characters: letters, digits, '_', '.', ':', '-')"
            )
        return text
    if kind in ("str", "text"):
        text = str(raw)
        if kind == "str":
            text = text.strip()
        if "\x00" in text:
            raise ValueError("contains a NUL character")
        if col.max_length is not None and len(text) > col.max_length:
            raise ValueError(f"is {len(text)} characters long; at most {col.max_length} allowed")
        return text
    if kind == "enum":
        return _check_enum(col, raw)
    if kind == "enum_list":
        return [_check_enum(col, item) for item in split_list(raw)]
    if kind == "slug":
        text = str(raw).strip().lower()
        if not _SLUG_RE.match(text):
            raise ValueError(f"{raw!r} is not a valid {col.name} (lowercase letters, digits, '-')")
        return text
    if kind == "slug_list":
        items = [item.lower() for item in split_list(raw)]
        bad = [item for item in items if not _SLUG_RE.match(item)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a valid {col.name} value (lowercase slug)")
        return items
    if kind in ("date", "datetime"):
        return _to_timestamp(raw, date_only=kind == "date")
    if kind in ("int", "float"):
        if isinstance(raw, bool):
            raise ValueError(f"{raw!r} is not a number")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{raw!r} is not a number") from None
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f"{raw!r} is not a finite number")
        if kind == "int":
            if not number.is_integer():
                raise ValueError(f"{raw!r} is not a whole number")
            number = int(number)
        if col.min_value is not None and number < col.min_value:
            raise ValueError(f"{raw!r} is below the minimum {col.min_value:g}")
        if col.exclusive_min and col.min_value is not None and number == col.min_value:
            raise ValueError(f"{raw!r} must be above {col.min_value:g}")
        if col.max_value is not None and number > col.max_value:
            raise ValueError(f"{raw!r} is above the maximum {col.max_value:g}")
        return number
    if kind == "bool":
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValueError(f"{raw!r} is not true/false")
    raise AssertionError(f"unknown column kind {kind!r}")


_MEMO_TYPES = frozenset({str, int, float, bool})
_MISSING_LIST = object()  # a missing list cell: a new empty list in each row


def _outcome(col: Column, raw: Any) -> tuple[Any, str | None]:
    """(normalised value, problem or None) of one cell."""
    if is_missing(raw):
        if col.kind.endswith("_list"):
            return _MISSING_LIST, None
        if col.required and not col.nullable:
            return None, "value is missing"
        return None, None
    try:
        return _check_cell(col, raw), None
    except ValueError as exc:
        return None, str(exc)


def check_table(
    frame: pd.DataFrame, contract: TableContract, *, source: str, first_row: int = 1
) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate and normalise `frame`; return (normalised frame, problems).

    Unknown columns are kept as they are (callers may carry extra fields). A duplicate key is
    a problem on every repeated row after the first.
    """
    problems: list[Problem] = []
    present = set(frame.columns)
    for col in contract.columns:
        if col.required and col.name not in present:
            problems.append(Problem(source, None, col.name, "required column is missing"))
    out: dict[str, list[Any]] = {}
    n = len(frame)
    for col in contract.columns:
        if col.name not in present:
            out[col.name] = [[] if col.kind.endswith("_list") else None for _ in range(n)]
            continue
        cells = frame[col.name].tolist()
        normalised: list[Any] = []
        # A column repeats its values (ids, types, stages): each distinct scalar is checked
        # once. Keyed by type too, as 1, 1.0 and True are equal keys; lists are not shared.
        memo: dict[tuple[type, Any], tuple[Any, str | None]] = {}
        listed = col.kind.endswith("_list")
        for i, raw in enumerate(cells):
            key = (raw.__class__, raw) if raw.__class__ in _MEMO_TYPES and not listed else None
            outcome = memo.get(key) if key is not None else None
            if outcome is None:
                outcome = _outcome(col, raw)
                if key is not None:
                    memo[key] = outcome
            value, problem = outcome
            if problem is not None:
                problems.append(Problem(source, first_row + i, col.name, problem))
            normalised.append([] if listed and value is _MISSING_LIST else value)
        out[col.name] = normalised
    for early, late in contract.ordered_dates:
        for i, (a, b) in enumerate(zip(out[early], out[late], strict=True)):
            if a is not None and b is not None and b < a:
                problems.append(
                    Problem(source, first_row + i, late, f"{b.date()} is before {early} {a.date()}")
                )
    if contract.key is not None and contract.key in present:
        seen: dict[str, int] = {}
        for i, key in enumerate(out[contract.key]):
            if key is None:
                continue
            if key in seen:
                problems.append(
                    Problem(
                        source,
                        first_row + i,
                        contract.key,
                        f"duplicate {contract.key} {key!r} (first at row {seen[key]})",
                    )
                )
            else:
                seen[key] = first_row + i
    # object columns keep None for missing values (pandas 3 would turn them into NaN)
    result = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in out.items()}, index=range(n))
    for extra in frame.columns:
        if extra not in out:
            result[extra] = frame[extra].to_numpy()
    return result, problems


def validate_table(
    frame: pd.DataFrame, contract: TableContract, *, source: str, first_row: int = 1
) -> pd.DataFrame:
    """Like `check_table`, but raise `SchemaError` listing every problem if there is any."""
    result, problems = check_table(frame, contract, source=source, first_row=first_row)
    if problems:
        raise SchemaError(problems)
    return result
