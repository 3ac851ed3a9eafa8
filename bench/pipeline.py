"""The day pipeline run in-process with a timer around each stage, and the pyarrow write floor.

`run_pipeline` does what `run_day` does (the day's tables from the one loop, `render_tables`:
render, messiness, partition split; then the lake's own PartitionSink for lineage, Parquet encode,
storage write, manifest and `_SUCCESS`), timing every stage: both report to the bench's clock.
It keeps each lineage-stamped chunk, so
`write_floor` can time pyarrow alone encoding and writing exactly the same tables with the same
options. Keep the render stages in step with `ecomlake/run/task.py`; `bytes_written` is compared
with the lake of the real run to catch drift.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa

from bench.workload import MESSINESS_LEVEL, Workload
from ecomlake import __version__
from ecomlake.lake import (
    ParquetOptions,
    PartitionSink,
    PartitionWrite,
    RunIdentity,
    encode_parquet,
    partition_dir,
    resolve_target,
)
from ecomlake.messiness import run_fingerprint
from ecomlake.messiness.day import render_tables
from ecomlake.plan.cache import cached_world, default_cache_dir, store_world
from ecomlake.plan.calendar import day_number
from ecomlake.plan.world import WorldPlan, build_world
from ecomlake.render.context import DayContext
from ecomlake.render.registry import TABLES, table_spec
from ecomlake.run.days import assign_tasks, spread_backlog
from ecomlake.run.task import DayTask
from ecomlake.run.window import DayChoice

STAGES = ("render", "messiness", "split", "lineage", "encode", "write", "commit")

Chunk = tuple[pa.Table, tuple[str, ...], str]  # lineage-stamped rows, key columns, lake path


class StageClock:
    """CPU (`process_time`) and wall (`perf_counter`) seconds per stage, and per table.

    `steady_cpu` only counts while `steady` is set: the days after the first, which carries the
    catalog and so is not a typical day (every task takes a share of the customer partitions
    from before the window).
    """

    def __init__(self) -> None:
        self.steady = False
        self.steady_cpu: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.table_cpu: dict[str, float] = defaultdict(float)
        self.render_cpu: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str, table: str) -> Iterator[None]:
        c0, w0 = time.process_time(), time.perf_counter()
        yield
        cpu = time.process_time() - c0
        self.cpu[name] += cpu
        self.wall[name] += time.perf_counter() - w0
        self.table_cpu[table] += cpu
        if self.steady:
            self.steady_cpu[name] += cpu
        if name == "render":
            self.render_cpu[table] += cpu


@dataclass(frozen=True)
class PlanTiming:
    """The world planned afresh, then stored in and loaded back from the plan cache."""

    cpu: float
    wall: float
    store_wall: float
    load_cpu: float
    load_wall: float


@dataclass
class PipelineResult:
    """Stage timings, rows per table and the chunks that were written (for the floor)."""

    plan: PlanTiming
    clock: StageClock
    rows: dict[str, int]
    files: int
    bytes_written: int
    steady_days: int = 0
    steady_rows: int = 0
    steady_files: int = 0
    first_task_chunks: int = 0  # chunks[:first_task_chunks] come from the first (atypical) task
    chunks: list[Chunk] = field(default_factory=list)


def plan_world(work: Workload, days: int) -> tuple[WorldPlan, list[DayTask], PlanTiming]:
    """Build the world as `generate` does and assign the window's days; time the plan, then
    store it in the plan cache (so later runs of the bench load it) and time that load."""
    cfg = work.config
    end = work.start + dt.timedelta(days=days - 1)
    choice = DayChoice("bench", work.start, end)
    first, last, _ = choice.world(cfg, work.start)
    run_days = choice.in_world(first, last)
    window = (cfg, cfg.faker_seed, day_number(first), day_number(last))
    c0, w0 = time.process_time(), time.perf_counter()
    world = build_world(*window)
    plan_cpu, plan_wall = time.process_time() - c0, time.perf_counter() - w0
    cache_dir = default_cache_dir()
    w1 = time.perf_counter()
    store_world(world, cache_dir)
    c2, w2 = time.process_time(), time.perf_counter()
    loaded = cached_world(*window, cache_dir)
    timing = PlanTiming(
        plan_cpu,
        plan_wall,
        w2 - w1,
        time.process_time() - c2,
        time.perf_counter() - w2,
    )
    if loaded is None:
        raise RuntimeError(f"the plan cache in {cache_dir} did not return the plan just stored")
    tasks = spread_backlog(assign_tasks(run_days, world.signup_days()))
    return world, tasks, timing


def run_pipeline(work: Workload, days: int, target: str) -> PipelineResult:
    """Produce every day of the window in this process, timing each stage."""
    world, tasks, plan = plan_world(work, days)
    fingerprint = run_fingerprint(work.config, MESSINESS_LEVEL)
    identity = RunIdentity(work.config.faker_seed, fingerprint, __version__)
    result = PipelineResult(plan, StageClock(), defaultdict(int), 0, 0)

    def part_seen(rel_path: str, chunk: pa.Table, payload: bytes) -> None:
        result.chunks.append((chunk, table_spec(rel_path.split("/", 1)[0]).pk, rel_path))
        result.files += 1
        result.steady_files += result.clock.steady
        result.bytes_written += len(payload)

    write = PartitionWrite(work.lineage, work.parquet)
    sink = PartitionSink(
        resolve_target(target),
        identity,
        write,
        skip_committed=True,  # the resume check is part of the commit's cost
        clock=result.clock,
        on_part=part_seen,
    )
    for index, task in enumerate(tasks):
        if index == 1:
            result.first_task_chunks = len(result.chunks)
        result.clock.steady = index > 0
        result.steady_days += index > 0
        ctx = DayContext(world, task.day, task.signup_days, task.owns_catalog)
        specs = [spec for spec in TABLES if spec.partitions(ctx)]
        for table in render_tables(ctx, specs, MESSINESS_LEVEL, stage=result.clock.stage):
            spec = table.spec
            for part in table.parts:  # a clean level: no defect log, no truth
                sink.keeps(partition_dir(spec.name, spec.partition_key, part.value))
                sink.commit(
                    spec.name,
                    spec.partition_key,
                    part.value,
                    part.rows,
                    pk_columns=spec.pk,
                    event_date_column=spec.event_column_in(part.rows),
                )
            result.rows[spec.name] += table.num_rows
            result.steady_rows += table.num_rows if index > 0 else 0
    result.rows = dict(result.rows)
    return result


def write_floor(
    chunks: list[Chunk],
    work: Workload,
    folder: str,
    flat: bool = False,
    options: ParquetOptions | None = None,
) -> dict:
    """CPU and wall seconds pyarrow alone needs to encode and write these tables to disk.

    Each file goes to its path in the lake, so the floor also makes the partition folders a
    Hive-partitioned lake cannot do without (on this box a new folder or file costs 0.06-0.4 ms
    of kernel CPU); `flat` writes them side by side in one folder instead, which needs neither.
    `options` replaces the lake's writer settings (another generator's files, say).
    """
    options = options or work.parquet
    os.makedirs(folder, exist_ok=True)
    rows = written = 0
    c0, w0 = time.process_time(), time.perf_counter()
    for index, (chunk, key, rel_path) in enumerate(chunks):
        payload = encode_parquet(chunk, options, key)
        path = os.path.join(folder, f"{index:06d}.parquet" if flat else rel_path)
        if not flat:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(payload)
        rows += chunk.num_rows
        written += len(payload)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {
        "rows": rows,
        "files": len(chunks),
        "bytes": written,
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(wall, 3),
        "rows_per_cpu_second": round(rows / max(cpu, 1e-9)),
        "one_row_file_cpu_seconds": _one_row_file_cpu(chunks, options),
    }


def _one_row_file_cpu(chunks: list[Chunk], options: ParquetOptions) -> float:
    """Mean CPU to encode a one-row file of each chunk's schema: the floor's cost per file."""
    samples = [(chunk.slice(0, 1), key) for chunk, key, _ in chunks if chunk.num_rows]
    c0 = time.process_time()
    for sample, key in samples:
        encode_parquet(sample, options, key)
    return round((time.process_time() - c0) / max(len(samples), 1), 5)
