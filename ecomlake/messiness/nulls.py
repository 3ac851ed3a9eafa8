"""Missing values: a non-null cell of a nullable column becomes null with p = level.nulls."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.cells import Cells
from ecomlake.rng import streams as s

NULL_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("email_verified", "marketing_opt_in"),
    "shopping_carts": ("updated_at",),
    "cart_items": ("added_at",),
    "orders": ("agent_id",),
    "returns": ("agent_id",),
}


def blank_cells(cells: Cells, values: pa.Array) -> pa.Array:
    """Null out the hit cells; the column keeps its type."""
    hit = cells.draw(s.MESS_NULL, cells.level.nulls, values)
    if not hit.any():
        return values
    return pc.if_else(pa.array(hit), pa.scalar(None, values.type), values)
