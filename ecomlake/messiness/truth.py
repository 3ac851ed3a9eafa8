"""What a messy partition's manifest records about its clean self, so `verify` can undo and check.

`row_hashes` hashes every row (all columns, nulls distinct from empty text); `digest` sha256s
the sorted row hashes: the same multiset of rows gives the same digest whatever the row order, which
is what undoing gives back once copies are dropped and late rows are returned to their day.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.keys import text_hash
from ecomlake.messiness.log import defect_counts
from ecomlake.plan.calendar import day_date
from ecomlake.render.columns import cents
from ecomlake.rng import mix64

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_NULL = np.uint64(0xD6E8FEB86659FD93)


def row_hashes(data: pa.Table) -> np.ndarray:
    """A 64-bit hash per row over all its columns, in column order."""
    row = np.zeros(data.num_rows, dtype=np.uint64)
    for column in data.columns:
        with np.errstate(over="ignore"):
            row = mix64(row * _GOLDEN ^ _column_hash(column.combine_chunks()))
    return row


def digest(hashes: np.ndarray) -> str:
    """sha256 hex of sorted row hashes: the same for the same multiset of rows."""
    return hashlib.sha256(np.sort(hashes).tobytes()).hexdigest()


def _column_hash(values: pa.Array) -> np.ndarray:
    """A uint64 per value: text hashed over its bytes, numbers, dates, timestamps and flags by
    their bits, money by its cents (no text round trip); a null is its own value."""
    nulls = values.is_null().to_numpy(zero_copy_only=False)
    kind = values.type
    if pa.types.is_string(kind):
        hashed = text_hash(values)
    elif pa.types.is_decimal(kind):
        hashed = mix64(cents(values)[0].view(np.uint64) ^ _GOLDEN)
    else:
        if pa.types.is_boolean(kind):
            values = pc.cast(values, pa.int8())
        elif pa.types.is_date32(kind):
            values = values.view(pa.int32())
        elif pa.types.is_timestamp(kind):
            values = values.view(pa.int64())
        filled = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)
        bits = filled.view(np.uint64) if filled.dtype.itemsize == 8 else filled.astype(np.uint64)
        hashed = mix64(bits ^ _GOLDEN)
    return np.where(nulls, _NULL, hashed)


def partition_truth(
    level: str, table: str, hashes: np.ndarray, log: pa.Table | None, landing_days: np.ndarray
) -> dict:
    """The `messiness` entry of a data partition's manifest.

    `hashes` are the clean rows' `row_hashes`; `landing_days` the days its late rows landed
    on: `late_out` counts them per `ingest_dt`, so verify knows which partitions it needs to
    put this one back together.
    """
    counts = defect_counts(log).get(table, {}) if log is not None else {}
    landing = Counter(int(d) for d in landing_days)
    return {
        "clean_digest": digest(hashes),
        "clean_rows": len(hashes),
        "defects": dict(sorted(counts.items())),
        "late_out": {day_date(d).isoformat(): n for d, n in sorted(landing.items())},
        "level": level,
    }
