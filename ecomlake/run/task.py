"""run_day: the one place a day is produced, render every table then commit its partitions.

Pure of Ray: executors call it in-process or inside a Ray task and only add where it ran.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.lake import (
    ParquetOptions,
    PartitionSink,
    PartitionWrite,
    RunIdentity,
    partition_dir,
    resolve_target,
)
from ecomlake.lineage import Lineage
from ecomlake.messiness import (
    DEFECTS_TABLE,
    RunLevel,
    apply_messiness,
    log_table_for,
    split_log,
)
from ecomlake.messiness.late import days_late, land_late_rows
from ecomlake.messiness.levels import MessLevel
from ecomlake.messiness.truth import partition_truth, row_hashes
from ecomlake.plan.calendar import day_date
from ecomlake.plan.world import WorldPlan
from ecomlake.render.context import DayContext
from ecomlake.render.registry import (
    INGEST_KEY,
    SIGNUP_TABLE,
    TABLES,
    TableSpec,
    output_columns,
    without_signups,
)
from ecomlake.run.defect_log import commit_defect_log


@dataclass(frozen=True)
class DayTask:
    """One day of the run and the dimension partitions it owns."""

    day: int
    signup_days: tuple[int, ...] = ()
    owns_catalog: bool = False


@dataclass(frozen=True)
class WriteSettings:
    """Where and how a task writes; small and picklable (the filesystem is resolved in-task)."""

    target: str
    storage_options: dict = field(default_factory=dict)
    lineage: Lineage = field(default_factory=lambda: Lineage("", ""))
    parquet: ParquetOptions = field(default_factory=ParquetOptions)
    identity: RunIdentity = field(default_factory=lambda: RunIdentity(0, "", ""))
    skip_committed: bool = True  # resume: keep partitions committed by the same seed and config
    level: RunLevel = field(default_factory=RunLevel)  # a clean level: no defects, no log
    # --repair: write only these partitions (`table/key=value`), each with its original lineage
    repair: dict[str, PartitionWrite] | None = None

    def sink(self) -> PartitionSink:
        """The sink a task writes through (the filesystem is resolved here, on the worker)."""
        return PartitionSink(
            resolve_target(self.target, self.storage_options),
            self.identity,
            PartitionWrite(self.lineage, self.parquet),
            skip_committed=self.skip_committed,
            repair=self.repair,
        )


@dataclass
class DayResult:
    """What a day reports back to the driver: counts and timings, never data."""

    day: str
    rows: dict[str, int]
    partitions: int
    skipped: int
    render_seconds: float
    write_seconds: float
    node_id: str = "local"
    committed: list[tuple[str, str]] = field(default_factory=list)  # (table, manifest JSON)
    kept: list[str] = field(default_factory=list)  # `table/key=value` found committed, skipped

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def committed_partitions(self) -> list[str]:
        """`table/key=value` of every partition the day committed, sorted."""
        return sorted(f"{table}/{json.loads(text)['partition']}" for table, text in self.committed)


def run_day(world: WorldPlan, task: DayTask, settings: WriteSettings) -> DayResult:
    """Render all tables of `task.day`, dirty them at a messy level, commit each partition.

    A messy partition's defect log is committed before the partition, so a committed partition
    always has its log; the day's transactional tables share `_defects/ingest_dt=<day>`, so
    when one of them is written all of them are rendered for that log.
    """
    ctx = DayContext(world, task.day, task.signup_days, task.owns_catalog)
    sink = settings.sink()
    level = settings.level.rates
    rows: dict[str, int] = {}
    committed: list[tuple[str, str]] = []
    render_s = 0.0
    expected = {spec.name: spec.partitions(ctx) for spec in TABLES}
    done = {s.name: {v for v in expected[s.name] if _keeps(sink, s, v)} for s in TABLES}
    skipped = sum(len(values) for values in done.values())
    kept = [] if settings.repair is not None else _kept(done)
    ctx = without_signups(ctx, done[SIGNUP_TABLE])  # committed customers are not rendered
    todo = [s for s in TABLES if not expected[s.name] or done[s.name] != set(expected[s.name])]
    if level is not None and any(s.partition_column is None for s in todo):
        todo = [s for s in TABLES if s in todo or s.partition_column is None]  # the day's log
    day_log: list[pa.Table] = []
    pending: list[tuple[TableSpec, str, pa.Table, pa.Table | None, dict | None]] = []
    earlier: dict[int, DayContext] = {}  # days whose late rows land today, shared by tables
    for spec in todo:
        t0 = time.perf_counter()
        parts, found = _render(ctx, spec, level, settings.level.name, earlier)
        render_s += time.perf_counter() - t0
        rows[spec.name] = sum(part.num_rows for _, part, _, _ in parts)
        if found is not None and spec.partition_column is None:
            day_log.append(found)
        pending += [(spec, *item) for item in parts if item[0] not in done[spec.name]]
    level_name = settings.level.name
    if sum(log.num_rows for log in day_log):
        log = pa.concat_tables(day_log)
        day_log_at = (DEFECTS_TABLE, INGEST_KEY)
        committed += commit_defect_log(sink, day_log_at, ctx.day_iso, log, level_name)
    for spec, value, part, log, truth in pending:
        if log is not None:
            committed += commit_defect_log(sink, log_table_for(spec), value, log, level_name)
        manifest = sink.commit(
            spec.name,
            spec.partition_key,
            value,
            part,
            pk_columns=spec.pk,
            event_date_column=(
                spec.event_date_column if spec.event_date_column in part.column_names else None
            ),
            messiness=truth,
        )
        if manifest is not None:
            committed.append((spec.name, manifest.to_json()))
    day = day_date(task.day).isoformat()
    return DayResult(
        day, rows, len(committed), skipped, render_s, sink.seconds, committed=committed, kept=kept
    )


Part = tuple[str, pa.Table, pa.Table | None, dict | None]  # value, rows, log, manifest truth


def _render(
    ctx: DayContext,
    spec: TableSpec,
    level: MessLevel | None,
    level_name: str,
    earlier: dict[int, DayContext],
) -> tuple[list[Part], pa.Table | None]:
    """The table's partitions of this task, dirtied at `level`, and the table's whole log.

    A transactional table also takes in the late rows of earlier days (rendered again here, in
    `earlier`'s contexts) and gives up its own; each partition carries its clean truth.
    """
    columns = list(output_columns(ctx.world.config, spec))
    clean = spec.render(ctx).select(columns)
    data, found = apply_messiness(ctx, spec.name, clean, level)
    if level is None or found is None:
        return [(v, part, None, None) for v, part in split_partitions(spec, data, ctx.day)], None

    def clean_day(day: int) -> tuple[DayContext, pa.Table]:
        day_ctx = earlier.setdefault(day, DayContext(ctx.world, day))
        return day_ctx, spec.render(day_ctx).select(columns)

    if spec.partition_column is None:
        late = days_late(ctx, spec, clean, level)
        data, found = land_late_rows(ctx, spec, data, found, level, clean_day)
        landed = ctx.day + late[late > 0]
        truth = partition_truth(level_name, spec.name, row_hashes(clean), found, landed)
        return [(v, part, None, truth) for v, part in split_partitions(spec, data, ctx.day)], found
    logs = split_log(found)
    hashed = clean.append_column(_ROW_HASH, pa.array(row_hashes(clean)))  # hashed once
    truths = {
        v: partition_truth(
            level_name, spec.name, part.column(_ROW_HASH).to_numpy(), logs.get(v), _NO_DAYS
        )
        for v, part in split_partitions(spec, hashed, ctx.day)
    }
    parts = split_partitions(spec, data, ctx.day)
    return [(v, part, logs.get(v), truths[v]) for v, part in parts], found


_ROW_HASH = "__row_hash"
_NO_DAYS = np.zeros(0, np.int64)


def _keeps(sink: PartitionSink, spec: TableSpec, value: str) -> bool:
    """A partition left as it is; a repair rewrites it when its defect log is damaged too (the
    day's log, for a day's table)."""
    log_table, log_key = log_table_for(spec)
    rel_dir = partition_dir(spec.name, spec.partition_key, value)
    return sink.keeps(rel_dir, [partition_dir(log_table, log_key, value)])


def _kept(done: dict[str, set[str]]) -> list[str]:
    """The partitions found committed, as the run record lists them (--repair reads it)."""
    return sorted(partition_dir(s.name, s.partition_key, v) for s in TABLES for v in done[s.name])


def split_partitions(spec: TableSpec, data: pa.Table, day: int) -> list[tuple[str, pa.Table]]:
    """(partition value, rows) pairs; empty tables give no partition."""
    if data.num_rows == 0:
        return []
    if spec.partition_column is None:
        return [(day_date(day).isoformat(), data)]
    order = pc.sort_indices(data, [(spec.partition_column, "ascending")])  # stable
    if not np.array_equal(order.to_numpy(), np.arange(data.num_rows)):  # in order: no copy
        data = data.take(order)
    values = data.column(spec.partition_column).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    ends = np.append(starts[1:], len(values))
    return [(_text(values[a]), data.slice(a, b - a)) for a, b in zip(starts, ends, strict=True)]


def _text(value: object) -> str:
    """Partition value as written in the path (dates as YYYY-MM-DD)."""
    if isinstance(value, np.datetime64):
        return str(value.astype("datetime64[D]"))
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
