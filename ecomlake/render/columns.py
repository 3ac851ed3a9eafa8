"""Builders that turn plan arrays (indices, cents, day numbers, microseconds) into Arrow columns."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

TIMESTAMP = pa.timestamp("us")
# Exact cents as decimal(12,2): up to 9,999,999,999.99, stored as a Parquet INT64 (plain 64-bit
# integers to every reader), so amounts 1,000 times too large (messiness out_of_range) still fit.
MONEY = pa.decimal128(12, 2)
MONEY_LIMIT = 10**12  # cents: 12 digits


def labels(vocabulary: Sequence[str], index: np.ndarray) -> pa.Array:
    """Strings from a vocabulary by index; negative indices become nulls."""
    index = np.asarray(index, dtype=np.int64)
    missing = index < 0
    idx = pa.array(np.maximum(index, 0), mask=missing) if missing.any() else pa.array(index)
    return _vocabulary(tuple(vocabulary)).take(idx)


@functools.lru_cache(maxsize=256)
def _vocabulary(words: tuple[str, ...]) -> pa.Array:
    """A vocabulary as an Arrow array, built once (a day renders ~60 label columns)."""
    return pa.array(words, pa.string())


def money(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """decimal(12,2) dollars from exact integer cents (built from the cents' bits, no rounding);
    `mask` marks nulls."""
    cents = np.asarray(cents, dtype=np.int64)
    if cents.size and int(np.abs(cents).max()) >= MONEY_LIMIT:
        raise ValueError(f"amount {int(np.abs(cents).max()) / 100:.2f}: exceeds decimal(12,2)")
    words = np.empty((cents.size, 2), dtype=np.int64)
    words[:, 0], words[:, 1] = cents, cents >> 63  # little-endian 128-bit, sign-extended
    validity = None if mask is None or not mask.any() else pa.array(~mask).buffers()[1]
    return pa.Array.from_buffers(MONEY, cents.size, [validity, pa.py_buffer(words)])


def cents(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(int64 cents, null mask) of a decimal(12,2) column; nulls read as 0."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.type != MONEY:
        raise TypeError(f"expected {MONEY}, got {values.type}")
    words = np.frombuffer(values.buffers()[1], dtype=np.int64).reshape(-1, 2)
    low = words[values.offset : values.offset + len(values), 0].copy()
    mask = values.is_null().to_numpy(zero_copy_only=False)
    low[mask] = 0
    return low, mask


def money_as_float(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """float64 dollars, exactly cents / 100 (Arrow's own decimal cast can be an ulp off);
    chunked in, chunked out, like a compute function."""
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([money_as_float(c) for c in values.chunks], pa.float64())
    amounts, mask = cents(values)
    return pa.array(amounts / 100.0, pa.float64(), mask=mask if mask.any() else None)


def timestamps(us: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64), pa.int64()).cast(TIMESTAMP)


def dates(days: np.ndarray) -> pa.Array:
    """date32 from day numbers; negative day numbers become nulls."""
    days = np.asarray(days, dtype=np.int64)
    return pa.array(days.astype(np.int32), pa.int32(), mask=days < 0).cast(pa.date32())


def integers(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64())


def booleans(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool), pa.bool_())


def constant(value: str, n: int) -> pa.Array:
    return pa.array(np.full(n, value, dtype=object), pa.string())


def table(schema: pa.Schema, columns: dict[str, pa.Array]) -> pa.Table:
    """A table in the schema's column order; fails loudly if a column is missing or extra."""
    if list(columns) != schema.names:
        raise AssertionError(f"columns {list(columns)} != schema {schema.names}")
    return pa.Table.from_arrays(list(columns.values()), schema=schema)
