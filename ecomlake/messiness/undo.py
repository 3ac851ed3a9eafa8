"""Undo a defect log: put every logged cell's clean value back (tests, and later `verify`).

Applying it to a dirty table and that table's log gives back the clean table exactly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.log import from_text, pk_text
from ecomlake.render.registry import table_spec


def undo_defects(dirty: pa.Table, log: pa.Table, table_name: str) -> pa.Table:
    """`dirty` with the logged cells of `table_name` restored; KeyError if a key is not found."""
    entries = log.filter(pc.equal(log.column("table_name"), table_name))
    keys = pk_text(dirty, table_spec(table_name).pk)
    for column in pc.unique(entries.column("column_name")).to_pylist():  # a few columns
        mine = entries.filter(pc.equal(entries.column("column_name"), column))
        rows = pc.index_in(mine.column("pk_value"), value_set=keys)
        if rows.null_count:
            raise KeyError(f"{table_name}.{column}: a logged primary key is not in the table")
        dirty = _restore(dirty, column, mine, rows.to_numpy().astype(np.int64))
    return dirty


def _restore(data: pa.Table, column: str, entries: pa.Table, rows: np.ndarray) -> pa.Table:
    """Replace the cells at `rows` of `column` with the entries' clean values."""
    order = pa.array(np.argsort(rows, kind="stable"))  # replace_with_mask fills in row order
    mask = np.zeros(data.num_rows, dtype=bool)
    mask[rows] = True
    values = data.column(column).combine_chunks()
    clean = from_text(entries.column("clean_value").combine_chunks().take(order), values.type)
    restored = pc.replace_with_mask(values, pa.array(mask), clean)
    return data.set_column(data.schema.get_field_index(column), column, restored)
