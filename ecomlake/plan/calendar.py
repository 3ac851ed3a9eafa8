"""Integer day numbers (days since 1970-01-01) and microsecond timestamps used across the plan."""

from __future__ import annotations

import datetime as dt

import numpy as np

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
EPOCH = dt.date(1970, 1, 1)


def day_number(value: dt.date) -> int:
    """Day number of a date."""
    return (value - EPOCH).days


def day_date(day: int) -> dt.date:
    """Date of a day number."""
    return EPOCH + dt.timedelta(days=int(day))


def month_of(days: np.ndarray) -> np.ndarray:
    """Calendar month 1..12 of each day number."""
    months = np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[M]")
    return months.astype(np.int64) % 12 + 1


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each day number (equal within one calendar month)."""
    months = np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[M]")
    return months.astype(np.int64)


def year_month_keys(days: np.ndarray) -> np.ndarray:
    """'YYYY-MM' strings of each day number."""
    months = np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[M]")
    return np.datetime_as_string(months, unit="M")
