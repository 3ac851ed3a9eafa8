"""Row keys for the defect streams: a uint64 per row from its primary-key values, not its position.

String keys are hashed over their UTF-8 bytes in numpy (no per-row Python), so a cell's draws
depend only on (seed, stream, primary key, column).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.rng import mix64, stream_key

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@functools.cache
def column_code(table: str, column: str) -> np.uint64:
    """A stable 64-bit code of `table.column`, used as the draw index of that column's cells."""
    return stream_key(0, f"{table}.{column}")


def row_keys(data: pa.Table, pk_columns: Sequence[str]) -> np.ndarray:
    """One uint64 per row, a pure function of the row's primary-key values."""
    key = np.zeros(data.num_rows, dtype=np.uint64)
    for name in pk_columns:
        with np.errstate(over="ignore"):
            key = mix64(key * _GOLDEN ^ _values_key(data.column(name)))
    return key


def _values_key(column: pa.ChunkedArray) -> np.ndarray:
    """Integers as themselves, text hashed; nulls never occur in primary keys."""
    if pa.types.is_integer(column.type):
        return column.to_numpy().astype(np.int64).view(np.uint64)
    return text_hash(pc.cast(column, pa.string()).combine_chunks())


def text_hash(values: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string: sum of mixed (byte, position) terms, then mixed with length."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    values = pc.fill_null(values, "")
    _, offsets_buf, data_buf = values.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[values.offset : values.offset + n + 1]
    offsets = offsets.astype(np.int64)
    lengths = np.diff(offsets)
    body = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]] if data_buf else []
    starts = offsets[:-1] - offsets[0]
    position = np.arange(len(body), dtype=np.int64) - np.repeat(starts, lengths)
    with np.errstate(over="ignore"):
        terms = mix64(np.asarray(body, dtype=np.uint64) | (position.astype(np.uint64) << 8))
        running = np.concatenate([np.zeros(1, np.uint64), np.cumsum(terms, dtype=np.uint64)])
        sums = running[starts + lengths] - running[starts]
        return mix64(sums ^ mix64(lengths.astype(np.uint64) + _GOLDEN))
