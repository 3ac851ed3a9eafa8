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

from ecomlake.plan.calendar import day_number
from ecomlake.render.extent import owned_signup_days
from ecomlake.run.task import DayTask


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
