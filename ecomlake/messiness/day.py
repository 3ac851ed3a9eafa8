"""One day's tables as `generate` writes them: rendered clean, dirtied at a messiness level,
with the late rows of earlier days landed, split into partitions that carry their clean truth.

The only loop over a day's tables: the writer, the raw CSV run, the Ray Data source, the
library's `render_day` and the bench all take their rows from `render_tables`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ecomlake.messiness.apply import apply_messiness
from ecomlake.messiness.late import days_late, land_late_rows
from ecomlake.messiness.levels import MessLevel, RunLevel, resolve_level
from ecomlake.messiness.log import split_log
from ecomlake.messiness.truth import partition_truth, row_hashes
from ecomlake.render.context import DayContext
from ecomlake.render.day import clean_table, split_partitions
from ecomlake.render.registry import TableSpec

# (stage, table) -> a context manager around that stage; the bench times stages with it
StageTimer = Callable[[str, str], AbstractContextManager]


@dataclass(frozen=True)
class Part:
    """One partition of a table: its value, rows, defect log and manifest truth (messy only)."""

    value: str
    rows: pa.Table
    log: pa.Table | None = None
    truth: dict | None = None


@dataclass(frozen=True)
class DayTable:
    """A table of one day: its rows in render order (late arrivals after the day's own), their
    partitions, and the whole table's defect log (None at a clean level)."""

    spec: TableSpec
    rows: pa.Table
    parts: list[Part]
    log: pa.Table | None = None

    @property
    def num_rows(self) -> int:
        return self.rows.num_rows


def render_tables(
    ctx: DayContext,
    specs: Iterable[TableSpec],
    run_level: RunLevel | str,
    stage: StageTimer | None = None,
    *,
    lake: bool = True,
) -> Iterator[DayTable]:
    """Each table of `specs` for `ctx`'s task, as `generate` writes it at `run_level`: a level
    with its rates (a lake exported from a run dir records its own, without late rows), or a
    level's name, resolved with the world's config.

    Earlier days re-rendered for their late rows are shared by the tables of the day. Without
    `lake` (the raw CSV run) every row stays on its own day, as late arrival is a defect of the
    lake's partitions, and partitions carry no log or truth: the rows and log are all it needs.
    """
    timer = stage or _untimed
    if isinstance(run_level, str):
        run_level = RunLevel(run_level, resolve_level(ctx.world.config, run_level))
    level, level_name = run_level.rates, run_level.name
    earlier: dict[int, DayContext] = {}
    for spec in specs:
        with timer("render", spec.name):
            clean = clean_table(ctx, spec)
        with timer("messiness", spec.name):
            data, found = apply_messiness(ctx, spec.name, clean, level)
        if level is None or found is None or not lake:
            with timer("split", spec.name):
                parts = [Part(v, rows) for v, rows in split_partitions(spec, data, ctx.day)]
            yield DayTable(spec, data, parts, found)
            continue
        with timer("messiness", spec.name):
            table = _messy(ctx, spec, clean, data, found, level, level_name, earlier)
        yield table


def _messy(
    ctx: DayContext,
    spec: TableSpec,
    clean: pa.Table,
    data: pa.Table,
    found: pa.Table,
    level: MessLevel,
    level_name: str,
    earlier: dict[int, DayContext],
) -> DayTable:
    """A dirtied table: a day's table also takes in the late rows of earlier days (rendered
    again in `earlier`'s contexts) and gives up its own; each partition carries its truth."""

    def clean_day(day: int) -> tuple[DayContext, pa.Table]:
        day_ctx = earlier.setdefault(day, DayContext(ctx.world, day))
        return day_ctx, clean_table(day_ctx, spec)

    if spec.partition_column is None:
        late = days_late(ctx, spec, clean, level)
        data, found = land_late_rows(ctx, spec, data, found, level, clean_day)
        landed = ctx.day + late[late > 0]
        truth = partition_truth(level_name, spec.name, row_hashes(clean), found, landed)
        parts = [Part(v, rows, None, truth) for v, rows in split_partitions(spec, data, ctx.day)]
        return DayTable(spec, data, parts, found)
    logs = split_log(found)
    hashed = clean.append_column(_ROW_HASH, pa.array(row_hashes(clean)))  # hashed once
    truths = {
        v: partition_truth(
            level_name, spec.name, rows.column(_ROW_HASH).to_numpy(), logs.get(v), _NO_DAYS
        )
        for v, rows in split_partitions(spec, hashed, ctx.day)
    }
    parts = [
        Part(v, rows, logs.get(v), truths[v]) for v, rows in split_partitions(spec, data, ctx.day)
    ]
    return DayTable(spec, data, parts, found)


def _untimed(stage: str, table: str) -> AbstractContextManager:
    return nullcontext()


_ROW_HASH = "__row_hash"
_NO_DAYS = np.zeros(0, np.int64)
