"""What a messy partition's manifest records about its clean self, so `verify` can undo and check.

`rows_digest` hashes every row (all columns, nulls distinct from empty text) and sha256s the
sorted row hashes: the same multiset of rows gives the same digest whatever the row order, which
is what undoing gives back once copies are dropped and late rows are returned to their day.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pyarrow as pa

from ecomlake.messiness.keys import text_hash
from ecomlake.messiness.log import as_text, defect_counts
from ecomlake.plan.calendar import day_date
from ecomlake.rng import mix64

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_NULL = np.uint64(0xD6E8FEB86659FD93)


def rows_digest(data: pa.Table) -> str:
    """sha256 hex of the sorted 64-bit row hashes (order-free, column order counts)."""
    row = np.zeros(data.num_rows, dtype=np.uint64)
    for column in data.columns:
        values = column.combine_chunks()
        hashed = text_hash(as_text(values)) ^ np.where(
            values.is_null().to_numpy(zero_copy_only=False), _NULL, np.uint64(0)
        )
        with np.errstate(over="ignore"):
            row = mix64(row * _GOLDEN ^ hashed)
    return hashlib.sha256(np.sort(row).tobytes()).hexdigest()


def partition_truth(
    level: str, table: str, clean: pa.Table, log: pa.Table | None, landing_days: np.ndarray
) -> dict:
    """The `messiness` entry of a data partition's manifest.

    `landing_days` are the days the partition's late rows landed on; `late_out` counts them per
    `ingest_dt`, so verify knows which partitions it needs to put this one back together.
    """
    counts = defect_counts(log).get(table, {}) if log is not None else {}
    landing = Counter(int(d) for d in landing_days)
    return {
        "clean_digest": rows_digest(clean),
        "clean_rows": clean.num_rows,
        "defects": dict(sorted(counts.items())),
        "late_out": {day_date(d).isoformat(): n for d, n in sorted(landing.items())},
        "level": level,
    }
