"""Format drift in string exports: dates, timestamps and money written the way another system
would (run-generator's CSVs only; a Parquet lake keeps its typed columns).

A drifted cell is written in one of three styles per kind, e.g. `03/01/2024`, `01.03.2024 14:05`
or `$1234.50`, instead of the export's ISO date and plain number. Cells that already carry a
logged defect keep it and are not drifted, so each cell has one log row. A duplicate row's copy
drifts like its original; the log has the original's entry only (undo drops the copy first).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness import log as defect_log
from ecomlake.messiness.cells import Cells
from ecomlake.messiness.keys import row_keys
from ecomlake.messiness.levels import MessLevel
from ecomlake.render.columns import cents as money_cents
from ecomlake.render.context import DayContext
from ecomlake.render.registry import table_spec
from ecomlake.rng import streams as s

FORMAT_DRIFT = "format_drift"
DRIFT_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("signup_date", "loyalty_enrollment_date"),
    "product_catalog": ("unit_price",),
    "shopping_carts": ("created_at", "updated_at", "cart_total"),
    "cart_items": ("added_at", "unit_price"),
    "orders": ("order_date", "gross_total", "net_total"),
    "order_items": ("unit_price",),
    "returns": ("return_date", "refunded_amount"),
    "return_items": ("unit_price", "refunded_amount"),
}
DATE_STYLES = ("%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d")
TIMESTAMP_STYLES = ("%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S")


def drift_schema(table: str, schema: pa.Schema) -> pa.Schema:
    """`schema` with the table's drift columns as text (what the CSV sink is given)."""
    drift = DRIFT_COLUMNS.get(table, ())
    return pa.schema([pa.field(f.name, pa.string()) if f.name in drift else f for f in schema])


def drift_formats(
    ctx: DayContext, table: str, data: pa.Table, level: MessLevel, log: pa.Table
) -> tuple[pa.Table, pa.Table]:
    """(`data` with its drift columns as text, some cells restyled; the drift log rows)."""
    columns = [c for c in DRIFT_COLUMNS.get(table, ()) if c in data.column_names]
    if not columns:
        return data, defect_log.empty_log()
    spec = table_spec(table)
    keys = row_keys(data, spec.pk)
    pks = defect_log.pk_text(data, spec.pk)
    original = np.concatenate([[True], keys[1:] != keys[:-1]])  # copies follow their original
    logs = []
    for column in columns:
        values = data.column(column).combine_chunks()
        text = defect_log.as_text(values)
        if level.format_drift > 0:
            cells = Cells(ctx, table, column, keys, level, ctx.rng)
            taken = log.filter(pc.equal(log.column("column_name"), column)).column("pk_value")
            free = pc.invert(pc.is_in(pks, value_set=taken.combine_chunks())).to_numpy(
                zero_copy_only=False
            )
            hit = cells.draw(s.MESS_FORMAT, level.format_drift, values) & free
            styled = _styled(values, cells.integers(s.MESS_FORMAT_STYLE, 0, 2))
            dirty = pc.if_else(pa.array(hit), styled, text)
            if hit.any():
                rows = pa.array(np.flatnonzero(hit & original))
                clean, drifted = text.take(rows), dirty.take(rows)
                taken_rows = data.take(rows)
                logs.append(
                    defect_log.log_rows(
                        spec, ctx.day_iso, taken_rows, column, FORMAT_DRIFT, clean, drifted
                    )
                )
            text = dirty
        data = data.set_column(data.schema.get_field_index(column), column, text)
    return data, pa.concat_tables([defect_log.empty_log(), *logs])


def _styled(values: pa.Array, style: np.ndarray) -> pa.Array:
    """Every value in its row's style (0, 1 or 2) of its kind."""
    if pa.types.is_date(values.type):
        options = [pc.strftime(values, format=f) for f in DATE_STYLES]
    elif pa.types.is_timestamp(values.type):
        seconds = pc.cast(values, pa.timestamp("s"), safe=False)
        options = [pc.strftime(seconds, format=f) for f in TIMESTAMP_STYLES]
    else:
        options = _money_styles(values)
    return pc.choose(pa.array(style.astype(np.int8)), *options)


def _money_styles(values: pa.Array) -> list[pa.Array]:
    """`1234,50`, `$1234.50` and `1234.50 USD` (two decimals, the sign in front)."""
    amounts, nulls = money_cents(values)
    cents = pa.array(amounts, mask=nulls)
    sign = pc.if_else(pc.less(cents, 0), "-", "")
    whole = pc.cast(pc.divide(pc.abs(cents), 100), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pc.remainder(pc.abs(cents), 100), pa.string()), 2, "0")
    join = pc.binary_join_element_wise
    return [
        join(sign, whole, ",", fraction, ""),
        join("$", sign, whole, ".", fraction, ""),
        join(sign, whole, ".", fraction, " USD", ""),
    ]


def restore_formats(data: pa.Table, table: str, drift_log: pa.Table, schema: pa.Schema) -> pa.Table:
    """Put the clean text back in every drifted cell (copies too), then give each drift column
    `schema`'s type: the inverse of `drift_formats` for a reader of the CSVs."""
    entries = drift_log.filter(pc.equal(drift_log.column("table_name"), table))
    pks = defect_log.pk_text(data, table_spec(table).pk)
    for column in [c for c in DRIFT_COLUMNS.get(table, ()) if c in data.column_names]:
        mine = entries.filter(pc.equal(entries.column("column_name"), column))
        where = pc.index_in(pks, value_set=mine.column("pk_value").combine_chunks())
        clean = mine.column("clean_value").combine_chunks().take(where)
        text = pc.if_else(pc.is_null(where), data.column(column).combine_chunks(), clean)
        kind = schema.field(column).type
        data = data.set_column(
            data.schema.get_field_index(column), column, defect_log.from_text(text, kind)
        )
    return data
