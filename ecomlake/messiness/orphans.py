"""Orphan foreign keys: a child row points at a parent that exists nowhere in the world.

The dangling value keeps the column's shape (`CUST-`, `ORD-` prefix or an integer) with a number
of at least ORPHAN_BASE, which no plan reaches, so it is an orphan in every run of every window.
Primary-key columns are never touched (order_items.product_id is part of its key).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.cells import Cells
from ecomlake.rng import streams as s

ORPHAN_COLUMNS: dict[str, tuple[str, ...]] = {
    "shopping_carts": ("customer_id",),
    "cart_items": ("product_id",),
    "orders": ("customer_id",),
    "returns": ("order_id",),
    "return_items": ("product_id",),
}
ORPHAN_BASE = 1_000_000_000


def orphan_keys(cells: Cells, values: pa.Array) -> pa.Array:
    """With p = level.orphan_fk: the key becomes a number no parent has."""
    hit = cells.draw(s.MESS_ORPHAN, cells.level.orphan_fk, values)
    if not hit.any():
        return values
    number = ORPHAN_BASE + cells.integers(s.MESS_ORPHAN_VALUE, 0, 999_999)
    if pa.types.is_integer(values.type):
        dangling = pa.array(number.astype(np.int64)).cast(values.type)
    else:  # 'CUST-0042' -> 'CUST-1000123456' (the prefix up to the last '-')
        prefix = pc.replace_substring_regex(values, r"[^-]*$", "")
        dangling = pc.binary_join_element_wise(prefix, pc.cast(pa.array(number), pa.string()), "")
    return pc.if_else(pa.array(hit), dangling, values)
