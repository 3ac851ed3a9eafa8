"""The clean half of a day: each table rendered with the config's columns, split into partitions.

`messiness/day.py` builds the day as `generate` writes it on top of these two functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.plan.calendar import day_date
from ecomlake.render.context import DayContext
from ecomlake.render.registry import TableSpec, output_columns


def clean_table(ctx: DayContext, spec: TableSpec) -> pa.Table:
    """The table's rows of `ctx`, with the columns (and column order) the config asks for."""
    return spec.render(ctx).select(list(output_columns(ctx.world.config, spec)))


def clean_tables(
    ctx: DayContext, specs: Iterable[TableSpec]
) -> Iterator[tuple[TableSpec, pa.Table]]:
    """(spec, clean rows) for each table of `specs`, rendered in that order."""
    for spec in specs:
        yield spec, clean_table(ctx, spec)


def split_partitions(spec: TableSpec, data: pa.Table, day: int) -> list[tuple[str, pa.Table]]:
    """(partition value, rows) pairs in value order; empty tables give no partition."""
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
