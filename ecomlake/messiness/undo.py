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


def undo_defects(dirty: pa.Table, log: pa.Table, table_name: str) -> pa.Table:
    """`dirty` without its logged copies and with its logged cells restored.

    KeyError if a logged cell's primary key is not in the table.
    """
    entries = log.filter(pc.equal(log.column("table_name"), table_name))
    pk = table_spec(table_name).pk
    kinds = entries.column("defect_type")
    copies = entries.filter(pc.is_in(kinds, value_set=pa.array(COPY_DEFECTS)))
    dirty = _drop_copies(dirty, pk_text(dirty, pk), copies.column("pk_value"))
    cells = entries.filter(pc.invert(pc.is_in(kinds, value_set=pa.array(ROW_DEFECTS))))
    keys = pk_text(dirty, pk)
    for column in pc.unique(cells.column("column_name")).to_pylist():  # a few columns
        mine = cells.filter(pc.equal(cells.column("column_name"), column))
        rows = pc.index_in(mine.column("pk_value"), value_set=keys)
        if rows.null_count:
            raise KeyError(f"{table_name}.{column}: a logged primary key is not in the table")
        dirty = _restore(dirty, column, mine, rows.to_numpy().astype(np.int64))
    return dirty


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
