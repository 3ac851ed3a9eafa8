"""Typos in names and emails: one keyboard slip per hit cell, made on the UTF-8 bytes in numpy.

A slip swaps two neighbouring characters, drops one or types one twice. Only ASCII values of two
or more characters are eligible, so a slip never splits a multi-byte character; a swap of two
equal characters changes nothing and is not a defect.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.cells import Cells
from ecomlake.rng import streams as s

TYPO_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("first_name", "last_name", "email"),
    "orders": ("email",),
}
SWAP, DROP, DOUBLE = 0, 1, 2


def add_typos(cells: Cells, values: pa.Array) -> pa.Array:
    """With p = level.typos: one swap, drop or doubled character per hit value."""
    lengths = pc.fill_null(pc.utf8_length(values), 0).to_numpy(zero_copy_only=False)
    ascii_ = pc.fill_null(pc.string_is_ascii(values), False).to_numpy(zero_copy_only=False)
    hit = cells.draw(s.MESS_TYPO, cells.level.typos, values) & ascii_ & (lengths >= 2)
    if not hit.any():
        return values
    rows = np.flatnonzero(hit)
    edit = cells.integers(s.MESS_TYPO_EDIT, SWAP, DOUBLE)[rows]
    length = lengths[rows].astype(np.int64)
    last = np.where(edit == SWAP, length - 2, length - 1)  # a swap needs a right neighbour
    position = np.minimum(
        (
            cells.rng.uniform(s.MESS_TYPO_POSITION, cells.keys, index=cells.code)[rows] * (last + 1)
        ).astype(np.int64),
        last,
    )
    slipped = _slip(values.take(pa.array(rows)), edit, position, length)
    return pc.replace_with_mask(values, pa.array(hit), slipped)


def _slip(values: pa.Array, edit: np.ndarray, position: np.ndarray, length: np.ndarray) -> pa.Array:
    """Each (ASCII) value with its edit applied, built as one gather over the byte buffer."""
    _, offsets_buf, data_buf = values.buffers()
    offsets = np.frombuffer(offsets_buf, np.int32)[values.offset : values.offset + len(values) + 1]
    body = np.frombuffer(data_buf, np.uint8)
    out_len = length + np.select([edit == DROP, edit == DOUBLE], [-1, 1], 0)
    out_offsets = np.concatenate([[0], np.cumsum(out_len)]).astype(np.int32)
    row = np.repeat(np.arange(len(values)), out_len)
    j = np.arange(out_offsets[-1]) - np.repeat(out_offsets[:-1], out_len)  # index in the output
    p = position[row]
    src = j.copy()
    swap, drop, double = edit[row] == SWAP, edit[row] == DROP, edit[row] == DOUBLE
    src[swap & (j == p)] += 1
    src[swap & (j == p + 1)] -= 1
    src[drop & (j >= p)] += 1
    src[double & (j > p)] -= 1
    data = body[offsets[row].astype(np.int64) + src]
    return pa.StringArray.from_buffers(
        len(values), pa.py_buffer(out_offsets.tobytes()), pa.py_buffer(data.tobytes())
    )
