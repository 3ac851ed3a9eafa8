"""Out-of-range quantities and amounts: the fat finger and the sign error of manual entry.

Quantities become 0, negative or 100 times too large; amounts become negative or 100 or 1,000
times too large, in exact cents (the decimal(12,2) type holds 1,000 times any amount below
10 million, see render/columns.py). A change that leaves the value equal (a zero amount negated)
is no defect and is not applied.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.cells import Cells
from ecomlake.render.columns import MONEY_LIMIT, cents, money
from ecomlake.rng import streams as s

QUANTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "cart_items": ("quantity",),
    "order_items": ("quantity",),
    "return_items": ("quantity_returned",),
}
AMOUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("shipping_cost",),
    "returns": ("refunded_amount",),
}
RANGE_COLUMNS = {
    t: QUANTITY_COLUMNS.get(t, ()) + AMOUNT_COLUMNS.get(t, ())
    for t in sorted({*QUANTITY_COLUMNS, *AMOUNT_COLUMNS})
}
_QUANTITY_FACTORS = np.array([0, -1, 100])
_AMOUNT_FACTORS = np.array([-1, 100, 1000])


def out_of_range(cells: Cells, values: pa.Array) -> pa.Array:
    """With p = level.out_of_range: the value times one of the column kind's factors."""
    hit = cells.draw(s.MESS_RANGE, cells.level.out_of_range, values)
    if not hit.any():
        return values
    kind = cells.integers(s.MESS_RANGE_KIND, 0, 2)
    if pa.types.is_integer(values.type):
        factor = pa.array(_QUANTITY_FACTORS[kind]).cast(values.type)
        wrong = pc.multiply(values, factor)
    else:
        amounts, nulls = cents(values)
        factors = np.where(hit, _AMOUNT_FACTORS[kind], 1)  # rows not hit keep their value
        if (np.abs(amounts) >= MONEY_LIMIT // np.abs(factors)).any():  # int64 would wrap
            where = f"{cells.table}.{cells.column}"
            raise ValueError(f"{where}: an out-of-range amount exceeds decimal(12,2)")
        wrong = money(amounts * factors, nulls)
    changed = pc.fill_null(pc.not_equal(wrong, values), False).to_numpy(zero_copy_only=False)
    return pc.if_else(pa.array(hit & changed), wrong, values)
