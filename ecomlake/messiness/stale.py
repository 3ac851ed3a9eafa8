"""Stale dimension values: a fact row carries the customer's tier or CLV bucket of before.

Orders copy the customer's earned tier and CLV bucket at order time; a stale copy is the one
step lower label (the value before the customer's last upgrade), as when a dimension change has
not reached every fact yet. A value already at the lowest label has no older one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.cells import Cells
from ecomlake.plan.lexicon import Lexicon
from ecomlake.rng import streams as s

STALE_COLUMNS: dict[str, tuple[str, ...]] = {"orders": ("customer_tier", "clv_bucket")}


def _labels(lexicon: Lexicon, column: str) -> tuple[str, ...]:
    """The column's labels, lowest first."""
    thresholds = lexicon.earned_tiers if column == "customer_tier" else lexicon.clv_buckets
    return thresholds.names


def stale_values(cells: Cells, values: pa.Array) -> pa.Array:
    """With p = level.stale_dimension: the label one step below (none below the lowest)."""
    hit = cells.draw(s.MESS_STALE, cells.level.stale_dimension, values)
    if not hit.any():
        return values
    labels = pa.array(_labels(cells.ctx.world.lexicon, cells.column), pa.string())
    rank = pc.fill_null(pc.index_in(values, value_set=labels), 0).to_numpy(zero_copy_only=False)
    older = labels.take(pa.array(np.maximum(rank - 1, 0)))
    return pc.if_else(pa.array(hit & (rank > 0)), older, values)
