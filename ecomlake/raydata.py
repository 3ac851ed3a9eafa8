"""A Ray Data source that renders a lake table straight into Ray's object store, no files.

Days are assigned to tasks as `generate` assigns them, so the dataset holds the rows of the
lake `generate` would write for the same window, in the same order within each day. The plan
is put in the object store once; every read task gets its reference, not a copy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import pyarrow as pa
import ray
from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from ecomlake.config import EcomConfig
from ecomlake.errors import ConfigError
from ecomlake.library import (
    ConfigLike,
    DateLike,
    as_date,
    check_messiness,
    check_world,
    day_of,
    lineage_of,
    load_config,
    pick_tables,
    plan_world,
    world_window,
)
from ecomlake.lineage import Lineage, apply_lineage
from ecomlake.messiness import RunLevel
from ecomlake.messiness.day import render_tables
from ecomlake.plan.calendar import day_date
from ecomlake.plan.world import WorldPlan
from ecomlake.render.context import DayContext
from ecomlake.render.registry import TableSpec
from ecomlake.run.days import assign_tasks, spread_backlog
from ecomlake.run.task import DayTask
from ecomlake.run.window import DayChoice

MIN_ROWS_PER_READ = 50_000  # tinier days share a read task: a task costs ~1 ms of scheduling


class EcomDatasource(Datasource):
    """One lake table of days of a planned world, rendered by read tasks (no files).

    Args:
        world: `plan_world(config)`; put in Ray's object store once, every read task gets its
            reference, not a copy.
        table: the table's name.
        days: the days to read (dates or YYYY-MM-DD text, in the world window); None reads
            every day of the world, an empty list none.
        messiness_level: as `generate --messiness-level`.
        batch_id, ingestion_ts: stamp the lineage columns on the rows (both, or neither).

    Example:
        >>> world = ecomlake.plan_world("gen_config/quick.yaml")
        >>> source = ecomlake.EcomDatasource(world, "orders", ["2024-02-01", "2024-02-02"])
        >>> ray.data.read_datasource(source, override_num_blocks=2).count()
    """

    def __init__(
        self,
        world: WorldPlan,
        table: str,
        days: Sequence[DateLike] | None = None,
        messiness_level: str = "none",
        *,
        batch_id: str | None = None,
        ingestion_ts: str | None = None,
    ) -> None:
        check_world(world)
        spec = _one_table(table)
        level = check_messiness(world.config, messiness_level)
        lineage = lineage_of(batch_id, ingestion_ts)
        if days is None:
            numbers = range(world.start_day, world.end_day + 1)
        elif isinstance(days, str | dt.date) or not isinstance(days, Sequence):
            raise ConfigError(f"days: expected a list of dates or None, got {days!r:.60}")
        else:
            numbers = sorted({day_of(world, day, "days") for day in days})
        tasks = spread_backlog(assign_tasks([day_date(n) for n in numbers], world.signup_days()))
        self._spec, self._tasks, self._level, self._lineage = spec, tasks, level, lineage
        self._schema = _schema(
            world, spec, numbers[0] if numbers else world.start_day, level, lineage
        )
        self._rows_per_day = _rows_per_day(world, spec)
        self._world_ref = ray.put(world)  # last: nothing is stored for arguments refused above

    def get_name(self) -> str:
        return f"Ecomlake({self._spec.name})"

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context=None
    ) -> list[ReadTask]:
        """One read task per day, or per block of consecutive days when days are tiny; never
        more blocks than `parallelism` asks for when it asks for fewer than the days."""
        if not self._tasks:
            return []
        per_block = max(1, int(MIN_ROWS_PER_READ // max(self._rows_per_day, 1.0)))
        blocks = max(1, min(len(self._tasks), parallelism, -(-len(self._tasks) // per_block)))
        size = -(-len(self._tasks) // blocks)
        groups = [self._tasks[i : i + size] for i in range(0, len(self._tasks), size)]
        return [
            ReadTask(
                _reader(self._world_ref, self._spec, group, self._level, self._lineage),
                BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=None),
                schema=self._schema,
                per_task_row_limit=per_task_row_limit,
            )
            for group in groups
        ]


def _reader(
    world_ref: ray.ObjectRef,
    spec: TableSpec,
    tasks: list[DayTask],
    level: RunLevel | str,
    lineage: Lineage | None,
):
    """The read function of one block of days: one Arrow block per day with rows."""

    def read() -> Iterator[pa.Table]:
        world: WorldPlan = ray.get(world_ref)
        for task in tasks:
            ctx = DayContext(world, task.day, task.signup_days, task.owns_catalog)
            for table in render_tables(ctx, [spec], level):
                for part in table.parts:
                    rows = part.rows
                    if lineage is not None:
                        rows = apply_lineage(rows, spec.name, spec.pk, lineage, None)
                    yield rows

    return read


def read_ray_dataset(
    config: ConfigLike,
    table: str,
    start: DateLike | None = None,
    end: DateLike | None = None,
    seed: int | None = None,
    *,
    messiness_level: str = "none",
    batch_id: str | None = None,
    ingestion_ts: str | None = None,
    plan_cache: bool = True,
    today: dt.date | None = None,
) -> ray.data.Dataset:
    """`table` of the days `start`..`end` (the whole world by default) as a Ray Dataset.

    The rows are those `generate` with the same config, seed, dates and level writes to
    `<target>/<table>/`, day by day; with `batch_id` and `ingestion_ts` the lineage columns too.
    Starts a local Ray if none is running.
    """
    cfg = load_config(config)
    _one_table(table)  # the arguments are checked before the (longer) planning
    check_messiness(cfg, messiness_level)
    lineage_of(batch_id, ingestion_ts)
    first, last = as_date(start, "start"), as_date(end, "end")
    days = _days(cfg, first, last, today)
    world = plan_world(cfg, seed, first, last, plan_cache=plan_cache, today=today)
    lineage = {"batch_id": batch_id, "ingestion_ts": ingestion_ts}
    return ray.data.read_datasource(EcomDatasource(world, table, days, messiness_level, **lineage))


def _one_table(table: object) -> TableSpec:
    if not isinstance(table, str):
        raise ConfigError(f"table: expected one table name, got {table!r:.60}")
    (spec,) = pick_tables(table, "table")
    return spec


def _schema(
    world: WorldPlan, spec: TableSpec, day: int, level: RunLevel, lineage: Lineage | None
) -> pa.Schema:
    """The table's schema as its read tasks yield it: one day rendered without its dimension
    partitions (a day's render gives the columns even when it has no rows)."""
    (table,) = render_tables(DayContext(world, day, (), False), [spec], level)
    empty = table.rows.slice(0, 0)
    return (
        empty if lineage is None else apply_lineage(empty, spec.name, spec.pk, lineage, None)
    ).schema


def _days(
    cfg: EcomConfig, start: dt.date | None, end: dt.date | None, today: dt.date | None
) -> list[dt.date]:
    """The days to read: `start`..`end` inside a pinned world window, else the whole world
    (which `start` and `end` then define, as for `generate`)."""
    first, last = world_window(cfg, start, end, today)
    if cfg.parameters.pinned_window() is None:
        start = end = None
    return DayChoice("read_ray_dataset", start, end).in_world(first, last)


def _rows_per_day(world: WorldPlan, spec: TableSpec) -> float:
    """A rough count of the table's rows per day, from the plan's carts (the busiest entity)."""
    days = max(world.end_day - world.start_day + 1, 1)
    return world.carts.size / days * (4.0 if "items" in spec.name else 1.0)
