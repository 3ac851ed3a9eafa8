"""Builders that turn plan arrays (indices, cents, day numbers, microseconds) into Arrow columns."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

TIMESTAMP = pa.timestamp("us")


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


def money(cents: np.ndarray) -> pa.Array:
    """Dollars as float64 from exact integer cents."""
    return pa.array(np.asarray(cents, dtype=np.int64) / 100.0, pa.float64())


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
