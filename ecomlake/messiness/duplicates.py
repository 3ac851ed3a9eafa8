"""Duplicate rows: an exact copy, or a near copy that differs in the case of one text column.

The copy follows its original directly (same primary key, so the key is no longer unique), as a
re-sent event or a double entry lands. It copies the row as dirtied, cell defects included. The
log has one row per copy: column `*` for an exact copy; for a near copy the column that differs,
with the original's value as clean and the copy's as dirty. Undo drops the second occurrence.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness import log as defect_log
from ecomlake.messiness.cells import Cells
from ecomlake.render.registry import TableSpec
from ecomlake.rng import streams as s

WHOLE_ROW = "*"
# The text column a near copy varies (swapped case), per table; never a key or a nulled column.
NEAR_COLUMNS: dict[str, str] = {
    "customers": "email",
    "product_catalog": "product_name",
    "shopping_carts": "status",
    "cart_items": "product_name",
    "orders": "payment_method",
    "order_items": "product_name",
    "returns": "reason",
    "return_items": "product_name",
}


def duplicate_rows(rows: Cells, spec: TableSpec, data: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(table with the copies after their originals, one log row per copy)."""
    level = rows.level
    near_column = NEAR_COLUMNS.get(spec.name)
    if near_column not in data.column_names:
        near_column = None
    p_near = level.near_duplicates if near_column else 0.0
    if level.duplicates + p_near <= 0:
        return data, defect_log.empty_log()
    u = rows.rng.uniform(s.MESS_DUPLICATE, rows.keys, index=rows.code)
    exact = u < level.duplicates
    near = ~exact & (u < level.duplicates + p_near)
    if not (exact | near).any():
        return data, defect_log.empty_log()
    order = np.repeat(np.arange(data.num_rows), 1 + (exact | near))
    is_copy = np.concatenate([[False], order[1:] == order[:-1]])
    out = data.take(pa.array(order))
    logs = [_log_exact(spec, rows, out.filter(pa.array(is_copy & exact[order])))]
    if near.any():
        out, near_log = _vary(spec, rows, out, near_column, is_copy & near[order])
        logs.append(near_log)
    return out, pa.concat_tables(logs)


def _log_exact(spec: TableSpec, rows: Cells, copies: pa.Table) -> pa.Table:
    none = pa.nulls(copies.num_rows, pa.string())
    return defect_log.log_rows(spec, rows.ctx.day_iso, copies, WHOLE_ROW, "duplicate", none, none)


def _vary(
    spec: TableSpec, rows: Cells, out: pa.Table, column: str, mask: np.ndarray
) -> tuple[pa.Table, pa.Table]:
    """Swap the case of `column` in the near copies; log original and copy values."""
    values = out.column(column).combine_chunks()
    varied = pc.if_else(pa.array(mask), pc.utf8_swapcase(values), values)
    out = out.set_column(out.schema.get_field_index(column), column, varied)
    taken = pa.array(np.flatnonzero(mask))
    log = defect_log.log_rows(
        spec,
        rows.ctx.day_iso,
        out.take(taken),
        column,
        "near_duplicate",
        values.take(taken),
        varied.take(taken),
    )
    return out, log
