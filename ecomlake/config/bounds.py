"""The values the engine supports, checked by one function each wherever a value comes in (the
YAML, the library's options, the CLI's flags), so each means the same and fails the same way.

Each check returns the rule a value breaks (or the value it stands for), never raises: the
caller knows how its input is named (`parameters.start_date`, `GenerateOptions.seed`, `--seed`).
"""

from __future__ import annotations

import datetime as dt
import numbers
import re

EPOCH = dt.date(1970, 1, 1)  # day 0 of plan/calendar.py; earlier days are not supported
LATEST = dt.date.max
SEED_LIMIT = 2**64  # rng/hashing.py keeps a seed's low 64 bits: -1 would be 2**64 - 1's world
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def seed_problem(value: object) -> str | None:
    """Why `value` is not a root seed (a whole number, not a bool, 0 <= seed < 2**64), or None."""
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if whole and 0 <= value < SEED_LIMIT:  # a numpy integer too (callers take its int)
        return None
    return f"must be a whole number from 0 to 2**64 - 1 (got {value!r})"


def iso_date(value: object) -> dt.date | None:
    """`value` as a date: a date (not a datetime, whose time would be dropped silently) or text
    written YYYY-MM-DD (not 20240105 or 2024-1-5, which `date.fromisoformat` would take); None
    if it is neither."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def shift_date(day: dt.date, days: int) -> dt.date | None:
    """`day` moved by `days` days, or None when that leaves EPOCH..LATEST (Python's dates end at
    9999-12-31, and a huge count does not even fit a timedelta)."""
    try:
        moved = day + dt.timedelta(days=days)
    except OverflowError:
        return None
    return moved if moved >= EPOCH else None


def window_problem(start: dt.date, end: dt.date, signup_years: int) -> tuple[str, str] | None:
    """('start' or 'end', the rule it breaks) when the world window start..end needs days the
    engine does not support, else None. Customers sign up over the 365 × signup_years days
    before the window end (plan/customers.py) and a signup day before EPOCH is lost (day -1
    marks a guest), so the end must be at least that long after EPOCH."""
    if start < EPOCH:
        return "start", f"must be on or after {EPOCH}, the earliest date supported (got {start})"
    earliest = shift_date(EPOCH, 365 * signup_years)
    if earliest is None or end < earliest:
        after = f"on or after {earliest}" if earliest else f"after {LATEST}"
        return "end", (
            f"the window end must be {after} (got {end}): customers sign up during the "
            f"parameters.signup_years ({signup_years}) × 365 days before it, none before {EPOCH}"
        )
    return None
