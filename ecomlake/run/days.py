"""Which days a run renders, and which dimension partitions each day's task owns.

Customer partition `signup_dt=X` belongs to the task of the first run day on or after X, so
every customer referenced by the run's days is written, each partition by exactly one task;
`generate` then spreads the partitions before the first run day over all tasks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ecomlake.config import EcomConfig
from ecomlake.errors import ConfigError
from ecomlake.plan.calendar import day_number
from ecomlake.render.extent import owned_signup_days
from ecomlake.run.task import DayTask


def select_days(
    world_start: dt.date,
    world_end: dt.date,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    days: int | None = None,
    dates: Sequence[dt.date] | None = None,
) -> list[dt.date]:
    """The run's days, sorted and unique; conflicting options are an error, not a precedence."""
    if dates:
        if start or end or days:
            raise ConfigError("--dates: cannot be combined with --start-date, --end-date or --days")
        chosen = sorted(set(dates))
    else:
        if days is not None and days < 1:
            raise ConfigError(f"--days: must be at least 1, got {days}")
        if days is not None and start and end:
            raise ConfigError("--days: cannot be combined with both --start-date and --end-date")
        first = start or world_start
        last = end or world_end
        if days is not None:
            if start:
                last = start + dt.timedelta(days=days - 1)
            else:
                first = last - dt.timedelta(days=days - 1)
        if first > last:
            raise ConfigError(f"--start-date: must be on or before --end-date ({first} > {last})")
        chosen = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    outside = [d for d in chosen if d < world_start or d > world_end]
    if outside:
        flag = "--dates" if dates else ("--start-date/--end-date" if start or end else "--days")
        raise ConfigError(
            f"{flag}: {outside[0]} is outside the world window {world_start}..{world_end}"
        )
    return chosen


def assign_tasks(run_days: Sequence[dt.date], signup_days: np.ndarray) -> list[DayTask]:
    """One task per run day; each customer partition goes to the first run day on or after it."""
    numbers = [day_number(d) for d in run_days]
    owned = owned_signup_days(numbers, signup_days)
    return [
        DayTask(day, signups, owns_catalog=i == 0)
        for i, (day, signups) in enumerate(zip(numbers, owned, strict=True))
    ]


def spread_backlog(tasks: Sequence[DayTask]) -> list[DayTask]:
    """Deal the customer partitions from before the first run day over all the run's tasks.

    A run that starts mid-world would otherwise write every earlier signup day in its first
    task (1,615 partitions for a run from 2023-06-01): one long task that serialises the start.
    Task i takes the i-th of len(tasks) consecutive, near-equal blocks (np.array_split), so
    ownership depends only on the run's days, never on workers, and stays one owner each.
    """
    if not tasks:
        return []
    first = tasks[0]
    backlog = np.array([d for d in first.signup_days if d < first.day], dtype=np.int64)
    blocks = np.array_split(backlog, len(tasks))
    own = [
        tuple(d for d in first.signup_days if d >= first.day),
        *(t.signup_days for t in tasks[1:]),
    ]
    return [
        replace(task, signup_days=(*map(int, block), *days))
        for task, block, days in zip(tasks, blocks, own, strict=True)
    ]


def resolve_days(
    cfg: EcomConfig,
    today: dt.date,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    days: int | None = None,
    dates: Sequence[dt.date] | None = None,
) -> tuple[dt.date, dt.date, bool, list[dt.date]]:
    """(world start, world end, reproducible, run days): CLI dates pick days inside a pinned
    world, or define the world when the config pins none."""
    first, last, reproducible = cfg.world_window(start, end, today)
    pinned = cfg.parameters.pinned_window() is not None
    chosen = select_days(
        first,
        last,
        start=start if pinned else None,
        end=end if pinned else None,
        days=days,
        dates=dates or None,
    )
    return first, last, reproducible, chosen
