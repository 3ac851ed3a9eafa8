"""Task ownership: every customer partition has exactly one owner, and the backlog is shared."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ecomlake.plan.calendar import day_number
from ecomlake.run.days import assign_tasks, spread_backlog

RUN = [dt.date(2023, 6, 1) + dt.timedelta(days=i) for i in range(7)]
FIRST = day_number(RUN[0])
SIGNUPS = np.arange(FIRST - 100, FIRST + 7)  # 100 signup days before the run, 7 inside it


def test_every_partition_has_one_owner():
    tasks = spread_backlog(assign_tasks(RUN, SIGNUPS))
    owned = [d for t in tasks for d in t.signup_days]
    assert sorted(owned) == SIGNUPS.tolist()
    assert [t.day for t in tasks] == [day_number(d) for d in RUN]
    assert [t.owns_catalog for t in tasks] == [True] + [False] * 6


def test_backlog_is_dealt_in_blocks_and_days_keep_their_own():
    tasks = spread_backlog(assign_tasks(RUN, SIGNUPS))
    backlog = [[d for d in t.signup_days if d < FIRST] for t in tasks]
    assert [len(b) for b in backlog] == [15, 15, 14, 14, 14, 14, 14]
    assert [d for b in backlog for d in b] == list(range(FIRST - 100, FIRST))
    assert all(t.day in t.signup_days for t in tasks)


def test_single_day_run_keeps_everything():
    (task,) = spread_backlog(assign_tasks(RUN[:1], SIGNUPS))
    assert task.signup_days == tuple(SIGNUPS[SIGNUPS <= FIRST].tolist())
