"""The one day clock: obvious values, round trips, and bit-for-bit the arithmetic of the three
copies it replaced (features.pairs, features.usage, the recommender and training)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from features.timebase import (
    EPOCH,
    EPOCH_US,
    US_PER_DAY,
    day_number,
    day_to_micros,
    days_since_epoch,
    micros_to_day,
    to_micros,
)

# Instants at odd fractions of a second, across years, as the copies saw them.
INSTANTS = [
    datetime(2000, 1, 1),
    datetime(2000, 1, 1, 0, 0, 0, 1),
    datetime(2019, 12, 31, 23, 59, 59, 999_999),
    datetime(2025, 3, 14, 15, 9, 26, 535_897),
    datetime(2026, 1, 15, 10, 30),
    datetime(2031, 7, 1, 4, 5, 6, 789_012),
]


def test_day_zero_is_2000_01_01_utc() -> None:
    assert pd.Timestamp("2000-01-01") == EPOCH
    assert EPOCH_US == 946_684_800_000_000  # seconds from 1970 to 2000, in microseconds
    assert US_PER_DAY == 24 * 3600 * 10**6
    assert day_number(datetime(2000, 1, 1, tzinfo=UTC)) == 0.0
    assert day_number(datetime(2000, 1, 3, 12)) == 2.5  # naive = UTC
    assert day_number(datetime(2000, 1, 2, 2, tzinfo=timezone(timedelta(hours=2)))) == 1.0


def test_days_since_epoch_reads_dates_and_leaves_missing_as_nan() -> None:
    days = days_since_epoch(["2000-01-11", None, pd.Timestamp("1999-12-31 12:00"), "not a date"])
    np.testing.assert_array_equal(days[[0, 2]], [10.0, -0.5])
    assert np.isnan(days[[1, 3]]).all()


def test_micros_and_days_round_trip() -> None:
    t = np.array([EPOCH_US, EPOCH_US + US_PER_DAY, EPOCH_US + 3 * US_PER_DAY // 2])
    np.testing.assert_array_equal(micros_to_day(t), [0.0, 1.0, 1.5])
    np.testing.assert_array_equal(day_to_micros(np.array([0.0, 1.0, 1.5])), t)
    assert int(day_to_micros(10_000.25)) == EPOCH_US + 10_000 * US_PER_DAY + US_PER_DAY // 4


def test_to_micros_takes_naive_as_utc_and_converts_aware() -> None:
    naive = pd.Series([pd.Timestamp("2000-01-01"), pd.Timestamp("2000-01-02 00:00:00.000001")])
    np.testing.assert_array_equal(to_micros(naive), [EPOCH_US, EPOCH_US + US_PER_DAY + 1])
    aware = naive.dt.tz_localize("Europe/Kyiv")  # UTC+2 in winter
    np.testing.assert_array_equal(to_micros(aware), to_micros(naive) - 2 * 3600 * 10**6)
    np.testing.assert_array_equal(to_micros(naive.to_numpy()), to_micros(naive))


# ---- the copies it replaced, verbatim ----------------------------------------------------------

_OLD_EPOCH = pd.Timestamp("2000-01-01")
_OLD_US_PER_DAY = 86_400_000_000
_OLD_EPOCH_2000_US = int(pd.Timestamp("2000-01-01").value // 1000)


def _old_days_since_epoch(ts: list[object]) -> np.ndarray:  # features.pairs
    series = pd.to_datetime(pd.Series(list(ts), dtype=object), errors="coerce")
    return ((series - _OLD_EPOCH).dt.total_seconds() / 86400.0).to_numpy(dtype=np.float64)


def _old_day_number(now: datetime) -> float:  # recommender.ranking.recommender
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (now - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds() / 86400.0


def _old_day_to_micros(day: np.ndarray) -> np.ndarray:  # features.usage
    return (np.asarray(day, dtype=np.float64) * _OLD_US_PER_DAY).astype(np.int64) + (
        _OLD_EPOCH_2000_US
    )


def _old_training_day(t_us: np.ndarray) -> np.ndarray:  # learning.training (encoder, eligible)
    return (np.asarray(t_us, dtype=np.int64) - _OLD_EPOCH_2000_US) / _OLD_US_PER_DAY


@pytest.mark.parametrize("now", INSTANTS, ids=[str(i) for i in INSTANTS])
def test_each_conversion_keeps_its_old_arithmetic_bit_for_bit(now: datetime) -> None:
    assert day_number(now) == _old_day_number(now)
    np.testing.assert_array_equal(days_since_epoch([now]), _old_days_since_epoch([now]))
    t_us = to_micros(pd.Series([pd.Timestamp(now)]))
    np.testing.assert_array_equal(micros_to_day(t_us), _old_training_day(t_us))
    # evaluation's start day was Python int arithmetic: the same correctly rounded quotient
    assert float(micros_to_day(int(t_us[0]))) == (int(t_us[0]) - _OLD_EPOCH_2000_US) / (
        _OLD_US_PER_DAY
    )
    day = np.array([day_number(now)])
    np.testing.assert_array_equal(day_to_micros(day), _old_day_to_micros(day))


@pytest.mark.parametrize("now", INSTANTS, ids=[str(i) for i in INSTANTS])
def test_serving_and_training_days_of_one_instant_agree(now: datetime) -> None:
    """A request's day (from a datetime) and an example's day (from microseconds) differ by
    rounding at most: far below a second."""
    t_us = to_micros(pd.Series([pd.Timestamp(now)]))
    assert abs(day_number(now) - float(micros_to_day(t_us)[0])) < 1e-9
    assert abs(int(day_to_micros(day_number(now))) - int(t_us[0])) <= 1
