"""Undo a defect log: drop the logged copies, then put every logged cell's clean value back.

Applied to a dirty table and that table's log it gives back the clean table exactly (for the
rows it holds: a late row is undone where it landed; `verify` moves it back to its partition).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.log import from_text, pk_text
from ecomlake.messiness.registry import COPY_DEFECTS, ROW_DEFECTS
from ecomlake.render.registry import table_spec


def undo_defects(
    dirty: pa.Table, log: pa.Table, table_name: str, *, strict: bool = False
) -> pa.Table:
    """`dirty` without its logged copies and with its logged cells restored.

    KeyError if a logged cell's primary key is not in the table; with `strict`, also if a
    logged copy is not there or a logged cell does not hold its logged dirty value (the log
    would claim defects the data lacks, and undoing it would still give the clean rows).
    """
    entries = log.filter(pc.equal(log.column("table_name"), table_name))
    pk = table_spec(table_name).pk
    kinds = entries.column("defect_type")
    copies = entries.filter(pc.is_in(kinds, value_set=pa.array(COPY_DEFECTS)))
    rows_before = dirty.num_rows
    dirty = _drop_copies(dirty, pk_text(dirty, pk), copies.column("pk_value"))
    if strict and rows_before - dirty.num_rows != copies.num_rows:
        found = rows_before - dirty.num_rows
        raise KeyError(f"{table_name}: {copies.num_rows} logged copies, {found} in the data")
    cells = entries.filter(pc.invert(pc.is_in(kinds, value_set=pa.array(ROW_DEFECTS))))
    keys = pk_text(dirty, pk)
    for column in pc.unique(cells.column("column_name")).to_pylist():  # a few columns
        mine = cells.filter(pc.equal(cells.column("column_name"), column))
        rows = pc.index_in(mine.column("pk_value"), value_set=keys)
        if rows.null_count:
            raise KeyError(f"{table_name}.{column}: a logged primary key is not in the table")
        at = rows.to_numpy().astype(np.int64)
        if strict:
            _check_dirty(dirty.column(column).combine_chunks(), mine, at, table_name, column)
        dirty = _restore(dirty, column, mine, at)
    return dirty


def _check_dirty(
    values: pa.Array, entries: pa.Table, rows: np.ndarray, table: str, column: str
) -> None:
    """Each logged cell holds the dirty value its entry names (null for a nulled cell)."""
    held = values.take(pa.array(rows))
    logged = from_text(entries.column("dirty_value").combine_chunks(), values.type)
    same = pc.or_kleene(
        pc.and_(pc.is_null(held), pc.is_null(logged)), pc.fill_null(pc.equal(held, logged), False)
    )
    if not pc.all(same).as_py():
        first = pc.index(same, False).as_py()
        key = entries.column("pk_value")[first].as_py()
        raise KeyError(f"{table}.{column}: {key} does not hold its logged dirty value")


def _drop_copies(data: pa.Table, keys: pa.Array, copied: pa.ChunkedArray) -> pa.Table:
    """Remove each row that repeats the key of the row before it and whose key was copied."""
    if not len(copied):
        return data
    keys = keys.to_numpy(zero_copy_only=False)
    repeat = np.concatenate([[False], keys[1:] == keys[:-1]])
    logged = pc.is_in(pa.array(keys), value_set=copied.combine_chunks())
    return data.filter(pa.array(~(repeat & logged.to_numpy(zero_copy_only=False))))


def _restore(data: pa.Table, column: str, entries: pa.Table, rows: np.ndarray) -> pa.Table:
    """Replace the cells at `rows` of `column` with the entries' clean values."""
    order = pa.array(np.argsort(rows, kind="stable"))  # replace_with_mask fills in row order
    mask = np.zeros(data.num_rows, dtype=bool)
    mask[rows] = True
    values = data.column(column).combine_chunks()
    clean = from_text(entries.column("clean_value").combine_chunks().take(order), values.type)
    restored = pc.replace_with_mask(values, pa.array(mask), clean)
    return data.set_column(data.schema.get_field_index(column), column, restored)
