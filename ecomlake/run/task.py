"""run_day: the one place a day is produced, render every table then commit its partitions.

Pure of Ray: executors call it in-process or inside a Ray task and only add where it ran.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import pyarrow as pa

from ecomlake.lake import (
    ParquetOptions,
    PartitionSink,
    PartitionWrite,
    RunIdentity,
    partition_dir,
    resolve_target,
)
from ecomlake.lineage import Lineage
from ecomlake.messiness import DEFECTS_TABLE, RunLevel, log_table_for
from ecomlake.messiness.day import Part, render_tables
from ecomlake.plan.calendar import day_date
from ecomlake.plan.world import WorldPlan
from ecomlake.render.context import DayContext
from ecomlake.render.registry import (
    INGEST_KEY,
    SIGNUP_TABLE,
    TABLES,
    TableSpec,
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
    dry: bool = False  # render and encode, write nothing (verify --deep)

    def sink(self) -> PartitionSink:
        """The sink a task writes through (the filesystem is resolved here, on the worker)."""
        return PartitionSink(
            resolve_target(self.target, self.storage_options),
            self.identity,
            PartitionWrite(self.lineage, self.parquet),
            skip_committed=self.skip_committed,
            repair=self.repair,
            dry=self.dry,
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
    expected = {spec.name: spec.partitions(ctx) for spec in TABLES}
    done = {s.name: {v for v in expected[s.name] if _keeps(sink, s, v)} for s in TABLES}
    skipped = sum(len(values) for values in done.values())
    kept = [] if settings.repair is not None else _kept(done)
    ctx = without_signups(ctx, done[SIGNUP_TABLE])  # committed customers are not rendered
    todo = [s for s in TABLES if not expected[s.name] or done[s.name] != set(expected[s.name])]
    if level is not None and any(s.partition_column is None for s in todo):
        todo = [s for s in TABLES if s in todo or s.partition_column is None]  # the day's log
    day_log: list[pa.Table] = []
    pending: list[tuple[TableSpec, Part]] = []
    t0 = time.perf_counter()
    for table in render_tables(ctx, todo, settings.level):
        spec = table.spec
        parts = [part for part in table.parts if part.value not in done[spec.name]]
        rows[spec.name] = sum(part.rows.num_rows for part in parts)
        if table.log is not None and spec.partition_column is None:
            day_log.append(table.log)
        pending += [(spec, part) for part in parts]
    render_s = time.perf_counter() - t0
    level_name = settings.level.name
    # The day's log goes with the day's tables: rewritten only when one of them is (a table
    # without rows that day, returns say, has no partition to find committed, so the day
    # renders again on a re-run, and its committed log must not get a new lineage then).
    day_written = any(spec.partition_column is None for spec, _ in pending)
    if day_written and sum(log.num_rows for log in day_log):
        log = pa.concat_tables(day_log)
        day_log_at = (DEFECTS_TABLE, INGEST_KEY)
        committed += commit_defect_log(sink, day_log_at, ctx.day_iso, log, level_name)
    for spec, part in pending:
        if part.log is not None:
            at = log_table_for(spec)
            committed += commit_defect_log(sink, at, part.value, part.log, level_name)
        data = part.rows
        manifest = sink.commit(
            spec.name,
            spec.partition_key,
            part.value,
            data,
            pk_columns=spec.pk,
            event_date_column=spec.event_column_in(data),
            messiness=part.truth,
        )
        if manifest is not None:
            committed.append((spec.name, manifest.to_json()))
    day = day_date(task.day).isoformat()
    return DayResult(
        day, rows, len(committed), skipped, render_s, sink.seconds, committed=committed, kept=kept
    )


def _keeps(sink: PartitionSink, spec: TableSpec, value: str) -> bool:
    """A partition left as it is; a repair rewrites it when its defect log is damaged too (the
    day's log, for a day's table)."""
    log_table, log_key = log_table_for(spec)
    rel_dir = partition_dir(spec.name, spec.partition_key, value)
    return sink.keeps(rel_dir, [partition_dir(log_table, log_key, value)])


def _kept(done: dict[str, set[str]]) -> list[str]:
    """The partitions found committed, as the run record lists them (--repair reads it)."""
    return sorted(partition_dir(s.name, s.partition_key, v) for s in TABLES for v in done[s.name])
