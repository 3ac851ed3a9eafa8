"""apply_messiness: dirty one rendered table of one day and log every cell it changed.

Pure and vectorised; each defect draws from its own stream keyed by (seed, primary key, column),
so the clean table is untouched by the level and a level's defects are the same on every run.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness import log as defect_log
from ecomlake.messiness.cells import Cells
from ecomlake.messiness.duplicates import duplicate_rows
from ecomlake.messiness.keys import row_keys
from ecomlake.messiness.levels import MessLevel
from ecomlake.messiness.registry import CELL_DEFECT_NAMES, CELL_DEFECTS, defect
from ecomlake.render.context import DayContext
from ecomlake.render.registry import TableSpec, table_spec


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
    """The defects each present column gets, in application order (defects off are skipped)."""
    on = [d for d in CELL_DEFECTS if d.applies(ctx.world, level)]
    wanted: list[tuple[str, list[str]]] = []
    for column in columns:
        defects = [d.name for d in on if column in (d.columns or {}).get(table, ())]
        if defects:
            wanted.append((column, defects))
    return wanted


def _inject(cells: Cells, values: pa.Array, defects: list[str]) -> tuple[pa.Array, np.ndarray]:
    """Run the column's injectors in order; bit i is set where the i-th cell defect changed it."""
    bits = np.zeros(len(values), dtype=np.int64)
    for name in defects:
        after = defect(name).inject(cells, values)
        if after is not values:
            bits |= _differs(values, after).astype(np.int64) << CELL_DEFECT_NAMES.index(name)
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
