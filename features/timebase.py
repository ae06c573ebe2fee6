"""The one day clock: days since 2000-01-01 (UTC), and the conversions between it, timestamps
and epoch microseconds.

Pair features measure time in days since `EPOCH` (an asset's age, what is published or expired
by the request's day); usage aggregates and training examples measure it in integer
microseconds since 1970-01-01 (the journal's unit). Every module converts through here, so
serving and training read the same clock.

Timestamps are UTC; tz-naive ones are taken as UTC. Each conversion keeps the arithmetic it
has always had (the order of operations decides the last bit of a float day).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
import pandas as pd

EPOCH = pd.Timestamp("2000-01-01")  # day 0 of the pair features' clock (tz-naive UTC)
EPOCH_DATETIME = datetime(2000, 1, 1, tzinfo=UTC)  # the same instant, for pandas-free callers
US_PER_DAY = 86_400_000_000
SECONDS_PER_DAY = 86_400.0
EPOCH_US = int(EPOCH.value // 1000)  # EPOCH in microseconds since 1970-01-01


def days_since_epoch(ts: Iterable[object]) -> np.ndarray:
    """(n,) float64 days since `EPOCH` of tz-naive timestamps (anything `pd.to_datetime`
    reads); NaN where a value is missing or unreadable."""
    series = pd.to_datetime(pd.Series(list(ts), dtype=object), errors="coerce")
    return ((series - EPOCH).dt.total_seconds() / SECONDS_PER_DAY).to_numpy(dtype=np.float64)


def day_number(now: datetime) -> float:
    """Days since `EPOCH` of one datetime (naive = UTC), without pandas: a request's day."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (now - EPOCH_DATETIME).total_seconds() / SECONDS_PER_DAY


def to_micros(ts: pd.Series | np.ndarray | pd.DatetimeIndex) -> np.ndarray:
    """(n,) int64 microseconds since 1970-01-01 of timestamps (tz-aware ones converted to UTC,
    tz-naive ones taken as UTC)."""
    values = pd.to_datetime(pd.Series(np.asarray(ts)) if not isinstance(ts, pd.Series) else ts)
    if values.dt.tz is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.to_numpy(dtype="datetime64[us]").astype(np.int64)


def day_to_micros(day: float | np.ndarray) -> np.ndarray:
    """Days since `EPOCH` as int64 microseconds since 1970-01-01 (truncated to the
    microsecond): a request's day as the usage aggregates' time."""
    return (np.asarray(day, dtype=np.float64) * US_PER_DAY).astype(np.int64) + EPOCH_US


def micros_to_day(t_us: int | np.ndarray) -> np.ndarray:
    """Microseconds since 1970-01-01 as float64 days since `EPOCH`: an example's time as the
    pair features' day (one rounding: exact microseconds over an exact divisor)."""
    return (np.asarray(t_us, dtype=np.int64) - EPOCH_US) / US_PER_DAY
