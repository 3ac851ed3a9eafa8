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
    return month_index(days) % 12 + 1


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each day number (equal within one calendar month).

    Millions of days spanning a few thousand are looked up in a table of their range: numpy's
    day-to-month conversion does calendar arithmetic per element.
    """
    days = np.asarray(days, dtype="int64")
    if days.size < 4096:
        return _months(days)
    low = int(days.min())
    span = int(days.max()) - low + 1
    if span > days.size:
        return _months(days)
    return _months(np.arange(low, low + span))[days - low]


def _months(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
