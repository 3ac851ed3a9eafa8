"""DayChoice: the one parser of the date options (start_date, end_date, days, dates, and
export-raw's ingest_date) for every command; conflicting options are an error, not a precedence.

It answers three questions: the world window (`world`: pinned by the config, else start..end,
else the days up to today), the run's days inside it (`in_world`, generate and run-generator),
and the dates asked for with no world at hand (`alone`, export-raw and upload-raw).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from ecomlake.config import EcomConfig
from ecomlake.config.bounds import EPOCH, LATEST, shift_date, window_problem
from ecomlake.errors import OptionError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    """A run's world window, whether another day's run gives the same world, and its days."""

    start: dt.date
    end: dt.date
    reproducible: bool
    days: list[dt.date]

    def warn_if_unreproducible(self) -> bool:
        """Log that an unpinned window ends today; whether it did."""
        if not self.reproducible:
            log.warning(
                "world window %s..%s ends today (no start_date/end_date pinned): "
                "another day's run will give different data",
                self.start,
                self.end,
            )
        return not self.reproducible


@dataclass(frozen=True)
class DayChoice:
    """The date options of one command (`owner` names its options class in errors)."""

    owner: str
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    days: int | None = None
    dates: tuple[dt.date, ...] = ()
    ingest_date: dt.date | None = None

    def __post_init__(self) -> None:
        start, end, days = self.start_date, self.end_date, self.days
        if days is not None and days < 1:
            self._error(f"{{days}}: must be at least 1, got {days}")
        for name in ("start_date", "end_date", "ingest_date", "dates"):
            value = getattr(self, name)
            early = min(value, default=None) if name == "dates" else value
            if early is not None and early < EPOCH:
                self._error(f"{{{name}}}: {early} is before {EPOCH}, the earliest date supported")
        if self.dates:
            self._conflict("dates", "ingest_date", "start_date", "end_date", "days")
        if self.ingest_date:
            self._conflict("ingest_date", "start_date", "end_date", "days")
        if days is not None and start and end:
            self._error("{days}: cannot be combined with both {start_date} and {end_date}")
        if start and end and start > end:
            self._error(f"{{start_date}}: must be on or before {{end_date}} ({start} > {end})")

    def world(self, cfg: EcomConfig, today: dt.date) -> tuple[dt.date, dt.date, bool]:
        """(start, end, reproducible): the config's pinned window, else start_date..end_date
        (both needed), else `order_days_back` days up to today (not reproducible); a window
        the engine cannot render (bounds.py) is an error naming what set it."""
        pinned = cfg.parameters.pinned_window()
        if pinned is not None:  # the config's own validation checked it
            return pinned[0], pinned[1], True
        start, end = self.start_date, self.end_date
        end_name = "{end_date}"
        if start is None and end is None:
            back, end, end_name = cfg.parameters.order_days_back, today, "parameters.signup_years"
            start = shift_date(today, -back)
            if start is None:
                rule = f"the {back} days up to today ({today}) start before {EPOCH}"
                self._error(f"parameters.order_days_back: {rule}, the earliest date supported")
        elif start is None:
            self._error("{start_date}: required when {end_date} is given")
        elif end is None:
            self._error("{end_date}: required when {start_date} is given")
        problem = window_problem(start, end, cfg.parameters.signup_years)
        if problem:  # only the end can break it: __post_init__ checked start_date
            self._error(f"{end_name}: {problem[1]}")
        return start, end, self.start_date is not None

    def window(self, cfg: EcomConfig, today: dt.date) -> Window:
        """The world and the run's days: the dates pick days inside a pinned world, or define
        the world when the config pins none."""
        first, last, reproducible = self.world(cfg, today)
        pinned = cfg.parameters.pinned_window() is not None
        days = self.in_world(first, last, ranged=pinned, source=window_source(cfg, self))
        return Window(first, last, reproducible, days)

    def in_world(
        self, first: dt.date, last: dt.date, ranged: bool = True, source: str = ""
    ) -> list[dt.date]:
        """The days, sorted and unique, inside first..last; by default all of it, `days` counts
        from start_date (else back from the end). `ranged=False`: start/end set the world, not
        a range inside it. `source` says what set the window, for the errors."""
        world = f"the world window {first}..{last}{source}"
        start = self.start_date if ranged else None
        end = self.end_date if ranged else None
        for name, value in (("start_date", start), ("end_date", end)):
            if value is not None and not first <= value <= last:
                self._error(f"{{{name}}}: {value} is outside {world}")
        if self.dates:
            chosen = sorted(set(self.dates))
        else:
            low, high = start or first, end or last
            if self.days is not None:
                if start:
                    high = self._days_from(start)
                else:
                    low = shift_date(high, 1 - self.days) or dt.date.min
                    if low < first:
                        self._error(f"{{days}}: {self.days} days up to {high} start before {world}")
            if low > high:
                self._error(f"{{start_date}}: must be on or before {{end_date}} ({low} > {high})")
            chosen = [low + dt.timedelta(days=i) for i in range((high - low).days + 1)]
        outside = [d for d in chosen if d < first or d > last]
        if outside:
            subject = "{dates}" if self.dates else "{days}"
            self._error(f"{subject}: {outside[0]} is outside {world}")
        return chosen

    def alone(self) -> tuple[dt.date, ...] | None:
        """The dates asked for without a world: a list, an ingest date, or start_date with at
        most one of end_date / days (start_date alone is that one day); None: no option."""
        if self.dates:
            return tuple(sorted(set(self.dates)))
        if self.ingest_date:
            return (self.ingest_date,)
        if self.end_date and not self.start_date:
            self._error("{end_date}: needs {start_date}")
        if self.days is not None and not self.start_date:
            self._error("{days}: needs {start_date}")
        if self.start_date is None:
            return None
        last = self.end_date or self._days_from(self.start_date)
        span = (last - self.start_date).days + 1
        return tuple(self.start_date + dt.timedelta(days=i) for i in range(span))

    def _days_from(self, start: dt.date) -> dt.date:
        """The last of `days` days (one without it) from `start`; an error past LATEST."""
        last = shift_date(start, (self.days or 1) - 1)
        if last is None:
            self._error(f"{{days}}: {self.days} days from {start} run past {LATEST}")
        return last

    def _conflict(self, field: str, *others: str) -> None:
        given = [o for o in others if getattr(self, o) not in (None, ())]
        if given:
            names = ", ".join(f"{{{o}}}" for o in given)
            self._error(f"{{{field}}}: cannot be combined with {names}")

    def _error(self, template: str) -> None:
        raise OptionError(self.owner, template, *_FIELDS)


_FIELDS = ("start_date", "end_date", "days", "dates", "ingest_date")


def window_source(cfg: EcomConfig, choice: DayChoice) -> str:
    """What set the world window, said after it in errors: a day outside a window the YAML
    pins is a conflict with the YAML, not with another flag."""
    if cfg.parameters.pinned_window() is not None:
        return " pinned by the YAML (parameters.start_date, parameters.end_date)"
    if choice.start_date is None:
        return " (parameters.order_days_back days up to today)"
    return ""
