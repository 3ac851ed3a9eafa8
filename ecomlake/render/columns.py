"""Builders that turn plan arrays (indices, cents, day numbers, microseconds) into Arrow columns."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

try:
    import ecomlake._kernels as _kernels
except ImportError:  # built without a C compiler: the same strings, via pyarrow's take and join
    _kernels = None
    logging.getLogger(__name__).debug("ecomlake._kernels is not built; strings use pyarrow")

T = TypeVar("T")
TIMESTAMP = pa.timestamp("us")
# Exact cents as decimal(12,2): up to 9,999,999,999.99, stored as a Parquet INT64 (plain 64-bit
# integers to every reader), so amounts 1,000 times too large (messiness out_of_range) still fit.
MONEY = pa.decimal128(12, 2)
MONEY_LIMIT = 10**12  # cents: 12 digits


def labels(vocabulary: Sequence[str], index: np.ndarray) -> pa.Array:
    """Strings from a vocabulary by index; negative indices become nulls."""
    index = np.asarray(index, dtype=np.int64)
    if isinstance(vocabulary, tuple):  # the plan's: immutable, alive as long as the world
        words = _by_identity(vocabulary, _vocabulary)
    else:
        words = _vocabulary(tuple(vocabulary))
    return joined([(words, index)], index < 0)


@functools.lru_cache(maxsize=256)
def _vocabulary(words: tuple[str, ...]) -> pa.StringArray:
    """A vocabulary as an Arrow array, built once (a day renders ~60 label columns)."""
    return pa.array(words, pa.string())


_IDENTITY_CACHE_SIZE = 512
_by_id: dict[int, tuple[object, object]] = {}


def _by_identity(key: object, build: Callable[[Any], T]) -> T:
    """`build(key)`, cached by the identity of `key`, an object nobody mutates (a tuple, an
    Arrow array). Hashing a 1,286-name tuple, or viewing an array's buffers again, costs more
    than the labels of a small day; holding `key` keeps its id from being reused."""
    hit = _by_id.get(id(key))
    if hit is not None and hit[0] is key:
        return hit[1]  # type: ignore[return-value]
    if len(_by_id) >= _IDENTITY_CACHE_SIZE:
        _by_id.clear()
    value = build(key)
    _by_id[id(key)] = (key, value)
    return value


def joined(
    pieces: Sequence[tuple[pa.StringArray, np.ndarray]], null: np.ndarray | None = None
) -> pa.StringArray:
    """Row i is vocabulary[index[i]] of every (vocabulary, index) piece, concatenated; null
    where `null` is True (those rows' indexes are not read, so they may be out of range).

    ecomlake._kernels writes the result's buffers in one pass; pyarrow's take per piece and
    join, which copy every byte twice, are the fallback (the same strings and nulls).
    """
    indexes = [np.asarray(index, dtype=np.int64) for _, index in pieces]
    if null is not None:
        null = np.asarray(null, dtype=bool)
        null = null if null.any() else None
    if _kernels is not None:
        return _kernel_join([v for v, _ in pieces], indexes, null)
    taken = [v.take(pa.array(i, mask=null)) for (v, _), i in zip(pieces, indexes, strict=True)]
    return taken[0] if len(taken) == 1 else pc.binary_join_element_wise(*taken, "")


def _kernel_join(
    vocabularies: list[pa.StringArray], indexes: list[np.ndarray], null: np.ndarray | None
) -> pa.StringArray:
    """`joined` by ecomlake._kernels.gather_join, from each vocabulary's Arrow buffers."""
    pieces = tuple(
        (*_by_identity(v, _string_buffers), np.ascontiguousarray(i))
        for v, i in zip(vocabularies, indexes, strict=True)
    )
    # Arrow's pool reuses freed memory: a fresh allocation of every result would fault in pages
    offsets, data, validity, null_count = _kernels.gather_join(pieces, null, pa.allocate_buffer)
    bitmap = None if validity is None else pa.py_buffer(validity)
    return pa.StringArray.from_buffers(len(indexes[0]), offsets, data, bitmap, null_count)


def _string_buffers(vocabulary: pa.StringArray) -> tuple[np.ndarray, pa.Buffer | bytes]:
    """A vocabulary's int32 offsets (its own slice of them) and data buffer."""
    if vocabulary.type != pa.string() or vocabulary.null_count:
        raise TypeError(f"a vocabulary is a string array without nulls, not {vocabulary.type}")
    _, offsets, data = vocabulary.buffers()
    count = len(vocabulary) + 1
    bounds = np.frombuffer(offsets, np.int32, count=count, offset=4 * vocabulary.offset)
    return bounds, b"" if data is None else data


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


def integers(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """int64 values; `mask` marks nulls."""
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64(), mask=mask)


def booleans(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool), pa.bool_())


def constant(value: str, n: int) -> pa.Array:
    return pa.array(np.full(n, value, dtype=object), pa.string())


def table(schema: pa.Schema, columns: dict[str, pa.Array]) -> pa.Table:
    """A table in the schema's column order; fails loudly if a column is missing or extra."""
    if list(columns) != schema.names:
        raise AssertionError(f"columns {list(columns)} != schema {schema.names}")
    return pa.Table.from_arrays(list(columns.values()), schema=schema)
