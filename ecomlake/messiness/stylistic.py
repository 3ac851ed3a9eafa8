"""Stylistic defects on text columns, as the older tool made them: whitespace padding, then casing.

Padding strips the value and adds one or two spaces on each side; casing makes it upper, lower or
title case at random (a no-op choice changes nothing and is not a defect).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecomlake.messiness.cells import Cells
from ecomlake.rng import streams as s

STYLISTIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("gender", "customer_status"),
    "product_catalog": ("product_name",),
    "shopping_carts": ("status",),
    "cart_items": ("product_name",),
    "orders": ("payment_method", "shipping_speed", "clv_bucket"),
    "order_items": ("product_name",),
    "returns": ("reason", "return_type", "return_channel"),
    "return_items": ("product_name",),
}
_PADS = ("  ", " ")


def pad_whitespace(cells: Cells, values: pa.Array) -> pa.Array:
    """With p = level.whitespace: strip, then ' ' or '  ' in front and ' ' or '  ' behind."""
    hit = cells.draw(s.MESS_WHITESPACE, cells.level.whitespace, values)
    if not hit.any():
        return values
    widths = cells.integers(s.MESS_WHITESPACE_PAD, 0, 3)
    left = pa.array(np.where(widths & 1, *_PADS))
    right = pa.array(np.where(widths & 2, *_PADS))
    padded = pc.binary_join_element_wise(left, pc.utf8_trim_whitespace(values), right, "")
    return pc.if_else(pa.array(hit), padded, values)


def change_casing(cells: Cells, values: pa.Array) -> pa.Array:
    """With p = level.casing: upper(), lower() or title(), one third each."""
    hit = cells.draw(s.MESS_CASING, cells.level.casing, values)
    if not hit.any():
        return values
    style = cells.integers(s.MESS_CASING_STYLE, 0, 2)
    cased = pc.choose(
        pa.array(style.astype(np.int8)),
        pc.utf8_upper(values),
        pc.utf8_lower(values),
        pc.utf8_title(values),
    )
    return pc.if_else(pa.array(hit), cased, values)
