"""apply_messiness: dirty one rendered table of one day and log every cell it changed.

Pure and vectorised; each defect draws from its own stream keyed by (seed, primary key, column),
so the clean table is untouched by the level and a level's defects are the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness import log as defect_log
from ecomlake.messiness.cells import Cells
from ecomlake.messiness.duplicates import duplicate_rows
from ecomlake.messiness.keys import row_keys
from ecomlake.messiness.levels import MessLevel, reason_bias_schema
from ecomlake.messiness.nulls import NULL_COLUMNS, blank_cells
from ecomlake.messiness.orphans import ORPHAN_COLUMNS, orphan_keys
from ecomlake.messiness.ranges import RANGE_COLUMNS, out_of_range
from ecomlake.messiness.reason_bias import bias_reasons
from ecomlake.messiness.spike import is_active, spike_total_items
from ecomlake.messiness.stale import STALE_COLUMNS, stale_values
from ecomlake.messiness.stylistic import STYLISTIC_COLUMNS, change_casing, pad_whitespace
from ecomlake.messiness.typos import TYPO_COLUMNS, add_typos
from ecomlake.render.context import DayContext
from ecomlake.render.registry import TableSpec, table_spec

Injector = Callable[[Cells, pa.Array], pa.Array]
INJECTORS: dict[str, Injector] = {
    "reason_bias": bias_reasons,
    "sales_spike": spike_total_items,
    "stale_dimension": stale_values,
    "orphan_fk": orphan_keys,
    "out_of_range": out_of_range,
    "typo": add_typos,
    "whitespace": pad_whitespace,
    "casing": change_casing,
    "null": blank_cells,
}
VALUE_DEFECTS = {("returns", "reason"): "reason_bias", ("orders", "total_items"): "sales_spike"}
# Cell defect -> (the columns it visits per table, the MessLevel rate that switches it on).
CELL_DEFECTS: dict[str, tuple[dict[str, tuple[str, ...]], str]] = {
    "stale_dimension": (STALE_COLUMNS, "stale_dimension"),
    "orphan_fk": (ORPHAN_COLUMNS, "orphan_fk"),
    "out_of_range": (RANGE_COLUMNS, "out_of_range"),
    "typo": (TYPO_COLUMNS, "typos"),
    "whitespace": (STYLISTIC_COLUMNS, "whitespace"),
    "casing": (STYLISTIC_COLUMNS, "casing"),
    "null": (NULL_COLUMNS, "nulls"),
}


def apply_messiness(
    ctx: DayContext, table_name: str, data: pa.Table, level: MessLevel | None
) -> tuple[pa.Table, pa.Table | None]:
    """(dirty table, its defect log); a clean level (None) returns the input and no log."""
    if level is None:
        return data, None
    plan = column_defects(ctx, table_name, data.column_names, level)
    if data.num_rows == 0:
        return data, defect_log.empty_log()
    spec = table_spec(table_name)
    keys, rng = row_keys(data, spec.pk), ctx.rng
    logs = []
    for column, defects in plan:
        clean = data.column(column).combine_chunks()
        dirty, bits = _inject(Cells(ctx, table_name, column, keys, level, rng), clean, defects)
        changed = _differs(clean, dirty)
        if not changed.any():
            continue
        dirty = pc.if_else(pa.array(changed), dirty, clean)  # -0.0 == 0.0: equal means unchanged
        data = data.set_column(data.schema.get_field_index(column), column, dirty)
        logs.append(_log_rows(spec, ctx, data, column, clean, dirty, changed, bits))
    data, copies = duplicate_rows(Cells(ctx, table_name, "*", keys, level, rng), spec, data)
    return data, pa.concat_tables([defect_log.empty_log(), *logs, copies])


def column_defects(
    ctx: DayContext, table: str, columns: list[str], level: MessLevel
) -> list[tuple[str, list[str]]]:
    """The defects each present column gets, in application order (zero rates are skipped)."""
    value_on = {
        "sales_spike": is_active(ctx.world, level),
        "reason_bias": bool(reason_bias_schema(ctx.world.config, level)),
    }
    wanted: list[tuple[str, list[str]]] = []
    for column in columns:
        value = VALUE_DEFECTS.get((table, column))
        defects = [value] if value and value_on[value] else []
        defects += [
            name
            for name, (where, rate) in CELL_DEFECTS.items()
            if column in where.get(table, ()) and getattr(level, rate) > 0
        ]
        if defects:
            wanted.append((column, defects))
    return wanted


def _inject(cells: Cells, values: pa.Array, defects: list[str]) -> tuple[pa.Array, np.ndarray]:
    """Run the column's injectors in order; bit i is set where DEFECT_TYPES[i] changed a cell."""
    bits = np.zeros(len(values), dtype=np.int64)
    for name in defects:
        after = INJECTORS[name](cells, values)
        if after is not values:
            bits |= _differs(values, after).astype(np.int64) << defect_log.DEFECT_TYPES.index(name)
            values = after
    return values, bits


def _differs(before: pa.Array, after: pa.Array) -> np.ndarray:
    """Cells whose value changed, a null on either side included."""
    null_moved = pc.xor(pc.is_null(before), pc.is_null(after))
    changed = pc.or_(pc.fill_null(pc.not_equal(before, after), False), null_moved)
    return changed.to_numpy(zero_copy_only=False)


def _log_rows(
    spec: TableSpec,
    ctx: DayContext,
    data: pa.Table,
    column: str,
    clean: pa.Array,
    dirty: pa.Array,
    changed: np.ndarray,
    bits: np.ndarray,
) -> pa.Table:
    """One log row per changed cell of `column`, in row order."""
    rows = pa.array(np.flatnonzero(changed))
    kinds = defect_log.defect_names(bits[changed])
    return defect_log.log_rows(
        spec, ctx.day_iso, data.take(rows), column, kinds, clean.take(rows), dirty.take(rows)
    )
