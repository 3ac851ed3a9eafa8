"""Late-arriving rows: a transactional row lands in the `ingest_dt` partition of a later day.

Whether and how late a row is comes from its primary key, so the task of day D can take, from
its own rendering of days D-1..D-max, exactly the rows the tasks of those days leave out: each
partition keeps one owner. A row never lands after the world's last day. The moved row takes its
cell and copy log entries along, and adds one `late_arrival` entry (column `ingest_dt`, clean =
its own day, dirty = the day it landed).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness import log as defect_log
from ecomlake.messiness.apply import apply_messiness
from ecomlake.messiness.keys import column_code, row_keys
from ecomlake.messiness.levels import MessLevel
from ecomlake.messiness.registry import LATE_DEFECT
from ecomlake.plan.calendar import day_date
from ecomlake.render.context import DayContext
from ecomlake.render.registry import INGEST_KEY, TableSpec
from ecomlake.rng import streams as s

# (day) -> that day's context and its clean table
CleanDay = Callable[[int], tuple[DayContext, pa.Table]]


def days_late(ctx: DayContext, spec: TableSpec, data: pa.Table, level: MessLevel) -> np.ndarray:
    """Days each row of `ctx.day` arrives late (0: on time); copies share their original's."""
    if level.late_arrival <= 0 or spec.partition_column is not None or data.num_rows == 0:
        return np.zeros(data.num_rows, dtype=np.int64)
    keys, code = row_keys(data, spec.pk), column_code(spec.name, INGEST_KEY)
    hit = ctx.rng.bernoulli(s.MESS_LATE, keys, level.late_arrival, index=code)
    days = ctx.rng.integers(s.MESS_LATE_DAYS, keys, 1, level.late_max_days, index=code)
    return np.where(hit & (ctx.day + days <= ctx.world.end_day), days, 0)


def land_late_rows(
    ctx: DayContext,
    spec: TableSpec,
    data: pa.Table,
    log: pa.Table,
    level: MessLevel,
    clean_day: CleanDay,
) -> tuple[pa.Table, pa.Table]:
    """The day's rows that stay plus those of earlier days that land today, and their log.

    Only the landing rows of an earlier day are dirtied here: defects follow the primary key,
    so they come out as the earlier day's own task made them.
    """
    if level.late_arrival <= 0 or spec.partition_column is not None:
        return data, log
    stays = _keep(spec, data, log, days_late(ctx, spec, data, level) == 0)
    arrived = []
    first = max(ctx.world.start_day, ctx.day - level.late_max_days)
    for day in range(first, ctx.day):  # oldest first
        source_ctx, clean = clean_day(day)
        landing = days_late(source_ctx, spec, clean, level) == ctx.day - day
        if landing.any():
            rows, log = apply_messiness(source_ctx, spec.name, clean.filter(landing), level)
            arrived.append(_arrive(ctx, spec, rows, log, day))
    tables = [stays, *arrived]
    return (
        pa.concat_tables([t[0] for t in tables]),
        pa.concat_tables([t[1] for t in tables]),
    )


def _keep(
    spec: TableSpec, data: pa.Table, log: pa.Table, mask: np.ndarray
) -> tuple[pa.Table, pa.Table]:
    """Rows under `mask` and the log entries of their keys (a key's rows move together)."""
    rows = data.filter(pa.array(mask))
    kept = pc.is_in(log.column("pk_value"), value_set=defect_log.pk_text(rows, spec.pk))
    return rows, log.filter(kept)


def _arrive(
    ctx: DayContext, spec: TableSpec, rows: pa.Table, log: pa.Table | None, day: int
) -> tuple[pa.Table, pa.Table]:
    """Rows of `day` landing on `ctx.day`: their log re-partitioned, plus one late entry per key."""
    log = log if log is not None else defect_log.empty_log()
    log = log.set_column(
        log.schema.get_field_index("partition"),
        defect_log.DEFECT_SCHEMA.field("partition"),
        pa.repeat(pa.scalar(f"{INGEST_KEY}={ctx.day_iso}"), log.num_rows),
    )
    keys = defect_log.pk_text(rows, spec.pk).to_numpy(zero_copy_only=False)
    first = pa.array(np.concatenate([[True], keys[1:] != keys[:-1]]))  # not the copies
    originals = rows.filter(first)
    n = originals.num_rows
    moved = defect_log.log_rows(
        spec,
        ctx.day_iso,
        originals,
        INGEST_KEY,
        LATE_DEFECT,
        pa.repeat(pa.scalar(day_date(day).isoformat()), n),
        pa.repeat(pa.scalar(ctx.day_iso), n),
    )
    return rows, pa.concat_tables([log, moved])
